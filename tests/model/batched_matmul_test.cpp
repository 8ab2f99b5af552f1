#include "ecgtwin/model/batched_matmul.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/version.h>

namespace ecgtwin::model {
namespace {

// The products and both gradients against torch::matmul in float64.
void expect_matches_matmul(const torch::Tensor& a_in, const torch::Tensor& b_in) {
  torch::Tensor a = a_in.detach().clone().requires_grad_(true);
  torch::Tensor b = b_in.detach().clone().requires_grad_(true);
  const torch::Tensor out = batched_matmul(a, b);
  torch::manual_seed(7);
  const torch::Tensor upstream = torch::randn(out.sizes());
  (out * upstream).sum().backward();

  torch::Tensor a64 = a_in.detach().to(torch::kFloat64).requires_grad_(true);
  torch::Tensor b64 = b_in.detach().to(torch::kFloat64).requires_grad_(true);
  const torch::Tensor reference = torch::matmul(a64, b64);
  (reference * upstream.to(torch::kFloat64)).sum().backward();

  ASSERT_EQ(out.sizes(), reference.sizes());
  EXPECT_TRUE(torch::allclose(out.to(torch::kFloat64), reference, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(a.grad().to(torch::kFloat64), a64.grad(), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(b.grad().to(torch::kFloat64), b64.grad(), 1e-5, 1e-5));
}

TEST(BatchedMatmul, AttentionShapesAgreeWithMatmulForwardAndBackward) {
  torch::manual_seed(1);
  // [B, H, L, D] x [B, H, D, S]: self-attention scores, cross-attention with 8 keys, values.
  expect_matches_matmul(torch::randn({3, 4, 64, 32}), torch::randn({3, 4, 32, 64}));
  expect_matches_matmul(torch::randn({3, 4, 64, 32}), torch::randn({3, 4, 32, 8}));
  expect_matches_matmul(torch::randn({2, 4, 128, 128}), torch::randn({2, 4, 128, 16}));
  expect_matches_matmul(torch::randn({5, 7, 3}), torch::randn({5, 3, 1}));
}

TEST(BatchedMatmul, TransposedAndPermutedViews) {
  torch::manual_seed(2);
  const torch::Tensor qkv =
      torch::randn({2, 16, 3, 4, 8}).permute({2, 0, 3, 1, 4});  // as attention splits it
  const torch::Tensor q = qkv[0], k = qkv[1];
  ASSERT_FALSE(q.is_contiguous());
  expect_matches_matmul(q, k.transpose(-2, -1));
}

TEST(BatchedMatmul, OnlyTheOperandsThatNeedAGradientGetOne) {
  torch::manual_seed(3);
  const torch::Tensor a = torch::randn({2, 5, 3});
  torch::Tensor b = torch::randn({2, 3, 4}).requires_grad_(true);
  batched_matmul(a, b).sum().backward();
  EXPECT_FALSE(a.grad().defined());
  // d/db of sum(a b) = a^T 1.
  EXPECT_TRUE(
      torch::allclose(b.grad(), a.transpose(1, 2).matmul(torch::ones({2, 5, 4})), 1e-5, 1e-6));
}

TEST(BatchedMatmul, CblasPathOnlyForFloat32CpuBatchesOfEqualLeadingShape) {
  const torch::Tensor a = torch::randn({2, 3, 4}), b = torch::randn({2, 4, 5});
#if TORCH_VERSION_MAJOR < 2
  // Debian's LibTorch 1.13 with libblas-dev (scripts/setup.sh): the path is built in.
  EXPECT_TRUE(batched_matmul_uses_cblas(a, b));
#endif
  EXPECT_FALSE(batched_matmul_uses_cblas(a.to(torch::kFloat64), b.to(torch::kFloat64)));
  EXPECT_FALSE(batched_matmul_uses_cblas(a[0], b[0]));                  // plain matrices
  EXPECT_FALSE(batched_matmul_uses_cblas(a, torch::randn({1, 4, 5})));  // broadcasting
  // The other cases still multiply, through torch::matmul.
  const torch::Tensor shared = torch::randn({1, 4, 5});
  EXPECT_TRUE(torch::equal(batched_matmul(a, shared), torch::matmul(a, shared)));
  const torch::Tensor a64 = a.to(torch::kFloat64), b64 = b.to(torch::kFloat64);
  EXPECT_TRUE(torch::equal(batched_matmul(a64, b64), torch::matmul(a64, b64)));
}

}  // namespace
}  // namespace ecgtwin::model
