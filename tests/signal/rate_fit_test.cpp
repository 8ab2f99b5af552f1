// Scaling an ECG's time axis to a target heart rate: against sinusoids of known period and
// simulated records of known rate.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ecgtwin/signal/heart_rate.hpp"
#include "ecgtwin/signal/rate_fit.hpp"
#include "ecgtwin/signal/simulator.hpp"
#include "ecgtwin/util/error.hpp"
#include "test_support.hpp"

namespace ecgtwin::signal {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A sinusoid of period 64 samples, scaled by `factor`, is a sinusoid of period 64 * factor
// with the same amplitude on every lead, from the first sample to the last: the periodic
// continuation leaves no edge.
TEST(TimeScale, ScalesTheTimeAxisOfASinusoidOnEveryLead) {
  const std::int64_t leads = 3, samples = 1024;
  std::vector<float> x(static_cast<std::size_t>(leads * samples));
  for (std::int64_t lead = 0; lead < leads; ++lead)
    for (std::int64_t n = 0; n < samples; ++n)
      x[static_cast<std::size_t>(lead * samples + n)] =
          static_cast<float>((1 + lead) * std::sin(2 * kPi * double(n) / 64.0 + lead));
  for (const double factor : {1.125, 0.9, 1.0}) {
    const auto y = time_scale(x.data(), leads, samples, factor, 64, 64);
    ASSERT_EQ(y.size(), x.size());
    for (std::int64_t lead = 0; lead < leads; ++lead) {
      const auto [amplitude, residual] =
          test::fit_sinusoid(y.data() + lead * samples, 0, samples, 64.0 * factor);
      EXPECT_NEAR(amplitude, 1.0 + lead, 2e-3 * (1 + lead))
          << "factor " << factor << " lead " << lead;
      EXPECT_LT(residual, 2e-3 * (1 + lead)) << "factor " << factor << " lead " << lead;
    }
  }
  EXPECT_THROW(time_scale(x.data(), leads, samples, 0.0, 64, 64), InputError);
  EXPECT_THROW(time_scale(x.data(), leads, samples, NAN, 64, 64), InputError);
  EXPECT_THROW(time_scale(x.data(), leads, samples, 1.1, 0, 64), InputError);
}

// Simulated records of known rate brought 8 % faster and 7 % slower: every interval is scaled
// by the factor, so the measured rate lands on the target up to the beats that the scaling
// moves into or out of the 10 s (the median RR is taken over other intervals, which vary by
// the record's RR variability) and one sample of RR interval; the beats keep their size. The
// same with the beats warped (RateWarp::kFridericia) instead of the time axis scaled.
TEST(FitHeartRate, BringsSimulatedRecordsToTheTargetRate) {
  struct Case {
    const char* rhythm;
    double bpm;
  };
  for (const double fs : {102.4, 500.0}) {
    for (const Case c : {Case{"sinus", 72}, Case{"tachy", 128}, Case{"brady", 52}}) {
      const Person person = draw_person(61, static_cast<std::uint64_t>(c.bpm));
      SimCondition condition = parse_condition(c.rhythm);
      condition.heart_rate = c.bpm;
      const SimEcg ecg = render(person, condition, {fs, 10, false, 20, 3});
      const auto before = measure_heart_rate(ecg.signal.data(), 12, ecg.samples, fs);
      ASSERT_TRUE(before.has_value());
      const float size_before = *std::max_element(ecg.signal.begin(), ecg.signal.end()) -
                                *std::min_element(ecg.signal.begin(), ecg.signal.end());
      for (const auto& [change, warp] :
           {std::pair{1.08, RateWarp::kUniform}, std::pair{0.93, RateWarp::kUniform},
            std::pair{1.08, RateWarp::kFridericia}, std::pair{0.93, RateWarp::kFridericia}}) {
        std::vector<float> signal = ecg.signal;
        const double target = *before * change;
        RateFitOptions options;
        options.warp = warp;
        const RateFit fit = fit_heart_rate(signal.data(), 12, ecg.samples, fs, target, options);
        ASSERT_TRUE(fit.changed) << c.rhythm << " at " << fs << " Hz, target " << target;
        EXPECT_NEAR(fit.factor, *before / target, 1e-12);
        const auto after = measure_heart_rate(signal.data(), 12, ecg.samples, fs);
        ASSERT_TRUE(after.has_value());
        const double rr_samples = 60.0 * fs / target;
        EXPECT_NEAR(*after, target, 0.015 * target + target / (rr_samples - 1))
            << c.rhythm << " at " << fs << " Hz, from " << *before;
        EXPECT_LT(std::abs(*after - target), std::abs(*before - target) / 4)
            << c.rhythm << " at " << fs << " Hz, from " << *before;
        const float size_after = *std::max_element(signal.begin(), signal.end()) -
                                 *std::min_element(signal.begin(), signal.end());
        EXPECT_NEAR(size_after, size_before, 0.05 * size_before)
            << c.rhythm << " at " << fs << " Hz";
      }
    }
  }
}

// A rate too far from the target, or a signal without beats, is left exactly as it was.
TEST(FitHeartRate, LeavesWhatItCannotFitUnchanged) {
  const Person person = draw_person(62, 1);
  SimCondition condition = parse_condition("sinus");
  condition.heart_rate = 70;
  const SimEcg ecg = render(person, condition, {102.4, 10, false, 20, 4});
  const auto before = measure_heart_rate(ecg.signal.data(), 12, ecg.samples, 102.4);
  ASSERT_TRUE(before.has_value());
  std::vector<float> signal = ecg.signal;
  const RateFit far = fit_heart_rate(signal.data(), 12, ecg.samples, 102.4, *before * 1.3);
  EXPECT_FALSE(far.changed);
  EXPECT_EQ(far.factor, 1.0);
  EXPECT_EQ(signal, ecg.signal);
  RateFitOptions wide;
  wide.max_change = 0.5;
  EXPECT_TRUE(fit_heart_rate(signal.data(), 12, ecg.samples, 102.4, *before * 1.3, wide).changed);
  std::vector<float> flat(static_cast<std::size_t>(12 * ecg.samples), 0.0f);
  const RateFit none = fit_heart_rate(flat.data(), 12, ecg.samples, 102.4, 70);
  EXPECT_FALSE(none.changed);
  EXPECT_FALSE(none.before_bpm.has_value());
  EXPECT_TRUE(std::all_of(flat.begin(), flat.end(), [](float v) { return v == 0.0f; }));
  EXPECT_THROW(fit_heart_rate(signal.data(), 12, ecg.samples, 102.4, NAN), InputError);
  EXPECT_THROW(fit_heart_rate(signal.data(), 12, ecg.samples, 102.4, 0.0), InputError);
}

// The copies' rates: log-uniform between bpm / (1 + range) and bpm * (1 + range), cut at 60
// and 100 bpm on the side the record is on.
TEST(AugmentedHeartRate, DrawsLogUniformlyWithinTheRangeAndTheRateClass) {
  // 80 bpm, range 0.1: 72.73 .. 88 bpm, inside 60 .. 100.
  EXPECT_NEAR(augmented_heart_rate(80, 0.1, 0.0), 80 / 1.1, 1e-12);
  EXPECT_NEAR(augmented_heart_rate(80, 0.1, 0.5), 80.0, 1e-12);  // the geometric mean
  EXPECT_NEAR(augmented_heart_rate(80, 0.1, 0.75), 80 * std::pow(1.1, 0.5), 1e-12);
  // 90 bpm, range 0.25: 72 .. 112.5, cut at 100.
  EXPECT_NEAR(augmented_heart_rate(90, 0.25, 0.0), 72.0, 1e-12);
  EXPECT_NEAR(augmented_heart_rate(90, 0.25, 0.5), std::sqrt(72.0 * 100.0), 1e-12);
  // 64 bpm: 51.2 .. 80, cut at 60 below.
  EXPECT_NEAR(augmented_heart_rate(64, 0.25, 0.0), 60.0, 1e-12);
  // Bradycardia at 50 bpm stays under 60; tachycardia at 120 stays over 100.
  EXPECT_NEAR(augmented_heart_rate(50, 0.25, 0.0), 40.0, 1e-12);
  EXPECT_NEAR(augmented_heart_rate(50, 0.25, 0.5), std::sqrt(40.0 * 60.0), 1e-12);
  EXPECT_NEAR(augmented_heart_rate(120, 0.25, 0.0), 100.0, 1e-12);
  EXPECT_NEAR(augmented_heart_rate(120, 0.25, 0.5), std::sqrt(100.0 * 150.0), 1e-12);
  for (double u = 0; u < 1; u += 0.01) {
    EXPECT_LT(augmented_heart_rate(58, 0.3, u), 60.0);
    EXPECT_GE(augmented_heart_rate(103, 0.3, u), 100.0);
    const double mid = augmented_heart_rate(99, 0.3, u);
    EXPECT_TRUE(mid >= 60 && mid <= 100) << mid;
  }
  EXPECT_EQ(augmented_heart_rate(75, 0.0, 0.3), 75.0);
  EXPECT_THROW(augmented_heart_rate(0, 0.1, 0.5), InputError);
  EXPECT_THROW(augmented_heart_rate(NAN, 0.1, 0.5), InputError);
  EXPECT_THROW(augmented_heart_rate(70, -0.1, 0.5), InputError);
  EXPECT_THROW(augmented_heart_rate(70, 0.1, 1.0), InputError);
  EXPECT_THROW(augmented_heart_rate(70, 0.1, -0.01), InputError);
}

// A simulated record of known rate scaled from its simulated rate to another: the detector
// reads the new rate within the tolerance of FitHeartRate above (the median RR of the
// record's own variability, one sample of RR), on both sides and both rates, with the time
// axis scaled and with the beats warped (at rates where they keep a diastole and at fast ones
// where they are scaled evenly); no beats, no copy.
TEST(ScaleHeartRate, BringsARecordFromItsRateToAnother) {
  const double fs = 102.4;
  for (const double bpm : {58.0, 75.0, 110.0}) {
    const Person person = draw_person(63, static_cast<std::uint64_t>(bpm));
    SimCondition condition = parse_condition(bpm < 60 ? "brady" : bpm > 100 ? "tachy" : "sinus");
    condition.heart_rate = bpm;
    const SimEcg ecg = render(person, condition, {fs, 10, false, 20, 5});
    const auto before = measure_heart_rate(ecg.signal.data(), 12, ecg.samples, fs);
    ASSERT_TRUE(before.has_value());
    for (const RateWarp warp : {RateWarp::kUniform, RateWarp::kFridericia}) {
      for (const double to : {*before * 0.85, *before * 1.15}) {
        const auto scaled =
            scale_heart_rate(ecg.signal.data(), 12, ecg.samples, fs, *before, to, warp);
        ASSERT_TRUE(scaled.has_value());
        ASSERT_EQ(scaled->size(), ecg.signal.size());
        const auto after = measure_heart_rate(scaled->data(), 12, ecg.samples, fs);
        ASSERT_TRUE(after.has_value());
        EXPECT_NEAR(*after, to, 0.015 * to + to / (60.0 * fs / to - 1))
            << bpm << " -> " << to << (warp == RateWarp::kFridericia ? " warped" : " scaled");
      }
    }
  }
  const std::vector<float> flat(static_cast<std::size_t>(12 * 1024), 0.0f);
  EXPECT_FALSE(scale_heart_rate(flat.data(), 12, 1024, fs, 70, 80).has_value());
  EXPECT_THROW(scale_heart_rate(flat.data(), 12, 1024, fs, 70, 0), InputError);
  EXPECT_THROW(scale_heart_rate(flat.data(), 12, 1024, fs, NAN, 70), InputError);
}

// One lead at 100 Hz with beats every 80 samples (75 bpm): an R spike at each peak p, a P wave
// 15 samples before it and a T wave 25 samples after it. warp_beats puts the R spike at
// factor * p and copies the 20 samples before it and the 6 after it (the P wave, the QRS)
// exactly; the segment from c = 6 samples after the R peak to the T wave's end (QT = 0.41 s *
// 0.8^(1/3) = 38.06 samples after it, qtc 0.41 s) is stretched so that the QT changes by
// Fridericia's QT * (factor^(1/3) - 1): by s = 1 + 38.06 * (factor^(1/3) - 1) / (38.06 - 6), so
// the T wave's peak lands at 6 + 19 s after the new R (the beats are long enough for a
// diastole at both rates). Factor 1 gives the signal back.
TEST(WarpBeats, KeepsThePWaveAndQrsAndMovesTheTWaveByTheCubeRoot) {
  const double fs = 100;
  const std::int64_t samples = 1000;
  std::vector<std::int64_t> peaks;
  for (std::int64_t p = 40; p < samples; p += 80) peaks.push_back(p);
  std::vector<float> x(static_cast<std::size_t>(samples), 0.0f);
  const auto bump = [&](double centre, double sigma, double height) {
    for (std::int64_t n = 0; n < samples; ++n)
      x[static_cast<std::size_t>(n)] +=
          static_cast<float>(height * std::exp(-0.5 * std::pow((double(n) - centre) / sigma, 2)));
  };
  for (const std::int64_t p : peaks) {
    bump(double(p), 1.5, 1.0);
    bump(double(p) - 15, 3.0, 0.15);
    bump(double(p) + 25, 4.0, 0.3);
  }
  // The peak of y near `guess` (within 5 samples), refined by a parabola through its neighbours.
  const auto peak_near = [&](const std::vector<float>& y, double guess) {
    auto best = static_cast<std::int64_t>(std::lround(guess)) - 5;
    for (std::int64_t n = best; n <= best + 10; ++n)
      if (y[static_cast<std::size_t>(n)] > y[static_cast<std::size_t>(best)]) best = n;
    const double l = y[static_cast<std::size_t>(best - 1)], m = y[static_cast<std::size_t>(best)],
                 r = y[static_cast<std::size_t>(best + 1)];
    return double(best) + 0.5 * (l - r) / (l - 2 * m + r);
  };
  for (const double factor : {1.2, 0.85}) {  // 62.5 and 88.2 bpm; factor * p is whole
    const auto y = warp_beats(x.data(), 1, samples, fs, peaks, factor);
    ASSERT_EQ(y.size(), x.size());
    for (const float v : y) ASSERT_TRUE(std::isfinite(v));
    const double qt = 0.41 * std::cbrt(0.8) * fs;
    const double t_offset = 6 + 19 * (1 + qt * (std::cbrt(factor) - 1) / (qt - 6));
    for (std::size_t k = 1; k + 1 < peaks.size(); ++k) {
      const auto q = static_cast<std::int64_t>(std::lround(factor * double(peaks[k])));
      if (q + 40 >= samples) break;
      for (std::int64_t j = -20; j <= 6; ++j)
        EXPECT_NEAR(y[static_cast<std::size_t>(q + j)], x[static_cast<std::size_t>(peaks[k] + j)],
                    1e-5)
            << "factor " << factor << " beat " << k << " offset " << j;
      EXPECT_NEAR(peak_near(y, double(q) + t_offset), double(q) + t_offset, 0.2)
          << "factor " << factor << " beat " << k;
    }
  }
  const auto same = warp_beats(x.data(), 1, samples, fs, peaks, 1.0);
  for (std::int64_t n = 0; n < samples; ++n)
    EXPECT_NEAR(same[static_cast<std::size_t>(n)], x[static_cast<std::size_t>(n)], 1e-6) << n;
  EXPECT_THROW(warp_beats(x.data(), 1, samples, fs, peaks, 0.0), InputError);
  EXPECT_THROW(warp_beats(x.data(), 1, samples, fs, {40}, 1.1), InputError);
  EXPECT_THROW(warp_beats(x.data(), 1, samples, fs, {120, 40}, 1.1), InputError);
  EXPECT_THROW(warp_beats(x.data(), 1, samples, fs, {40, samples}, 1.1), InputError);
}

}  // namespace
}  // namespace ecgtwin::signal
