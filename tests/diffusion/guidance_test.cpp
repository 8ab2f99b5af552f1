#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "ecgtwin/diffusion/guidance.hpp"
#include "ecgtwin/diffusion/sampler.hpp"
#include "ecgtwin/util/error.hpp"
#include "test_denoisers.hpp"

namespace ecgtwin::diffusion {
namespace {

TEST(GuidanceTest, ScaleOneIsTheConditionalPredictionBitForBit) {
  const auto cond = torch::randn({3, 4, 5}), uncond = torch::randn({3, 4, 5});
  EXPECT_TRUE(torch::equal(guided_epsilon(cond, uncond, 1.0), cond));
  EXPECT_TRUE(torch::allclose(guided_epsilon(cond, uncond, 3.0), uncond + 3.0 * (cond - uncond)));
  EXPECT_TRUE(torch::allclose(guided_epsilon(cond, uncond, 0.0), uncond));
}

// The Gaussian predictor with mu from base_vector: conditional mu = 1, null mu = 0.
model::DenoiserConditions mean_condition(double mu, int64_t batch) {
  return {torch::full({batch, 1}, mu), {}, {}};
}

TEST(GuidanceTest, ScaleOneSkipsTheUnconditionalPass) {
  const NoiseSchedule schedule;
  test::GaussianDenoiser denoiser(schedule, 0.0, 0.5);
  const std::vector<int64_t> shape{6, 1, 8};
  const auto options = SamplerOptions().steps(12).eta(0.3).seed(3);
  const auto plain = sample(denoiser, schedule, shape, mean_condition(1.0, 6), options);
  EXPECT_EQ(denoiser.calls, 12);
  denoiser.calls = 0;
  auto guided = options;
  const auto with_null = sample(denoiser, schedule, shape, mean_condition(1.0, 6),
                                guided.guidance_scale(1.0), mean_condition(0.0, 1));
  EXPECT_EQ(denoiser.calls, 12);
  EXPECT_TRUE(torch::equal(plain, with_null));
  denoiser.calls = 0;
  sample(denoiser, schedule, shape, mean_condition(1.0, 6), guided.guidance_scale(2.0),
         mean_condition(0.0, 1));
  EXPECT_EQ(denoiser.calls, 24);
}

// eps is affine in mu for Gaussian data, so guidance with scale w between mu_c and mu_u is
// the exact predictor for mu_u + w (mu_c - mu_u): both runs must agree.
TEST(GuidanceTest, GuidedSamplingEqualsTheExtrapolatedCondition) {
  const NoiseSchedule schedule;
  test::GaussianDenoiser denoiser(schedule, 0.0, 0.5);
  const std::vector<int64_t> shape{32, 1, 8};
  for (const auto& base : {SamplerOptions().steps(20), SamplerOptions().steps(20).eta(1.0)}) {
    auto options = base;
    options.seed(7).guidance_scale(2.5);
    const auto guided =
        sample(denoiser, schedule, shape, mean_condition(1.0, 32), options, mean_condition(0.2, 1));
    options.guidance_scale(1.0);
    const auto extrapolated =
        sample(denoiser, schedule, shape, mean_condition(0.2 + 2.5 * (1.0 - 0.2), 32), options);
    EXPECT_TRUE(torch::allclose(guided, extrapolated, 1e-4, 1e-4));
  }
  EXPECT_THROW(sample(denoiser, schedule, shape, mean_condition(1.0, 32),
                      SamplerOptions().steps(5).guidance_scale(3.0)),
               InputError);
}

TEST(ConditionDropoutTest, DropsRowsWithTheGivenProbability) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(17);
  const int64_t batch = 20000;
  const auto drop = draw_condition_drop(
      batch, ConditionDropoutOptions().statements(0.3).base_vector(0.05), torch::kCPU, generator);
  ASSERT_EQ(drop.statements.sizes(), torch::IntArrayRef({batch}));
  const double share = drop.statements.to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(share, 0.3, 5 * std::sqrt(0.3 * 0.7 / batch));
  const double base_share = drop.base_vector.to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(base_share, 0.05, 5 * std::sqrt(0.05 * 0.95 / batch));
  const auto none =
      draw_condition_drop(batch, ConditionDropoutOptions().statements(0.0), torch::kCPU, generator);
  EXPECT_FALSE(none.statements.any().item<bool>());
  EXPECT_FALSE(none.base_vector.any().item<bool>());
  EXPECT_THROW(draw_condition_drop(4, ConditionDropoutOptions().statements(1.5), torch::kCPU),
               InputError);
}

TEST(ConditionDropoutTest, ReplacesDroppedRowsByTheNullCondition) {
  const int64_t batch = 4, slots = 3, dim = 5;
  model::DenoiserConditions conditions{
      torch::randn({batch, 2}), torch::randn({batch, slots, dim}),
      torch::tensor({1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0}, torch::kBool).view({batch, slots})};
  // The null condition: one learned token (S0 = 1) and a null base vector.
  const model::DenoiserConditions null_condition{
      torch::full({1, 2}, -9.0), torch::full({1, 1, dim}, 7.0), torch::ones({1, 1}, torch::kBool)};
  ConditionDrop drop{torch::tensor({false, true, false, true}),
                     torch::tensor({false, false, false, true})};
  const auto out = apply_condition_drop(conditions, drop, null_condition);
  ASSERT_EQ(out.statement_tokens.sizes(), conditions.statement_tokens.sizes());
  for (int64_t row : {0, 2}) {
    EXPECT_TRUE(torch::equal(out.statement_tokens[row], conditions.statement_tokens[row]));
    EXPECT_TRUE(torch::equal(out.token_mask[row], conditions.token_mask[row]));
  }
  for (int64_t row : {1, 3}) {
    EXPECT_TRUE(torch::equal(out.statement_tokens[row][0], torch::full({dim}, 7.0)));
    EXPECT_TRUE(
        torch::equal(out.statement_tokens[row].slice(0, 1), torch::zeros({slots - 1, dim})));
    EXPECT_TRUE(torch::equal(out.token_mask[row], torch::tensor({true, false, false})));
  }
  // The base vector is kept unless its own drop says otherwise.
  for (int64_t row : {0, 1, 2}) {
    EXPECT_TRUE(torch::equal(out.base_vector[row], conditions.base_vector[row]));
  }
  EXPECT_TRUE(torch::equal(out.base_vector[3], torch::full({2}, -9.0)));
  // A null sequence longer than the rows' pads every row with masked zeros.
  const model::DenoiserConditions long_null{
      {}, torch::ones({1, 5, dim}), torch::ones({1, 5}, torch::kBool)};
  const auto padded = apply_condition_drop(conditions, drop, long_null);
  ASSERT_EQ(padded.statement_tokens.size(1), 5);
  EXPECT_TRUE(torch::equal(padded.token_mask[0], torch::tensor({true, true, false, false, false})));
  EXPECT_TRUE(torch::equal(padded.token_mask[1], torch::ones({5}, torch::kBool)));
}

}  // namespace
}  // namespace ecgtwin::diffusion
