#include "ecgtwin/diffusion/schedule.hpp"

#include <torch/torch.h>

#include <cmath>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::diffusion {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<double> make_betas(const NoiseScheduleOptions& o) {
  const int64_t n = o.timesteps();
  std::vector<double> betas(static_cast<size_t>(n));
  const double denominator = n > 1 ? static_cast<double>(n - 1) : 1.0;
  for (int64_t i = 0; i < n; ++i) {
    const double u = static_cast<double>(i) / denominator;
    double beta = 0.0;
    if (o.kind() == "linear") {
      beta = o.beta_start() + u * (o.beta_end() - o.beta_start());
    } else if (o.kind() == "scaled_linear") {
      const double root =
          std::sqrt(o.beta_start()) + u * (std::sqrt(o.beta_end()) - std::sqrt(o.beta_start()));
      beta = root * root;
    } else {  // cosine
      auto f = [&](double step) {
        const double c = std::cos((step / static_cast<double>(n) + o.cosine_offset()) /
                                  (1.0 + o.cosine_offset()) * kPi / 2.0);
        return c * c;
      };
      beta =
          std::min(1.0 - f(static_cast<double>(i + 1)) / f(static_cast<double>(i)), o.max_beta());
    }
    betas[static_cast<size_t>(i)] = beta;
  }
  return betas;
}

torch::Tensor to_tensor(const std::vector<double>& values) {
  return torch::tensor(values, torch::TensorOptions().dtype(torch::kDouble));
}

}  // namespace

void NoiseScheduleOptions::validate() const {
  if (kind() != "linear" && kind() != "scaled_linear" && kind() != "cosine") {
    throw InputError("diffusion.schedule",
                     "expected linear, scaled_linear or cosine, got '" + kind() + "'");
  }
  if (timesteps() < 2) {
    throw InputError("diffusion.timesteps", "expected at least 2 timesteps");
  }
  if (kind() != "cosine" &&
      !(beta_start() > 0.0 && beta_start() <= beta_end() && beta_end() < 1.0)) {
    throw InputError("diffusion.beta_start", "expected 0 < beta_start <= beta_end < 1");
  }
  if (kind() == "cosine" && !(cosine_offset() >= 0.0 && max_beta() > 0.0 && max_beta() < 1.0)) {
    throw InputError("diffusion.cosine_offset", "expected offset >= 0 and 0 < max_beta < 1");
  }
}

NoiseSchedule::NoiseSchedule(const NoiseScheduleOptions& options) : options_(options) {
  options_.validate();
  host_betas_ = make_betas(options_);
  host_alphas_cumprod_.resize(host_betas_.size());
  double product = 1.0;
  for (size_t i = 0; i < host_betas_.size(); ++i) {
    product *= 1.0 - host_betas_[i];
    host_alphas_cumprod_[i] = product;
  }
  std::vector<double> posterior(host_betas_.size()), log_clipped(host_betas_.size());
  for (size_t i = 0; i < host_betas_.size(); ++i) {
    const double previous = i == 0 ? 1.0 : host_alphas_cumprod_[i - 1];
    posterior[i] = host_betas_[i] * (1.0 - previous) / (1.0 - host_alphas_cumprod_[i]);
  }
  for (size_t i = 0; i < host_betas_.size(); ++i) {
    log_clipped[i] = std::log(i == 0 ? posterior[1] : posterior[i]);
  }
  betas_ = to_tensor(host_betas_);
  alphas_ = 1.0 - betas_;
  alphas_cumprod_ = to_tensor(host_alphas_cumprod_);
  sqrt_alphas_cumprod_ = alphas_cumprod_.sqrt();
  sqrt_one_minus_alphas_cumprod_ = (1.0 - alphas_cumprod_).sqrt();
  posterior_variance_ = to_tensor(posterior);
  posterior_log_variance_clipped_ = to_tensor(log_clipped);
}

double NoiseSchedule::alpha_cumprod(int64_t t) const {
  if (t < 0) {
    return 1.0;
  }
  return host_alphas_cumprod_.at(static_cast<size_t>(t));
}

NoiseSchedule NoiseSchedule::to(const torch::Device& device) const {
  NoiseSchedule copy = *this;
  for (torch::Tensor* tensor : {&copy.betas_, &copy.alphas_, &copy.alphas_cumprod_,
                                &copy.sqrt_alphas_cumprod_, &copy.sqrt_one_minus_alphas_cumprod_,
                                &copy.posterior_variance_, &copy.posterior_log_variance_clipped_}) {
    *tensor = tensor->to(device);
  }
  return copy;
}

torch::Tensor add_noise(const NoiseSchedule& schedule, const torch::Tensor& x0,
                        const torch::Tensor& noise, const torch::Tensor& t) {
  TORCH_CHECK(t.dim() == 1 && t.size(0) == x0.size(0), "add_noise: t must be [B]");
  std::vector<int64_t> view(static_cast<size_t>(x0.dim()), 1);
  view[0] = x0.size(0);
  auto gather = [&](const torch::Tensor& table) {
    const torch::Tensor on_device = table.device() == t.device() ? table : table.to(t.device());
    return on_device.index_select(0, t).to(x0.scalar_type()).view(view);
  };
  return gather(schedule.sqrt_alphas_cumprod()) * x0 +
         gather(schedule.sqrt_one_minus_alphas_cumprod()) * noise;
}

torch::Tensor sample_timesteps(const NoiseSchedule& schedule, int64_t batch,
                               const torch::Device& device,
                               std::optional<at::Generator> generator) {
  const auto options = torch::TensorOptions().dtype(torch::kLong).device(device);
  if (generator) {
    return torch::randint(0, schedule.timesteps(), {batch}, *generator, options);
  }
  return torch::randint(0, schedule.timesteps(), {batch}, options);
}

EpsilonLoss epsilon_loss(model::DenoiserImpl& denoiser, const NoiseSchedule& schedule,
                         const torch::Tensor& x0, const model::DenoiserConditions& conditions,
                         std::optional<at::Generator> generator) {
  EpsilonLoss out;
  out.timesteps = sample_timesteps(schedule, x0.size(0), x0.device(), generator);
  out.noise = generator ? torch::randn(x0.sizes(), *generator, x0.options())
                        : torch::randn(x0.sizes(), x0.options());
  out.noisy = add_noise(schedule, x0, out.noise, out.timesteps);
  const torch::Tensor predicted = denoiser.forward(out.noisy, out.timesteps, conditions);
  out.loss = torch::mse_loss(predicted, out.noise);
  return out;
}

}  // namespace ecgtwin::diffusion
