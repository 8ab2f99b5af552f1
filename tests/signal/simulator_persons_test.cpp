// Persons: individual enough to tell apart, and the same person under other conditions.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "ecgtwin/signal/simulator.hpp"
#include "simulator_fiducials.hpp"

namespace ecgtwin::signal {
namespace {

using namespace ecgtwin::test;

// The mean beat of the sinus-conducted beats: [12 x window] around the R peaks, from
// `from` to `to` seconds.
std::vector<double> mean_beat(const SimEcg& ecg, double from, double to) {
  auto a = static_cast<std::int64_t>(std::llround(from * ecg.fs));
  auto b = static_cast<std::int64_t>(std::llround(to * ecg.fs));
  std::vector<double> sum(static_cast<std::size_t>(12 * (b - a)), 0.0);
  int count = 0;
  for (const auto& beat : ecg.beats) {
    if (beat.symbol != "N" || beat.sample + a < 0 || beat.sample + b > ecg.samples) continue;
    for (int lead = 0; lead < 12; ++lead)
      for (std::int64_t k = a; k < b; ++k)
        sum[lead * (b - a) + (k - a)] += ecg.lead(lead)[beat.sample + k];
    ++count;
  }
  for (double& v : sum) v /= count;
  return sum;
}

double rms_difference(const std::vector<double>& x, const std::vector<double>& y) {
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += (x[i] - y[i]) * (x[i] - y[i]);
  return std::sqrt(s / x.size());
}

double correlation(const std::vector<double>& x, const std::vector<double>& y) {
  double xy = 0, xx = 0, yy = 0, mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
  mx /= x.size(), my /= y.size();
  for (std::size_t i = 0; i < x.size(); ++i) {
    xy += (x[i] - mx) * (y[i] - my);
    xx += (x[i] - mx) * (x[i] - mx);
    yy += (y[i] - my) * (y[i] - my);
  }
  return xy / std::sqrt(xx * yy);
}

TEST(SimulatorPersons, TwoPersonsDifferMoreThanTwoRecordingsOfOnePerson) {
  SimCondition c = parse_condition("sinus");
  c.heart_rate = 70;
  for (int p = 0; p < 10; ++p) {
    Person a = draw_person(99, 2 * p), b = draw_person(99, 2 * p + 1);
    auto a1 = mean_beat(render(a, c, {500, 10, true, 20, 1}), -0.25, 0.45);
    auto a2 = mean_beat(render(a, c, {500, 10, true, 20, 2}), -0.25, 0.45);
    auto b1 = mean_beat(render(b, c, {500, 10, true, 20, 1}), -0.25, 0.45);
    double within = rms_difference(a1, a2), between = rms_difference(a1, b1);
    EXPECT_LT(within, 0.5 * between) << a.id << " vs " << b.id << ": " << within << " " << between;
  }
}

TEST(SimulatorPersons, OnePersonKeepsWhatAConditionDoesNotChange) {
  for (int p = 0; p < 10; ++p) {
    Person person = draw_person(99, p);
    auto render_at = [&](const std::string& name) {
      SimCondition c = parse_condition(name);
      c.heart_rate = 60;
      return render(person, c, {500, 10, false, 24, 5});
    };
    auto sinus = render_at("sinus");
    auto avb = render_at("1avb");
    auto invt = render_at("invt");
    auto lbbb = render_at("lbbb");
    auto af = render_at("afib");
    // QRS window (-60..+60 ms): unchanged by a longer PR, inverted T waves (whose broad kernels
    // reach into it a little) or fibrillation.
    auto qrs = mean_beat(sinus, -0.06, 0.06);
    EXPECT_GT(correlation(qrs, mean_beat(avb, -0.06, 0.06)), 0.999) << person.id;
    EXPECT_GT(correlation(qrs, mean_beat(invt, -0.06, 0.06)), 0.97) << person.id;
    EXPECT_GT(correlation(qrs, mean_beat(af, -0.06, 0.06)), 0.98) << person.id;
    EXPECT_LT(correlation(qrs, mean_beat(lbbb, -0.06, 0.06)), 0.9) << person.id;
    // The P wave (-250..-90 ms) is the same with a bundle branch block; it moves with 1AVB.
    auto p_wave = mean_beat(sinus, -0.25, -0.09);
    EXPECT_GT(correlation(p_wave, mean_beat(lbbb, -0.25, -0.09)), 0.95) << person.id;
    EXPECT_LT(correlation(p_wave, mean_beat(avb, -0.25, -0.09)), 0.9) << person.id;
    // T wave (+150..+400 ms) inverted.
    EXPECT_LT(correlation(mean_beat(sinus, 0.15, 0.4), mean_beat(invt, 0.15, 0.4)), -0.9)
        << person.id;
    // The frontal QRS axis stays where it was under a longer PR (within 2 degrees: the broad
    // atrial repolarisation wave moves with the P wave).
    auto axis = [](const SimEcg& ecg) {
      const auto& b = ecg.beats;
      return frontal_axis(ecg, measure_beat(ecg, b[3].sample, b[2].sample, b[4].sample));
    };
    EXPECT_NEAR(axis(sinus), axis(avb), 2.0) << person.id;
  }
}

// Every condition's rendering uses only the traits that condition shows: a person whose other
// traits come from someone else renders the same under it, noise included.
TEST(SimulatorPersons, UnshownTraitsDoNotChangeTheConditionThatShowsThem) {
  const Person person = draw_person(7, 3), donor = draw_person(8, 11);
  for (const auto& name : condition_names()) {
    SimCondition c = parse_condition(name);
    const Person mixed = with_unshown_traits(person, donor, c);
    for (bool noise : {false, true}) {
      EXPECT_EQ(render(mixed, c, {500, 10, noise, 24, 3}).signal,
                render(person, c, {500, 10, noise, 24, 3}).signal)
          << name << (noise ? ", noisy" : "");
    }
  }
}

// A sinus reference shows none of the condition traits: all of them come from the donor, and
// every other field stays the person's (a field added to Person counts as a trait until it is
// named here as part of the resting person).
TEST(SimulatorPersons, ASinusReferenceShowsNoConditionTraits) {
  const Person person = draw_person(7, 3), donor = draw_person(8, 11);
  const SimCondition sinus = parse_condition("sinus");
  const auto mixed = person_to_json(with_unshown_traits(person, donor, sinus));
  const auto own = person_to_json(person), other = person_to_json(donor);
  const std::set<std::string> resting = {"id",
                                         "seed",
                                         "index",
                                         "age",
                                         "sex",
                                         "heart_rate",
                                         "rr_std",
                                         "lf_hf_ratio",
                                         "lf_hz",
                                         "hf_hz",
                                         "pr",
                                         "qrs",
                                         "qtc",
                                         "frontal_deg",
                                         "horizontal_deg",
                                         "sagittal_deg",
                                         "scale",
                                         "kernels",
                                         "baseline_weight",
                                         "powerline_weight",
                                         "emg_weight",
                                         "motion_weight",
                                         "powerline_hz"};
  int traits = 0;
  for (const auto& [key, value] : mixed.items()) {
    if (resting.count(key)) {
      EXPECT_EQ(value, own.at(key)) << key;
    } else {
      EXPECT_EQ(value, other.at(key)) << key;
      EXPECT_NE(value, own.at(key)) << key << ": the two draws should differ";
      ++traits;
    }
  }
  EXPECT_EQ(traits, 17);
  // Those traits change the rendering of the conditions that use them, and only of those: low
  // QRS voltage and inverted T waves are the same for everyone.
  for (const std::string name : {"pvc", "pac", "lbbb", "rbbb", "1avb", "lngqt", "afib", "aflt",
                                 "imi", "ami", "std", "lvh"}) {
    SimCondition c = parse_condition(name);
    c.heart_rate = 0;
    EXPECT_NE(render(with_unshown_traits(person, donor, sinus), c, {500, 10, false, 24, 3}).signal,
              render(person, c, {500, 10, false, 24, 3}).signal)
        << name;
  }
  for (const std::string name : {"sinus", "sbrad", "stach", "lvolt", "invt"}) {
    SimCondition c = parse_condition(name);
    EXPECT_EQ(render(with_unshown_traits(person, donor, sinus), c, {500, 10, false, 24, 3}).signal,
              render(person, c, {500, 10, false, 24, 3}).signal)
        << name;
  }
}

}  // namespace
}  // namespace ecgtwin::signal
