// Recording noise: baseline wander, powerline interference, muscle (EMG) noise and electrode
// motion, the four noise types of the MIT-BIH Noise Stress Test Database (Moody, Muldrow,
// Mark 1984) and of ECGSYN-based simulators. Added to the 8 independent leads (I, II,
// V1..V6), so that the derived limb leads keep Einthoven's and Goldberger's relations.
#include <algorithm>
#include <cmath>

#include "ecgtwin/signal/simulator_detail.hpp"

namespace ecgtwin::signal::detail {

namespace {

constexpr double kTwoPi = 6.283185307179586;
constexpr int kLeads = 8;

double mean_square(const double* x, std::int64_t n) {
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += x[i] * x[i];
  return n > 0 ? sum / static_cast<double>(n) : 0.0;
}

}  // namespace

void add_noise(const Person& person, double snr_db, double fs, std::int64_t n, util::Rng& rng,
               double* leads8) {
  if (n <= 0) return;
  const std::int64_t total = kLeads * n;
  const double signal_power = mean_square(leads8, total);
  const double noise_power = signal_power / std::pow(10.0, snr_db / 10.0);
  std::vector<double> component(total), sum(total, 0.0);
  const double weights[4] = {person.baseline_weight, person.powerline_weight, person.emg_weight,
                             person.motion_weight};
  const double weight_sum = weights[0] + weights[1] + weights[2] + weights[3];

  for (int kind = 0; kind < 4; ++kind) {
    std::fill(component.begin(), component.end(), 0.0);
    if (kind == 0) {
      // Baseline wander: respiration (0.15-0.4 Hz) and slower drift (0.03-0.15 Hz).
      double freq[3] = {rng.uniform(0.15, 0.4), rng.uniform(0.03, 0.15), rng.uniform(0.05, 0.3)};
      for (int lead = 0; lead < kLeads; ++lead)
        for (double f : freq) {
          double a = rng.normal(), phase = rng.uniform(0, kTwoPi);
          double* out = component.data() + lead * n;
          for (std::int64_t i = 0; i < n; ++i) out[i] += a * std::sin(kTwoPi * f * i / fs + phase);
        }
    } else if (kind == 1) {
      // Mains interference, with its third harmonic.
      for (int lead = 0; lead < kLeads; ++lead) {
        double a = rng.uniform(0.5, 1.5), phase = rng.uniform(0, kTwoPi);
        double* out = component.data() + lead * n;
        for (std::int64_t i = 0; i < n; ++i) {
          double w = kTwoPi * person.powerline_hz * i / fs + phase;
          out[i] = a * (std::sin(w) + 0.1 * std::sin(3 * w));
        }
      }
    } else if (kind == 2) {
      // Muscle noise: broadband, modelled as white Gaussian noise.
      for (double& v : component) v = rng.normal();
    } else {
      // Electrode motion: one or two transient baseline jumps of 0.1-0.5 s.
      int events = 1 + static_cast<int>(rng.uniform_int(0, 1));
      for (int e = 0; e < events; ++e) {
        double center = rng.uniform(0, n / fs), width = rng.uniform(0.1, 0.5);
        for (int lead = 0; lead < kLeads; ++lead) {
          double a = rng.normal();
          double* out = component.data() + lead * n;
          auto first = std::max<std::int64_t>(0, static_cast<std::int64_t>((center - 4 * width) * fs));
          auto last = std::min<std::int64_t>(n, static_cast<std::int64_t>((center + 4 * width) * fs));
          for (std::int64_t i = first; i < last; ++i) {
            double u = (i / fs - center) / width;
            out[i] += a * std::exp(-0.5 * u * u);
          }
        }
      }
    }
    double power = mean_square(component.data(), total);
    if (power <= 0 || weight_sum <= 0) continue;
    double gain = std::sqrt(noise_power * weights[kind] / weight_sum / power);
    for (std::int64_t i = 0; i < total; ++i) sum[i] += gain * component[i];
  }
  // The sources are not exactly uncorrelated over a short record: set the total power.
  double power = mean_square(sum.data(), total);
  double gain = power > 0 ? std::sqrt(noise_power / power) : 0.0;
  for (std::int64_t i = 0; i < total; ++i) leads8[i] += gain * sum[i];
}

}  // namespace ecgtwin::signal::detail
