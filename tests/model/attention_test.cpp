#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "ecgtwin/model/attention.hpp"
#include "ecgtwin/model/rotary.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::model {
namespace {

class AttentionTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(11); }
};

// Scalar loops over the definition softmax(q k^T / sqrt(D)) v in float64.
torch::Tensor loop_attention(const torch::Tensor& q, const torch::Tensor& k,
                             const torch::Tensor& v, const std::vector<std::vector<bool>>& mask) {
  auto qa = q.to(torch::kFloat64).contiguous();
  auto ka = k.to(torch::kFloat64).contiguous();
  auto va = v.to(torch::kFloat64).contiguous();
  const int64_t B = q.size(0), H = q.size(1), L = q.size(2), S = k.size(2), D = q.size(3);
  auto out = torch::zeros({B, H, L, D}, torch::kFloat64);
  auto Q = qa.accessor<double, 4>(), K = ka.accessor<double, 4>(), V = va.accessor<double, 4>();
  auto O = out.accessor<double, 4>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t i = 0; i < L; ++i) {
        std::vector<double> w(S, 0.0);
        double m = -INFINITY, total = 0.0;
        for (int64_t j = 0; j < S; ++j) {
          if (!mask.empty() && !mask[b][j]) continue;
          double s = 0.0;
          for (int64_t d = 0; d < D; ++d) s += Q[b][h][i][d] * K[b][h][j][d];
          w[j] = s / std::sqrt(static_cast<double>(D));
          m = std::max(m, w[j]);
        }
        if (m == -INFINITY) continue;
        for (int64_t j = 0; j < S; ++j) {
          if (!mask.empty() && !mask[b][j]) { w[j] = 0.0; continue; }
          w[j] = std::exp(w[j] - m);
          total += w[j];
        }
        for (int64_t j = 0; j < S; ++j) {
          for (int64_t d = 0; d < D; ++d) O[b][h][i][d] += w[j] / total * V[b][h][j][d];
        }
      }
    }
  }
  return out;
}

TEST_F(AttentionTest, ReferenceMatchesTheDefinitionWithAndWithoutMask) {
  auto q = torch::randn({2, 3, 5, 8}), k = torch::randn({2, 3, 6, 8}), v = torch::randn({2, 3, 6, 8});
  auto plain = attention_reference(q, k, v, {}, 0.0, false, nullptr, 0);
  EXPECT_TRUE(torch::allclose(plain.to(torch::kFloat64), loop_attention(q, k, v, {}), 1e-5, 1e-6));
  std::vector<std::vector<bool>> keep = {{true, true, false, true, false, false},
                                         {false, true, true, true, true, true}};
  auto mask = torch::tensor({1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1}, torch::kBool).view({2, 6});
  auto masked = attention_reference(q, k, v, mask, 0.0, false, nullptr, 0);
  EXPECT_TRUE(torch::allclose(masked.to(torch::kFloat64), loop_attention(q, k, v, keep), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(masked, plain, 1e-3, 1e-3));
}

TEST_F(AttentionTest, ModuleMatchesHandWrittenProjections) {
  MultiHeadAttention attn(MultiHeadAttentionOptions(16, 4).context_dim(8));
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 5, 16}), ctx = torch::randn({2, 7, 8});
  auto mask = torch::ones({2, 7}, torch::kBool);
  mask[0][6] = false;
  mask[1][0] = false;
  auto params = attn->named_parameters();
  auto q = torch::addmm(params["q.bias"], x.view({-1, 16}), params["q.weight"].t()).view({2, 5, 4, 4}).transpose(1, 2);
  auto kv = torch::addmm(params["kv.bias"], ctx.view({-1, 8}), params["kv.weight"].t()).view({2, 7, 32});
  auto k = kv.narrow(-1, 0, 16).view({2, 7, 4, 4}).transpose(1, 2);
  auto v = kv.narrow(-1, 16, 16).view({2, 7, 4, 4}).transpose(1, 2);
  std::vector<std::vector<bool>> keep(2, std::vector<bool>(7, true));
  keep[0][6] = false;
  keep[1][0] = false;
  auto heads = loop_attention(q, k, v, keep).to(torch::kFloat32).transpose(1, 2).reshape({2, 5, 16});
  auto expected = torch::addmm(params["proj.bias"], heads.view({-1, 16}), params["proj.weight"].t()).view({2, 5, 16});
  auto out = attn->forward(x, ctx, mask);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 5, 16}));
  EXPECT_TRUE(torch::allclose(out, expected, 1e-4, 1e-5));
}

TEST_F(AttentionTest, PaddedKeysChangeNoOutputBit) {
  MultiHeadAttention attn(MultiHeadAttentionOptions(32, 4).context_dim(24).qkv_norm(true));
  torch::NoGradGuard no_grad;
  auto x = torch::randn({3, 9, 32}), ctx = torch::randn({3, 5, 24});
  auto mask = torch::tensor({1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1}, torch::kBool).view({3, 5});
  auto out = attn->forward(x, ctx, mask);
  auto other = ctx.clone();
  other.index_put_({mask.logical_not()}, torch::randn({6, 24}) * 100.0);
  EXPECT_TRUE(torch::equal(attn->forward(x, other, mask), out));
  other[2][4] += 1.0;  // a real token: must matter
  EXPECT_FALSE(torch::equal(attn->forward(x, other, mask), out));
}

TEST_F(AttentionTest, QueriesWithoutRealKeysGiveZeroNotNaN) {
  MultiHeadAttention attn(MultiHeadAttentionOptions(16, 2).context_dim(16));
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 4, 16}), ctx = torch::randn({2, 3, 16});
  auto mask = torch::tensor({0, 0, 0, 1, 0, 1}, torch::kBool).view({2, 3});
  auto out = attn->forward(x, ctx, mask);
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
  // Zero attention output leaves only the output projection's bias.
  auto bias = attn->named_parameters()["proj.bias"];
  EXPECT_TRUE(torch::allclose(out[0], bias.expand({4, 16})));
  EXPECT_FALSE(torch::allclose(out[1], bias.expand({4, 16})));
}

TEST_F(AttentionTest, SelfAttentionShapesGradientsAndRotaryDependsOnOrder) {
  MultiHeadAttention plain(MultiHeadAttentionOptions(32, 8));
  MultiHeadAttention rope(MultiHeadAttentionOptions(32, 8).rotary(true));
  auto x = torch::randn({2, 10, 32}, torch::requires_grad());
  auto y = rope->forward(x);
  EXPECT_EQ(y.sizes(), x.sizes());
  y.pow(2).sum().backward();
  for (const auto& p : rope->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
  torch::NoGradGuard no_grad;
  // Without positions self-attention is permutation-equivariant; with rotary it is not.
  auto perm = torch::randperm(10);
  auto xs = x.detach();
  EXPECT_TRUE(torch::allclose(plain->forward(xs.index_select(1, perm)),
                              plain->forward(xs).index_select(1, perm), 1e-5, 1e-6));
  auto rope_params = rope->named_parameters();
  for (const auto& p : plain->named_parameters()) rope_params[p.key()].copy_(p.value());
  EXPECT_FALSE(torch::allclose(rope->forward(xs.index_select(1, perm)),
                               rope->forward(xs).index_select(1, perm), 1e-3, 1e-3));
}

TEST_F(AttentionTest, RotaryScoresDependOnlyOnThePositionDifference) {
  RotaryEmbedding rotary(RotaryEmbeddingOptions(16));
  auto q = torch::randn({16}, torch::kFloat64), k = torch::randn({16}, torch::kFloat64);
  const int64_t L = 12;
  // Same q at every position and same k at every position: score(i, j) = f(i - j).
  auto qs = rotary->forward(q.expand({1, 1, L, 16}).contiguous());
  auto ks = rotary->forward(k.expand({1, 1, L, 16}).contiguous());
  auto scores = torch::matmul(qs, ks.transpose(-1, -2))[0][0];
  for (int64_t i = 1; i < L; ++i) {
    for (int64_t j = 1; j < L; ++j) {
      EXPECT_NEAR(scores[i][j].item<double>(), scores[i - 1][j - 1].item<double>(), 1e-10);
    }
  }
  EXPECT_GT((scores[0][0] - scores[0][3]).abs().item<double>(), 1e-6);
  // Rotation keeps norms, and position 0 is the identity.
  EXPECT_TRUE(torch::allclose(qs.norm(2, -1), q.norm().expand({1, 1, L})));
  EXPECT_TRUE(torch::equal(qs[0][0][0], q));
  // Closed form of the first pair at position 5: angle 5 * base^0 = 5 rad.
  const double c = std::cos(5.0), s = std::sin(5.0);
  EXPECT_NEAR(qs[0][0][5][0].item<double>(), q[0].item<double>() * c - q[8].item<double>() * s, 1e-12);
  EXPECT_NEAR(qs[0][0][5][8].item<double>(), q[8].item<double>() * c + q[0].item<double>() * s, 1e-12);
}

TEST_F(AttentionTest, HookSeesProbabilitiesAndItsResultIsUsed) {
  struct Uniform : CrossAttentionHook {
    int calls = 0;
    std::vector<int64_t> shape;
    bool replace = false;
    torch::Tensor on_probabilities(int block, const torch::Tensor& p) override {
      ++calls;
      EXPECT_EQ(block, 3);
      shape = p.sizes().vec();
      EXPECT_TRUE(torch::allclose(p.sum(-1), torch::ones({2, 4, 6})));
      return replace ? torch::full_like(p, 1.0 / p.size(-1)) : p;
    }
  } hook;
  MultiHeadAttention attn(MultiHeadAttentionOptions(16, 4).context_dim(16));
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 6, 16}), ctx = torch::randn({2, 5, 16});
  auto base = attn->forward(x, ctx);
  auto same = attn->forward(x, ctx, {}, &hook, 3);
  EXPECT_EQ(hook.calls, 1);
  EXPECT_EQ(hook.shape, (std::vector<int64_t>{2, 4, 6, 5}));
  EXPECT_TRUE(torch::allclose(same, base, 1e-5, 1e-6));
  hook.replace = true;
  auto changed = attn->forward(x, ctx, {}, &hook, 3);
  EXPECT_FALSE(torch::allclose(changed, base, 1e-3, 1e-3));
  // Uniform probabilities: every query gets the mean value, so all rows agree.
  EXPECT_TRUE(torch::allclose(changed[0][0], changed[0][5], 1e-5, 1e-6));
}

TEST_F(AttentionTest, RejectsHeadsThatDoNotDivideTheWidth) {
  EXPECT_THROW(MultiHeadAttention(MultiHeadAttentionOptions(30, 4)), InputError);
  EXPECT_THROW(RotaryEmbedding(RotaryEmbeddingOptions(7)), InputError);
}

}  // namespace
}  // namespace ecgtwin::model
