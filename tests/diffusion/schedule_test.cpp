#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "ecgtwin/diffusion/schedule.hpp"
#include "ecgtwin/util/error.hpp"
#include "test_denoisers.hpp"

namespace ecgtwin::diffusion {
namespace {

constexpr double kPi = 3.14159265358979323846;

TEST(NoiseScheduleTest, LinearBetasRunFromStartToEndInEqualSteps) {
  const NoiseSchedule schedule;  // DESIGN.md: T = 1000, 0.00085 .. 0.012
  ASSERT_EQ(schedule.timesteps(), 1000);
  const auto betas = schedule.betas();
  EXPECT_EQ(betas.scalar_type(), torch::kDouble);
  EXPECT_NEAR(betas[0].item<double>(), 0.00085, 1e-15);
  EXPECT_NEAR(betas[999].item<double>(), 0.012, 1e-15);
  EXPECT_NEAR(betas[500].item<double>(), 0.00085 + 500.0 / 999.0 * (0.012 - 0.00085), 1e-15);
  // abar_t = prod (1 - beta_i), computed independently as exp(sum log(1 - beta_i)).
  double log_sum = 0.0;
  for (int i = 0; i < 1000; ++i) {
    log_sum += std::log1p(-(0.00085 + i / 999.0 * (0.012 - 0.00085)));
    if (i == 0 || i == 499 || i == 999) {
      EXPECT_NEAR(schedule.alpha_cumprod(i), std::exp(log_sum), 1e-12) << i;
      EXPECT_NEAR(schedule.alphas_cumprod()[i].item<double>(), std::exp(log_sum), 1e-12);
    }
  }
  EXPECT_EQ(schedule.alpha_cumprod(-1), 1.0);
}

TEST(NoiseScheduleTest, ScaledLinearMatchesStableDiffusionTerminalSignal) {
  const NoiseSchedule schedule(NoiseScheduleOptions().kind("scaled_linear"));
  EXPECT_NEAR(schedule.betas()[0].item<double>(), 0.00085, 1e-15);
  EXPECT_NEAR(schedule.betas()[999].item<double>(), 0.012, 1e-15);
  // sqrt(beta) is linear: its midpoint is the mean of the end points' square roots.
  const double root_mid = std::sqrt(schedule.betas()[333].item<double>());
  EXPECT_NEAR(root_mid,
              std::sqrt(0.00085) + 333.0 / 999.0 * (std::sqrt(0.012) - std::sqrt(0.00085)), 1e-14);
  // Lin et al. 2024, table 1: Stable Diffusion's schedule ends at sqrt(abar_T) = 0.068265,
  // SNR(T) = 0.004682.
  const double ab = schedule.alpha_cumprod(999);
  EXPECT_NEAR(std::sqrt(ab), 0.068265, 1e-6);
  EXPECT_NEAR(ab / (1.0 - ab), 0.004682, 1e-6);
}

TEST(NoiseScheduleTest, CosineFollowsNicholDhariwalAndClipsTheLastBeta) {
  const NoiseSchedule schedule(NoiseScheduleOptions().kind("cosine"));
  auto f = [](double u) {
    const double c = std::cos((u + 0.008) / 1.008 * kPi / 2.0);
    return c * c;
  };
  for (int t : {0, 10, 250, 500, 900}) {
    EXPECT_NEAR(schedule.alpha_cumprod(t), f((t + 1) / 1000.0) / f(0.0), 1e-12) << t;
  }
  EXPECT_DOUBLE_EQ(schedule.beta(999), 0.999);
}

TEST(NoiseScheduleTest, PosteriorVarianceIsBetaTilde) {
  const NoiseSchedule schedule;
  EXPECT_EQ(schedule.posterior_variance()[0].item<double>(), 0.0);
  for (int t : {1, 2, 100, 999}) {
    const double expected = schedule.beta(t) * (1.0 - schedule.alpha_cumprod(t - 1)) /
                            (1.0 - schedule.alpha_cumprod(t));
    EXPECT_NEAR(schedule.posterior_variance()[t].item<double>(), expected, 1e-15);
    EXPECT_NEAR(schedule.posterior_log_variance_clipped()[t].item<double>(), std::log(expected),
                1e-12);
    EXPECT_LT(expected, schedule.beta(t));  // beta_tilde < beta (Ho et al. 2020, sec. 3.2)
  }
  EXPECT_DOUBLE_EQ(schedule.posterior_log_variance_clipped()[0].item<double>(),
                   schedule.posterior_log_variance_clipped()[1].item<double>());
}

TEST(NoiseScheduleTest, RejectsUnknownKindsAndBadRanges) {
  EXPECT_THROW(NoiseSchedule(NoiseScheduleOptions().kind("quadratic")), InputError);
  EXPECT_THROW(NoiseSchedule(NoiseScheduleOptions().timesteps(1)), InputError);
  EXPECT_THROW(NoiseSchedule(NoiseScheduleOptions().beta_start(0.02).beta_end(0.01)), InputError);
}

// q(x_t | x0) = N(sqrt(abar_t) x0, (1 - abar_t) I): Monte Carlo mean and variance of
// add_noise per (x0, t), within 5 standard errors.
TEST(ForwardProcessTest, MatchesClosedFormMeanAndVariance) {
  const NoiseSchedule schedule;
  const int64_t draws = 20000;
  const std::vector<double> x0_values{1.5, -0.7, 0.0, 2.0};
  const std::vector<int64_t> t_values{0, 250, 500, 999};
  const auto x0 = torch::tensor(x0_values, torch::kFloat).repeat({draws}).view({-1, 1});
  const auto t = torch::tensor(t_values, torch::kLong).repeat({draws});
  auto generator = at::make_generator<at::CPUGeneratorImpl>(11);
  const auto noise = torch::randn(x0.sizes(), generator, torch::kFloat);
  const auto xt = add_noise(schedule, x0, noise, t).view({draws, 4}).to(torch::kDouble);
  const auto mean = xt.mean(0), variance = xt.var(0);
  for (int64_t j = 0; j < 4; ++j) {
    const double ab = schedule.alpha_cumprod(t_values[j]);
    const double expected_variance = 1.0 - ab;
    const double mean_se = std::sqrt(expected_variance / draws);
    const double variance_se = expected_variance * std::sqrt(2.0 / (draws - 1));
    EXPECT_NEAR(mean[j].item<double>(), std::sqrt(ab) * x0_values[j], 5 * mean_se) << j;
    EXPECT_NEAR(variance[j].item<double>(), expected_variance, 5 * variance_se) << j;
  }
}

class ZeroDenoiser : public model::DenoiserImpl {
 public:
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor&,
                        const model::DenoiserConditions&) override {
    return torch::zeros_like(x);
  }
  int64_t block_count() const override { return 0; }
};

TEST(EpsilonLossTest, IsZeroForTheExactPredictorAndOneForZero) {
  const NoiseSchedule schedule;
  // A point mass at mu: the exact predictor recovers epsilon from x_t.
  test::GaussianDenoiser exact(schedule, 0.8, 0.0);
  const auto x0 = torch::full({4096, 1, 4}, 0.8);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
  const EpsilonLoss exact_loss = epsilon_loss(exact, schedule, x0, {}, generator);
  EXPECT_LT(exact_loss.loss.item<double>(), 1e-8);
  EXPECT_EQ(exact_loss.noisy.sizes(), x0.sizes());
  // Predicting zero costs E[eps^2] = 1 (variance of eps^2 is 2).
  ZeroDenoiser zero;
  const EpsilonLoss zero_loss = epsilon_loss(zero, schedule, x0, {}, generator);
  EXPECT_NEAR(zero_loss.loss.item<double>(), 1.0, 5 * std::sqrt(2.0 / x0.numel()));
}

TEST(EpsilonLossTest, TimestepsAreUniformOverAllSteps) {
  const NoiseSchedule schedule;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(9);
  const int64_t n = 100000;
  const auto t = sample_timesteps(schedule, n, torch::kCPU, generator);
  EXPECT_EQ(t.scalar_type(), torch::kLong);
  EXPECT_EQ(t.min().item<int64_t>(), 0);
  EXPECT_EQ(t.max().item<int64_t>(), 999);
  const double sd = std::sqrt((1000.0 * 1000.0 - 1.0) / 12.0);  // discrete uniform
  EXPECT_NEAR(t.to(torch::kDouble).mean().item<double>(), 499.5, 5 * sd / std::sqrt(n));
  // The same generator state gives the same draws.
  auto a = at::make_generator<at::CPUGeneratorImpl>(1),
       b = at::make_generator<at::CPUGeneratorImpl>(1);
  EXPECT_TRUE(torch::equal(sample_timesteps(schedule, 64, torch::kCPU, a),
                           sample_timesteps(schedule, 64, torch::kCPU, b)));
}

}  // namespace
}  // namespace ecgtwin::diffusion
