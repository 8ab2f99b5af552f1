#pragma once
// Statement encoders: each diagnosis statement of a report becomes one embedding vector.
// The original work embeds statements with a large pretrained text model; ecgtwin runs
// offline and offers (a) a vocabulary learned from the training statements, with hashed
// word embeddings for statements it has not seen, and (b) embeddings computed elsewhere
// (any text model) and handed over as a matrix plus the list of statements.
#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ecgtwin::model {

// Lower case, every character that is not a letter or digit turned into a space, runs of
// spaces collapsed, ends trimmed: "Sinus Rhythm." and "sinus  rhythm" both give "sinus rhythm".
std::string normalize_statement(std::string_view statement);
// The words of a normalised statement.
std::vector<std::string> statement_words(std::string_view normalized);
// 64-bit FNV-1a (Fowler, Noll, Vo; offset basis 14695981039346656037, prime 1099511628211).
uint64_t fnv1a_64(std::string_view text);

// Statements of a batch of reports, padded to the longest report.
struct StatementBatch {
  torch::Tensor embeddings;  // [B, S, E], zero at padding
  torch::Tensor mask;        // [B, S] bool, true = real statement
};

// The statements of a batch of reports as index tensors: the host half of
// StatementEncoder::forward (embed() is the rest), which a training loop prepares ahead of the step
// (on the CPU, then copied to the device without waiting).
struct StatementInputs {
  torch::Tensor mask;   // [B, S] bool, true = real statement
  torch::Tensor slots;  // [N] int64: the slot b * S + s of each statement, in report order
  std::map<std::string, torch::Tensor> lookup;  // the encoder's own indices of the N statements

  StatementInputs to(const torch::Device& device, bool non_blocking = false) const;
};

// The interface every statement encoder offers. Reports longer than max_statements keep
// their first max_statements statements; S is at least 1 so that a batch of empty reports
// still has a (fully masked) token axis.
class StatementEncoderImpl : public torch::nn::Module {
 public:
  explicit StatementEncoderImpl(int64_t max_statements) : max_statements_(max_statements) {}
  // embed(inputs(reports)).
  StatementBatch forward(const std::vector<std::vector<std::string>>& reports);
  // The index tensors of `reports`, on the CPU; reads the vocabulary only, never the
  // weights, so it may run on another thread while the encoder trains. InputError for a
  // statement the encoder cannot embed.
  StatementInputs inputs(const std::vector<std::vector<std::string>>& reports) const;
  // Embeddings and mask on the encoder's device (inputs elsewhere are copied there).
  StatementBatch embed(const StatementInputs& inputs);
  // Embeddings [N, E] of already normalised statements; InputError for one it cannot embed.
  torch::Tensor embed_normalized(const std::vector<std::string>& statements);
  // The encoder's indices of already normalised statements (CPU tensors); InputError for one
  // it cannot embed.
  virtual std::map<std::string, torch::Tensor> lookup(
      const std::vector<std::string>& statements) const = 0;
  // Embeddings [N, E] from lookup()'s tensors on the encoder's device.
  virtual torch::Tensor embed_lookup(const std::map<std::string, torch::Tensor>& lookup) = 0;
  virtual int64_t embedding_dim() const = 0;
  // "learned" or "precomputed".
  virtual std::string kind() const = 0;
  // The statement list (and, for the learned encoder, its words and sizes) as JSON; the
  // module's archive holds it too, so torch::save/torch::load restore a working encoder.
  virtual nlohmann::json vocabulary_json() const = 0;
  int64_t max_statements() const { return max_statements_; }

 protected:
  torch::Device device() const;
  int64_t max_statements_;
};

// The learned encoder's vocabulary: the normalised training statements (first-seen order)
// and the words they contain (sorted).
struct StatementVocabulary {
  std::vector<std::string> statements;
  std::vector<std::string> words;

  static StatementVocabulary build(const std::vector<std::vector<std::string>>& reports);
  nlohmann::json to_json() const;
  // InputError naming `source` when the JSON is not a vocabulary.
  static StatementVocabulary from_json(const nlohmann::json& json, const std::string& source);
};

struct LearnedStatementEncoderOptions {
  // 768 = the width of BERT-base-sized text models, so precomputed vectors from them and the
  // learned table are interchangeable downstream.
  TORCH_ARG(int64_t, embedding_dim) = 768;
  TORCH_ARG(int64_t, hash_buckets) = 4096;
  TORCH_ARG(int64_t, max_statements) = 25;
};

// A known statement's embedding is its own row plus the mean of its words' hashed
// embeddings; an unseen statement gets the mean of the hashed embeddings of those of its
// words that occur in the training statements (so the word table is trained through every
// known statement, and new phrasing of known findings still lands nearby). An unseen
// statement with no known word is an InputError naming it.
class LearnedStatementEncoderImpl : public StatementEncoderImpl {
 public:
  LearnedStatementEncoderImpl(const LearnedStatementEncoderOptions& options, StatementVocabulary vocabulary);

  std::map<std::string, torch::Tensor> lookup(
      const std::vector<std::string>& statements) const override;
  torch::Tensor embed_lookup(const std::map<std::string, torch::Tensor>& lookup) override;
  int64_t embedding_dim() const override { return options_.embedding_dim(); }
  std::string kind() const override { return "learned"; }
  nlohmann::json vocabulary_json() const override;
  const StatementVocabulary& vocabulary() const { return vocabulary_; }
  int64_t word_bucket(const std::string& word) const;

  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

 private:
  void index_vocabulary();
  LearnedStatementEncoderOptions options_;
  StatementVocabulary vocabulary_;
  std::unordered_map<std::string, int64_t> statement_index_;
  std::unordered_set<std::string> known_words_;
  torch::nn::Embedding statement_embedding_{nullptr};
  torch::nn::EmbeddingBag word_embedding_{nullptr};
};
TORCH_MODULE(LearnedStatementEncoder);

// Fixed embeddings [N, E] for a list of N statements (rows in list order); an unknown
// statement is an InputError naming it. The matrix is a buffer, not trained.
class PrecomputedStatementEncoderImpl : public StatementEncoderImpl {
 public:
  PrecomputedStatementEncoderImpl(std::vector<std::string> statements, torch::Tensor embeddings,
                                  int64_t max_statements = 25);

  std::map<std::string, torch::Tensor> lookup(
      const std::vector<std::string>& statements) const override;
  torch::Tensor embed_lookup(const std::map<std::string, torch::Tensor>& lookup) override;
  int64_t embedding_dim() const override { return embeddings_.size(1); }
  std::string kind() const override { return "precomputed"; }
  nlohmann::json vocabulary_json() const override;

  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

 private:
  void index_statements();
  std::vector<std::string> statements_;
  std::unordered_map<std::string, int64_t> statement_index_;
  torch::Tensor embeddings_;
};
TORCH_MODULE(PrecomputedStatementEncoder);

// Reads an NPY float matrix [N, E] and a JSON array of N statements (the file reading lives
// here, outside the module). InputError naming the file for a bad or mismatched pair.
std::shared_ptr<PrecomputedStatementEncoderImpl> load_precomputed_statements(const std::string& npy_path,
                                                                            const std::string& json_path,
                                                                            int64_t max_statements = 25);

}  // namespace ecgtwin::model
