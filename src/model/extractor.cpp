#include "ecgtwin/model/extractor.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::model {

namespace nn = torch::nn;

void ExtractorOptions::validate() const {
  const std::string prefix = "model.extractor.";
  if (latent_channels() < 1) throw InputError(prefix + "latent_channels", "expected at least 1");
  if (depth() < 1) throw InputError(prefix + "depth", "expected at least 1 layer");
  if (heads() < 1 || hidden() % heads() != 0 || (hidden() / heads()) % 2 != 0)
    throw InputError(prefix + "heads", "hidden (" + std::to_string(hidden()) +
                                           ") must split into heads of an even width (rotary positions)");
  if (ffn() < 1) throw InputError(prefix + "ffn", "expected at least 1");
  if (!(condition_dropout() >= 0 && condition_dropout() <= 1))
    throw InputError(prefix + "condition_dropout", "expected a probability in [0, 1]");
  if (!(temperature() > 0)) throw InputError(prefix + "temperature", "expected a positive value");
}

ExtractorLayerImpl::ExtractorLayerImpl(const ExtractorLayerOptions& options) {
  const int64_t hidden = options.hidden();
  norm1_ = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({hidden})));
  attn_ = register_module("attn", MultiHeadAttention(MultiHeadAttentionOptions(hidden, options.heads()).rotary(true)));
  norm2_ = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({hidden})));
  cross_attn_ = register_module(
      "cross_attn", MultiHeadAttention(MultiHeadAttentionOptions(hidden, options.heads()).context_dim(options.token_dim())));
  norm3_ = register_module("norm3", nn::LayerNorm(nn::LayerNormOptions({hidden})));
  mlp_ = register_module("mlp", nn::Sequential());
  mlp_->push_back("fc1", nn::Linear(hidden, options.ffn()));
  mlp_->push_back("act", nn::GELU());
  mlp_->push_back("fc2", nn::Linear(options.ffn(), hidden));
}

torch::Tensor ExtractorLayerImpl::forward(const torch::Tensor& x_in, const torch::Tensor& tokens,
                                          const torch::Tensor& mask) {
  torch::Tensor x = x_in + attn_->forward(norm1_->forward(x_in));
  x = x - torch::relu(cross_attn_->forward(norm2_->forward(x), tokens, mask));
  return x + mlp_->forward(norm3_->forward(x));
}

ExtractorImpl::ExtractorImpl(const ExtractorOptions& options) : options_(options) {
  options_.validate();
  options_.condition().token_dim(options_.hidden());
  condition_encoder_ = register_module("condition_encoder", ConditionEncoder(options_.condition()));
  input_proj_ = register_module("input_proj", nn::Linear(options_.latent_channels(), options_.hidden()));
  blocks_ = register_module("blocks", nn::ModuleList());
  for (int64_t i = 0; i < options_.depth(); ++i)
    blocks_->push_back(ExtractorLayer(
        ExtractorLayerOptions(options_.hidden(), options_.heads(), options_.ffn(), options_.hidden())));
  norm_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({options_.hidden()})));
  null_token_ = register_parameter("null_token", torch::randn({options_.hidden()}) * 0.02);
  logit_scale_ = register_parameter("logit_scale", torch::tensor(std::log(1.0 / options_.temperature())));
}

torch::Tensor ExtractorImpl::forward(const torch::Tensor& latent, const torch::Tensor& tokens,
                                     const torch::Tensor& mask) {
  TORCH_CHECK(latent.dim() == 3 && latent.size(1) == options_.latent_channels(), "Extractor: expected latent [B, ",
              options_.latent_channels(), ", L], got ", latent.sizes());
  TORCH_CHECK(tokens.dim() == 3 && tokens.size(0) == latent.size(0) && tokens.size(2) == options_.hidden(),
              "Extractor: expected tokens [B, S, ", options_.hidden(), "], got ", tokens.sizes());
  torch::Tensor x = input_proj_->forward(latent.transpose(1, 2));  // [B, L, hidden]
  for (const auto& block : *blocks_) x = block->as<ExtractorLayer>()->forward(x, tokens, mask);
  return norm_->forward(x).mean(1);
}

torch::Tensor ExtractorImpl::extract(const torch::Tensor& latent, const torch::Tensor& statement_embeddings,
                                     const torch::Tensor& statement_mask, const Demographics& demographics,
                                     const torch::Tensor& drop) {
  ConditionTokens conditions = condition_encoder_->forward(statement_embeddings, statement_mask, demographics);
  if (drop.defined()) conditions = drop_conditions(conditions, drop);
  return forward(latent, conditions.tokens, conditions.mask);
}

ConditionTokens ExtractorImpl::drop_conditions(const ConditionTokens& conditions, const torch::Tensor& drop) const {
  const int64_t batch = conditions.tokens.size(0), slots = conditions.tokens.size(1);
  TORCH_CHECK(drop.dim() == 1 && drop.size(0) == batch, "Extractor::drop_conditions: drop must be [B]");
  const torch::Tensor dropped = drop.to(conditions.tokens.device(), torch::kBool);
  const auto device = conditions.tokens.device();
  torch::Tensor null_tokens = torch::zeros_like(conditions.tokens);
  null_tokens = torch::cat({null_token_.to(conditions.tokens.dtype()).view({1, 1, -1}).expand({batch, 1, -1}),
                            null_tokens.slice(1, 1, slots)},
                           1);
  const torch::Tensor null_mask =
      torch::arange(slots, torch::TensorOptions().dtype(torch::kInt64).device(device)).eq(0).expand({batch, slots});
  const torch::Tensor row = dropped.view({batch, 1});
  return {torch::where(row.unsqueeze(2), null_tokens, conditions.tokens),
          torch::where(row, null_mask, conditions.mask.to(torch::kBool))};
}

torch::Tensor ExtractorImpl::sample_condition_drop(int64_t batch, std::optional<at::Generator> generator) const {
  return draw_condition_drop(batch, std::move(generator)).to(null_token_.device());
}

torch::Tensor ExtractorImpl::draw_condition_drop(int64_t batch,
                                                 std::optional<at::Generator> generator) const {
  const auto cpu = torch::TensorOptions().dtype(torch::kFloat32);
  const torch::Tensor u = generator ? torch::rand({batch}, *generator, cpu) : torch::rand({batch}, cpu);
  return u.lt(options_.condition_dropout());
}

torch::Tensor info_nce(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& logit_scale) {
  TORCH_CHECK(a.dim() == 2 && a.sizes() == b.sizes(), "info_nce: a and b must both be [B, D]");
  namespace F = torch::nn::functional;
  const torch::Tensor an = F::normalize(a, F::NormalizeFuncOptions().dim(1));
  const torch::Tensor bn = F::normalize(b, F::NormalizeFuncOptions().dim(1));
  const torch::Tensor scale = logit_scale.clamp_max(std::log(100.0)).exp();
  const torch::Tensor logits = scale * torch::matmul(an, bn.t());
  const torch::Tensor labels = torch::arange(a.size(0), torch::TensorOptions().dtype(torch::kInt64).device(a.device()));
  return 0.5 * (F::cross_entropy(logits, labels) + F::cross_entropy(logits.t(), labels));
}

}  // namespace ecgtwin::model
