#pragma once
// GELU with the tanh approximation (timm's Mlp in DiT), written as
//   y = x * sigmoid(2 k (x + 0.044715 x^3)),  k = sqrt(2 / pi),
// which is the same function as at::gelu(x, "tanh") = 0.5 x (1 + tanh(k (x + 0.044715 x^3)))
// because 0.5 (1 + tanh(z)) = sigmoid(2 z). On the CPU in float32 the forward and the backward
// each run as one fused, vectorised pass over the data (LibTorch's own tanh-GELU kernels take
// several times longer there); on other devices and dtypes it calls at::gelu. The backward is
// first order only (no gradient of the gradient).
#include <torch/types.h>

namespace ecgtwin::model {

torch::Tensor gelu_tanh(const torch::Tensor& x);

// True where gelu_tanh takes the fused path for x.
bool gelu_tanh_is_fused(const torch::Tensor& x);

}  // namespace ecgtwin::model
