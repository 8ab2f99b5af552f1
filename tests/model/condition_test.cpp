#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "ecgtwin/model/condition.hpp"
#include "ecgtwin/util/error.hpp"
#include "test_support.hpp"

namespace ecgtwin::model {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class ConditionTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(5); }
  static ConditionEncoderOptions small() { return ConditionEncoderOptions().statement_dim(6).token_dim(8).max_statements(5); }
};

TEST_F(ConditionTest, ScalarFeaturesUseThePublishedStatistics) {
  ConditionEncoder encoder;
  // 98.32 bpm = mean + 1 sd (77.95 + 20.37); 47.12 years = mean - 1 sd (64.25 - 17.13).
  const auto features = encoder->scalar_features(Demographics::from({98.32, kNaN, 57.58}, {47.12, 81.38, kNaN}, {1, 2, 0}));
  ASSERT_EQ(features.sizes(), (std::vector<int64_t>{3, 3}));
  const auto f = features.accessor<float, 2>();
  EXPECT_NEAR(f[0][0], 1.0, 1e-5);
  EXPECT_NEAR(f[0][1], -1.0, 1e-5);
  EXPECT_EQ(f[0][2], 0.0f);  // female
  EXPECT_EQ(f[1][0], 0.0f);  // unknown heart rate -> mean
  EXPECT_NEAR(f[1][1], 1.0, 1e-5);
  EXPECT_EQ(f[1][2], 1.0f);  // male
  EXPECT_NEAR(f[2][0], -1.0, 1e-5);
  EXPECT_EQ(f[2][1], 0.0f);  // unknown age -> mean
  EXPECT_EQ(f[2][2], 0.5f);  // unknown sex
  EXPECT_THROW(Demographics::from({70}, {50}, {3}), InputError);
  EXPECT_THROW(Demographics::from({70, 80}, {50}, {1}), InputError);
}

TEST_F(ConditionTest, TokensMatchAHandComputation) {
  ConditionEncoder encoder(small());
  torch::NoGradGuard no_grad;
  const torch::Tensor embeddings = torch::randn({2, 3, 6});
  const torch::Tensor mask = torch::tensor({true, true, true, true, false, false}).view({2, 3});
  const auto demographics = Demographics::from({60.0, 100.0}, {30.0, kNaN}, {2, 1});
  const auto out = encoder->forward(embeddings, mask, demographics);
  ASSERT_EQ(out.tokens.sizes(), (std::vector<int64_t>{2, 3, 8}));
  EXPECT_TRUE(torch::equal(out.mask, mask));

  auto params = encoder->named_parameters();
  const torch::Tensor w = params["proj.weight"], b = params["proj.bias"], pos = params["position_embedding"];
  const torch::Tensor gamma = params["norm.weight"], beta = params["norm.bias"];
  const double scalars[2][3] = {{(60.0 - 77.95) / 20.37, (30.0 - 64.25) / 17.13, 1.0}, {(100.0 - 77.95) / 20.37, 0.0, 0.0}};
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t s = 0; s < 3; ++s) {
      if (!mask[i][s].item<bool>()) {
        EXPECT_TRUE(out.tokens[i][s].eq(0).all().item<bool>());
        continue;
      }
      const torch::Tensor input = torch::cat({embeddings[i][s], torch::tensor({scalars[i][0], scalars[i][1], scalars[i][2]}, torch::kFloat32)});
      const torch::Tensor h = torch::matmul(w, input) + b + pos[s];
      const torch::Tensor mean = h.mean();
      const torch::Tensor var = (h - mean).pow(2).mean();
      const torch::Tensor expected = (h - mean) / torch::sqrt(var + 1e-5) * gamma + beta;
      EXPECT_TRUE(torch::allclose(out.tokens[i][s], expected, 1e-4, 1e-5)) << i << "," << s;
    }
  }
}

TEST_F(ConditionTest, PaddedStatementsDoNotLeakIntoRealTokens) {
  ConditionEncoder encoder(small());
  torch::NoGradGuard no_grad;
  torch::Tensor embeddings = torch::randn({2, 4, 6});
  const torch::Tensor mask = torch::tensor({true, true, false, false, true, false, false, false}).view({2, 4});
  const auto demographics = Demographics::from({70.0, 80.0}, {50.0, 60.0}, {1, 2});
  const auto a = encoder->forward(embeddings, mask, demographics);
  embeddings.masked_fill_(mask.logical_not().unsqueeze(2), std::numeric_limits<float>::quiet_NaN());
  const auto b = encoder->forward(embeddings, mask, demographics);
  EXPECT_TRUE(torch::equal(a.tokens, b.tokens));
  EXPECT_THROW(encoder->forward(torch::randn({1, 6, 6}), torch::ones({1, 6}, torch::kBool),
                                Demographics::from({70}, {50}, {1})),
               c10::Error);  // more statements than positions
}

TEST_F(ConditionTest, GradientsReachEveryParameter) {
  ConditionEncoder encoder(small());
  const auto out = encoder->forward(torch::randn({3, 5, 6}), torch::ones({3, 5}, torch::kBool),
                                    Demographics::from({70.0, 80.0, 90.0}, {50.0, 60.0, 70.0}, {1, 2, 0}));
  (out.tokens * torch::randn_like(out.tokens)).sum().backward();
  for (const auto& item : encoder->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_GT(item.value().grad().abs().sum().item<double>(), 0.0) << item.key();
  }
}

TEST_F(ConditionTest, NormalisationConstantsTravelWithTheArchive) {
  test::TempDir dir;
  ConditionEncoder custom(small().hr_mean(60.0).hr_std(10.0).age_mean(40.0).age_std(5.0).unknown_sex(0.25));
  torch::save(custom, (dir / "condition.pt").string());
  ConditionEncoder restored(small());
  torch::load(restored, (dir / "condition.pt").string());
  const auto f = restored->scalar_features(Demographics::from({70.0}, {45.0}, {0}));
  EXPECT_NEAR(f[0][0].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(f[0][1].item<double>(), 1.0, 1e-6);
  EXPECT_EQ(f[0][2].item<double>(), 0.25);
}

TEST(ReferenceEncoderTest, TokensAreLayerNormedPatchProjectionsWithPositions) {
  torch::manual_seed(2);
  ReferenceEncoder encoder(
      ReferenceEncoderOptions().in_channels(3).length(12).patch_size(4).token_dim(5));
  torch::NoGradGuard no_grad;
  // LayerNorm's affine parameters away from the identity, so that they are checked too.
  for (auto& p : encoder->named_parameters())
    if (p.key().rfind("norm.", 0) == 0) p.value().copy_(torch::randn_like(p.value()));
  const torch::Tensor x = torch::randn({2, 3, 12});
  const torch::Tensor tokens = encoder->forward(x);
  ASSERT_EQ(tokens.sizes(), (std::vector<int64_t>{2, 3, 5}));
  const auto params = encoder->named_parameters();
  const torch::Tensor w = params["proj.weight"].reshape({5, 12});  // [D, C * patch]
  const torch::Tensor bias = params["proj.bias"], position = params["position_embedding"];
  const torch::Tensor gamma = params["norm.weight"], beta = params["norm.bias"];
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t j = 0; j < 3; ++j) {
      // Patch j of every channel, channel-major, as the convolution's weight is laid out.
      const torch::Tensor patch = x[b].slice(1, 4 * j, 4 * j + 4).reshape({12});
      const torch::Tensor h = w.matmul(patch) + bias + position[j];
      const torch::Tensor mean = h.mean(), var = (h - mean).pow(2).mean();
      const torch::Tensor expected = (h - mean) / torch::sqrt(var + 1e-5) * gamma + beta;
      EXPECT_TRUE(torch::allclose(tokens[b][j], expected, 1e-5, 1e-5)) << b << ", " << j;
    }
  }
  EXPECT_THROW(encoder->forward(torch::randn({2, 3, 8})), InputError);
  EXPECT_THROW(ReferenceEncoder(ReferenceEncoderOptions().length(12).patch_size(5)), InputError);
}

}  // namespace
}  // namespace ecgtwin::model
