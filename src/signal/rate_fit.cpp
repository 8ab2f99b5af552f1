#include "ecgtwin/signal/rate_fit.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "ecgtwin/signal/heart_rate.hpp"
#include "ecgtwin/signal/resample.hpp"
#include "ecgtwin/signal/rpeaks.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::signal {
namespace {

// Samples kept beyond what the scaled signal reads on each side, for the resampler's filter.
constexpr std::int64_t kMargin = 64;

// InputError from `where` unless value is positive and finite.
void require_positive(const char* where, const char* what, double value) {
  if (!(std::isfinite(value) && value > 0))
    throw InputError(
        where, std::string("expected a positive, finite ") + what + ", got " + number_text(value));
}

// The normalised Lanczos kernel's half width (samples) with which warp_beats reads between samples.
constexpr int kLanczos = 4;

double lanczos(double d) {
  if (d == 0) return 1.0;
  if (std::abs(d) >= kLanczos) return 0.0;
  constexpr double kPi = 3.14159265358979323846;
  const double a = kPi * d, b = a / kLanczos;
  return std::sin(a) / a * std::sin(b) / b;
}

// The old offset (from its R peak) that a new offset tau of a beat warped from length `old_len`
// to `new_len` samples reads (warp_beats' map), with c, b, the T wave's end and the shortest
// diastole in samples and `stretch` the factor by which the segment from c to the T wave's end
// grows.
double warped_offset(double tau, double old_len, double new_len, double c, double b, double t_end,
                     double gap, double stretch) {
  const double old_room = old_len - b - gap, new_room = new_len - b - gap;
  if (old_room <= c || new_room <= c) return tau * old_len / new_len;  // scaled evenly
  const double a_old = std::max(c, std::min(t_end, old_room));
  const double a_new = std::min(c + (a_old - c) * stretch, new_room);
  const double old_knots[] = {0, c, a_old, old_len - b, old_len};
  const double new_knots[] = {0, c, a_new, new_len - b, new_len};
  int i = 0;
  while (i < 3 && tau > new_knots[i + 1]) ++i;
  const double span = new_knots[i + 1] - new_knots[i];
  if (span <= 0) return old_knots[i];
  return old_knots[i] + (tau - new_knots[i]) * (old_knots[i + 1] - old_knots[i]) / span;
}

}  // namespace

std::vector<float> warp_beats(const float* x, std::int64_t leads, std::int64_t samples, double fs,
                              const std::vector<std::int64_t>& peaks, double factor,
                              const BeatWarpOptions& options) {
  require_positive("warp_beats", "factor", factor);
  require_positive("warp_beats", "sampling rate", fs);
  if (samples < 1 || leads < 1) throw InputError("warp_beats", "expected a non-empty signal");
  if (peaks.size() < 2) throw InputError("warp_beats", "expected at least two R peaks");
  for (std::size_t k = 0; k < peaks.size(); ++k)
    if (peaks[k] < 0 || peaks[k] >= samples || (k > 0 && peaks[k] <= peaks[k - 1]))
      throw InputError("warp_beats",
                       "expected increasing R peaks in 0 .. " + std::to_string(samples - 1));
  const std::int64_t first_rr = peaks[1] - peaks[0];
  const std::int64_t last_rr = peaks.back() - peaks[peaks.size() - 2];
  // The peaks, continued by the first and last RR interval until their new places (factor * p)
  // cover every output sample.
  std::vector<double> old_peaks(peaks.begin(), peaks.end());
  while (factor * old_peaks.front() > 0)
    old_peaks.insert(old_peaks.begin(), old_peaks.front() - double(first_rr));
  while (factor * old_peaks.back() < double(samples - 1))
    old_peaks.push_back(old_peaks.back() + double(last_rr));
  const double c = options.kept_after_s * fs, b = options.kept_before_s * fs;
  const double gap = options.min_gap_s * fs;
  // x continued periodically outside its samples, as time_scale continues it.
  const auto source = [&](std::int64_t t) {
    while (t < 0) t += first_rr;
    while (t >= samples) t -= last_rr;
    return std::clamp<std::int64_t>(t, 0, samples - 1);
  };
  std::vector<float> out(static_cast<std::size_t>(leads * samples));
  std::size_t k = 0;
  for (std::int64_t n = 0; n < samples; ++n) {
    while (k + 2 < old_peaks.size() && factor * old_peaks[k + 1] <= double(n)) ++k;
    const double old_len = old_peaks[k + 1] - old_peaks[k], new_len = factor * old_len;
    // Fridericia: the QT changes by QT * (factor^(1/3) - 1), all of it after the QRS.
    const double qt = options.qtc_s * std::cbrt(old_len / fs) * fs;
    const double t_end = std::max(qt + options.t_end_s * fs, c + 1);
    const double stretch = 1 + qt * (std::cbrt(factor) - 1) / (t_end - c);
    const double t = old_peaks[k] + warped_offset(double(n) - factor * old_peaks[k], old_len,
                                                  new_len, c, b, t_end, gap, stretch);
    const auto base = static_cast<std::int64_t>(std::floor(t));
    double weights[2 * kLanczos], total = 0;
    for (int j = 0; j < 2 * kLanczos; ++j)
      total += weights[j] = lanczos(t - double(base - kLanczos + 1 + j));
    for (std::int64_t lead = 0; lead < leads; ++lead) {
      double value = 0;
      for (int j = 0; j < 2 * kLanczos; ++j)
        value += weights[j] * x[lead * samples + source(base - kLanczos + 1 + j)];
      out[static_cast<std::size_t>(lead * samples + n)] = static_cast<float>(value / total);
    }
  }
  return out;
}

namespace {

// x brought to a rate `factor` times slower on its R peaks (at least two) by `warp`: time_scale
// continued at the edges by their first and last RR interval, or warp_beats.
std::vector<float> change_rate(const float* x, std::int64_t leads, std::int64_t samples, double fs,
                               double factor, const std::vector<std::int64_t>& peaks,
                               RateWarp warp) {
  if (warp == RateWarp::kFridericia) return warp_beats(x, leads, samples, fs, peaks, factor);
  const std::int64_t first_rr = peaks[1] - peaks[0];
  const std::int64_t last_rr = peaks.back() - peaks[peaks.size() - 2];
  return time_scale(x, leads, samples, factor, first_rr, last_rr);
}

}  // namespace

RateWarp rate_warp(const std::string& name, const std::string& where) {
  if (name == "uniform") return RateWarp::kUniform;
  if (name == "fridericia") return RateWarp::kFridericia;
  throw InputError(where, "expected the warp uniform or fridericia, got \"" + name + "\"");
}

std::vector<float> time_scale(const float* x, std::int64_t leads, std::int64_t samples,
                              double factor, std::int64_t period_start, std::int64_t period_end) {
  require_positive("time_scale", "factor", factor);
  if (samples < 1 || leads < 1) throw InputError("time_scale", "expected a non-empty signal");
  for (const std::int64_t period : {period_start, period_end})
    if (period < 1 || period > samples)
      throw InputError("time_scale", "expected periods in 1 .. " + std::to_string(samples) +
                                         " samples, got " + std::to_string(period));
  // x continued periodically: `left` samples before it, enough after it for the last output
  // sample, each with the resampler's margin.
  const std::int64_t left = kMargin;
  const auto reach = static_cast<std::int64_t>(std::ceil(double(samples - 1) / factor)) + 1;
  const std::int64_t padded = left + std::max(samples, reach) + kMargin;
  const auto source = [&](std::int64_t t) {
    while (t < 0) t += period_start;
    while (t >= samples) t -= period_end;
    return std::clamp<std::int64_t>(t, 0, samples - 1);
  };
  std::vector<float> extended(static_cast<std::size_t>(leads * padded));
  for (std::int64_t lead = 0; lead < leads; ++lead)
    for (std::int64_t i = 0; i < padded; ++i)
      extended[static_cast<std::size_t>(lead * padded + i)] = x[lead * samples + source(i - left)];
  // Resampled from rate 1 to rate `factor`, output j lies at padded time j / factor, so x's
  // time 0 falls at output left * factor: the output starts at the sample nearest it.
  const std::vector<float> scaled = resample_leads(extended.data(), leads, padded, 1.0, factor);
  const std::int64_t width = static_cast<std::int64_t>(scaled.size()) / leads;
  const auto first = static_cast<std::int64_t>(std::llround(double(left) * factor));
  if (first + samples > width) throw Error("time_scale: the resampled signal is too short");
  std::vector<float> out(static_cast<std::size_t>(leads * samples));
  for (std::int64_t lead = 0; lead < leads; ++lead)
    std::copy_n(scaled.begin() + lead * width + first, samples, out.begin() + lead * samples);
  return out;
}

RateFit fit_heart_rate(float* signal, std::int64_t leads, std::int64_t samples, double fs,
                       double target_bpm, const RateFitOptions& options) {
  require_positive("fit_heart_rate", "target heart rate", target_bpm);
  RateFit fit;
  const std::vector<std::int64_t> peaks = detect_r_peaks_leads(signal, leads, samples, fs);
  fit.before_bpm = heart_rate_bpm(peaks, fs);
  if (!fit.before_bpm) return fit;
  const double factor = *fit.before_bpm / target_bpm;
  if (std::abs(factor - 1.0) < 1e-3 || std::abs(factor - 1.0) > options.max_change) return fit;
  std::vector<float> scaled = change_rate(signal, leads, samples, fs, factor, peaks, options.warp);
  const auto after = measure_heart_rate(scaled.data(), leads, samples, fs);
  if (!after || std::abs(*after - target_bpm) >= std::abs(*fit.before_bpm - target_bpm)) return fit;
  std::copy(scaled.begin(), scaled.end(), signal);
  fit.changed = true;
  fit.factor = factor;
  return fit;
}

double augmented_heart_rate(double bpm, double range, double u) {
  require_positive("augmented_heart_rate", "heart rate", bpm);
  if (!(std::isfinite(range) && range >= 0))
    throw InputError("augmented_heart_rate",
                     "expected a range of 0 or more, got " + number_text(range));
  if (!(u >= 0 && u < 1))
    throw InputError("augmented_heart_rate", "expected u in [0, 1), got " + number_text(u));
  double lo = bpm / (1 + range), hi = bpm * (1 + range);
  if (bpm < 60) {
    hi = std::min(hi, 60.0);
  } else if (bpm <= 100) {
    lo = std::max(lo, 60.0);
    hi = std::min(hi, 100.0);
  } else {
    lo = std::max(lo, 100.0);
  }
  return lo * std::pow(hi / lo, u);
}

std::optional<std::vector<float>> scale_heart_rate(const float* x, std::int64_t leads,
                                                   std::int64_t samples, double fs, double from_bpm,
                                                   double to_bpm, RateWarp warp) {
  require_positive("scale_heart_rate", "heart rate", from_bpm);
  require_positive("scale_heart_rate", "heart rate", to_bpm);
  const std::vector<std::int64_t> peaks = detect_r_peaks_leads(x, leads, samples, fs);
  if (peaks.size() < 2) return std::nullopt;
  return change_rate(x, leads, samples, fs, from_bpm / to_bpm, peaks, warp);
}

}  // namespace ecgtwin::signal
