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
                     "sampling rate must be positive and finite, got " + number_text(fs));
  }
}

}  // namespace

std::int64_t resampled_length(std::int64_t n, double fs_in, double fs_out) {
  check_rate(fs_in, "input");
  check_rate(fs_out, "output");
  return static_cast<std::int64_t>(std::llround(static_cast<double>(n) * fs_out / fs_in));
}

namespace {

// A libsoxr resampler kept per thread for the last (rates, channels): designing the filter
// costs far more than running it over one 10-s record.
class CachedResampler {
 public:
  ~CachedResampler() { reset(); }
  soxr_t get(double fs_in, double fs_out, unsigned channels) {
    if (soxr_ != nullptr && fs_in == fs_in_ && fs_out == fs_out_ && channels == channels_) {
      soxr_clear(soxr_);
      return soxr_;
    }
    reset();
    const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    // High quality: 20-bit precision, pass band flat to 91% of the lower Nyquist frequency.
    const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
    soxr_error_t error = nullptr;
    soxr_ = soxr_create(fs_in, fs_out, channels, &error, &io, &quality, nullptr);
    if (error) {
      reset();
      throw Error(std::string("libsoxr: ") + error);
    }
    fs_in_ = fs_in;
    fs_out_ = fs_out;
    channels_ = channels;
    return soxr_;
  }

 private:
  void reset() {
    if (soxr_ != nullptr) soxr_delete(soxr_);
    soxr_ = nullptr;
  }
  soxr_t soxr_ = nullptr;
  double fs_in_ = 0, fs_out_ = 0;
  unsigned channels_ = 0;
};

// One libsoxr pass over `channels` interleaved channels of n frames; returns m frames.
std::vector<float> soxr_interleaved(const float* x, std::int64_t n, std::int64_t channels,
                                    double fs_in, double fs_out, std::int64_t m) {
  thread_local CachedResampler cache;
  soxr_t resampler = cache.get(fs_in, fs_out, static_cast<unsigned>(channels));
  std::vector<float> out(static_cast<size_t>(m * channels), 0.0f);
  size_t used = 0;
  size_t made = 0;
  // ~n: all the input is given at once and the output is flushed (as soxr_oneshot does).
  const soxr_error_t error = soxr_process(resampler, x, ~static_cast<size_t>(n), &used, out.data(),
                                          static_cast<size_t>(m), &made);
  if (error) throw Error(std::string("libsoxr: ") + error);
  // soxr may stop a frame short of the rounded length; that frame lies past the input's
  // end, where the signal is taken as zero.
  return out;
}

}  // namespace

std::vector<float> resample(const float* x, std::int64_t n, double fs_in, double fs_out) {
  const std::int64_t m = resampled_length(n, fs_in, fs_out);
  if (n == 0 || m == 0) return std::vector<float>(static_cast<size_t>(m), 0.0f);
  if (fs_in == fs_out) return std::vector<float>(x, x + n);
  return soxr_interleaved(x, n, 1, fs_in, fs_out, m);
}

std::vector<float> resample_leads(const float* x, std::int64_t leads, std::int64_t samples,
                                  double fs_in, double fs_out) {
  const std::int64_t m = resampled_length(samples, fs_in, fs_out);
  if (samples == 0 || m == 0 || leads == 0)
    return std::vector<float>(static_cast<size_t>(leads * m), 0.0f);
  if (fs_in == fs_out) return std::vector<float>(x, x + leads * samples);
  // All leads in one pass: the filter is designed once per record, not once per lead.
  std::vector<float> interleaved(static_cast<size_t>(leads * samples));
  for (std::int64_t lead = 0; lead < leads; ++lead) {
    for (std::int64_t i = 0; i < samples; ++i)
      interleaved[i * leads + lead] = x[lead * samples + i];
  }
  const std::vector<float> frames =
      soxr_interleaved(interleaved.data(), samples, leads, fs_in, fs_out, m);
  std::vector<float> out(static_cast<size_t>(leads * m));
  for (std::int64_t lead = 0; lead < leads; ++lead) {
    for (std::int64_t j = 0; j < m; ++j) out[lead * m + j] = frames[j * leads + lead];
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
