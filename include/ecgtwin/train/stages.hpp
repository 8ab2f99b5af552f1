#pragma once
// The networks each training stage owns, and the trainers that feed them from a prepared
// cache (data::Cache) through the one training loop (loop.hpp):
//   autoencoder  the VAE (reconstruction MSE + KL with a warm-up weight)
//   extractor    statement encoder + Individual Base Extractor (same-patient InfoNCE)
//   diffusion    statement encoder + condition tokens + denoiser (epsilon MSE)
//   evaluator    statement encoder + ECG-text feature network (CLIP loss)
//   classifier   diagnosis classifier, one sigmoid per statement class (binary cross-entropy);
//                the population model of the personalised auto-diagnosis experiment
// A model folder holds <stage>.pt for each stage; each file carries the resolved config it
// was trained with and the statement vocabulary, so it can be rebuilt without the cache.
#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ecgtwin/data/cache.hpp"
#include "ecgtwin/diffusion/guidance.hpp"
#include "ecgtwin/diffusion/schedule.hpp"
#include "ecgtwin/model/autoencoder.hpp"
#include "ecgtwin/model/classifier.hpp"
#include "ecgtwin/model/condition.hpp"
#include "ecgtwin/model/denoiser.hpp"
#include "ecgtwin/model/evaluator_net.hpp"
#include "ecgtwin/model/extractor.hpp"
#include "ecgtwin/model/statements.hpp"
#include "ecgtwin/model/summary.hpp"
#include "ecgtwin/train/loop.hpp"

namespace ecgtwin::train {

namespace fs = std::filesystem;

// ---- what the config says -----------------------------------------------------------------

// The "model" and "diffusion" sections: network sizes, the noise schedule and the condition
// dropout for guidance. Unknown keys are InputErrors naming the key path.
struct TwinConfig {
  model::ModelOptions model;
  diffusion::NoiseScheduleOptions schedule;
  diffusion::ConditionDropoutOptions dropout;
  bool guidance_training = false;  // diffusion.guidance: condition dropout while training
};
TwinConfig read_twin_config(const nlohmann::json& root);

// train.<stage>: the loop's options (steps, batch_size, lr, ...) and the stage's own keys,
// every value checked and every unknown key refused (InputError naming the key), so that a
// command running several stages can refuse a bad value before any of them starts.
struct StageConfig {
  TrainOptions options;
  double kl_weight = 1e-4;           // autoencoder: weight of the KL term
  std::int64_t kl_warmup_steps = 0;  // autoencoder: its warm-up steps (default steps / 5)
  bool fit_scaling_factor = false;   // autoencoder: latent scaling fitted to the data
  std::string augment = "single";    // extractor: augmented positives (none, single, all)
  std::int64_t encode_batch = 64;    // extractor: records encoded at once
  std::string base_from = "other";   // diffusion: base vector from another record or the same
  double rate_balance = 0.0;         // diffusion: strength of rate_balanced_positions
  std::int64_t rate_augment = 0;     // diffusion: time-scaled copies of each training record
  double rate_augment_range = 0.2;   // diffusion: their rates within a factor 1 + this
  std::string rate_augment_warp = "uniform";  // diffusion: how the copies change rate
  std::int64_t min_count = 5;        // classifier: records a statement needs to be a class
};
StageConfig read_stage_config(const nlohmann::json& root, const std::string& stage);

// ---- statements and conditions of cache rows --------------------------------------------

// The statement encoder a config asks for: a learned vocabulary (from `reports`) or the
// precomputed embeddings of model.statements.npy / .json.
std::shared_ptr<model::StatementEncoderImpl> make_statement_encoder(
    const model::ModelOptions& options, const nlohmann::json& vocabulary);
// The vocabulary JSON of the learned encoder built from the training reports, or the file
// names of the precomputed one.
nlohmann::json build_vocabulary(const model::ModelOptions& options,
                                const std::vector<std::vector<std::string>>& reports);

struct Reports {
  std::vector<std::vector<std::string>> statements;
  model::Demographics demographics;
};
// Rows [start, end) of `reports`.
Reports slice_reports(const Reports& reports, std::int64_t start, std::int64_t end);
// Statements, heart rate, age and sex of cache rows.
Reports cache_reports(const data::Cache& cache, const std::vector<std::int64_t>& rows);
// The same with the heart rates given (bpm, NaN = unknown, one per row) in place of the cache's.
Reports cache_reports(const data::Cache& cache, const std::vector<std::int64_t>& rows,
                      const std::vector<double>& heart_rates);
// Reports made ready for a statement encoder on the host (StatementEncoder::inputs), with
// their demographics: what a training step's prepare() puts into its batch.
struct PreparedReports {
  model::StatementInputs statements;
  model::Demographics demographics;
};
PreparedReports prepare_reports(const model::StatementEncoderImpl& encoder, const Reports& reports);
// Prepared reports stored in a batch's tensors under `name` ("name.mask", "name.age", ...)
// and read back.
void put_reports(std::map<std::string, torch::Tensor>& tensors, const std::string& name,
                 const PreparedReports& reports);
PreparedReports take_reports(const std::map<std::string, torch::Tensor>& tensors,
                             const std::string& name);
// Rows [12 x samples] of the cache as a [B, 12, samples] float tensor (CPU).
torch::Tensor cache_signals(const data::Cache& cache, const std::vector<std::int64_t>& rows);
// Row indices of one split.
std::vector<std::int64_t> split_rows(const data::Cache& cache, data::Split split);

// ---- the stage networks -------------------------------------------------------------------

class ExtractorStageImpl : public torch::nn::Module {
 public:
  ExtractorStageImpl(const model::ModelOptions& options,
                     std::shared_ptr<model::StatementEncoderImpl> statements);
  // latent: [B, C, L] scaled VAE latents -> base vectors [B, hidden]. Rows without any
  // statement, and rows where `drop` is true, see the null condition token.
  torch::Tensor base_vectors(const torch::Tensor& latent, const Reports& reports,
                             const torch::Tensor& drop = {});
  torch::Tensor base_vectors(const torch::Tensor& latent, const PreparedReports& reports,
                             const torch::Tensor& drop = {});

  std::shared_ptr<model::StatementEncoderImpl> statements;
  model::Extractor extractor{nullptr};
};
TORCH_MODULE(ExtractorStage);

class DiffusionStageImpl : public torch::nn::Module {
 public:
  DiffusionStageImpl(const model::ModelOptions& options,
                     std::shared_ptr<model::StatementEncoderImpl> statements);
  // The denoiser's conditions for base vectors [B, D] and the target reports. A stage that
  // reads reference tokens (model.reference.tokens) also needs the reference latents
  // [B, C, L] (scaled latents, or signals for the signal-space denoiser), whose tokens follow
  // the statement tokens; InputError when they are missing.
  model::DenoiserConditions conditions(const torch::Tensor& base_vector, const Reports& reports,
                                       const torch::Tensor& reference = {});
  model::DenoiserConditions conditions(const torch::Tensor& base_vector,
                                       const PreparedReports& reports,
                                       const torch::Tensor& reference = {});
  // The null condition (batch 1): one learned null token, zero base vector, no reference.
  model::DenoiserConditions null_conditions();
  bool reads_reference() const { return !reference.is_empty(); }

  std::shared_ptr<model::StatementEncoderImpl> statements;
  model::ConditionEncoder condition{nullptr};
  model::ReferenceEncoder reference{nullptr};  // only with model.reference.tokens
  std::shared_ptr<model::DenoiserImpl> denoiser;
  torch::Tensor null_token;  // [1, 1, token_dim]
};
TORCH_MODULE(DiffusionStage);

class EvaluatorStageImpl : public torch::nn::Module {
 public:
  EvaluatorStageImpl(const model::ModelOptions& options,
                     std::shared_ptr<model::StatementEncoderImpl> statements);
  torch::Tensor ecg_features(const torch::Tensor& signals);  // [B, 12, L] -> [B, D]
  torch::Tensor text_features(const std::vector<std::vector<std::string>>& reports);
  torch::Tensor text_features(const model::StatementInputs& statements);

  std::shared_ptr<model::StatementEncoderImpl> statements;
  model::EvaluatorNet evaluator{nullptr};
};
TORCH_MODULE(EvaluatorStage);

// Scaled latents [N, C, L] of signals [N, 12, samples], in batches, without gradients.
torch::Tensor encode_latents(model::AutoencoderImpl& autoencoder, const torch::Tensor& signals,
                             std::int64_t batch = 64);

// Reads a stage's model file: its meta data (config, vocabulary) decides how the network is
// built, then the weights are loaded. InputError naming the file when it is missing, of
// another stage or does not fit.
struct LoadedAutoencoder {
  model::Autoencoder network{nullptr};
  TwinConfig config;
};
LoadedAutoencoder load_autoencoder(const fs::path& file, const torch::Device& device);
struct LoadedExtractor {
  ExtractorStage network{nullptr};
  TwinConfig config;
};
LoadedExtractor load_extractor(const fs::path& file, const torch::Device& device);
struct LoadedDiffusion {
  DiffusionStage network{nullptr};
  TwinConfig config;
};
LoadedDiffusion load_diffusion(const fs::path& file, const torch::Device& device);
struct LoadedEvaluator {
  EvaluatorStage network{nullptr};
  TwinConfig config;
};
LoadedEvaluator load_evaluator(const fs::path& file, const torch::Device& device);

// The diagnosis classifier's classes: every statement of at least `min_count` of `reports`,
// most frequent first (ties in name order).
std::vector<std::string> diagnosis_classes(const std::vector<std::vector<std::string>>& reports,
                                           std::int64_t min_count);
// Multi-hot labels [B, classes] (float) of reports; statements outside `classes` are ignored.
torch::Tensor diagnosis_labels(const std::vector<std::vector<std::string>>& reports,
                               const std::vector<std::string>& classes);
struct LoadedClassifier {
  model::Classifier network{nullptr};
  TwinConfig config;
  std::vector<std::string> classes;
};
LoadedClassifier load_classifier(const fs::path& file, const torch::Device& device);

// ---- trainers ----------------------------------------------------------------------------

// Each runs one stage on the cache's training split and writes <out>/<stage>.pt, its
// checkpoint and metrics, and <out>/<stage>_config.yaml (the resolved config). Earlier
// stages are read from `out` (the model folder).
TrainResult train_autoencoder(const data::Cache& cache, const nlohmann::json& config,
                              const fs::path& out);
TrainResult train_extractor(const data::Cache& cache, const nlohmann::json& config,
                            const fs::path& out);
// train.diffusion.rate_augment (default 0): besides every training record, that many copies
// with their time axis scaled to other heart rates (signal::augmented_heart_rate within
// train.diffusion.rate_augment_range, default 0.2; signal::scale_heart_rate), each under its
// record's statements with the new rate and conditioned on the record's own base vector, so
// that a data set with few records per rate shows the denoiser each person at several rates.
// train.diffusion.rate_augment_warp: uniform (default: the whole time axis scaled) or
// fridericia (P wave and QRS kept, the QT by Fridericia's cube root; signal::warp_beats).
// Records without a heart rate or without two detected beats have no copies.
TrainResult train_diffusion(const data::Cache& cache, const nlohmann::json& config,
                            const fs::path& out);
TrainResult train_evaluator(const data::Cache& cache, const nlohmann::json& config,
                            const fs::path& out);
// train.classifier.min_count (default 5): the training records a statement needs to be a class.
TrainResult train_classifier(const data::Cache& cache, const nlohmann::json& config,
                             const fs::path& out);

// The order of a stage's training records with heart rates `heart_rates`, balanced by rate:
// positions [0, n), each repeated round((c_max / c)^strength) times, where c is how many
// records share its `bin_bpm`-wide heart-rate bin and c_max the fullest bin's count. Records
// without a rate appear once. strength 0 gives each record once (the plain order), 1 draws
// every bin about equally often. InputError (train.diffusion.rate_balance) outside [0, 1].
std::vector<std::int64_t> rate_balanced_positions(
    const std::vector<std::optional<double>>& heart_rates, double strength, double bin_bpm = 20.0);

// Augmented view of signals [B, 12, L] at `fs` Hz: amplitude scaling (0.9-1.1), a circular
// shift of up to 0.2 s, baseline wander (0.1-0.5 Hz, up to 0.1 mV) and white noise (0.02 mV).
torch::Tensor augment_signals(const torch::Tensor& signals, double fs, at::Generator& generator);

}  // namespace ecgtwin::train
