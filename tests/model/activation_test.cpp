#include "ecgtwin/model/activation.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

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

TEST(GeluTanh, OtherDtypesUseLibTorch) {
  const torch::Tensor x = torch::linspace(-4.0, 4.0, 81, torch::kFloat64);
  EXPECT_FALSE(gelu_tanh_is_fused(x));
  EXPECT_TRUE(torch::equal(gelu_tanh(x), at::gelu(x, "tanh")));
}

}  // namespace
}  // namespace ecgtwin::model
