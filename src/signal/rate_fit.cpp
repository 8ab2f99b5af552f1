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

// time_scale continued at the edges by the first and last of the RR intervals of `peaks`
// (at least two).
std::vector<float> scale_between_peaks(const float* x, std::int64_t leads, std::int64_t samples,
                                       double factor, const std::vector<std::int64_t>& peaks) {
  const std::int64_t first_rr = peaks[1] - peaks[0];
  const std::int64_t last_rr = peaks.back() - peaks[peaks.size() - 2];
  return time_scale(x, leads, samples, factor, first_rr, last_rr);
}

}  // namespace

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
  std::vector<float> scaled = scale_between_peaks(signal, leads, samples, factor, peaks);
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
                                                   double to_bpm) {
  require_positive("scale_heart_rate", "heart rate", from_bpm);
  require_positive("scale_heart_rate", "heart rate", to_bpm);
  const std::vector<std::int64_t> peaks = detect_r_peaks_leads(x, leads, samples, fs);
  if (peaks.size() < 2) return std::nullopt;
  return scale_between_peaks(x, leads, samples, from_bpm / to_bpm, peaks);
}

}  // namespace ecgtwin::signal
