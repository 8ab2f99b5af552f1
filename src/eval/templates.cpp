#include "ecgtwin/eval/templates.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ecgtwin/signal/heart_rate.hpp"
#include "ecgtwin/signal/rpeaks.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::eval {

std::optional<std::vector<float>> beat_template(const float* signal, std::int64_t leads, std::int64_t samples,
                                                double fs, const BeatTemplateOptions& options) {
  const auto before = static_cast<std::int64_t>(std::lround(options.before_s * fs));
  const auto after = static_cast<std::int64_t>(std::lround(options.after_s * fs));
  const std::int64_t width = before + after;
  std::vector<std::int64_t> peaks;
  for (std::int64_t p : signal::detect_r_peaks_leads(signal, leads, samples, fs))
    if (p - before >= 0 && p + after <= samples) peaks.push_back(p);
  if (peaks.empty()) return std::nullopt;
  std::vector<float> out(static_cast<std::size_t>(leads * width));
  std::vector<float> values(peaks.size());
  for (std::int64_t lead = 0; lead < leads; ++lead) {
    const float* x = signal + lead * samples;
    float* row = out.data() + lead * width;
    for (std::int64_t k = 0; k < width; ++k) {
      for (std::size_t b = 0; b < peaks.size(); ++b) values[b] = x[peaks[b] - before + k];
      auto mid = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
      std::nth_element(values.begin(), mid, values.end());
      row[k] = *mid;
    }
    std::vector<float> sorted(row, row + width);
    auto mid = sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2);
    std::nth_element(sorted.begin(), mid, sorted.end());
    const float baseline = *mid;
    for (std::int64_t k = 0; k < width; ++k) row[k] -= baseline;
  }
  return out;
}

namespace {

// The template width after checking two templates against each other (`what` names the caller).
std::int64_t checked_width(const std::vector<float>& a, const std::vector<float>& b,
                           std::int64_t leads, std::int64_t max_shift, const char* what) {
  const std::string name(what);
  if (a.size() != b.size() || a.empty()) throw Error(name + ": templates of different sizes");
  if (leads < 1 || a.size() % static_cast<std::size_t>(leads) != 0)
    throw Error(name + ": the template size is not a multiple of the lead count");
  const std::int64_t width = static_cast<std::int64_t>(a.size()) / leads;
  if (max_shift < 0 || max_shift >= width) throw Error(name + ": shift outside 0 .. width - 1");
  return width;
}

// Root mean square of a[k] - b[k - shift] over the samples where both exist.
double shifted_rms(const std::vector<float>& a, const std::vector<float>& b, std::int64_t leads,
                   std::int64_t width, std::int64_t shift) {
  const std::int64_t from = std::max<std::int64_t>(0, shift), to = std::min(width, width + shift);
  double sum = 0;
  for (std::int64_t lead = 0; lead < leads; ++lead) {
    const float* x = a.data() + lead * width;
    const float* y = b.data() + lead * width - shift;
    for (std::int64_t k = from; k < to; ++k) sum += (double(x[k]) - y[k]) * (double(x[k]) - y[k]);
  }
  return std::sqrt(sum / double(leads * (to - from)));
}

}  // namespace

double template_distance(const std::vector<float>& a, const std::vector<float>& b,
                         std::int64_t leads, std::int64_t max_shift) {
  const std::int64_t width = checked_width(a, b, leads, max_shift, "template_distance");
  double best = INFINITY;
  for (std::int64_t shift = -max_shift; shift <= max_shift; ++shift)
    best = std::min(best, shifted_rms(a, b, leads, width, shift));
  return best;
}

std::int64_t template_shift(const std::vector<float>& a, const std::vector<float>& b,
                            std::int64_t leads, std::int64_t max_shift) {
  const std::int64_t width = checked_width(a, b, leads, max_shift, "template_shift");
  std::int64_t best_shift = 0;
  double best = INFINITY;
  for (std::int64_t shift = -max_shift; shift <= max_shift; ++shift) {
    const double d = shifted_rms(a, b, leads, width, shift);
    if (d < best || (d == best && std::abs(shift) < std::abs(best_shift))) {
      best = d;
      best_shift = shift;
    }
  }
  return best_shift;
}

std::vector<float> template_difference(const std::vector<float>& a, const std::vector<float>& b,
                                       std::int64_t leads, std::int64_t max_shift) {
  const std::int64_t width = checked_width(a, b, leads, max_shift, "template_difference");
  const std::int64_t shift = template_shift(a, b, leads, max_shift);
  std::vector<float> out(a.size());
  for (std::int64_t lead = 0; lead < leads; ++lead)
    for (std::int64_t k = 0; k < width; ++k) {
      // b's nearest sample where b[k - shift] falls outside its window.
      const std::int64_t j = std::clamp<std::int64_t>(k - shift, 0, width - 1);
      out[static_cast<std::size_t>(lead * width + k)] =
          a[static_cast<std::size_t>(lead * width + k)] -
          b[static_cast<std::size_t>(lead * width + j)];
    }
  return out;
}

std::int64_t add_to_beats(float* signal, std::int64_t leads, std::int64_t samples, double fs,
                          const std::vector<float>& change, const BeatTemplateOptions& options) {
  return add_to_beats(signal, leads, samples, fs,
                      signal::detect_r_peaks_leads(signal, leads, samples, fs), change, options);
}

std::int64_t add_to_beats(float* signal, std::int64_t leads, std::int64_t samples, double fs,
                          const std::vector<std::int64_t>& peaks, const std::vector<float>& change,
                          const BeatTemplateOptions& options) {
  const auto before = static_cast<std::int64_t>(std::lround(options.before_s * fs));
  const auto after = static_cast<std::int64_t>(std::lround(options.after_s * fs));
  const std::int64_t width = before + after;
  if (leads < 1 || width < 2 || change.size() != static_cast<std::size_t>(leads * width))
    throw Error("add_to_beats: expected a change of " + std::to_string(leads) + " x " +
                std::to_string(width) + " values, got " + std::to_string(change.size()));
  // Tukey window: flat over the middle, raised-cosine tapers over the first and last 10 %.
  const std::int64_t taper = std::max<std::int64_t>(1, width / 10);
  std::vector<double> window(static_cast<std::size_t>(width), 1.0);
  for (std::int64_t k = 0; k < taper; ++k) {
    const double w = 0.5 * (1.0 - std::cos(M_PI * double(k) / double(taper)));
    window[static_cast<std::size_t>(k)] = w;
    window[static_cast<std::size_t>(width - 1 - k)] = w;
  }
  std::vector<double> added(static_cast<std::size_t>(leads * samples), 0.0);
  std::vector<double> weight(static_cast<std::size_t>(samples), 0.0);
  for (std::int64_t p : peaks)
    for (std::int64_t k = 0; k < width; ++k) {
      const std::int64_t at = p - before + k;
      if (at < 0 || at >= samples) continue;
      const double w = window[static_cast<std::size_t>(k)];
      weight[static_cast<std::size_t>(at)] += w;
      for (std::int64_t lead = 0; lead < leads; ++lead)
        added[static_cast<std::size_t>(lead * samples + at)] +=
            w * change[static_cast<std::size_t>(lead * width + k)];
    }
  // Where windows of neighbouring beats overlap, their changes are averaged by weight.
  for (std::int64_t at = 0; at < samples; ++at) {
    const double scale = 1.0 / std::max(1.0, weight[static_cast<std::size_t>(at)]);
    for (std::int64_t lead = 0; lead < leads; ++lead)
      signal[lead * samples + at] +=
          static_cast<float>(added[static_cast<std::size_t>(lead * samples + at)] * scale);
  }
  return static_cast<std::int64_t>(peaks.size());
}

bool transfer_beat_difference(float* signal, std::int64_t leads, std::int64_t samples, double fs,
                              const std::vector<float>& reference_beat,
                              const std::vector<float>& rendered_beat, std::int64_t max_shift,
                              const std::vector<float>* gains,
                              const std::vector<double>& fractions) {
  std::vector<float> change = template_difference(reference_beat, rendered_beat, leads, max_shift);
  if (gains != nullptr) {
    const std::int64_t width = static_cast<std::int64_t>(change.size()) / leads;
    if (static_cast<std::int64_t>(gains->size()) != width)
      throw Error("transfer_beat_difference: expected " + std::to_string(width) + " gains, got " +
                  std::to_string(gains->size()));
    for (std::int64_t lead = 0; lead < leads; ++lead)
      for (std::int64_t k = 0; k < width; ++k)
        change[static_cast<std::size_t>(lead * width + k)] *= (*gains)[static_cast<std::size_t>(k)];
  }
  const std::vector<float> before(signal, signal + leads * samples);
  const auto beats = signal::detect_r_peaks_leads(signal, leads, samples, fs);
  if (beats.empty()) return false;
  std::vector<float> part(change.size());
  for (double fraction : fractions) {
    for (std::size_t i = 0; i < change.size(); ++i)
      part[i] = static_cast<float>(fraction * change[i]);
    add_to_beats(signal, leads, samples, fs, beats, part);
    // A change that the R-peak detector reads as beats of their own, or that moves the beats,
    // would change the rhythm: then the signal stays as it was (or takes the next fraction).
    const auto after = signal::detect_r_peaks_leads(signal, leads, samples, fs);
    bool same = after.size() == beats.size();
    for (std::size_t b = 0; same && b < beats.size(); ++b)
      same = std::abs(after[b] - beats[b]) <= max_shift;
    if (same) return true;
    std::copy(before.begin(), before.end(), signal);
  }
  return false;
}

namespace {

// Sample index where the ST-T segment starts in a beat window: 60 ms after the R peak.
std::int64_t st_start(double fs, std::int64_t width, const BeatTemplateOptions& options) {
  const auto before = static_cast<std::int64_t>(std::lround(options.before_s * fs));
  return std::clamp<std::int64_t>(before + std::lround(0.060 * fs), 0, width);
}

// The window width of `options` at fs Hz, after checking that `beat` holds leads x width.
std::int64_t window_width(const std::vector<float>& beat, std::int64_t leads, double fs,
                          const BeatTemplateOptions& options, const char* what) {
  const std::int64_t width = std::lround(options.before_s * fs) + std::lround(options.after_s * fs);
  if (leads < 1 || width < 2 || beat.size() != static_cast<std::size_t>(leads * width))
    throw Error(std::string(what) + ": expected a template of " + std::to_string(leads) + " x " +
                std::to_string(width) + " values, got " + std::to_string(beat.size()));
  return width;
}

}  // namespace

std::vector<float> segment_gains(const std::vector<float>& from, const std::vector<float>& to,
                                 std::int64_t leads, double fs, std::int64_t max_shift,
                                 double limit, const BeatTemplateOptions& options) {
  const std::int64_t width = checked_width(from, to, leads, max_shift, "segment_gains");
  const auto before = static_cast<std::int64_t>(std::lround(options.before_s * fs));
  if (before + static_cast<std::int64_t>(std::lround(options.after_s * fs)) != width)
    throw Error("segment_gains: the templates are not " + std::to_string(width) +
                " samples of the beat window at this rate");
  const std::int64_t shift = template_shift(from, to, leads, max_shift);
  // Segment starts: the P wave, the QRS (50 ms before R), the ST-T segment (60 ms after R).
  const std::int64_t qrs = std::clamp<std::int64_t>(before - std::lround(0.050 * fs), 0, width);
  const std::int64_t st = st_start(fs, width, options);
  const std::int64_t bounds[4] = {0, qrs, st, width};
  std::vector<double> step(static_cast<std::size_t>(width), 1.0);
  for (int segment = 0; segment < 3; ++segment) {
    double cross = 0, power = 0, to_power = 0;
    for (std::int64_t lead = 0; lead < leads; ++lead)
      for (std::int64_t k = bounds[segment]; k < bounds[segment + 1]; ++k) {
        // from[k] matches to[k - shift] (template_shift).
        const std::int64_t j = std::clamp<std::int64_t>(k - shift, 0, width - 1);
        const double f = from[static_cast<std::size_t>(lead * width + k)];
        const double v = to[static_cast<std::size_t>(lead * width + j)];
        cross += f * v;
        power += f * f;
        to_power += v * v;
      }
    // The ratio of the segments' root-mean-square sizes, negative where they are opposed: a
    // wave moved in time within its segment keeps its gain.
    const double g =
        power > 0 ? std::clamp(std::copysign(std::sqrt(to_power / power), cross), -limit, limit)
                  : 1.0;
    for (std::int64_t k = bounds[segment]; k < bounds[segment + 1]; ++k)
      step[static_cast<std::size_t>(k)] = g;
  }
  std::vector<float> out(static_cast<std::size_t>(width));
  for (std::int64_t k = 0; k < width; ++k) {
    double sum = 0;
    for (std::int64_t d = -3; d <= 3; ++d)
      sum += step[static_cast<std::size_t>(std::clamp<std::int64_t>(k + d, 0, width - 1))];
    out[static_cast<std::size_t>(k)] = static_cast<float>(sum / 7.0);
  }
  return out;
}

std::vector<float> stretch_st(const std::vector<float>& beat, std::int64_t leads, double fs,
                              double factor, const BeatTemplateOptions& options) {
  if (!(factor > 0)) throw Error("stretch_st: expected a factor above 0");
  const std::int64_t width = window_width(beat, leads, fs, options, "stretch_st");
  const std::int64_t st = st_start(fs, width, options);
  std::vector<float> out(beat);
  for (std::int64_t lead = 0; lead < leads; ++lead) {
    const float* x = beat.data() + lead * width;
    float* y = out.data() + lead * width;
    for (std::int64_t k = st; k < width; ++k) {
      const double at = std::min(double(st) + double(k - st) / factor, double(width - 1));
      const auto i = static_cast<std::int64_t>(std::floor(at));
      const double f = at - double(i);
      const double next = i + 1 < width ? x[i + 1] : x[i];
      y[k] = static_cast<float>((1.0 - f) * x[i] + f * next);
    }
  }
  return out;
}

double st_stretch(const std::vector<float>& from, const std::vector<float>& to, std::int64_t leads,
                  double fs, std::int64_t max_shift, double limit,
                  const BeatTemplateOptions& options) {
  const std::int64_t width = checked_width(from, to, leads, max_shift, "st_stretch");
  window_width(from, leads, fs, options, "st_stretch");
  if (!(limit >= 1)) throw Error("st_stretch: expected a limit of at least 1");
  const std::int64_t st = st_start(fs, width, options);
  const std::int64_t shift = template_shift(from, to, leads, max_shift);
  double power = 0;
  for (std::int64_t lead = 0; lead < leads; ++lead)
    for (std::int64_t k = st; k < width; ++k)
      power += double(from[static_cast<std::size_t>(lead * width + k)]) *
               from[static_cast<std::size_t>(lead * width + k)];
  if (power == 0) return 1.0;
  double best_factor = 1.0, best = INFINITY;
  // Factors 1, 1 +- 0.01, 1 +- 0.02, ... within 1 / limit .. limit, nearest 1 first.
  for (int i = 0;; ++i) {
    bool inside = false;
    for (int sign : {1, -1}) {
      if (i == 0 && sign < 0) continue;
      const double factor = 1.0 + sign * 0.01 * i;
      if (factor > limit + 1e-9 || factor < 1.0 / limit - 1e-9) continue;
      inside = true;
      const std::vector<float> stretched = stretch_st(from, leads, fs, factor, options);
      double sum = 0;
      for (std::int64_t lead = 0; lead < leads; ++lead)
        for (std::int64_t k = st; k < width; ++k) {
          const std::int64_t j = std::clamp<std::int64_t>(k - shift, 0, width - 1);
          const double d = double(stretched[static_cast<std::size_t>(lead * width + k)]) -
                           to[static_cast<std::size_t>(lead * width + j)];
          sum += d * d;
        }
      if (sum < best) {
        best = sum;
        best_factor = factor;
      }
    }
    if (!inside) break;
  }
  return best_factor;
}

double win_probability_among(std::int64_t others, std::int64_t nearer, std::int64_t persons) {
  if (others < 0 || nearer < 0 || nearer > others || persons < 1)
    throw Error("win_probability_among: needs 0 <= nearer <= others and persons >= 1");
  const std::int64_t drawn = persons - 1;
  if (drawn >= others) return nearer == 0 ? 1.0 : 0.0;
  // C(others - nearer, drawn) / C(others, drawn) as a product of ratios.
  double p = 1.0;
  for (std::int64_t j = 0; j < drawn; ++j) {
    if (others - nearer - j <= 0) return 0.0;
    p *= double(others - nearer - j) / double(others - j);
  }
  return p;
}

std::vector<float> template_mean(const std::vector<std::vector<float>>& templates,
                                 const std::vector<float>& anchor, std::int64_t leads,
                                 std::int64_t max_shift) {
  if (templates.empty()) throw Error("template_mean: needs at least one template");
  std::vector<double> sum(anchor.size(), 0.0);
  for (const auto& t : templates) {
    const std::int64_t width = checked_width(anchor, t, leads, max_shift, "template_mean");
    const std::int64_t shift = template_shift(anchor, t, leads, max_shift);
    for (std::int64_t lead = 0; lead < leads; ++lead)
      for (std::int64_t k = 0; k < width; ++k) {
        const std::int64_t j = std::clamp<std::int64_t>(k - shift, 0, width - 1);
        sum[static_cast<std::size_t>(lead * width + k)] +=
            t[static_cast<std::size_t>(lead * width + j)];
      }
  }
  std::vector<float> out(sum.size());
  for (std::size_t i = 0; i < sum.size(); ++i)
    out[i] = static_cast<float>(sum[i] / double(templates.size()));
  return out;
}

namespace {

// The beat templates of `count` signals (those that have one) and the position among them of
// their medoid; no templates when no signal has a beat.
struct Medoid {
  std::vector<std::int64_t> index;  // the signal of each template
  std::vector<std::vector<float>> templates;
  std::size_t at = 0;
};

Medoid find_medoid(const float* signals, std::int64_t count, std::int64_t leads,
                   std::int64_t samples, double fs, std::int64_t max_shift, const char* what) {
  if (count < 1 || leads < 1 || samples < 1)
    throw Error(std::string(what) + ": needs at least one signal");
  Medoid out;
  for (std::int64_t i = 0; i < count; ++i)
    if (auto t = beat_template(signals + i * leads * samples, leads, samples, fs)) {
      out.index.push_back(i);
      out.templates.push_back(std::move(*t));
    }
  if (out.templates.empty()) return out;
  std::vector<double> sums(out.templates.size(), 0.0);
  for (std::size_t a = 0; a < out.templates.size(); ++a)
    for (std::size_t b = a + 1; b < out.templates.size(); ++b) {
      const double d = template_distance(out.templates[a], out.templates[b], leads, max_shift);
      sums[a] += d;
      sums[b] += d;
    }
  out.at = static_cast<std::size_t>(std::min_element(sums.begin(), sums.end()) - sums.begin());
  return out;
}

}  // namespace

TemplateConsensus template_consensus(const float* signals, std::int64_t count, std::int64_t leads,
                                     std::int64_t samples, double fs, std::int64_t max_shift) {
  Medoid m = find_medoid(signals, count, leads, samples, fs, max_shift, "template_consensus");
  TemplateConsensus out;
  if (m.templates.empty()) return out;
  out.medoid = m.index[m.at];
  out.mean_beat = template_mean(m.templates, m.templates[m.at], leads, max_shift);
  out.medoid_beat = std::move(m.templates[m.at]);
  return out;
}

std::int64_t template_medoid(const float* signals, std::int64_t count, std::int64_t leads,
                             std::int64_t samples, double fs, std::int64_t max_shift) {
  const Medoid m = find_medoid(signals, count, leads, samples, fs, max_shift, "template_medoid");
  return m.templates.empty() ? 0 : m.index[m.at];
}

std::int64_t template_nearest(const float* signals, std::int64_t count, std::int64_t leads,
                              std::int64_t samples, double fs, std::int64_t max_shift,
                              const std::vector<float>& target) {
  if (count < 1 || leads < 1 || samples < 1)
    throw Error("template_nearest: needs at least one signal");
  std::int64_t best = 0;
  double best_distance = std::numeric_limits<double>::infinity();
  for (std::int64_t i = 0; i < count; ++i) {
    const auto t = beat_template(signals + i * leads * samples, leads, samples, fs);
    if (!t) continue;
    if (t->size() != target.size())
      throw Error("template_nearest: the target template holds " + std::to_string(target.size()) +
                  " values, the signals' " + std::to_string(t->size()));
    const double d = template_distance(*t, target, leads, max_shift);
    if (d < best_distance) {
      best_distance = d;
      best = i;
    }
  }
  return best;
}

std::vector<std::int64_t> rate_nearest(const float* signals, std::int64_t count, std::int64_t leads,
                                       std::int64_t samples, double fs, double target_bpm,
                                       std::int64_t keep) {
  if (keep < 1) throw Error("rate_nearest: expected to keep at least one signal");
  if (!(std::isfinite(target_bpm) && target_bpm > 0))
    throw Error("rate_nearest: expected a finite, positive target heart rate");
  std::vector<std::pair<double, std::int64_t>> error;
  for (std::int64_t i = 0; i < count; ++i) {
    const auto bpm = signal::measure_heart_rate(signals + i * leads * samples, leads, samples, fs);
    error.emplace_back(bpm ? std::abs(*bpm - target_bpm) : INFINITY, i);
  }
  std::stable_sort(error.begin(), error.end());
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < std::min(keep, count); ++i)
    out.push_back(error[static_cast<std::size_t>(i)].second);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ecgtwin::eval
