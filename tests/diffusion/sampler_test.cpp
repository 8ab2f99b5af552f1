#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdio>

#include "ecgtwin/diffusion/sampler.hpp"
#include "ecgtwin/util/error.hpp"
#include "test_denoisers.hpp"
#include "test_support.hpp"

namespace ecgtwin::diffusion {
namespace {

// Many independent scalars in one batch: [rows, 1, 10].
constexpr int64_t kRows = 5000;
const std::vector<int64_t> kShape{kRows, 1, 10};

// x_T drawn from the true marginal q(x_T) of Gaussian data N(mu, s^2), so that an exact
// reverse process returns the data distribution (the schedule's abar_T > 0).
torch::Tensor gaussian_marginal(const NoiseSchedule& schedule, double mu, double s, uint64_t seed) {
  const double ab = schedule.alpha_cumprod(schedule.timesteps() - 1);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return std::sqrt(ab) * mu +
         std::sqrt(ab * s * s + 1.0 - ab) * torch::randn(kShape, generator, torch::kFloat);
}

torch::Tensor two_point_marginal(const NoiseSchedule& schedule, double a, double p, uint64_t seed) {
  const double ab = schedule.alpha_cumprod(schedule.timesteps() - 1);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto sign = (torch::rand(kShape, generator, torch::kFloat) < p).to(torch::kFloat) * 2 - 1;
  return std::sqrt(ab) * a * sign +
         std::sqrt(1.0 - ab) * torch::randn(kShape, generator, torch::kFloat);
}

struct Moments {
  double mean, variance;
};
Moments moments(const torch::Tensor& x) {
  const auto d = x.to(torch::kDouble).flatten();
  return {d.mean().item<double>(), d.var().item<double>()};
}

TEST(SamplingTimestepsTest, SpacingsMatchLinEtAl2024Table2) {
  const NoiseSchedule schedule;
  auto steps = [&](const std::string& spacing) {
    return sampling_timesteps(schedule, SamplerOptions().steps(10).spacing(spacing));
  };
  EXPECT_EQ(steps("linspace"),
            (std::vector<int64_t>{999, 888, 777, 666, 555, 444, 333, 222, 111, 0}));
  EXPECT_EQ(steps("leading"),
            (std::vector<int64_t>{900, 800, 700, 600, 500, 400, 300, 200, 100, 0}));
  EXPECT_EQ(steps("trailing"),
            (std::vector<int64_t>{999, 899, 799, 699, 599, 499, 399, 299, 199, 99}));
  const auto ddpm = sampling_timesteps(schedule, SamplerOptions().sampler("ddpm"));
  ASSERT_EQ(ddpm.size(), 1000u);
  EXPECT_EQ(ddpm.front(), 999);
  EXPECT_EQ(ddpm.back(), 0);
  for (const std::string spacing : {"trailing", "leading", "linspace"}) {
    EXPECT_EQ(sampling_timesteps(schedule, SamplerOptions().steps(1000).spacing(spacing)), ddpm);
  }
  EXPECT_THROW(steps("quadratic"), InputError);
  EXPECT_THROW(sampling_timesteps(schedule, SamplerOptions().steps(0)), InputError);
  EXPECT_THROW(sampling_timesteps(schedule, SamplerOptions().sampler("euler")), InputError);
}

// Song et al. 2021, eq. 16: with eta = 1 and consecutive steps DDIM's sigma_t^2 is DDPM's
// posterior variance beta_tilde_t.
TEST(DdimTest, EtaOneOnConsecutiveStepsHasDdpmPosteriorVariance) {
  const NoiseSchedule schedule;
  for (int64_t t = 1; t < 1000; ++t) {
    const double beta_tilde = schedule.posterior_variance()[t].item<double>();
    EXPECT_NEAR(ddim_variance(schedule, t, t - 1, 1.0), beta_tilde, 1e-12 * beta_tilde) << t;
  }
  EXPECT_EQ(ddim_variance(schedule, 0, -1, 1.0), 0.0);
  EXPECT_EQ(ddim_variance(schedule, 500, 480, 0.0), 0.0);
}

// Same seed -> the same noise stream, so DDIM eta = 1 over all steps is DDPM up to rounding.
TEST(DdimTest, EtaOneOverAllStepsReproducesDdpm) {
  const NoiseSchedule schedule;
  test::GaussianDenoiser denoiser(schedule, 0.5, 0.4);
  const std::vector<int64_t> shape{8, 1, 16};
  const auto ddpm = sample(denoiser, schedule, shape, {}, SamplerOptions().sampler("ddpm").seed(4));
  const auto ddim =
      sample(denoiser, schedule, shape, {}, SamplerOptions().steps(1000).eta(1.0).seed(4));
  EXPECT_TRUE(torch::allclose(ddpm, ddim, 1e-4, 1e-4));
  EXPECT_FALSE(torch::equal(
      ddpm, sample(denoiser, schedule, shape, {}, SamplerOptions().sampler("ddpm").seed(5))));
}

TEST(SamplerTest, SameSeedGivesTheSameSample) {
  const NoiseSchedule schedule;
  test::GaussianDenoiser denoiser(schedule, 0.0, 1.0);
  const std::vector<int64_t> shape{4, 2, 8};
  for (const auto& options :
       {SamplerOptions().sampler("ddpm"), SamplerOptions().steps(20).eta(0.7)}) {
    auto with_seed = options;
    const auto a = sample(denoiser, schedule, shape, {}, with_seed.seed(42));
    const auto b = sample(denoiser, schedule, shape, {}, with_seed.seed(42));
    const auto c = sample(denoiser, schedule, shape, {}, with_seed.seed(43));
    EXPECT_TRUE(torch::equal(a, b));
    EXPECT_FALSE(torch::allclose(a, c));
  }
}

TEST(DdimTest, EtaZeroIsDeterministicGivenTheInitialNoise) {
  const NoiseSchedule schedule;
  test::TwoPointDenoiser denoiser(schedule, 1.0, 0.5);
  const auto x_t = torch::randn({16, 1, 8});
  const auto options = SamplerOptions().steps(25).initial_noise(x_t);
  auto with_seed = options;
  const auto a = sample(denoiser, schedule, {16, 1, 8}, {}, with_seed.seed(1));
  const auto b = sample(denoiser, schedule, {16, 1, 8}, {}, with_seed.seed(2));
  EXPECT_TRUE(torch::equal(a, b));
  // With eta > 0 the seed matters even for a given x_T.
  with_seed.eta(1.0);
  EXPECT_FALSE(torch::allclose(sample(denoiser, schedule, {16, 1, 8}, {}, with_seed.seed(1)),
                               sample(denoiser, schedule, {16, 1, 8}, {}, with_seed.seed(2))));
}

// Inversion then sampling returns the input; the error shrinks with the step count
// (the inversion evaluates eps one level off, a first-order error).
TEST(DdimTest, InversionRoundTripRecoversTheInput) {
  const NoiseSchedule schedule;
  test::GaussianDenoiser denoiser(schedule, 0.3, 0.5);
  const auto x0 = 0.3 + 0.5 * torch::randn({64, 1, 8}, at::make_generator<at::CPUGeneratorImpl>(8),
                                           torch::kFloat);
  auto round_trip_error = [&](int64_t steps) {
    const auto options = SamplerOptions().steps(steps).spacing("linspace");
    const auto x_t = ddim_invert(denoiser, schedule, x0, {}, options);
    auto from_inverted = options;
    const auto back = sample(denoiser, schedule, x0.sizes(), {}, from_inverted.initial_noise(x_t));
    return (back - x0).abs().max().item<double>();
  };
  const double coarse = round_trip_error(10), fine = round_trip_error(200);
  std::printf("ddim inversion round trip: max error %.4g (10 steps), %.4g (200 steps)\n", coarse,
              fine);
  EXPECT_LT(fine, 0.03);
  EXPECT_LT(fine, coarse / 10.0);  // 20 times the steps: first order gives about 20 times less
  // The inverted latent is what the forward ODE gives: spread like q(x_T), not like x0.
  const auto x_t = ddim_invert(denoiser, schedule, x0, {}, SamplerOptions().steps(200));
  EXPECT_NEAR(moments(x_t).variance, 1.0, 0.25);
}

// Gaussian data through any of these samplers stays Gaussian: with the exact predictor every
// step is x' = sqrt(abar') mu + c (x - sqrt(abar) mu) + sigma z, where (Song et al. 2021,
// eq. 12, with x0_pred and eps_pred written out for N(mu, s^2) data)
//   c = (sqrt(abar' abar) s^2 + sqrt(1 - abar' - sigma^2) sqrt(1 - abar)) / (abar s^2 + 1 - abar).
// The mean and variance of the output follow from that recursion in closed form.
Moments gaussian_reference(const NoiseSchedule& schedule, const std::vector<int64_t>& timesteps,
                           bool ddpm, double eta, double mu, double s) {
  const double ab_start = schedule.alpha_cumprod(timesteps.front());
  double mean = std::sqrt(ab_start) * mu, variance = ab_start * s * s + 1.0 - ab_start;
  for (size_t i = 0; i < timesteps.size(); ++i) {
    const int64_t t = timesteps[i], t_prev = i + 1 < timesteps.size() ? timesteps[i + 1] : -1;
    const double ab = schedule.alpha_cumprod(t), ab_prev = schedule.alpha_cumprod(t_prev);
    const double beta_tilde = (1.0 - ab_prev) / (1.0 - ab) * (1.0 - ab / ab_prev);
    const double sigma2 = ddpm ? beta_tilde : eta * eta * beta_tilde;
    const double c = (std::sqrt(ab_prev * ab) * s * s +
                      std::sqrt(std::max(0.0, 1.0 - ab_prev - sigma2)) * std::sqrt(1.0 - ab)) /
                     (ab * s * s + 1.0 - ab);
    mean = std::sqrt(ab_prev) * mu + c * (mean - std::sqrt(ab) * mu);
    variance = c * c * variance + sigma2;
  }
  return {mean, variance};
}

// Exact noise predictors of known data: the samples must have the moments that the sampler's
// recursion gives (5 standard errors); for DDPM and fine DDIM those are the data's own.
TEST(SamplerTest, DdpmAndDdimReproduceAGaussian) {
  const NoiseSchedule schedule;
  const double mu = 0.5, s = 0.4;
  test::GaussianDenoiser denoiser(schedule, mu, s);
  const double n = static_cast<double>(kRows * 10);
  const double variance_se = s * s * std::sqrt(2.0 / (n - 1));
  for (const auto& options :
       {SamplerOptions().sampler("ddpm"), SamplerOptions().steps(50).spacing("linspace"),
        SamplerOptions().steps(50).spacing("trailing").eta(1.0),
        SamplerOptions().steps(200).spacing("leading").eta(0.5)}) {
    auto seeded = options;
    seeded.initial_noise(gaussian_marginal(schedule, mu, s, 21)).seed(22);
    const Moments m = moments(sample(denoiser, schedule, kShape, {}, seeded));
    const Moments expected = gaussian_reference(schedule, sampling_timesteps(schedule, options),
                                                options.sampler() == "ddpm", options.eta(), mu, s);
    const std::string name = options.sampler() + " " + options.spacing() + " " +
                             std::to_string(options.steps()) + " eta " +
                             std::to_string(options.eta());
    EXPECT_NEAR(m.mean, expected.mean, 5 * std::sqrt(expected.variance / n)) << name;
    EXPECT_NEAR(m.variance, expected.variance, 5 * variance_se) << name;
  }
  // Over all 1000 steps the output is the data distribution up to the samplers' own
  // discretisation: DDPM's beta_tilde (the lower bound of Ho et al. 2020) loses about 3% of
  // the variance here, DDIM about 1.3% (most of it in the last step, which returns a
  // posterior mean); 50 DDIM steps lose about 14% for this narrow distribution.
  const auto ddpm_steps = sampling_timesteps(schedule, SamplerOptions().sampler("ddpm"));
  const Moments ddpm = gaussian_reference(schedule, ddpm_steps, true, 1.0, mu, s);
  EXPECT_NEAR(ddpm.mean, mu, 1e-3);
  EXPECT_NEAR(ddpm.variance, s * s, 0.04 * s * s);
  const Moments ddim_fine = gaussian_reference(schedule, ddpm_steps, false, 0.0, mu, s);
  EXPECT_NEAR(ddim_fine.mean, mu, 1e-3);
  EXPECT_NEAR(ddim_fine.variance, s * s, 0.02 * s * s);
}

TEST(SamplerTest, DdpmAndDdimReproduceTwoPoints) {
  const NoiseSchedule schedule;
  const double a = 1.0, p = 0.7;
  test::TwoPointDenoiser denoiser(schedule, a, p);
  const double n = static_cast<double>(kRows * 10);
  for (const auto& options : {SamplerOptions().sampler("ddpm"), SamplerOptions().steps(50)}) {
    auto seeded = options;
    seeded.initial_noise(two_point_marginal(schedule, a, p, 31)).seed(32);
    const auto x = sample(denoiser, schedule, kShape, {}, seeded).to(torch::kDouble);
    // The samples land on the two points ...
    const double near_points =
        ((x.abs() - a).abs() < 0.02).to(torch::kDouble).mean().item<double>();
    EXPECT_GT(near_points, 0.995) << options.sampler();
    // ... with the data's weights: P(+a) = p, mean a(2p - 1), variance a^2 - mean^2.
    const double share_plus = (x > 0).to(torch::kDouble).mean().item<double>();
    EXPECT_NEAR(share_plus, p, 5 * std::sqrt(p * (1 - p) / n)) << options.sampler();
    const Moments m = moments(x);
    const double mean = a * (2 * p - 1);
    EXPECT_NEAR(m.mean, mean, 5 * 2 * a * std::sqrt(p * (1 - p) / n)) << options.sampler();
    EXPECT_NEAR(m.variance, a * a - mean * mean, 0.02) << options.sampler();
  }
}

// A run that skips the noisiest steps (strength < 1), started from the data's marginal at
// its first timestep, follows the same closed-form recursion over the steps it takes.
TEST(SamplerTest, PartialRunFromTheMarginalReproducesTheRecursion) {
  const NoiseSchedule schedule;
  const double mu = 0.5, s = 0.4;
  test::GaussianDenoiser denoiser(schedule, mu, s);
  const auto options = SamplerOptions().steps(50).strength(0.4);
  EXPECT_EQ(first_sampling_step(schedule, options), 30);
  EXPECT_EQ(first_sampling_step(schedule, SamplerOptions().steps(50)), 0);
  EXPECT_EQ(first_sampling_step(schedule, SamplerOptions().steps(50).strength(1e-6)), 49);
  const auto all = sampling_timesteps(schedule, options);
  const std::vector<int64_t> taken(all.begin() + 30, all.end());
  const double ab = schedule.alpha_cumprod(taken.front());
  auto generator = at::make_generator<at::CPUGeneratorImpl>(41);
  const auto x0 = mu + s * torch::randn(kShape, generator, torch::kFloat);
  const auto x_t =
      std::sqrt(ab) * x0 + std::sqrt(1.0 - ab) * torch::randn(kShape, generator, torch::kFloat);
  auto seeded = options;
  const Moments m = moments(sample(denoiser, schedule, kShape, {}, seeded.initial_noise(x_t)));
  EXPECT_EQ(denoiser.calls, 20);
  const Moments expected = gaussian_reference(schedule, taken, false, 0.0, mu, s);
  const double n = static_cast<double>(kRows * 10);
  EXPECT_NEAR(m.mean, expected.mean, 5 * std::sqrt(expected.variance / n));
  EXPECT_NEAR(m.variance, expected.variance, 5 * s * s * std::sqrt(2.0 / (n - 1)));
}

// Inversion stopped where a partial run starts, then that run, returns the input; the point
// it stops at is spread like the marginal q(x_t) there, not like q(x_T).
TEST(DdimTest, PartialInversionRoundTripRecoversTheInput) {
  const NoiseSchedule schedule;
  const double mu = 0.3, s = 0.5;
  test::GaussianDenoiser denoiser(schedule, mu, s);
  const auto x0 = mu + s * torch::randn({2000, 1, 8}, at::make_generator<at::CPUGeneratorImpl>(9),
                                        torch::kFloat);
  auto options = SamplerOptions().steps(400).strength(0.5);
  denoiser.calls = 0;
  const auto x_t = ddim_invert(denoiser, schedule, x0, {}, options);
  EXPECT_EQ(denoiser.calls, 200);
  const int64_t t = sampling_timesteps(schedule, options)[200];
  const double ab = schedule.alpha_cumprod(t);
  EXPECT_NEAR(moments(x_t).variance, ab * s * s + 1.0 - ab, 0.03);
  EXPECT_NEAR(moments(x_t).mean, std::sqrt(ab) * mu, 0.03);
  const auto back = sample(denoiser, schedule, x0.sizes(), {}, options.initial_noise(x_t));
  EXPECT_LT((back - x0).abs().max().item<double>(), 0.03);
}

TEST(SamplerTest, BadStrengthIsRefused) {
  const NoiseSchedule schedule;
  test::GaussianDenoiser denoiser(schedule, 0.0, 1.0);
  for (double strength : {0.0, -0.5, 1.5})
    EXPECT_TRUE(ecgtwin::test::throws_input_error(
        [&] {
          sample(denoiser, schedule, {2, 1, 4}, {}, SamplerOptions().strength(strength));
        },
        {"sampling.strength"}))
        << "strength " << strength;
  // Skipping the noisiest steps needs the point to start from.
  EXPECT_THROW(sample(denoiser, schedule, {2, 1, 4}, {}, SamplerOptions().strength(0.5)),
               InputError);
  EXPECT_THROW(sample(denoiser, schedule, {2, 1, 4}, {}, SamplerOptions().start("latent")),
               InputError);
}

TEST(SamplerTest, ProgressReportsEveryStep) {
  const NoiseSchedule schedule;
  test::GaussianDenoiser denoiser(schedule, 0.0, 1.0);
  std::vector<int64_t> done;
  std::vector<int64_t> before;
  auto options = SamplerOptions().steps(7);
  options.progress([&](int64_t d, int64_t total) {
    EXPECT_EQ(total, 7);
    done.push_back(d);
  });
  options.before_step([&](int64_t step) { before.push_back(step); });
  sample(denoiser, schedule, {2, 1, 4}, {}, options);
  EXPECT_EQ(done, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(before, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(denoiser.calls, 7);
  // A partial run counts the steps it takes; before_step keeps the index in the whole run.
  done.clear();
  before.clear();
  options.progress([&](int64_t d, int64_t total) {
    EXPECT_EQ(total, 3);
    done.push_back(d);
  });
  sample(denoiser, schedule, {2, 1, 4}, {},
         options.strength(0.4).initial_noise(torch::zeros({2, 1, 4})));
  EXPECT_EQ(done, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(before, (std::vector<int64_t>{4, 5, 6}));
}

}  // namespace
}  // namespace ecgtwin::diffusion
