#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "ecgtwin/model/evaluator_net.hpp"
#include "ecgtwin/model/extractor.hpp"
#include "ecgtwin/util/error.hpp"
#include "test_support.hpp"

namespace ecgtwin::model {
namespace {

class EvaluatorTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(13); }
  static EvaluatorOptions small() {
    return EvaluatorOptions().channels({16, 32}).blocks_per_stage(1).se_reduction(4).statement_dim(10).text_hidden(24);
  }
};

TEST_F(EvaluatorTest, DefaultShapes) {
  EvaluatorNet net;
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor ecg = net->ecg_features(torch::randn({2, 12, 1024}));
  EXPECT_EQ(ecg.sizes(), (std::vector<int64_t>{2, 64}));
  EXPECT_EQ(ecg.dtype(), torch::kFloat32);
  const torch::Tensor text = net->text_features(torch::randn({2, 3, 768}), torch::ones({2, 3}, torch::kBool));
  EXPECT_EQ(text.sizes(), (std::vector<int64_t>{2, 64}));
  EXPECT_TRUE(torch::isfinite(ecg).all().item<bool>());
}

TEST_F(EvaluatorTest, TextSideIsTheMlpOfTheMaskedMean) {
  EvaluatorNet net(small());
  torch::NoGradGuard no_grad;
  torch::Tensor embeddings = torch::randn({2, 3, 10});
  const torch::Tensor mask = torch::tensor({true, false, true, false, false, false}).view({2, 3});
  const torch::Tensor mean = masked_mean(embeddings, mask);
  EXPECT_TRUE(torch::allclose(mean[0], (embeddings[0][0] + embeddings[0][2]) / 2.0));
  EXPECT_TRUE(mean[1].eq(0).all().item<bool>());  // no statement
  auto params = net->named_parameters();
  const torch::Tensor hidden =
      torch::gelu(torch::matmul(mean, params["text_mlp.fc1.weight"].t()) + params["text_mlp.fc1.bias"]);
  const torch::Tensor expected = torch::matmul(hidden, params["text_mlp.fc2.weight"].t()) + params["text_mlp.fc2.bias"];
  const torch::Tensor got = net->text_features(embeddings, mask);
  EXPECT_TRUE(torch::allclose(got, expected, 1e-5, 1e-6));
  embeddings.masked_fill_(mask.logical_not().unsqueeze(2), std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(torch::equal(got, net->text_features(embeddings, mask)));
}

TEST_F(EvaluatorTest, GradientsReachEveryParameter) {
  EvaluatorNet net(small());
  const torch::Tensor ecg = net->ecg_features(torch::randn({4, 12, 128}));
  const torch::Tensor text = net->text_features(torch::randn({4, 2, 10}), torch::ones({4, 2}, torch::kBool));
  net->clip_loss(ecg, text).backward();
  for (const auto& item : net->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_GT(item.value().grad().abs().sum().item<double>(), 0.0) << item.key();
  }
}

TEST_F(EvaluatorTest, ClipLossIsInfoNceWithTheLearnedTemperature) {
  EvaluatorNet net(small());
  const torch::Tensor a = torch::randn({3, 64});
  const torch::Tensor b = torch::randn({3, 64});
  EXPECT_NEAR(net->logit_scale().item<double>(), std::log(1.0 / 0.07), 1e-6);
  EXPECT_EQ(net->clip_loss(a, b).item<float>(), info_nce(a, b, net->logit_scale()).item<float>());
  // Matching features score lower than shuffled ones.
  EXPECT_LT(net->clip_loss(a, a).item<float>(), net->clip_loss(a, a.roll(1, 0)).item<float>());
}

TEST_F(EvaluatorTest, SaveLoadRoundTripIsExact) {
  test::TempDir dir;
  EvaluatorNet net(small());
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({2, 12, 256});
  const torch::Tensor before = net->ecg_features(x);
  torch::save(net, (dir / "evaluator.pt").string());
  EvaluatorNet restored(small());
  restored->eval();
  torch::load(restored, (dir / "evaluator.pt").string());
  EXPECT_TRUE(torch::equal(before, restored->ecg_features(x)));
  EXPECT_THROW(EvaluatorNet(small().kernel(4)), InputError);
}

}  // namespace
}  // namespace ecgtwin::model
