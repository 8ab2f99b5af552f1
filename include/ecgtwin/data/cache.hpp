#pragma once
// The preprocessed cache that training reads: tensor shards DIR/shard_NNNNN.npy (float32
// [N, 12, L]), DIR/index.json (per row: id, record_id, patient_id, age, sex, statements, hr,
// split, shard, row, source, start_seconds; the statement vocabulary with counts; the pairs
// per split; the fingerprint of inputs and options) and DIR/summary.json.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ecgtwin/data/dataset.hpp"
#include "ecgtwin/data/pairs.hpp"
#include "ecgtwin/data/preprocess.hpp"

namespace ecgtwin::data {

namespace fs = std::filesystem;

struct PrepareOptions {
  std::string dataset = "ptbxl";  // ptbxl, mimic or manifest
  fs::path input;                 // dataset folder or manifest file
  fs::path out;
  PtbxlOptions ptbxl;
  PreprocessOptions preprocess;
  SplitOptions split;
  PairOptions pairs;
  std::int64_t shard_size = 4096;  // rows per shard
  int threads = 2;
  // NPY and CSV records, which store no sampling rate: the rate of those without a manifest
  // fs value or a sidecar JSON (Hz; none: such a record is skipped as unreadable), and the
  // units of their samples (mV, uV or V).
  std::optional<double> sampling_rate;
  std::string units = "mV";
};

struct SkippedRecord {
  std::string id;
  std::string path;
  std::string reason;
};

struct PrepareSummary {
  bool up_to_date = false;          // the cache was already there for these inputs
  std::int64_t records = 0;         // records read
  std::int64_t rows = 0;            // windows written
  std::int64_t patients = 0;
  std::int64_t patients_with_multiple_records = 0;
  std::int64_t pairs = 0;
  std::int64_t non_finite = 0;      // NaN/Inf samples replaced by 0
  std::vector<SkippedRecord> skipped;
  double seconds = 0;
  nlohmann::json to_json() const;
};

// Indexes, preprocesses and writes the cache (in parallel over options.threads). When
// out/index.json holds the same fingerprint, nothing is rewritten. A failure removes what
// this run wrote.
PrepareSummary prepare_cache(const PrepareOptions& options);

// The fingerprint of the inputs (index tables, record file sizes and times) and options.
std::string cache_fingerprint(const PrepareOptions& options, const DatasetIndex& index);

struct CacheEntry {
  std::string id;         // record id, with "#k" for window k > 0 of a long record
  std::string record_id;
  std::string patient_id;
  std::optional<double> age;
  Sex sex = Sex::kUnknown;
  std::vector<std::string> statements;
  std::optional<double> heart_rate;
  Split split = Split::kTrain;
  std::int64_t shard = 0;
  std::int64_t row = 0;
  std::string source;
  double start_seconds = 0;
};

class Cache {
 public:
  // InputError naming the file when DIR/index.json is missing or malformed.
  static Cache open(const fs::path& dir);

  const std::vector<CacheEntry>& entries() const { return entries_; }
  std::int64_t leads() const { return 12; }
  std::int64_t samples() const { return samples_; }
  double sampling_rate() const { return sampling_rate_; }
  const std::map<std::string, std::int64_t>& vocabulary() const { return vocabulary_; }
  // Entry-index pairs (reference, target) of one split.
  const std::vector<RecordPair>& pairs(Split split) const;
  // [12 x samples] of entry i; its shard is read on first use (thread-safe).
  const float* signal(std::size_t i) const;

 private:
  fs::path dir_;
  std::vector<CacheEntry> entries_;
  std::int64_t samples_ = 0;
  double sampling_rate_ = 0;
  std::map<std::string, std::int64_t> vocabulary_;
  std::map<Split, std::vector<RecordPair>> pairs_;
  struct Shards {
    std::mutex mutex;
    std::vector<std::unique_ptr<std::vector<float>>> data;
  };
  std::shared_ptr<Shards> shards_;
};

}  // namespace ecgtwin::data
