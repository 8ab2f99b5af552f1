#pragma once
// A trained twin model (the folder the train-* commands write) and the steps of making a
// twin: reference ECG -> latent -> base vector; base vector + target conditions -> sampled
// latent -> decoded ECG.
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ecgtwin/config/tree.hpp"
#include "ecgtwin/data/record.hpp"
#include "ecgtwin/diffusion/sampler.hpp"
#include "ecgtwin/diffusion/schedule.hpp"
#include "ecgtwin/train/stages.hpp"

namespace ecgtwin::pipeline {

namespace fs = std::filesystem;

// signal::fit_heart_rate on every row of [B * K, leads, samples] float CPU signals at fs Hz
// (sampling.rate_fit): row r brought to heart_rates[r / K] bpm, or to heart_rates[0] when it
// holds one value; a row whose target rate is not positive and finite stays as it is. `warp`:
// sampling.rate_fit_warp ("uniform" or "fridericia"). Returns the number of rows changed.
std::int64_t fit_rates(torch::Tensor& signals, const torch::Tensor& heart_rates,
                       std::int64_t candidates, double fs, const std::string& warp = "uniform");

// The limb leads of every row of [rows, leads, samples] float CPU signals as sampling.limb_leads
// asks: "generated" leaves them, "projected" is signal::project_limb_leads and "derived"
// signal::derive_limb_leads on each row. InputError naming the key for signals without the six
// limb leads.
void set_limb_leads(torch::Tensor& signals, const std::string& limb_leads);

// The conditions of a batch of ECGs in the form the networks take.
train::Reports make_reports(const std::vector<data::Condition>& conditions);

// The reference records a batch of twins starts from when the sampler's start is not
// "noise", and personalisation fits: their signals [R, 12, samples], base vectors [R, D]
// and own conditions (R = 1 or one per twin).
struct ReferenceStart {
  torch::Tensor signals;
  torch::Tensor base_vectors;
  train::Reports reports;
};

// Test-time personalisation: before one reference's twins are sampled, the training
// objective (epsilon MSE at t drawn from 1..T-1) on that reference record under its own
// conditions is minimised over the denoiser's weights (AdamW, no weight decay), over the
// base vector the twins are conditioned on (Adam; the frozen denoiser is asked which base
// vector explains the reference best, as textual inversion does for a word), or over both.
// The denoiser is set back afterwards.
struct PersonaliseOptions {
  std::int64_t steps = 0;        // 0: none (the method)
  std::int64_t batch = 16;       // noise draws of the one reference per step
  std::string fit = "denoiser";  // "denoiser", "base-vector" or "both"
  double lr = 1e-4;              // of the denoiser's weights
  double base_lr = 1e-2;         // of the base vector
  std::uint64_t seed = 0;        // set per reference by the commands
  bool fits_denoiser() const { return fit != "base-vector"; }
  bool fits_base_vector() const { return fit != "denoiser"; }
};
// The config section "personalise": steps, batch, fit, lr, base_lr (InputError naming the key).
PersonaliseOptions read_personalise_options(config::Section& section);
// The settings as the summaries record them.
nlohmann::json personalise_summary(const PersonaliseOptions& options);

class TwinModel {
 public:
  // Reads <dir>/autoencoder.pt, extractor.pt, diffusion.pt (and evaluator.pt when
  // `with_evaluator`). InputError naming the file that is missing or does not fit.
  static TwinModel load(const fs::path& dir, const torch::Device& device, bool with_evaluator = false);

  const torch::Device& device() const { return device_; }
  std::int64_t leads() const { return config_.model.autoencoder.leads(); }
  std::int64_t samples() const { return config_.model.autoencoder.length(); }
  double window_seconds() const { return 10.0; }
  double sampling_rate() const { return double(samples()) / window_seconds(); }
  const train::TwinConfig& config() const { return config_; }
  bool has_evaluator() const { return !evaluator_.is_empty(); }

  // [B, 12, samples] signals (any device) -> scaled latents [B, C, L] on the model's device.
  torch::Tensor encode(const torch::Tensor& signals);
  // What the denoiser samples for these signals: their scaled latents, or the signals
  // themselves for a signal-space denoiser (on the model's device).
  torch::Tensor denoiser_input(const torch::Tensor& signals);
  // The reference latents the denoiser's conditions take: denoiser_input(signals) when the
  // model reads reference tokens (model.reference.tokens), undefined otherwise.
  torch::Tensor reference_context(const torch::Tensor& signals);
  // Base vectors [B, D] of signals under their own conditions.
  torch::Tensor base_vectors(const torch::Tensor& signals, const train::Reports& reports);
  // Twins [B, 12, samples] on the CPU: the denoiser sampled from `initial_noise` ([B * K, C, L],
  // K = options.candidates() rows per twin, twin by twin) with the base vectors and the target
  // conditions ([B] rows), then decoded; with K > 1 each twin is the medoid of its K samples by
  // eval::template_medoid (20 ms of shift), the sample nearest the others, or with
  // options.select "reference" the sample whose average beat is nearest the reference's
  // (eval::template_nearest; needs `reference`, InputError naming sampling.select), or with
  // "mean-beat" the medoid with every beat moved onto the mean average beat of all K samples
  // (eval::template_consensus, eval::transfer_beat_difference; the medoid as sampled where
  // that would move its R peaks). With
  // options.start "reference-noised" the run starts from the reference's latent noised with
  // `initial_noise` to the first timestep it takes, with "reference-inverted" from the
  // reference's latent carried there by DDIM inversion; both need `reference` (one row for
  // all twins, or one per twin). InputError naming sampling.start when it is missing. A model
  // that reads reference tokens always needs `reference` (InputError naming
  // model.reference.tokens). With options.transfer "reference-residual" the reference (row 0
  // for all twins, or one per twin) is also rendered under its own conditions (its reports,
  // the twins' base vectors, each twin's chosen noise and start), and the difference of its
  // average beat from that rendering's (eval::template_difference, 20 ms of shift) is added to
  // every beat of the twin (eval::add_to_beats), unless that moves or adds R peaks; with select
  // "mean-beat" the reference is rendered from all K noise rows of the twin and their mean
  // average beat is taken instead of one rendering's; with "reference-residual-scaled" the
  // difference is first scaled by eval::segment_gains of that rendering's beat to the twin's
  // (a twin without a beat stays as sampled) and, where all of it would move the twin's R
  // peaks, half or a quarter of it is added ("reference-residual-adapted": the reference's and
  // the rendering's beats first stretched over the ST-T segment by eval::st_stretch of the
  // rendering's beat to the twin's, and the gains taken from the stretched rendering); needs
  // `reference` (InputError naming sampling.transfer). With select "transferred" (K > 1) the
  // reference is rendered from every candidate's noise, the transfer is done on every
  // candidate and the twin is the medoid of the transferred candidates (InputError naming
  // sampling.select without a transfer). With
  // `chosen`, it receives each twin's candidate (0 .. K - 1; all 0 when K = 1); with
  // `transferred`, whether the reference's difference was added to each twin (all false
  // without transfer).
  torch::Tensor generate(const torch::Tensor& base_vectors, const train::Reports& targets,
                         const diffusion::SamplerOptions& options,
                         const torch::Tensor& initial_noise,
                         const ReferenceStart* reference = nullptr,
                         std::vector<std::int64_t>* chosen = nullptr,
                         std::vector<bool>* transferred = nullptr);
  // Whether the denoiser was trained with condition dropout (diffusion.guidance), so that it
  // has an unconditional prediction for classifier-free guidance.
  bool trained_for_guidance() const { return config_.guidance_training; }
  // Whether it also learned to sample without a person: trained with the base vector dropped
  // (diffusion.dropout.base_vector > 0, replaced by zeros) as well.
  bool samples_without_person() const {
    return config_.guidance_training && config_.dropout.base_vector() > 0;
  }
  // InputError naming `key` (the option that asked for it) when samples_without_person() is
  // false.
  void require_samples_without_person(const std::string& key) const;
  // The base vectors [rows, base_dim] of no particular person: zeros, what condition dropout
  // put in the base vector's place in training (on the model's device), after
  // require_samples_without_person(key).
  torch::Tensor null_base_vectors(std::int64_t rows, const std::string& key) const;
  // The conditions of the guided sampler's unconditional pass for `conditions`: the statement
  // tokens (with the reference tokens that share their sequence) replaced by the null
  // condition, and the base vector replaced by zeros only where training dropped it too
  // (diffusion.dropout.base_vector > 0); otherwise the pass keeps the person's base vector and
  // guidance acts on the report alone. Both are what diffusion::apply_condition_drop gave the
  // dropped rows in training. InputError naming sampling.guidance_scale for a model trained
  // without condition dropout: its null condition was never learned.
  model::DenoiserConditions unconditional(const model::DenoiserConditions& conditions);
  // Fits the denoiser and/or the base vector to row 0 of `reference` (its latent, base
  // vector and own conditions) for options.steps steps, the denoiser from the loaded weights
  // each time (steps 0: the loaded weights only). Returns the base vector [1, D] to condition
  // the reference's twins on: the fitted one, or the reference's own when only the denoiser
  // is fitted. Seeded: the same options give the same result on the CPU.
  torch::Tensor personalise(const ReferenceStart& reference, const PersonaliseOptions& options);
  // The denoiser's loaded weights back (after personalise()).
  void restore_denoiser();

  // Sampled latents [B, C, L] (or signals for a signal-space denoiser) -> signals on the CPU.
  torch::Tensor decode(const torch::Tensor& sample);
  // The shape of one twin's initial noise [C, L].
  std::vector<std::int64_t> noise_shape() const;
  // Initial noise of one twin from its own seed (drawn on the CPU).
  torch::Tensor initial_noise(std::uint64_t seed) const;
  // [candidates, C, L]: the initial noise of the seed, then that of `candidates` - 1 seeds
  // derived from it (generate()'s rows of one twin).
  torch::Tensor initial_noise(std::uint64_t seed, std::int64_t candidates) const;

  // The evaluator's ECG and text features (needs with_evaluator).
  torch::Tensor ecg_features(const torch::Tensor& signals);
  torch::Tensor text_features(const std::vector<std::vector<std::string>>& reports);

  diffusion::NoiseSchedule& schedule() { return schedule_; }
  train::DiffusionStage& diffusion() { return diffusion_; }

 private:
  TwinModel() = default;
  // generate()'s K decoded samples per twin ([B * K, 12, samples] on the CPU), before any
  // selection or transfer; with sampling.rate_fit each brought to its target's heart rate.
  torch::Tensor sample_candidates(const torch::Tensor& base_vectors, const train::Reports& targets,
                                  const diffusion::SamplerOptions& options,
                                  const torch::Tensor& initial_noise,
                                  const ReferenceStart* reference);
  torch::Device device_ = torch::kCPU;
  train::TwinConfig config_;
  model::Autoencoder autoencoder_{nullptr};
  train::ExtractorStage extractor_{nullptr};
  train::DiffusionStage diffusion_{nullptr};
  train::EvaluatorStage evaluator_{nullptr};
  diffusion::NoiseSchedule schedule_;
  bool signal_space_ = false;
  std::vector<torch::Tensor> loaded_denoiser_;  // set by the first personalise()
};

// A Record of one model window: [leads x samples] at fs Hz in mV, standard lead names.
data::Record window_record(const float* signal, std::int64_t leads, std::int64_t samples, double fs,
                           const std::string& id);

}  // namespace ecgtwin::pipeline
