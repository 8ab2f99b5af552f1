#include "ecgtwin/signal/clean.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "ecgtwin/signal/filter.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::signal {

std::int64_t replace_nonfinite(float* x, std::int64_t n) {
  std::int64_t replaced = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) {
      x[i] = 0.0f;
      ++replaced;
    }
  }
  return replaced;
}

std::int64_t clean_leads(float* x, std::int64_t leads, std::int64_t samples, double fs,
                         const CleanOptions& options) {
  const std::int64_t replaced = replace_nonfinite(x, leads * samples);
  Sos sos;
  sos.fs = fs;
  if (options.low_hz > 0 && options.high_hz > 0) {
    sos = butterworth_bandpass(options.order, options.low_hz, options.high_hz, fs);
  } else if (options.low_hz > 0) {
    sos = butterworth_highpass(options.order, options.low_hz, fs);
  } else if (options.high_hz > 0) {
    sos = butterworth_lowpass(options.order, options.high_hz, fs);
  }
  if (options.powerline_hz > 0 && options.powerline_hz < fs / 2) {
    const Sos line = notch(options.powerline_hz, options.notch_q, fs);
    sos.sections.insert(sos.sections.end(), line.sections.begin(), line.sections.end());
  }
  for (std::int64_t lead = 0; lead < leads; ++lead) filtfilt(sos, x + lead * samples, samples);
  return replaced;
}

std::vector<Window> windows(std::int64_t samples, std::int64_t window, std::int64_t stride) {
  if (window <= 0 || stride <= 0) {
    throw InputError("signal windows", "window (" + std::to_string(window) + ") and stride (" +
                                           std::to_string(stride) + ") must be positive");
  }
  std::vector<Window> out;
  if (samples <= 0) return out;
  if (samples < window) return {Window{0, samples}};
  for (std::int64_t start = 0; start + window <= samples; start += stride) {
    out.push_back(Window{start, window});
  }
  return out;
}

std::vector<float> cut_window(const float* x, std::int64_t leads, std::int64_t samples,
                              const Window& w) {
  if (w.start < 0 || w.length < 0 || w.start + w.length > samples) {
    throw InputError("signal window", "window [" + std::to_string(w.start) + ", " +
                                          std::to_string(w.start + w.length) +
                                          ") lies outside the record of " +
                                          std::to_string(samples) + " samples");
  }
  std::vector<float> out(static_cast<size_t>(leads * w.length));
  for (std::int64_t lead = 0; lead < leads; ++lead) {
    std::copy_n(x + lead * samples + w.start, w.length, out.begin() + lead * w.length);
  }
  return out;
}

}  // namespace ecgtwin::signal
