// Preprocessing a record into 12 x 1024 windows: lengths, windows, NaN, amplitude, rate.
#include "ecgtwin/data/preprocess.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ecgtwin/signal/simulator.hpp"
#include "ecgtwin/util/error.hpp"
#include "test_support.hpp"

namespace ecgtwin::data {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A 12-lead record at fs Hz; lead l holds (l + 1) * 0.1 mV * sin(2 pi f t).
Record sine_record(double fs, double seconds, double frequency) {
  Record r;
  r.id = "sine";
  r.source = "sine.hea";
  r.sampling_rate = fs;
  r.lead_names = standard_leads();
  r.units.assign(12, "mV");
  const auto n = static_cast<std::int64_t>(std::llround(fs * seconds));
  r.signal.resize(static_cast<std::size_t>(12 * n));
  for (int l = 0; l < 12; ++l)
    for (std::int64_t i = 0; i < n; ++i)
      r.signal[l * n + i] =
          static_cast<float>((l + 1) * 0.1 * std::sin(2 * kPi * frequency * double(i) / fs));
  return r;
}

TEST(Preprocess, OneWindowOf12x1024) {
  for (double fs : {100.0, 250.0, 500.0}) {
    PreparedRecord p = preprocess_record(sine_record(fs, 10, 5));
    ASSERT_EQ(p.windows.size(), 1u) << fs;
    EXPECT_EQ(p.windows[0].signal.size(), 12u * 1024u) << fs;
    EXPECT_EQ(p.windows[0].start_seconds, 0.0);
    EXPECT_EQ(p.non_finite, 0);
  }
  PreprocessOptions o;
  o.samples = 256;
  o.seconds = 2.5;
  o.min_seconds = 1;
  EXPECT_EQ(preprocess_record(sine_record(500, 2.5, 5), o).windows.at(0).signal.size(), 12u * 256u);
}

TEST(Preprocess, LongRecordsAreCutShortOnesPaddedOrRefused) {
  PreparedRecord long_record = preprocess_record(sine_record(500, 25, 5));
  ASSERT_EQ(long_record.windows.size(), 2u);  // whole 10-s windows at 0 and 10 s
  EXPECT_EQ(long_record.windows[1].start_seconds, 10.0);
  PreprocessOptions overlapping;
  overlapping.stride_seconds = 5;
  EXPECT_EQ(preprocess_record(sine_record(500, 25, 5), overlapping).windows.size(), 4u);
  PreprocessOptions first_only;
  first_only.stride_seconds = 0;
  EXPECT_EQ(preprocess_record(sine_record(500, 25, 5), first_only).windows.size(), 1u);

  // 7 s: one window, the last 3 s zero.
  PreparedRecord short_record = preprocess_record(sine_record(500, 7, 5));
  ASSERT_EQ(short_record.windows.size(), 1u);
  const auto& x = short_record.windows[0].signal;
  double tail = 0;
  for (int i = 760; i < 1024; ++i) tail = std::max(tail, std::fabs(double(x[11 * 1024 + i])));
  EXPECT_LT(tail, 1e-6);
  EXPECT_TRUE(test::throws_input_error([] { preprocess_record(sine_record(500, 3, 5)); },
                                       {"too short", "sine.hea"}))
      << "a 3-s record";
  Record missing = sine_record(500, 10, 5);
  missing.lead_names[6] = "V7";
  EXPECT_TRUE(test::throws_input_error([&] { preprocess_record(missing); }, {"V1"}))
      << "a record without V1";
}

TEST(Preprocess, NonFiniteSamplesBecomeZeroAndAreCounted) {
  Record r = sine_record(500, 10, 5);
  r.signal[3] = std::numeric_limits<float>::quiet_NaN();
  r.signal[5000 * 4 + 17] = std::numeric_limits<float>::infinity();
  r.signal[5000 * 11 + 4999] = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < 500; ++i) r.signal[5000 * 2 + 1000 + i] = std::nanf("");
  PreparedRecord p = preprocess_record(r);
  EXPECT_EQ(p.non_finite, 503);
  for (float v : p.windows[0].signal) ASSERT_TRUE(std::isfinite(v));
  // Lead III is zero where its samples were NaN (2.0-3.0 s, away from the filter's reach).
  const float* lead3 = p.windows[0].signal.data() + 2 * 1024;
  for (int i = 215; i < 300; ++i) EXPECT_NEAR(lead3[i], 0.0, 0.01) << i;
}

TEST(Preprocess, ResamplingKeepsTheSine) {
  // A 5 Hz sine at 500 Hz, brought to 102.4 Hz: away from the edges every output sample is
  // the sine at its own time, and the peak amplitude of each lead is kept.
  PreparedRecord p = preprocess_record(sine_record(500, 10, 5));
  const auto& x = p.windows[0].signal;
  for (int l = 0; l < 12; ++l) {
    const double amplitude = (l + 1) * 0.1;
    double peak = 0, worst = 0;
    for (int i = 50; i < 1024 - 50; ++i) {
      const double expected = amplitude * std::sin(2 * kPi * 5 * i / 102.4);
      worst = std::max(worst, std::fabs(double(x[l * 1024 + i]) - expected));
      peak = std::max(peak, std::fabs(double(x[l * 1024 + i])));
    }
    EXPECT_LT(worst, 1e-3 * amplitude) << "lead " << l;
    EXPECT_NEAR(peak, amplitude, 0.01 * amplitude) << "lead " << l;
  }
}

TEST(Preprocess, HeartRateFromTheRecordOrItsRPeaks) {
  Record r = sine_record(500, 10, 5);
  r.heart_rate = 64.0;
  EXPECT_EQ(preprocess_record(r).windows[0].heart_rate.value_or(0), 64.0);
  // A simulated sinus record at a known rate, without a rate in its metadata.
  for (double rate : {62.0, 78.0, 95.0}) {
    signal::SimCondition condition = signal::parse_condition("sinus");
    condition.heart_rate = rate;
    signal::SimEcg ecg =
        signal::render(signal::draw_person(5, 2), condition, {500, 10, true, 24, 9});
    Record sim;
    sim.source = "sim";
    sim.sampling_rate = ecg.fs;
    sim.lead_names = standard_leads();
    sim.signal = ecg.signal;
    PreparedRecord p = preprocess_record(sim);
    ASSERT_TRUE(p.windows[0].heart_rate.has_value()) << rate;
    EXPECT_NEAR(*p.windows[0].heart_rate, ecg.heart_rate, 3.0) << rate;
    PreprocessOptions no_estimate;
    no_estimate.estimate_heart_rate = false;
    EXPECT_FALSE(preprocess_record(sim, no_estimate).windows[0].heart_rate.has_value());
  }
}

}  // namespace
}  // namespace ecgtwin::data
