#pragma once
// Rotary position embedding (RoPE, Su et al. 2021, "RoFormer"), applied to queries and
// keys [B, H, L, D]. Pairs are formed by splitting the head dimension in halves
// (x_i, x_{i + D/2}), the GPT-NeoX / Hugging Face convention; frequencies
// theta_i = base^(-2i/D). The module holds no parameters or buffers, so it adds no
// entries to a state dict.
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>

namespace ecgtwin::model {

struct RotaryEmbeddingOptions {
  explicit RotaryEmbeddingOptions(int64_t head_dim) : head_dim_(head_dim) {}
  TORCH_ARG(int64_t, head_dim);       // must be even
  TORCH_ARG(double, base) = 10000.0;  // Su et al. 2021
};

class RotaryEmbeddingImpl : public torch::nn::Module {
 public:
  explicit RotaryEmbeddingImpl(const RotaryEmbeddingOptions& options);
  // x: [B, H, L, D]; position of token l is l. Returns the rotated tensor, same shape.
  torch::Tensor forward(const torch::Tensor& x);
  // cos and sin tables [L, D] for positions 0..L-1 (cached per length, device and dtype).
  std::pair<torch::Tensor, torch::Tensor> tables(int64_t length, const torch::Device& device,
                                                 torch::Dtype dtype);
  const RotaryEmbeddingOptions& options() const { return options_; }

 private:
  RotaryEmbeddingOptions options_;
  torch::Tensor cos_, sin_;
};
TORCH_MODULE(RotaryEmbedding);

// Rotates q and k by the same position tables.
torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos,
                           const torch::Tensor& sin);

}  // namespace ecgtwin::model
