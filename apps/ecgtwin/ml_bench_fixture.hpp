#pragma once
// The published networks (VAE, IBE, DiT with its condition encoder), seeded inputs, one
// training step of each network and the twin-generation pipeline, shared by the bench suite
// "models" and `ecgtwin reference-export`. bench/reference.py writes the same networks,
// steps and pipeline in Python PyTorch; both sides must stay in step.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ecgtwin/diffusion/sampler.hpp"
#include "ecgtwin/diffusion/schedule.hpp"
#include "ecgtwin/model/autocast.hpp"
#include "ecgtwin/model/summary.hpp"

namespace ecgtwin::app::modelbench {

// Statements per report in the benchmark batches (a PTB-XL report has 1 to 6 mostly).
constexpr int64_t kStatementSlots = 8;
// The KL weight of the VAE step (its value does not change the work).
constexpr double kKlWeight = 1e-6;

struct Networks {
  model::ModelOptions options;
  model::Autoencoder autoencoder{nullptr};
  model::Extractor extractor{nullptr};
  model::ConditionEncoder condition{nullptr};  // the denoiser's condition encoder
  std::shared_ptr<model::DenoiserImpl> denoiser;
  diffusion::NoiseSchedule schedule;
};

// The default (published) model options, resolved as `ecgtwin info` resolves them.
model::ModelOptions published_options();
// Builds the networks on `device`. With `randomise`, every parameter is redrawn from `seed`
// (see randomise_parameters), so that zero-initialised layers take part in comparisons.
Networks make_networks(const torch::Device& device, bool randomise, uint64_t seed);
// Matrices N(0, 1/fan_in), norm weights 1 + N(0, 0.1^2), other vectors N(0, 0.1^2), drawn on
// the CPU in named_parameters() order; scalars (the InfoNCE temperature) are kept.
void randomise_parameters(torch::nn::Module& module, uint64_t seed);

// One batch of inputs (float32 unless said otherwise).
struct Batch {
  torch::Tensor signal;        // [B, 12, 1024] the reference ECG
  torch::Tensor latent;        // [B, 4, 128] a scaled latent
  torch::Tensor latent_other;  // [B, 4, 128] a second ECG of the same person (IBE)
  torch::Tensor statements;    // [B, S, statement_dim] statement embeddings
  torch::Tensor mask;          // [B, S] bool, row b has (b % S) + 1 real statements
  model::Demographics demographics;
  torch::Tensor base_vector;   // [B, 256]
};
Batch make_batch(const Networks& networks, int64_t batch, uint64_t seed,
                 const torch::Device& device);

// bf16 autocast (on CUDA; the plan keeps the CPU in float32).
using model::AutocastScope;

// One training step (forward, loss, backward, AdamW) of each network, as a trainer runs it.
enum class Stage { kDenoiser, kExtractor, kAutoencoder };
std::string stage_name(Stage stage);
class TrainingStep {
 public:
  TrainingStep(Networks& networks, Stage stage, bool bf16);
  // Returns the loss (not read back: no synchronisation).
  torch::Tensor run(const Batch& batch, at::Generator& generator);
  int64_t parameter_count() const;

 private:
  Networks& networks_;
  Stage stage_;
  bool bf16_;
  std::vector<torch::Tensor> parameters_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
};

// Reference ECG -> twins: VAE encode, IBE base vector, condition tokens, sampling from the
// seed (or `initial_noise`), VAE decode. Runs without gradients, in eval mode.
torch::Tensor generate_twins(Networks& networks, const Batch& batch,
                             diffusion::SamplerOptions sampler, bool bf16);
// The sampler part alone with its conditions already made (the loop that the per-step
// projections time).
torch::Tensor sample_latents(Networks& networks, const model::DenoiserConditions& conditions,
                             int64_t batch, diffusion::SamplerOptions sampler, bool bf16);
model::DenoiserConditions twin_conditions(Networks& networks, const Batch& batch, bool bf16);

// Multiply-accumulate work counted from the shapes (2 FLOPs per multiply-add; matrix
// products, convolutions and attention products; element-wise work left out). A training
// step counts three forward passes (forward, and backward for inputs and weights).
double denoiser_forward_flops(const model::ModelOptions& options, int64_t batch, int64_t slots);
double condition_forward_flops(const model::ModelOptions& options, int64_t batch, int64_t slots);
double extractor_forward_flops(const model::ModelOptions& options, int64_t batch, int64_t slots);
double autoencoder_encode_flops(const model::ModelOptions& options, int64_t batch);
double autoencoder_decode_flops(const model::ModelOptions& options, int64_t batch);
double training_step_flops(const model::ModelOptions& options, Stage stage, int64_t batch);
// FLOPs of generating `batch` twins with `steps` denoiser evaluations.
double twin_flops(const model::ModelOptions& options, int64_t batch, int64_t steps);

}  // namespace ecgtwin::app::modelbench
