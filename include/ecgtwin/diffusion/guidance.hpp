#pragma once
// Classifier-free guidance (Ho & Salimans 2022): conditions are dropped for a fraction of
// the training rows, so that one network learns both the conditional and the
// unconditional noise; while sampling the two predictions are combined with a scale.
#include <ATen/core/Generator.h>
#include <torch/arg.h>
#include <torch/types.h>

#include <optional>

#include "ecgtwin/model/denoiser.hpp"

namespace ecgtwin::diffusion {

struct ConditionDropoutOptions {
  // Probability that a row's statement tokens (with the patient tokens that share the
  // sequence) are replaced by the null condition; 0.1 as Ho & Salimans 2022 (p_uncond).
  TORCH_ARG(double, statements) = 0.1;
  // Probability that a row's base vector is replaced too; 0 keeps the person's base vector,
  // so that guidance acts on the report only.
  TORCH_ARG(double, base_vector) = 0.0;

 public:
  void validate() const;  // InputError naming diffusion.dropout.<key>
};

// Which rows lose which condition: [B] bool tensors, true = replaced by the null condition.
struct ConditionDrop {
  torch::Tensor statements;
  torch::Tensor base_vector;
};

// Draws the rows to drop (independently per row and per pathway) on `device`; the generator,
// when given, must belong to `device`.
ConditionDrop draw_condition_drop(int64_t batch, const ConditionDropoutOptions& options,
                                  const torch::Device& device,
                                  std::optional<at::Generator> generator = std::nullopt);

// The conditions with the dropped rows replaced by `null_conditions`, whose tensors have
// batch size 1: statement_tokens [1, S0, D] with token_mask [1, S0] (S0 may differ from S:
// both sequences are padded with masked zeros to max(S, S0)), base_vector [1, base_dim]
// (undefined: zeros). Rows that are kept are copied unchanged.
model::DenoiserConditions apply_condition_drop(const model::DenoiserConditions& conditions,
                                               const ConditionDrop& drop,
                                               const model::DenoiserConditions& null_conditions);

// The null conditions repeated to `batch` rows, for the unconditional pass while sampling.
model::DenoiserConditions expand_conditions(const model::DenoiserConditions& conditions,
                                            int64_t batch);

// eps_uncond + scale * (eps_cond - eps_uncond). At scale 1 returns eps_cond itself (the
// formula would differ from it in the last bits).
torch::Tensor guided_epsilon(const torch::Tensor& eps_cond, const torch::Tensor& eps_uncond,
                             double scale);

}  // namespace ecgtwin::diffusion
