#include "ecgtwin/model/adax.hpp"

#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>

#include "ecgtwin/model/activation.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::model {

torch::Tensor modulate(const torch::Tensor& x, const torch::Tensor& shift,
                       const torch::Tensor& scale) {
  return torch::addcmul(shift.unsqueeze(1), x, 1 + scale.unsqueeze(1));
}

MlpImpl::MlpImpl(int64_t dim, int64_t hidden_dim) {
  fc1_ = register_module("fc1", torch::nn::Linear(dim, hidden_dim));
  fc2_ = register_module("fc2", torch::nn::Linear(hidden_dim, dim));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  return fc2_(gelu_tanh(fc1_(x)));
}

AdaXBlockImpl::AdaXBlockImpl(const AdaXBlockOptions& options) : options_(options) {
  const int64_t hidden = options_.hidden();
  const int64_t cond = options_.cond_dim() > 0 ? options_.cond_dim() : hidden;
  const int64_t context = options_.context_dim() > 0 ? options_.context_dim() : hidden;
  // Modulated LayerNorms carry no affine parameters (DiT); plain pre-LN ones do.
  auto norm = [&](bool affine) {
    return torch::nn::LayerNorm(
        torch::nn::LayerNormOptions({hidden}).elementwise_affine(affine).eps(1e-6));
  };
  norm1_ = register_module("norm1", norm(!options_.adaptive_norm()));
  attn_ = register_module(
      "attn", MultiHeadAttention(MultiHeadAttentionOptions(hidden, options_.heads())
                                     .rotary(options_.rotary())));
  if (options_.cross_attention()) {
    norm_cross_ = register_module("norm_cross", norm(false));
    cross_attn_ = register_module(
        "cross_attn", MultiHeadAttention(MultiHeadAttentionOptions(hidden, options_.heads())
                                             .context_dim(context)
                                             .qkv_norm(true)));
  }
  norm2_ = register_module("norm2", norm(!options_.adaptive_norm()));
  mlp_ = register_module(
      "mlp", Mlp(hidden, static_cast<int64_t>(static_cast<double>(hidden) * options_.mlp_ratio())));
  if (options_.adaptive_norm()) {
    adaLN_modulation_ = register_module(
        "adaLN_modulation", torch::nn::Sequential(torch::nn::SiLU(), torch::nn::Linear(cond, 6 * hidden)));
  }
  zero_initialise();
}

void AdaXBlockImpl::zero_initialise() {
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters()) {
    const std::string& name = p.key();
    if (name.rfind("adaLN_modulation.", 0) == 0 || name.rfind("cross_attn.proj.", 0) == 0) {
      p.value().zero_();
    }
  }
}

torch::Tensor AdaXBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& global,
                                     const torch::Tensor& tokens, const torch::Tensor& token_mask,
                                     CrossAttentionHook* hook, int block) {
  torch::Tensor h = x;
  if (options_.adaptive_norm()) {
    auto m = adaLN_modulation_->forward(global).chunk(6, 1);
    // shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp (DiT order)
    h = h + m[2].unsqueeze(1) * attn_(modulate(norm1_(h), m[0], m[1]));
    if (options_.cross_attention()) {
      h = h + cross_attn_(norm_cross_(h), tokens, token_mask, hook, block);
    }
    return h + m[5].unsqueeze(1) * mlp_(modulate(norm2_(h), m[3], m[4]));
  }
  h = h + attn_(norm1_(h));
  if (options_.cross_attention()) {
    h = h + cross_attn_(norm_cross_(h), tokens, token_mask, hook, block);
  }
  return h + mlp_(norm2_(h));
}

AdaXConditioner::AdaXConditioner(torch::nn::Module& owner, const DenoiserOptions& options)
    : hidden_(options.hidden()),
      cross_attention_(options.cross_attention()),
      adaptive_norm_(options.adaptive_norm()) {
  t_embedder_ = owner.register_module("t_embedder",
                                      TimestepEmbedder(options.hidden(), options.frequency_dim()));
  base_embedder_ =
      owner.register_module("base_embedder", torch::nn::Linear(options.base_dim(), options.hidden()));
  if (cross_attention_ && options.token_dim() != options.hidden()) {
    token_proj_ = owner.register_module("token_proj",
                                        torch::nn::Linear(options.token_dim(), options.hidden()));
  }
  if (!cross_attention_) {
    token_pool_proj_ = owner.register_module(
        "token_pool_proj", torch::nn::Linear(options.token_dim(), options.hidden()));
  }
}

AdaXInputs AdaXConditioner::operator()(const torch::Tensor& t,
                                       const DenoiserConditions& conditions) {
  const int64_t batch = t.size(0);
  AdaXInputs inputs;
  const torch::Tensor time = t_embedder_->forward(t);  // [B, hidden]
  const torch::Tensor base =
      conditions.base_vector.defined() ? base_embedder_->forward(conditions.base_vector) : torch::Tensor();
  const torch::Tensor& statements = conditions.statement_tokens;
  torch::Tensor mask;
  if (statements.defined()) {
    mask = conditions.token_mask.defined()
               ? conditions.token_mask.to(torch::kBool)
               : torch::ones({batch, statements.size(1)}, statements.options().dtype(torch::kBool));
  }
  if (adaptive_norm_) {
    inputs.global = base.defined() ? time + base : time;
  }
  if (!cross_attention_) {
    if (statements.defined()) {
      // Mean over the real tokens; a row without any contributes nothing.
      const torch::Tensor keep = mask.unsqueeze(-1);
      const torch::Tensor sum = statements.masked_fill(keep.logical_not(), 0.0).sum(1);
      const torch::Tensor count = keep.sum(1).to(statements.scalar_type());
      const torch::Tensor pooled = token_pool_proj_->forward(sum / count.clamp_min(1.0));
      inputs.global = inputs.global + pooled * (count > 0).to(pooled.scalar_type());
    }
    return inputs;
  }
  // Token pathway: an absent statement set is one padded token, as if all were padding.
  torch::Tensor tokens;
  if (statements.defined()) {
    tokens = token_proj_.is_empty() ? statements : token_proj_->forward(statements);
  } else {
    tokens = torch::zeros({batch, 1, hidden_}, time.options());
    mask = torch::zeros({batch, 1}, time.options().dtype(torch::kBool));
  }
  if (!adaptive_norm_) {
    const torch::Tensor base_token = base.defined() ? base : torch::zeros_like(time);
    const torch::Tensor base_real =
        torch::full({batch, 1}, base.defined(), mask.options());
    tokens = torch::cat({tokens, time.unsqueeze(1), base_token.unsqueeze(1)}, 1);
    mask = torch::cat({mask, torch::ones({batch, 1}, mask.options()), base_real}, 1);
  }
  inputs.tokens = tokens;
  inputs.mask = mask;
  return inputs;
}

void dit_initialise(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.named_parameters()) {
    const std::string& name = p.key();
    torch::Tensor value = p.value();
    const bool norm = name.find("norm") != std::string::npos;
    if (norm) continue;
    if (name.find("t_embedder.mlp.") != std::string::npos) {
      if (value.dim() >= 2) torch::nn::init::normal_(value, 0.0, 0.02);
      continue;
    }
    if (value.dim() >= 2) {
      torch::nn::init::xavier_uniform_(value.view({value.size(0), -1}));
    } else if (name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
      value.zero_();
    }
  }
}

}  // namespace ecgtwin::model
