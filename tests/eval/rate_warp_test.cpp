// A record brought to another heart rate against the simulator's own rendering of the same
// person at that rate: the simulator keeps a person's PR and QRS and sets their QT by
// Fridericia's cube root of the RR interval, so its rendering is the reference for a warp that
// claims to change the rate as a heart does.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "ecgtwin/eval/templates.hpp"
#include "ecgtwin/signal/heart_rate.hpp"
#include "ecgtwin/signal/rate_fit.hpp"
#include "ecgtwin/signal/simulator.hpp"

namespace ecgtwin::eval {
namespace {

// For simulated persons in sinus rhythm at 72 bpm, brought to 62 and 86 bpm (the cache's
// 102.4 Hz, noise-free): the average beat of the warped record is nearer the person's own
// rendering at the new rate than that of the time-scaled record (which stretches the P wave,
// the QRS and the QT with the RR interval), for every person and both rates; over them all at
// less than half the time-scaled records' distance, and nearer than the record left at 72 bpm.
TEST(RateWarp, NearerTheSimulatedPersonAtTheNewRateThanTimeScaling) {
  const double fs = 102.4;
  const signal::RenderOptions options{fs, 10, false, 20, 7};
  double warped_sum = 0, scaled_sum = 0, unchanged_sum = 0;
  for (std::int64_t index = 0; index < 6; ++index) {
    const signal::Person person = signal::draw_person(65, index);
    signal::SimCondition condition = signal::parse_condition("sinus");
    condition.heart_rate = 72;
    const signal::SimEcg record = signal::render(person, condition, options);
    const auto from = signal::measure_heart_rate(record.signal.data(), 12, record.samples, fs);
    ASSERT_TRUE(from.has_value());
    for (const double bpm : {62.0, 86.0}) {
      condition.heart_rate = bpm;
      const signal::SimEcg truth = signal::render(person, condition, options);
      const auto to = signal::measure_heart_rate(truth.signal.data(), 12, truth.samples, fs);
      ASSERT_TRUE(to.has_value());
      const auto template_of = [&](const std::vector<float>& x) {
        const auto t = beat_template(x.data(), 12, record.samples, fs);
        EXPECT_TRUE(t.has_value());
        return t.value_or(std::vector<float>{});
      };
      const auto reference = template_of(truth.signal);
      const auto distance = [&](signal::RateWarp warp) {
        const auto x = signal::scale_heart_rate(record.signal.data(), 12, record.samples, fs, *from,
                                                *to, warp);
        EXPECT_TRUE(x.has_value());
        return template_distance(template_of(x.value_or(record.signal)), reference, 12, 2);
      };
      const double warped = distance(signal::RateWarp::kFridericia);
      const double scaled = distance(signal::RateWarp::kUniform);
      EXPECT_LT(warped, scaled) << "person " << index << " at " << bpm << " bpm";
      warped_sum += warped;
      scaled_sum += scaled;
      unchanged_sum += template_distance(template_of(record.signal), reference, 12, 2);
    }
  }
  EXPECT_LT(warped_sum, 0.5 * scaled_sum) << warped_sum << " against " << scaled_sum;
  EXPECT_LT(warped_sum, unchanged_sum) << warped_sum << " against " << unchanged_sum;
}

}  // namespace
}  // namespace ecgtwin::eval
