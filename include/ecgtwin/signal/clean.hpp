#pragma once
// Cleaning a raw signal before it reaches the model or the detector: non-finite samples,
// baseline wander, powerline interference, and cutting long records into windows.
#include <cstdint>
#include <vector>

namespace ecgtwin::signal {

// Replaces every NaN and +-Inf in x[0..n) with 0. Returns how many were replaced, so that
// the caller can log a warning naming the record.
std::int64_t replace_nonfinite(float* x, std::int64_t n);
inline std::int64_t replace_nonfinite(std::vector<float>& x) {
  return replace_nonfinite(x.data(), static_cast<std::int64_t>(x.size()));
}

struct CleanOptions {
  double low_hz = 0.5;        // baseline wander below this is removed (0: no high-pass)
  double high_hz = 40.0;      // muscle noise above this is removed (0: no low-pass)
  int order = 2;              // Butterworth order of each edge (doubled by zero-phase)
  double powerline_hz = 0.0;  // 50 or 60 adds a notch there; 0: none
  double notch_q = 30.0;      // notch quality factor (f0 / -3 dB bandwidth)
};

// Zero-phase band-pass (and optional notch) of every lead of a [leads x samples] signal,
// in place, after replacing non-finite samples. Returns the number replaced.
std::int64_t clean_leads(float* x, std::int64_t leads, std::int64_t samples, double fs,
                         const CleanOptions& options = {});

// Where one window of a long record starts, in samples.
struct Window {
  std::int64_t start = 0;
  std::int64_t length = 0;
};

// Windows of `window` samples every `stride` samples over a record of `samples` samples
// (e.g. 10 s every 5 s). Only whole windows are returned; a record shorter than one window
// gives one window of the whole record (to be padded by fit_to_window). Throws InputError
// when window or stride is not positive.
std::vector<Window> windows(std::int64_t samples, std::int64_t window, std::int64_t stride);

// Copies one window out of a [leads x samples] signal: [leads x w.length].
std::vector<float> cut_window(const float* x, std::int64_t leads, std::int64_t samples,
                              const Window& w);

}  // namespace ecgtwin::signal
