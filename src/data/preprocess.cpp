#include "ecgtwin/data/preprocess.hpp"

#include <cmath>
#include <cstdio>
#include <string>

#include "ecgtwin/signal/clean.hpp"
#include "ecgtwin/signal/heart_rate.hpp"
#include "ecgtwin/signal/resample.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::data {
namespace {

std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", seconds);
  return text;
}

}  // namespace

PreparedRecord preprocess_record(const Record& record, const PreprocessOptions& options) {
  const auto& leads = standard_leads();
  if (record.lead_names != leads) {
    std::string missing;
    for (const auto& lead : leads) {
      bool found = false;
      for (const auto& name : record.lead_names) found = found || name == lead;
      if (!found) missing += (missing.empty() ? "" : ", ") + lead;
    }
    throw InputError(record.source, missing.empty() ? "leads not in the standard order"
                                                    : "missing lead " + missing);
  }
  if (!(record.sampling_rate > 0)) throw InputError(record.source, "no sampling rate");
  if (record.seconds() < options.min_seconds)
    throw InputError(record.source, "too short: " + seconds_text(record.seconds()) +
                                        ", at least " + seconds_text(options.min_seconds) +
                                        " needed");
  const std::int64_t n_leads = record.leads();
  const std::int64_t samples = record.samples();
  const double fs = record.sampling_rate;
  const auto window = static_cast<std::int64_t>(std::llround(options.seconds * fs));
  const auto stride = options.stride_seconds > 0
                          ? static_cast<std::int64_t>(std::llround(options.stride_seconds * fs))
                          : samples + window;  // one window only
  PreparedRecord out;
  std::vector<float> signal = record.signal;
  out.non_finite = signal::replace_nonfinite(signal);
  signal::FitOptions fit{options.seconds, options.samples};
  for (const auto& w : signal::windows(samples, window, std::max<std::int64_t>(stride, 1))) {
    std::vector<float> part = signal::cut_window(signal.data(), n_leads, samples, w);
    auto fitted = signal::fit_to_window(part.data(), n_leads, w.length, fs, fit);
    PreparedWindow pw;
    pw.start_seconds = double(w.start) / fs;
    pw.heart_rate = record.heart_rate;
    if (!pw.heart_rate && options.estimate_heart_rate) {
      try {
        pw.heart_rate = signal::measure_heart_rate(fitted.signal.data(), n_leads, fitted.samples,
                                                   fitted.sampling_rate);
      } catch (const InputError&) {
        // A window the detector cannot handle keeps an unknown rate.
      }
    }
    pw.signal = std::move(fitted.signal);
    out.windows.push_back(std::move(pw));
  }
  return out;
}

}  // namespace ecgtwin::data
