#pragma once
// Dataset indexes: the records of a PTB-XL folder, a MIMIC-IV-ECG folder or a manifest CSV,
// with the metadata that pairs, splits and conditions need. Nothing is loaded here.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ecgtwin/data/record.hpp"

namespace ecgtwin::data {

namespace fs = std::filesystem;

struct DatasetEntry {
  fs::path path;          // record path (WFDB record name without extension, or a file)
  std::string id;         // record id (PTB-XL ecg_id, MIMIC study_id, manifest file stem)
  std::string patient_id;
  std::optional<double> age;
  Sex sex = Sex::kUnknown;
  std::vector<std::string> statements;  // English report statements
  std::optional<double> heart_rate;     // bpm, when the index knows it
  std::optional<double> sampling_rate;  // Hz, from a manifest's fs column (for NPY/CSV files)
  std::string recording_date;           // sortable text ("1984-11-09 09:17:34"); may be empty
  int strat_fold = 0;                   // PTB-XL stratified fold 1..10; 0 when unknown
};

struct DatasetIndex {
  std::string kind;  // "ptbxl", "mimic" or "manifest"
  fs::path root;
  std::vector<DatasetEntry> entries;
  std::size_t patients() const;
  std::size_t patients_with_multiple_records() const;
};

struct PtbxlOptions {
  int fs_source = 500;  // 100 -> filename_lr, 500 -> filename_hr
  // A diagnostic SCP statement is kept when its likelihood is above this. PTB-XL grades only
  // diagnostic statements; form and rhythm statements always carry 0 (e.g. 'SR' sinus
  // rhythm) and are kept whatever their likelihood.
  double min_likelihood = 0.0;
};

// Parses PTB-XL's scp_codes, a Python dict literal ("{'NORM': 100.0, 'SR': 0.0}"), keeping
// the order of the keys. InputError naming `source` when it is not such a dict.
std::vector<std::pair<std::string, double>> parse_scp_codes(const std::string& text,
                                                            const std::string& source = "");

// "15709.0" -> "15709"; other text unchanged (trimmed).
std::string normalise_patient_id(const std::string& text);

// PTB-XL folder: ptbxl_database.csv + scp_statements.csv. The statements of a record are the
// English descriptions (scp_statements.csv 'description') of its scp_codes, in the order of
// the dict. The rule "likelihood > 0" applies to diagnostic statements only: PTB-XL
// grades those (0-100) and gives every form and rhythm statement 0.0, so 'SR' (sinus rhythm)
// or 'LVOLT' with 0.0 are kept, while a diagnostic code such as {'NST_': 0.0} is dropped
// (PtbxlOptions::min_likelihood). Sex 0 is male, 1 female; an age of 300 (PTB-XL's code for
// patients over 89) becomes 90; patient ids "15709.0" become "15709". A 'statements' column
// ('|'-separated) replaces the SCP descriptions and a 'heart_rate' column gives the rate, when
// present (the layout `ecgtwin simulate` writes).
DatasetIndex index_ptbxl(const fs::path& root, const PtbxlOptions& options = {});

// MIMIC-IV-ECG folder: record_list.csv (subject_id, study_id, path, optional ecg_time) and,
// when present, machine_measurements.csv (study_id, report_0..report_17, rr_interval in ms).
// Patient = subject_id, record id = study_id, statements = the non-empty report_k in order,
// heart rate = 60000 / rr_interval (unknown outside 200-3000 ms).
DatasetIndex index_mimic(const fs::path& root);

// Manifest CSV: path (relative to the manifest's folder), patient_id, report (statements
// separated by '|'), and optional hr, age, sex, recording_date and fs (the sampling rate of
// an NPY or CSV file in Hz; empty: the file's sidecar JSON or prepare's --fs). The record id
// is the path without its extension. InputError naming the row and column for an fs that is
// not a positive number.
DatasetIndex index_manifest(const fs::path& manifest);

// Dispatches on kind ("ptbxl", "mimic", "manifest").
DatasetIndex index_dataset(const std::string& kind, const fs::path& path,
                           const PtbxlOptions& ptbxl = {});

// Splits "a|b | c" into trimmed, non-empty statements.
std::vector<std::string> split_statements(const std::string& text);

}  // namespace ecgtwin::data
