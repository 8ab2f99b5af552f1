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

// Adds a * sin(2 pi f i / fs + phase) for i in [0, n) by rotating a phasor: one complex
// multiplication per sample instead of a sine.
void add_sine(double* out, std::int64_t n, double a, double f, double fs, double phase) {
  const double c = std::cos(kTwoPi * f / fs), s = std::sin(kTwoPi * f / fs);
  double re = std::cos(phase), im = std::sin(phase);
  for (std::int64_t i = 0; i < n; ++i) {
    out[i] += a * im;
    double next_re = re * c - im * s;
    im = re * s + im * c;
    re = next_re;
  }
}

// An approximately normal draw with unit variance from one 64-bit random number: the sum of
// four 16-bit uniforms (Irwin-Hall), enough for broadband muscle noise and far cheaper than
// an exact normal deviate.
double fast_normal(util::Rng& rng) {
  std::uint64_t bits = rng.next_u64();
  double sum = 0;
  for (int k = 0; k < 4; ++k, bits >>= 16) sum += static_cast<double>(bits & 0xffff);
  // Four uniforms on [0, 65535]: mean 2 * 65535, variance 4 * (65536^2 - 1) / 12.
  return (sum - 2 * 65535.0) / std::sqrt(4.0 * (65536.0 * 65536.0 - 1) / 12.0);
}

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
  // Scratch buffers reused across records of a thread (fresh large allocations each record
  // cost more in page faults than the noise itself).
  thread_local std::vector<double> component, sum, shape;
  component.resize(total);
  sum.assign(total, 0.0);
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
          add_sine(component.data() + lead * n, n, a, f, fs, phase);
        }
    } else if (kind == 1) {
      // Mains interference, with its third harmonic.
      for (int lead = 0; lead < kLeads; ++lead) {
        double a = rng.uniform(0.5, 1.5), phase = rng.uniform(0, kTwoPi);
        add_sine(component.data() + lead * n, n, a, person.powerline_hz, fs, phase);
        add_sine(component.data() + lead * n, n, 0.1 * a, 3 * person.powerline_hz, fs, 3 * phase);
      }
    } else if (kind == 2) {
      // Muscle noise: broadband, modelled as white (approximately Gaussian) noise.
      for (double& v : component) v = fast_normal(rng);
    } else {
      // Electrode motion: one or two transient baseline jumps of 0.1-0.5 s.
      int events = 1 + static_cast<int>(rng.uniform_int(0, 1));
      shape.resize(n);
      for (int e = 0; e < events; ++e) {
        double center = rng.uniform(0, n / fs), width = rng.uniform(0.1, 0.5);
        std::vector<Kernel> bump = {{Wave::kQrs, 0, 1.0, center, width}};
        std::fill(shape.begin(), shape.end(), 0.0);
        add_beat(bump, 0.0, 0.0, 1.0, fs, n, shape.data());  // axis 0 only: n values
        for (int lead = 0; lead < kLeads; ++lead) {
          double a = rng.normal();
          double* out = component.data() + lead * n;
          for (std::int64_t i = 0; i < n; ++i) out[i] += a * shape[i];
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
