#pragma once
// Simple fiducial measurements for the simulator tests, independent of the simulator's own
// kernel timing: they look only at the rendered 12-lead signal and the R-peak positions.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "ecgtwin/signal/simulator.hpp"

namespace ecgtwin::test {

enum SimLead { kI = 0, kII, kIII, kAVR, kAVL, kAVF, kV1, kV2, kV3, kV4, kV5, kV6 };

struct BeatFiducials {
  double qrs_onset = 0;   // s
  double qrs_offset = 0;  // s (J point)
  double p_onset = NAN;   // s, NaN without a P wave
  double p_peak = 0;      // mV, largest |lead| inside the P window
  double t_end = NAN;     // s
  double pr() const { return qrs_onset - p_onset; }
  double qrs() const { return qrs_offset - qrs_onset; }
  double qt() const { return t_end - qrs_onset; }
};

// Sum over the leads of |slope| (mV/s) at sample i.
inline double slope(const signal::SimEcg& ecg, std::int64_t i) {
  double s = 0;
  for (int lead = 0; lead < 12; ++lead)
    s += std::abs(ecg.lead(lead)[i + 1] - ecg.lead(lead)[i]) * ecg.fs;
  return s;
}

// Largest |lead(i) - lead(reference)| over the leads: amplitude against a baseline sample.
inline double envelope(const signal::SimEcg& ecg, std::int64_t i, std::int64_t reference) {
  double e = 0;
  for (int lead = 0; lead < 12; ++lead)
    e = std::max(e, std::abs(double(ecg.lead(lead)[i]) - double(ecg.lead(lead)[reference])));
  return e;
}

// Sum over the leads of |second difference| (mV/s^2) at sample i: large only in the QRS.
inline double curvature(const signal::SimEcg& ecg, std::int64_t i) {
  double s = 0;
  for (int lead = 0; lead < 12; ++lead) {
    const float* x = ecg.lead(lead);
    s += std::abs(x[i + 1] - 2.0 * x[i] + x[i - 1]) * ecg.fs * ecg.fs;
  }
  return s;
}

// QRS: the run of samples around the R peak whose curvature stays above 2% of the QRS's
// largest (gaps under 15 ms bridged); P and T waves curve a hundred times less. P onset:
// where the slope first reaches 10% of the P wave's largest slope. T end: where the
// amplitude envelope (against a baseline sample just after the window) falls below 10% of
// the T wave's peak.
inline BeatFiducials measure_beat(const signal::SimEcg& ecg, std::int64_t r,
                                  std::int64_t previous_r, std::int64_t next_r) {
  const double fs = ecg.fs;
  auto at = [&](double seconds) { return static_cast<std::int64_t>(std::llround(seconds * fs)); };
  const std::int64_t n = ecg.samples - 1;
  double peak = 0;
  for (std::int64_t i = std::max<std::int64_t>(1, r - at(0.08)); i < std::min(n, r + at(0.12)); ++i)
    peak = std::max(peak, curvature(ecg, i));
  // Where a steep ST-T follows the QRS directly (bundle branch block, ectopic beats), the
  // threshold rises to the T wave's largest curvature.
  double t_curvature = 0;
  for (std::int64_t i = r + at(0.2); i < std::min(n, r + at(0.45)); ++i)
    t_curvature = std::max(t_curvature, curvature(ecg, i));
  const double threshold = std::max(0.02 * peak, t_curvature);
  const std::int64_t gap = at(0.015);
  auto active = [&](std::int64_t i, int direction) {
    for (std::int64_t k = 0; k <= gap; ++k) {
      std::int64_t j = i + direction * k;
      if (j >= 1 && j < n && curvature(ecg, j) > threshold) return true;
    }
    return false;
  };
  std::int64_t on = r, off = r;
  // The onset is searched within 80 ms before the R peak: further back a P wave may start.
  while (on > std::max<std::int64_t>(1, r - at(0.08)) && active(on - 1, -1)) --on;
  while (off < n - 1 && active(off + 1, +1)) ++off;
  BeatFiducials f;
  f.qrs_onset = on / fs;
  f.qrs_offset = off / fs;

  std::int64_t p_from = std::max<std::int64_t>({0, on - at(0.4), previous_r + at(0.5)});
  std::int64_t p_to = on - at(0.02);
  double p_peak = 0, p_slope = 0;
  for (std::int64_t i = p_from; i < p_to; ++i) {
    p_peak = std::max(p_peak, envelope(ecg, i, p_from));
    p_slope = std::max(p_slope, slope(ecg, i));
  }
  f.p_peak = p_peak;
  if (p_peak > 0.03) {
    for (std::int64_t i = p_from; i < p_to; ++i)
      if (slope(ecg, i) > 0.1 * p_slope) {
        f.p_onset = i / fs;
        break;
      }
  }
  std::int64_t t_from = off + at(0.05);
  std::int64_t t_to = std::min<std::int64_t>({n, r + at(0.75), next_r - at(0.22)});
  double t_peak = 0;
  for (std::int64_t i = t_from; i < t_to; ++i) t_peak = std::max(t_peak, envelope(ecg, i, t_to));
  for (std::int64_t i = t_to - 1; i >= t_from; --i)
    if (envelope(ecg, i, t_to) > 0.1 * t_peak) {
      f.t_end = i / fs;
      break;
    }
  return f;
}

// Net QRS area of lead `lead` between onset and offset (mV s).
inline double qrs_area(const signal::SimEcg& ecg, int lead, const BeatFiducials& f) {
  double sum = 0;
  for (auto i = std::llround(f.qrs_onset * ecg.fs); i <= std::llround(f.qrs_offset * ecg.fs); ++i)
    sum += ecg.lead(lead)[i];
  return sum / ecg.fs;
}

// Frontal QRS axis (degrees) from the net QRS areas of I and aVF.
inline double frontal_axis(const signal::SimEcg& ecg, const BeatFiducials& f) {
  return std::atan2(qrs_area(ecg, kAVF, f), qrs_area(ecg, kI, f)) * 180.0 / 3.141592653589793;
}

inline double qrs_peak_to_peak(const signal::SimEcg& ecg, int lead, const BeatFiducials& f) {
  double lo = 1e9, hi = -1e9;
  for (auto i = std::llround(f.qrs_onset * ecg.fs); i <= std::llround(f.qrs_offset * ecg.fs); ++i) {
    lo = std::min(lo, double(ecg.lead(lead)[i]));
    hi = std::max(hi, double(ecg.lead(lead)[i]));
  }
  return hi - lo;
}

// ST level 60 ms after the J point against the PR segment (20 ms before QRS onset).
inline double st_level(const signal::SimEcg& ecg, int lead, const BeatFiducials& f) {
  auto j60 = std::llround((f.qrs_offset + 0.06) * ecg.fs);
  auto pr = std::llround((f.qrs_onset - 0.02) * ecg.fs);
  return ecg.lead(lead)[j60] - ecg.lead(lead)[pr];
}

}  // namespace ecgtwin::test
