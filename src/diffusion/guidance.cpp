#include "ecgtwin/diffusion/guidance.hpp"

#include <torch/torch.h>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::diffusion {
namespace {

torch::Tensor pad_tokens(const torch::Tensor& tokens, int64_t length) {
  if (tokens.size(1) == length) {
    return tokens;
  }
  return torch::constant_pad_nd(tokens, {0, 0, 0, length - tokens.size(1)}, 0.0);
}

torch::Tensor pad_mask(const torch::Tensor& mask, int64_t length) {
  if (mask.size(1) == length) {
    return mask;
  }
  return torch::cat({mask, torch::zeros({mask.size(0), length - mask.size(1)}, mask.options())}, 1);
}

torch::Tensor row_view(const torch::Tensor& rows, int64_t dims) {
  std::vector<int64_t> shape(static_cast<size_t>(dims), 1);
  shape[0] = rows.size(0);
  return rows.view(shape);
}

}  // namespace

void ConditionDropoutOptions::validate() const {
  if (!(statements() >= 0.0 && statements() <= 1.0)) {
    throw InputError("diffusion.dropout.statements", "expected a probability in [0, 1]");
  }
  if (!(base_vector() >= 0.0 && base_vector() <= 1.0)) {
    throw InputError("diffusion.dropout.base_vector", "expected a probability in [0, 1]");
  }
}

ConditionDrop draw_condition_drop(int64_t batch, const ConditionDropoutOptions& options,
                                  const torch::Device& device,
                                  std::optional<at::Generator> generator) {
  options.validate();
  const auto uniform_options = torch::TensorOptions().dtype(torch::kFloat).device(device);
  auto draw = [&] {
    return generator ? torch::rand({batch}, *generator, uniform_options)
                     : torch::rand({batch}, uniform_options);
  };
  ConditionDrop drop;
  drop.statements = draw() < options.statements();
  drop.base_vector = draw() < options.base_vector();
  return drop;
}

model::DenoiserConditions apply_condition_drop(const model::DenoiserConditions& conditions,
                                               const ConditionDrop& drop,
                                               const model::DenoiserConditions& null_conditions) {
  model::DenoiserConditions out = conditions;
  if (conditions.statement_tokens.defined()) {
    if (!null_conditions.statement_tokens.defined()) {
      throw InputError("diffusion.null_condition", "the null statement tokens are missing");
    }
    const int64_t batch = conditions.statement_tokens.size(0);
    const int64_t length =
        std::max(conditions.statement_tokens.size(1), null_conditions.statement_tokens.size(1));
    const torch::Tensor real_mask =
        conditions.token_mask.defined()
            ? conditions.token_mask
            : torch::ones({batch, conditions.statement_tokens.size(1)},
                          conditions.statement_tokens.options().dtype(torch::kBool));
    const torch::Tensor null_mask =
        null_conditions.token_mask.defined()
            ? null_conditions.token_mask
            : torch::ones({1, null_conditions.statement_tokens.size(1)}, real_mask.options());
    const torch::Tensor rows = drop.statements.to(conditions.statement_tokens.device());
    out.statement_tokens = torch::where(row_view(rows, 3),
                                        pad_tokens(null_conditions.statement_tokens, length)
                                            .to(conditions.statement_tokens.options()),
                                        pad_tokens(conditions.statement_tokens, length));
    out.token_mask = torch::where(row_view(rows, 2), pad_mask(null_mask, length).to(rows.device()),
                                  pad_mask(real_mask, length));
  }
  if (conditions.base_vector.defined()) {
    const torch::Tensor null_base =
        null_conditions.base_vector.defined()
            ? null_conditions.base_vector.to(conditions.base_vector.options())
            : torch::zeros_like(conditions.base_vector);
    const torch::Tensor rows = drop.base_vector.to(conditions.base_vector.device());
    out.base_vector = torch::where(row_view(rows, 2), null_base, conditions.base_vector);
  }
  return out;
}

model::DenoiserConditions expand_conditions(const model::DenoiserConditions& conditions,
                                            int64_t batch) {
  auto expand = [batch](const torch::Tensor& tensor) {
    if (!tensor.defined() || tensor.size(0) == batch) {
      return tensor;
    }
    TORCH_CHECK(tensor.size(0) == 1, "expand_conditions: batch must be 1 or ", batch);
    std::vector<int64_t> shape = tensor.sizes().vec();
    shape[0] = batch;
    return tensor.expand(shape).contiguous();
  };
  return {expand(conditions.base_vector), expand(conditions.statement_tokens),
          expand(conditions.token_mask)};
}

torch::Tensor guided_epsilon(const torch::Tensor& eps_cond, const torch::Tensor& eps_uncond,
                             double scale) {
  if (scale == 1.0) {
    return eps_cond;
  }
  return eps_uncond + scale * (eps_cond - eps_uncond);
}

}  // namespace ecgtwin::diffusion
