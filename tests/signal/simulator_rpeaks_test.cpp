// The R-peak detector on simulated records, whose beat positions are known exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "ecgtwin/signal/heart_rate.hpp"
#include "ecgtwin/signal/rpeaks.hpp"
#include "ecgtwin/signal/simulator.hpp"

namespace ecgtwin::signal {
namespace {

double true_rate(const SimEcg& ecg) {
  std::vector<std::int64_t> samples;
  for (const auto& b : ecg.beats) samples.push_back(b.sample);
  return *heart_rate_bpm(samples, ecg.fs);
}

TEST(SimulatorRPeaks, DetectorMeasuresTheSimulatedRateWithinOneBpm) {
  const char* rhythms[] = {"brady", "sinus", "sinus", "tachy", "sarrh", "1avb", "lbbb", "lvh"};
  const double rates[] = {48, 64, 88, 125, 70, 72, 80, 76};
  for (double fs : {500.0, 100.0}) {
    double error_sum = 0;
    int records = 0;
    for (int p = 0; p < 24; ++p) {
      Person person = draw_person(55, p);
      SimCondition c = parse_condition(rhythms[p % 8]);
      c.heart_rate = rates[p % 8];
      auto ecg = render(person, c, {fs, 10, true, 20, static_cast<std::uint64_t>(p)});
      auto peaks = detect_r_peaks_leads(ecg.signal.data(), 12, ecg.samples, fs);
      auto measured = heart_rate_bpm(peaks, fs);
      ASSERT_TRUE(measured.has_value()) << person.id;
      error_sum += std::abs(*measured - true_rate(ecg));
      ++records;
    }
    double mae = error_sum / records;
    std::printf("fs %.0f Hz: heart-rate MAE %.3f bpm over %d noisy records\n", fs, mae, records);
    EXPECT_LT(mae, 1.0);
  }
}

TEST(SimulatorRPeaks, DetectorFindsEveryBeatIncludingVentricularPrematureBeats) {
  int ventricular = 0, found = 0, extra = 0;
  for (int p = 0; p < 20; ++p) {
    Person person = draw_person(56, p);
    SimCondition c = parse_condition(p % 2 ? "pvc" : "afib+pvc");
    c.heart_rate = 75;
    auto ecg = render(person, c, {500, 10, true, 20, static_cast<std::uint64_t>(p)});
    auto peaks = detect_r_peaks_leads(ecg.signal.data(), 12, ecg.samples, ecg.fs);
    for (const auto& beat : ecg.beats) {
      // The detector places a peak on the extremum of the polarity most beats share; in a
      // wide ectopic QRS of another axis that extremum may lie up to 200 ms from its centre.
      auto near = std::find_if(peaks.begin(), peaks.end(), [&](std::int64_t s) {
        return std::abs(s - beat.sample) <= (beat.symbol == "V" ? 100 : 10);
      });
      if (beat.symbol == "V") {
        ++ventricular;
        found += near != peaks.end();
      } else if (beat.sample > 100 && beat.sample < ecg.samples - 100) {
        EXPECT_NE(near, peaks.end()) << person.id << " sinus beat at " << beat.sample;
      }
    }
    extra += static_cast<int>(peaks.size()) - static_cast<int>(ecg.beats.size());
  }
  ASSERT_GE(ventricular, 15);
  EXPECT_EQ(found, ventricular);
  EXPECT_LE(std::abs(extra), 3);
}

}  // namespace
}  // namespace ecgtwin::signal
