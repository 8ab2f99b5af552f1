#pragma once
// Denoisers for the diffusion tests: exact noise predictors of known data distributions
// (so a sampler's output can be compared with the distribution) and a tiny network with
// real cross-attention layers that call the hook.
#include <torch/torch.h>

#include <cmath>
#include <cstdint>

#include "ecgtwin/diffusion/schedule.hpp"
#include "ecgtwin/model/attention.hpp"
#include "ecgtwin/model/denoiser.hpp"

namespace ecgtwin::diffusion::test {

inline torch::Tensor gather_alpha_cumprod(const NoiseSchedule& schedule, const torch::Tensor& x,
                                          const torch::Tensor& t) {
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[0] = x.size(0);
  return schedule.alphas_cumprod().to(x.device()).index_select(0, t).view(shape);
}

// Data x0 ~ N(mu, s^2) elementwise: E[eps | x_t] = (x_t - sqrt(abar) mu) sqrt(1 - abar) /
// (abar s^2 + 1 - abar). mu is conditions.base_vector[:, 0] when given (per row).
class GaussianDenoiser : public model::DenoiserImpl {
 public:
  GaussianDenoiser(NoiseSchedule schedule, double mu, double s)
      : schedule_(std::move(schedule)), mu_(mu), s_(s) {}
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t,
                        const model::DenoiserConditions& conditions) override {
    ++calls;
    const torch::Tensor ab = gather_alpha_cumprod(schedule_, x, t);
    torch::Tensor mu = torch::full({}, mu_, ab.options());
    if (conditions.base_vector.defined()) {
      std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
      shape[0] = x.size(0);
      mu = conditions.base_vector.select(1, 0).to(torch::kDouble).view(shape);
    }
    const torch::Tensor xd = x.to(torch::kDouble);
    const torch::Tensor eps = (xd - ab.sqrt() * mu) * (1.0 - ab).sqrt() / (ab * s_ * s_ + 1.0 - ab);
    return eps.to(x.scalar_type());
  }
  int64_t block_count() const override { return 0; }
  int64_t calls = 0;

 private:
  NoiseSchedule schedule_;
  double mu_, s_;
};

// Data x0 = +a with probability p, -a otherwise, elementwise. The posterior log-odds of +a
// given x_t are log(p / (1 - p)) + 2 sqrt(abar) a x_t / (1 - abar), so
// E[x0 | x_t] = a tanh(logodds / 2) and E[eps | x_t] = (x_t - sqrt(abar) E[x0 | x_t]) /
// sqrt(1 - abar).
class TwoPointDenoiser : public model::DenoiserImpl {
 public:
  TwoPointDenoiser(NoiseSchedule schedule, double a, double p)
      : schedule_(std::move(schedule)), a_(a), p_(p) {}
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t,
                        const model::DenoiserConditions&) override {
    const torch::Tensor ab = gather_alpha_cumprod(schedule_, x, t);
    const torch::Tensor xd = x.to(torch::kDouble);
    const torch::Tensor log_odds =
        std::log(p_ / (1.0 - p_)) + 2.0 * ab.sqrt() * a_ * xd / (1.0 - ab);
    const torch::Tensor x0 = a_ * torch::tanh(0.5 * log_odds);
    return ((xd - ab.sqrt() * x0) / (1.0 - ab).sqrt()).to(x.scalar_type());
  }
  int64_t block_count() const override { return 0; }

 private:
  NoiseSchedule schedule_;
  double a_, p_;
};

// x [B, C, L] -> per position features, two cross-attention blocks to the statement tokens
// (each calls the hook with its index), -> a bounded noise prediction.
class TinyCrossAttentionDenoiser : public model::DenoiserImpl {
 public:
  static constexpr int64_t kHidden = 8, kHeads = 2, kBlocks = 2;
  TinyCrossAttentionDenoiser(int64_t channels, int64_t token_dim) {
    torch::manual_seed(3);
    in_ = register_module("in", torch::nn::Linear(channels + 1, kHidden));
    for (int64_t i = 0; i < kBlocks; ++i) {
      blocks_.push_back(register_module(
          "block" + std::to_string(i),
          model::MultiHeadAttention(
              model::MultiHeadAttentionOptions(kHidden, kHeads).context_dim(token_dim))));
    }
    out_ = register_module("out", torch::nn::Linear(kHidden, channels));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t,
                        const model::DenoiserConditions& conditions) override {
    const torch::Tensor positions = x.transpose(1, 2);  // [B, L, C]
    const torch::Tensor time =
        (t.to(x.scalar_type()) / 1000.0).view({x.size(0), 1, 1}).expand({x.size(0), x.size(2), 1});
    torch::Tensor h = in_(torch::cat({positions, time}, 2));
    for (size_t i = 0; i < blocks_.size(); ++i) {
      h = h + blocks_[i](h, conditions.statement_tokens, conditions.token_mask, hook_,
                         static_cast<int>(i));
    }
    return 0.5 * torch::tanh(out_(h)).transpose(1, 2);
  }
  int64_t block_count() const override { return kBlocks; }

 private:
  torch::nn::Linear in_{nullptr}, out_{nullptr};
  std::vector<model::MultiHeadAttention> blocks_;
};

}  // namespace ecgtwin::diffusion::test
