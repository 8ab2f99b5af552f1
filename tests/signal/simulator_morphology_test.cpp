// Measured intervals, amplitudes and axes of noise-free renders: published normal ranges in
// sinus rhythm, and the change each condition makes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "ecgtwin/signal/simulator.hpp"
#include "simulator_fiducials.hpp"

namespace ecgtwin::signal {
namespace {

using namespace ecgtwin::test;

constexpr std::uint64_t kPopulation = 2024;
constexpr int kPersons = 40;

// Fiducials of every sinus-conducted beat away from the record's edges.
struct Measured {
  std::vector<BeatFiducials> beats;
  std::vector<std::int64_t> r;  // R samples of those beats
  std::vector<double> rr;       // preceding RR, s
  SimEcg ecg;
};

Measured measure(const Person& person, const std::string& condition, double hr,
                 const std::string& symbol = "N") {
  SimCondition c = parse_condition(condition);
  c.heart_rate = hr;
  Measured m;
  m.ecg = render(person, c, {500, 10, false, 24, 77});
  const auto& b = m.ecg.beats;
  for (std::size_t i = 1; i + 1 < b.size(); ++i) {
    if (b[i].symbol != symbol) continue;
    m.beats.push_back(measure_beat(m.ecg, b[i].sample, b[i - 1].sample, b[i + 1].sample));
    m.r.push_back(b[i].sample);
    m.rr.push_back((b[i].sample - b[i - 1].sample) / m.ecg.fs);
  }
  return m;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? NAN : v[v.size() / 2];
}

double mean_of(const Measured& m, const std::function<double(std::size_t)>& f) {
  double sum = 0;
  for (std::size_t i = 0; i < m.beats.size(); ++i) sum += f(i);
  return sum / static_cast<double>(m.beats.size());
}

double fraction_within(const std::vector<double>& v, double low, double high) {
  auto n = std::count_if(v.begin(), v.end(), [&](double x) { return x >= low && x <= high; });
  return static_cast<double>(n) / static_cast<double>(v.size());
}

// Normal adult ranges: PR 120-200 ms, QRS 80-110 ms, QTc 350-450 ms, axis -30..+90 degrees,
// R in V5 below 2.6 mV (Surawicz et al. 2009; Rautaharju et al. 2009; Sokolow & Lyon 1949).
TEST(SimulatorMorphology, SinusIntervalsAxisAndVoltageAreInPublishedNormalRanges) {
  std::vector<double> pr, qrs, qtc, axis, r_v5;
  for (int p = 0; p < kPersons; ++p) {
    auto m = measure(draw_person(kPopulation, p), "sinus", 60);
    ASSERT_GE(m.beats.size(), 6u);
    pr.push_back(1000 * mean_of(m, [&](std::size_t i) { return m.beats[i].pr(); }));
    qrs.push_back(1000 * mean_of(m, [&](std::size_t i) { return m.beats[i].qrs(); }));
    qtc.push_back(1000 *
                  mean_of(m, [&](std::size_t i) { return m.beats[i].qt() / std::cbrt(m.rr[i]); }));
    axis.push_back(mean_of(m, [&](std::size_t i) { return frontal_axis(m.ecg, m.beats[i]); }));
    r_v5.push_back(mean_of(m, [&](std::size_t i) {
      double top = 0;
      for (auto s = std::llround(m.beats[i].qrs_onset * 500);
           s <= std::llround(m.beats[i].qrs_offset * 500); ++s)
        top = std::max(top, double(m.ecg.lead(kV5)[s]));
      return top;
    }));
  }
  std::printf("median PR %.0f ms, QRS %.0f ms, QTc %.0f ms, axis %.0f deg, R(V5) %.2f mV\n",
              median(pr), median(qrs), median(qtc), median(axis), median(r_v5));
  EXPECT_GE(fraction_within(pr, 120, 200), 0.95);
  EXPECT_GE(fraction_within(qrs, 80, 110), 0.9);
  EXPECT_GE(fraction_within(qrs, 70, 125), 1.0);
  EXPECT_GE(fraction_within(qtc, 350, 450), 0.95);
  EXPECT_GE(fraction_within(axis, -30, 90), 1.0);
  EXPECT_GE(fraction_within(r_v5, 0.3, 2.6), 1.0);
  // Persons differ: the population is not one ECG repeated.
  EXPECT_GT(*std::max_element(pr.begin(), pr.end()) - *std::min_element(pr.begin(), pr.end()), 25);
  EXPECT_GT(
      *std::max_element(axis.begin(), axis.end()) - *std::min_element(axis.begin(), axis.end()),
      40);
}

TEST(SimulatorMorphology, QtShortensWithRateAsFridericia) {
  double bias = 0;
  const int persons = 16;
  for (int p = 0; p < persons; ++p) {
    Person person = draw_person(kPopulation, p);
    auto slow = measure(person, "brady", 50);
    auto fast = measure(person, "sinus", 90);
    double qt_slow = mean_of(slow, [&](std::size_t i) { return slow.beats[i].qt(); });
    double qt_fast = mean_of(fast, [&](std::size_t i) { return fast.beats[i].qt(); });
    double rr_slow = mean_of(slow, [&](std::size_t i) { return slow.rr[i]; });
    double rr_fast = mean_of(fast, [&](std::size_t i) { return fast.rr[i]; });
    EXPECT_LT(qt_fast, qt_slow - 0.02);
    double difference = qt_fast / std::cbrt(rr_fast) - qt_slow / std::cbrt(rr_slow);
    EXPECT_LT(std::abs(difference), 0.04) << person.id;
    bias += difference / persons;
  }
  // QT / RR^(1/3) is the same at both rates on average (Bazett's QT / RR^(1/2) would differ
  // by about 40 ms between 50 and 90 bpm).
  EXPECT_LT(std::abs(bias), 0.01);
}

TEST(SimulatorMorphology, BundleBranchBlocksWidenTheQrs) {
  for (int p = 0; p < 20; ++p) {
    Person person = draw_person(kPopulation, p);
    auto normal = measure(person, "sinus", 60);
    auto lbbb = measure(person, "lbbb", 60);
    auto rbbb = measure(person, "rbbb", 60);
    for (auto* m : {&lbbb, &rbbb})
      for (const auto& f : m->beats)
        EXPECT_GE(f.qrs(), 0.12) << person.id << (m == &lbbb ? " LBBB" : " RBBB");
    double v1_normal = qrs_area(normal.ecg, kV1, normal.beats[0]);
    // LBBB: QS in V1 (negative), broad positive R in V6.
    EXPECT_LT(qrs_area(lbbb.ecg, kV1, lbbb.beats[0]), 0) << person.id;
    EXPECT_GT(qrs_area(lbbb.ecg, kV6, lbbb.beats[0]), 0) << person.id;
    // RBBB: the terminal R' makes V1's QRS area more positive than in sinus rhythm.
    EXPECT_GT(qrs_area(rbbb.ecg, kV1, rbbb.beats[0]), v1_normal) << person.id;
  }
}

TEST(SimulatorMorphology, FirstDegreeAvBlockAndLongQt) {
  for (int p = 0; p < 20; ++p) {
    Person person = draw_person(kPopulation, p);
    auto avb = measure(person, "1avb", 60);
    for (const auto& f : avb.beats) EXPECT_GT(f.pr(), 0.2) << person.id;
    auto lqt = measure(person, "lngqt", 60);
    for (std::size_t i = 0; i < lqt.beats.size(); ++i)
      EXPECT_GT(lqt.beats[i].qt() / std::cbrt(lqt.rr[i]), 0.46) << person.id;
  }
}

TEST(SimulatorMorphology, VentricularPrematureBeatsAreEarlyWideAndLeaveTheSinusRhythmAlone) {
  int seen = 0;
  for (int p = 0; p < 20; ++p) {
    Person person = draw_person(kPopulation, p);
    SimCondition c = parse_condition("pvc"), sinus = parse_condition("sinus");
    c.heart_rate = sinus.heart_rate = 65;
    auto ecg = render(person, c, {500, 10, false, 24, 3});
    // The same record seed schedules the same sinus beats.
    auto reference = render(person, sinus, {500, 10, false, 24, 3});
    std::vector<std::int64_t> sinus_beats;
    for (const auto& b : reference.beats) sinus_beats.push_back(b.sample);
    const auto& b = ecg.beats;
    int ventricular = 0;
    for (std::size_t i = 0; i < b.size(); ++i) {
      bool in_sinus = std::binary_search(sinus_beats.begin(), sinus_beats.end(), b[i].sample);
      if (b[i].symbol == "N") {
        EXPECT_TRUE(in_sinus) << person.id << " beat " << i;
        continue;
      }
      ASSERT_EQ(b[i].symbol, "V");
      ++ventricular;
      EXPECT_FALSE(in_sinus);
      if (i < 1 || i + 1 >= b.size()) continue;
      ++seen;
      auto f = measure_beat(ecg, b[i].sample, b[i - 1].sample, b[i + 1].sample);
      EXPECT_GE(f.qrs(), 0.12) << person.id;
      // Premature, and the sinus beat it hides is missing: a full compensatory pause, the
      // beats either side exactly two sinus cycles apart.
      auto next = std::upper_bound(sinus_beats.begin(), sinus_beats.end(), b[i - 1].sample);
      ASSERT_NE(next, sinus_beats.end());
      EXPECT_LT(b[i].sample, *next - 0.2 * (*next - b[i - 1].sample));
      EXPECT_EQ(b[i + 1].sample, *(next + 1));
    }
    EXPECT_EQ(b.size(), reference.beats.size());
    EXPECT_GE(ventricular, 1) << person.id;
  }
  EXPECT_GE(seen, 15);
}

TEST(SimulatorMorphology, AtrialFibrillationHasIrregularBeatsAndNoRepeatingPWave) {
  for (int p = 0; p < 10; ++p) {
    Person person = draw_person(kPopulation, p);
    auto cv = [](const SimEcg& ecg) {
      std::vector<double> rr;
      for (std::size_t i = 1; i < ecg.beats.size(); ++i)
        rr.push_back(double(ecg.beats[i].sample - ecg.beats[i - 1].sample));
      double mean = std::accumulate(rr.begin(), rr.end(), 0.0) / rr.size();
      double var = 0;
      for (double x : rr) var += (x - mean) * (x - mean);
      return std::sqrt(var / rr.size()) / mean;
    };
    // The P window (200-80 ms before R) of lead II repeats beat to beat in sinus rhythm only.
    auto p_similarity = [](const SimEcg& ecg) {
      std::vector<std::vector<double>> windows;
      for (const auto& beat : ecg.beats) {
        if (beat.sample < 100) continue;
        std::vector<double> w;
        for (auto s = beat.sample - 100; s < beat.sample - 40; ++s) w.push_back(ecg.lead(kII)[s]);
        double mean = std::accumulate(w.begin(), w.end(), 0.0) / w.size();
        for (double& x : w) x -= mean;
        windows.push_back(w);
      }
      double sum = 0;
      int pairs = 0;
      for (std::size_t i = 1; i < windows.size(); ++i) {
        double ab = 0, aa = 0, bb = 0;
        for (std::size_t k = 0; k < windows[i].size(); ++k) {
          ab += windows[i][k] * windows[i - 1][k];
          aa += windows[i][k] * windows[i][k];
          bb += windows[i - 1][k] * windows[i - 1][k];
        }
        sum += ab / std::sqrt(aa * bb + 1e-30);
        ++pairs;
      }
      return sum / pairs;
    };
    SimCondition sinus = parse_condition("sinus"), af = parse_condition("afib");
    sinus.heart_rate = af.heart_rate = 80;
    auto s = render(person, sinus, {500, 10, false, 24, 4});
    auto a = render(person, af, {500, 10, false, 24, 4});
    EXPECT_LT(cv(s), 0.08) << person.id;
    EXPECT_GT(cv(a), 0.1) << person.id;
    EXPECT_GT(p_similarity(s), 0.9) << person.id;
    EXPECT_LT(p_similarity(a), 0.6) << person.id;
  }
}

TEST(SimulatorMorphology, InfarctionsRaiseStInTheirTerritoryWithReciprocalDepression) {
  for (int p = 0; p < 20; ++p) {
    Person person = draw_person(kPopulation, p);
    auto normal = measure(person, "sinus", 60);
    auto ant = measure(person, "ami", 60);
    auto inf = measure(person, "imi", 60);
    // The same seed and rate place the beats identically, so the sinus beat's J point serves
    // all three renders (the injury current blurs the J point of its own render).
    ASSERT_EQ(ant.r, normal.r);
    ASSERT_EQ(inf.r, normal.r);
    const auto& f = normal.beats[0];
    auto st = [&](const Measured& m, int lead) { return st_level(m.ecg, lead, f); };
    auto change = [&](const Measured& m, int lead) { return st(m, lead) - st(normal, lead); };
    EXPECT_GT(std::max({st(ant, kV2), st(ant, kV3), st(ant, kV4)}), 0.1) << person.id;
    EXPECT_GT(std::max({change(ant, kV2), change(ant, kV3), change(ant, kV4)}), 0.1) << person.id;
    EXPECT_LT(std::min({change(ant, kII), change(ant, kIII), change(ant, kAVF)}), -0.05)
        << person.id;
    EXPECT_GT(std::max({st(inf, kII), st(inf, kIII), st(inf, kAVF)}), 0.1) << person.id;
    EXPECT_GT(change(inf, kIII), 0.1) << person.id;
    EXPECT_LT(st(inf, kAVL), 0.0) << person.id;
    EXPECT_LT(change(inf, kAVL), -0.05) << person.id;
  }
}

TEST(SimulatorMorphology, IschaemiaInvertedTLowVoltageAndHypertrophy) {
  int sokolow = 0;
  for (int p = 0; p < 20; ++p) {
    Person person = draw_person(kPopulation, p);
    auto normal = measure(person, "sinus", 60);
    auto isc = measure(person, "std", 60);
    EXPECT_LT(st_level(isc.ecg, kV5, isc.beats[0]) - st_level(normal.ecg, kV5, normal.beats[0]),
              -0.08)
        << person.id;
    EXPECT_GT(st_level(isc.ecg, kAVR, isc.beats[0]) - st_level(normal.ecg, kAVR, normal.beats[0]),
              0.05)
        << person.id;

    // T-wave peak (largest |value| between J + 80 ms and T end) in V3 changes sign.
    auto t_peak = [](const Measured& m) {
      const auto& f = m.beats[0];
      double best = 0;
      for (auto s = std::llround((f.qrs_offset + 0.08) * 500); s < std::llround(f.t_end * 500); ++s)
        if (std::abs(m.ecg.lead(kV3)[s]) > std::abs(best)) best = m.ecg.lead(kV3)[s];
      return best;
    };
    auto inv = measure(person, "invt", 60);
    EXPECT_GT(t_peak(normal), 0.05) << person.id;
    EXPECT_LT(t_peak(inv), -0.05) << person.id;

    auto low = measure(person, "lvolt", 60);
    for (const auto& f : low.beats) {
      for (int lead = 0; lead < 6; ++lead)
        EXPECT_LT(qrs_peak_to_peak(low.ecg, lead, f), 0.5) << person.id;
      for (int lead = 6; lead < 12; ++lead)
        EXPECT_LT(qrs_peak_to_peak(low.ecg, lead, f), 1.0) << person.id;
    }

    auto lvh = measure(person, "lvh", 60);
    const auto& f = lvh.beats[0];
    double s_v1 = 0, r_v5 = 0;
    for (auto s = std::llround(f.qrs_onset * 500); s <= std::llround(f.qrs_offset * 500); ++s) {
      s_v1 = std::max(s_v1, -double(lvh.ecg.lead(kV1)[s]));
      r_v5 = std::max(r_v5, double(lvh.ecg.lead(kV5)[s]));
    }
    sokolow += s_v1 + r_v5 > 3.5;
    EXPECT_GT(qrs_peak_to_peak(lvh.ecg, kV5, f),
              1.5 * qrs_peak_to_peak(normal.ecg, kV5, normal.beats[0]));
  }
  EXPECT_GE(sokolow, 14);  // Sokolow-Lyon criterion in most hypertrophy renders
}

}  // namespace
}  // namespace ecgtwin::signal
