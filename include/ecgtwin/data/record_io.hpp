#pragma once
// Reading any ECG file into a Record (WFDB, NPY, CSV) and writing a Record back (WFDB, NPY).
//
// Every loaded Record holds its leads in the standard order (I, II, III, aVR, aVL, aVF,
// V1..V6) in mV. Lead names are normalised ("AVR", "avr" -> aVR; "MLII", "DII" -> II; "-aVR"
// is aVR inverted); channels that are not ECG leads are dropped. NaN and Inf samples stay in
// the Record as NaN: cleaning them is the signal layer's work.
//
// Metadata travels in WFDB header comments as "key: value" lines (patient_id, age, sex, hr,
// statements separated by " | "), and for NPY/CSV in a sidecar NAME.json (an object with at
// least "sampling_rate"; optional "leads", "units", "id", "patient_id", "age", "sex", "hr",
// "statements").
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ecgtwin/data/record.hpp"
#include "ecgtwin/io/plot.hpp"

namespace ecgtwin::data {

namespace fs = std::filesystem;

enum class RecordFormat { kWfdb, kNpy, kCsv };
std::string to_string(RecordFormat format);
// From the extension: .hea, .dat, .mat or none -> WFDB; .npy -> NPY; .csv -> CSV.
RecordFormat record_format_of(const fs::path& path);

struct LoadOptions {
  // Samples per second of NPY/CSV input, which store none. Overrides the sidecar's value;
  // absent with no sidecar and no CSV time column, loading an NPY or CSV is an InputError.
  std::optional<double> sampling_rate;
  // Channel names of NPY input, or of CSV input without a header row (default: the 12
  // standard leads in order).
  std::vector<std::string> lead_names;
  std::string units = "mV";            // NPY/CSV sample units: mV, uV or V
  bool allow_missing_leads = false;    // true: keep the leads present, in standard order
  bool verify_checksums = true;        // WFDB: a checksum mismatch is an InputError
};

// What load_record found out about the file beyond the Record itself.
struct LoadInfo {
  RecordFormat format = RecordFormat::kWfdb;
  std::vector<std::string> channels;       // the file's channel names, in file order
  std::vector<std::string> units;          // the file's units, per channel
  std::vector<std::string> dropped;        // channels that are not ECG leads (or duplicates)
  std::vector<std::string> missing_leads;  // standard leads the file lacks
  std::string checksums = "not stored";    // "verified", "not checked" or "not stored"
  std::int64_t non_finite = 0;             // NaN or Inf samples (now NaN) over all leads
  std::vector<std::string> warnings;
};

// Loads a WFDB record (path to .hea, .dat/.mat or the record name), an NPY array ([leads x
// samples] or [samples x leads]) or a CSV file (one column per lead, header row of lead
// names or none). InputError naming the file for anything unreadable or a missing lead.
Record load_record(const fs::path& path, const LoadOptions& options = {}, LoadInfo* info = nullptr);

// Writes the record as WFDB (format 16, gain 1000 adu/mV; lowered to fit when an amplitude
// exceeds +-32.767 mV) or as NPY (float32 [leads x samples] plus the sidecar NAME.json).
// `dir_or_path` is a file path (NAME.hea / NAME.npy) or a folder, where the file is named
// after record.id. Returns the path of the header or the NPY file.
fs::path save_record(const Record& record, const fs::path& dir_or_path, RecordFormat format);

// The standard name of a lead ("avr" -> "aVR", "MLII" -> "II"), or nullopt for a channel that
// is not one of the 12 standard leads. `inverted` is set for a leading '-' ("-aVR").
std::optional<std::string> standard_lead_name(const std::string& name, bool* inverted = nullptr);
// Millivolts per unit ("mV" -> 1, "uV" -> 0.001, "V" -> 1000); nullopt when unknown.
std::optional<double> millivolts_per_unit(const std::string& units);
// The standard spelling ("mV", "uV" or "V") of any units millivolts_per_unit reads ("mv",
// "\xC2\xB5V", "microvolt", "volt", ...); nullopt when unknown.
std::optional<std::string> standard_units(const std::string& units);

// Metadata as WFDB header comment lines and back (unknown lines go to record.comments).
std::vector<std::string> metadata_comments(const Record& record);
void apply_metadata_comments(Record& record, const std::vector<std::string>& comments,
                             const std::string& source);

// What `ecgtwin inspect` reports about a loaded record, as JSON: file, id, format, leads,
// missing_leads, dropped_channels, file_units, sampling_rate (Hz), samples, seconds,
// checksums, non_finite_samples, metadata (patient_id, age, sex, hr, statements; only those
// known), per lead {"lead", "min_mv", "max_mv"} over its finite samples (null if none), and
// heart_rate_bpm measured from the multi-lead R peaks (null with fewer than two).
nlohmann::json describe_record(const Record& record, const LoadInfo& info);

// The plot input of a record: its leads, rate and a title line (id, patient, sex and age,
// heart rate, statements).
io::PlotInput plot_input(const Record& record, const std::string& label = "");

}  // namespace ecgtwin::data
