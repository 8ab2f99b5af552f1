#include "ecgtwin/model/embeddings.hpp"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include <cmath>

namespace ecgtwin::model {

torch::Tensor timestep_embedding(const torch::Tensor& t, int64_t dim, double max_period) {
  const int64_t half = dim / 2;
  auto options = torch::TensorOptions().dtype(torch::kFloat32).device(t.device());
  const torch::Tensor freqs =
      torch::exp(torch::arange(0, half, options) * (-std::log(max_period) / half));
  const torch::Tensor args = t.to(torch::kFloat32).unsqueeze(1) * freqs.unsqueeze(0);
  torch::Tensor embedding = torch::cat({torch::cos(args), torch::sin(args)}, -1);
  if (dim % 2 != 0) {
    embedding = torch::cat({embedding, torch::zeros({t.size(0), 1}, options)}, -1);
  }
  return embedding;
}

TimestepEmbedderImpl::TimestepEmbedderImpl(int64_t hidden, int64_t frequency_dim)
    : frequency_dim_(frequency_dim) {
  torch::nn::Linear first(frequency_dim, hidden);
  first_weight_ = first->weight;
  mlp_ = register_module("mlp", torch::nn::Sequential(first, torch::nn::SiLU(),
                                                      torch::nn::Linear(hidden, hidden)));
}

torch::Tensor TimestepEmbedderImpl::forward(const torch::Tensor& t) {
  const torch::Tensor features = timestep_embedding(t, frequency_dim_);
  return mlp_->forward(features.to(first_weight_.scalar_type()));
}

PatchEmbed1dImpl::PatchEmbed1dImpl(int64_t in_channels, int64_t hidden, int64_t patch_size) {
  proj_ = register_module(
      "proj", torch::nn::Conv1d(torch::nn::Conv1dOptions(in_channels, hidden, patch_size)
                                    .stride(patch_size)));
}

torch::Tensor PatchEmbed1dImpl::forward(const torch::Tensor& x) {
  return proj_(x).transpose(1, 2).contiguous();
}

torch::Tensor unpatchify(const torch::Tensor& tokens, int64_t channels, int64_t patch_size) {
  const int64_t batch = tokens.size(0), count = tokens.size(1);
  return tokens.view({batch, count, patch_size, channels})
      .permute({0, 3, 1, 2})
      .reshape({batch, channels, count * patch_size});
}

}  // namespace ecgtwin::model
