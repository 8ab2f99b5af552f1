#include "ecgtwin/model/dit.hpp"

#include <torch/nn/modules/activation.h>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::model {

FinalLayerImpl::FinalLayerImpl(int64_t hidden, int64_t out_features, bool adaptive_norm) {
  norm_final_ = register_module(
      "norm_final",
      torch::nn::LayerNorm(
          torch::nn::LayerNormOptions({hidden}).elementwise_affine(!adaptive_norm).eps(1e-6)));
  linear_ = register_module("linear", torch::nn::Linear(hidden, out_features));
  if (adaptive_norm) {
    adaLN_modulation_ = register_module(
        "adaLN_modulation",
        torch::nn::Sequential(torch::nn::SiLU(), torch::nn::Linear(hidden, 2 * hidden)));
  }
}

torch::Tensor FinalLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& global) {
  if (adaLN_modulation_.is_empty()) {
    return linear_(norm_final_(x));
  }
  auto m = adaLN_modulation_->forward(global).chunk(2, 1);  // shift, scale
  return linear_(modulate(norm_final_(x), m[0], m[1]));
}

DitDenoiserImpl::DitDenoiserImpl(const DenoiserOptions& options) : options_(options) {
  options_.validate();
  const int64_t hidden = options_.hidden(), patch = options_.patch_size();
  x_embedder_ = register_module("x_embedder", PatchEmbed1d(options_.in_channels(), hidden, patch));
  conditioner_ = AdaXConditioner(*this, options_);
  block_list_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < options_.depth(); ++i) {
    AdaXBlock block(AdaXBlockOptions(hidden, options_.heads())
                        .mlp_ratio(options_.mlp_ratio())
                        .cross_attention(options_.cross_attention())
                        .adaptive_norm(options_.adaptive_norm())
                        .rotary(options_.rotary()));
    block_list_->push_back(block);
    blocks_.push_back(block);
  }
  final_layer_ = register_module(
      "final_layer", FinalLayer(hidden, patch * options_.in_channels(), options_.adaptive_norm()));

  dit_initialise(*this);
  // adaLN-Zero (DiT) and zero cross-attention outputs: every block starts as the identity,
  // and the zero final layer makes the first prediction zero.
  for (auto& block : blocks_) block->zero_initialise();
  torch::NoGradGuard no_grad;
  for (auto& p : final_layer_->named_parameters()) {
    if (p.key().rfind("linear.", 0) == 0 || p.key().rfind("adaLN_modulation.", 0) == 0) {
      p.value().zero_();
    }
  }
}

torch::Tensor DitDenoiserImpl::forward(const torch::Tensor& x, const torch::Tensor& t,
                                       const DenoiserConditions& conditions) {
  if (x.dim() != 3 || x.size(1) != options_.in_channels() || x.size(2) % options_.patch_size() != 0) {
    throw InputError("denoiser input",
                     "[B, " + std::to_string(options_.in_channels()) + ", L] with L a multiple of " +
                         std::to_string(options_.patch_size()) + ", got " + c10::str(x.sizes()));
  }
  const AdaXInputs inputs = conditioner_(t, conditions);
  torch::Tensor h = x_embedder_(x);  // [B, T, hidden]
  for (size_t i = 0; i < blocks_.size(); ++i) {
    h = blocks_[i]->forward(h, inputs.global, inputs.tokens, inputs.mask, hook_, static_cast<int>(i));
  }
  h = final_layer_->forward(h, inputs.global);
  return unpatchify(h, options_.in_channels(), options_.patch_size());
}

}  // namespace ecgtwin::model
