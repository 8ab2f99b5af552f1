#include "ecgtwin/model/resample.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace ecgtwin::model {
namespace {

TEST(UpsampleNearestX2, EverySampleTwiceInPlace) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({2, 3, 5});
  const torch::Tensor y = upsample_nearest_x2(x);
  ASSERT_EQ(y.sizes(), (torch::IntArrayRef{2, 3, 10}));
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_TRUE(torch::equal(y.select(2, 2 * i), x.select(2, i))) << "sample " << i;
    EXPECT_TRUE(torch::equal(y.select(2, 2 * i + 1), x.select(2, i))) << "sample " << i;
  }
}

TEST(UpsampleNearestX2, GradientSumsEachPair) {
  torch::manual_seed(4);
  torch::Tensor x = torch::randn({2, 3, 6}).requires_grad_(true);
  const torch::Tensor upstream = torch::randn({2, 3, 12});
  (upsample_nearest_x2(x) * upstream).sum().backward();
  // d/dx_i of sum_j g_j y_j = g_{2i} + g_{2i+1}.
  const torch::Tensor pairs = upstream.view({2, 3, 6, 2});
  EXPECT_TRUE(torch::allclose(x.grad(), pairs.select(3, 0) + pairs.select(3, 1), 0.0, 1e-6));
}

TEST(UpsampleNearestX2, RefusesOtherRanks) {
  EXPECT_THROW(upsample_nearest_x2(torch::zeros({3, 4})), c10::Error);
}

}  // namespace
}  // namespace ecgtwin::model
