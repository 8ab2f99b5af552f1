#pragma once
// The Individual Base Extractor (IBE, ECGTwin stage 1): from the latent of one ECG and that
// ECG's own condition tokens, a 256-d base vector that describes the person rather than the
// condition. Cross-attention to the condition tokens is SUBTRACTED (x = x - relu(attn)), so
// the condition content is removed and what is left is the individual. Trained with a
// symmetric InfoNCE loss: two ECGs of one patient are a positive pair.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <ATen/core/Generator.h>

#include <cstdint>
#include <optional>

#include "ecgtwin/model/attention.hpp"
#include "ecgtwin/model/condition.hpp"

namespace ecgtwin::model {

struct ExtractorOptions {
  TORCH_ARG(int64_t, latent_channels) = 4;
  TORCH_ARG(int64_t, hidden) = 256;
  TORCH_ARG(int64_t, depth) = 3;
  TORCH_ARG(int64_t, heads) = 8;
  TORCH_ARG(int64_t, ffn) = 1024;
  TORCH_ARG(double, condition_dropout) = 0.15;  // p of replacing a row's tokens by the null token
  TORCH_ARG(double, temperature) = 0.07;        // initial InfoNCE temperature (CLIP)
  // The IBE's own condition encoder; its token_dim is set to `hidden`.
  TORCH_ARG(ConditionEncoderOptions, condition) = ConditionEncoderOptions();

 public:
  // InputError naming model.extractor.<key> for options that cannot form the network.
  void validate() const;
};

struct ExtractorLayerOptions {
  ExtractorLayerOptions(int64_t hidden, int64_t heads, int64_t ffn, int64_t token_dim)
      : hidden_(hidden), heads_(heads), ffn_(ffn), token_dim_(token_dim) {}
  TORCH_ARG(int64_t, hidden);
  TORCH_ARG(int64_t, heads);
  TORCH_ARG(int64_t, ffn);
  TORCH_ARG(int64_t, token_dim);
};

// Pre-LN self-attention (+), pre-LN cross-attention (- relu), pre-LN FFN (+).
class ExtractorLayerImpl : public torch::nn::Module {
 public:
  explicit ExtractorLayerImpl(const ExtractorLayerOptions& options);
  // x: [B, L, hidden]; tokens: [B, S, token_dim]; mask: [B, S] bool, true = real.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& tokens, const torch::Tensor& mask);

 private:
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr}, norm3_{nullptr};
  MultiHeadAttention attn_{nullptr}, cross_attn_{nullptr};
  torch::nn::Sequential mlp_{nullptr};
};
TORCH_MODULE(ExtractorLayer);

class ExtractorImpl : public torch::nn::Module {
 public:
  explicit ExtractorImpl(const ExtractorOptions& options = {});

  // latent: [B, latent_channels, L] (the scaled VAE latent, L tokens of latent_channels);
  // tokens: [B, S, hidden] condition tokens; mask: [B, S] bool -> base vector [B, hidden].
  torch::Tensor forward(const torch::Tensor& latent, const torch::Tensor& tokens, const torch::Tensor& mask);
  // Encodes the conditions with the IBE's own condition encoder first. `drop` ([B] bool,
  // optional) replaces those rows' tokens by the null token.
  torch::Tensor extract(const torch::Tensor& latent, const torch::Tensor& statement_embeddings,
                        const torch::Tensor& statement_mask, const Demographics& demographics,
                        const torch::Tensor& drop = {});

  // Rows where `drop` is true get the null token alone (one real token, the rest padding).
  ConditionTokens drop_conditions(const ConditionTokens& conditions, const torch::Tensor& drop) const;
  // A [B] bool draw with P(true) = condition_dropout, from `generator` (or the global one).
  torch::Tensor sample_condition_drop(int64_t batch, std::optional<at::Generator> generator = std::nullopt) const;
  // The same draw left on the CPU (no parameter is read: safe beside training).
  torch::Tensor draw_condition_drop(int64_t batch,
                                    std::optional<at::Generator> generator = std::nullopt) const;

  ConditionEncoder& condition_encoder() { return condition_encoder_; }
  // log(1 / temperature), learnable (CLIP).
  const torch::Tensor& logit_scale() const { return logit_scale_; }
  const ExtractorOptions& options() const { return options_; }

 private:
  ExtractorOptions options_;
  ConditionEncoder condition_encoder_{nullptr};
  torch::nn::Linear input_proj_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
  torch::Tensor null_token_, logit_scale_;
};
TORCH_MODULE(Extractor);

// Symmetric InfoNCE (CLIP, Radford et al. 2021) on L2-normalised a, b [B, D]: row i of a and
// row i of b are the positive pair. logits = exp(logit_scale) a b^T with exp(logit_scale)
// clamped to at most 100 as in CLIP; loss = (CE(logits, i) + CE(logits^T, i)) / 2.
torch::Tensor info_nce(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& logit_scale);

}  // namespace ecgtwin::model
