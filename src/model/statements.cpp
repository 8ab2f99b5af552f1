#include "ecgtwin/model/statements.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::model {

namespace F = torch::nn::functional;

std::string normalize_statement(std::string_view statement) {
  std::string out;
  out.reserve(statement.size());
  bool pending_space = false;
  for (char raw : statement) {
    const auto c = static_cast<unsigned char>(raw);
    // Bytes >= 0x80 (UTF-8 sequences) are kept as letters so accented words survive.
    if (std::isalnum(c) || c >= 0x80) {
      if (pending_space && !out.empty()) out.push_back(' ');
      pending_space = false;
      out.push_back(static_cast<char>(std::tolower(c)));
    } else {
      pending_space = true;
    }
  }
  return out;
}

std::vector<std::string> statement_words(std::string_view normalized) {
  std::vector<std::string> words;
  size_t start = 0;
  while (start < normalized.size()) {
    size_t end = normalized.find(' ', start);
    if (end == std::string_view::npos) end = normalized.size();
    if (end > start) words.emplace_back(normalized.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

uint64_t fnv1a_64(std::string_view text) {
  uint64_t hash = 14695981039346656037ULL;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

// --- the shared interface ---------------------------------------------------------------

torch::Device StatementEncoderImpl::device() const {
  for (const auto& tensor : parameters()) return tensor.device();
  for (const auto& tensor : buffers()) return tensor.device();
  return torch::kCPU;
}

namespace {

// An encoder's lookup tensors on `device`.
std::map<std::string, torch::Tensor> lookup_on(const std::map<std::string, torch::Tensor>& lookup,
                                               const torch::Device& device, bool non_blocking) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, tensor] : lookup)
    out[name] = tensor.to(tensor.options().device(device), non_blocking);
  return out;
}

}  // namespace

StatementInputs StatementInputs::to(const torch::Device& device, bool non_blocking) const {
  StatementInputs out;
  out.mask = mask.to(mask.options().device(device), non_blocking);
  out.slots = slots.to(slots.options().device(device), non_blocking);
  out.lookup = lookup_on(lookup, device, non_blocking);
  return out;
}

StatementInputs StatementEncoderImpl::inputs(
    const std::vector<std::vector<std::string>>& reports) const {
  const auto batch = static_cast<int64_t>(reports.size());
  int64_t slots = 1;
  std::vector<std::string> flat;
  std::vector<int64_t> positions;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t count = std::min<int64_t>(static_cast<int64_t>(reports[b].size()), max_statements_);
    slots = std::max(slots, count);
    for (int64_t s = 0; s < count; ++s) flat.push_back(normalize_statement(reports[b][s]));
  }
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t count = std::min<int64_t>(static_cast<int64_t>(reports[b].size()), max_statements_);
    for (int64_t s = 0; s < count; ++s) positions.push_back(b * slots + s);
  }
  StatementInputs out;
  out.slots = torch::tensor(positions, torch::kInt64);
  torch::Tensor mask = torch::zeros({batch * slots}, torch::kBool);
  if (!positions.empty()) mask.index_fill_(0, out.slots, true);
  out.mask = mask.view({batch, slots});
  out.lookup = lookup(flat);
  return out;
}

StatementBatch StatementEncoderImpl::forward(const std::vector<std::vector<std::string>>& reports) {
  return embed(inputs(reports));
}

StatementBatch StatementEncoderImpl::embed(const StatementInputs& in) {
  const torch::Device dev = device();
  const StatementInputs on_device = in.to(dev);
  const int64_t batch = on_device.mask.size(0), slots = on_device.mask.size(1);
  torch::Tensor embeddings = torch::zeros({batch * slots, embedding_dim()}, torch::dtype(torch::kFloat32).device(dev));
  if (on_device.slots.numel() > 0) {
    const torch::Tensor rows = embed_lookup(on_device.lookup);
    embeddings = embeddings.to(rows.dtype()).index_copy(0, on_device.slots, rows);
  }
  return {embeddings.view({batch, slots, embedding_dim()}), on_device.mask};
}

torch::Tensor StatementEncoderImpl::embed_normalized(const std::vector<std::string>& statements) {
  return embed_lookup(lookup_on(lookup(statements), device(), /*non_blocking=*/false));
}

// --- vocabulary -------------------------------------------------------------------------

StatementVocabulary StatementVocabulary::build(const std::vector<std::vector<std::string>>& reports) {
  StatementVocabulary vocabulary;
  std::unordered_set<std::string> seen;
  std::set<std::string> words;
  for (const auto& report : reports) {
    for (const auto& statement : report) {
      std::string normalized = normalize_statement(statement);
      if (normalized.empty() || !seen.insert(normalized).second) continue;
      for (auto& word : statement_words(normalized)) words.insert(std::move(word));
      vocabulary.statements.push_back(std::move(normalized));
    }
  }
  vocabulary.words.assign(words.begin(), words.end());
  return vocabulary;
}

nlohmann::json StatementVocabulary::to_json() const {
  return nlohmann::json{{"statements", statements}, {"words", words}};
}

StatementVocabulary StatementVocabulary::from_json(const nlohmann::json& json, const std::string& source) {
  auto strings = [&](const char* key) {
    if (!json.is_object() || !json.contains(key) || !json.at(key).is_array())
      throw InputError(source, std::string("expected an object with an array of strings \"") + key + "\"");
    std::vector<std::string> out;
    for (const auto& item : json.at(key)) {
      if (!item.is_string()) throw InputError(source, std::string("\"") + key + "\" must hold only strings");
      out.push_back(item.get<std::string>());
    }
    return out;
  };
  StatementVocabulary vocabulary;
  vocabulary.statements = strings("statements");
  vocabulary.words = strings("words");
  return vocabulary;
}

// --- learned encoder --------------------------------------------------------------------

LearnedStatementEncoderImpl::LearnedStatementEncoderImpl(const LearnedStatementEncoderOptions& options,
                                                         StatementVocabulary vocabulary)
    : StatementEncoderImpl(options.max_statements()), options_(options), vocabulary_(std::move(vocabulary)) {
  if (options_.embedding_dim() < 1) throw InputError("model.statements.embedding_dim", "expected at least 1");
  if (options_.hash_buckets() < 1) throw InputError("model.statements.hash_buckets", "expected at least 1");
  if (options_.max_statements() < 1) throw InputError("model.statements.max_statements", "expected at least 1");
  index_vocabulary();
  // At least one row, so an empty vocabulary still forms a valid (if useless) table.
  const int64_t rows = std::max<int64_t>(1, static_cast<int64_t>(vocabulary_.statements.size()));
  statement_embedding_ = register_module("statement_embedding",
                                         torch::nn::Embedding(rows, options_.embedding_dim()));
  word_embedding_ = register_module(
      "word_embedding", torch::nn::EmbeddingBag(torch::nn::EmbeddingBagOptions(options_.hash_buckets(),
                                                                               options_.embedding_dim())
                                                    .mode(torch::kMean)));
}

void LearnedStatementEncoderImpl::index_vocabulary() {
  statement_index_.clear();
  for (size_t i = 0; i < vocabulary_.statements.size(); ++i)
    statement_index_.emplace(vocabulary_.statements[i], static_cast<int64_t>(i));
  known_words_ = std::unordered_set<std::string>(vocabulary_.words.begin(), vocabulary_.words.end());
}

int64_t LearnedStatementEncoderImpl::word_bucket(const std::string& word) const {
  return static_cast<int64_t>(fnv1a_64(word) % static_cast<uint64_t>(options_.hash_buckets()));
}

std::map<std::string, torch::Tensor> LearnedStatementEncoderImpl::lookup(
    const std::vector<std::string>& statements) const {
  std::vector<int64_t> buckets;
  std::vector<int64_t> offsets;
  std::vector<int64_t> known_rows;
  std::vector<int64_t> known_ids;
  for (size_t i = 0; i < statements.size(); ++i) {
    offsets.push_back(static_cast<int64_t>(buckets.size()));
    for (const auto& word : statement_words(statements[i]))
      if (known_words_.count(word)) buckets.push_back(word_bucket(word));
    if (offsets.back() == static_cast<int64_t>(buckets.size()))
      throw InputError("statement \"" + statements[i] + "\"",
                       "not in the statement vocabulary and none of its words occur in the training statements");
    auto it = statement_index_.find(statements[i]);
    if (it != statement_index_.end()) {
      known_rows.push_back(static_cast<int64_t>(i));
      known_ids.push_back(it->second);
    }
  }
  const auto as_tensor = [](const std::vector<int64_t>& v) {
    return torch::tensor(v, torch::kInt64);
  };
  return {{"buckets", as_tensor(buckets)},
          {"offsets", as_tensor(offsets)},
          {"known_rows", as_tensor(known_rows)},
          {"known_ids", as_tensor(known_ids)}};
}

torch::Tensor LearnedStatementEncoderImpl::embed_lookup(
    const std::map<std::string, torch::Tensor>& lookup) {
  torch::Tensor out = word_embedding_->forward(lookup.at("buckets"), lookup.at("offsets"));
  const torch::Tensor& rows = lookup.at("known_rows");
  if (rows.numel() > 0)
    out = out.index_add(0, rows, statement_embedding_->forward(lookup.at("known_ids")));
  return out;
}

nlohmann::json LearnedStatementEncoderImpl::vocabulary_json() const {
  nlohmann::json json = vocabulary_.to_json();
  json["kind"] = kind();
  json["embedding_dim"] = options_.embedding_dim();
  json["hash_buckets"] = options_.hash_buckets();
  json["max_statements"] = options_.max_statements();
  return json;
}

void LearnedStatementEncoderImpl::save(torch::serialize::OutputArchive& archive) const {
  torch::nn::Module::save(archive);
  archive.write("vocabulary", c10::IValue(vocabulary_json().dump()));
}

void LearnedStatementEncoderImpl::load(torch::serialize::InputArchive& archive) {
  c10::IValue stored;
  archive.read("vocabulary", stored);
  const auto json = nlohmann::json::parse(stored.toStringRef());
  if (json.value("kind", "") != kind()) throw InputError("statement encoder archive", "expected a learned encoder");
  vocabulary_ = StatementVocabulary::from_json(json, "statement encoder archive");
  options_.embedding_dim(json.at("embedding_dim").get<int64_t>())
      .hash_buckets(json.at("hash_buckets").get<int64_t>())
      .max_statements(json.at("max_statements").get<int64_t>());
  max_statements_ = options_.max_statements();
  index_vocabulary();
  // The tables take the archive's sizes before their values are read.
  torch::NoGradGuard no_grad;
  const auto options = statement_embedding_->weight.options();
  const int64_t rows = std::max<int64_t>(1, static_cast<int64_t>(vocabulary_.statements.size()));
  statement_embedding_->weight.set_data(torch::empty({rows, options_.embedding_dim()}, options));
  word_embedding_->weight.set_data(torch::empty({options_.hash_buckets(), options_.embedding_dim()}, options));
  torch::nn::Module::load(archive);
}

// --- precomputed encoder ----------------------------------------------------------------

PrecomputedStatementEncoderImpl::PrecomputedStatementEncoderImpl(std::vector<std::string> statements,
                                                                 torch::Tensor embeddings, int64_t max_statements)
    : StatementEncoderImpl(max_statements), statements_(std::move(statements)) {
  if (embeddings.dim() != 2 || embeddings.size(0) != static_cast<int64_t>(statements_.size()))
    throw InputError("precomputed statement embeddings",
                     "expected a matrix with one row per statement (" + std::to_string(statements_.size()) +
                         " statements)");
  if (max_statements < 1) throw InputError("model.statements.max_statements", "expected at least 1");
  index_statements();
  embeddings_ = register_buffer("embeddings", embeddings.to(torch::kFloat32).contiguous());
}

void PrecomputedStatementEncoderImpl::index_statements() {
  statement_index_.clear();
  for (size_t i = 0; i < statements_.size(); ++i) {
    std::string normalized = normalize_statement(statements_[i]);
    if (!statement_index_.emplace(normalized, static_cast<int64_t>(i)).second)
      throw InputError("statement \"" + statements_[i] + "\"", "listed twice (after normalisation)");
    statements_[i] = std::move(normalized);
  }
}

std::map<std::string, torch::Tensor> PrecomputedStatementEncoderImpl::lookup(
    const std::vector<std::string>& statements) const {
  std::vector<int64_t> ids;
  ids.reserve(statements.size());
  for (const auto& statement : statements) {
    auto it = statement_index_.find(statement);
    if (it == statement_index_.end())
      throw InputError("statement \"" + statement + "\"", "has no precomputed embedding");
    ids.push_back(it->second);
  }
  return {{"ids", torch::tensor(ids, torch::kInt64)}};
}

torch::Tensor PrecomputedStatementEncoderImpl::embed_lookup(
    const std::map<std::string, torch::Tensor>& lookup) {
  return embeddings_.index_select(0, lookup.at("ids"));
}

nlohmann::json PrecomputedStatementEncoderImpl::vocabulary_json() const {
  return nlohmann::json{{"kind", kind()},
                        {"statements", statements_},
                        {"embedding_dim", embedding_dim()},
                        {"max_statements", max_statements_}};
}

void PrecomputedStatementEncoderImpl::save(torch::serialize::OutputArchive& archive) const {
  torch::nn::Module::save(archive);
  archive.write("vocabulary", c10::IValue(vocabulary_json().dump()));
}

void PrecomputedStatementEncoderImpl::load(torch::serialize::InputArchive& archive) {
  c10::IValue stored;
  archive.read("vocabulary", stored);
  const auto json = nlohmann::json::parse(stored.toStringRef());
  if (json.value("kind", "") != kind()) throw InputError("statement encoder archive", "expected precomputed embeddings");
  statements_ = json.at("statements").get<std::vector<std::string>>();
  max_statements_ = json.at("max_statements").get<int64_t>();
  index_statements();
  torch::NoGradGuard no_grad;
  embeddings_.set_data(torch::empty({static_cast<int64_t>(statements_.size()), json.at("embedding_dim").get<int64_t>()},
                                    embeddings_.options()));
  torch::nn::Module::load(archive);
  embeddings_ = named_buffers()["embeddings"];
}

}  // namespace ecgtwin::model
