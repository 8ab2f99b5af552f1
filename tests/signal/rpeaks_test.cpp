// The R-peak detector on synthetic ECGs whose beat positions are known: Gaussian P, Q, R, S
// and T waves, with noise, baseline wander and powerline interference.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "ecgtwin/signal/heart_rate.hpp"
#include "ecgtwin/signal/resample.hpp"
#include "ecgtwin/signal/rpeaks.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::signal {
namespace {

constexpr double kPi = 3.14159265358979323846;

struct Synthetic {
  std::vector<float> x;
  std::vector<double> r_times;  // seconds
};

struct SyntheticOptions {
  double fs = 500;
  double seconds = 60;
  double noise_mv = 0.03;
  double wander_mv = 0.3;
  double powerline_mv = 0.05;
  double r_mv = 1.0;
  double t_mv = 0.3;
  double jitter = 0.05;  // relative RR jitter
  unsigned seed = 7;
};

double gaussian(double t, double centre, double sigma) {
  const double z = (t - centre) / sigma;
  return std::exp(-0.5 * z * z);
}

// rr(i): the RR interval before beat i, in seconds.
template <typename RrFn>
Synthetic make_ecg(const SyntheticOptions& o, RrFn rr, std::vector<double> r_scale = {}) {
  std::mt19937 rng(o.seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Synthetic s;
  for (double t = 0.5; t < o.seconds - 0.5;) {
    s.r_times.push_back(t);
    t += rr(s.r_times.size()) * (1.0 + o.jitter * std::max(-2.0, std::min(2.0, normal(rng))));
  }
  const auto n = static_cast<std::int64_t>(o.seconds * o.fs);
  s.x.assign(static_cast<size_t>(n), 0.0f);
  for (std::int64_t i = 0; i < n; ++i) {
    const double t = double(i) / o.fs;
    double v = o.wander_mv * std::sin(2 * kPi * 0.2 * t) + o.noise_mv * normal(rng);
    if (o.fs > 120) v += o.powerline_mv * std::sin(2 * kPi * 50.0 * t);
    s.x[i] = float(v);
  }
  for (size_t b = 0; b < s.r_times.size(); ++b) {
    const double r = s.r_times[b];
    const double next = b + 1 < s.r_times.size() ? s.r_times[b + 1] - r : 1.0;
    const double t_offset = std::min(0.30, 0.55 * next);
    const double scale = b < r_scale.size() ? r_scale[b] : 1.0;
    const std::int64_t lo = std::max<std::int64_t>(0, std::int64_t((r - 0.3) * o.fs));
    const std::int64_t hi = std::min<std::int64_t>(n, std::int64_t((r + 0.6) * o.fs));
    for (std::int64_t i = lo; i < hi; ++i) {
      const double t = double(i) / o.fs;
      s.x[i] +=
          float(0.12 * gaussian(t, r - 0.16, 0.02) - 0.1 * gaussian(t, r - 0.025, 0.008) +
                scale * o.r_mv * gaussian(t, r, 0.010) - 0.25 * gaussian(t, r + 0.025, 0.008) +
                o.t_mv * gaussian(t, r + t_offset, 0.04));
    }
  }
  return s;
}

// Every true beat matched by exactly one detection within `tolerance_s`, and no extras.
void expect_matches(const std::vector<std::int64_t>& peaks, const std::vector<double>& truth,
                    double fs, double tolerance_s, const std::string& label) {
  ASSERT_EQ(peaks.size(), truth.size()) << label;
  for (size_t i = 0; i < truth.size(); ++i) {
    EXPECT_NEAR(double(peaks[i]) / fs, truth[i], tolerance_s) << label << " beat " << i;
  }
}

TEST(RPeaks, FindsEveryBeatAtAnyRateAndSamplingRate) {
  for (double fs : {100.0, 102.4, 200.0, 360.0, 500.0}) {
    for (double bpm : {40.0, 60.0, 100.0, 140.0, 180.0}) {
      SyntheticOptions o;
      o.fs = fs;
      const Synthetic s = make_ecg(o, [&](size_t) { return 60.0 / bpm; });
      const auto peaks = detect_r_peaks(s.x.data(), std::int64_t(s.x.size()), fs);
      const std::string label = "fs " + std::to_string(fs) + " bpm " + std::to_string(bpm);
      // The R wave's apex: within a sample or 8 ms, whichever is larger.
      expect_matches(peaks, s.r_times, fs, std::max(1.0 / fs, 0.008) + 1e-9, label);
    }
  }
}

TEST(RPeaks, TenSecondsResampledTo1024SamplesKeepTheHeartRate) {
  for (double bpm : {45.0, 75.0, 120.0, 160.0}) {
    SyntheticOptions o;
    o.seconds = 10;
    o.seed = unsigned(bpm);
    const Synthetic s = make_ecg(o, [&](size_t) { return 60.0 / bpm; });
    const FittedSignal fitted = fit_to_window(s.x.data(), 1, std::int64_t(s.x.size()), o.fs);
    const auto peaks = detect_r_peaks(fitted.signal.data(), fitted.samples, fitted.sampling_rate);
    std::vector<std::int64_t> truth;
    for (double t : s.r_times) truth.push_back(std::llround(t * 1e6));
    expect_matches(peaks, s.r_times, fitted.sampling_rate, 1.0 / fitted.sampling_rate + 1e-9,
                   "1024 samples at " + std::to_string(bpm) + " bpm");
    EXPECT_NEAR(*heart_rate_bpm(peaks, fitted.sampling_rate), *heart_rate_bpm(truth, 1e6), 1.5)
        << bpm;
  }
}

TEST(RPeaks, InvertedLeadGivesTheNegativeApex) {
  SyntheticOptions o;
  o.fs = 360;
  Synthetic s = make_ecg(o, [](size_t) { return 0.8; });
  for (float& v : s.x) v = -v;
  const auto peaks = detect_r_peaks(s.x.data(), std::int64_t(s.x.size()), o.fs);
  expect_matches(peaks, s.r_times, o.fs, 0.008, "inverted");
}

TEST(RPeaks, TallTWavesAreNotBeats) {
  SyntheticOptions o;
  o.fs = 250;
  o.t_mv = 0.8;  // T wave 80% of the R wave, but four times wider, so far less steep
  const Synthetic s = make_ecg(o, [](size_t) { return 0.9; });
  const auto peaks = detect_r_peaks(s.x.data(), std::int64_t(s.x.size()), o.fs);
  expect_matches(peaks, s.r_times, o.fs, 0.008, "tall T");
}

TEST(RPeaks, SearchBackRecoversSmallBeatsAndFollowsRateChanges) {
  SyntheticOptions o;
  o.fs = 360;
  o.seconds = 90;
  o.jitter = 0.02;
  // 60 bpm for 30 s, then 130 bpm; every 10th beat at 35% of the usual R amplitude.
  std::vector<double> scale(200, 1.0);
  for (size_t i = 5; i < scale.size(); i += 10) scale[i] = 0.35;
  const Synthetic s = make_ecg(
      o, [&](size_t i) { return i < 30 ? 1.0 : 60.0 / 130.0; }, scale);
  const auto peaks = detect_r_peaks(s.x.data(), std::int64_t(s.x.size()), o.fs);
  expect_matches(peaks, s.r_times, o.fs, 0.012, "rate change");
}

TEST(RPeaks, FlatOrNoiseOnlyGivesNoBeatsAndLowRatesAreRefused) {
  std::vector<float> flat(5000, 0.2f);
  EXPECT_TRUE(detect_r_peaks(flat.data(), 5000, 500.0).empty());
  std::vector<float> x(100, 0.0f);
  EXPECT_THROW(detect_r_peaks(x.data(), 100, 25.0), InputError);
}

TEST(RPeaks, NonFiniteSamplesAreTreatedAsZero) {
  SyntheticOptions o;
  o.fs = 500;
  Synthetic s = make_ecg(o, [](size_t) { return 0.75; });
  for (int i = 10000; i < 10050; ++i) s.x[i] = NAN;  // 100 ms gap, between beats or on one
  const auto peaks = detect_r_peaks(s.x.data(), std::int64_t(s.x.size()), o.fs);
  std::vector<double> kept;
  for (double t : s.r_times) {
    if (t < 19.98 || t > 20.12) kept.push_back(t);
  }
  EXPECT_GE(peaks.size(), kept.size());
  EXPECT_LE(peaks.size(), kept.size() + 1);
}

TEST(RPeaksLeads, NoisyLeadDoesNotHideTheBeatsAndBestLeadIsTheCleanOne) {
  SyntheticOptions o;
  o.fs = 500;
  o.seconds = 30;
  const Synthetic s = make_ecg(o, [](size_t) { return 0.7; });
  const auto n = std::int64_t(s.x.size());
  std::vector<float> leads(static_cast<size_t>(3 * n));
  std::mt19937 rng(3);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (std::int64_t i = 0; i < n; ++i) {
    leads[i] = float(0.4 * normal(rng));                          // lead 0: muscle noise only
    leads[n + i] = s.x[i];                                        // lead 1: the ECG
    leads[2 * n + i] = float(0.3 * s.x[i] + 0.05 * normal(rng));  // lead 2: small and noisy
  }
  EXPECT_EQ(best_lead(leads.data(), 3, n, o.fs), 1);
  const auto peaks = detect_r_peaks_leads(leads.data(), 3, n, o.fs);
  expect_matches(peaks, s.r_times, o.fs, 0.008, "three leads");
  // measure_heart_rate: the rate of the same peaks, RR 0.7 s = 85.7 bpm up to the beats' 5 %
  // jitter (the median of 42 jittered intervals).
  const auto bpm = measure_heart_rate(leads.data(), 3, n, o.fs);
  ASSERT_TRUE(bpm.has_value());
  EXPECT_DOUBLE_EQ(*bpm, *heart_rate_bpm(peaks, o.fs));
  EXPECT_NEAR(*bpm, 60.0 / 0.7, 2.0);
  const std::vector<float> flat(static_cast<size_t>(3 * n), 0.0f);
  EXPECT_FALSE(measure_heart_rate(flat.data(), 3, n, o.fs).has_value());
}

TEST(HeartRate, MedianRrAndStatisticsMatchClosedForms) {
  const double fs = 250;
  EXPECT_FALSE(heart_rate_bpm({}, fs).has_value());
  EXPECT_FALSE(heart_rate_bpm({100}, fs).has_value());
  EXPECT_DOUBLE_EQ(*heart_rate_bpm({0, 200}, fs), 75.0);
  // One missed beat (a double interval) does not move the median.
  EXPECT_DOUBLE_EQ(*heart_rate_bpm({0, 250, 500, 1000, 1250, 1500}, fs), 60.0);

  // RR alternating 0.8 s and 1.0 s: mean 0.9, successive differences all 0.2 s.
  std::vector<std::int64_t> peaks = {0};
  for (int i = 0; i < 20; ++i) peaks.push_back(peaks.back() + (i % 2 == 0 ? 200 : 250));
  const auto stats = rr_statistics(peaks, fs);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->intervals, 20);
  EXPECT_NEAR(stats->mean_s, 0.9, 1e-12);
  EXPECT_NEAR(stats->median_s, 0.9, 1e-12);
  EXPECT_NEAR(stats->sdnn_s, std::sqrt(20 * 0.01 / 19.0), 1e-12);
  EXPECT_NEAR(stats->rmssd_s, 0.2, 1e-12);
  EXPECT_NEAR(stats->irregularity, 0.2 / 0.9, 1e-12);
  EXPECT_DOUBLE_EQ(stats->pnn50, 1.0);
  EXPECT_FALSE(rr_statistics({0, 100}, fs).has_value());
}

TEST(HeartRate, DetectorRateOnIrregularRhythmSeparatesFromSinus) {
  SyntheticOptions o;
  o.fs = 500;
  o.jitter = 0.02;
  const Synthetic sinus = make_ecg(o, [](size_t) { return 0.8; });
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> uniform(0.45, 1.1);  // AF-like: RR without order
  o.jitter = 0.0;
  o.seed = 8;
  const Synthetic af = make_ecg(o, [&](size_t) { return uniform(rng); });
  const auto sinus_peaks = detect_r_peaks(sinus.x.data(), std::int64_t(sinus.x.size()), o.fs);
  const auto af_peaks = detect_r_peaks(af.x.data(), std::int64_t(af.x.size()), o.fs);
  EXPECT_NEAR(*heart_rate_bpm(sinus_peaks, o.fs), 75.0, 2.0);
  EXPECT_LT(rr_statistics(sinus_peaks, o.fs)->irregularity, 0.06);
  EXPECT_GT(rr_statistics(af_peaks, o.fs)->irregularity, 0.15);
  expect_matches(af_peaks, af.r_times, o.fs, 0.008, "irregular");
}

}  // namespace
}  // namespace ecgtwin::signal
