#include "ecgtwin/eval/templates.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::eval {
namespace {

// [leads x width] template whose every lead is a Gaussian pulse of width sigma (samples) at `centre`.
std::vector<float> pulse_template(std::int64_t leads, std::int64_t width, double centre, double sigma) {
  std::vector<float> t(static_cast<std::size_t>(leads * width));
  for (std::int64_t lead = 0; lead < leads; ++lead)
    for (std::int64_t k = 0; k < width; ++k)
      t[static_cast<std::size_t>(lead * width + k)] =
          static_cast<float>((1.0 + 0.1 * double(lead)) * std::exp(-0.5 * std::pow((double(k) - centre) / sigma, 2)));
  return t;
}

TEST(TemplateDistance, RootMeanSquareOfTheDifference) {
  std::vector<float> a(2 * 4, 0.0f), b(2 * 4, 0.0f);
  b[0] = 3.0f;  // one sample of eight differs by 3: sqrt(9 / 8)
  EXPECT_NEAR(template_distance(a, b, 2), std::sqrt(9.0 / 8.0), 1e-12);
  for (auto& v : b) v = 0.5f;
  EXPECT_NEAR(template_distance(a, b, 2), 0.5, 1e-12);
  EXPECT_EQ(template_distance(b, b, 2, 3), 0.0);
}

TEST(TemplateDistance, ShiftRemovesAnOffsetOfAFewSamples) {
  const std::int64_t leads = 3, width = 70;
  auto a = pulse_template(leads, width, 30.0, 2.0);
  auto b = pulse_template(leads, width, 32.0, 2.0);  // the same beat two samples later
  const double unaligned = template_distance(a, b, leads);
  EXPECT_GT(unaligned, 0.1);
  // One sample of shift leaves one sample of offset, averaged over the 69 samples both cover
  // (the pulses are zero at the edges, so the sum of squares is the same).
  EXPECT_NEAR(template_distance(a, b, leads, 1),
              template_distance(a, pulse_template(leads, width, 31.0, 2.0), leads) * std::sqrt(70.0 / 69.0), 1e-6);
  EXPECT_NEAR(template_distance(a, b, leads, 2), 0.0, 1e-6);
  EXPECT_NEAR(template_distance(b, a, leads, 2), 0.0, 1e-6);  // both directions
  EXPECT_NEAR(template_distance(a, b, leads, 5), 0.0, 1e-6);  // more shift cannot do worse
}

TEST(TemplateDistance, ShiftDoesNotMatchADifferentMorphology) {
  const std::int64_t leads = 2, width = 70;
  auto narrow = pulse_template(leads, width, 30.0, 2.0);
  auto wide = pulse_template(leads, width, 30.0, 4.0);
  EXPECT_GT(template_distance(narrow, wide, leads, 2), 0.5 * template_distance(narrow, wide, leads));
  EXPECT_GT(template_distance(narrow, wide, leads, 2), 0.05);
}

TEST(TemplateDistance, RejectsMismatchedTemplates) {
  std::vector<float> a(24, 0.0f), b(12, 0.0f);
  EXPECT_THROW(template_distance(a, b, 12), Error);
  EXPECT_THROW(template_distance(a, a, 5), Error);    // 24 samples are not 5 leads
  EXPECT_THROW(template_distance(a, a, 12, 2), Error);  // width 2: shifts of 2 leave nothing
  EXPECT_THROW(template_distance({}, {}, 1), Error);
}

TEST(TemplateShift, IsTheOffsetTheDistanceRemoves) {
  const std::int64_t leads = 3, width = 70;
  const auto a = pulse_template(leads, width, 30.0, 2.0);
  const auto b = pulse_template(leads, width, 32.0, 2.0);  // two samples later: a[k] = b[k + 2]
  EXPECT_EQ(template_shift(a, b, leads, 3), -2);
  EXPECT_EQ(template_shift(b, a, leads, 3), 2);
  EXPECT_EQ(template_shift(a, a, leads, 3), 0);
  EXPECT_EQ(template_shift(a, b, leads, 1), -1);    // as far as allowed
  EXPECT_THROW(template_shift(a, b, 4, 1), Error);  // 210 samples are not 4 leads
}

TEST(TemplateDifference, IsTheDifferenceOfTheAlignedTemplates) {
  const std::int64_t leads = 2, width = 70;
  // a: the beat of b one and a half times as high, two samples earlier.
  auto a = pulse_template(leads, width, 30.0, 2.0);
  for (auto& v : a) v *= 1.5f;
  const auto b = pulse_template(leads, width, 32.0, 2.0);
  const auto difference = template_difference(a, b, leads, 3);
  const auto expected = pulse_template(leads, width, 30.0, 2.0);  // 1.5 p - p, aligned
  ASSERT_EQ(difference.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(difference[i], 0.5f * expected[i], 1e-6) << i;
  // Without shift the beats' offset stays in the difference.
  const auto unaligned = template_difference(a, b, leads, 0);
  EXPECT_NEAR(unaligned[30], a[30] - b[30], 1e-7);
  EXPECT_GT(std::abs(unaligned[30]), 0.5);
  EXPECT_THROW(template_difference(a, std::vector<float>(10), leads, 3), Error);
}

// A 12-lead signal of Gaussian QRS-like pulses (10 ms) at the given times, with a lead-dependent gain.
std::vector<float> pulse_train(double fs, std::int64_t samples, const std::vector<double>& times) {
  std::vector<float> x(static_cast<std::size_t>(12 * samples), 0.0f);
  for (std::int64_t lead = 0; lead < 12; ++lead)
    for (double t : times)
      for (std::int64_t k = 0; k < samples; ++k)
        x[static_cast<std::size_t>(lead * samples + k)] +=
            static_cast<float>((0.5 + 0.1 * double(lead)) * std::exp(-0.5 * std::pow((double(k) / fs - t) / 0.01, 2)));
  return x;
}

// The share of all (persons - 1)-subsets of the others that hold none of the nearer ones,
// counted by enumerating the subsets.
double enumerated_win_share(int others, int nearer, int persons) {
  const int drawn = std::min(persons - 1, others);
  std::int64_t subsets = 0, wins = 0;
  for (std::uint32_t mask = 0; mask < (1u << others); ++mask) {
    if (__builtin_popcount(mask) != drawn) continue;
    ++subsets;
    // Others 0 .. nearer-1 are the nearer ones.
    wins += (mask & ((1u << nearer) - 1u)) == 0;
  }
  return double(wins) / double(subsets);
}

TEST(WinProbabilityAmong, EqualsTheShareOfEnumeratedSubsets) {
  for (int others = 0; others <= 10; ++others)
    for (int nearer = 0; nearer <= others; ++nearer)
      for (int persons = 1; persons <= 12; ++persons)
        EXPECT_NEAR(win_probability_among(others, nearer, persons),
                    enumerated_win_share(others, nearer, persons), 1e-12)
            << others << " others, " << nearer << " nearer, " << persons << " persons";
}

TEST(WinProbabilityAmong, ClosedFormsAndBadCounts) {
  EXPECT_NEAR(win_probability_among(6, 2, 4), 4.0 / 20.0, 1e-12);  // C(4,3) / C(6,3)
  EXPECT_NEAR(win_probability_among(57, 1, 20), 38.0 / 57.0,
              1e-12);  // one nearer other: left out 38 of 57 times
  EXPECT_EQ(win_probability_among(19, 0, 20), 1.0);
  EXPECT_EQ(win_probability_among(19, 1, 20), 0.0);
  EXPECT_EQ(win_probability_among(57, 0, 1), 1.0);  // nobody else compared
  EXPECT_THROW(win_probability_among(3, 4, 2), Error);
  EXPECT_THROW(win_probability_among(-1, 0, 2), Error);
  EXPECT_THROW(win_probability_among(3, 0, 0), Error);
}

TEST(BeatTemplate, IsThePulseAtItsPeakAndIndependentOfBeatPhase) {
  const double fs = 500;
  const std::int64_t samples = 5000;
  std::vector<double> times, later;
  for (double t = 0.6; t < 9.5; t += 0.8) {
    times.push_back(t);
    later.push_back(t + 0.37);
  }
  const BeatTemplateOptions options;
  auto a = beat_template(pulse_train(fs, samples, times).data(), 12, samples, fs, options);
  auto b = beat_template(pulse_train(fs, samples, later).data(), 12, samples, fs, options);
  ASSERT_TRUE(a && b);
  const auto width = static_cast<std::int64_t>(std::lround((options.before_s + options.after_s) * fs));
  ASSERT_EQ(static_cast<std::int64_t>(a->size()), 12 * width);
  const auto peak = static_cast<std::int64_t>(std::lround(options.before_s * fs));
  for (std::int64_t lead = 0; lead < 12; ++lead) {
    // Peak within a sample of the R position, at the lead's gain (baseline: the flat median, 0).
    const float* row = a->data() + lead * width;
    EXPECT_NEAR(*std::max_element(row + peak - 1, row + peak + 2), 0.5 + 0.1 * double(lead), 1e-3) << lead;
    EXPECT_NEAR(row[peak + 50], 0.0, 1e-6) << lead;  // 100 ms after the pulse
  }
  EXPECT_NEAR(template_distance(*a, *b, 12, 1), 0.0, 1e-3);
}

// Signals of one beat shape at gains, one after another.
std::vector<float> pulse_trains_at_gains(double fs, std::int64_t samples,
                                         const std::vector<double>& gains) {
  std::vector<double> times;
  for (double t = 0.6; t < 9.5; t += 0.8) times.push_back(t);
  const auto one = pulse_train(fs, samples, times);
  std::vector<float> all;
  for (double g : gains)
    for (float v : one) all.push_back(static_cast<float>(g * v));
  return all;
}

TEST(TemplateMedoid, IsTheSignalNearestTheOthers) {
  const double fs = 500;
  const std::int64_t samples = 5000;
  // Templates differ by (g_a - g_b) times one template: summed distances are proportional to
  // the summed |g_a - g_b|, least at the median gain, 1.1 (index 2).
  auto x = pulse_trains_at_gains(fs, samples, {1.5, 0.9, 1.1, 1.3, 1.0});
  EXPECT_EQ(template_medoid(x.data(), 5, 12, samples, fs, 2), 2);
  // A flat signal (no beat) is never chosen and left out of the sums: among 2.0, 1.8 and 1.0
  // the medoid is 1.8 (index 2).
  auto y = pulse_trains_at_gains(fs, samples, {2.0, 0.0, 1.8, 1.0});
  EXPECT_EQ(template_medoid(y.data(), 4, 12, samples, fs, 2), 2);
  // One signal, and none with a beat: index 0.
  EXPECT_EQ(template_medoid(x.data(), 1, 12, samples, fs, 2), 0);
  std::vector<float> flat(3 * 12 * 2000, 0.0f);
  EXPECT_EQ(template_medoid(flat.data(), 3, 12, 2000, fs, 2), 0);
  EXPECT_THROW(template_medoid(flat.data(), 0, 12, 2000, fs, 2), Error);
}

TEST(TemplateMean, AveragesTemplatesAlignedOnTheAnchor) {
  const std::int64_t leads = 3, width = 70;
  const auto anchor = pulse_template(leads, width, 30.0, 2.0);
  // The anchor's own pulse two samples early and three late: aligned, they are the anchor
  // (the pulses vanish at the edges the shift fills from).
  const std::vector<std::vector<float>> shifted{pulse_template(leads, width, 28.0, 2.0),
                                                pulse_template(leads, width, 33.0, 2.0)};
  const auto mean = template_mean(shifted, anchor, leads, 3);
  ASSERT_EQ(mean.size(), anchor.size());
  for (std::size_t i = 0; i < mean.size(); ++i) EXPECT_NEAR(mean[i], anchor[i], 1e-6) << i;
  // Without shift the sample-wise mean: pulses of heights 1 and 3 average to height 2.
  auto one = pulse_template(leads, width, 30.0, 2.0), three = one;
  for (auto& v : three) v *= 3.0f;
  const auto plain = template_mean({one, three}, one, leads, 0);
  for (std::size_t i = 0; i < plain.size(); ++i) EXPECT_NEAR(plain[i], 2.0f * one[i], 1e-6) << i;
  EXPECT_THROW(template_mean({}, anchor, leads, 3), Error);
  EXPECT_THROW(template_mean({std::vector<float>(12, 0.0f)}, anchor, leads, 3), Error);
}

TEST(TemplateConsensus, IsTheMedoidAndTheMeanOfTheBeats) {
  const double fs = 500;
  const std::int64_t samples = 5000;
  // Templates scale with the gain: the medoid is the median gain (1.1, index 2) and the mean
  // beat is the beat at the mean gain, 1.16; a flat signal (index 5) is left out of both.
  const std::vector<double> gains{1.5, 0.9, 1.1, 1.3, 1.0, 0.0};
  auto x = pulse_trains_at_gains(fs, samples, gains);
  const auto c = template_consensus(x.data(), 6, 12, samples, fs, 2);
  EXPECT_EQ(c.medoid, 2);
  EXPECT_EQ(c.medoid, template_medoid(x.data(), 6, 12, samples, fs, 2));
  const auto at = [&](double gain) {
    return *beat_template(pulse_trains_at_gains(fs, samples, {gain}).data(), 12, samples, fs);
  };
  const auto medoid_beat = at(1.1), mean_beat = at(1.16);
  ASSERT_EQ(c.medoid_beat.size(), medoid_beat.size());
  ASSERT_EQ(c.mean_beat.size(), mean_beat.size());
  for (std::size_t i = 0; i < mean_beat.size(); ++i) {
    EXPECT_NEAR(c.medoid_beat[i], medoid_beat[i], 1e-5) << i;
    EXPECT_NEAR(c.mean_beat[i], mean_beat[i], 1e-5) << i;
  }
  std::vector<float> flat(2 * 12 * 2000, 0.0f);
  const auto none = template_consensus(flat.data(), 2, 12, 2000, fs, 2);
  EXPECT_EQ(none.medoid, 0);
  EXPECT_TRUE(none.medoid_beat.empty());
  EXPECT_TRUE(none.mean_beat.empty());
  EXPECT_THROW(template_consensus(flat.data(), 0, 12, 2000, fs, 2), Error);
}

TEST(TemplateNearest, IsTheSignalNearestTheTarget) {
  const double fs = 500;
  const std::int64_t samples = 5000;
  // Templates differ by (g_a - g_b) times one template: the nearest to a gain of 1.25 is 1.3
  // (index 3), to 0.0 the least gain, 0.9 (index 1).
  auto x = pulse_trains_at_gains(fs, samples, {1.5, 0.9, 1.1, 1.3, 1.0});
  auto at = [&](double gain) {
    return *beat_template(pulse_trains_at_gains(fs, samples, {gain}).data(), 12, samples, fs);
  };
  EXPECT_EQ(template_nearest(x.data(), 5, 12, samples, fs, 2, at(1.25)), 3);
  std::vector<float> zero(at(1.0).size(), 0.0f);
  EXPECT_EQ(template_nearest(x.data(), 5, 12, samples, fs, 2, zero), 1);
  // A flat signal (no beat) is never chosen, even where its zero template is nearest.
  auto y = pulse_trains_at_gains(fs, samples, {2.0, 0.0, 1.8});
  EXPECT_EQ(template_nearest(y.data(), 3, 12, samples, fs, 2, zero), 2);
  std::vector<float> flat(3 * 12 * 2000, 0.0f);
  EXPECT_EQ(template_nearest(flat.data(), 3, 12, 2000, fs, 2, zero), 0);
  EXPECT_THROW(template_nearest(flat.data(), 0, 12, 2000, fs, 2, zero), Error);
  std::vector<float> short_target(10, 0.0f);
  EXPECT_THROW(template_nearest(x.data(), 5, 12, samples, fs, 2, short_target), Error);
}

TEST(AddToBeats, TheAverageBeatMovesByTheChange) {
  const double fs = 500;
  const std::int64_t samples = 5000;
  std::vector<double> times;
  for (double t = 0.6; t < 9.5; t += 0.8) times.push_back(t);
  auto x = pulse_train(fs, samples, times);
  const BeatTemplateOptions options;
  const auto before = beat_template(x.data(), 12, samples, fs, options);
  ASSERT_TRUE(before);
  const std::int64_t width = static_cast<std::int64_t>(before->size()) / 12;
  const auto peak = static_cast<std::int64_t>(std::lround(options.before_s * fs));
  // A T-wave-like bump 200 ms after the R peak, of a height that differs by lead.
  std::vector<float> change(before->size());
  for (std::int64_t lead = 0; lead < 12; ++lead)
    for (std::int64_t k = 0; k < width; ++k)
      change[static_cast<std::size_t>(lead * width + k)] = static_cast<float>(
          0.02 * double(lead + 1) * std::exp(-0.5 * std::pow(double(k - peak - 100) / 10.0, 2)));
  EXPECT_EQ(add_to_beats(x.data(), 12, samples, fs, change, options),
            static_cast<std::int64_t>(times.size()));
  const auto after = beat_template(x.data(), 12, samples, fs, options);
  ASSERT_TRUE(after);
  // Beats 0.8 s apart, windows of 0.7 s: no overlap, and the window is flat (1) between its
  // tapers over the first and last 10 %.
  const std::int64_t taper = width / 10;
  for (std::int64_t lead = 0; lead < 12; ++lead)
    for (std::int64_t k = taper; k < width - taper; ++k) {
      const auto i = static_cast<std::size_t>(lead * width + k);
      EXPECT_NEAR((*after)[i] - (*before)[i], change[i], 1e-5) << lead << " " << k;
    }
  EXPECT_THROW(add_to_beats(x.data(), 12, samples, fs, std::vector<float>(12 * (width - 1))),
               Error);
}

TEST(AddToBeats, OverlappingWindowsAreAveragedNotSummed) {
  const double fs = 500;
  const std::int64_t samples = 5000;
  std::vector<double> times;
  for (double t = 0.5; t < 9.6; t += 0.5) times.push_back(t);  // 120 bpm: windows overlap
  const auto x = pulse_train(fs, samples, times);
  auto y = x;
  const BeatTemplateOptions options;
  const auto width = static_cast<std::int64_t>(std::lround(options.before_s * fs) +
                                               std::lround(options.after_s * fs));
  const std::vector<float> change(static_cast<std::size_t>(12 * width), 0.1f);
  add_to_beats(y.data(), 12, samples, fs, change, options);
  // Between the first window's flat part and the last's, every sample is covered with a
  // summed weight of at least 1, and a constant change is added once (3 samples of margin
  // for where the detector places the first and last peaks).
  const auto from =
      static_cast<std::int64_t>(std::lround((times.front() - options.before_s) * fs)) + width / 10 +
      3;
  const auto to = static_cast<std::int64_t>(std::lround((times.back() + options.after_s) * fs)) -
                  width / 10 - 3;
  for (std::int64_t lead = 0; lead < 12; lead += 5)
    for (std::int64_t k = from; k < to; ++k) {
      const auto i = static_cast<std::size_t>(lead * samples + k);
      ASSERT_NEAR(y[i] - x[i], 0.1f, 1e-5) << lead << " " << k;
    }
  // Before the first window: unchanged.
  EXPECT_EQ(y[10], x[10]);
}

TEST(TransferBeatDifference, AddsTheReferencesDifferenceUnlessTheBeatsMove) {
  const double fs = 500;
  const std::int64_t samples = 5000;
  std::vector<double> times;
  for (double t = 0.6; t < 9.5; t += 0.8) times.push_back(t);
  const auto x = pulse_train(fs, samples, times);
  const auto rendered = *beat_template(x.data(), 12, samples, fs);
  const std::int64_t width = static_cast<std::int64_t>(rendered.size()) / 12;
  const std::int64_t peak = std::lround(BeatTemplateOptions().before_s * fs);
  // The reference: the rendered beat with a T-wave-like bump, one sample later.
  auto reference = rendered;
  for (std::int64_t lead = 0; lead < 12; ++lead)
    for (std::int64_t k = 0; k < width; ++k)
      reference[static_cast<std::size_t>(lead * width + k)] +=
          static_cast<float>(0.1 * std::exp(-0.5 * std::pow(double(k - peak - 100) / 10.0, 2)));
  std::rotate(reference.begin(), reference.end() - 1, reference.end());
  auto y = x;
  ASSERT_TRUE(transfer_beat_difference(y.data(), 12, samples, fs, reference, rendered, 5));
  const auto moved = *beat_template(y.data(), 12, samples, fs);
  // The bump (where the reference has it: one sample later), and not the one-sample offset of
  // the R waves, is what reaches the beats.
  for (std::int64_t lead = 0; lead < 12; lead += 11)
    for (std::int64_t k = width / 10; k < width - width / 10; ++k) {
      const auto i = static_cast<std::size_t>(lead * width + k);
      EXPECT_NEAR(moved[i] - rendered[i],
                  0.1 * std::exp(-0.5 * std::pow(double(k - peak - 101) / 10.0, 2)), 1e-4)
          << lead << " " << k;
    }
  // A change the detector reads as beats of its own (a sharp spike three times the R wave,
  // 300 ms after it) leaves the signal as it was.
  auto spiked = rendered;
  for (std::int64_t lead = 0; lead < 12; ++lead)
    for (std::int64_t k = 0; k < width; ++k)
      spiked[static_cast<std::size_t>(lead * width + k)] +=
          static_cast<float>(3.0 * std::exp(-0.5 * std::pow(double(k - peak - 150) / 5.0, 2)));
  auto z = x;
  EXPECT_FALSE(transfer_beat_difference(z.data(), 12, samples, fs, spiked, rendered, 5));
  EXPECT_EQ(z, x);
  // Tried at fractions in turn: the whole spike is refused, a twentieth of it (0.15 mV, below
  // every R wave) is added.
  ASSERT_TRUE(transfer_beat_difference(z.data(), 12, samples, fs, spiked, rendered, 5, nullptr,
                                       {1.0, 0.05}));
  const auto small_spike = *beat_template(z.data(), 12, samples, fs);
  for (std::int64_t lead = 0; lead < 12; lead += 11)
    for (std::int64_t k = width / 10; k < width - width / 10; ++k) {
      const auto i = static_cast<std::size_t>(lead * width + k);
      EXPECT_NEAR(small_spike[i] - rendered[i], 0.05 * (spiked[i] - rendered[i]), 1e-4)
          << lead << " " << k;
    }
  z = x;
  EXPECT_FALSE(transfer_beat_difference(z.data(), 12, samples, fs, spiked, rendered, 5, nullptr,
                                        {1.0, 0.9}));
  EXPECT_EQ(z, x);
  // No beat: nothing to change.
  std::vector<float> flat(static_cast<std::size_t>(12 * samples), 0.0f);
  EXPECT_FALSE(transfer_beat_difference(flat.data(), 12, samples, fs, reference, rendered, 5));
  // Gains multiply the difference sample by sample: halved, the bump reaches the beats at half
  // its height; the wrong number of gains is refused.
  const std::vector<float> half(static_cast<std::size_t>(width), 0.5f);
  auto h = x;
  ASSERT_TRUE(transfer_beat_difference(h.data(), 12, samples, fs, reference, rendered, 5, &half));
  const auto halved = *beat_template(h.data(), 12, samples, fs);
  for (std::int64_t k = width / 10; k < width - width / 10; ++k)
    EXPECT_NEAR(halved[static_cast<std::size_t>(k)] - rendered[static_cast<std::size_t>(k)],
                0.05 * std::exp(-0.5 * std::pow(double(k - peak - 101) / 10.0, 2)), 1e-4)
        << k;
  const std::vector<float> short_gains(static_cast<std::size_t>(width - 1), 1.0f);
  EXPECT_THROW(
      transfer_beat_difference(h.data(), 12, samples, fs, reference, rendered, 5, &short_gains),
      Error);
}

// A [leads x width] template at 500 Hz (the default window: the R peak at sample 125) of a P,
// a QRS and a T bump of compact support (raised cosines), each lead at its own size, the
// three scaled by `p`, `qrs` and `t`.
std::vector<float> three_waves(std::int64_t leads, double p, double qrs, double t) {
  const std::int64_t width = 350;
  std::vector<float> out(static_cast<std::size_t>(leads * width), 0.0f);
  const auto bump = [](double k, double centre, double half) {
    return std::abs(k - centre) < half ? 0.5 * (1 + std::cos(M_PI * (k - centre) / half)) : 0.0;
  };
  for (std::int64_t lead = 0; lead < leads; ++lead)
    for (std::int64_t k = 0; k < width; ++k)
      out[static_cast<std::size_t>(lead * width + k)] =
          static_cast<float>((1.0 + 0.2 * double(lead)) *
                             (0.15 * p * bump(double(k), 60, 20) + qrs * bump(double(k), 125, 15) +
                              0.3 * t * bump(double(k), 250, 40)));
  return out;
}

TEST(SegmentGains, AreTheSizeRatiosOfEachSegment) {
  const double fs = 500;
  const std::int64_t leads = 3;
  const auto from = three_waves(leads, 1, 1, 1);
  // Low voltage in the QRS, T inversion: gains 1, 0.5, -0.8 inside the P (samples 0-99), QRS
  // (100-154) and ST-T (155-349) segments, ramped over 3 samples each side of their bounds.
  const auto gains = segment_gains(from, three_waves(leads, 1, 0.5, -0.8), leads, fs, 2);
  ASSERT_EQ(gains.size(), 350u);
  for (std::int64_t k = 0; k < 97; ++k) EXPECT_NEAR(gains[k], 1.0, 1e-6) << k;
  for (std::int64_t k = 103; k < 152; ++k) EXPECT_NEAR(gains[k], 0.5, 1e-6) << k;
  for (std::int64_t k = 158; k < 350; ++k) EXPECT_NEAR(gains[k], -0.8, 1e-6) << k;
  EXPECT_NEAR(gains[100], (3 * 1.0 + 4 * 0.5) / 7.0, 1e-6);
  // Two samples later, the same gains (`to` is aligned first).
  auto later = three_waves(leads, 1, 0.5, -0.8);
  for (std::int64_t lead = 0; lead < leads; ++lead)
    std::rotate(later.begin() + lead * 350, later.begin() + lead * 350 + 348,
                later.begin() + (lead + 1) * 350);
  const auto aligned = segment_gains(from, later, leads, fs, 2);
  for (std::size_t k = 0; k < gains.size(); ++k) EXPECT_NEAR(aligned[k], gains[k], 1e-6) << k;
  // A T wave 20 ms later (beyond the shift) keeps its size: gain 1 over the ST-T segment.
  auto late_t = from;
  for (std::int64_t lead = 0; lead < leads; ++lead)
    std::rotate(late_t.begin() + lead * 350 + 155, late_t.begin() + lead * 350 + 340,
                late_t.begin() + (lead + 1) * 350);
  const auto moved = segment_gains(from, late_t, leads, fs, 2);
  for (std::int64_t k = 158; k < 350; ++k) EXPECT_NEAR(moved[k], 1.0, 1e-6) << k;
  // Clamped to the limit; 1 where `from` has nothing in a segment (no P wave).
  const auto large = segment_gains(from, three_waves(leads, 3, 3, 3), leads, fs, 2, 1.5);
  for (float g : large) EXPECT_NEAR(g, 1.5, 1e-6);
  const auto no_p =
      segment_gains(three_waves(leads, 0, 1, 1), three_waves(leads, 2, 1, 1), leads, fs, 2);
  for (std::int64_t k = 0; k < 97; ++k) EXPECT_NEAR(no_p[k], 1.0, 1e-6) << k;
  // Templates that are not the default window at this rate are refused.
  EXPECT_THROW(segment_gains(from, from, leads, 250.0, 2), Error);
  EXPECT_THROW(segment_gains(from, std::vector<float>(12, 0.0f), leads, fs, 2), Error);
}

double max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double most = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    most = std::max(most, std::abs(double(a[i]) - b[i]));
  return most;
}

// three_waves(leads, 1, 1, 1) with its T wave as it is with the ST-T segment (from sample 155,
// 60 ms after the R peak) stretched in time by `factor`: centred at 155 + 95 factor, its
// half-width 40 factor.
std::vector<float> stretched_t(std::int64_t leads, double factor) {
  const std::int64_t width = 350;
  auto out = three_waves(leads, 1, 1, 0);
  for (std::int64_t lead = 0; lead < leads; ++lead)
    for (std::int64_t k = 0; k < width; ++k) {
      const double half = 40 * factor, x = double(k) - (155 + 95 * factor);
      if (std::abs(x) < half)
        out[static_cast<std::size_t>(lead * width + k)] += static_cast<float>(
            (1.0 + 0.2 * double(lead)) * 0.3 * 0.5 * (1 + std::cos(M_PI * x / half)));
    }
  return out;
}

TEST(StretchSt, StretchesTheStTSegmentAboutItsStart) {
  const double fs = 500;
  const std::int64_t leads = 3;
  const auto from = three_waves(leads, 1, 1, 1);
  ASSERT_LT(max_abs_difference(stretched_t(leads, 1.0), from), 1e-6);
  for (double factor : {0.8, 1.0, 1.25}) {
    const auto out = stretch_st(from, leads, fs, factor);
    ASSERT_EQ(out.size(), from.size());
    // Linear interpolation of a raised cosine of half-width 40 samples: within 1e-3 mV.
    EXPECT_LT(max_abs_difference(out, stretched_t(leads, factor)), 1e-3) << factor;
    // The P wave and the QRS are kept.
    for (std::int64_t lead = 0; lead < leads; ++lead)
      for (std::int64_t k = 0; k < 155; ++k)
        EXPECT_EQ(out[static_cast<std::size_t>(lead * 350 + k)],
                  from[static_cast<std::size_t>(lead * 350 + k)]);
  }
  EXPECT_THROW(stretch_st(from, leads, fs, 0.0), Error);
  EXPECT_THROW(stretch_st(from, leads, 250.0, 1.0), Error);
}

TEST(StStretch, FindsTheTimeScaleOfTheStTSegment) {
  const double fs = 500;
  const std::int64_t leads = 3;
  const auto from = three_waves(leads, 1, 1, 1);
  // A faster heart (shorter ST-T), a slower one, the same one; also two samples later.
  for (double factor : {0.85, 1.12, 1.0}) {
    const auto to = stretched_t(leads, factor);
    EXPECT_NEAR(st_stretch(from, to, leads, fs, 2), factor, 1e-9) << factor;
    auto later = to;
    for (std::int64_t lead = 0; lead < leads; ++lead)
      std::rotate(later.begin() + lead * 350, later.begin() + lead * 350 + 348,
                  later.begin() + (lead + 1) * 350);
    EXPECT_NEAR(st_stretch(from, later, leads, fs, 2), factor, 1e-9) << factor;
  }
  // Clamped to the limit; 1 where `from` has no ST-T segment.
  EXPECT_NEAR(st_stretch(from, stretched_t(leads, 0.6), leads, fs, 2, 1.25), 0.8, 1e-9);
  EXPECT_EQ(st_stretch(three_waves(leads, 1, 1, 0), from, leads, fs, 2), 1.0);
  EXPECT_THROW(st_stretch(from, from, leads, fs, 2, 0.5), Error);
  EXPECT_THROW(st_stretch(from, std::vector<float>(12, 0.0f), leads, fs, 2), Error);
}

TEST(RateNearest, KeepsTheSignalsNearestTheTargetRate) {
  // Four pulse trains at 60, 75, 100 and 120 bpm and one flat signal, one after another.
  const double fs = 500;
  const std::int64_t samples = 5000;
  std::vector<float> all;
  for (double rr : {1.0, 0.8, 0.6, 0.5}) {
    std::vector<double> times;
    for (double t = 0.3; t < 9.8; t += rr) times.push_back(t);
    const auto one = pulse_train(fs, samples, times);
    all.insert(all.end(), one.begin(), one.end());
  }
  all.resize(all.size() + static_cast<std::size_t>(12 * samples), 0.0f);
  using Indices = std::vector<std::int64_t>;
  EXPECT_EQ(rate_nearest(all.data(), 5, 12, samples, fs, 110.0, 2), (Indices{2, 3}));
  EXPECT_EQ(rate_nearest(all.data(), 5, 12, samples, fs, 62.0, 1), (Indices{0}));
  EXPECT_EQ(rate_nearest(all.data(), 5, 12, samples, fs, 70.0, 3), (Indices{0, 1, 2}));
  // The flat signal has no rate: it comes last.
  EXPECT_EQ(rate_nearest(all.data(), 5, 12, samples, fs, 300.0, 4), (Indices{0, 1, 2, 3}));
  EXPECT_EQ(rate_nearest(all.data(), 5, 12, samples, fs, 60.0, 9), (Indices{0, 1, 2, 3, 4}));
  EXPECT_THROW(rate_nearest(all.data(), 5, 12, samples, fs, 60.0, 0), Error);
  EXPECT_THROW(rate_nearest(all.data(), 5, 12, samples, fs, NAN, 2), Error);
}

TEST(BeatTemplate, NoBeatGivesNothing) {
  std::vector<float> flat(12 * 2000, 0.0f);
  EXPECT_FALSE(beat_template(flat.data(), 12, 2000, 500.0).has_value());
}

}  // namespace
}  // namespace ecgtwin::eval
