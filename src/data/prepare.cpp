// prepare_cache: index -> preprocess (parallel) -> shards + index.json + summary.json.
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "ecgtwin/data/cache.hpp"
#include "ecgtwin/data/record_io.hpp"
#include "ecgtwin/io/npy.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "ecgtwin/util/log.hpp"

namespace ecgtwin::data {
namespace {

nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json options_json(const PrepareOptions& o) {
  nlohmann::json j = {{"dataset", o.dataset},
                      {"input", fs::absolute(o.input).lexically_normal().string()},
                      {"fs_source", o.ptbxl.fs_source},
                      {"min_likelihood", o.ptbxl.min_likelihood},
                      {"seconds", o.preprocess.seconds},
                      {"samples", o.preprocess.samples},
                      {"stride_seconds", o.preprocess.stride_seconds},
                      {"min_seconds", o.preprocess.min_seconds},
                      {"estimate_heart_rate", o.preprocess.estimate_heart_rate},
                      {"validation_fraction", o.split.validation_fraction},
                      {"test_fraction", o.split.test_fraction},
                      {"seed", o.split.seed},
                      {"by_strat_fold", o.split.by_strat_fold},
                      {"both_orders", o.pairs.both_orders},
                      {"skip_same_condition", o.pairs.skip_same_condition},
                      {"shard_size", o.shard_size},
                      {"format", 1}};
  // Only where set, so that caches prepared before these options keep their fingerprint.
  if (o.sampling_rate) j["fs"] = *o.sampling_rate;
  if (o.units != PrepareOptions{}.units) j["units"] = o.units;
  return j;
}

std::string shard_name(std::int64_t shard) {
  char name[32];
  std::snprintf(name, sizeof name, "shard_%05lld.npy", static_cast<long long>(shard));
  return name;
}

struct Outcome {
  PreparedRecord prepared;
  std::string error;
};

}  // namespace

nlohmann::json PrepareSummary::to_json() const {
  nlohmann::json skipped_json = nlohmann::json::array();
  for (const auto& s : skipped) {
    skipped_json.push_back({{"id", s.id}, {"path", s.path}, {"reason", s.reason}});
  }
  return {{"records", records},
          {"rows", rows},
          {"patients", patients},
          {"patients_with_multiple_records", patients_with_multiple_records},
          {"pairs", pairs},
          {"non_finite_samples", non_finite},
          {"skipped", static_cast<std::int64_t>(skipped.size())},
          {"skipped_records", skipped_json},
          {"seconds", seconds},
          {"up_to_date", up_to_date}};
}

std::string cache_fingerprint(const PrepareOptions& options, const DatasetIndex& index) {
  std::string text = options_json(options).dump();
  for (const char* table : {"ptbxl_database.csv", "scp_statements.csv", "record_list.csv",
                            "machine_measurements.csv"}) {
    fs::path p = index.root / table;
    if (options.dataset != "manifest" && fs::exists(p)) text += util::read_file(p);
  }
  if (options.dataset == "manifest") text += util::read_file(options.input);
  std::error_code ec;
  for (const auto& e : index.entries) {
    text += e.path.string();
    for (const char* ext : {"", ".hea", ".dat", ".mat", ".npy", ".json"}) {
      fs::path p = e.path;
      p += ext;
      if (!fs::is_regular_file(p, ec)) continue;
      text += ext + std::to_string(fs::file_size(p, ec)) + ":" +
              std::to_string(fs::last_write_time(p, ec).time_since_epoch().count());
    }
  }
  return util::hex64(util::fnv1a64(text));
}

PrepareSummary prepare_cache(const PrepareOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.shard_size < 1) throw InputError("shard_size", "expected at least 1");
  DatasetIndex index = index_dataset(options.dataset, options.input, options.ptbxl);
  const std::string fingerprint = cache_fingerprint(options, index);
  const fs::path index_path = options.out / "index.json";
  PrepareSummary summary;
  if (fs::exists(index_path)) {
    auto old = nlohmann::json::parse(util::read_file(index_path), nullptr, false);
    if (!old.is_discarded() && old.value("fingerprint", "") == fingerprint &&
        fs::exists(options.out / "summary.json")) {
      auto s = nlohmann::json::parse(util::read_file(options.out / "summary.json"), nullptr, false);
      summary.up_to_date = true;
      if (!s.is_discarded()) {
        summary.records = s.value("records", 0);
        summary.rows = s.value("rows", 0);
        summary.patients = s.value("patients", 0);
        summary.patients_with_multiple_records = s.value("patients_with_multiple_records", 0);
        summary.pairs = s.value("pairs", 0);
      }
      return summary;
    }
  }

  util::OutputGuard guard;
  guard.create_directory(options.out);
  // An index that no longer matches must not survive a run that fails halfway.
  if (fs::exists(index_path)) fs::remove(index_path);

  const auto& entries = index.entries;
  std::vector<float> shard_buffer;
  std::int64_t shard = 0, shard_rows = 0;
  auto flush = [&] {
    if (shard_rows == 0) return;
    fs::path path = options.out / shard_name(shard);
    guard.add_file(path);
    io::write_npy(path, shard_buffer.data(), {shard_rows, 12, options.preprocess.samples});
    shard_buffer.clear();
    shard_rows = 0;
    ++shard;
  };

  struct Row {
    std::size_t entry;
    std::size_t window;
    double start_seconds;
    std::optional<double> hr;
    std::int64_t shard, row;
  };
  std::vector<Row> rows;
  std::vector<std::int64_t> first_row(entries.size(), -1);
  util::Progress progress("prepare", static_cast<std::int64_t>(entries.size()), "records");
  const int threads = std::max(1, options.threads);
  const std::size_t chunk = static_cast<std::size_t>(options.shard_size);
  for (std::size_t begin = 0; begin < entries.size(); begin += chunk) {
    const std::size_t end = std::min(entries.size(), begin + chunk);
    std::vector<Outcome> outcomes(end - begin);
    std::atomic<std::size_t> next{begin};
    auto work = [&] {
      for (std::size_t i; (i = next++) < end;) {
        Outcome& out = outcomes[i - begin];
        try {
          LoadOptions load;
          load.sampling_rate =
              entries[i].sampling_rate ? entries[i].sampling_rate : options.sampling_rate;
          load.units = options.units;
          Record record = load_record(entries[i].path, load);
          if (entries[i].heart_rate) record.heart_rate = entries[i].heart_rate;
          out.prepared = preprocess_record(record, options.preprocess);
        } catch (const InputError& e) {
          out.error = e.what();
        }
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    for (std::size_t i = begin; i < end; ++i) {
      Outcome& out = outcomes[i - begin];
      if (!out.error.empty()) {
        summary.skipped.push_back({entries[i].id, entries[i].path.string(), out.error});
        spdlog::warn("skipped {}: {}", entries[i].id, out.error);
        progress.advance(1);
        continue;
      }
      ++summary.records;
      summary.non_finite += out.prepared.non_finite;
      for (std::size_t w = 0; w < out.prepared.windows.size(); ++w) {
        auto& pw = out.prepared.windows[w];
        if (w == 0) first_row[i] = static_cast<std::int64_t>(rows.size());
        rows.push_back({i, w, pw.start_seconds, pw.heart_rate, shard, shard_rows});
        shard_buffer.insert(shard_buffer.end(), pw.signal.begin(), pw.signal.end());
        if (++shard_rows == options.shard_size) flush();
      }
      progress.advance(1);
    }
    progress.advance(0);
  }
  flush();
  progress.finish();
  if (summary.records == 0) {
    std::string first = summary.skipped.empty() ? "" : " (" + summary.skipped.front().reason + ")";
    throw InputError(options.input.string(), "none of the " + std::to_string(entries.size()) +
                                                 " records could be read" + first);
  }
  if (summary.non_finite > 0)
    spdlog::warn("{} NaN/Inf samples replaced by 0", summary.non_finite);

  // Splits, pairs and counts over the records that were read.
  std::vector<DatasetEntry> kept;
  std::vector<std::size_t> kept_entry;
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (first_row[i] >= 0) {
      kept.push_back(entries[i]);
      kept_entry.push_back(i);
    }
  std::vector<Split> kept_split = assign_splits(kept, options.split);
  std::vector<Split> split_of(entries.size(), Split::kTrain);
  for (std::size_t k = 0; k < kept.size(); ++k) split_of[kept_entry[k]] = kept_split[k];
  DatasetIndex kept_index{index.kind, index.root, kept};
  summary.patients = static_cast<std::int64_t>(kept_index.patients());
  summary.patients_with_multiple_records =
      static_cast<std::int64_t>(kept_index.patients_with_multiple_records());

  nlohmann::json pairs_json = {{"train", nlohmann::json::array()},
                               {"val", nlohmann::json::array()},
                               {"test", nlohmann::json::array()}};
  for (const auto& p : make_pairs(kept, options.pairs)) {
    const std::size_t ref = kept_entry[p.reference], tgt = kept_entry[p.target];
    pairs_json[to_string(split_of[ref])].push_back({first_row[ref], first_row[tgt]});
    ++summary.pairs;
  }

  std::map<std::string, std::int64_t> vocabulary;
  nlohmann::json records = nlohmann::json::array();
  for (const Row& r : rows) {
    const DatasetEntry& e = entries[r.entry];
    if (r.window == 0)
      for (const auto& s : e.statements) ++vocabulary[s];
    records.push_back({{"id", r.window == 0 ? e.id : e.id + "#" + std::to_string(r.window)},
                       {"record_id", e.id},
                       {"patient_id", e.patient_id},
                       {"age", optional_json(e.age)},
                       {"sex", to_string(e.sex)},
                       {"statements", e.statements},
                       {"hr", optional_json(r.hr)},
                       {"split", to_string(split_of[r.entry])},
                       {"shard", r.shard},
                       {"row", r.row},
                       {"source", e.path.string()},
                       {"start_seconds", r.start_seconds}});
  }
  summary.rows = static_cast<std::int64_t>(rows.size());
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  nlohmann::json index_json = {{"format", "ecgtwin-cache"},
                               {"version", 1},
                               {"fingerprint", fingerprint},
                               {"options", options_json(options)},
                               {"leads", standard_leads()},
                               {"samples", options.preprocess.samples},
                               {"sampling_rate",
                                double(options.preprocess.samples) / options.preprocess.seconds},
                               {"shards", shard},
                               {"vocabulary", vocabulary},
                               {"records", records},
                               {"pairs", pairs_json}};
  guard.add_file(options.out / "summary.json");
  util::write_file_atomic(options.out / "summary.json", summary.to_json().dump(2) + "\n");
  guard.add_file(index_path);
  util::write_file_atomic(index_path, index_json.dump(1) + "\n");
  guard.keep();
  // Shards of an earlier, larger cache in the same folder.
  for (std::int64_t stale = shard; fs::exists(options.out / shard_name(stale)); ++stale)
    fs::remove(options.out / shard_name(stale));
  return summary;
}

}  // namespace ecgtwin::data
