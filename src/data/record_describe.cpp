// The summary of a loaded record that `ecgtwin inspect` prints.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ecgtwin/data/record_io.hpp"
#include "ecgtwin/signal/heart_rate.hpp"
#include "ecgtwin/signal/limb_leads.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::data {

nlohmann::json describe_record(const Record& record, const LoadInfo& info) {
  nlohmann::json j;
  j["file"] = record.source;
  j["id"] = record.id;
  j["format"] = to_string(info.format);
  j["leads"] = record.lead_names;
  j["missing_leads"] = info.missing_leads;
  j["dropped_channels"] = info.dropped;
  j["file_units"] = info.units;
  j["sampling_rate"] = record.sampling_rate;
  j["samples"] = record.samples();
  j["seconds"] = record.seconds();
  j["checksums"] = info.checksums;
  j["non_finite_samples"] = info.non_finite;
  if (!info.warnings.empty()) j["warnings"] = info.warnings;
  nlohmann::json meta = nlohmann::json::object();
  if (!record.patient_id.empty()) meta["patient_id"] = record.patient_id;
  if (record.age) meta["age"] = *record.age;
  if (record.sex != Sex::kUnknown) meta["sex"] = to_string(record.sex);
  if (record.heart_rate) meta["hr"] = *record.heart_rate;
  if (!record.statements.empty()) meta["statements"] = record.statements;
  if (!record.comments.empty()) meta["comments"] = record.comments;
  j["metadata"] = meta;
  nlohmann::json ranges = nlohmann::json::array();
  const std::int64_t n = record.samples();
  for (std::int64_t l = 0; l < record.leads(); ++l) {
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (std::int64_t i = 0; i < n; ++i) {
      float v = record.lead(l)[i];
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
    bool any = lo <= hi;
    // To the microvolt: float samples printed as doubles would show float noise digits.
    auto microvolts = [&](float v) {
      return any ? nlohmann::json(std::round(double(v) * 1e6) / 1e6) : nlohmann::json(nullptr);
    };
    ranges.push_back({{"lead", record.lead_names[l]},
                      {"min_mv", microvolts(lo)},
                      {"max_mv", microvolts(hi)}});
  }
  j["amplitude"] = ranges;
  // Measured on the signal (multi-lead R peaks), whatever the metadata says.
  j["heart_rate_bpm"] = nullptr;
  if (record.leads() > 0 && n > 0) {
    try {
      if (auto rate = signal::measure_heart_rate(record.signal.data(), record.leads(), n,
                                                 record.sampling_rate))
        j["heart_rate_bpm"] = std::round(*rate * 10) / 10;
    } catch (const InputError&) {
      // A rate too low for the QRS band: no measured rate.
    }
  }
  // What the limb leads break of Einthoven's and Goldberger's relations: 0 up to the rounding
  // for an ECG whose device derives them, more for one whose leads were generated or edited
  // each on its own. Only where the six limb leads stand first and every sample is finite.
  j["limb_lead_residual_mv"] = nullptr;
  const auto& standard = standard_leads();
  if (record.leads() >= 6 && n > 0 && info.non_finite == 0 &&
      std::equal(standard.begin(), standard.begin() + 6, record.lead_names.begin()))
    j["limb_lead_residual_mv"] =
        std::round(signal::limb_lead_residual(record.signal.data(), record.leads(), n) * 1e6) / 1e6;
  return j;
}

}  // namespace ecgtwin::data
