#include "ecgtwin/signal/filter.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <string>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::signal {
namespace {

constexpr double kPi = 3.14159265358979323846;

void check_design(int order, double cutoff_hz, double fs, const char* what) {
  if (!(fs > 0) || !std::isfinite(fs)) {
    throw InputError(what, "sampling rate must be positive, got " + number_text(fs));
  }
  if (order < 1 || order > 16) {
    throw InputError(what, "order must be 1..16, got " + std::to_string(order));
  }
  if (!(cutoff_hz > 0) || !(cutoff_hz < fs / 2)) {
    throw InputError(what, "cutoff must lie in (0, fs/2) = (0, " + number_text(fs / 2) +
                               ") Hz, got " + number_text(cutoff_hz));
  }
}

// Bilinear transform of 1 / (s^2 + s/q + 1) (or 1 / (s + 1) when q == 0) with s scaled so
// that the analog cutoff 1 rad/s maps to the digital cutoff (k = tan(pi fc / fs)).
Biquad bilinear_section(double k, double q, bool highpass) {
  Biquad s;
  if (q == 0) {
    const double norm = 1.0 / (1.0 + k);
    s.b0 = highpass ? norm : k * norm;
    s.b1 = highpass ? -norm : k * norm;
    s.a1 = (k - 1.0) * norm;
    return s;
  }
  const double norm = 1.0 / (1.0 + k / q + k * k);
  s.b0 = highpass ? norm : k * k * norm;
  s.b1 = highpass ? -2.0 * s.b0 : 2.0 * s.b0;
  s.b2 = s.b0;
  s.a1 = 2.0 * (k * k - 1.0) * norm;
  s.a2 = (1.0 - k / q + k * k) * norm;
  return s;
}

Sos butterworth(int order, double cutoff_hz, double fs, bool highpass) {
  Sos sos;
  sos.fs = fs;
  const double k = std::tan(kPi * cutoff_hz / fs);
  // Analog Butterworth poles s_m = -sin(theta_m) +- j cos(theta_m), theta_m = pi (2m + 1) / (2N),
  // in conjugate pairs: s^2 + 2 sin(theta_m) s + 1, i.e. q = 1 / (2 sin theta_m); odd N adds
  // the real pole s = -1.
  for (int m = 0; m < order / 2; ++m) {
    const double theta = kPi * (2.0 * m + 1.0) / (2.0 * order);
    sos.sections.push_back(bilinear_section(k, 1.0 / (2.0 * std::sin(theta)), highpass));
  }
  if (order % 2 == 1) sos.sections.push_back(bilinear_section(k, 0.0, highpass));
  return sos;
}

// Initial state of one section for a constant input u (steady state).
void steady_state(const Biquad& s, double u, double& z1, double& z2) {
  const double denom = 1.0 + s.a1 + s.a2;
  const double h1 = denom != 0 ? (s.b0 + s.b1 + s.b2) / denom : 0.0;
  z2 = (s.b2 - s.a2 * h1) * u;
  z1 = (s.b1 - s.a1 * h1) * u + z2;
}

// One pass of the cascade over y[0..n), starting from the steady state for y[0] when
// `steady` (from rest otherwise).
void run_cascade(const Sos& sos, std::vector<double>& y, bool steady) {
  double level = y.empty() ? 0.0 : y[0];
  for (const Biquad& s : sos.sections) {
    double z1 = 0, z2 = 0;
    if (steady) steady_state(s, level, z1, z2);
    for (double& v : y) {
      const double in = v;
      const double out = s.b0 * in + z1;
      z1 = s.b1 * in - s.a1 * out + z2;
      z2 = s.b2 * in - s.a2 * out;
      v = out;
    }
    const double denom = 1.0 + s.a1 + s.a2;
    level *= denom != 0 ? (s.b0 + s.b1 + s.b2) / denom : 0.0;
  }
}

}  // namespace

double Sos::magnitude(double f_hz) const {
  const std::complex<double> z1 = std::polar(1.0, -2.0 * kPi * f_hz / fs);  // z^-1
  const std::complex<double> z2 = z1 * z1;
  std::complex<double> h = 1.0;
  for (const Biquad& s : sections) {
    h *= (s.b0 + s.b1 * z1 + s.b2 * z2) / (1.0 + s.a1 * z1 + s.a2 * z2);
  }
  return std::abs(h);
}

double Sos::dc_gain() const {
  double g = 1.0;
  for (const Biquad& s : sections) g *= (s.b0 + s.b1 + s.b2) / (1.0 + s.a1 + s.a2);
  return g;
}

Sos butterworth_lowpass(int order, double cutoff_hz, double fs) {
  check_design(order, cutoff_hz, fs, "butterworth low-pass");
  return butterworth(order, cutoff_hz, fs, false);
}

Sos butterworth_highpass(int order, double cutoff_hz, double fs) {
  check_design(order, cutoff_hz, fs, "butterworth high-pass");
  return butterworth(order, cutoff_hz, fs, true);
}

Sos butterworth_bandpass(int order, double low_hz, double high_hz, double fs) {
  if (!(low_hz < high_hz)) {
    throw InputError("butterworth band-pass", "low edge " + number_text(low_hz) +
                                                  " Hz must be below high edge " +
                                                  number_text(high_hz) + " Hz");
  }
  Sos sos = butterworth_highpass(order, low_hz, fs);
  const Sos low = butterworth_lowpass(order, high_hz, fs);
  sos.sections.insert(sos.sections.end(), low.sections.begin(), low.sections.end());
  return sos;
}

Sos notch(double f0_hz, double q, double fs) {
  check_design(2, f0_hz, fs, "notch");
  if (!(q > 0)) throw InputError("notch", "quality factor must be positive");
  const double w0 = 2.0 * kPi * f0_hz / fs;
  const double alpha = std::sin(w0) / (2.0 * q);
  const double a0 = 1.0 + alpha;
  Biquad s;
  s.b0 = 1.0 / a0;
  s.b1 = -2.0 * std::cos(w0) / a0;
  s.b2 = 1.0 / a0;
  s.a1 = -2.0 * std::cos(w0) / a0;
  s.a2 = (1.0 - alpha) / a0;
  Sos sos;
  sos.fs = fs;
  sos.sections.push_back(s);
  return sos;
}

void filter_forward(const Sos& sos, float* x, std::int64_t n) {
  std::vector<double> y(x, x + n);
  run_cascade(sos, y, false);
  for (std::int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(y[i]);
}

void filtfilt(const Sos& sos, float* x, std::int64_t n) {
  if (n <= 0 || sos.sections.empty()) return;
  // scipy.signal.sosfiltfilt's default: 3 * (2 * sections + 1), less the trivial taps.
  std::int64_t trivial = 0;
  for (const Biquad& s : sos.sections) trivial += (s.b2 == 0 && s.a2 == 0) ? 1 : 0;
  const std::int64_t wanted =
      3 * (2 * static_cast<std::int64_t>(sos.sections.size()) + 1 - trivial);
  const std::int64_t pad = std::min<std::int64_t>(wanted, n - 1);
  std::vector<double> y(static_cast<size_t>(n + 2 * pad));
  // Odd reflection about the end samples keeps the value and the slope continuous.
  for (std::int64_t i = 0; i < pad; ++i) y[i] = 2.0 * x[0] - x[pad - i];
  for (std::int64_t i = 0; i < n; ++i) y[pad + i] = x[i];
  for (std::int64_t i = 0; i < pad; ++i) y[pad + n + i] = 2.0 * x[n - 1] - x[n - 2 - i];
  run_cascade(sos, y, true);
  std::reverse(y.begin(), y.end());
  run_cascade(sos, y, true);
  std::reverse(y.begin(), y.end());
  for (std::int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(y[pad + i]);
}

}  // namespace ecgtwin::signal
