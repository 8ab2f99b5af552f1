#pragma once
// The Record: one ECG with its metadata, and the Condition a twin is generated under.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ecgtwin::data {

// The 12 standard leads in the order every tensor uses (DESIGN.md).
inline const std::vector<std::string>& standard_leads() {
  static const std::vector<std::string> kLeads = {"I",   "II",  "III", "aVR", "aVL", "aVF",
                                                  "V1",  "V2",  "V3",  "V4",  "V5",  "V6"};
  return kLeads;
}

enum class Sex { kUnknown, kFemale, kMale };
std::string to_string(Sex sex);
Sex parse_sex(const std::string& text);  // "F"/"female"/"M"/"male"/"0"/"1" (PTB-XL: 0 male, 1 female)

struct Beat {
  std::int64_t sample = 0;
  std::string symbol;  // annotation mnemonic ("N", "V", ...)
};

struct Record {
  std::string id;                  // record name
  std::string source;              // the file it was read from
  double sampling_rate = 0;        // Hz
  std::vector<std::string> lead_names;
  std::vector<std::string> units;  // per lead
  std::vector<float> signal;       // [leads x samples], row-major by lead

  // Metadata (empty / absent when unknown).
  std::string patient_id;
  std::optional<double> age;
  Sex sex = Sex::kUnknown;
  std::vector<std::string> statements;  // report statements (English)
  std::optional<double> heart_rate;     // bpm
  std::vector<Beat> beats;              // from annotation files
  std::vector<std::string> rhythm_changes;
  std::vector<std::string> comments;

  std::int64_t leads() const { return static_cast<std::int64_t>(lead_names.size()); }
  std::int64_t samples() const {
    return lead_names.empty() ? 0 : static_cast<std::int64_t>(signal.size()) / leads();
  }
  double seconds() const { return sampling_rate > 0 ? double(samples()) / sampling_rate : 0.0; }
  float* lead(std::int64_t index) { return signal.data() + index * samples(); }
  const float* lead(std::int64_t index) const { return signal.data() + index * samples(); }
};

// The target of a twin: what the denoiser is conditioned on.
struct Condition {
  std::vector<std::string> statements;
  double heart_rate = 0;  // bpm
  std::optional<double> age;
  Sex sex = Sex::kUnknown;
};

}  // namespace ecgtwin::data
