#include "ecgtwin/diffusion/sampler.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "ecgtwin/diffusion/guidance.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::diffusion {
namespace {

// Step noise is drawn and moved in blocks of this many steps: one copy per block instead of
// one per step, and bounded memory for the 1000 steps of DDPM.
constexpr int64_t kNoiseBlockSteps = 64;

// The random numbers of one run, drawn on the CPU in a fixed order: x_T first, then the
// noise of each stochastic step.
class RunNoise {
 public:
  RunNoise(uint64_t seed, torch::IntArrayRef shape, const SamplerOptions& options)
      : generator_(at::make_generator<at::CPUGeneratorImpl>(seed)),
        shape_(shape.vec()),
        device_(options.device()),
        dtype_(options.dtype()) {}

  torch::Tensor initial() { return move(draw(shape_)); }

  torch::Tensor next_step_noise(int64_t remaining_steps) {
    if (next_ == block_size_) {
      block_size_ = std::min(kNoiseBlockSteps, remaining_steps);
      std::vector<int64_t> shape{block_size_};
      shape.insert(shape.end(), shape_.begin(), shape_.end());
      block_ = move(draw(shape));
      next_ = 0;
    }
    return block_[next_++];
  }

 private:
  torch::Tensor draw(const std::vector<int64_t>& shape) {
    return torch::randn(shape, generator_, torch::TensorOptions().dtype(torch::kFloat));
  }
  torch::Tensor move(torch::Tensor cpu) {
    const bool cuda = device_.is_cuda();
    if (cuda) {
      cpu = cpu.pin_memory();  // lets the copy run without blocking the host
    }
    return cpu.to(device_, dtype_, /*non_blocking=*/cuda);
  }

  at::Generator generator_;
  std::vector<int64_t> shape_;
  torch::Device device_;
  torch::Dtype dtype_;
  torch::Tensor block_;
  int64_t block_size_ = 0, next_ = 0;
};

// Eval mode, no gradients, and the hook detached for the unconditional pass.
class DenoiserRun {
 public:
  DenoiserRun(model::DenoiserImpl& denoiser, const model::DenoiserConditions& conditions,
              const model::DenoiserConditions& unconditional, int64_t batch,
              const SamplerOptions& options)
      : denoiser_(denoiser), was_training_(denoiser.is_training()), options_(options) {
    denoiser_.eval();
    conditions_ = on_device(expand_conditions(conditions, batch));
    if (options.guidance_scale() != 1.0) {
      unconditional_ = on_device(expand_conditions(unconditional, batch));
    }
  }
  ~DenoiserRun() { denoiser_.train(was_training_); }
  DenoiserRun(const DenoiserRun&) = delete;
  DenoiserRun& operator=(const DenoiserRun&) = delete;

  torch::Tensor epsilon(const torch::Tensor& x, int64_t t) {
    const torch::Tensor timesteps =
        torch::full({x.size(0)}, t, torch::TensorOptions().dtype(torch::kLong).device(x.device()));
    torch::Tensor eps_cond = denoiser_.forward(x, timesteps, conditions_);
    if (options_.guidance_scale() == 1.0) {
      return eps_cond;
    }
    model::CrossAttentionHook* hook = denoiser_.cross_attention_hook();
    denoiser_.set_cross_attention_hook(nullptr);
    torch::Tensor eps_uncond;
    try {
      eps_uncond = denoiser_.forward(x, timesteps, unconditional_);
    } catch (...) {
      denoiser_.set_cross_attention_hook(hook);
      throw;
    }
    denoiser_.set_cross_attention_hook(hook);
    return guided_epsilon(eps_cond, eps_uncond, options_.guidance_scale());
  }

 private:
  model::DenoiserConditions on_device(const model::DenoiserConditions& c) const {
    auto move = [&](const torch::Tensor& tensor, bool floating) {
      if (!tensor.defined()) {
        return tensor;
      }
      return floating ? tensor.to(options_.device(), options_.dtype())
                      : tensor.to(options_.device());
    };
    return {move(c.base_vector, true), move(c.statement_tokens, true), move(c.token_mask, false)};
  }

  model::DenoiserImpl& denoiser_;
  bool was_training_;
  const SamplerOptions& options_;
  model::DenoiserConditions conditions_, unconditional_;
  torch::NoGradGuard no_grad_;
};

std::vector<int64_t> ddim_timesteps(int64_t timesteps, int64_t steps, const std::string& spacing) {
  std::vector<int64_t> out(static_cast<size_t>(steps));
  for (int64_t i = 0; i < steps; ++i) {
    int64_t t = 0;
    if (spacing == "trailing") {
      // diffusers: round(arange(T, 0, -T / steps)) - 1
      t = static_cast<int64_t>(std::llround(static_cast<double>(timesteps) -
                                            static_cast<double>(i) * timesteps / steps)) -
          1;
    } else if (spacing == "leading" || spacing == "uniform") {
      t = (steps - 1 - i) * (timesteps / steps);
    } else {  // linspace
      t = steps == 1 ? 0
                     : static_cast<int64_t>(std::llround(static_cast<double>(timesteps - 1) *
                                                         (steps - 1 - i) / (steps - 1)));
    }
    out[static_cast<size_t>(i)] = t;
  }
  return out;
}

}  // namespace

void SamplerOptions::validate(const NoiseSchedule& schedule) const {
  if (sampler() != "ddpm" && sampler() != "ddim") {
    throw InputError("sampling.sampler", "expected ddpm or ddim, got '" + sampler() + "'");
  }
  if (sampler() == "ddim" && (steps() < 1 || steps() > schedule.timesteps())) {
    throw InputError("sampling.steps",
                     "expected 1 .. " + std::to_string(schedule.timesteps()) + " steps");
  }
  if (!(eta() >= 0.0)) {
    throw InputError("sampling.eta", "expected eta >= 0");
  }
  if (spacing() != "trailing" && spacing() != "leading" && spacing() != "uniform" &&
      spacing() != "linspace") {
    throw InputError("sampling.spacing",
                     "expected trailing, leading, uniform or linspace, got '" + spacing() + "'");
  }
  if (!std::isfinite(guidance_scale())) {
    throw InputError("sampling.guidance_scale", "expected a finite number");
  }
  if (!(strength() > 0.0 && strength() <= 1.0)) {
    throw InputError("sampling.strength", "expected 0 < strength <= 1");
  }
  if (start() != "noise" && start() != "reference-noised" && start() != "reference-inverted") {
    throw InputError(
        "sampling.start",
        "expected noise, reference-noised or reference-inverted, got '" + start() + "'");
  }
}

std::vector<int64_t> sampling_timesteps(const NoiseSchedule& schedule,
                                        const SamplerOptions& options) {
  options.validate(schedule);
  if (options.sampler() == "ddpm") {
    return ddim_timesteps(schedule.timesteps(), schedule.timesteps(), "trailing");
  }
  return ddim_timesteps(schedule.timesteps(), options.steps(), options.spacing());
}

int64_t first_sampling_step(const NoiseSchedule& schedule, const SamplerOptions& options) {
  const auto n = static_cast<int64_t>(sampling_timesteps(schedule, options).size());
  const int64_t taken =
      std::max<int64_t>(1, static_cast<int64_t>(std::llround(options.strength() * n)));
  return n - std::min(n, taken);
}

double ddim_variance(const NoiseSchedule& schedule, int64_t t, int64_t t_prev, double eta) {
  const double a_t = schedule.alpha_cumprod(t), a_prev = schedule.alpha_cumprod(t_prev);
  return eta * eta * (1.0 - a_prev) / (1.0 - a_t) * (1.0 - a_t / a_prev);
}

torch::Tensor sample(model::DenoiserImpl& denoiser, const NoiseSchedule& schedule,
                     torch::IntArrayRef shape, const model::DenoiserConditions& conditions,
                     const SamplerOptions& options,
                     const model::DenoiserConditions& unconditional) {
  const std::vector<int64_t> timesteps = sampling_timesteps(schedule, options);
  if (options.guidance_scale() != 1.0 && !unconditional.statement_tokens.defined() &&
      !unconditional.base_vector.defined()) {
    throw InputError("sampling.guidance_scale",
                     "guidance needs the null conditions (unconditional model)");
  }
  const int64_t first = first_sampling_step(schedule, options);
  if (first > 0 && !options.initial_noise().defined()) {
    throw InputError("sampling.strength",
                     "a run that skips the noisiest steps needs the point it starts from");
  }
  const bool ddpm = options.sampler() == "ddpm";
  const int64_t n = static_cast<int64_t>(timesteps.size());
  std::vector<double> sigmas(timesteps.size());
  int64_t noisy_steps = 0;
  for (int64_t i = first; i < n; ++i) {
    const int64_t t = timesteps[static_cast<size_t>(i)];
    const int64_t t_prev = i + 1 < n ? timesteps[static_cast<size_t>(i + 1)] : -1;
    double sigma = 0.0;
    if (ddpm) {
      // sqrt(beta_tilde_t); no noise is added at t = 0, where the clipped log variance of
      // the improved-diffusion code only stands in for log 0.
      const double a_t = schedule.alpha_cumprod(t), a_prev = schedule.alpha_cumprod(t - 1);
      sigma = t > 0 ? std::sqrt(schedule.beta(t) * (1.0 - a_prev) / (1.0 - a_t)) : 0.0;
    } else {
      sigma = std::sqrt(ddim_variance(schedule, t, t_prev, options.eta()));
    }
    sigmas[static_cast<size_t>(i)] = sigma;
    noisy_steps += sigma > 0.0 ? 1 : 0;
  }

  RunNoise noise(options.seed(), shape, options);
  torch::Tensor x;
  {
    torch::Tensor drawn = noise.initial();  // drawn even when replaced: fixed stream order
    x = options.initial_noise().defined()
            ? options.initial_noise().to(options.device(), options.dtype())
            : drawn;
  }
  if (x.sizes() != shape) {
    throw InputError("sampling.initial_noise", "expected the sample's shape");
  }
  DenoiserRun run(denoiser, conditions, unconditional, shape[0], options);

  for (int64_t i = first; i < n; ++i) {
    const int64_t t = timesteps[static_cast<size_t>(i)];
    const int64_t t_prev = i + 1 < n ? timesteps[static_cast<size_t>(i + 1)] : -1;
    if (options.before_step()) {
      options.before_step()(i);
    }
    const torch::Tensor eps = run.epsilon(x, t);
    const double a_t = schedule.alpha_cumprod(t), a_prev = schedule.alpha_cumprod(t_prev);
    const double sigma = sigmas[static_cast<size_t>(i)];
    double x_coefficient = 0.0, eps_coefficient = 0.0;
    if (ddpm) {
      // Posterior mean of q(x_{t-1} | x_t, x0_pred) (Ho et al. 2020, eq. 7) with
      // x0_pred = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t).
      const double beta = schedule.beta(t);
      const double c_x0 = beta * std::sqrt(a_prev) / (1.0 - a_t);
      const double c_xt = (1.0 - a_prev) * std::sqrt(1.0 - beta) / (1.0 - a_t);
      x_coefficient = c_x0 / std::sqrt(a_t) + c_xt;
      eps_coefficient = -c_x0 * std::sqrt(1.0 - a_t) / std::sqrt(a_t);
    } else {
      // Song et al. 2021, eq. 12.
      const double direction = std::sqrt(std::max(0.0, 1.0 - a_prev - sigma * sigma));
      x_coefficient = std::sqrt(a_prev / a_t);
      eps_coefficient = direction - std::sqrt(a_prev) * std::sqrt(1.0 - a_t) / std::sqrt(a_t);
    }
    torch::Tensor next = x * x_coefficient + eps * eps_coefficient;
    if (sigma > 0.0) {
      next = next + noise.next_step_noise(noisy_steps) * sigma;
      --noisy_steps;
    }
    x = next;
    if (options.progress()) {
      options.progress()(i + 1 - first, n - first);
    }
  }
  return x;
}

torch::Tensor ddim_invert(model::DenoiserImpl& denoiser, const NoiseSchedule& schedule,
                          const torch::Tensor& x0, const model::DenoiserConditions& conditions,
                          const SamplerOptions& options,
                          const model::DenoiserConditions& unconditional) {
  SamplerOptions deterministic = options;
  deterministic.sampler("ddim").eta(0.0);
  std::vector<int64_t> timesteps = sampling_timesteps(schedule, deterministic);
  timesteps.erase(timesteps.begin(),
                  timesteps.begin() + first_sampling_step(schedule, deterministic));
  std::reverse(timesteps.begin(), timesteps.end());
  DenoiserRun run(denoiser, conditions, unconditional, x0.size(0), deterministic);
  torch::Tensor x = x0.to(options.device(), options.dtype());
  const int64_t n = static_cast<int64_t>(timesteps.size());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = timesteps[static_cast<size_t>(i)];
    const int64_t t_current = i == 0 ? -1 : timesteps[static_cast<size_t>(i - 1)];
    const torch::Tensor eps = run.epsilon(x, t);
    const double a_current = schedule.alpha_cumprod(t_current), a_next = schedule.alpha_cumprod(t);
    x = x * std::sqrt(a_next / a_current) +
        eps * (std::sqrt(1.0 - a_next) -
               std::sqrt(a_next) * std::sqrt(1.0 - a_current) / std::sqrt(a_current));
    if (options.progress()) {
      options.progress()(i + 1, n);
    }
  }
  return x;
}

}  // namespace ecgtwin::diffusion
