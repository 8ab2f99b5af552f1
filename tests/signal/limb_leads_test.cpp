// The limb-lead relations (Einthoven, Goldberger): against ECGs built to keep them, against
// perturbations that break them by a known amount, and against the closed-form property of an
// orthogonal projection.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "ecgtwin/signal/limb_leads.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::signal {
namespace {

constexpr std::int64_t kLeads = 12;

// 12 leads whose limb leads follow from random I and II; the chest leads are random too.
std::vector<float> consistent_ecg(std::int64_t samples, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  std::vector<float> x(static_cast<std::size_t>(kLeads * samples));
  for (std::int64_t n = 0; n < samples; ++n) {
    const float lead_i = normal(rng), lead_ii = normal(rng);
    x[static_cast<std::size_t>(n)] = lead_i;
    x[static_cast<std::size_t>(samples + n)] = lead_ii;
    x[static_cast<std::size_t>(2 * samples + n)] = lead_ii - lead_i;
    x[static_cast<std::size_t>(3 * samples + n)] = -(lead_i + lead_ii) / 2;
    x[static_cast<std::size_t>(4 * samples + n)] = lead_i - lead_ii / 2;
    x[static_cast<std::size_t>(5 * samples + n)] = lead_ii - lead_i / 2;
    for (std::int64_t lead = 6; lead < kLeads; ++lead)
      x[static_cast<std::size_t>(lead * samples + n)] = normal(rng);
  }
  return x;
}

double distance(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(sum);
}

TEST(LimbLeads, AnEcgThatKeepsTheRelationsHasNoResidualAndIsLeftAsItIs) {
  const std::int64_t samples = 500;
  const auto x = consistent_ecg(samples, 1);
  EXPECT_LT(limb_lead_residual(x.data(), kLeads, samples), 1e-7);
  auto projected = x;
  project_limb_leads(projected.data(), kLeads, samples);
  EXPECT_LT(distance(projected, x), 1e-5);
  auto derived = x;
  derive_limb_leads(derived.data(), kLeads, samples);
  EXPECT_LT(distance(derived, x), 1e-5);
}

// Values by hand: I = 1, II = 2 give III = 1, aVR = -1.5, aVL = 0, aVF = 1.5.
TEST(LimbLeads, DerivesTheAugmentedLeadsFromIAndII) {
  std::vector<float> x(static_cast<std::size_t>(kLeads), 7.0f);  // one sample
  x[0] = 1.0f;
  x[1] = 2.0f;
  derive_limb_leads(x.data(), kLeads, 1);
  const std::vector<float> expected = {1, 2, 1, -1.5f, 0, 1.5f, 7, 7, 7, 7, 7, 7};
  for (std::size_t k = 0; k < expected.size(); ++k) EXPECT_FLOAT_EQ(x[k], expected[k]) << k;
}

// I - II + III = 0 and aVR + aVL + aVF = 0 for every ECG that keeps the relations: adding
// s(n) * (1, -1, 1, 0, 0, 0) or s(n) * (0, 0, 0, 1, 1, 1) breaks them by a part orthogonal to
// those ECGs, whose root mean square over six leads is rms(s) * sqrt(3 / 6), and which the
// projection removes entirely. The chest leads stay untouched.
TEST(LimbLeads, AResidualOrthogonalToTheRelationsIsMeasuredAndRemovedExactly) {
  const std::int64_t samples = 400;
  const auto truth = consistent_ecg(samples, 2);
  const std::vector<std::vector<float>> directions = {{1, -1, 1, 0, 0, 0}, {0, 0, 0, 1, 1, 1}};
  for (const auto& e : directions) {
    auto x = truth;
    double sum_s2 = 0;
    for (std::int64_t n = 0; n < samples; ++n) {
      const double s = 0.05 * std::sin(0.1 * double(n)) + 0.02;
      sum_s2 += s * s;
      for (std::int64_t k = 0; k < 6; ++k)
        x[static_cast<std::size_t>(k * samples + n)] +=
            static_cast<float>(s * e[static_cast<std::size_t>(k)]);
    }
    const double expected = std::sqrt(sum_s2 / double(samples)) * std::sqrt(3.0 / 6.0);
    EXPECT_NEAR(limb_lead_residual(x.data(), kLeads, samples), expected, 1e-6);
    project_limb_leads(x.data(), kLeads, samples);
    EXPECT_LT(distance(x, truth), 1e-4);
    EXPECT_LT(limb_lead_residual(x.data(), kLeads, samples), 1e-7);
  }
}

// An orthogonal projection onto a subspace that holds the truth never moves a signal away
// from the truth, and projecting twice is projecting once.
TEST(LimbLeads, ProjectionNeverMovesAwayFromAnEcgThatKeepsTheRelations) {
  const std::int64_t samples = 300;
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  for (std::uint32_t trial = 0; trial < 20; ++trial) {
    const auto truth = consistent_ecg(samples, 10 + trial);
    auto x = truth;
    for (auto& v : x) v += noise(rng);
    auto projected = x;
    project_limb_leads(projected.data(), kLeads, samples);
    EXPECT_LE(distance(projected, truth), distance(x, truth));
    // The chest leads are where they were.
    for (std::int64_t i = 6 * samples; i < kLeads * samples; ++i)
      ASSERT_EQ(projected[static_cast<std::size_t>(i)], x[static_cast<std::size_t>(i)]);
    auto twice = projected;
    project_limb_leads(twice.data(), kLeads, samples);
    EXPECT_LT(distance(twice, projected), 1e-5);
    // Derived from the noisy I and II, the error of those two leads is spread over the four
    // others instead of averaged away: the projection is nearer the truth.
    auto derived = x;
    derive_limb_leads(derived.data(), kLeads, samples);
    EXPECT_LT(distance(projected, truth), distance(derived, truth));
  }
}

TEST(LimbLeads, RefusesSignalsWithoutTheSixLimbLeads) {
  std::vector<float> x(5 * 10, 0.0f);
  EXPECT_THROW(limb_lead_residual(x.data(), 5, 10), InputError);
  EXPECT_THROW(project_limb_leads(x.data(), 5, 10), InputError);
  EXPECT_THROW(derive_limb_leads(x.data(), 5, 10), InputError);
}

}  // namespace
}  // namespace ecgtwin::signal
