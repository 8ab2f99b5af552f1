#pragma once
// The stage-0 autoencoder: a 1D AutoencoderKL (Rombach et al. 2022, as in diffusers'
// AutoencoderKL) that maps a 12-lead ECG [B, 12, 1024] to a latent [B, 4, 128] and back.
// Parameter names follow diffusers (encoder.down_blocks.0.resnets.0.conv1.weight, ...).
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <ATen/core/Generator.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace ecgtwin::model {

struct AutoencoderOptions {
  TORCH_ARG(int64_t, leads) = 12;
  TORCH_ARG(int64_t, length) = 1024;
  TORCH_ARG(int64_t, latent_channels) = 4;
  // Channels per level; len(channels) - 1 stride-2 downsamplings (SD: 128, 256, 512, 512).
  TORCH_ARG(std::vector<int64_t>, channels) = std::vector<int64_t>{128, 256, 512, 512};
  TORCH_ARG(int64_t, layers_per_block) = 2;  // the decoder has one more per level, as in SD
  TORCH_ARG(int64_t, norm_groups) = 32;
  // Stable Diffusion's latent scaling factor (Rombach et al. 2022, sd-v1 config).
  TORCH_ARG(double, scaling_factor) = 0.18215;
  TORCH_ARG(double, logvar_min) = -30.0;
  TORCH_ARG(double, logvar_max) = 20.0;

 public:
  int64_t latent_length() const;
  // InputError (naming model.autoencoder.<key>) when the options cannot form a network.
  void validate() const;
};

// The diagonal Gaussian posterior q(z|x), unscaled.
struct Posterior {
  torch::Tensor mu;      // [B, latent_channels, latent_length]
  torch::Tensor logvar;  // same, clamped to [logvar_min, logvar_max]
};

struct AutoencoderOutput {
  torch::Tensor reconstruction;  // [B, leads, length]
  Posterior posterior;
};

struct AutoencoderLoss {
  torch::Tensor total;           // reconstruction + kl_weight * kl
  torch::Tensor reconstruction;  // MSE, mean per element
  torch::Tensor kl;              // KL(q || N(0, I)), mean per element
};

class ResnetBlock1dImpl : public torch::nn::Module {
 public:
  ResnetBlock1dImpl(int64_t in_channels, int64_t out_channels, int64_t groups);
  torch::Tensor forward(const torch::Tensor& x);  // [B, C_in, L] -> [B, C_out, L]

 private:
  torch::nn::GroupNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Conv1d conv1_{nullptr}, conv2_{nullptr}, conv_shortcut_{nullptr};
};
TORCH_MODULE(ResnetBlock1d);

// Single-head self-attention over positions with a GroupNorm in front and a residual
// (the AutoencoderKL mid-block attention).
class AttentionBlock1dImpl : public torch::nn::Module {
 public:
  AttentionBlock1dImpl(int64_t channels, int64_t groups);
  torch::Tensor forward(const torch::Tensor& x);  // [B, C, L] -> [B, C, L]

 private:
  torch::nn::GroupNorm group_norm_{nullptr};
  torch::nn::Linear to_q_{nullptr}, to_k_{nullptr}, to_v_{nullptr};
  torch::nn::ModuleList to_out_{nullptr};
};
TORCH_MODULE(AttentionBlock1d);

// resnet, attention, resnet at the bottleneck.
class MidBlock1dImpl : public torch::nn::Module {
 public:
  MidBlock1dImpl(int64_t channels, int64_t groups);
  torch::Tensor forward(torch::Tensor x);

 private:
  torch::nn::ModuleList resnets_{nullptr}, attentions_{nullptr};
};
TORCH_MODULE(MidBlock1d);

class VaeEncoderImpl : public torch::nn::Module {
 public:
  explicit VaeEncoderImpl(const AutoencoderOptions& options);
  torch::Tensor forward(torch::Tensor x);  // [B, leads, length] -> [B, 2*latent, latent_length]

 private:
  torch::nn::Conv1d conv_in_{nullptr}, conv_out_{nullptr};
  torch::nn::ModuleList down_blocks_{nullptr};
  MidBlock1d mid_block_{nullptr};
  torch::nn::GroupNorm conv_norm_out_{nullptr};
};
TORCH_MODULE(VaeEncoder);

class VaeDecoderImpl : public torch::nn::Module {
 public:
  explicit VaeDecoderImpl(const AutoencoderOptions& options);
  torch::Tensor forward(torch::Tensor z);  // [B, latent, latent_length] -> [B, leads, length]

 private:
  torch::nn::Conv1d conv_in_{nullptr}, conv_out_{nullptr};
  MidBlock1d mid_block_{nullptr};
  torch::nn::ModuleList up_blocks_{nullptr};
  torch::nn::GroupNorm conv_norm_out_{nullptr};
};
TORCH_MODULE(VaeDecoder);

class AutoencoderImpl : public torch::nn::Module {
 public:
  explicit AutoencoderImpl(const AutoencoderOptions& options = {});

  // x: [B, leads, length] -> posterior over the unscaled latent [B, latent, latent_length].
  Posterior encode(const torch::Tensor& x);
  // Reparameterised draw, scaled by scaling_factor. The noise is drawn on the CPU from
  // `generator` (or the global generator) and moved to the posterior's device, so a seed
  // gives the same latent on every device.
  torch::Tensor sample(const Posterior& posterior,
                       std::optional<at::Generator> generator = std::nullopt) const;
  torch::Tensor sample(const Posterior& posterior, uint64_t seed) const;
  // The draw with the standard normal `noise` [B, latent, latent_length] given (moved to the
  // posterior's device when elsewhere).
  torch::Tensor sample_with(const Posterior& posterior, const torch::Tensor& noise) const;
  // scaling_factor * mu: the deterministic latent the diffusion stage is trained on.
  torch::Tensor encode_latent(const torch::Tensor& x);
  // Scaled latent [B, latent, latent_length] -> signal [B, leads, length].
  torch::Tensor decode(const torch::Tensor& scaled_latent);
  // encode -> sample -> decode.
  AutoencoderOutput forward(const torch::Tensor& x,
                            std::optional<at::Generator> generator = std::nullopt);
  // encode -> sample_with(noise) -> decode.
  AutoencoderOutput forward_with(const torch::Tensor& x, const torch::Tensor& noise);

  const AutoencoderOptions& options() const { return options_; }
  // A factor measured on the training data (1 / std of mu) instead of the configured one.
  void set_scaling_factor(double factor);

 private:
  AutoencoderOptions options_;
  VaeEncoder encoder_{nullptr};
  VaeDecoder decoder_{nullptr};
  torch::nn::Conv1d quant_conv_{nullptr}, post_quant_conv_{nullptr};
};
TORCH_MODULE(Autoencoder);

// KL(N(mu, exp(logvar)) || N(0, 1)), averaged over every element:
// 0.5 * mean(mu^2 + exp(logvar) - 1 - logvar).
torch::Tensor gaussian_kl(const Posterior& posterior);
AutoencoderLoss autoencoder_loss(const torch::Tensor& reconstruction, const torch::Tensor& target,
                                 const Posterior& posterior, double kl_weight);

}  // namespace ecgtwin::model
