#pragma once
// The noise schedule of the diffusion stage and the forward process q(x_t | x_0).
// Timesteps are zero-based: t = 0 .. T-1 stand for Ho et al.'s 1 .. T.
#include <ATen/core/Generator.h>
#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ecgtwin/model/denoiser.hpp"

namespace ecgtwin::diffusion {

// Beta schedules:
//   "linear":        betas evenly spaced from beta_start to beta_end (Ho et al. 2020; the
//                    ECGTwin setting with 0.00085 .. 0.012, DESIGN.md).
//   "scaled_linear": sqrt(beta) evenly spaced, then squared (the "linear" of the latent
//                    diffusion / Stable Diffusion code, diffusers' "scaled_linear").
//   "cosine":        abar(t) = f(t) / f(0), f(t) = cos^2((t/T + s) / (1 + s) * pi/2),
//                    betas clipped at max_beta (Nichol & Dhariwal 2021, eq. 17).
struct NoiseScheduleOptions {
  TORCH_ARG(std::string, kind) = "linear";
  TORCH_ARG(int64_t, timesteps) = 1000;
  TORCH_ARG(double, beta_start) = 0.00085;
  TORCH_ARG(double, beta_end) = 0.012;
  TORCH_ARG(double, cosine_offset) = 0.008;  // s, Nichol & Dhariwal 2021
  TORCH_ARG(double, max_beta) = 0.999;       // Nichol & Dhariwal 2021, to avoid beta = 1

 public:
  // InputError naming diffusion.<key> when the options cannot form a schedule.
  void validate() const;
};

// All constants of one schedule, in double precision. The tensors live on device() (CPU
// unless to() moved them); the host copies serve the samplers, which pass per-step
// coefficients as scalars so that no step reads a value back from the device.
class NoiseSchedule {
 public:
  explicit NoiseSchedule(const NoiseScheduleOptions& options = {});

  const NoiseScheduleOptions& options() const { return options_; }
  int64_t timesteps() const { return options_.timesteps(); }

  // [T] double tensors.
  const torch::Tensor& betas() const { return betas_; }
  const torch::Tensor& alphas() const { return alphas_; }
  const torch::Tensor& alphas_cumprod() const { return alphas_cumprod_; }
  const torch::Tensor& sqrt_alphas_cumprod() const { return sqrt_alphas_cumprod_; }
  const torch::Tensor& sqrt_one_minus_alphas_cumprod() const {
    return sqrt_one_minus_alphas_cumprod_;
  }
  // beta_tilde_t = beta_t (1 - abar_{t-1}) / (1 - abar_t), with abar_{-1} = 1 (Ho et al.
  // 2020, eq. 7); zero at t = 0.
  const torch::Tensor& posterior_variance() const { return posterior_variance_; }
  // log beta_tilde with the t = 0 entry replaced by beta_tilde_1 (the "clipped" log variance
  // of the improved-diffusion code: beta_tilde_0 = 0 has no logarithm).
  const torch::Tensor& posterior_log_variance_clipped() const {
    return posterior_log_variance_clipped_;
  }

  // Host values; t = -1 (before the first step) gives abar = 1.
  double alpha_cumprod(int64_t t) const;
  double beta(int64_t t) const { return host_betas_.at(static_cast<size_t>(t)); }

  torch::Device device() const { return betas_.device(); }
  // A copy whose tensors live on `device`.
  NoiseSchedule to(const torch::Device& device) const;

 private:
  NoiseScheduleOptions options_;
  std::vector<double> host_betas_, host_alphas_cumprod_;
  torch::Tensor betas_, alphas_, alphas_cumprod_, sqrt_alphas_cumprod_,
      sqrt_one_minus_alphas_cumprod_, posterior_variance_, posterior_log_variance_clipped_;
};

// x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, a draw of q(x_t | x0) (Ho et al. 2020,
// eq. 4). x0, noise: [B, ...]; t: [B] int64 on x0's device -> [B, ...] in x0's dtype.
torch::Tensor add_noise(const NoiseSchedule& schedule, const torch::Tensor& x0,
                        const torch::Tensor& noise, const torch::Tensor& t);

// t drawn uniformly from 0 .. T-1 (Ho et al.'s 1 .. T), [batch] int64 on `device`. The
// generator, when given, must belong to `device`.
torch::Tensor sample_timesteps(const NoiseSchedule& schedule, int64_t batch,
                               const torch::Device& device,
                               std::optional<at::Generator> generator = std::nullopt);

// One evaluation of the training objective L_simple = E ||eps - eps_theta(x_t, t)||^2
// (Ho et al. 2020, eq. 14), with the parts a training step may want to log or reuse.
struct EpsilonLoss {
  torch::Tensor loss;       // scalar, mean over all elements
  torch::Tensor timesteps;  // [B] int64
  torch::Tensor noise;      // [B, ...] the target epsilon
  torch::Tensor noisy;      // [B, ...] x_t
};

// Draws t and epsilon with `generator` (on x0's device, or the default generator when not
// given), noises x0 and compares the denoiser's prediction with epsilon.
EpsilonLoss epsilon_loss(model::DenoiserImpl& denoiser, const NoiseSchedule& schedule,
                         const torch::Tensor& x0, const model::DenoiserConditions& conditions,
                         std::optional<at::Generator> generator = std::nullopt);

}  // namespace ecgtwin::diffusion
