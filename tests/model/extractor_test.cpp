#include <gtest/gtest.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "ecgtwin/model/extractor.hpp"
#include "ecgtwin/util/error.hpp"
#include "test_support.hpp"

namespace ecgtwin::model {
namespace {

class ExtractorTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(11); }
  static ExtractorOptions small() {
    ExtractorOptions options;
    options.hidden(32).heads(4).ffn(64).depth(2).condition(ConditionEncoderOptions().statement_dim(12));
    return options;
  }
  static Demographics demographics(int64_t batch) {
    std::vector<double> hr, age;
    std::vector<int64_t> sex;
    for (int64_t i = 0; i < batch; ++i) {
      hr.push_back(60.0 + 7.0 * i);
      age.push_back(30.0 + 5.0 * i);
      sex.push_back(i % 3);
    }
    return Demographics::from(hr, age, sex);
  }
};

TEST_F(ExtractorTest, DefaultShapesAndParameterCount) {
  Extractor ibe;
  torch::NoGradGuard no_grad;
  const torch::Tensor latent = torch::randn({2, 4, 128});
  const torch::Tensor embeddings = torch::randn({2, 3, 768});
  const torch::Tensor mask = torch::tensor({true, true, true, true, false, false}).view({2, 3});
  const torch::Tensor base = ibe->extract(latent, embeddings, mask, demographics(2));
  EXPECT_EQ(base.sizes(), (std::vector<int64_t>{2, 256}));
  EXPECT_EQ(base.dtype(), torch::kFloat32);
  EXPECT_TRUE(torch::isfinite(base).all().item<bool>());

  // Closed form of the architecture (d = 256, FFN 1024, 3 layers, statement dim 768).
  const int64_t d = 256, f = 1024, e = 768;
  const int64_t layer = 3 * 2 * d             // three LayerNorms
                        + (d * 3 * d + 3 * d) + (d * d + d)  // self-attention qkv, proj
                        + (d * d + d) + (d * 2 * d + 2 * d) + (d * d + d)  // cross-attention q, kv, proj
                        + (d * f + f) + (f * d + d);  // FFN
  const int64_t condition = (e + 3) * d + d + 25 * d + 2 * d;
  const int64_t expected = condition + (4 * d + d) + 3 * layer + 2 * d + d + 1;
  int64_t count = 0;
  for (const auto& p : ibe->parameters()) count += p.numel();
  EXPECT_EQ(count, expected);
  EXPECT_NEAR(count / 1e6, 3.4, 0.25);
  EXPECT_NEAR(ibe->logit_scale().item<double>(), std::log(1.0 / 0.07), 1e-6);
}

TEST_F(ExtractorTest, PaddedTokensChangeNoOutputBit) {
  Extractor ibe(small());
  ibe->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor latent = torch::randn({3, 4, 16});
  torch::Tensor tokens = torch::randn({3, 5, 32});
  const torch::Tensor mask =
      torch::tensor({true, true, false, false, false, true, true, true, true, false, true, false, false, false, false})
          .view({3, 5});
  const torch::Tensor a = ibe->forward(latent, tokens, mask);
  tokens.masked_fill_(mask.logical_not().unsqueeze(2), 1e4);
  const torch::Tensor b = ibe->forward(latent, tokens, mask);
  EXPECT_TRUE(torch::equal(a, b));
  // ... while a real token does change the output.
  tokens[0][0] += 1.0;
  EXPECT_FALSE(torch::equal(a[0], ibe->forward(latent, tokens, mask)[0]));
}

TEST_F(ExtractorTest, CrossAttentionIsSubtracted) {
  ExtractorLayer layer(ExtractorLayerOptions(16, 2, 32, 16));
  auto params = layer->named_parameters();
  torch::NoGradGuard no_grad;
  // Silence self-attention and FFN; make the cross-attention output a constant c.
  for (const char* name : {"attn.proj.weight", "attn.proj.bias", "mlp.fc2.weight", "mlp.fc2.bias", "cross_attn.proj.weight"})
    params[name].zero_();
  const torch::Tensor x = torch::randn({2, 6, 16});
  const torch::Tensor tokens = torch::randn({2, 3, 16});
  const torch::Tensor mask = torch::ones({2, 3}, torch::kBool);
  params["cross_attn.proj.bias"].fill_(0.75);
  EXPECT_TRUE(torch::allclose(layer->forward(x, tokens, mask), x - 0.75, 0, 1e-6));  // x - relu(+0.75)
  params["cross_attn.proj.bias"].fill_(-0.75);
  EXPECT_TRUE(torch::equal(layer->forward(x, tokens, mask), x));  // relu(-0.75) = 0
  // Mixed signs: only the positive part is removed.
  params["cross_attn.proj.bias"].copy_(torch::linspace(-1, 1, 16));
  const torch::Tensor expected = x - torch::linspace(-1, 1, 16).clamp_min(0);
  EXPECT_TRUE(torch::allclose(layer->forward(x, tokens, mask), expected, 0, 1e-6));
}

TEST_F(ExtractorTest, DroppedRowsSeeOnlyTheNullToken) {
  Extractor ibe(small());
  torch::NoGradGuard no_grad;
  const ConditionTokens conditions{torch::randn({3, 4, 32}), torch::ones({3, 4}, torch::kBool)};
  const auto dropped = ibe->drop_conditions(conditions, torch::tensor({false, true, false}));
  const torch::Tensor null_token = ibe->named_parameters()["null_token"];
  EXPECT_TRUE(torch::equal(dropped.tokens[0], conditions.tokens[0]));
  EXPECT_TRUE(torch::equal(dropped.tokens[2], conditions.tokens[2]));
  EXPECT_TRUE(torch::equal(dropped.tokens[1][0], null_token));
  EXPECT_TRUE(torch::equal(dropped.mask[1], torch::tensor({true, false, false, false})));
  EXPECT_TRUE(dropped.mask[0].all().item<bool>());

  auto options = small();
  options.condition_dropout(0.15);
  Extractor ibe15(options);
  const torch::Tensor a = ibe15->sample_condition_drop(20000, at::make_generator<at::CPUGeneratorImpl>(1));
  const torch::Tensor b = ibe15->sample_condition_drop(20000, at::make_generator<at::CPUGeneratorImpl>(1));
  EXPECT_TRUE(torch::equal(a, b));
  // Binomial(20000, 0.15): sd = 50.5 draws; 5 sd either side.
  EXPECT_NEAR(a.sum().item<double>(), 3000.0, 5 * 50.5);
}

TEST_F(ExtractorTest, GradientsReachEveryParameter) {
  Extractor ibe(small());
  const int64_t batch = 4;
  const torch::Tensor embeddings = torch::randn({batch, 25, 12});
  const torch::Tensor mask = torch::ones({batch, 25}, torch::kBool);
  const torch::Tensor drop = torch::tensor({true, false, false, false});
  const torch::Tensor a = ibe->extract(torch::randn({batch, 4, 16}), embeddings, mask, demographics(batch), drop);
  const torch::Tensor b = ibe->extract(torch::randn({batch, 4, 16}), embeddings, mask, demographics(batch));
  info_nce(a, b, ibe->logit_scale()).backward();
  for (const auto& item : ibe->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_GT(item.value().grad().abs().sum().item<double>(), 0.0) << item.key();
  }
}

TEST_F(ExtractorTest, InfoNceMatchesAHandComputation) {
  // a = [(1,0), (0,1)], b = [(1,0), (0.6,0.8)], scale s = 2:
  // logits = s [[1, 0.6], [0, 0.8]]. Row CE: row 0 = -log(e^2 / (e^2 + e^1.2)),
  // row 1 = -log(e^1.6 / (e^0 + e^1.6)); column CE: col 0 = -log(e^2 / (e^2 + e^0)),
  // col 1 = -log(e^1.6 / (e^1.2 + e^1.6)).
  const torch::Tensor a = torch::tensor({3.0, 0.0, 0.0, 0.5}, torch::kFloat64).view({2, 2});  // norms do not matter
  const torch::Tensor b = torch::tensor({2.0, 0.0, 0.6, 0.8}, torch::kFloat64).view({2, 2});
  const double rows = std::log1p(std::exp(1.2 - 2.0)) + std::log1p(std::exp(-1.6));
  const double cols = std::log1p(std::exp(-2.0)) + std::log1p(std::exp(1.2 - 1.6));
  const double expected = 0.5 * (rows / 2 + cols / 2);
  const torch::Tensor scale = torch::tensor(std::log(2.0), torch::kFloat64);
  EXPECT_NEAR(info_nce(a, b, scale).item<double>(), expected, 1e-12);
  // exp(logit_scale) is clamped at 100.
  const torch::Tensor big = torch::tensor(std::log(1000.0), torch::kFloat64);
  const torch::Tensor hundred = torch::tensor(std::log(100.0), torch::kFloat64);
  EXPECT_NEAR(info_nce(a, b, big).item<double>(), info_nce(a, b, hundred).item<double>(), 1e-12);
}

TEST_F(ExtractorTest, SaveLoadRoundTripIsExact) {
  test::TempDir dir;
  Extractor ibe(small());
  ibe->eval();
  const torch::Tensor latent = torch::randn({2, 4, 16});
  const torch::Tensor embeddings = torch::randn({2, 3, 12});
  const torch::Tensor mask = torch::tensor({true, true, false, true, false, false}).view({2, 3});
  torch::NoGradGuard no_grad;
  const torch::Tensor before = ibe->extract(latent, embeddings, mask, demographics(2));
  torch::save(ibe, (dir / "ibe.pt").string());
  Extractor restored(small());
  restored->eval();
  torch::load(restored, (dir / "ibe.pt").string());
  EXPECT_TRUE(torch::equal(before, restored->extract(latent, embeddings, mask, demographics(2))));
}

TEST_F(ExtractorTest, InvalidOptionsAreInputErrors) {
  EXPECT_THROW(Extractor(small().heads(5)), InputError);
  EXPECT_THROW(Extractor(small().condition_dropout(1.5)), InputError);
}

}  // namespace
}  // namespace ecgtwin::model
