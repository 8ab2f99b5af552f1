#pragma once
// Input embeddings of the denoisers, as in the DiT code (Peebles & Xie 2023):
// sinusoidal timestep features, the TimestepEmbedder MLP, and the patch embedding.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>

namespace ecgtwin::model {

// t: [B] -> [B, dim]: [cos(t f_0..f_{h-1}), sin(t f_0..f_{h-1})], f_i = period^(-i/h),
// h = dim/2 (DiT's TimestepEmbedder.timestep_embedding; a zero column pads an odd dim).
torch::Tensor timestep_embedding(const torch::Tensor& t, int64_t dim, double max_period = 10000.0);

// "mlp.0" Linear(frequency_dim -> hidden), SiLU, "mlp.2" Linear(hidden -> hidden).
class TimestepEmbedderImpl : public torch::nn::Module {
 public:
  TimestepEmbedderImpl(int64_t hidden, int64_t frequency_dim = 256);
  torch::Tensor forward(const torch::Tensor& t);  // [B] -> [B, hidden]

 private:
  int64_t frequency_dim_;
  torch::nn::Sequential mlp_{nullptr};
  torch::Tensor first_weight_;  // mlp.0.weight, whose dtype the features take
};
TORCH_MODULE(TimestepEmbedder);

// Non-overlapping patches of a [B, C, L] signal to tokens [B, L/patch, hidden] with one
// strided convolution "proj" (DiT's PatchEmbed in one dimension).
class PatchEmbed1dImpl : public torch::nn::Module {
 public:
  PatchEmbed1dImpl(int64_t in_channels, int64_t hidden, int64_t patch_size);
  torch::Tensor forward(const torch::Tensor& x);  // [B, C, L] -> [B, L/patch, hidden]
  torch::nn::Conv1d& proj() { return proj_; }

 private:
  torch::nn::Conv1d proj_{nullptr};
};
TORCH_MODULE(PatchEmbed1d);

// Inverse of the patching of a final Linear: [B, T, patch * C] (patch-major) -> [B, C, T * patch].
torch::Tensor unpatchify(const torch::Tensor& tokens, int64_t channels, int64_t patch_size);

}  // namespace ecgtwin::model
