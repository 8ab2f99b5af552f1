#include "ecgtwin/eval/metrics.hpp"

#include "ecgtwin/util/error.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace ecgtwin::eval {
namespace {

TEST(Frechet, ClosedFormForDiagonalGaussians) {
  // Diagonal covariances: FID = |mu1-mu2|^2 + sum_i (s1_i + s2_i - 2 sqrt(s1_i s2_i)).
  auto mu1 = torch::tensor({0.0, 1.0, 2.0}, torch::kDouble);
  auto mu2 = torch::tensor({1.0, 1.0, 0.0}, torch::kDouble);
  auto s1 = torch::tensor({1.0, 4.0, 9.0}, torch::kDouble);
  auto s2 = torch::tensor({4.0, 1.0, 9.0}, torch::kDouble);
  double expected = (1 + 0 + 4) + (1 + 4 - 2 * 2) + (4 + 1 - 2 * 2) + (9 + 9 - 2 * 9);
  EXPECT_NEAR(frechet_distance(mu1, torch::diag(s1), mu2, torch::diag(s2)), expected, 1e-9);
}

TEST(Frechet, RotatedCovarianceHasZeroDistanceToItself) {
  auto a = torch::randn({3, 3}, torch::kDouble);
  auto sigma = a.matmul(a.t()) + torch::eye(3, torch::kDouble);
  auto mu = torch::randn({3}, torch::kDouble);
  EXPECT_NEAR(frechet_distance(mu, sigma, mu, sigma), 0.0, 1e-9);
}

TEST(Frechet, SampleVersionApproachesTheClosedForm) {
  torch::manual_seed(1);
  auto x = torch::randn({20000, 2}, torch::kDouble);
  auto y = torch::randn({20000, 2}, torch::kDouble) * 2.0 + 1.0;
  // Expected: |1,1|^2 = 2; trace term per dim 1 + 4 - 2*2 = 1 -> 2. Total 4.
  EXPECT_NEAR(frechet_distance(x, y), 4.0, 0.1);
  EXPECT_NEAR(frechet_distance(x, x), 0.0, 1e-8);
}

TEST(PrecisionRecall, IdenticalSetsAndDisjointSets) {
  auto real = torch::arange(0, 20, torch::kDouble).unsqueeze(1);
  auto same = precision_recall(real, real.clone(), 3);
  EXPECT_DOUBLE_EQ(same.precision, 1.0);
  EXPECT_DOUBLE_EQ(same.recall, 1.0);
  EXPECT_DOUBLE_EQ(same.f1, 1.0);
  auto far = precision_recall(real, real + 1000.0, 3);
  EXPECT_DOUBLE_EQ(far.precision, 0.0);
  EXPECT_DOUBLE_EQ(far.recall, 0.0);
}

TEST(PrecisionRecall, HandComputedCase) {
  // Real: 0..9 on a line, k=1 radius of each point is 1. Fake: {0.5, 2.5, 50, 60, 70}:
  // 0.5 and 2.5 lie within 1 of a real point -> precision 2/5. Fake radii (k=1): 0.5->2,
  // 2.5->2, 50->10, 60->10, 70->10. Real points within a fake ball: 0..4 (from 0.5/2.5 with
  // radius 2) -> 0,1,2,3,4 -> recall 5/10.
  auto real = torch::arange(0, 10, torch::kDouble).unsqueeze(1);
  auto fake = torch::tensor({0.5, 2.5, 50.0, 60.0, 70.0}, torch::kDouble).unsqueeze(1);
  auto pr = precision_recall(real, fake, 1);
  EXPECT_DOUBLE_EQ(pr.precision, 0.4);
  EXPECT_DOUBLE_EQ(pr.recall, 0.5);
}

TEST(Silhouette, SeparatedClustersAndHandComputedCase) {
  auto features = torch::tensor({{1.0, 0.0}, {1.0, 0.0}, {0.0, 1.0}, {0.0, 1.0}}, torch::kDouble);
  EXPECT_NEAR(silhouette(features, {"a", "a", "b", "b"}), 1.0, 1e-12);
  // Angles 0, 30 deg (label a) and 90 deg (label b, singleton: not counted).
  // Cosine distances: d(0,30) = 1 - cos30, d(0,90) = 1, d(30,90) = 1 - cos60 = 0.5.
  const double c30 = 1.0 - std::cos(M_PI / 6);
  auto f2 = torch::tensor({{1.0, 0.0}, {std::cos(M_PI / 6), std::sin(M_PI / 6)}, {0.0, 1.0}}, torch::kDouble);
  double s0 = (1.0 - c30) / 1.0;
  double s1 = (0.5 - c30) / 0.5;
  EXPECT_NEAR(silhouette(f2, {"a", "a", "b"}), (s0 + s1) / 2, 1e-12);
}

TEST(Identification, NearestGalleryRowByCosine) {
  auto gallery = torch::tensor({{1.0, 0.0}, {0.0, 1.0}}, torch::kDouble);
  auto queries = torch::tensor({{0.9, 0.1}, {0.2, 0.8}, {0.6, 0.4}}, torch::kDouble);
  EXPECT_NEAR(identification_top1(queries, {"p1", "p2", "p2"}, gallery, {"p1", "p2"}), 2.0 / 3.0, 1e-12);
}

TEST(ClipScore, CosineTimesHundredClampedAtZero) {
  auto a = torch::tensor({{1.0, 0.0}, {1.0, 0.0}}, torch::kDouble);
  auto b = torch::tensor({{1.0, 1.0}, {-1.0, 0.0}}, torch::kDouble);
  EXPECT_NEAR(clip_score(a, b), 100.0 * (std::sqrt(0.5) + 0.0) / 2.0, 1e-9);
}

TEST(MultilabelScores, HandComputedCase) {
  // Rows: right, right, one false positive, one false negative; class 3 never occurs.
  auto labels = torch::tensor({1, 0, 0, 0, /**/ 0, 1, 0, 0, /**/ 1, 0, 0, 0, /**/ 1, 1, 0, 0}, torch::kFloat).view({4, 4});
  auto predicted = torch::tensor({1, 0, 0, 0, /**/ 0, 1, 0, 0, /**/ 1, 0, 1, 0, /**/ 1, 0, 0, 0}, torch::kFloat).view({4, 4});
  auto s = multilabel_scores(predicted, labels);
  EXPECT_DOUBLE_EQ(s.exact_match, 0.5);
  EXPECT_DOUBLE_EQ(s.label_accuracy, 14.0 / 16.0);
  // class 0: TP 3 -> 1; class 1: TP 1, FN 1 -> 2/3; class 2: FP 1 -> 0; class 3: not scored.
  ASSERT_EQ(s.f1.size(), 4u);
  EXPECT_DOUBLE_EQ(s.f1[0], 1.0);
  EXPECT_NEAR(s.f1[1], 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(s.f1[2], 0.0);
  EXPECT_TRUE(std::isnan(s.f1[3]));
  EXPECT_EQ(s.scored_classes, 3);
  EXPECT_NEAR(s.macro_f1, (1.0 + 2.0 / 3.0 + 0.0) / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(multilabel_scores(labels, labels).macro_f1, 1.0);
  EXPECT_THROW(multilabel_scores(predicted, labels.slice(0, 0, 2)), c10::Error);
}

// The four examples of Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3
// (the score interval without continuity correction), to the four decimals printed there.
TEST(WilsonInterval, NewcombesExamples) {
  const struct {
    int64_t successes, trials;
    double lower, upper;
  } cases[] = {{81, 263, 0.2553, 0.3662},
               {15, 148, 0.0624, 0.1605},
               {0, 20, 0.0, 0.1611},
               {1, 29, 0.0061, 0.1718}};
  for (const auto& c : cases) {
    const Interval got = wilson_interval(c.successes, c.trials);
    EXPECT_NEAR(got.lower, c.lower, 5e-5) << c.successes << " of " << c.trials;
    EXPECT_NEAR(got.upper, c.upper, 5e-5) << c.successes << " of " << c.trials;
  }
  // All successes mirror no success; a wider quantile gives a wider interval.
  const Interval all = wilson_interval(20, 20);
  EXPECT_NEAR(all.lower, 1.0 - 0.1611, 5e-5);
  EXPECT_DOUBLE_EQ(all.upper, 1.0);
  const Interval wide = wilson_interval(81, 263, 2.5758293035489);
  EXPECT_LT(wide.lower, 0.2553);
  EXPECT_GT(wide.upper, 0.3662);
  EXPECT_THROW(wilson_interval(3, 2), InputError);
  EXPECT_THROW(wilson_interval(0, 0), InputError);
  EXPECT_THROW(wilson_interval(-1, 5), InputError);
}

}  // namespace
}  // namespace ecgtwin::eval
