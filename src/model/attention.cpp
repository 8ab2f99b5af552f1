#include "ecgtwin/model/attention.hpp"

#include <torch/nn/functional/dropout.h>
#include <torch/version.h>

#include <cmath>
#include <limits>

#include "ecgtwin/model/batched_matmul.hpp"
#include "ecgtwin/util/error.hpp"

#if TORCH_VERSION_MAJOR >= 2
#define ECGTWIN_HAS_FUSED_ATTENTION 1
#endif

namespace ecgtwin::model {

MultiHeadAttentionImpl::MultiHeadAttentionImpl(const MultiHeadAttentionOptions& options)
    : options_(options) {
  const int64_t dim = options_.dim();
  if (dim <= 0 || options_.heads() <= 0 || dim % options_.heads() != 0) {
    throw InputError("model.attention", "dim " + std::to_string(dim) +
                                            " divisible by heads " +
                                            std::to_string(options_.heads()));
  }
  head_dim_ = dim / options_.heads();
  auto linear = [&](int64_t in, int64_t out) {
    return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(options_.bias()));
  };
  if (is_cross_attention()) {
    q_ = register_module("q", linear(dim, dim));
    kv_ = register_module("kv", linear(options_.context_dim(), 2 * dim));
  } else {
    qkv_ = register_module("qkv", linear(dim, 3 * dim));
  }
  proj_ = register_module("proj", torch::nn::Linear(dim, dim));
  if (options_.qkv_norm()) {
    auto norm = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({head_dim_})); };
    q_norm_ = register_module("q_norm", norm());
    k_norm_ = register_module("k_norm", norm());
    v_norm_ = register_module("v_norm", norm());
  }
  if (options_.rotary() && !is_cross_attention()) {
    rotary_ = register_module("rotary", RotaryEmbedding(RotaryEmbeddingOptions(head_dim_)));
  }
}

torch::Tensor MultiHeadAttentionImpl::forward(const torch::Tensor& x,
                                              const torch::Tensor& context,
                                              const torch::Tensor& mask,
                                              CrossAttentionHook* hook, int block) {
  const int64_t batch = x.size(0), length = x.size(1), heads = options_.heads();
  torch::Tensor q, k, v;
  if (is_cross_attention()) {
    const torch::Tensor& source = context.defined() ? context : x;
    const int64_t keys = source.size(1);
    q = q_(x).view({batch, length, heads, head_dim_}).transpose(1, 2);
    auto kv = kv_(source).view({batch, keys, 2, heads, head_dim_}).permute({2, 0, 3, 1, 4});
    k = kv[0];
    v = kv[1];
  } else {
    auto qkv = qkv_(x).view({batch, length, 3, heads, head_dim_}).permute({2, 0, 3, 1, 4});
    q = qkv[0];
    k = qkv[1];
    v = qkv[2];
  }
  if (options_.qkv_norm()) {
    // Under bf16 autocast the projections come out in bfloat16; LibTorch 1.13's CPU LayerNorm
    // takes no inputs of another type than its weights (CUDA's autocast casts them itself).
    const auto dtype = q_norm_->weight.scalar_type();
    if (q.scalar_type() != dtype) {
      q = q.to(dtype);
      k = k.to(dtype);
      v = v.to(dtype);
    }
    q = q_norm_(q);
    k = k_norm_(k);
    v = v_norm_(v);
  }
  if (!rotary_.is_empty()) {
    auto [cos, sin] = rotary_->tables(length, x.device(), x.scalar_type());
    q = apply_rotary(q, cos, sin);
    k = apply_rotary(k, cos, sin);
  }
  torch::Tensor out;
#ifdef ECGTWIN_HAS_FUSED_ATTENTION
  if (hook == nullptr) {
    const double p = is_training() ? options_.dropout() : 0.0;
    if (mask.defined()) {
      const torch::Tensor keep = mask.view({batch, 1, 1, mask.size(1)});
      // Zeroed padded values make the result independent of their content bit for bit.
      v = v.masked_fill(keep.transpose(-1, -2).logical_not(), 0.0);
      out = at::scaled_dot_product_attention(q, k, v, keep, p, false);
      // Queries with no real key come back as NaN from the fused kernels: make them zero.
      const torch::Tensor any_real = mask.any(1).view({batch, 1, 1, 1});
      out = torch::where(any_real, out, torch::zeros({}, out.options()));
    } else {
      out = at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, p, false);
    }
  } else
#endif
  {
    out = attention_reference(q, k, v, mask, options_.dropout(), is_training(), hook, block);
  }
  return proj_(out.transpose(1, 2).reshape({batch, length, options_.dim()}));
}

torch::Tensor attention_reference(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v, const torch::Tensor& mask,
                                  double dropout, bool training, CrossAttentionHook* hook,
                                  int block) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  torch::Tensor scores = batched_matmul(q * scale, k.transpose(-2, -1));  // [B, H, L, S]
  torch::Tensor values = v;
  torch::Tensor probabilities;
  if (mask.defined()) {
    const int64_t batch = mask.size(0), keys = mask.size(1);
    const torch::Tensor padded = mask.logical_not().view({batch, 1, 1, keys});
    scores = scores.masked_fill(padded, -std::numeric_limits<double>::infinity());
    values = v.masked_fill(padded.transpose(-1, -2), 0.0);
    probabilities = torch::softmax(scores, -1);
    // A row of -inf gives NaN; such a query attends to nothing and gets zero.
    const torch::Tensor none_real = mask.any(1).logical_not().view({batch, 1, 1, 1});
    probabilities = probabilities.masked_fill(none_real, 0.0);
  } else {
    probabilities = torch::softmax(scores, -1);
  }
  if (hook != nullptr) {
    probabilities = hook->on_probabilities(block, probabilities);
  }
  if (training && dropout > 0.0) {
    probabilities = torch::dropout(probabilities, dropout, true);
  }
  return batched_matmul(probabilities, values);
}

}  // namespace ecgtwin::model
