#pragma once
// Ancestral DDPM (Ho et al. 2020) and DDIM (Song et al. 2021) sampling with optional
// classifier-free guidance. All random numbers are drawn on the CPU from a generator seeded
// with options.seed and then moved to the device, so a seed gives the same sample on every
// device; the loop itself never reads a value back from the device.
#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ecgtwin/diffusion/schedule.hpp"
#include "ecgtwin/model/denoiser.hpp"

namespace ecgtwin::diffusion {

struct SamplerOptions {
  TORCH_ARG(std::string, sampler) = "ddim";  // "ddpm" (all T steps) or "ddim"
  TORCH_ARG(int64_t, steps) = 50;            // DDIM only; DDPM always runs all T steps
  TORCH_ARG(double, eta) = 0.0;              // DDIM: 0 deterministic, 1 DDPM's variance
  // DDIM timesteps (Lin et al. 2024, table 2): "trailing" (from T-1 down in equal strides,
  // their recommendation), "leading" (0, k, 2k, ... reversed; "uniform" in Song et al.
  // 2021) or "linspace" (rounded linspace(0, T-1)).
  TORCH_ARG(std::string, spacing) = "trailing";
  TORCH_ARG(double, guidance_scale) = 1.0;  // 1: no guidance (the original method)
  // The fraction of the visited timesteps that a run takes (0 < strength <= 1): below 1 it
  // skips the noisiest ones and starts from initial_noise as x at the first timestep it
  // takes (SDEdit, Meng et al. 2022). 1: the whole run from x_T.
  TORCH_ARG(double, strength) = 1.0;
  // Where a twin's run starts (read by pipeline::TwinModel, which has the reference):
  // "noise" (x_T drawn from the seed, the method), "reference-noised" (the reference's
  // latent noised to the first timestep taken) or "reference-inverted" (the reference's
  // latent carried there by DDIM inversion under the reference's own conditions).
  TORCH_ARG(std::string, start) = "noise";
  // Samples drawn per twin (read by pipeline::TwinModel for generate, evaluate and diagnose;
  // edit samples the one twin of its seed): above 1 each twin is the medoid of its candidates
  // by beat-template distance (minimum-Bayes-risk selection). 1: the method.
  TORCH_ARG(int64_t, candidates) = 1;
  // Which candidate is the twin when candidates > 1: "medoid" (the sample nearest the other
  // samples) or "reference" (the sample whose average beat is nearest the reference's, the
  // person as the input shows them; needs the reference, read by pipeline::TwinModel) or
  // "mean-beat" (the medoid with its beats moved onto the mean average beat of all the
  // candidates: the candidates' common beat with their sample-to-sample spread averaged out)
  // or "transferred" (the medoid of the candidates after `transfer` is done on each of them,
  // the reference rendered from every candidate's noise; needs a transfer).
  TORCH_ARG(std::string, select) = "medoid";
  // Above 0 (and below candidates), `select` chooses among the rate_candidates candidates of
  // each twin whose measured heart rate is nearest the twin's target rate (all of them where
  // no target rate is given): the twin keeps to the rate it is asked for. 0: all candidates.
  TORCH_ARG(int64_t, rate_candidates) = 0;
  // true: every sample the model renders for a target heart rate (the twins' candidates and,
  // for a transfer, the renderings of the reference) has its time axis scaled so that its
  // measured rate is the target's (signal::fit_heart_rate, at most 15 % of change; read by
  // pipeline::TwinModel), before the twin is chosen and the transfer is done. false: as sampled.
  TORCH_ARG(bool, rate_fit) = false;
  // How rate_fit changes a sample's rate: "uniform" (its time axis scaled) or "fridericia"
  // (its beats warped: P wave and QRS kept, the QT by Fridericia's cube root; signal::warp_beats).
  TORCH_ARG(std::string, rate_fit_warp) = "uniform";
  // What is done to each twin after it is sampled (read by pipeline::TwinModel for generate,
  // evaluate and diagnose; edit leaves it aside): "none" (the method) or "reference-residual"
  // (the model also renders the reference under its own conditions from the twin's noise, and
  // what the reference's average beat differs from that rendering's is added to every beat of
  // the twin: what the model misses of the person is carried over to the new condition; needs
  // the reference) or "reference-residual-scaled" (that difference first multiplied, segment
  // by segment (P, QRS, ST-T), by how much larger the twin's waves are than the rendering's:
  // what a condition does to the size of the person's waves, as low voltage or T inversion,
  // is done to the difference too; where all of it would move the twin's R peaks, half or a
  // quarter of it) or "reference-residual-adapted" (as "reference-residual-scaled", with the
  // difference's ST-T segment first stretched in time as the twin's is against the rendering's:
  // a heart rate other than the reference's shortens or lengthens it).
  TORCH_ARG(std::string, transfer) = "none";
  // The limb leads of every decoded sample (read by pipeline::TwinModel and edit), which the
  // autoencoder renders each on its own: "generated" (as decoded, the method), "projected"
  // (replaced by their least-squares projection onto the ECGs that keep Einthoven's and
  // Goldberger's relations, signal::project_limb_leads) or "derived" (III, aVR, aVL and aVF
  // recomputed from I and II, as recording devices do). Done before the twin is chosen and the
  // transfer is done.
  TORCH_ARG(std::string, limb_leads) = "generated";
  // true: the denoiser runs under bf16 autocast while sampling (read by pipeline::TwinModel for
  // generate, evaluate and diagnose; edit, which records attention maps, stays float32), on CUDA,
  // or on a CPU with bfloat16 instructions (model::AutocastScope; float32 on other CPUs). false:
  // float32.
  TORCH_ARG(bool, bf16) = false;
  TORCH_ARG(uint64_t, seed) = 0;
  // x_T to start from instead of a draw from the seed ([B, ...] as the sample).
  TORCH_ARG(torch::Tensor, initial_noise) = {};
  TORCH_ARG(torch::Device, device) = torch::kCPU;
  TORCH_ARG(torch::Dtype, dtype) = torch::kFloat;
  // Called after each step with (steps done, steps in all).
  TORCH_ARG(std::function<void(int64_t, int64_t)>, progress) = nullptr;
  // Called before each step with its index (0 = the noisiest); editing uses it.
  TORCH_ARG(std::function<void(int64_t)>, before_step) = nullptr;

 public:
  // InputError naming sampling.<key>.
  void validate(const NoiseSchedule& schedule) const;
};

// The timesteps a run visits, noisiest first: T-1 .. 0 for DDPM, options.steps of them for
// DDIM spaced as options.spacing says.
std::vector<int64_t> sampling_timesteps(const NoiseSchedule& schedule,
                                        const SamplerOptions& options);

// The index in sampling_timesteps() of the first step a run with options.strength takes:
// n - max(1, round(strength * n)).
int64_t first_sampling_step(const NoiseSchedule& schedule, const SamplerOptions& options);

// sigma_t^2 of a DDIM step from t to t_prev (t_prev = -1: to x_0) (Song et al. 2021, eq. 16):
// eta^2 (1 - abar_prev) / (1 - abar_t) (1 - abar_t / abar_prev).
double ddim_variance(const NoiseSchedule& schedule, int64_t t, int64_t t_prev, double eta);

// Generates x_0 of shape `shape` (on options.device). `conditions` (batch B or 1) are the
// conditional ones; `unconditional` the null conditions for guidance (needed only when
// guidance_scale != 1; batch B or 1). The denoiser is run in eval mode and without
// gradients; its cross-attention hook, if any, sees the conditional pass only.
torch::Tensor sample(model::DenoiserImpl& denoiser, const NoiseSchedule& schedule,
                     torch::IntArrayRef shape, const model::DenoiserConditions& conditions,
                     const SamplerOptions& options,
                     const model::DenoiserConditions& unconditional = {});

// DDIM inversion (Song et al. 2021, sec. 4.3; as diffusers' DDIMInverseScheduler): runs the
// deterministic DDIM update from x_0 towards x_T over the same timesteps that sample() with
// eta = 0 visits, so that sample() started from the result returns approximately x0. With
// strength < 1 it stops at the timestep where such a run starts.
torch::Tensor ddim_invert(model::DenoiserImpl& denoiser, const NoiseSchedule& schedule,
                          const torch::Tensor& x0, const model::DenoiserConditions& conditions,
                          const SamplerOptions& options,
                          const model::DenoiserConditions& unconditional = {});

}  // namespace ecgtwin::diffusion
