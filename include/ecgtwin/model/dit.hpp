#pragma once
// The DiT denoiser (Peebles & Xie 2023) with AdaX blocks, over latent tokens ("dit":
// [B, 4, 128], one token per position) or signal patches ("signal_dit": [B, 12, 1024],
// patches of 8). Parameter names follow the DiT code: x_embedder.proj, t_embedder.mlp.{0,2},
// blocks.N.*, final_layer.{linear, adaLN_modulation.1}; base_embedder adds the base vector.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <vector>

#include "ecgtwin/model/adax.hpp"
#include "ecgtwin/model/denoiser.hpp"
#include "ecgtwin/model/embeddings.hpp"

namespace ecgtwin::model {

// adaLN (shift, scale) then Linear(hidden -> patch * out_channels), both zero-initialised.
// Without the global pathway: an affine LayerNorm then the Linear.
class FinalLayerImpl : public torch::nn::Module {
 public:
  FinalLayerImpl(int64_t hidden, int64_t out_features, bool adaptive_norm);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& global);  // [B,T,H] -> [B,T,out]

 private:
  torch::nn::LayerNorm norm_final_{nullptr};
  torch::nn::Linear linear_{nullptr};
  torch::nn::Sequential adaLN_modulation_{nullptr};
};
TORCH_MODULE(FinalLayer);

class DitDenoiserImpl : public DenoiserImpl {
 public:
  explicit DitDenoiserImpl(const DenoiserOptions& options = {});
  // x: [B, in_channels, length]; t: [B] -> predicted noise [B, in_channels, length].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t,
                        const DenoiserConditions& conditions) override;
  int64_t block_count() const override { return static_cast<int64_t>(blocks_.size()); }
  const DenoiserOptions& options() const { return options_; }
  AdaXBlock block(int64_t index) const { return blocks_.at(static_cast<size_t>(index)); }
  // The per-block inputs for (t, conditions), as forward computes them.
  AdaXInputs block_inputs(const torch::Tensor& t, const DenoiserConditions& conditions) {
    return conditioner_(t, conditions);
  }

 private:
  DenoiserOptions options_;
  PatchEmbed1d x_embedder_{nullptr};
  AdaXConditioner conditioner_;
  torch::nn::ModuleList block_list_{nullptr};
  std::vector<AdaXBlock> blocks_;
  FinalLayer final_layer_{nullptr};
};
TORCH_MODULE(DitDenoiser);

}  // namespace ecgtwin::model
