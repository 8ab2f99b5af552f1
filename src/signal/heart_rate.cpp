#include "ecgtwin/signal/heart_rate.hpp"

#include <algorithm>
#include <cmath>

#include "ecgtwin/signal/rpeaks.hpp"

namespace ecgtwin::signal {
namespace {

std::vector<double> rr_seconds(const std::vector<std::int64_t>& peaks, double fs) {
  std::vector<double> rr;
  for (size_t i = 1; i < peaks.size(); ++i) rr.push_back(double(peaks[i] - peaks[i - 1]) / fs);
  return rr;
}

double median(std::vector<double> v) {
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  return 0.5 * (upper + *std::max_element(v.begin(), v.begin() + mid));
}

}  // namespace

std::optional<double> heart_rate_bpm(const std::vector<std::int64_t>& peaks, double fs) {
  if (peaks.size() < 2 || !(fs > 0)) return std::nullopt;
  const double rr = median(rr_seconds(peaks, fs));
  if (!(rr > 0)) return std::nullopt;
  return 60.0 / rr;
}

std::optional<double> measure_heart_rate(const float* signal, std::int64_t leads,
                                         std::int64_t samples, double fs) {
  return heart_rate_bpm(detect_r_peaks_leads(signal, leads, samples, fs), fs);
}

std::optional<RrStatistics> rr_statistics(const std::vector<std::int64_t>& peaks, double fs) {
  if (peaks.size() < 3 || !(fs > 0)) return std::nullopt;
  const std::vector<double> rr = rr_seconds(peaks, fs);
  RrStatistics s;
  s.intervals = static_cast<std::int64_t>(rr.size());
  double sum = 0;
  for (double r : rr) sum += r;
  s.mean_s = sum / double(rr.size());
  s.median_s = median(rr);
  double ss = 0;
  for (double r : rr) ss += (r - s.mean_s) * (r - s.mean_s);
  s.sdnn_s = std::sqrt(ss / double(rr.size() - 1));
  double sd = 0;
  std::int64_t over50 = 0;
  for (size_t i = 1; i < rr.size(); ++i) {
    const double d = rr[i] - rr[i - 1];
    sd += d * d;
    over50 += std::abs(d) > 0.050 ? 1 : 0;
  }
  s.rmssd_s = std::sqrt(sd / double(rr.size() - 1));
  s.irregularity = s.mean_s > 0 ? s.rmssd_s / s.mean_s : 0.0;
  s.pnn50 = double(over50) / double(rr.size() - 1);
  return s;
}

}  // namespace ecgtwin::signal
