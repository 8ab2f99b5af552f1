// ecgtwin simulate: a simulated cohort in the PTB-XL layout, or one person's ground-truth twin.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "command.hpp"
#include "ecgtwin/config/tree.hpp"
#include "ecgtwin/signal/simulator.hpp"
#include "ecgtwin/signal/simulator_cohort.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "ecgtwin/util/log.hpp"

namespace ecgtwin::app {
namespace {

namespace fs = std::filesystem;

struct SimulateOptions {
  ConfigOptions config;
  CLI::App* app = nullptr;
  signal::CohortOptions cohort;
  std::string conditions = "all";
  std::string out;
  double snr_db = 24;
  bool clean = false;
  std::string twin_of;
  std::string condition = "sinus";
  double hr = 0;
  bool noise = false;
};

signal::Person load_person(const SimulateOptions& o) {
  if (fs::exists(o.twin_of)) {
    auto text = util::read_file(o.twin_of);
    nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded()) throw InputError(o.twin_of, "not valid JSON");
    return signal::person_from_json(json, o.twin_of);
  }
  std::size_t used = 0;
  long long id = 0;
  try {
    id = std::stoll(o.twin_of, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != o.twin_of.size() || id < 1)
    throw InputError("--twin-of " + o.twin_of,
                     "expected a person JSON file (DIR/persons/ID.json) or a patient id >= 1");
  return signal::draw_person(o.cohort.seed, id - 1);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i)
    if (i == text.size() || text[i] == ',') {
      if (i > start) items.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  return items;
}

int run_twin(const SimulateOptions& o) {
  signal::Person person = load_person(o);
  signal::SimCondition condition = signal::parse_condition(o.condition);
  condition.heart_rate = o.hr;
  signal::RenderOptions render{o.cohort.fs, o.cohort.seconds, o.noise, o.snr_db, o.cohort.seed};
  util::OutputGuard guard;
  auto files = signal::write_twin(o.out, person, condition, render, guard);
  guard.keep();
  for (const auto& f : files) spdlog::info("wrote {}", f.string());
  return kExitOk;
}

// Reads the cohort options from --config / --set (section "simulate") with the flags the
// user gave on top; unknown keys are refused.
void resolve_cohort(SimulateOptions& o) {
  std::vector<std::pair<std::string, config::Json>> flags;
  auto given = [&](const char* flag) { return o.app->count(flag) > 0; };
  if (given("--patients")) flags.push_back({"simulate.patients", o.cohort.patients});
  if (given("--records-per-patient"))
    flags.push_back({"simulate.records_per_patient", o.cohort.records_per_patient});
  if (given("--conditions")) flags.push_back({"simulate.conditions", o.conditions});
  if (given("--fs")) flags.push_back({"simulate.fs", o.cohort.fs});
  if (given("--seconds")) flags.push_back({"simulate.seconds", o.cohort.seconds});
  if (given("--seed")) flags.push_back({"simulate.seed", static_cast<std::int64_t>(o.cohort.seed)});
  if (given("--snr")) flags.push_back({"simulate.snr_db", o.snr_db});
  if (given("--clean")) flags.push_back({"simulate.noise", false});
  config::Json tree = resolve_config(o.config, flags);
  config::Section root(tree, "");
  config::Section s = root.child("simulate");
  o.cohort.patients =
      s.get_in("patients", o.cohort.patients, std::int64_t{1}, std::int64_t{10000000});
  o.cohort.records_per_patient = static_cast<int>(
      s.get_in("records_per_patient", std::int64_t{o.cohort.records_per_patient}, 1, 1000));
  o.conditions = s.get("conditions", o.conditions);
  o.cohort.fs = s.get_in("fs", o.cohort.fs, 50.0, 10000.0);
  o.cohort.seconds = s.get_in("seconds", o.cohort.seconds, 0.5, 3600.0);
  o.cohort.seed =
      static_cast<std::uint64_t>(s.get("seed", static_cast<std::int64_t>(o.cohort.seed)));
  o.snr_db = s.get("snr_db", o.snr_db);
  o.clean = !s.get("noise", !o.clean);
  o.cohort.combine_probability =
      s.get_in("combine_probability", o.cohort.combine_probability, 0.0, 1.0);
  o.cohort.threads = static_cast<int>(s.get_in("threads", std::int64_t{o.cohort.threads}, 1, 256));
  s.finish();
  root.finish();
}

int run_cohort(SimulateOptions& o) {
  resolve_cohort(o);
  fs::path dir = o.out;
  if (fs::exists(dir) && (!fs::is_directory(dir) || !fs::is_empty(dir)))
    throw InputError("--out " + o.out, "exists and is not an empty folder");
  if (o.conditions != "all") o.cohort.conditions = split_list(o.conditions);
  o.cohort.snr_db = o.snr_db;
  o.cohort.noise = !o.clean;
  auto total = o.cohort.patients * o.cohort.records_per_patient;
  util::OutputGuard guard;
  util::Progress progress("simulate", total, "rec");
  auto summary = signal::write_cohort(dir, o.cohort, guard, [&] { progress.advance(); });
  progress.finish();
  guard.keep();
  spdlog::info("wrote {} records of {} patients to {} in {:.1f} s ({:.0f} records/s)",
               summary.records, summary.patients, dir.string(), summary.seconds,
               summary.records / std::max(summary.seconds, 1e-9));
  return kExitOk;
}

Registrar registrar(
    "simulate", "simulate ECGs: a PTB-XL-layout cohort, or one person's ground-truth twin",
    [](CLI::App& app) {
      auto o = std::make_shared<SimulateOptions>();
      o->app = &app;
      add_config_options(app, o->config);
      app.add_option("--patients", o->cohort.patients, "number of simulated persons (default: 100)")
          ->check(CLI::PositiveNumber);
      app.add_option("--records-per-patient", o->cohort.records_per_patient,
                     "records per person; the first is sinus rhythm (default: 2)")
          ->check(CLI::PositiveNumber);
      app.add_option("--conditions", o->conditions,
                     "comma-separated conditions of the later records, e.g. afib,lbbb+1avb, or all "
                     "(default: all)");
      app.add_option("--fs", o->cohort.fs, "sampling rate in Hz (default: 500)")
          ->check(CLI::Range(50.0, 10000.0));
      app.add_option("--seconds", o->cohort.seconds, "record length in s (default: 10)")
          ->check(CLI::Range(0.5, 3600.0));
      app.add_option("--seed", o->cohort.seed, "population and record seed (default: 0)");
      app.add_option("--snr", o->snr_db, "signal-to-noise ratio of the noise in dB (default: 24)");
      app.add_flag("--clean", o->clean, "cohort without noise (default: noisy)");
      app.add_option("--out", o->out, "output folder (cohort) or file (twin: .hea or .csv)")
          ->required();
      app.add_option("--twin-of", o->twin_of,
                     "render the ground-truth twin of a person: DIR/persons/ID.json, or a patient "
                     "id drawn with --seed (default: off, write a cohort)");
      app.add_option(
          "--condition", o->condition,
          "twin condition, '+'-separated names, SCP codes or statements (default: sinus)");
      app.add_option("--hr", o->hr,
                     "twin heart rate in bpm (default: 0 = the person's resting rate)")
          ->check(CLI::Range(0.0, 250.0));
      app.add_flag("--noise", o->noise, "twin with recording noise (default: off, ground truth)");
      return [o]() { return o->twin_of.empty() ? run_cohort(*o) : run_twin(*o); };
    });

}  // namespace
}  // namespace ecgtwin::app
