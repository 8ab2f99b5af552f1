#pragma once
// Bringing a generated ECG to the heart rate it was asked for, by scaling its time axis.
#include <cstdint>
#include <optional>
#include <vector>

namespace ecgtwin::signal {

// y[n] = x(n / factor + s) for n = 0 .. samples - 1 on every lead of a row-major
// [leads x samples] signal: factor > 1 slows the signal down (longer intervals), factor < 1
// speeds it up. The signal is resampled with libsoxr (resample_leads), and the output starts
// at the resampled sample nearest x's first: s is one sub-sample offset, |s| <= 0.5 / factor
// samples, the same for every n and every lead. What the result needs of x before its
// start and after its end is x continued periodically: x(t) = x(t + period_start) before the
// start and x(t) = x(t - period_end) after the end (periods in samples, for an ECG its first
// and last RR interval), so that the edges carry beats, not zeros. Throws InputError when
// factor is not positive and finite or a period is not in 1 .. samples.
std::vector<float> time_scale(const float* x, std::int64_t leads, std::int64_t samples,
                              double factor, std::int64_t period_start, std::int64_t period_end);

struct RateFitOptions {
  // The largest relative change of the rate that is fitted: a signal whose rate is further
  // from the target (a detection error, or no rhythm to speak of) is left as it is.
  double max_change = 0.15;
};

// What fit_heart_rate did.
struct RateFit {
  bool changed = false;
  std::optional<double> before_bpm;  // heart_rate_bpm of the signal as it was
  double factor = 1.0;               // the time scale applied (1 where unchanged)
};

// Scales the time axis of a [leads x samples] signal at fs Hz (time_scale, periods the first
// and last RR interval) so that its heart rate, 60 / median RR of its multi-lead R peaks
// (measure_heart_rate), becomes target_bpm: factor = measured / target. Left as it is where
// fewer than two beats are found, where the rate is already within 0.1 % of the target, where
// the change would exceed options.max_change, or where the scaled signal's measured rate is
// not nearer the target than before (the detector reads other beats in it). Throws
// InputError when target_bpm is not positive and finite.
RateFit fit_heart_rate(float* signal, std::int64_t leads, std::int64_t samples, double fs,
                       double target_bpm, const RateFitOptions& options = {});

// A heart rate for a time-scaled copy of a training record whose rate is `bpm`: u in [0, 1)
// picks it log-uniformly, lo * (hi / lo)^u, between lo = bpm / (1 + range) and
// hi = bpm * (1 + range), both kept on the same side of 60 and of 100 bpm as `bpm`, so
// that a copy of a record in sinus bradycardia (under 60 bpm) stays under 60, one in
// tachycardia (over 100 bpm) at 100 or over, and one between them between them. Throws
// InputError when bpm is not positive and finite, range is negative or u is outside [0, 1).
double augmented_heart_rate(double bpm, double range, double u);

// The signal of a record at `from_bpm` with its time axis scaled to `to_bpm`: time_scale
// by from_bpm / to_bpm, continued at the edges by the first and last RR interval of its
// multi-lead R peaks (detect_r_peaks_leads). std::nullopt where fewer than two beats are
// found. Throws InputError when either rate is not positive and finite.
std::optional<std::vector<float>> scale_heart_rate(const float* x, std::int64_t leads,
                                                   std::int64_t samples, double fs, double from_bpm,
                                                   double to_bpm);

}  // namespace ecgtwin::signal
