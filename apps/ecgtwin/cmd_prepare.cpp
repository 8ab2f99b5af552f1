// ecgtwin prepare: a dataset (PTB-XL, MIMIC-IV-ECG, manifest) -> the preprocessed cache.
#include <spdlog/spdlog.h>

#include <map>
#include <memory>
#include <string>

#include "command.hpp"
#include "ecgtwin/config/tree.hpp"
#include "ecgtwin/data/cache.hpp"
#include "ecgtwin/util/error.hpp"
#include "record_flags.hpp"

namespace ecgtwin::app {
namespace {

struct PrepareCommand {
  ConfigOptions config;
  CLI::App* app = nullptr;
  std::string dataset;
  std::string input;
  std::string out;
  int fs_source = 500;
  std::int64_t length = 1024;
  double seconds = 10;
  std::int64_t seed = 0;
  std::int64_t threads = 2;
  RecordFormatFlags record;
};

data::PrepareOptions resolve(const PrepareCommand& c) {
  std::vector<std::pair<std::string, config::Json>> flags;
  auto given = [&](const char* flag) { return c.app->count(flag) > 0; };
  if (given("--fs-source")) flags.push_back({"prepare.fs_source", c.fs_source});
  if (given("--length")) flags.push_back({"prepare.length", c.length});
  if (given("--seconds")) flags.push_back({"prepare.seconds", c.seconds});
  if (given("--seed")) flags.push_back({"prepare.seed", c.seed});
  if (given("--threads")) flags.push_back({"prepare.threads", c.threads});
  if (given("--fs")) flags.push_back({"prepare.fs", c.record.fs});
  if (given("--units")) flags.push_back({"prepare.units", c.record.units});
  config::Json tree = resolve_config(c.config, flags);
  config::Section root(tree, "");
  config::Section s = root.child("prepare");
  data::PrepareOptions o;
  o.dataset = c.dataset;
  o.input = c.input;
  o.out = c.out;
  o.ptbxl.fs_source = static_cast<int>(s.get("fs_source", std::int64_t{500}));
  if (o.ptbxl.fs_source != 100 && o.ptbxl.fs_source != 500)
    throw InputError(s.key_path("fs_source"), "expected 100 or 500");
  o.ptbxl.min_likelihood = s.get("min_likelihood", o.ptbxl.min_likelihood);
  o.preprocess.samples = s.get_in("length", o.preprocess.samples, std::int64_t{16},
                                  std::int64_t{1} << 20);
  o.preprocess.seconds = s.get_in("seconds", o.preprocess.seconds, 0.1, 3600.0);
  o.preprocess.stride_seconds = s.get_in("stride_seconds", o.preprocess.seconds, 0.0, 3600.0);
  o.preprocess.min_seconds =
      s.get_in("min_seconds", o.preprocess.seconds / 2, 0.0, o.preprocess.seconds);
  o.preprocess.estimate_heart_rate = s.get("estimate_hr", o.preprocess.estimate_heart_rate);
  o.split.seed = static_cast<std::uint64_t>(s.get("seed", std::int64_t{0}));
  o.split.validation_fraction = s.get_in("val_fraction", o.split.validation_fraction, 0.0, 1.0);
  o.split.test_fraction = s.get_in("test_fraction", o.split.test_fraction, 0.0, 1.0);
  o.split.by_strat_fold = s.get("split_by_strat_fold", o.split.by_strat_fold);
  o.pairs.both_orders = s.get("pairs_both_orders", o.pairs.both_orders);
  o.pairs.skip_same_condition = s.get("pairs_skip_same_condition", o.pairs.skip_same_condition);
  o.shard_size = s.get_in("shard_size", o.shard_size, std::int64_t{1}, std::int64_t{1} << 24);
  o.threads =
      static_cast<int>(s.get_in("threads", std::int64_t{2}, std::int64_t{1}, std::int64_t{256}));
  // The rate of NPY/CSV records that have no manifest fs value and no sidecar JSON.
  if (s.has("fs")) o.sampling_rate = s.get_in("fs", 500.0, 1e-3, 1e6);
  // Any spelling the loader reads, kept in its standard one (the cache's fingerprint).
  const std::string units = s.get("units", o.units);
  const auto standard = data::standard_units(units);
  if (!standard)
    throw InputError("config key " + s.key_path("units"),
                     "expected mV, uV or V, got \"" + units + "\"");
  o.units = *standard;
  s.finish();
  root.finish();
  return o;
}

int run(const PrepareCommand& c) {
  data::PrepareOptions options = resolve(c);
  data::PrepareSummary summary = data::prepare_cache(options);
  if (summary.up_to_date) {
    spdlog::info("{} is up to date ({} records of {} patients); nothing rewritten", c.out,
                 summary.records, summary.patients);
    return kExitOk;
  }
  std::map<std::string, int> reasons;
  for (const auto& s : summary.skipped) {
    std::string reason = s.reason;
    if (auto colon = reason.rfind(": "); colon != std::string::npos)
      reason = reason.substr(colon + 2);
    ++reasons[reason];
  }
  spdlog::info("read {} records ({} windows) of {} patients, {} with several records, {} pairs",
               summary.records, summary.rows, summary.patients,
               summary.patients_with_multiple_records, summary.pairs);
  spdlog::info("skipped {} records", summary.skipped.size());
  for (const auto& [reason, count] : reasons) spdlog::info("  {} x {}", count, reason);
  spdlog::info("wrote {} in {:.2f} s", c.out, summary.seconds);
  return kExitOk;
}

Registrar registrar(
    "prepare", "preprocess a dataset (PTB-XL, MIMIC-IV-ECG or a manifest) into a cache",
    [](CLI::App& app) {
      auto c = std::make_shared<PrepareCommand>();
      c->app = &app;
      add_config_options(app, c->config);
      app.add_option("--dataset", c->dataset, "dataset layout: ptbxl, mimic or manifest (required)")
          ->required()
          ->check(CLI::IsMember({"ptbxl", "mimic", "manifest"}));
      app.add_option("input", c->input, "dataset folder, or the manifest CSV (required)")
          ->required();
      app.add_option("--out", c->out, "cache folder (required)")->required();
      app.add_option("--fs-source", c->fs_source,
                     "PTB-XL records to read: 100 or 500 Hz (default: 500; key prepare.fs_source)");
      app.add_option("--length", c->length,
                     "samples per window (default: 1024; key prepare.length)");
      app.add_option("--seconds", c->seconds,
                     "window length in s (default: 10; key prepare.seconds)");
      app.add_option("--seed", c->seed, "seed of the patient split (default: 0; key prepare.seed)");
      app.add_option("--threads", c->threads,
                     "records read and preprocessed in parallel (default: 2; key prepare.threads)");
      app.add_option("--fs", c->record.fs,
                     "sampling rate of NPY and CSV records, Hz, where the manifest's fs column "
                     "has none (default: the file's sidecar JSON or CSV time column; key "
                     "prepare.fs)")
          ->check(CLI::PositiveNumber);
      app.add_option("--units", c->record.units,
                     "units of the samples of NPY and CSV records: mV, uV or V (default: mV; "
                     "key prepare.units)")
          ->check(units_validator());
      return [c]() { return run(*c); };
    });

}  // namespace
}  // namespace ecgtwin::app
