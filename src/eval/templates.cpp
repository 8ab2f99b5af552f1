#include "ecgtwin/eval/templates.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

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

double template_distance(const std::vector<float>& a, const std::vector<float>& b, std::int64_t leads,
                         std::int64_t max_shift) {
  if (a.size() != b.size() || a.empty()) throw Error("template_distance: templates of different sizes");
  if (leads < 1 || a.size() % static_cast<std::size_t>(leads) != 0)
    throw Error("template_distance: the template size is not a multiple of the lead count");
  const std::int64_t width = static_cast<std::int64_t>(a.size()) / leads;
  if (max_shift < 0 || max_shift >= width) throw Error("template_distance: shift outside 0 .. width - 1");
  double best = INFINITY;
  for (std::int64_t shift = -max_shift; shift <= max_shift; ++shift) {
    // a[k] against b[k - shift] over the samples where both exist.
    const std::int64_t from = std::max<std::int64_t>(0, shift), to = std::min(width, width + shift);
    double sum = 0;
    for (std::int64_t lead = 0; lead < leads; ++lead) {
      const float* x = a.data() + lead * width;
      const float* y = b.data() + lead * width - shift;
      for (std::int64_t k = from; k < to; ++k) sum += (double(x[k]) - y[k]) * (double(x[k]) - y[k]);
    }
    best = std::min(best, std::sqrt(sum / double(leads * (to - from))));
  }
  return best;
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

std::int64_t template_medoid(const float* signals, std::int64_t count, std::int64_t leads,
                             std::int64_t samples, double fs, std::int64_t max_shift) {
  if (count < 1 || leads < 1 || samples < 1)
    throw Error("template_medoid: needs at least one signal");
  std::vector<std::int64_t> index;
  std::vector<std::vector<float>> templates;
  for (std::int64_t i = 0; i < count; ++i)
    if (auto t = beat_template(signals + i * leads * samples, leads, samples, fs)) {
      index.push_back(i);
      templates.push_back(std::move(*t));
    }
  if (templates.empty()) return 0;
  std::vector<double> sums(templates.size(), 0.0);
  for (std::size_t a = 0; a < templates.size(); ++a)
    for (std::size_t b = a + 1; b < templates.size(); ++b) {
      const double d = template_distance(templates[a], templates[b], leads, max_shift);
      sums[a] += d;
      sums[b] += d;
    }
  return index[static_cast<std::size_t>(std::min_element(sums.begin(), sums.end()) - sums.begin())];
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

}  // namespace ecgtwin::eval
