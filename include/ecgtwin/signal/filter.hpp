#pragma once
// IIR filters as cascades of biquads, applied forward and backward (zero phase).
#include <cstdint>
#include <vector>

namespace ecgtwin::signal {

// One second-order section, transposed direct form II, a0 normalised to 1.
// A first-order section has b2 = a2 = 0.
struct Biquad {
  double b0 = 1, b1 = 0, b2 = 0;
  double a1 = 0, a2 = 0;
};

// A cascade of sections and the rate it was designed for.
struct Sos {
  std::vector<Biquad> sections;
  double fs = 0;
  // |H(e^{j 2 pi f / fs})| of the cascade (one pass).
  double magnitude(double f_hz) const;
  // H at DC (z = 1), used for steady-state initial conditions.
  double dc_gain() const;
};

// Butterworth designs by the bilinear transform with prewarping (order 1..16). A digital
// Butterworth of order N has |H|^2 = 1 / (1 + (tan(pi f/fs) / tan(pi fc/fs))^(2N)) for the
// low-pass and the reciprocal ratio for the high-pass.
Sos butterworth_lowpass(int order, double cutoff_hz, double fs);
Sos butterworth_highpass(int order, double cutoff_hz, double fs);
// High-pass at low_hz followed by low-pass at high_hz (each of `order`).
Sos butterworth_bandpass(int order, double low_hz, double high_hz, double fs);
// Second-order notch (RBJ cookbook) at f0 with quality factor q = f0 / bandwidth.
Sos notch(double f0_hz, double q, double fs);

// Runs the cascade once, forward, starting from rest. In place.
void filter_forward(const Sos& sos, float* x, std::int64_t n);
// Forward-backward filtering (zero phase, magnitude squared), with odd reflection of the
// ends and steady-state initial conditions as scipy.signal.sosfiltfilt does, so that a
// constant or a slope at the ends makes no transient. In place.
void filtfilt(const Sos& sos, float* x, std::int64_t n);
inline void filtfilt(const Sos& sos, std::vector<float>& x) {
  filtfilt(sos, x.data(), static_cast<std::int64_t>(x.size()));
}

}  // namespace ecgtwin::signal
