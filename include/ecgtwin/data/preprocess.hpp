#pragma once
// Preprocessing one record for the model: the 12 standard leads, cut into windows of
// `seconds`, each resampled to `samples` points, NaN/Inf -> 0, amplitudes in mV (not
// normalised), and the heart rate from the R-peak detector when the record has none.
#include <cstdint>
#include <optional>
#include <vector>

#include "ecgtwin/data/record.hpp"

namespace ecgtwin::data {

struct PreprocessOptions {
  double seconds = 10.0;        // window length (DESIGN.md: 10 s)
  std::int64_t samples = 1024;  // samples per window (102.4 Hz)
  // Records longer than one window are cut every `stride_seconds`; 0 keeps only the first.
  double stride_seconds = 10.0;
  // Records shorter than this are refused ("too short"); shorter than `seconds`, padded.
  double min_seconds = 5.0;
  bool estimate_heart_rate = true;
};

struct PreparedWindow {
  std::vector<float> signal;  // [12 x samples]
  double start_seconds = 0;   // where the window starts in the record
  std::optional<double> heart_rate;  // the record's own, else detected on the window
};

struct PreparedRecord {
  std::vector<PreparedWindow> windows;
  std::int64_t non_finite = 0;  // NaN/Inf samples replaced by 0
};

// InputError when the record lacks a standard lead or is shorter than min_seconds.
PreparedRecord preprocess_record(const Record& record, const PreprocessOptions& options = {});

}  // namespace ecgtwin::data
