// The simulator's invariants: lead relations, exact kernels, determinism, JSON, conditions.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "ecgtwin/signal/simulator.hpp"
#include "ecgtwin/signal/simulator_detail.hpp"
#include "ecgtwin/util/error.hpp"
#include "simulator_fiducials.hpp"

namespace ecgtwin::signal {
namespace {

using test::kAVF;
using test::kAVL;
using test::kAVR;
using test::kI;
using test::kII;
using test::kIII;

void expect_lead_relations(const SimEcg& ecg) {
  for (std::int64_t i = 0; i < ecg.samples; ++i) {
    double one = ecg.lead(kI)[i], two = ecg.lead(kII)[i];
    ASSERT_NEAR(ecg.lead(kIII)[i], two - one, 1e-5) << i;         // Einthoven
    ASSERT_NEAR(ecg.lead(kAVR)[i], -(one + two) / 2, 1e-5) << i;  // Goldberger
    ASSERT_NEAR(ecg.lead(kAVL)[i], one - two / 2, 1e-5) << i;
    ASSERT_NEAR(ecg.lead(kAVF)[i], two - one / 2, 1e-5) << i;
    ASSERT_NEAR(ecg.lead(kAVR)[i] + ecg.lead(kAVL)[i] + ecg.lead(kAVF)[i], 0.0, 1e-5) << i;
  }
}

TEST(Simulator, EinthovenAndGoldbergerHoldWithAndWithoutNoise) {
  Person person = draw_person(11, 3);
  expect_lead_relations(render(person, parse_condition("afib+lbbb"), {500, 5, false, 24, 1}));
  expect_lead_relations(render(person, parse_condition("pvc"), {360, 5, true, 10, 2}));
}

TEST(Simulator, KernelRecurrenceMatchesTheClosedForm) {
  // One kernel drawn by add_beat against exp(-(t - c)^2 / 2w^2) evaluated directly.
  std::vector<Kernel> kernels = {{Wave::kQrs, 1, 0.8, 0.0123, 0.0071},
                                 {Wave::kT, 2, -0.3, 0.25, 0.06}};
  const double fs = 500, r_time = 1.0, j = 0.05, scale = 1.3;
  const std::int64_t n = 1000;
  std::vector<double> dipole(3 * n, 0.0);
  detail::add_beat(kernels, r_time, j, scale, fs, n, dipole.data());
  for (std::int64_t i = 0; i < n; ++i) {
    double t = i / fs;
    double c1 = r_time + 0.0123, w1 = 0.0071;
    double c2 = r_time + j + (0.25 - j) * scale, w2 = 0.06 * scale;
    if (std::abs(std::abs(t - c1) - 4 * w1) < 1e-9 || std::abs(std::abs(t - c2) - 4 * w2) < 1e-9)
      continue;  // the support's edge: either side of rounding
    double e1 =
        std::abs(t - c1) <= 4 * w1 ? 0.8 * std::exp(-(t - c1) * (t - c1) / (2 * w1 * w1)) : 0;
    double e2 =
        std::abs(t - c2) <= 4 * w2 ? -0.3 * std::exp(-(t - c2) * (t - c2) / (2 * w2 * w2)) : 0;
    ASSERT_NEAR(dipole[n + i], e1, 1e-12) << i;
    ASSERT_NEAR(dipole[2 * n + i], e2, 1e-12) << i;
    ASSERT_EQ(dipole[i], 0.0);
  }
}

TEST(Simulator, SameSeedSameSignalOtherSeedOtherSignal) {
  Person a = draw_person(5, 9), b = draw_person(5, 9);
  EXPECT_EQ(person_to_json(a), person_to_json(b));
  auto c = parse_condition("pvc");
  auto x = render(a, c, {500, 10, true, 20, 42});
  auto y = render(b, c, {500, 10, true, 20, 42});
  auto z = render(a, c, {500, 10, true, 20, 43});
  EXPECT_EQ(x.signal, y.signal);
  EXPECT_NE(x.signal, z.signal);
  EXPECT_NE(person_to_json(draw_person(5, 10)), person_to_json(a));
  EXPECT_NE(person_to_json(draw_person(6, 9)), person_to_json(a));
}

TEST(Simulator, PersonJsonRoundTripRendersTheSameSignal) {
  Person person = draw_person(3, 17);
  auto text = person_to_json(person).dump();
  Person back = person_from_json(nlohmann::json::parse(text), "person.json");
  EXPECT_EQ(person_to_json(back), person_to_json(person));
  auto c = parse_condition("rbbb+1avb");
  EXPECT_EQ(render(person, c, {250, 4, true, 20, 7}).signal,
            render(back, c, {250, 4, true, 20, 7}).signal);

  auto broken = person_to_json(person);
  broken.erase("qtc");
  EXPECT_THROW(person_from_json(broken, "p.json"), InputError);
  broken = person_to_json(person);
  broken["kernels"][0]["width"] = -1.0;
  EXPECT_THROW(person_from_json(broken, "p.json"), InputError);
}

TEST(Simulator, ConditionsParseFromNamesCodesAndStatements) {
  auto a = parse_condition("afib+lbbb");
  auto b = parse_condition("AFIB|complete left bundle branch block");
  EXPECT_EQ(a.rhythm, Rhythm::kAtrialFibrillation);
  EXPECT_EQ(a.findings, std::vector<Finding>{Finding::kLbbb});
  EXPECT_EQ(condition_name(a), condition_name(b));
  EXPECT_EQ(condition_statements(a),
            (std::vector<std::string>{"atrial fibrillation", "complete left bundle branch block"}));
  EXPECT_EQ(condition_statements(parse_condition("sinus")),
            (std::vector<std::string>{"normal ECG", "sinus rhythm"}));
  EXPECT_EQ(condition_scp_codes(parse_condition("brady+pvc")),
            (std::vector<std::string>{"SBRAD", "PVC"}));
  for (const auto& name : condition_names()) {
    auto c = parse_condition(name);
    EXPECT_EQ(condition_name(c), name);
    EXPECT_EQ(condition_name(parse_condition(condition_statements(c).back())), name);
  }
  EXPECT_THROW(parse_condition("afib+aflutter"), InputError);
  EXPECT_THROW(parse_condition("lbbb+rbbb"), InputError);
  EXPECT_THROW(parse_condition("afib+1avb"), InputError);
  EXPECT_THROW(parse_condition("sinus+nonsense"), InputError);
  EXPECT_THROW(parse_condition("sinus++pvc"), InputError);
}

TEST(Simulator, HeartRateOutsideTheRhythmsRangeIsRefused) {
  Person person = draw_person(1, 1);
  auto c = parse_condition("brady");
  c.heart_rate = 80;
  EXPECT_THROW(render(person, c, {}), InputError);
  c.heart_rate = 50;
  EXPECT_NO_THROW(render(person, c, {100, 2, false, 24, 0}));
  EXPECT_THROW(render(person, c, {0, 2, false, 24, 0}), InputError);
}

TEST(Simulator, NoiseHasTheRequestedSignalToNoiseRatio) {
  Person person = draw_person(2, 4);
  auto c = parse_condition("sinus");
  for (double snr : {6.0, 20.0}) {
    auto clean = render(person, c, {500, 10, false, snr, 9});
    auto noisy = render(person, c, {500, 10, true, snr, 9});
    // Measured on the independent leads I, II, V1..V6, where the noise is added.
    double signal = 0, noise = 0;
    for (int lead : {0, 1, 6, 7, 8, 9, 10, 11})
      for (std::int64_t i = 0; i < clean.samples; ++i) {
        double s = clean.lead(lead)[i], d = noisy.lead(lead)[i] - s;
        signal += s * s;
        noise += d * d;
      }
    EXPECT_NEAR(10 * std::log10(signal / noise), snr, 0.05);
  }
}

TEST(Simulator, BeatsListMatchesTheRequestedRate) {
  Person person = draw_person(8, 2);
  for (double hr : {45.0, 72.0, 130.0}) {
    auto c = parse_condition(hr < 60 ? "brady" : hr > 100 ? "tachy" : "sinus");
    c.heart_rate = hr;
    auto ecg = render(person, c, {500, 30, false, 24, 5});
    EXPECT_NEAR(ecg.heart_rate, hr, 0.03 * hr);
    EXPECT_NEAR(static_cast<double>(ecg.beats.size()), hr / 2, 2.0);
  }
}

}  // namespace
}  // namespace ecgtwin::signal

namespace ecgtwin::signal {
namespace {

// Dominant period of x (samples) from its autocorrelation, searched in [min_lag, max_lag].
std::int64_t dominant_lag(const std::vector<double>& x, std::int64_t min_lag,
                          std::int64_t max_lag) {
  std::int64_t best = min_lag;
  double best_value = -1e300;
  for (std::int64_t lag = min_lag; lag <= max_lag; ++lag) {
    double sum = 0;
    for (std::size_t i = 0; i + lag < x.size(); ++i) sum += x[i] * x[i + lag];
    if (sum > best_value) best_value = sum, best = lag;
  }
  return best;
}

TEST(SimulatorAtrialWaves, FlutterAndFibrillatoryWavesHaveTheirRates) {
  for (int p = 0; p < 5; ++p) {
    Person person = draw_person(21, p);
    for (double hr : {70.0, 100.0, 150.0}) {
      SimCondition c = parse_condition("aflutter");
      c.heart_rate = hr;
      int conduction = 0;
      double cycle = detail::flutter_cycle(person, hr, &conduction);
      EXPECT_GE(conduction, 2);
      EXPECT_LE(conduction, 4);
      EXPECT_GE(60 / cycle, 240);  // flutter 250-350/min, kept within 240-360
      EXPECT_LE(60 / cycle, 360);
      EXPECT_NEAR(cycle * conduction, 60 / hr, 1e-9);
      const double fs = 500;
      const std::int64_t n = 5000;
      std::vector<double> dipole(3 * n, 0.0);
      util::Rng rng(1);
      detail::add_atrial_activity(person, c, hr, 0.3, fs, n, rng, dipole.data());
      std::vector<double> y(dipole.begin() + n, dipole.begin() + 2 * n);
      EXPECT_NEAR(dominant_lag(y, 50, 300) / fs, cycle, 2.5 / fs);
      // The ventricular beats of a flutter record are exactly regular.
      auto ecg = render(person, c, {fs, 10, false, 24, 3});
      for (std::size_t i = 2; i < ecg.beats.size(); ++i)
        EXPECT_NEAR(double(ecg.beats[i].sample - ecg.beats[i - 1].sample), fs * 60 / hr, 1.0);
    }
    SimCondition af = parse_condition("afib");
    std::vector<double> dipole(3 * 5000, 0.0);
    util::Rng rng(2);
    detail::add_atrial_activity(person, af, 80, 0.3, 500, 5000, rng, dipole.data());
    std::vector<double> y(dipole.begin() + 5000, dipole.begin() + 10000);
    double period = dominant_lag(y, 40, 150) / 500.0;
    EXPECT_NEAR(1 / period, person.af_rate_hz, 0.5);  // 4-9 Hz fibrillatory waves
    double power = 0;
    for (double v : y) power += v * v;
    EXPECT_GT(std::sqrt(power / y.size()), 0.01);
  }
}

}  // namespace
}  // namespace ecgtwin::signal

namespace ecgtwin::signal {
namespace {

TEST(SimulatorCombinations, EveryCompatiblePairRendersFiniteSignalsWithItsBeats) {
  Person person = draw_person(13, 0);
  const auto& names = condition_names();
  int rendered = 0;
  for (std::size_t a = 0; a < names.size(); ++a)
    for (std::size_t b = a; b < names.size(); ++b) {
      SimCondition c;
      try {
        c = parse_condition(names[a] + "+" + names[b]);
      } catch (const InputError&) {
        continue;  // incompatible pair
      }
      auto ecg = render(person, c, {100, 6, true, 15, a * 100 + b});
      ++rendered;
      ASSERT_EQ(ecg.signal.size(), 12u * 600u);
      for (float v : ecg.signal) ASSERT_TRUE(std::isfinite(v)) << condition_name(c);
      ASSERT_GE(ecg.beats.size(), 3u) << condition_name(c);
      RateRange range = rate_range(c.rhythm);
      EXPECT_GE(ecg.target_heart_rate, range.low);
      EXPECT_LE(ecg.target_heart_rate, range.high);
      bool ventricular = std::any_of(ecg.beats.begin(), ecg.beats.end(),
                                     [](const SimBeat& beat) { return beat.symbol == "V"; });
      EXPECT_EQ(ventricular, c.has(Finding::kPvc)) << condition_name(c);
    }
  EXPECT_GT(rendered, 120);
}

}  // namespace
}  // namespace ecgtwin::signal
