#include "ecgtwin/model/activation.hpp"

#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <cstdint>

#include "gelu_kernels.hpp"

namespace ecgtwin::model {
namespace {

constexpr std::int64_t kGrain = 16384;

class GeluTanhFunction : public torch::autograd::Function<GeluTanhFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input) {
    const torch::Tensor x = input.contiguous();
    torch::Tensor y = torch::empty_like(x);
    const float* in = x.data_ptr<float>();
    float* out = y.data_ptr<float>();
    at::parallel_for(0, x.numel(), kGrain, [&](std::int64_t begin, std::int64_t end) {
      detail::gelu_tanh_forward(in + begin, out + begin, end - begin);
    });
    ctx->save_for_backward({x});
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const torch::Tensor x = ctx->get_saved_variables()[0];
    const torch::Tensor grad = grads[0].contiguous();
    torch::Tensor out = torch::empty_like(x);
    const float* in = x.data_ptr<float>();
    const float* g = grad.data_ptr<float>();
    float* o = out.data_ptr<float>();
    at::parallel_for(0, x.numel(), kGrain, [&](std::int64_t begin, std::int64_t end) {
      detail::gelu_tanh_backward(in + begin, g + begin, o + begin, end - begin);
    });
    return {out};
  }
};

}  // namespace

bool gelu_tanh_is_fused(const torch::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat32 && x.layout() == torch::kStrided;
}

torch::Tensor gelu_tanh(const torch::Tensor& x) {
  if (!gelu_tanh_is_fused(x)) return at::gelu(x, "tanh");
  return GeluTanhFunction::apply(x);
}

}  // namespace ecgtwin::model
