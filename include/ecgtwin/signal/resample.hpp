#pragma once
// Sampling-rate conversion (libsoxr) and fitting a [leads x samples] signal to the model's
// fixed grid (DESIGN.md: 10 s at 102.4 Hz = 1024 samples).
#include <cstdint>
#include <vector>

namespace ecgtwin::signal {

// Resamples n samples taken at fs_in to fs_out with libsoxr (high quality: 20 bits, linear
// phase, delay compensated). Returns round(n * fs_out / fs_in) samples. Beyond the ends the
// signal is taken as zero, so the first and last few output samples feel the edge.
// Throws InputError when a rate is not positive and finite.
std::vector<float> resample(const float* x, std::int64_t n, double fs_in, double fs_out);

// Number of samples resample() returns.
std::int64_t resampled_length(std::int64_t n, double fs_in, double fs_out);

// Resamples every lead of a row-major [leads x samples] signal. Returns [leads x m].
std::vector<float> resample_leads(const float* x, std::int64_t leads, std::int64_t samples,
                                  double fs_in, double fs_out);

struct FitOptions {
  double seconds = 10.0;        // length of the model's window
  std::int64_t samples = 1024;  // samples in that window; rate = samples / seconds
};

// A signal brought to the window of FitOptions.
struct FittedSignal {
  std::vector<float> signal;  // [leads x options.samples]
  std::int64_t leads = 0;
  std::int64_t samples = 0;
  double sampling_rate = 0;          // options.samples / options.seconds
  std::int64_t padded_samples = 0;   // zeros appended at the end (record shorter than window)
  std::int64_t cropped_samples = 0;  // samples dropped from the end (record longer)
};

// Resamples a [leads x samples] signal taken at fs to samples/seconds Hz, then keeps the
// first `options.samples` samples: a longer record is cropped at the end (its first
// `seconds` are kept), a shorter one is padded with zeros at the end. Use windows() first
// to cut a long record into several windows instead.
FittedSignal fit_to_window(const float* x, std::int64_t leads, std::int64_t samples, double fs,
                           const FitOptions& options = {});

}  // namespace ecgtwin::signal
