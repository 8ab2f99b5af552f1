#include "ecgtwin/model/condition.hpp"

#include <torch/torch.h>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::model {

Demographics Demographics::from(const std::vector<double>& heart_rate, const std::vector<double>& age,
                                const std::vector<int64_t>& sex) {
  if (heart_rate.size() != age.size() || heart_rate.size() != sex.size())
    throw InputError("demographics", "heart rate, age and sex need one value per ECG");
  for (int64_t code : sex)
    if (code < 0 || code > 2) throw InputError("demographics", "sex code must be 0 (unknown), 1 (female) or 2 (male)");
  return {torch::tensor(heart_rate, torch::kFloat32), torch::tensor(age, torch::kFloat32),
          torch::tensor(sex, torch::kInt64)};
}

Demographics Demographics::to(const torch::Device& device) const {
  return {heart_rate.to(device), age.to(device), sex.to(device)};
}

ConditionEncoderImpl::ConditionEncoderImpl(const ConditionEncoderOptions& options) : options_(options) {
  const std::string prefix = "model.condition.";
  if (options_.statement_dim() < 1) throw InputError(prefix + "statement_dim", "expected at least 1");
  if (options_.token_dim() < 1) throw InputError(prefix + "token_dim", "expected at least 1");
  if (options_.max_statements() < 1) throw InputError(prefix + "max_statements", "expected at least 1");
  if (!(options_.hr_std() > 0)) throw InputError(prefix + "hr_std", "expected a positive value");
  if (!(options_.age_std() > 0)) throw InputError(prefix + "age_std", "expected a positive value");
  proj_ = register_module("proj", torch::nn::Linear(options_.statement_dim() + 3, options_.token_dim()));
  position_embedding_ = register_parameter(
      "position_embedding", torch::randn({options_.max_statements(), options_.token_dim()}) * 0.02);
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({options_.token_dim()})));
  hr_stats_ = register_buffer("hr_stats", torch::tensor({options_.hr_mean(), options_.hr_std()}, torch::kFloat32));
  age_stats_ = register_buffer("age_stats", torch::tensor({options_.age_mean(), options_.age_std()}, torch::kFloat32));
  sex_values_ = register_buffer(
      "sex_values", torch::tensor({options_.unknown_sex(), options_.female(), options_.male()}, torch::kFloat32));
}

torch::Tensor ConditionEncoderImpl::scalar_features(const Demographics& demographics) const {
  const auto standardise = [](const torch::Tensor& value, const torch::Tensor& stats) {
    const torch::Tensor v = value.to(stats.device(), torch::kFloat32);
    // Unknown values sit at the mean, i.e. z = 0.
    return torch::where(torch::isnan(v), torch::zeros_like(v), (v - stats[0]) / stats[1]);
  };
  const torch::Tensor hr_z = standardise(demographics.heart_rate, hr_stats_);
  const torch::Tensor age_z = standardise(demographics.age, age_stats_);
  const torch::Tensor sex = sex_values_.index_select(0, demographics.sex.to(sex_values_.device(), torch::kInt64));
  return torch::stack({hr_z, age_z, sex}, 1);
}

ConditionTokens ConditionEncoderImpl::forward(const torch::Tensor& statement_embeddings, const torch::Tensor& mask,
                                              const Demographics& demographics) {
  TORCH_CHECK(statement_embeddings.dim() == 3 && statement_embeddings.size(2) == options_.statement_dim(),
              "ConditionEncoder: expected statement embeddings [B, S, ", options_.statement_dim(), "], got ",
              statement_embeddings.sizes());
  const int64_t batch = statement_embeddings.size(0);
  const int64_t slots = statement_embeddings.size(1);
  TORCH_CHECK(slots <= options_.max_statements(), "ConditionEncoder: ", slots, " statements, at most ",
              options_.max_statements());
  TORCH_CHECK(mask.sizes() == torch::IntArrayRef({batch, slots}), "ConditionEncoder: mask must be [B, S]");
  const torch::Tensor scalars = scalar_features(demographics).to(statement_embeddings.dtype());
  TORCH_CHECK(scalars.size(0) == batch, "ConditionEncoder: demographics for ", scalars.size(0), " ECGs, batch of ",
              batch);
  const torch::Tensor features =
      torch::cat({statement_embeddings, scalars.unsqueeze(1).expand({batch, slots, 3})}, 2);
  torch::Tensor tokens = norm_->forward(proj_->forward(features) + position_embedding_.slice(0, 0, slots));
  const torch::Tensor keep = mask.to(torch::kBool);
  tokens = torch::where(keep.unsqueeze(2), tokens, torch::zeros_like(tokens));
  return {tokens, keep};
}

ReferenceEncoderImpl::ReferenceEncoderImpl(const ReferenceEncoderOptions& options)
    : options_(options) {
  const std::string prefix = "model.reference.";
  if (options_.patch_size() < 1 || options_.length() % options_.patch_size() != 0)
    throw InputError(prefix + "patch_size", "expected a divisor of the latent length " +
                                                std::to_string(options_.length()) + ", got " +
                                                std::to_string(options_.patch_size()));
  if (options_.in_channels() < 1 || options_.token_dim() < 1)
    throw InputError(prefix + "tokens",
                     "the reference needs at least one channel and token feature");
  proj_ = register_module("proj", torch::nn::Conv1d(torch::nn::Conv1dOptions(options_.in_channels(),
                                                                             options_.token_dim(),
                                                                             options_.patch_size())
                                                        .stride(options_.patch_size())));
  position_embedding_ = register_parameter(
      "position_embedding",
      torch::randn({options_.length() / options_.patch_size(), options_.token_dim()}) * 0.02);
  norm_ = register_module(
      "norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({options_.token_dim()})));
}

torch::Tensor ReferenceEncoderImpl::forward(const torch::Tensor& reference) {
  if (reference.dim() != 3 || reference.size(1) != options_.in_channels() ||
      reference.size(2) != options_.length())
    throw InputError("reference latent", "expected [B, " + std::to_string(options_.in_channels()) +
                                             ", " + std::to_string(options_.length()) + "], got " +
                                             c10::str(reference.sizes()));
  const torch::Tensor tokens =
      proj_->forward(reference).transpose(1, 2);  // [B, L / patch, token_dim]
  return norm_->forward(tokens + position_embedding_.to(tokens.dtype()));
}

}  // namespace ecgtwin::model
