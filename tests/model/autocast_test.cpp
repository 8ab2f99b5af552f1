// bf16 autocast on the CPU: where the scope turns it on, and the cross-attention's normalised
// queries, keys and values under it.
#include "ecgtwin/model/autocast.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ecgtwin/model/attention.hpp"
#include "ecgtwin/util/machine.hpp"

namespace ecgtwin::model {
namespace {

TEST(AutocastScope, MatrixProductsInBf16OnTheCpuOnlyWhereItHasBf16Instructions) {
  const torch::Tensor a = torch::randn({4, 8}), b = torch::randn({8, 3});
  const bool bf16 = util::cpu_has_bf16();
  EXPECT_EQ(bf16_autocast_available(torch::kCPU), bf16);
  {
    AutocastScope scope(torch::kCPU, true);
    EXPECT_EQ(scope.active(), bf16);
    EXPECT_EQ(torch::mm(a, b).scalar_type(), bf16 ? torch::kBFloat16 : torch::kFloat);
  }
  EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat) << "the scope turned autocast off";
  {
    AutocastScope off(torch::kCPU, false);
    EXPECT_FALSE(off.active());
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat);
  }
}

// The cross-attention normalises its queries, keys and values with LayerNorms of float32
// weights; under bf16 autocast its projections come out in bfloat16, which LibTorch 1.13's CPU
// LayerNorm refuses unless they are cast first. The result is the float32 one to bfloat16's
// precision (8 bits of mantissa: a relative step of 2^-8 per rounding).
TEST(AutocastScope, CrossAttentionWithNormalisedQueriesRunsUnderCpuAutocast) {
  torch::manual_seed(3);
  MultiHeadAttention attention(MultiHeadAttentionOptions(32, 4).context_dim(16).qkv_norm(true));
  const torch::Tensor x = torch::randn({2, 10, 32}), context = torch::randn({2, 5, 16});
  const torch::Tensor mask =
      torch::tensor({1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, torch::kBool).view({2, 5});
  torch::NoGradGuard no_grad;
  const torch::Tensor reference = attention->forward(x, context, mask);
  set_bf16_autocast(torch::kCPU, true);
  torch::Tensor out;
  try {
    out = attention->forward(x, context, mask);
  } catch (...) {
    set_bf16_autocast(torch::kCPU, false);
    throw;
  }
  set_bf16_autocast(torch::kCPU, false);
  EXPECT_EQ(out.scalar_type(), torch::kBFloat16);
  const double scale = reference.abs().max().item<double>();
  EXPECT_LT((out.to(torch::kFloat) - reference).abs().max().item<double>(), 0.05 * scale);
  EXPECT_GT((out.to(torch::kFloat) - reference).abs().max().item<double>(), 0.0)
      << "the products ran in bfloat16";
}

}  // namespace
}  // namespace ecgtwin::model
