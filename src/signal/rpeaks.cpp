#include "ecgtwin/signal/rpeaks.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <numeric>
#include <string>

#include "ecgtwin/signal/filter.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::signal {
namespace {

// Pan & Tompkins' features of one lead: |slope| of the QRS band and its moving-window
// integral of the squared slope.
struct QrsFeature {
  std::vector<double> slope;
  std::vector<double> integral;
};

std::vector<float> finite_copy(const float* x, std::int64_t n) {
  std::vector<float> y(x, x + n);
  for (float& v : y) v = std::isfinite(v) ? v : 0.0f;
  return y;
}

void check_rate(double fs, const RPeakOptions& o) {
  if (!(fs > 2.0 * o.band_high_hz) || !std::isfinite(fs)) {
    throw InputError("R-peak detection",
                     "sampling rate must exceed " + number_text(2.0 * o.band_high_hz) +
                         " Hz (twice the QRS band's upper edge), got " + number_text(fs));
  }
}

QrsFeature qrs_feature(const float* x, std::int64_t n, double fs, const RPeakOptions& o) {
  std::vector<float> band = finite_copy(x, n);
  filtfilt(butterworth_bandpass(2, o.band_low_hz, o.band_high_hz, fs), band);
  QrsFeature f;
  f.slope.assign(static_cast<size_t>(n), 0.0);
  // Five-point derivative (Pan & Tompkins eq. 5), centred so that it adds no delay.
  for (std::int64_t i = 2; i + 2 < n; ++i) {
    f.slope[i] =
        std::abs((2.0 * band[i + 1] + band[i + 2] - band[i - 2] - 2.0 * band[i - 1]) * fs / 8.0);
  }
  const std::int64_t width = std::max<std::int64_t>(1, std::llround(o.integration_s * fs));
  const std::int64_t before = width / 2;
  std::vector<double> cumulative(static_cast<size_t>(n + 1), 0.0);
  for (std::int64_t i = 0; i < n; ++i) cumulative[i + 1] = cumulative[i] + f.slope[i] * f.slope[i];
  f.integral.assign(static_cast<size_t>(n), 0.0);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t lo = std::max<std::int64_t>(0, i - before);
    const std::int64_t hi = std::min<std::int64_t>(n, lo + width);
    f.integral[i] = (cumulative[hi] - cumulative[lo]) / double(width);
  }
  return f;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * double(v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

// The adaptive-threshold stage (Pan & Tompkins, "Decision rules"), on the integrated signal.
// Run offline, the search-back is done when the next QRS is found (or at the end): a gap
// longer than search_back_factor average RR intervals is searched, with the second
// threshold, for the largest candidate at least a refractory period from both ends, so that
// a P wave just before a late QRS is not taken for a missed beat.
class Detector {
 public:
  Detector(const QrsFeature& f, double fs, const RPeakOptions& o)
      : f_(f), o_(o), n_(static_cast<std::int64_t>(f.integral.size())) {
    refractory_ = std::llround(o.refractory_s * fs);
    t_wave_ = std::llround(o.t_wave_s * fs);
    half_ = std::max<std::int64_t>(1, std::llround(o.integration_s * fs / 2));
    first_missed_ = std::llround(o.learning_s * fs);
    const std::int64_t learn = std::min(n_, std::max<std::int64_t>(1, first_missed_));
    double peak = 0, sum = 0;
    for (std::int64_t i = 0; i < learn; ++i) {
      peak = std::max(peak, f.integral[i]);
      sum += f.integral[i];
    }
    spki_ = peak / 3.0;
    npki_ = 0.5 * sum / double(learn);
    update_thresholds();
    // A candidate is a local maximum of the integral; it is timed by the steepest slope
    // within half an integration window, which the plateau of the integral does not blur.
    for (std::int64_t i = 1; i + 1 < n_; ++i) {
      const double v = f.integral[i];
      if (!(v > 0 && v > f.integral[i - 1] && v >= f.integral[i + 1])) continue;
      Candidate c{i, i, v, 0.0};
      for (std::int64_t j = std::max<std::int64_t>(0, i - half_); j <= std::min(n_ - 1, i + half_);
           ++j) {
        if (f.slope[j] > c.slope) {
          c.slope = f.slope[j];
          c.time = j;
        }
      }
      candidates_.push_back(c);
    }
  }

  std::vector<std::int64_t> run() {
    for (size_t k = 0; k < candidates_.size(); ++k) {
      const Candidate& c = candidates_[k];
      if (!qrs_.empty() && c.time - qrs_.back() < refractory_) continue;
      if (c.value > threshold1_ && !is_t_wave(c)) {
        fill_gap(qrs_.empty() ? -refractory_ : qrs_.back(), c.time);
        if (qrs_.empty() || c.time - qrs_.back() >= refractory_) accept(c, false);
      } else {
        npki_ = 0.125 * c.value + 0.875 * npki_;
      }
      update_thresholds();
    }
    fill_gap(qrs_.empty() ? -refractory_ : qrs_.back(), n_ + refractory_);
    return qrs_;
  }

 private:
  struct Candidate {
    std::int64_t index;  // local maximum of the integral
    std::int64_t time;   // steepest slope near it
    double value;        // the integral there
    double slope;
  };

  // A candidate soon after a QRS with less than half its steepest slope is a T wave
  // (Pan & Tompkins), unless it carries more integrated energy than that QRS: a wide, tall
  // premature ventricular beat has gentle slopes too, a T wave never has the energy.
  bool is_t_wave(const Candidate& c) const {
    return !qrs_.empty() && c.time - qrs_.back() < t_wave_ &&
           c.slope < o_.t_wave_slope_ratio * qrs_slope_.back() && c.value < qrs_value_.back();
  }

  void update_thresholds() {
    threshold1_ = npki_ + 0.25 * (spki_ - npki_);
    if (irregular_) threshold1_ *= 0.5;  // irregular rhythm: thresholds halved
    threshold2_ = 0.5 * threshold1_;
  }

  std::int64_t missed_limit() const {
    return regular_.empty() ? first_missed_ : std::llround(o_.search_back_factor * rr_average2_);
  }

  // Searches (from, to) for missed beats, recursively on both sides of each one found.
  void fill_gap(std::int64_t from, std::int64_t to) {
    if (to - from <= missed_limit()) return;
    const Candidate* best = nullptr;
    // Candidates are ordered by index, and a time lies within half_ of its index.
    auto first =
        std::lower_bound(candidates_.begin(), candidates_.end(), from + refractory_ - half_,
                         [](const Candidate& c, std::int64_t i) { return c.index < i; });
    for (auto it = first; it != candidates_.end() && it->index <= to - refractory_ + half_; ++it) {
      const Candidate& c = *it;
      if (c.time - from < refractory_ || to - c.time < refractory_) continue;
      if (c.value <= threshold2_ || (!qrs_.empty() && qrs_.back() == from && is_t_wave(c)))
        continue;
      if (best == nullptr || c.value > best->value) best = &c;
    }
    if (best == nullptr) return;
    const Candidate found = *best;
    fill_gap(from, found.time);
    if (!qrs_.empty() && found.time - qrs_.back() < refractory_) return;
    accept(found, true);
    update_thresholds();
    fill_gap(found.time, to);
  }

  void accept(const Candidate& c, bool searched_back) {
    spki_ = searched_back ? 0.25 * c.value + 0.75 * spki_ : 0.125 * c.value + 0.875 * spki_;
    if (!qrs_.empty()) {
      const double rr = double(c.time - qrs_.back());
      push(recent_, rr);
      rr_average1_ = mean(recent_);
      if (regular_.empty() || (rr > 0.92 * rr_average2_ && rr < 1.16 * rr_average2_)) {
        push(regular_, rr);
        rr_average2_ = mean(regular_);
        irregular_ = false;
        out_of_limits_ = 0;
      } else {
        irregular_ = true;
        // Eight beats in a row outside the limits: the rate has changed; follow it.
        if (++out_of_limits_ >= 8) {
          regular_ = recent_;
          rr_average2_ = rr_average1_;
          out_of_limits_ = 0;
        }
      }
    }
    qrs_.push_back(c.time);
    qrs_slope_.push_back(c.slope);
    qrs_value_.push_back(c.value);
  }

  static void push(std::deque<double>& q, double v) {
    q.push_back(v);
    if (q.size() > 8) q.pop_front();
  }
  static double mean(const std::deque<double>& q) {
    return std::accumulate(q.begin(), q.end(), 0.0) / double(q.size());
  }

  const QrsFeature& f_;
  const RPeakOptions& o_;
  std::int64_t n_;
  std::int64_t refractory_ = 0, t_wave_ = 0, half_ = 1, first_missed_ = 0;
  double spki_ = 0, npki_ = 0, threshold1_ = 0, threshold2_ = 0;
  double rr_average1_ = 0, rr_average2_ = 0;
  bool irregular_ = false;
  int out_of_limits_ = 0;
  std::deque<double> recent_, regular_;
  std::vector<Candidate> candidates_;
  std::vector<std::int64_t> qrs_;
  std::vector<double> qrs_slope_;
  std::vector<double> qrs_value_;
};

// Moves every detection to the extremum of the 0.5-40 Hz signal within +-refine_s, with the
// polarity most beats show, then keeps one peak per refractory period.
std::vector<std::int64_t> refine(const std::vector<std::int64_t>& detections, const float* x,
                                 std::int64_t n, double fs, const RPeakOptions& o) {
  if (detections.empty()) return {};
  std::vector<float> y = finite_copy(x, n);
  const double high = std::min(o.refine_high_hz, 0.45 * fs);
  filtfilt(butterworth_bandpass(2, o.refine_low_hz, high, fs), y);
  const std::int64_t reach = std::max<std::int64_t>(1, std::llround(o.refine_s * fs));
  std::int64_t positive_votes = 0;
  for (std::int64_t d : detections) {
    const auto lo = y.begin() + std::max<std::int64_t>(0, d - reach);
    const auto hi = y.begin() + std::min<std::int64_t>(n, d + reach + 1);
    const auto [mn, mx] = std::minmax_element(lo, hi);
    positive_votes += (*mx >= -*mn) ? 1 : 0;
  }
  const float sign = 2 * positive_votes >= std::int64_t(detections.size()) ? 1.0f : -1.0f;
  const std::int64_t refractory = std::llround(o.refractory_s * fs);
  std::vector<std::int64_t> peaks;
  for (std::int64_t d : detections) {
    const std::int64_t lo = std::max<std::int64_t>(0, d - reach);
    const std::int64_t hi = std::min<std::int64_t>(n, d + reach + 1);
    std::int64_t best = lo;
    for (std::int64_t i = lo; i < hi; ++i) {
      if (sign * y[i] > sign * y[best]) best = i;
    }
    if (!peaks.empty() && best - peaks.back() < refractory) {
      if (sign * y[best] > sign * y[peaks.back()]) peaks.back() = best;
      continue;
    }
    peaks.push_back(best);
  }
  return peaks;
}

}  // namespace

std::vector<std::int64_t> detect_r_peaks(const float* x, std::int64_t n, double fs,
                                         const RPeakOptions& options) {
  check_rate(fs, options);
  if (n < 8) return {};
  const QrsFeature feature = qrs_feature(x, n, fs, options);
  const std::vector<std::int64_t> detections = Detector(feature, fs, options).run();
  return refine(detections, x, n, fs, options);
}

std::int64_t best_lead(const float* x, std::int64_t leads, std::int64_t samples, double fs,
                       const RPeakOptions& options) {
  check_rate(fs, options);
  std::int64_t best = 0;
  double best_score = -1;
  for (std::int64_t lead = 0; lead < leads; ++lead) {
    std::vector<float> band = finite_copy(x + lead * samples, samples);
    filtfilt(butterworth_bandpass(2, options.band_low_hz, options.band_high_hz, fs), band);
    std::vector<double> magnitude(band.size());
    for (size_t i = 0; i < band.size(); ++i) magnitude[i] = std::abs(band[i]);
    const double typical = percentile(magnitude, 0.5);
    const double tall = percentile(magnitude, 0.99);
    const double score = typical > 0 ? tall / typical : 0.0;
    if (score > best_score) {
      best_score = score;
      best = lead;
    }
  }
  return best;
}

std::vector<std::int64_t> detect_r_peaks_leads(const float* x, std::int64_t leads,
                                               std::int64_t samples, double fs,
                                               const RPeakOptions& options) {
  check_rate(fs, options);
  if (leads <= 0 || samples < 8) return {};
  QrsFeature sum;
  sum.slope.assign(static_cast<size_t>(samples), 0.0);
  sum.integral.assign(static_cast<size_t>(samples), 0.0);
  for (std::int64_t lead = 0; lead < leads; ++lead) {
    const QrsFeature f = qrs_feature(x + lead * samples, samples, fs, options);
    // Each lead counts by how far its QRS energy stands above its own background, so a lead
    // of pure noise adds a near-constant floor and a clean lead dominates.
    const double integral_scale = percentile(f.integral, 0.5);
    const double slope_scale = percentile(f.slope, 0.5);
    if (!(integral_scale > 0) || !(slope_scale > 0)) continue;
    for (std::int64_t i = 0; i < samples; ++i) {
      sum.integral[i] += f.integral[i] / integral_scale;
      sum.slope[i] += f.slope[i] / slope_scale;
    }
  }
  const std::vector<std::int64_t> detections = Detector(sum, fs, options).run();
  const std::int64_t lead = best_lead(x, leads, samples, fs, options);
  return refine(detections, x + lead * samples, samples, fs, options);
}

}  // namespace ecgtwin::signal
