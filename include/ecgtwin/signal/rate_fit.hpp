#pragma once
// Bringing an ECG to another heart rate: a generated one to the rate it was asked for by
// scaling its time axis, a training record to another rate by scaling or by warping its beats.
#include <cstdint>
#include <optional>
#include <string>
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

// How a signal is brought to another rate: its whole time axis scaled (time_scale), or its
// beats warped as a heart changes its rate (warp_beats, below).
enum class RateWarp { kUniform, kFridericia };

// The warp a config names: "uniform" or "fridericia" (the keys train.diffusion.rate_augment_warp
// and sampling.rate_fit_warp). Throws InputError naming `where` for any other name.
RateWarp rate_warp(const std::string& name, const std::string& where);

struct RateFitOptions {
  // The largest relative change of the rate that is fitted: a signal whose rate is further
  // from the target (a detection error, or no rhythm to speak of) is left as it is.
  double max_change = 0.15;
  RateWarp warp = RateWarp::kUniform;
};

// What fit_heart_rate did.
struct RateFit {
  bool changed = false;
  std::optional<double> before_bpm;  // heart_rate_bpm of the signal as it was
  double factor = 1.0;               // the time scale applied (1 where unchanged)
};

// Scales the time axis of a [leads x samples] signal at fs Hz (time_scale, periods the first
// and last RR interval; or warp_beats with options.warp kFridericia) so that its heart rate,
// 60 / median RR of its multi-lead R peaks (measure_heart_rate), becomes target_bpm:
// factor = measured / target. Left as it is where
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

// Where warp_beats keeps a beat's waves and which part follows the rate, in seconds.
struct BeatWarpOptions {
  double kept_before_s = 0.20;  // before each R peak: the P wave, the PR segment, the QRS onset
  double kept_after_s = 0.06;   // after it: the rest of the QRS
  double qtc_s = 0.41;          // the QT interval at RR = 1 s (Fridericia's corrected QT)
  double t_end_s = 0.0;         // the T wave ends QT + this after the R peak
  double min_gap_s = 0.02;      // the shortest T-P segment (diastole) a warped beat keeps
};

// A [leads x samples] signal at fs Hz brought to a heart rate `factor` times slower (each RR
// interval times factor; factor < 1 faster) as a heart changes its rate: the P wave and QRS
// keep their duration, the QT interval follows Fridericia's cube root of the RR interval, and
// the diastole (the T-P segment) takes the rest. `peaks` are the signal's R peaks (at least
// two, increasing); the peak at p lands at factor * p. Between two peaks p_k and p_k+1 =
// p_k + L the new beat of length L' = factor * L maps piecewise linearly onto the old one:
// [0, c] onto [0, c] (c = kept_after_s), [c, A'] onto [c, A] (A = QT + t_end_s, the T wave's
// end, with QT = qtc_s * (L in s)^(1/3)) where A' - A = QT * (factor^(1/3) - 1), Fridericia's
// change of the QT, [A', L' - b] onto [A, L - b] (the diastole) and
// [L' - b, L'] onto [L - b, L] (b = kept_before_s); where a beat is too short for a diastole of
// min_gap_s, A (and A') come nearer the R peak, and where it is too short for that, the whole
// beat is scaled evenly, as time_scale does. Before the first peak and after the last the
// signal is continued periodically by the first and last RR interval (as time_scale), and
// the values between samples are read with a normalised Lanczos kernel (a = 4). factor 1
// gives x back. Throws InputError when factor or fs is not positive and finite or the peaks
// are fewer than two, not increasing or outside the signal.
std::vector<float> warp_beats(const float* x, std::int64_t leads, std::int64_t samples, double fs,
                              const std::vector<std::int64_t>& peaks, double factor,
                              const BeatWarpOptions& options = {});

// The signal of a record at `from_bpm` brought to `to_bpm` by `warp` with the factor
// from_bpm / to_bpm, on its multi-lead R peaks (detect_r_peaks_leads), continued at the edges
// by their first and last RR interval. std::nullopt where fewer than two beats are found.
// Throws InputError when either rate is not positive and finite.
std::optional<std::vector<float>> scale_heart_rate(const float* x, std::int64_t leads,
                                                   std::int64_t samples, double fs, double from_bpm,
                                                   double to_bpm,
                                                   RateWarp warp = RateWarp::kUniform);

}  // namespace ecgtwin::signal
