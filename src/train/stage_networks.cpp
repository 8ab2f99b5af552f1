// The networks of each stage, how the config describes them, and how a model folder's files
// are read back.
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <set>

#include "ecgtwin/config/tree.hpp"
#include "ecgtwin/diffusion/config.hpp"
#include "ecgtwin/train/checkpoint.hpp"
#include "ecgtwin/train/stages.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::train {

TwinConfig read_twin_config(const nlohmann::json& root) {
  TwinConfig out;
  config::Section top(root, "");
  config::Section model = top.child("model");
  out.model = model::read_model_options(model);
  config::Section diffusion = top.child("diffusion");
  out.schedule = diffusion::read_schedule_options(diffusion);
  config::Section dropout = diffusion.child("dropout");
  out.dropout = diffusion::read_dropout_options(dropout);
  dropout.finish();
  out.guidance_training = diffusion.get("guidance", false);
  diffusion.finish();
  return out;
}

StageConfig read_stage_config(const nlohmann::json& root, const std::string& stage) {
  config::Section top(root, "");
  config::Section train = top.child("train");
  config::Section s = train.child(stage);
  StageConfig c;
  TrainOptions& o = c.options;
  o.steps = s.get_in("steps", o.steps, 1, std::int64_t{1} << 40);
  o.batch_size = s.get_in("batch_size", o.batch_size, 1, std::int64_t{1} << 24);
  o.shards = s.get_in("shards", o.shards, 0, std::int64_t{1} << 20);
  o.accumulation = s.get_in("accumulation", o.accumulation, 1, std::int64_t{1} << 20);
  o.lr = s.get_in("lr", o.lr, 0.0, 10.0);
  o.weight_decay = s.get_in("weight_decay", o.weight_decay, 0.0, 10.0);
  o.beta1 = s.get_in("beta1", o.beta1, 0.0, 1.0);
  o.beta2 = s.get_in("beta2", o.beta2, 0.0, 1.0);
  o.warmup_steps = s.get_in("warmup_steps", o.warmup_steps, 0, std::int64_t{1} << 40);
  o.min_lr_ratio = s.get_in("min_lr_ratio", o.min_lr_ratio, 0.0, 1.0);
  o.clip_norm = s.get_in("clip_norm", o.clip_norm, 0.0, 1e9);
  o.ema_decay = s.get_in("ema_decay", o.ema_decay, 0.0, 1.0);
  o.checkpoint_every = s.get_in("checkpoint_every", o.checkpoint_every, 0, std::int64_t{1} << 40);
  o.log_every = s.get_in("log_every", o.log_every, 1, std::int64_t{1} << 40);
  o.seed = static_cast<std::uint64_t>(s.get_in("seed", std::int64_t{0}, 0, std::int64_t{1} << 62));
  o.bf16 = s.get("bf16", o.bf16);
  o.device = s.get("device", o.device);
  o.prefetch = s.get_in("prefetch", o.prefetch, std::int64_t{-1}, std::int64_t{1024});
  o.resume = s.get("resume", false);
  o.pause_after_step = s.get_in("pause_after_step", std::int64_t{0}, 0, std::int64_t{1} << 40);
  o.halt_after_step = s.get_in("halt_after_step", std::int64_t{0}, 0, std::int64_t{1} << 40);
  // The stage's own keys; every other key must be known.
  if (stage == "autoencoder") {
    c.kl_weight = s.get_in("kl_weight", c.kl_weight, 0.0, 1e6);
    c.kl_warmup_steps = s.get_in("kl_warmup_steps", o.steps / 5, 0, std::int64_t{1} << 40);
    c.fit_scaling_factor = s.get("fit_scaling_factor", c.fit_scaling_factor);
  } else if (stage == "extractor") {
    c.augment = s.choice("augment", c.augment, {"none", "single", "all"});
    c.encode_batch = s.get_in("encode_batch", c.encode_batch, 1, std::int64_t{1} << 24);
  } else if (stage == "diffusion") {
    c.base_from = s.choice("base_from", c.base_from, {"other", "same"});
    c.rate_balance = s.get_in("rate_balance", c.rate_balance, 0.0, 1.0);
    c.rate_augment = s.get_in("rate_augment", c.rate_augment, std::int64_t{0}, std::int64_t{64});
    c.rate_augment_range = s.get_in("rate_augment_range", c.rate_augment_range, 0.0, 1.0);
    c.rate_augment_warp =
        s.choice("rate_augment_warp", c.rate_augment_warp, {"uniform", "fridericia"});
    o.bf16_cpu = s.get("bf16_cpu", o.bf16_cpu);
  } else if (stage == "classifier") {
    c.min_count = s.get_in("min_count", c.min_count, 1, std::int64_t{1} << 40);
  }
  s.finish();
  return c;
}

// ---- statements and cache rows ------------------------------------------------------------

nlohmann::json build_vocabulary(const model::ModelOptions& options,
                                const std::vector<std::vector<std::string>>& reports) {
  if (options.statement_kind == "precomputed")
    return {{"kind", "precomputed"}, {"npy", options.statement_npy}, {"json", options.statement_json}};
  nlohmann::json out = model::StatementVocabulary::build(reports).to_json();
  out["kind"] = "learned";
  return out;
}

std::shared_ptr<model::StatementEncoderImpl> make_statement_encoder(
    const model::ModelOptions& options, const nlohmann::json& vocabulary) {
  const std::string kind = vocabulary.value("kind", options.statement_kind);
  if (kind == "precomputed") {
    return model::load_precomputed_statements(vocabulary.at("npy").get<std::string>(),
                                              vocabulary.at("json").get<std::string>(),
                                              options.statements.max_statements());
  }
  auto vocab = model::StatementVocabulary::from_json(vocabulary, "statement vocabulary");
  return std::make_shared<model::LearnedStatementEncoderImpl>(options.statements, std::move(vocab));
}

std::vector<std::int64_t> split_rows(const data::Cache& cache, data::Split split) {
  std::vector<std::int64_t> rows;
  for (std::size_t i = 0; i < cache.entries().size(); ++i)
    if (cache.entries()[i].split == split) rows.push_back(static_cast<std::int64_t>(i));
  return rows;
}

Reports slice_reports(const Reports& reports, std::int64_t start, std::int64_t end) {
  const auto& d = reports.demographics;
  return {
      {reports.statements.begin() + start, reports.statements.begin() + end},
      {d.heart_rate.slice(0, start, end), d.age.slice(0, start, end), d.sex.slice(0, start, end)}};
}

Reports cache_reports(const data::Cache& cache, const std::vector<std::int64_t>& rows) {
  std::vector<double> hr;
  for (std::int64_t row : rows)
    hr.push_back(cache.entries().at(static_cast<std::size_t>(row)).heart_rate.value_or(NAN));
  return cache_reports(cache, rows, hr);
}

Reports cache_reports(const data::Cache& cache, const std::vector<std::int64_t>& rows,
                      const std::vector<double>& heart_rates) {
  if (heart_rates.size() != rows.size())
    throw Error("cache_reports: one heart rate per row expected");
  Reports out;
  std::vector<double> age;
  std::vector<std::int64_t> sex;
  for (std::int64_t row : rows) {
    const auto& e = cache.entries().at(static_cast<std::size_t>(row));
    out.statements.push_back(e.statements);
    age.push_back(e.age.value_or(NAN));
    sex.push_back(static_cast<std::int64_t>(e.sex));
  }
  out.demographics = model::Demographics::from(heart_rates, age, sex);
  return out;
}

PreparedReports prepare_reports(const model::StatementEncoderImpl& encoder,
                                const Reports& reports) {
  return {encoder.inputs(reports.statements), reports.demographics};
}

void put_reports(std::map<std::string, torch::Tensor>& tensors, const std::string& name,
                 const PreparedReports& reports) {
  tensors[name + ".mask"] = reports.statements.mask;
  tensors[name + ".slots"] = reports.statements.slots;
  for (const auto& [key, tensor] : reports.statements.lookup)
    tensors[name + ".lookup." + key] = tensor;
  tensors[name + ".heart_rate"] = reports.demographics.heart_rate;
  tensors[name + ".age"] = reports.demographics.age;
  tensors[name + ".sex"] = reports.demographics.sex;
}

PreparedReports take_reports(const std::map<std::string, torch::Tensor>& tensors,
                             const std::string& name) {
  PreparedReports out;
  out.statements.mask = tensors.at(name + ".mask");
  out.statements.slots = tensors.at(name + ".slots");
  const std::string lookup = name + ".lookup.";
  for (auto it = tensors.lower_bound(lookup);
       it != tensors.end() && it->first.compare(0, lookup.size(), lookup) == 0; ++it)
    out.statements.lookup[it->first.substr(lookup.size())] = it->second;
  out.demographics = {tensors.at(name + ".heart_rate"), tensors.at(name + ".age"),
                      tensors.at(name + ".sex")};
  return out;
}

torch::Tensor cache_signals(const data::Cache& cache, const std::vector<std::int64_t>& rows) {
  const std::int64_t leads = cache.leads(), samples = cache.samples();
  auto out = torch::empty({static_cast<std::int64_t>(rows.size()), leads, samples}, torch::kFloat);
  float* dst = out.data_ptr<float>();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const float* src = cache.signal(static_cast<std::size_t>(rows[i]));
    std::copy(src, src + leads * samples, dst + static_cast<std::int64_t>(i) * leads * samples);
  }
  return out;
}

// ---- stage networks -----------------------------------------------------------------------

ExtractorStageImpl::ExtractorStageImpl(const model::ModelOptions& options,
                                       std::shared_ptr<model::StatementEncoderImpl> statements_in)
    : statements(std::move(statements_in)) {
  register_module("statements", statements);
  extractor = register_module("extractor", model::Extractor(options.extractor));
}

torch::Tensor ExtractorStageImpl::base_vectors(const torch::Tensor& latent, const Reports& reports,
                                               const torch::Tensor& drop) {
  return base_vectors(latent, prepare_reports(*statements, reports), drop);
}

torch::Tensor ExtractorStageImpl::base_vectors(const torch::Tensor& latent,
                                               const PreparedReports& reports,
                                               const torch::Tensor& drop) {
  auto batch = statements->embed(reports.statements);
  const torch::Device device = latent.device();
  torch::Tensor no_statement = batch.mask.to(device).any(1).logical_not();
  torch::Tensor dropped = drop.defined() ? drop.to(device).logical_or(no_statement) : no_statement;
  return extractor->extract(latent, batch.embeddings.to(device), batch.mask.to(device),
                            reports.demographics.to(device), dropped);
}

DiffusionStageImpl::DiffusionStageImpl(const model::ModelOptions& options,
                                       std::shared_ptr<model::StatementEncoderImpl> statements_in)
    : statements(std::move(statements_in)) {
  register_module("statements", statements);
  const auto& d = options.denoiser;
  condition = register_module(
      "condition", model::ConditionEncoder(model::ConditionEncoderOptions(options.condition).token_dim(d.token_dim())));
  denoiser = register_module("denoiser", model::make_denoiser(d));
  if (options.reference_tokens)
    reference = register_module("reference", model::ReferenceEncoder(options.reference));
  null_token = register_parameter("null_token", torch::randn({1, 1, d.token_dim()}) * 0.02);
}

model::DenoiserConditions DiffusionStageImpl::conditions(const torch::Tensor& base_vector,
                                                         const Reports& reports,
                                                         const torch::Tensor& reference_latent) {
  return conditions(base_vector, prepare_reports(*statements, reports), reference_latent);
}

model::DenoiserConditions DiffusionStageImpl::conditions(const torch::Tensor& base_vector,
                                                         const PreparedReports& reports,
                                                         const torch::Tensor& reference_latent) {
  const torch::Device device = base_vector.device();
  auto batch = statements->embed(reports.statements);
  auto tokens = condition->forward(batch.embeddings.to(device), batch.mask.to(device),
                                   reports.demographics.to(device));
  // A report without statements gets the null token, so that it still has one real token.
  torch::Tensor empty = tokens.mask.any(1).logical_not();
  torch::Tensor first = torch::zeros_like(tokens.mask);
  first.select(1, 0).fill_(true);
  torch::Tensor use_null = empty.view({-1, 1, 1}).logical_and(first.unsqueeze(-1));
  tokens.tokens = torch::where(use_null, null_token.to(tokens.tokens.dtype()).expand_as(tokens.tokens),
                               tokens.tokens);
  tokens.mask = tokens.mask.logical_or(empty.view({-1, 1}).logical_and(first));
  // A stage without reference tokens leaves the reference latent unread.
  if (reads_reference()) {
    if (!reference_latent.defined())
      throw InputError("model.reference.tokens",
                       "this denoiser reads the reference record's latent; none was given");
    const torch::Tensor read = reference->forward(reference_latent.to(device));
    if (read.size(0) != tokens.tokens.size(0))
      throw InputError("model.reference.tokens", "expected one reference latent per report, got " +
                                                     std::to_string(read.size(0)) + " for " +
                                                     std::to_string(tokens.tokens.size(0)));
    // The statements padded to max_statements slots, so that the reference tokens keep
    // their slots whatever the statement count (editing compares maps slot by slot).
    const int64_t batch = tokens.tokens.size(0);
    const int64_t pad = condition->options().max_statements() - tokens.tokens.size(1);
    tokens.tokens = torch::cat(
        {tokens.tokens, torch::zeros({batch, pad, tokens.tokens.size(2)}, tokens.tokens.options()),
         read.to(tokens.tokens.dtype())},
        1);
    tokens.mask = torch::cat({tokens.mask, torch::zeros({batch, pad}, tokens.mask.options()),
                              torch::ones({batch, read.size(1)}, tokens.mask.options())},
                             1);
  }
  return {base_vector, tokens.tokens, tokens.mask};
}

model::DenoiserConditions DiffusionStageImpl::null_conditions() {
  auto mask = torch::ones({1, 1}, torch::TensorOptions().dtype(torch::kBool).device(null_token.device()));
  return {torch::Tensor(), null_token, mask};
}

EvaluatorStageImpl::EvaluatorStageImpl(const model::ModelOptions& options,
                                       std::shared_ptr<model::StatementEncoderImpl> statements_in)
    : statements(std::move(statements_in)) {
  register_module("statements", statements);
  evaluator = register_module("evaluator", model::EvaluatorNet(options.evaluator));
}

torch::Tensor EvaluatorStageImpl::ecg_features(const torch::Tensor& signals) {
  return evaluator->ecg_features(signals);
}

torch::Tensor EvaluatorStageImpl::text_features(const std::vector<std::vector<std::string>>& reports) {
  return text_features(statements->inputs(reports));
}

torch::Tensor EvaluatorStageImpl::text_features(const model::StatementInputs& inputs) {
  auto batch = statements->embed(inputs);
  const torch::Device device = evaluator->logit_scale().device();
  return evaluator->text_features(batch.embeddings.to(device), batch.mask.to(device));
}

torch::Tensor encode_latents(model::AutoencoderImpl& autoencoder, const torch::Tensor& signals,
                             std::int64_t batch) {
  torch::NoGradGuard no_grad;
  const bool was_training = autoencoder.is_training();
  autoencoder.eval();
  const torch::Device device = autoencoder.parameters().front().device();
  std::vector<torch::Tensor> parts;
  for (std::int64_t start = 0; start < signals.size(0); start += batch) {
    auto x = signals.slice(0, start, std::min(signals.size(0), start + batch)).to(device);
    parts.push_back(autoencoder.encode_latent(x));
  }
  autoencoder.train(was_training);
  return torch::cat(parts, 0);
}

// ---- loading -------------------------------------------------------------------------------

namespace {

nlohmann::json module_meta(const fs::path& file, const std::string& stage) {
  if (!fs::exists(file))
    throw InputError(file.string(), "model file not found (train the " + stage + " stage first: ecgtwin train-" +
                                        stage + ")");
  nlohmann::json meta = read_module_meta(file);
  if (meta.value("stage", "") != stage)
    throw InputError(file.string(), "holds the '" + meta.value("stage", "?") + "' stage, expected '" + stage + "'");
  return meta;
}

}  // namespace

LoadedAutoencoder load_autoencoder(const fs::path& file, const torch::Device& device) {
  nlohmann::json meta = module_meta(file, "autoencoder");
  LoadedAutoencoder out;
  out.config = read_twin_config(meta.at("config"));
  const auto& extra = meta.value("extra", nlohmann::json::object());
  if (extra.contains("scaling_factor"))
    out.config.model.autoencoder.scaling_factor(extra.at("scaling_factor").get<double>());
  out.network = model::Autoencoder(out.config.model.autoencoder);
  load_module(file, *out.network, device);
  out.network->eval();
  return out;
}

namespace {

// The stages with a statement encoder: build from the file's config and vocabulary, then load.
template <typename Loaded, typename Network>
Loaded load_with_statements(const fs::path& file, const std::string& stage, const torch::Device& device) {
  nlohmann::json meta = module_meta(file, stage);
  Loaded out;
  out.config = read_twin_config(meta.at("config"));
  auto statements = make_statement_encoder(out.config.model, meta.at("extra").at("vocabulary"));
  out.network = Network(out.config.model, statements);
  load_module(file, *out.network, device);
  out.network->eval();
  return out;
}

}  // namespace

LoadedExtractor load_extractor(const fs::path& file, const torch::Device& device) {
  return load_with_statements<LoadedExtractor, ExtractorStage>(file, "extractor", device);
}

LoadedDiffusion load_diffusion(const fs::path& file, const torch::Device& device) {
  return load_with_statements<LoadedDiffusion, DiffusionStage>(file, "diffusion", device);
}

LoadedEvaluator load_evaluator(const fs::path& file, const torch::Device& device) {
  return load_with_statements<LoadedEvaluator, EvaluatorStage>(file, "evaluator", device);
}

std::vector<std::string> diagnosis_classes(const std::vector<std::vector<std::string>>& reports,
                                           std::int64_t min_count) {
  std::map<std::string, std::int64_t> count;
  for (const auto& report : reports)
    for (const auto& s : std::set<std::string>(report.begin(), report.end())) ++count[s];
  std::vector<std::pair<std::string, std::int64_t>> kept;
  for (const auto& [s, n] : count)
    if (n >= min_count) kept.emplace_back(s, n);
  std::stable_sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> out;
  for (const auto& [s, n] : kept) out.push_back(s);
  return out;
}

torch::Tensor diagnosis_labels(const std::vector<std::vector<std::string>>& reports,
                               const std::vector<std::string>& classes) {
  std::map<std::string, std::int64_t> index;
  for (std::size_t c = 0; c < classes.size(); ++c) index[classes[c]] = static_cast<std::int64_t>(c);
  auto labels = torch::zeros({static_cast<std::int64_t>(reports.size()), static_cast<std::int64_t>(classes.size())});
  auto a = labels.accessor<float, 2>();
  for (std::size_t i = 0; i < reports.size(); ++i)
    for (const auto& s : reports[i])
      if (auto it = index.find(s); it != index.end()) a[static_cast<std::int64_t>(i)][it->second] = 1.0f;
  return labels;
}

LoadedClassifier load_classifier(const fs::path& file, const torch::Device& device) {
  nlohmann::json meta = module_meta(file, "classifier");
  LoadedClassifier out;
  out.config = read_twin_config(meta.at("config"));
  out.classes = meta.at("extra").at("classes").get<std::vector<std::string>>();
  out.network = model::Classifier(
      model::ClassifierOptions(out.config.model.classifier).classes(static_cast<std::int64_t>(out.classes.size())));
  load_module(file, *out.network, device);
  out.network->eval();
  return out;
}

}  // namespace ecgtwin::train
