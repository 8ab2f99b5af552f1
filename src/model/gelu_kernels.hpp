#pragma once
// The loops behind model::gelu_tanh on the CPU in float32 (src/model/activation.cpp): one pass
// forward, one backward. Internal to the library.
#include <cstdint>

namespace ecgtwin::model::detail {

// y = x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)) for n values.
void gelu_tanh_forward(const float* x, float* y, std::int64_t n);
// out = grad * dy/dx for n values.
void gelu_tanh_backward(const float* x, const float* grad, float* out, std::int64_t n);

}  // namespace ecgtwin::model::detail
