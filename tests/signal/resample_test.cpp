// Resampling (libsoxr) and fitting to the model's window, against closed forms.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ecgtwin/signal/resample.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::signal {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<float> sine(double f, double fs, std::int64_t n, double amplitude, double offset) {
  std::vector<float> x(static_cast<size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    x[i] = float(offset + amplitude * std::sin(2 * kPi * f * i / fs));
  }
  return x;
}

TEST(Resample, LengthsAreExact) {
  EXPECT_EQ(resampled_length(5000, 500.0, 102.4), 1024);
  EXPECT_EQ(resampled_length(1000, 100.0, 102.4), 1024);
  EXPECT_EQ(resampled_length(2000, 200.0, 102.4), 1024);
  EXPECT_EQ(resampled_length(3600, 360.0, 102.4), 1024);
  for (auto [n, fs_in, fs_out] :
       std::vector<std::tuple<std::int64_t, double, double>>{{5000, 500, 102.4},
                                                             {1000, 100, 102.4},
                                                             {3600, 360, 102.4},
                                                             {1024, 102.4, 500},
                                                             {777, 250, 100},
                                                             {1, 500, 102.4},
                                                             {0, 500, 102.4}}) {
    std::vector<float> x(static_cast<size_t>(n), 1.0f);
    EXPECT_EQ(std::int64_t(resample(x.data(), n, fs_in, fs_out).size()),
              resampled_length(n, fs_in, fs_out));
  }
}

TEST(Resample, SineKeepsAmplitudeFrequencyAndPhase) {
  for (auto [fs_in, fs_out] : std::vector<std::pair<double, double>>{
           {500, 102.4}, {100, 102.4}, {360, 102.4}, {102.4, 500}, {200, 102.4}}) {
    const double f = 7.3;  // well inside both bands
    const std::int64_t n = std::llround(10 * fs_in);
    const std::vector<float> x = sine(f, fs_in, n, 1.5, 0.0);
    const std::vector<float> y = resample(x.data(), n, fs_in, fs_out);
    const std::int64_t m = std::int64_t(y.size());
    double worst = 0;
    for (std::int64_t j = m / 5; j < 4 * m / 5; ++j) {
      const double expected = 1.5 * std::sin(2 * kPi * f * j / fs_out);
      worst = std::max(worst, std::abs(y[j] - expected));
    }
    EXPECT_LT(worst, 1e-3) << fs_in << " -> " << fs_out;
  }
}

TEST(Resample, PreservesDcAndRemovesAliases) {
  const std::vector<float> dc(5000, 0.75f);
  const std::vector<float> y = resample(dc.data(), 5000, 500.0, 102.4);
  for (size_t j = 100; j < y.size() - 100; ++j) EXPECT_NEAR(y[j], 0.75f, 1e-4) << j;
  // 80 Hz is above the new Nyquist (51.2 Hz): it must vanish, not fold to 22.4 Hz.
  const std::vector<float> high = sine(80.0, 500.0, 5000, 1.0, 0.0);
  const std::vector<float> z = resample(high.data(), 5000, 500.0, 102.4);
  for (size_t j = 100; j < z.size() - 100; ++j) EXPECT_LT(std::abs(z[j]), 1e-3) << j;
}

TEST(Resample, ReusedResamplerStartsFreshAndLeadsMatchSingleChannel) {
  const std::vector<float> a = sine(3.1, 500.0, 5000, 1.0, 0.4);
  const std::vector<float> b = sine(11.0, 500.0, 5000, 2.0, -0.3);
  const std::vector<float> first = resample(a.data(), 5000, 500.0, 102.4);
  resample(b.data(), 5000, 500.0, 102.4);  // same rates: the resampler is reused
  resample(b.data(), 5000, 360.0, 100.0);  // other rates: a new one
  EXPECT_EQ(resample(a.data(), 5000, 500.0, 102.4), first);
  std::vector<float> both(a);
  both.insert(both.end(), b.begin(), b.end());
  const std::vector<float> leads = resample_leads(both.data(), 2, 5000, 500.0, 102.4);
  const std::vector<float> second = resample(b.data(), 5000, 500.0, 102.4);
  ASSERT_EQ(leads.size(), 2 * first.size());
  for (size_t j = 0; j < first.size(); ++j) {
    EXPECT_NEAR(leads[j], first[j], 1e-6) << j;
    EXPECT_NEAR(leads[first.size() + j], second[j], 1e-6) << j;
  }
}

TEST(Resample, RefusesBadRates) {
  std::vector<float> x(10, 0.0f);
  EXPECT_THROW(resample(x.data(), 10, 0.0, 100.0), InputError);
  EXPECT_THROW(resample(x.data(), 10, 500.0, -1.0), InputError);
  EXPECT_THROW(resample(x.data(), 10, NAN, 100.0), InputError);
}

TEST(FitToWindow, ExactTenSecondsGiveTheGridAndKeepLeadsApart) {
  const double fs = 500.0;
  std::vector<float> x;
  for (int lead = 0; lead < 3; ++lead) {
    const std::vector<float> one = sine(2.0 + lead, fs, 5000, 1.0, 0.1 * lead);
    x.insert(x.end(), one.begin(), one.end());
  }
  const FittedSignal fitted = fit_to_window(x.data(), 3, 5000, fs);
  ASSERT_EQ(fitted.signal.size(), size_t(3 * 1024));
  EXPECT_DOUBLE_EQ(fitted.sampling_rate, 102.4);
  EXPECT_EQ(fitted.padded_samples, 0);
  EXPECT_EQ(fitted.cropped_samples, 0);
  for (int lead = 0; lead < 3; ++lead) {
    for (int j = 200; j < 800; ++j) {
      const double expected = 0.1 * lead + std::sin(2 * kPi * (2.0 + lead) * j / 102.4);
      EXPECT_NEAR(fitted.signal[lead * 1024 + j], expected, 1e-3) << lead << " " << j;
    }
  }
}

TEST(FitToWindow, ShortRecordIsZeroPaddedLongRecordCropped) {
  const std::vector<float> short_record(2500, 1.0f);  // 5 s at 500 Hz
  const FittedSignal padded = fit_to_window(short_record.data(), 1, 2500, 500.0);
  EXPECT_EQ(padded.padded_samples, 512);
  EXPECT_EQ(padded.cropped_samples, 0);
  for (int j = 512; j < 1024; ++j) EXPECT_EQ(padded.signal[j], 0.0f);
  EXPECT_NEAR(padded.signal[256], 1.0f, 1e-4);

  std::vector<float> long_record(6000);  // 30 s at 200 Hz, a ramp of the time in seconds
  for (int i = 0; i < 6000; ++i) long_record[i] = float(i) / 200.0f;
  const FittedSignal cropped = fit_to_window(long_record.data(), 1, 6000, 200.0);
  EXPECT_EQ(cropped.cropped_samples, 3072 - 1024);
  EXPECT_EQ(cropped.padded_samples, 0);
  // The first 10 s are kept: sample j holds the time j / 102.4 s.
  for (int j = 100; j < 1024; j += 97) EXPECT_NEAR(cropped.signal[j], j / 102.4, 2e-3) << j;
}

}  // namespace
}  // namespace ecgtwin::signal
