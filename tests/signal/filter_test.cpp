// Butterworth and notch filters against the closed-form magnitude of the bilinear-transformed
// Butterworth: |H|^2 = 1 / (1 + (tan(pi f / fs) / tan(pi fc / fs))^(2N)).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ecgtwin/signal/filter.hpp"
#include "ecgtwin/util/error.hpp"
#include "test_support.hpp"

namespace ecgtwin::signal {
namespace {

constexpr double kPi = 3.14159265358979323846;

double butterworth_low_closed(int order, double f, double fc, double fs) {
  const double r = std::tan(kPi * f / fs) / std::tan(kPi * fc / fs);
  return 1.0 / std::sqrt(1.0 + std::pow(r, 2.0 * order));
}
double butterworth_high_closed(int order, double f, double fc, double fs) {
  const double r = std::tan(kPi * fc / fs) / std::tan(kPi * f / fs);
  return 1.0 / std::sqrt(1.0 + std::pow(r, 2.0 * order));
}

std::vector<float> sine(double f, double fs, std::int64_t n, double amplitude = 1.0) {
  std::vector<float> x(static_cast<size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) x[i] = float(amplitude * std::sin(2 * kPi * f * i / fs));
  return x;
}

// Amplitude of a sinusoid of known frequency over [from, to): least squares on sin and cos.
double amplitude_at(const std::vector<float>& x, double f, double fs, std::int64_t from,
                    std::int64_t to) {
  return test::fit_sinusoid(x.data(), from, to, fs / f).amplitude;
}

TEST(Butterworth, DesignedMagnitudeMatchesClosedForm) {
  for (int order : {1, 2, 3, 4, 5}) {
    for (double fs : {100.0, 102.4, 500.0}) {
      const Sos low = butterworth_lowpass(order, 15.0, fs);
      const Sos high = butterworth_highpass(order, 5.0, fs);
      EXPECT_EQ(low.sections.size(), size_t((order + 1) / 2));
      for (double f = 0.25; f < fs / 2; f += 0.77) {
        EXPECT_NEAR(low.magnitude(f), butterworth_low_closed(order, f, 15.0, fs), 1e-9)
            << "order " << order << " fs " << fs << " f " << f;
        EXPECT_NEAR(high.magnitude(f), butterworth_high_closed(order, f, 5.0, fs), 1e-9)
            << "order " << order << " fs " << fs << " f " << f;
      }
      EXPECT_NEAR(low.magnitude(15.0), 1.0 / std::sqrt(2.0), 1e-9);  // -3 dB at the cutoff
      EXPECT_NEAR(low.dc_gain(), 1.0, 1e-12);
      EXPECT_NEAR(high.dc_gain(), 0.0, 1e-12);
    }
  }
}

TEST(Butterworth, ForwardBackwardGivesSquaredMagnitudeOnSines) {
  const double fs = 500.0;
  const std::int64_t n = 10000;
  const Sos band = butterworth_bandpass(2, 0.5, 40.0, fs);
  for (double f : {0.2, 0.5, 1.0, 5.0, 20.0, 40.0, 60.0, 100.0}) {
    std::vector<float> x = sine(f, fs, n);
    filtfilt(band, x);
    const double expected = std::pow(
        butterworth_high_closed(2, f, 0.5, fs) * butterworth_low_closed(2, f, 40.0, fs), 2);
    EXPECT_NEAR(amplitude_at(x, f, fs, 2000, 8000), expected, 2e-4) << "f " << f;
  }
}

TEST(Butterworth, ZeroPhaseKeepsPulsePositionAndSymmetry) {
  const double fs = 360.0;
  std::vector<float> x(2001, 0.0f);
  for (int i = 0; i < 2001; ++i) x[i] = float(std::exp(-0.5 * std::pow((i - 1000) / 4.0, 2)));
  filtfilt(butterworth_bandpass(3, 5.0, 15.0, fs), x);
  int peak = 0;
  for (int i = 0; i < 2001; ++i) peak = x[i] > x[peak] ? i : peak;
  EXPECT_EQ(peak, 1000);
  for (int k = 1; k < 300; ++k) EXPECT_NEAR(x[1000 - k], x[1000 + k], 1e-5) << k;
}

TEST(Butterworth, ConstantAndRampPassLowPassWithoutEdgeTransient) {
  const double fs = 100.0;
  std::vector<float> x(500);
  for (int i = 0; i < 500; ++i) x[i] = 2.0f + 0.01f * float(i);
  std::vector<float> y = x;
  filtfilt(butterworth_lowpass(4, 10.0, fs), y);
  for (int i = 0; i < 500; ++i) EXPECT_NEAR(y[i], x[i], 1e-3) << i;
  std::vector<float> c(500, 3.0f);
  filtfilt(butterworth_highpass(2, 0.5, fs), c);
  for (float v : c) EXPECT_NEAR(v, 0.0f, 1e-4);
}

TEST(Notch, RemovesPowerlineAndKeepsNeighbours) {
  const double fs = 500.0;
  const Sos line = notch(50.0, 30.0, fs);
  EXPECT_LT(line.magnitude(50.0), 1e-9);
  // RBJ notch: |H|^2 = (cos w - cos w0)^2 / ((cos w - cos w0)^2 + (alpha sin w)^2),
  // alpha = sin(w0) / (2 q).
  const double w0 = 2 * kPi * 50.0 / fs, alpha = std::sin(w0) / 60.0;
  for (double f = 1.0; f < 250.0; f += 0.37) {
    const double w = 2 * kPi * f / fs, d = std::cos(w) - std::cos(w0);
    EXPECT_NEAR(line.magnitude(f), std::abs(d) / std::hypot(d, alpha * std::sin(w)), 1e-9) << f;
  }
  // -3 dB band edges near f0 +- f0 / (2 q).
  EXPECT_NEAR(line.magnitude(50.0 + 50.0 / 60.0), 1.0 / std::sqrt(2.0), 0.03);
  std::vector<float> x = sine(50.0, fs, 5000);
  filtfilt(line, x);
  EXPECT_LT(amplitude_at(x, 50.0, fs, 1000, 4000), 1e-3);
  std::vector<float> y = sine(40.0, fs, 5000);
  filtfilt(line, y);
  EXPECT_NEAR(amplitude_at(y, 40.0, fs, 1000, 4000), std::pow(line.magnitude(40.0), 2), 1e-4);
  EXPECT_GT(line.magnitude(40.0), 0.99);
}

TEST(Filters, RefuseImpossibleDesigns) {
  EXPECT_THROW(butterworth_lowpass(2, 60.0, 100.0), InputError);
  EXPECT_THROW(butterworth_highpass(0, 1.0, 100.0), InputError);
  EXPECT_THROW(butterworth_bandpass(2, 20.0, 10.0, 100.0), InputError);
  EXPECT_THROW(notch(50.0, 30.0, 0.0), InputError);
}

}  // namespace
}  // namespace ecgtwin::signal
