#pragma once
// QRS (R-peak) detection after Pan & Tompkins, "A real-time QRS detection algorithm",
// IEEE Trans. Biomed. Eng. 32(3), 1985, run offline and at any sampling rate: the filters
// are zero-phase, so the detection points need no delay correction.
#include <cstdint>
#include <vector>

namespace ecgtwin::signal {

struct RPeakOptions {
  double band_low_hz = 5.0;  // Pan & Tompkins' QRS band, 5-15 Hz
  double band_high_hz = 15.0;
  double integration_s = 0.150;      // moving-window integration width
  double refractory_s = 0.200;       // no second QRS within this of the previous one
  double t_wave_s = 0.360;           // candidates closer than this face the T-wave slope test
  double t_wave_slope_ratio = 0.5;   // ... and are T waves below this fraction of the slope
  double search_back_factor = 1.66;  // search back after this many average RR intervals
  double learning_s = 2.0;           // thresholds start from the first seconds of the signal
  double refine_s = 0.100;           // R peak: extremum within +-this of the detection point
  double refine_low_hz = 0.5;        // band of the signal the R peak is located on
  double refine_high_hz = 40.0;
};

// Sample indices of the R peaks of one lead (x[0..n) taken at fs Hz), ascending, at least
// refractory_s apart. Each peak sits on the extremum of the 0.5-40 Hz filtered signal, with
// the polarity (R or QS) that most beats of the lead share. Non-finite samples count as 0.
// Throws InputError when fs is too low for the QRS band (fs <= 2 * band_high_hz).
std::vector<std::int64_t> detect_r_peaks(const float* x, std::int64_t n, double fs,
                                         const RPeakOptions& options = {});

// Multi-lead detection on a row-major [leads x samples] signal: the integrated QRS energy of
// every lead, each divided by its own median (its background), is summed before the
// thresholds, and
// peaks are located on the lead with the most prominent QRS complexes (best_lead()).
std::vector<std::int64_t> detect_r_peaks_leads(const float* x, std::int64_t leads,
                                               std::int64_t samples, double fs,
                                               const RPeakOptions& options = {});

// The lead whose 5-15 Hz band-passed signal has the highest ratio of its 99th percentile
// of |x| to its median |x| (sharp, tall QRS complexes over a quiet background).
std::int64_t best_lead(const float* x, std::int64_t leads, std::int64_t samples, double fs,
                       const RPeakOptions& options = {});

}  // namespace ecgtwin::signal
