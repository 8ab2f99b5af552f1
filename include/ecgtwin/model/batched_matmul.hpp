#pragma once
// Batched matrix products for attention: a [..., M, K] times b [..., K, N] -> [..., M, N], the
// leading dimensions equal (no broadcasting). The same values as torch::matmul.
//
// LibTorch 1.x multiplies the matrices of a CPU bmm one at a time through its dispatcher, which
// for attention's many small matrices (batch x heads of them, 64 x 32 or 128 x 16) costs as much
// as the arithmetic. Where the build has CBLAS and the LibTorch version has no fused attention
// (ECGTWIN_HAS_CBLAS_BMM), a float32 CPU product here splits the batch over LibTorch's threads
// and calls one cblas_sgemm per matrix, forward and backward (the BLAS the program runs with,
// OpenBLAS through Debian's alternatives). Elsewhere it is torch::matmul.
#include <torch/types.h>

namespace ecgtwin::model {

torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b);

// True where batched_matmul(a, b) takes the CBLAS path.
bool batched_matmul_uses_cblas(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace ecgtwin::model
