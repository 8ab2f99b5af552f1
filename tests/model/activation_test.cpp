#include "ecgtwin/model/activation.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

namespace ecgtwin::model {
namespace {

// Values spanning both tails, zero and the bend, plus random ones.
torch::Tensor probe_values() {
  torch::manual_seed(11);
  return torch::cat({torch::linspace(-12.0, 12.0, 4801), torch::randn({50000}) * 3.0,
                     torch::tensor({0.0f, -0.0f, 1e-20f, -1e-20f, 60.0f, -60.0f})});
}

TEST(GeluTanh, EqualsLibTorchTanhGelu) {
  const torch::Tensor x = probe_values();
  ASSERT_TRUE(gelu_tanh_is_fused(x));
  const torch::Tensor ours = gelu_tanh(x);
  const torch::Tensor reference = at::gelu(x.to(torch::kFloat64), "tanh").to(torch::kFloat32);
  EXPECT_TRUE(torch::allclose(ours, reference, 1e-6, 1e-6))
      << "largest difference " << (ours - reference).abs().max().item<float>();
  EXPECT_EQ(ours.index({-2}).item<float>(), 60.0f);
  EXPECT_NEAR(ours.index({-1}).item<float>(), 0.0f, 1e-30f);
}

TEST(GeluTanh, GradientEqualsLibTorchGradient) {
  const torch::Tensor base = probe_values();
  const torch::Tensor upstream = torch::randn_like(base);
  torch::Tensor x = base.clone().requires_grad_(true);
  (gelu_tanh(x) * upstream).sum().backward();
  torch::Tensor x64 = base.to(torch::kFloat64).requires_grad_(true);
  (at::gelu(x64, "tanh") * upstream.to(torch::kFloat64)).sum().backward();
  const torch::Tensor reference = x64.grad().to(torch::kFloat32);
  EXPECT_TRUE(torch::allclose(x.grad(), reference, 1e-5, 1e-6))
      << "largest difference " << (x.grad() - reference).abs().max().item<float>();
}

TEST(GeluTanh, NonContiguousAndMultiDimensionalInput) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({4, 70, 33}).transpose(0, 2);  // not contiguous
  const torch::Tensor ours = gelu_tanh(x);
  EXPECT_EQ(ours.sizes(), x.sizes());
  EXPECT_TRUE(torch::allclose(ours, at::gelu(x, "tanh"), 1e-6, 1e-6));
}

// The loops flush subnormals while they run (src/model/gelu_kernels.cpp); the thread's own
// floating-point setting must come back as it was, on the calling thread and on LibTorch's.
TEST(GeluTanh, LeavesSubnormalArithmeticAsItWas) {
  volatile float smallest_normal = 1.17549435e-38f;
  volatile float half = 0.5f;
  ASSERT_GT(smallest_normal * half, 0.0f);  // subnormal results where nothing flushes them
  torch::Tensor x = (torch::randn({300000}) * 4.0).requires_grad_(true);
  gelu_tanh(x).sum().backward();
  EXPECT_GT(smallest_normal * half, 0.0f);
  std::vector<float> after(static_cast<size_t>(at::get_num_threads()), 0.0f);
  at::parallel_for(0, static_cast<int64_t>(after.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) after[static_cast<size_t>(i)] = smallest_normal * half;
  });
  for (float value : after) EXPECT_GT(value, 0.0f);
}

TEST(GeluTanh, SubnormalResultsComeOutAsZero) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "the loops flush subnormals on x86-64 only";
#endif
  const torch::Tensor x = torch::tensor({-11.0f, -10.0f, 1e-40f});
  const torch::Tensor y = gelu_tanh(x);
  EXPECT_EQ(y.index({0}).item<float>(), 0.0f);  // about -1.6e-48 in exact arithmetic
  EXPECT_LT(y.index({1}).item<float>(), 0.0f);  // -1.2e-37, a normal float: kept
  EXPECT_EQ(y.index({2}).item<float>(), 0.0f);
}

TEST(GeluTanh, OtherDtypesUseLibTorch) {
  const torch::Tensor x = torch::linspace(-4.0, 4.0, 81, torch::kFloat64);
  EXPECT_FALSE(gelu_tanh_is_fused(x));
  EXPECT_TRUE(torch::equal(gelu_tanh(x), at::gelu(x, "tanh")));
}

}  // namespace
}  // namespace ecgtwin::model
