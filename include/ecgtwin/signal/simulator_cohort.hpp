#pragma once
// Simulated cohorts written in the PTB-XL folder layout (Wagner et al. 2020), so that the
// PTB-XL reader takes them unchanged, plus every person's true parameters; and single
// ground-truth twins written as WFDB or CSV.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "ecgtwin/signal/simulator.hpp"
#include "ecgtwin/util/files.hpp"

namespace ecgtwin::signal {

struct CohortOptions {
  std::int64_t patients = 100;
  int records_per_patient = 2;
  // Conditions the later records are drawn from: short names or '+' combinations
  // ("afib", "lbbb+1avb"); empty = every short name.
  std::vector<std::string> conditions;
  double fs = 500;  // Hz
  double seconds = 10;
  std::uint64_t seed = 0;
  bool noise = true;
  double snr_db = 24;                 // dB
  double combine_probability = 0.25;  // a single finding gains a second one
  int threads = 2;
};

// One record of the cohort: who, which visit, under which condition (heart rate drawn).
struct CohortRecord {
  std::int64_t ecg_id = 0;   // 1-based, in patient order
  std::int64_t patient = 0;  // person index (patient_id = patient + 1)
  int visit = 0;
  SimCondition condition;
  std::uint64_t seed = 0;  // the record's own stream (RR, ectopy, noise)
  std::string path;        // records500/00000/00001_hr (no extension)
};

// The records in order. Visit 0 of every patient is sinus rhythm at the person's resting
// rate; each later visit draws one entry of `conditions` uniformly, and a single finding
// gains a second compatible one with `combine_probability`; the rate is drawn per rhythm
// (sinus: rest +-4 bpm in 60-100, bradycardia 42-58, tachycardia 105-140, sinus arrhythmia:
// rest in 55-90, AF 65-130, flutter: the person's flutter rate / 2, 3 or 4).
std::vector<CohortRecord> plan_cohort(const CohortOptions& options);
// "records500" for 500 Hz.
std::string cohort_record_folder(double fs);

struct CohortSummary {
  std::int64_t records = 0;
  std::int64_t patients = 0;
  double seconds = 0;  // wall time
};

// Writes DIR/records<fs>/NNNNN/*.{hea,dat}, ptbxl_database.csv, scp_statements.csv,
// persons/<patient_id>.json and simulation.json. Files and folders it creates are registered
// with `guard`. `on_record` (optional) is called once per record written, from any thread.
CohortSummary write_cohort(const std::filesystem::path& dir, const CohortOptions& options,
                           util::OutputGuard& guard, const std::function<void()>& on_record = {});

// Writes one rendering: OUT.csv (header of lead names, then samples x 12 in mV) when `out`
// ends in .csv, otherwise the WFDB record OUT(.hea/.dat); plus OUT.json with the person,
// condition, statements, heart rate and beats. Returns the files written.
std::vector<std::filesystem::path> write_twin(const std::filesystem::path& out,
                                              const Person& person, const SimCondition& condition,
                                              const RenderOptions& options,
                                              util::OutputGuard& guard);

}  // namespace ecgtwin::signal
