#pragma once
// Multi-head attention for the denoisers and the Individual Base Extractor.
// Self-attention (no context_dim) uses one fused projection "qkv" as timm's Attention
// (the DiT code); cross-attention uses "q" on x and a fused "kv" on the context. Both end
// in "proj". With qkv_norm a LayerNorm over each head's features is applied to q, k and v
// ("q_norm", "k_norm", "v_norm"), as the AdaX cross-attention needs.
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>

#include "ecgtwin/model/denoiser.hpp"
#include "ecgtwin/model/rotary.hpp"

namespace ecgtwin::model {

struct MultiHeadAttentionOptions {
  MultiHeadAttentionOptions(int64_t dim, int64_t heads) : dim_(dim), heads_(heads) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, heads);
  TORCH_ARG(int64_t, context_dim) = 0;  // 0: self-attention; > 0: cross-attention
  TORCH_ARG(bool, qkv_norm) = false;
  TORCH_ARG(bool, rotary) = false;  // positions of x; used by self-attention only
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(bool, bias) = true;  // DiT: qkv_bias=True
};

class MultiHeadAttentionImpl : public torch::nn::Module {
 public:
  explicit MultiHeadAttentionImpl(const MultiHeadAttentionOptions& options);

  // x: [B, L, dim]; context: [B, S, context_dim] (cross-attention) or undefined (self);
  // mask: [B, S] bool, true = real key, or undefined (all real). Padded keys take no part;
  // a query whose keys are all padded gets a zero output. The hook, when given, receives
  // the probabilities [B, heads, L, S] with `block` and returns those to use.
  // -> [B, L, dim]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context = {},
                        const torch::Tensor& mask = {}, CrossAttentionHook* hook = nullptr,
                        int block = -1);

  const MultiHeadAttentionOptions& options() const { return options_; }
  bool is_cross_attention() const { return options_.context_dim() > 0; }

 private:
  MultiHeadAttentionOptions options_;
  int64_t head_dim_;
  torch::nn::Linear qkv_{nullptr}, q_{nullptr}, kv_{nullptr}, proj_{nullptr};
  torch::nn::LayerNorm q_norm_{nullptr}, k_norm_{nullptr}, v_norm_{nullptr};
  RotaryEmbedding rotary_{nullptr};
};
TORCH_MODULE(MultiHeadAttention);

// softmax(q k^T / sqrt(D)) v with a key mask, written out with matmul and softmax.
// q: [B, H, L, D]; k, v: [B, H, S, D]; mask: [B, S] bool or undefined.
// Returns the output [B, H, L, D]; the probabilities (after the hook) go to *probabilities
// when it is not null.
torch::Tensor attention_reference(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v, const torch::Tensor& mask,
                                  double dropout, bool training, CrossAttentionHook* hook,
                                  int block);

}  // namespace ecgtwin::model
