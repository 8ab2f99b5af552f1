#include "ecgtwin/model/batched_matmul.hpp"

#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <torch/version.h>

#include <cstdint>
#include <vector>

// The CBLAS path is for LibTorch 1.x builds where CMake found cblas.h and a BLAS library;
// with LibTorch 2.x the callers run attention fused.
#if defined(ECGTWIN_HAVE_CBLAS) && TORCH_VERSION_MAJOR < 2
#define ECGTWIN_HAS_CBLAS_BMM 1
#include <cblas.h>
#endif

namespace ecgtwin::model {

#ifdef ECGTWIN_HAS_CBLAS_BMM
namespace {

// out[i] = op(a[i]) op(b[i]) for every matrix i of the batch; a, b contiguous [B, rows, cols]
// as stored; op transposes where the flag says. out: [B, M, N], contiguous.
torch::Tensor gemm_batch(const torch::Tensor& a, bool transpose_a, const torch::Tensor& b,
                         bool transpose_b) {
  const int64_t batch = a.size(0);
  const int64_t m = transpose_a ? a.size(2) : a.size(1);
  const int64_t k = transpose_a ? a.size(1) : a.size(2);
  const int64_t n = transpose_b ? b.size(1) : b.size(2);
  torch::Tensor out = torch::empty({batch, m, n}, a.options());
  const float* pa = a.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  float* pc = out.data_ptr<float>();
  const int64_t stride_a = a.size(1) * a.size(2), stride_b = b.size(1) * b.size(2),
                stride_c = m * n;
  const auto lda = static_cast<int>(a.size(2)), ldb = static_cast<int>(b.size(2));
  const CBLAS_TRANSPOSE ta = transpose_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = transpose_b ? CblasTrans : CblasNoTrans;
  // Inside LibTorch's parallel region OpenBLAS runs each product on the calling thread.
  at::parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n),
                  static_cast<int>(k), 1.0f, pa + i * stride_a, lda, pb + i * stride_b, ldb, 0.0f,
                  pc + i * stride_c, static_cast<int>(n));
    }
  });
  return out;
}

class CblasBmmFunction : public torch::autograd::Function<CblasBmmFunction> {
 public:
  // a [B, M, K], b [B, K, N], both contiguous.
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a,
                               const torch::Tensor& b) {
    ctx->save_for_backward({a, b});
    return gemm_batch(a, false, b, false);
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& a = saved[0];
    const torch::Tensor& b = saved[1];
    const torch::Tensor grad = grads[0].contiguous();
    torch::Tensor grad_a, grad_b;
    if (ctx->needs_input_grad(0)) grad_a = gemm_batch(grad, false, b, true);  // G B^T
    if (ctx->needs_input_grad(1)) grad_b = gemm_batch(a, true, grad, false);  // A^T G
    return {grad_a, grad_b};
  }
};

}  // namespace
#endif

bool batched_matmul_uses_cblas(const torch::Tensor& a, const torch::Tensor& b) {
#ifdef ECGTWIN_HAS_CBLAS_BMM
  return a.device().is_cpu() && b.device().is_cpu() && a.scalar_type() == torch::kFloat32 &&
         b.scalar_type() == torch::kFloat32 && a.layout() == torch::kStrided &&
         b.layout() == torch::kStrided && a.dim() >= 3 && a.dim() == b.dim() &&
         a.sizes().slice(0, a.dim() - 2) == b.sizes().slice(0, b.dim() - 2) &&
         a.size(-1) == b.size(-2) && a.numel() > 0 && b.numel() > 0;
#else
  (void)a;
  (void)b;
  return false;
#endif
}

torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b) {
#ifdef ECGTWIN_HAS_CBLAS_BMM
  if (batched_matmul_uses_cblas(a, b)) {
    std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end() - 1);
    shape.push_back(b.size(-1));
    const torch::Tensor a3 = a.reshape({-1, a.size(-2), a.size(-1)}).contiguous();
    const torch::Tensor b3 = b.reshape({-1, b.size(-2), b.size(-1)}).contiguous();
    return CblasBmmFunction::apply(a3, b3).view(shape);
  }
#endif
  return torch::matmul(a, b);
}

}  // namespace ecgtwin::model
