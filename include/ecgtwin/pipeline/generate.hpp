#pragma once
// Batch generation of digital twins: every reference record under every target condition,
// N twins each, written as WFDB and NPY with a plot over the reference and a JSON summary.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ecgtwin/data/preprocess.hpp"
#include "ecgtwin/data/record.hpp"
#include "ecgtwin/data/record_io.hpp"
#include "ecgtwin/diffusion/sampler.hpp"
#include "ecgtwin/pipeline/twin_model.hpp"

namespace ecgtwin::pipeline {

namespace fs = std::filesystem;

// A target condition; age and sex default to the reference's own.
struct TwinTarget {
  std::string name;  // folder name of its twins
  std::vector<std::string> statements;
  double heart_rate = 0;  // bpm, > 0
  std::optional<double> age;
  data::Sex sex = data::Sex::kUnknown;  // unknown: the reference's
};

// Parses "sinus rhythm|ventricular premature complex" into a target (name from the
// statements). InputError for an empty statement list or a rate outside 20..300 bpm.
TwinTarget make_target(const std::string& statements, double heart_rate);
// A YAML/JSON file: a list of {name?, statements: [..] or "a|b", hr, age?, sex?}.
std::vector<TwinTarget> read_targets(const fs::path& file);

// The reference records a --reference argument names: one record file, every record in a
// folder (WFDB headers, NPY and CSV files, recursively), or a manifest CSV (a 'path' column).
std::vector<fs::path> resolve_references(const fs::path& reference);

// The first model window of a reference record (the model's samples over its window), and the
// record's heart rate set from that window where the record gives none. A sample that is NaN
// or infinite is an InputError naming the record: a twin would carry the damage unseen.
data::PreparedWindow reference_window(data::Record& record, const TwinModel& model);

struct GenerateOptions {
  fs::path model;
  // Empty: ECGs of no particular person under each target (what DiffuSETS and SSSD-ECG
  // generate), for a model trained with the base vector dropped (TwinModel::
  // samples_without_person); age and sex are then the target's own or unknown.
  std::vector<fs::path> references;
  data::LoadOptions load;  // how references are read: the rate and units of NPY/CSV files
  std::vector<TwinTarget> targets;
  std::int64_t samples = 1;  // twins per reference and target
  diffusion::SamplerOptions sampler;
  PersonaliseOptions personalise;  // of the denoiser on each reference (0 steps: none)
  std::uint64_t seed = 0;
  std::string device = "auto";
  std::int64_t batch = 64;  // twins sampled together
  bool plots = true;
  fs::path out;
};

struct GenerateSummary {
  std::int64_t twins = 0;
  std::vector<std::pair<std::string, std::string>> failures;  // reference, reason
  nlohmann::json json;
};

// Writes OUT/<reference id>/<target name>/twin_<k>.{hea,dat,npy,json,png} and OUT/summary.json.
// A reference that cannot be read is reported in the summary and skipped. Without references,
// OUT/population/<target name>/ecg_<k>.* and the summary's "population" entry instead;
// InputError naming --reference for a model that never sampled without a person, and naming
// --personalise-steps when personalisation is asked for.
GenerateSummary generate_twins(const GenerateOptions& options);

}  // namespace ecgtwin::pipeline
