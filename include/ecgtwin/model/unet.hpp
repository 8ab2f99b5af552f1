#pragma once
// A 1D U-Net denoiser over the latent [B, 4, 128] with the AdaX injector inside every block.
// Levels of unet_channels (64, 128, 256) over lengths L, L/2, L/4: one block per level on
// the way down, one in the middle, one per level on the way up (skip connections by
// concatenation). Block: Conv1d(k 7) -> GroupNorm -> Mish -> AdaX (modulated
// self-attention, cross-attention, modulated MLP over the positions) + residual 1x1 conv.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <vector>

#include "ecgtwin/model/adax.hpp"
#include "ecgtwin/model/denoiser.hpp"

namespace ecgtwin::model {

class UNetBlockImpl : public torch::nn::Module {
 public:
  UNetBlockImpl(int64_t in_channels, int64_t out_channels, const DenoiserOptions& options);
  // x: [B, C_in, L] -> [B, C_out, L]
  torch::Tensor forward(const torch::Tensor& x, const AdaXInputs& inputs,
                        CrossAttentionHook* hook, int block);
  AdaXBlock adax() const { return adax_; }

 private:
  torch::nn::Conv1d conv_{nullptr}, residual_{nullptr};
  torch::nn::GroupNorm norm_{nullptr};
  AdaXBlock adax_{nullptr};
};
TORCH_MODULE(UNetBlock);

class UNetDenoiserImpl : public DenoiserImpl {
 public:
  explicit UNetDenoiserImpl(const DenoiserOptions& options = DenoiserOptions::preset("unet"));
  // x: [B, in_channels, length]; t: [B] -> predicted noise [B, in_channels, length].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t,
                        const DenoiserConditions& conditions) override;
  int64_t block_count() const override { return static_cast<int64_t>(blocks_.size()); }
  const DenoiserOptions& options() const { return options_; }
  // Blocks in the order forward runs them (down, middle, up); index = hook block index.
  UNetBlock block(int64_t index) const { return blocks_.at(static_cast<size_t>(index)); }

 private:
  DenoiserOptions options_;
  AdaXConditioner conditioner_;
  torch::nn::Conv1d conv_in_{nullptr}, conv_out_{nullptr};
  torch::nn::GroupNorm norm_out_{nullptr};
  torch::nn::ModuleList down_{nullptr}, downsample_{nullptr}, up_{nullptr}, upsample_{nullptr};
  UNetBlock mid_{nullptr};
  std::vector<UNetBlock> blocks_;
};
TORCH_MODULE(UNetDenoiser);

}  // namespace ecgtwin::model
