#include "ecgtwin/signal/resample.hpp"

#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::signal {
namespace {

void check_rate(double fs, const char* which) {
  if (!(fs > 0) || !std::isfinite(fs)) {
    throw InputError(std::string("resample ") + which,
                     "sampling rate must be positive and finite, got " + std::to_string(fs));
  }
}

}  // namespace

std::int64_t resampled_length(std::int64_t n, double fs_in, double fs_out) {
  check_rate(fs_in, "input");
  check_rate(fs_out, "output");
  return static_cast<std::int64_t>(std::llround(static_cast<double>(n) * fs_out / fs_in));
}

std::vector<float> resample(const float* x, std::int64_t n, double fs_in, double fs_out) {
  const std::int64_t m = resampled_length(n, fs_in, fs_out);
  std::vector<float> out(static_cast<size_t>(m), 0.0f);
  if (n == 0 || m == 0) return out;
  if (fs_in == fs_out) {
    std::copy(x, x + n, out.begin());
    return out;
  }
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_VHQ, 0);
  size_t used = 0;
  size_t made = 0;
  const soxr_error_t error =
      soxr_oneshot(fs_in, fs_out, 1, x, static_cast<size_t>(n), &used, out.data(),
                   static_cast<size_t>(m), &made, &io, &quality, nullptr);
  if (error) throw Error(std::string("libsoxr: ") + error);
  // soxr may stop one sample short of the rounded length; that sample is past the input's
  // end, where the signal is taken as zero.
  return out;
}

std::vector<float> resample_leads(const float* x, std::int64_t leads, std::int64_t samples,
                                  double fs_in, double fs_out) {
  const std::int64_t m = resampled_length(samples, fs_in, fs_out);
  std::vector<float> out(static_cast<size_t>(leads * m));
  for (std::int64_t lead = 0; lead < leads; ++lead) {
    const std::vector<float> one = resample(x + lead * samples, samples, fs_in, fs_out);
    std::copy(one.begin(), one.end(), out.begin() + lead * m);
  }
  return out;
}

FittedSignal fit_to_window(const float* x, std::int64_t leads, std::int64_t samples, double fs,
                           const FitOptions& options) {
  if (options.samples <= 0 || !(options.seconds > 0)) {
    throw InputError("signal window", "samples and seconds must be positive");
  }
  FittedSignal fitted;
  fitted.leads = leads;
  fitted.samples = options.samples;
  fitted.sampling_rate = static_cast<double>(options.samples) / options.seconds;
  const std::int64_t m = resampled_length(samples, fs, fitted.sampling_rate);
  const std::vector<float> resampled = resample_leads(x, leads, samples, fs, fitted.sampling_rate);
  const std::int64_t kept = std::min(m, options.samples);
  fitted.padded_samples = options.samples - kept;
  fitted.cropped_samples = m - kept;
  fitted.signal.assign(static_cast<size_t>(leads * options.samples), 0.0f);
  for (std::int64_t lead = 0; lead < leads; ++lead) {
    std::copy_n(resampled.begin() + lead * m, kept, fitted.signal.begin() + lead * options.samples);
  }
  return fitted;
}

}  // namespace ecgtwin::signal
