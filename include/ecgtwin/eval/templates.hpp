#pragma once
// Average-beat templates: a phase-independent summary of an ECG's morphology. Two ECGs of one
// person under one condition have similar templates even when their beats fall at different
// times, which a sample-by-sample distance would not see.
#include <cstdint>
#include <optional>
#include <vector>

namespace ecgtwin::eval {

struct BeatTemplateOptions {
  double before_s = 0.25;  // window start before each R peak
  double after_s = 0.45;   // window end after it
};

// The sample-wise median over beats of [leads x window] around the multi-lead R peaks of a
// [leads x samples] signal at fs Hz, baseline (median of the window) removed per lead;
// nullopt when fewer than one complete beat window is found.
std::optional<std::vector<float>> beat_template(const float* signal, std::int64_t leads, std::int64_t samples,
                                                double fs, const BeatTemplateOptions& options = {});

// Root mean square of the difference of two [leads x width] templates of equal size (mV),
// the smallest over common shifts of all leads by -max_shift .. max_shift samples (each shift
// over the samples both templates cover). R-peak detection places a beat within a sample or
// two, and on the slopes of the QRS complex a one-sample offset alone makes a large
// difference; a small max_shift removes that without matching different morphologies.
double template_distance(const std::vector<float>& a, const std::vector<float>& b, std::int64_t leads,
                         std::int64_t max_shift = 0);

// The shift s in -max_shift .. max_shift at which a[k] matches b[k - s] best (the one
// template_distance takes; ties go to the smallest |s|). Throws as template_distance.
std::int64_t template_shift(const std::vector<float>& a, const std::vector<float>& b,
                            std::int64_t leads, std::int64_t max_shift);

// a - b with b moved by template_shift(a, b, leads, max_shift): a[k] - b[k - s], where b's
// nearest edge sample stands in for the samples s moves out of its window. Throws as
// template_distance.
std::vector<float> template_difference(const std::vector<float>& a, const std::vector<float>& b,
                                       std::int64_t leads, std::int64_t max_shift);

// Adds `change` ([leads x width], laid out as a beat_template with the same options) to every
// beat of a [leads x samples] signal at fs Hz, placed at its multi-lead R peaks, weighted by a
// Tukey window (raised-cosine tapers over the first and last 10 % of the width) so that the
// signal stays continuous; where the windows of neighbouring beats overlap, their changes are
// averaged by weight. Returns the number of beats found. Throws when `change` does not hold
// leads x width values.
std::int64_t add_to_beats(float* signal, std::int64_t leads, std::int64_t samples, double fs,
                          const std::vector<float>& change,
                          const BeatTemplateOptions& options = {});
// The same at R peaks already found (sample indices into the signal).
std::int64_t add_to_beats(float* signal, std::int64_t leads, std::int64_t samples, double fs,
                          const std::vector<std::int64_t>& peaks, const std::vector<float>& change,
                          const BeatTemplateOptions& options = {});

// Adds template_difference(reference_beat, rendered_beat, leads, max_shift) to every beat of
// a [leads x samples] signal at fs Hz (add_to_beats, default window), unless the signal has no
// beat or the change makes the multi-lead R-peak detector find other beats than before (a
// different count, or one moved by more than max_shift samples): then the signal is left as it
// was. Returns whether it was changed. With a model's rendering of a reference as
// `rendered_beat`, this carries what the model misses of the reference's person over to
// another of its renderings (TwinModel::generate, sampling.transfer "reference-residual").
// With `gains` ([width] values, segment_gains), the difference is multiplied by them sample by
// sample before it is added. The difference is tried at each of `fractions` in turn (e.g. 1,
// 1/2, 1/4): the first that keeps the beats is added; none: the signal stays as it was.
bool transfer_beat_difference(float* signal, std::int64_t leads, std::int64_t samples, double fs,
                              const std::vector<float>& reference_beat,
                              const std::vector<float>& rendered_beat, std::int64_t max_shift,
                              const std::vector<float>* gains = nullptr,
                              const std::vector<double>& fractions = {1.0});

// How much larger `to` is than `from` (two [leads x width] templates laid out as beat_template
// with `options` at fs Hz), segment by segment: before the QRS (up to 50 ms before the R
// peak), the QRS (to 60 ms after it) and the ST-T segment after it. Each segment's gain is the
// ratio of the root-mean-square sizes of `to` and `from` over all leads and the segment's
// samples, negative where their products sum below zero (opposed waves), `to` first moved onto
// `from` by template_shift(from, to, leads, max_shift); a wave moved in time within its segment
// keeps its gain. 1 where `from` is zero over the segment; clamped to -limit .. limit. Returns
// [width] gains, the steps between segments ramped by a 7-sample moving average. Two renderings of
// one person under two conditions give how a condition scales the person's waves: low voltage
// shrinks every segment, T inversion turns the ST-T segment's gain negative. Throws as
// template_distance.
std::vector<float> segment_gains(const std::vector<float>& from, const std::vector<float>& to,
                                 std::int64_t leads, double fs, std::int64_t max_shift,
                                 double limit = 1.5, const BeatTemplateOptions& options = {});

// `beat` ([leads x width], laid out as beat_template with `options` at fs Hz) with its ST-T
// segment (from 60 ms after the R peak, as in segment_gains) stretched in time by `factor`
// about the segment's start: out[k] = beat[st + (k - st) / factor], linearly interpolated,
// the window's last sample standing in beyond its end. Samples before the ST-T segment are
// kept. Throws on a factor <= 0 or a beat that is not leads x width of that window.
std::vector<float> stretch_st(const std::vector<float>& beat, std::int64_t leads, double fs,
                              double factor, const BeatTemplateOptions& options = {});

// The time scale of `to`'s ST-T segment against `from`'s (two templates laid out as
// beat_template with `options`): the factor in 1 / limit .. limit, on a grid of 0.01, at which
// stretch_st(from) is nearest `to` by the root mean square over all leads and the ST-T
// segment's samples, `to` first moved onto `from` by template_shift(from, to, leads,
// max_shift); ties go to the factor nearest 1. The ST-T segment shortens as the heart rate
// rises (QT about proportional to RR^(1/3), Fridericia 1920): two renderings of one person at
// two heart rates give the scale that carries a difference found at one rate over to the
// other. 1 where `from`'s segment is flat. Throws as template_distance.
double st_stretch(const std::vector<float>& from, const std::vector<float>& to, std::int64_t leads,
                  double fs, std::int64_t max_shift, double limit = 1.4,
                  const BeatTemplateOptions& options = {});

// A candidate compared with `others` other persons' ground truths was at least as near to
// `nearer` of them as to its own. Returns the probability that it is nearer its own than every
// other person's when only `persons` - 1 of the others, drawn at random without replacement,
// are compared (a cohort of `persons` persons): C(others - nearer, k) / C(others, k) with
// k = persons - 1, or 1 / 0 (won / lost) when persons - 1 >= others. Throws on negative counts,
// nearer > others or persons < 1.
double win_probability_among(std::int64_t others, std::int64_t nearer, std::int64_t persons);

// Of `count` [leads x samples] signals at fs Hz stored one after another, the index of the
// medoid: the signal whose beat template has the least summed template_distance (max_shift
// samples) to the other signals' templates. Among samples of one distribution this is the
// minimum-Bayes-risk choice under that distance. A signal without a beat template is never
// chosen and is left out of the sums; ties go to the lower index; 0 when no signal has a beat.
std::int64_t template_medoid(const float* signals, std::int64_t count, std::int64_t leads,
                             std::int64_t samples, double fs, std::int64_t max_shift);

// The mean of `templates` ([leads x width] each, the size of `anchor`), each first moved onto
// `anchor` by template_shift(anchor, t, leads, max_shift): t[k - s], t's nearest edge sample
// where k - s falls outside its window. Throws as template_distance, and on an empty list.
std::vector<float> template_mean(const std::vector<std::vector<float>>& templates,
                                 const std::vector<float>& anchor, std::int64_t leads,
                                 std::int64_t max_shift);

// What `count` [leads x samples] signals at fs Hz (stored one after another) agree on: the
// index of their medoid (as template_medoid), its beat template, and the mean of all their
// beat templates aligned on the medoid's (template_mean; under the squared template distance
// the estimate of the signals' common beat with the least expected error). Signals without a
// beat template are left out; `medoid_beat` and `mean_beat` are empty when none has one.
struct TemplateConsensus {
  std::int64_t medoid = 0;
  std::vector<float> medoid_beat;
  std::vector<float> mean_beat;
};
TemplateConsensus template_consensus(const float* signals, std::int64_t count, std::int64_t leads,
                                     std::int64_t samples, double fs, std::int64_t max_shift);

// Of `count` [leads x samples] signals at fs Hz stored one after another, the index of the
// one whose beat template is nearest `target` (a template of the same size, e.g. the
// beat_template of another signal) by template_distance (max_shift samples). A signal without
// a beat template is never chosen; ties go to the lower index; 0 when no signal has a beat.
std::int64_t template_nearest(const float* signals, std::int64_t count, std::int64_t leads,
                              std::int64_t samples, double fs, std::int64_t max_shift,
                              const std::vector<float>& target);

// Of `count` [leads x samples] signals at fs Hz stored one after another, the indices (in
// increasing order) of the `keep` whose heart rate, measured from their multi-lead R peaks, is
// nearest `target_bpm`; signals without a measured rate come last, ties go to the lower index.
// All of them when keep >= count. Throws on keep < 1 or a target that is not finite and
// positive.
std::vector<std::int64_t> rate_nearest(const float* signals, std::int64_t count, std::int64_t leads,
                                       std::int64_t samples, double fs, double target_bpm,
                                       std::int64_t keep);

}  // namespace ecgtwin::eval
