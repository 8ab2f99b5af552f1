#pragma once
// Heart rate and RR-interval statistics from R-peak positions.
#include <cstdint>
#include <optional>
#include <vector>

namespace ecgtwin::signal {

// 60 / median RR interval, in beats per minute; absent with fewer than two peaks.
// The median keeps one missed or extra beat from moving the rate.
std::optional<double> heart_rate_bpm(const std::vector<std::int64_t>& peaks, double fs);

// Heart rate of a [leads x samples] signal at fs Hz: heart_rate_bpm of the multi-lead R peaks
// (detect_r_peaks_leads); absent with fewer than two beats.
std::optional<double> measure_heart_rate(const float* signal, std::int64_t leads,
                                         std::int64_t samples, double fs);

struct RrStatistics {
  std::int64_t intervals = 0;  // number of RR intervals (peaks - 1)
  double mean_s = 0;           // mean RR
  double median_s = 0;
  double sdnn_s = 0;   // standard deviation of RR (sample, n - 1)
  double rmssd_s = 0;  // root mean square of successive RR differences
  // RMSSD / mean RR: near 0.02-0.05 in sinus rhythm, above ~0.1 in atrial fibrillation
  // (normalised RMSSD, e.g. Dash et al., Ann. Biomed. Eng. 37(9), 2009).
  double irregularity = 0;
  double pnn50 = 0;  // fraction of successive differences above 50 ms
};

// Statistics of the RR intervals; absent with fewer than three peaks (two intervals).
std::optional<RrStatistics> rr_statistics(const std::vector<std::int64_t>& peaks, double fs);

}  // namespace ecgtwin::signal
