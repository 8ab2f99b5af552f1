#include "ecgtwin/model/unet.hpp"

#include <torch/nn/init.h>

#include "ecgtwin/model/resample.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::model {
namespace {

torch::nn::Conv1d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1) {
  return torch::nn::Conv1d(
      torch::nn::Conv1dOptions(in, out, kernel).stride(stride).padding(kernel / 2));
}

}  // namespace

UNetBlockImpl::UNetBlockImpl(int64_t in_channels, int64_t out_channels,
                             const DenoiserOptions& options) {
  conv_ = register_module("conv", conv(in_channels, out_channels, options.unet_kernel()));
  norm_ = register_module("norm",
                          torch::nn::GroupNorm(torch::nn::GroupNormOptions(options.unet_groups(), out_channels)));
  adax_ = register_module("adax", AdaXBlock(AdaXBlockOptions(out_channels, options.heads())
                                                .mlp_ratio(options.mlp_ratio())
                                                .cross_attention(options.cross_attention())
                                                .adaptive_norm(options.adaptive_norm())
                                                .rotary(options.rotary())
                                                .cond_dim(options.hidden())
                                                .context_dim(options.hidden())));
  residual_ = register_module("residual", conv(in_channels, out_channels, 1));
}

torch::Tensor UNetBlockImpl::forward(const torch::Tensor& x, const AdaXInputs& inputs,
                                     CrossAttentionHook* hook, int block) {
  torch::Tensor h = torch::mish(norm_(conv_(x))).transpose(1, 2).contiguous();  // [B, L, C]
  h = adax_->forward(h, inputs.global, inputs.tokens, inputs.mask, hook, block);
  return h.transpose(1, 2) + residual_(x);
}

UNetDenoiserImpl::UNetDenoiserImpl(const DenoiserOptions& options) : options_(options) {
  options_.validate();
  const auto& channels = options_.unet_channels();
  const size_t levels = channels.size();
  conditioner_ = AdaXConditioner(*this, options_);
  conv_in_ = register_module("conv_in", conv(options_.in_channels(), channels[0], options_.unet_kernel()));
  down_ = register_module("down", torch::nn::ModuleList());
  downsample_ = register_module("downsample", torch::nn::ModuleList());
  up_ = register_module("up", torch::nn::ModuleList());
  upsample_ = register_module("upsample", torch::nn::ModuleList());
  int64_t previous = channels[0];
  for (size_t i = 0; i < levels; ++i) {
    UNetBlock block(previous, channels[i], options_);
    down_->push_back(block);
    blocks_.push_back(block);
    if (i + 1 < levels) downsample_->push_back(conv(channels[i], channels[i], 3, 2));
    previous = channels[i];
  }
  mid_ = register_module("mid", UNetBlock(previous, previous, options_));
  blocks_.push_back(mid_);
  for (size_t j = 0; j < levels; ++j) {
    const size_t i = levels - 1 - j;
    UNetBlock block(previous + channels[i], channels[i], options_);
    up_->push_back(block);
    blocks_.push_back(block);
    if (i > 0) upsample_->push_back(conv(channels[i], channels[i - 1], 3));
    previous = i > 0 ? channels[i - 1] : channels[0];
  }
  norm_out_ = register_module(
      "norm_out", torch::nn::GroupNorm(torch::nn::GroupNormOptions(options_.unet_groups(), channels[0])));
  conv_out_ = register_module("conv_out", conv(channels[0], options_.in_channels(), 1));
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters()) {
    const std::string& name = p.key();
    // The timestep MLP as DiT; zero output layer so that the first prediction is zero.
    if (name.rfind("t_embedder.mlp.", 0) == 0) {
      p.value().dim() >= 2 ? torch::nn::init::normal_(p.value(), 0.0, 0.02) : p.value().zero_();
    } else if (name.rfind("conv_out.", 0) == 0) {
      p.value().zero_();
    }
  }
}

torch::Tensor UNetDenoiserImpl::forward(const torch::Tensor& x, const torch::Tensor& t,
                                        const DenoiserConditions& conditions) {
  const int64_t levels = static_cast<int64_t>(options_.unet_channels().size());
  if (x.dim() != 3 || x.size(1) != options_.in_channels() ||
      x.size(2) % (int64_t{1} << (levels - 1)) != 0) {
    throw InputError("denoiser input", "[B, " + std::to_string(options_.in_channels()) +
                                           ", L] with L divisible by 2^(levels-1), got " +
                                           c10::str(x.sizes()));
  }
  const AdaXInputs inputs = conditioner_(t, conditions);
  torch::Tensor h = conv_in_(x);
  std::vector<torch::Tensor> skips;
  int index = 0;
  for (int64_t i = 0; i < levels; ++i) {
    h = down_->ptr<UNetBlockImpl>(i)->forward(h, inputs, hook_, index++);
    skips.push_back(h);
    if (i + 1 < levels) h = downsample_[i]->as<torch::nn::Conv1dImpl>()->forward(h);
  }
  h = mid_->forward(h, inputs, hook_, index++);
  for (int64_t j = 0; j < levels; ++j) {
    h = torch::cat({h, skips[static_cast<size_t>(levels - 1 - j)]}, 1);
    h = up_->ptr<UNetBlockImpl>(j)->forward(h, inputs, hook_, index++);
    if (j + 1 < levels) {
      h = upsample_[j]->as<torch::nn::Conv1dImpl>()->forward(upsample_nearest_x2(h));
    }
  }
  return conv_out_(torch::mish(norm_out_(h)));
}

}  // namespace ecgtwin::model
