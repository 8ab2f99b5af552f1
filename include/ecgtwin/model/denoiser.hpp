#pragma once
// What every denoiser (DiT, U-Net, signal-space DiT) offers the diffusion layer.
#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>

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

}  // namespace ecgtwin::model
