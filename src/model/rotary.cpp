#include "ecgtwin/model/rotary.hpp"

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::model {

RotaryEmbeddingImpl::RotaryEmbeddingImpl(const RotaryEmbeddingOptions& options)
    : options_(options) {
  if (options_.head_dim() <= 0 || options_.head_dim() % 2 != 0) {
    throw InputError("model.rotary.head_dim",
                     "an even positive number, got " + std::to_string(options_.head_dim()));
  }
}

std::pair<torch::Tensor, torch::Tensor> RotaryEmbeddingImpl::tables(int64_t length,
                                                                    const torch::Device& device,
                                                                    torch::Dtype dtype) {
  if (cos_.defined() && cos_.size(0) == length && cos_.device() == device &&
      cos_.scalar_type() == dtype) {
    return {cos_, sin_};
  }
  const int64_t half = options_.head_dim() / 2;
  // Computed in float64 so that the tables do not depend on the working precision.
  auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const torch::Tensor inv_freq =
      torch::pow(options_.base(), -torch::arange(0, half, f64) * 2.0 / options_.head_dim());
  const torch::Tensor angles = torch::outer(torch::arange(0, length, f64), inv_freq);  // [L, D/2]
  const torch::Tensor full = torch::cat({angles, angles}, -1);                          // [L, D]
  cos_ = full.cos().to(device, dtype);
  sin_ = full.sin().to(device, dtype);
  return {cos_, sin_};
}

torch::Tensor RotaryEmbeddingImpl::forward(const torch::Tensor& x) {
  auto [cos, sin] = tables(x.size(-2), x.device(), x.scalar_type());
  return apply_rotary(x, cos, sin);
}

torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos,
                           const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  const torch::Tensor x1 = x.narrow(-1, 0, half);
  const torch::Tensor x2 = x.narrow(-1, half, half);
  const torch::Tensor rotated = torch::cat({-x2, x1}, -1);
  return x * cos + rotated * sin;
}

}  // namespace ecgtwin::model
