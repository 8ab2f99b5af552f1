#pragma once
// Condition tokens (the AdaX token pathway and the Individual Base Extractor's input): each
// report statement becomes one token, Linear([statement_embedding ; hr_z ; age_z ; sex])
// plus a learned position, then LayerNorm.
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace ecgtwin::model {

struct ConditionEncoderOptions {
  TORCH_ARG(int64_t, statement_dim) = 768;
  TORCH_ARG(int64_t, token_dim) = 256;
  TORCH_ARG(int64_t, max_statements) = 25;
  // Normalisation of the scalar conditions (ECGTwin, Lai et al. 2025: PTB-XL/MIMIC-IV-ECG
  // training statistics). Stored in the module's buffers, so a checkpoint carries them.
  TORCH_ARG(double, hr_mean) = 77.95;  // bpm
  TORCH_ARG(double, hr_std) = 20.37;   // bpm
  TORCH_ARG(double, age_mean) = 64.25;  // years
  TORCH_ARG(double, age_std) = 17.13;   // years
  TORCH_ARG(double, female) = 0.0;
  TORCH_ARG(double, male) = 1.0;
  TORCH_ARG(double, unknown_sex) = 0.5;
};

// Per-ECG scalar conditions, all [B] tensors.
struct Demographics {
  torch::Tensor heart_rate;  // float, bpm; NaN = unknown (taken as the mean)
  torch::Tensor age;         // float, years; NaN = unknown (taken as the mean)
  torch::Tensor sex;         // int64 codes in data::Sex order: 0 unknown, 1 female, 2 male

  // NaN in `heart_rate` / `age` marks unknown values.
  static Demographics from(const std::vector<double>& heart_rate, const std::vector<double>& age,
                           const std::vector<int64_t>& sex);
  Demographics to(const torch::Device& device) const;
};

struct ConditionTokens {
  torch::Tensor tokens;  // [B, S, token_dim], zero at padding
  torch::Tensor mask;    // [B, S] bool, true = real token
};

class ConditionEncoderImpl : public torch::nn::Module {
 public:
  explicit ConditionEncoderImpl(const ConditionEncoderOptions& options = {});

  // The normalised scalar features [B, 3]: hr_z, age_z, sex value.
  torch::Tensor scalar_features(const Demographics& demographics) const;
  // statement_embeddings: [B, S, statement_dim]; mask: [B, S] bool, S <= max_statements.
  ConditionTokens forward(const torch::Tensor& statement_embeddings, const torch::Tensor& mask,
                          const Demographics& demographics);

  const ConditionEncoderOptions& options() const { return options_; }

 private:
  ConditionEncoderOptions options_;
  torch::nn::Linear proj_{nullptr};
  torch::Tensor position_embedding_;
  torch::nn::LayerNorm norm_{nullptr};
  torch::Tensor hr_stats_, age_stats_, sex_values_;
};
TORCH_MODULE(ConditionEncoder);

// Reference tokens (an addition beyond the method, off unless model.reference.tokens): the
// reference record's latent [B, C, L] in non-overlapping patches, each one token of
// token_dim (a strided convolution, a learned position, then LayerNorm). Appended to the
// statement tokens, they let every cross-attention layer read the reference's waveform
// itself, beside the base vector's summary of the person.
struct ReferenceEncoderOptions {
  TORCH_ARG(int64_t, in_channels) = 4;
  TORCH_ARG(int64_t, length) = 128;
  TORCH_ARG(int64_t, patch_size) = 4;
  TORCH_ARG(int64_t, token_dim) = 256;
};

class ReferenceEncoderImpl : public torch::nn::Module {
 public:
  explicit ReferenceEncoderImpl(const ReferenceEncoderOptions& options = {});
  // reference: [B, in_channels, length] -> tokens [B, length / patch_size, token_dim].
  torch::Tensor forward(const torch::Tensor& reference);
  const ReferenceEncoderOptions& options() const { return options_; }

 private:
  ReferenceEncoderOptions options_;
  torch::nn::Conv1d proj_{nullptr};
  torch::Tensor position_embedding_;
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(ReferenceEncoder);

}  // namespace ecgtwin::model
