#pragma once
// The AdaX condition injector (Lai et al. 2025) as one transformer block with two pathways:
//   global pathway (adaLN-Zero, DiT, Peebles & Xie 2023): SiLU -> Linear(cond -> 6H),
//     zero-initialised, gives shift, scale and gate of the self-attention and the MLP;
//   token pathway: a masked cross-attention (LayerNorm on q, k, v) to the condition tokens
//     between self-attention and MLP, output projection zero-initialised (PixArt-alpha,
//     Chen et al. 2023) so that the block is the identity at initialisation.
//   x += g1 * SelfAttn(mod(LN(x), s1, b1)); x += CrossAttn(LN(x), tokens);
//   x += g2 * MLP(mod(LN(x), s2, b2))
// Without the global pathway the block is a plain pre-LN block (affine LayerNorms, no
// gates). Parameter names follow DiT: attn.qkv, attn.proj, mlp.fc1, mlp.fc2,
// adaLN_modulation.1; the token pathway adds norm_cross and cross_attn.{q,kv,proj,*_norm}.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>

#include "ecgtwin/model/attention.hpp"
#include "ecgtwin/model/denoiser.hpp"
#include "ecgtwin/model/embeddings.hpp"

namespace ecgtwin::model {

struct AdaXBlockOptions {
  AdaXBlockOptions(int64_t hidden, int64_t heads) : hidden_(hidden), heads_(heads) {}
  TORCH_ARG(int64_t, hidden);
  TORCH_ARG(int64_t, heads);
  TORCH_ARG(double, mlp_ratio) = 4.0;
  TORCH_ARG(bool, cross_attention) = true;  // the token pathway
  TORCH_ARG(bool, adaptive_norm) = true;    // the global pathway
  TORCH_ARG(bool, rotary) = true;           // rotary positions in the self-attention
  TORCH_ARG(int64_t, cond_dim) = 0;         // width of the global vector c; 0: hidden
  TORCH_ARG(int64_t, context_dim) = 0;      // width of the tokens; 0: hidden
};

// x * (1 + scale) + shift, with shift and scale [B, H] broadcast over the tokens.
torch::Tensor modulate(const torch::Tensor& x, const torch::Tensor& shift,
                       const torch::Tensor& scale);

// timm's Mlp as DiT uses it: fc1, GELU (tanh approximation), fc2.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t dim, int64_t hidden_dim);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(Mlp);

class AdaXBlockImpl : public torch::nn::Module {
 public:
  explicit AdaXBlockImpl(const AdaXBlockOptions& options);
  // x: [B, L, H]; global: [B, cond_dim] (unused without the global pathway);
  // tokens: [B, S, context_dim]; token_mask: [B, S], true = real (both unused without the
  // token pathway). The hook gets the cross-attention probabilities with `block`.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& global,
                        const torch::Tensor& tokens, const torch::Tensor& token_mask,
                        CrossAttentionHook* hook = nullptr, int block = -1);
  // Zeroes the modulation Linear and the cross-attention output projection.
  void zero_initialise();
  const AdaXBlockOptions& options() const { return options_; }

 private:
  AdaXBlockOptions options_;
  torch::nn::LayerNorm norm1_{nullptr}, norm_cross_{nullptr}, norm2_{nullptr};
  MultiHeadAttention attn_{nullptr}, cross_attn_{nullptr};
  Mlp mlp_{nullptr};
  torch::nn::Sequential adaLN_modulation_{nullptr};
};
TORCH_MODULE(AdaXBlock);

// The inputs of the AdaX blocks of one batch.
struct AdaXInputs {
  torch::Tensor global;  // [B, hidden]: timestep (+ base vector) (+ pooled statements)
  torch::Tensor tokens;  // [B, S', hidden] cross-attention context (token pathway)
  torch::Tensor mask;    // [B, S'] bool
};

// Turns (t, DenoiserConditions) into AdaXInputs. Registers its modules on the owning
// denoiser under DiT's names: t_embedder.mlp.{0,2}, base_embedder, and token_proj (when
// token_dim != hidden, token pathway) or token_pool_proj (no token pathway: the
// statement tokens are mean-pooled over the real ones, projected and added to c).
// Without the global pathway the timestep and base vector become two extra context
// tokens after the statement tokens, so probabilities[..., :S] stay the statement maps.
class AdaXConditioner {
 public:
  AdaXConditioner() = default;
  AdaXConditioner(torch::nn::Module& owner, const DenoiserOptions& options);
  AdaXInputs operator()(const torch::Tensor& t, const DenoiserConditions& conditions);

 private:
  int64_t hidden_ = 0;
  bool cross_attention_ = true, adaptive_norm_ = true;
  TimestepEmbedder t_embedder_{nullptr};
  torch::nn::Linear base_embedder_{nullptr}, token_proj_{nullptr}, token_pool_proj_{nullptr};
};

// DiT's weight initialisation: Xavier-uniform Linear weights with zero biases
// (convolution weights viewed as matrices), N(0, 0.02) for the timestep MLP.
void dit_initialise(torch::nn::Module& module);

}  // namespace ecgtwin::model
