#pragma once
// What every denoiser (DiT, U-Net, signal-space DiT) offers the diffusion layer.
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ecgtwin::model {

// Called by every cross-attention layer with its attention probabilities
// [B, heads, L, S] (after softmax and masking); returns the probabilities to use. The
// diffusion layer's editing records maps in one run and injects them into another.
class CrossAttentionHook {
 public:
  virtual ~CrossAttentionHook() = default;
  virtual torch::Tensor on_probabilities(int block, const torch::Tensor& probabilities) = 0;
};

// The conditions of one batch, already encoded.
struct DenoiserConditions {
  torch::Tensor base_vector;       // [B, base_dim] from the Individual Base Extractor (may be undefined)
  torch::Tensor statement_tokens;  // [B, S, token_dim] condition tokens (may be undefined)
  torch::Tensor token_mask;        // [B, S] bool, true = real token
};

class DenoiserImpl : public torch::nn::Module {
 public:
  // x: [B, C, L] noisy latent (or signal); t: [B] int64 timesteps -> predicted noise [B, C, L].
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t,
                                const DenoiserConditions& conditions) = 0;
  // The hook every cross-attention layer calls (nullptr: none). Not owned.
  void set_cross_attention_hook(CrossAttentionHook* hook) { hook_ = hook; }
  CrossAttentionHook* cross_attention_hook() const { return hook_; }
  virtual int64_t block_count() const = 0;

 protected:
  CrossAttentionHook* hook_ = nullptr;
};

// Options of every denoiser kind; the defaults are the paper's latent DiT.
//   "dit":        DiT over the latent [B, 4, 128] (one token per latent position)
//   "unet":       1D U-Net over the latent with AdaX inside its blocks
//   "signal_dit": DiT over the signal [B, 12, 1024] in patches of 8 (no autoencoder)
struct DenoiserOptions {
  TORCH_ARG(std::string, kind) = "dit";
  TORCH_ARG(int64_t, in_channels) = 4;
  TORCH_ARG(int64_t, length) = 128;
  TORCH_ARG(int64_t, patch_size) = 1;  // DiT only
  TORCH_ARG(int64_t, hidden) = 256;
  TORCH_ARG(int64_t, depth) = 7;  // DiT only
  TORCH_ARG(int64_t, heads) = 8;
  TORCH_ARG(double, mlp_ratio) = 4.0;
  TORCH_ARG(int64_t, base_dim) = 256;
  TORCH_ARG(int64_t, token_dim) = 256;
  TORCH_ARG(int64_t, frequency_dim) = 256;  // sinusoidal timestep features (DiT)
  TORCH_ARG(bool, cross_attention) = true;  // the token pathway
  TORCH_ARG(bool, adaptive_norm) = true;    // the global pathway
  TORCH_ARG(bool, rotary) = true;
  // U-Net only: channels per level (length halves from one level to the next).
  TORCH_ARG(std::vector<int64_t>, unet_channels) = std::vector<int64_t>{64, 128, 256};
  TORCH_ARG(int64_t, unet_kernel) = 7;
  TORCH_ARG(int64_t, unet_groups) = 8;

 public:
  // The defaults of one kind ("signal_dit": 12 x 1024, patch 8).
  static DenoiserOptions preset(const std::string& kind);
  // InputError naming model.denoiser.<key> when the options cannot form a network.
  void validate() const;
};

// Builds the denoiser that options.kind() names.
std::shared_ptr<DenoiserImpl> make_denoiser(const DenoiserOptions& options);

}  // namespace ecgtwin::model
