#include "ecgtwin/pipeline/demo.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "ecgtwin/config/tree.hpp"
#include "ecgtwin/data/cache.hpp"
#include "ecgtwin/diffusion/config.hpp"
#include "ecgtwin/pipeline/diagnose.hpp"
#include "ecgtwin/pipeline/evaluate.hpp"
#include "ecgtwin/signal/simulator_cohort.hpp"
#include "ecgtwin/train/stages.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "ecgtwin/util/log.hpp"

namespace ecgtwin::pipeline {

namespace {

double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

nlohmann::json run_demo(const DemoOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  nlohmann::json config = options.config;
  config::Section root(config, "");
  config::Section demo = root.child("demo");
  signal::CohortOptions cohort;
  cohort.patients = demo.get_in("patients", std::int64_t{100}, 4, 1000000);
  cohort.records_per_patient = static_cast<int>(demo.get_in("records_per_patient", std::int64_t{4}, 2, 1000));
  const std::int64_t test_patients = demo.get_in("test_patients", std::int64_t{20}, 2, cohort.patients - 2);
  cohort.seed = static_cast<std::uint64_t>(demo.get_in("seed", std::int64_t{1}, 0, std::int64_t{1} << 62));
  cohort.fs = demo.get_in("fs", 500.0, 50.0, 10000.0);
  // The personalised auto-diagnosis experiment on the held-out persons (train-classifier +
  // diagnose); `diagnosis_conditions` target conditions per person (0: one per class).
  const bool diagnosis = demo.get("diagnosis", true);
  DiagnoseOptions diagnose_options;
  diagnose_options.conditions = demo.get_in("diagnosis_conditions", std::int64_t{0}, 0, 1000);
  diagnose_options.twins_per_condition = demo.get_in("diagnosis_twins", std::int64_t{2}, 1, 1000);
  diagnose_options.finetune_steps = demo.get_in("diagnosis_finetune_steps", std::int64_t{30}, 1, 1000000);
  demo.finish();
  config::Section sampling = root.child("sampling");
  diffusion::SamplerOptions sampler = diffusion::read_sampler_options(sampling);
  sampling.finish();
  config::Section personalise_section = root.child("personalise");
  const PersonaliseOptions personalise = read_personalise_options(personalise_section);
  personalise_section.finish();
  train::read_twin_config(config);  // every model key checked before any work starts
  // The networks in training order (the classifier only for the diagnosis experiment).
  using Trainer = train::TrainResult (*)(const data::Cache&, const nlohmann::json&, const fs::path&);
  std::vector<std::pair<std::string, Trainer>> stages = {{"autoencoder", train::train_autoencoder},
                                                         {"extractor", train::train_extractor},
                                                         {"diffusion", train::train_diffusion},
                                                         {"evaluator", train::train_evaluator}};
  if (diagnosis) stages.emplace_back("classifier", train::train_classifier);
  for (const auto& stage : stages) {
    config["train"][stage.first]["device"] = options.device;
    // Every train key checked before any work starts.
    train::read_stage_config(config, stage.first);
  }

  fs::create_directories(options.out);
  config::write_file(config, options.out / "config.yaml");
  nlohmann::json timing;

  // 1. The simulated cohort.
  auto step_start = std::chrono::steady_clock::now();
  const fs::path cohort_dir = options.out / "cohort";
  if (!(options.resume && fs::exists(cohort_dir / "simulation.json"))) {
    if (fs::exists(cohort_dir)) fs::remove_all(cohort_dir);
    util::OutputGuard guard;
    util::Progress progress("simulate", cohort.patients * cohort.records_per_patient, "record");
    auto written = signal::write_cohort(cohort_dir, cohort, guard, [&] { progress.advance(1); });
    progress.finish();
    guard.keep();
    spdlog::info("demo: simulated {} records of {} persons", written.records, written.patients);
  }
  timing["simulate_s"] = since(step_start);

  // 2. The cache, with the held-out persons in its test split.
  step_start = std::chrono::steady_clock::now();
  data::PrepareOptions prepare;
  prepare.dataset = "ptbxl";
  prepare.input = cohort_dir;
  prepare.out = options.out / "cache";
  prepare.ptbxl.fs_source = static_cast<int>(cohort.fs);
  prepare.split.validation_fraction = 0.0;
  prepare.split.test_fraction = double(test_patients) / double(cohort.patients);
  prepare.split.seed = cohort.seed;
  auto prepared = data::prepare_cache(prepare);
  spdlog::info("demo: cache of {} records ({} patients) in {}", prepared.records, prepared.patients,
               prepare.out.string());
  timing["prepare_s"] = since(step_start);
  data::Cache cache = data::Cache::open(prepare.out);

  // 3. The networks.
  const fs::path model_dir = options.out / "model";
  for (const auto& [stage, trainer] : stages) {
    step_start = std::chrono::steady_clock::now();
    if (options.resume && fs::exists(model_dir / (stage + ".pt"))) {
      spdlog::info("demo: {} already trained, kept", stage);
    } else {
      nlohmann::json stage_config = config;
      stage_config["train"][stage]["resume"] = options.resume;
      trainer(cache, stage_config, model_dir);
    }
    timing["train_" + stage + "_s"] = since(step_start);
  }

  // 4. Twins of the held-out persons under their other conditions, against the ground truth.
  step_start = std::chrono::steady_clock::now();
  EvaluateOptions evaluate;
  evaluate.model = model_dir;
  evaluate.data = prepare.out;
  evaluate.ground_truth = cohort_dir;
  evaluate.split = "test";
  evaluate.sampler = sampler;
  evaluate.personalise = personalise;
  evaluate.seed = cohort.seed;
  evaluate.device = options.device;
  evaluate.out = options.out;
  nlohmann::json metrics = evaluate_twins(evaluate);
  timing["evaluate_s"] = since(step_start);

  // 5. Personalised auto-diagnosis: the population classifier fine-tuned on each held-out
  // person's twins, tested on the person's other records.
  if (diagnosis) {
    step_start = std::chrono::steady_clock::now();
    diagnose_options.model = model_dir;
    diagnose_options.data = prepare.out;
    diagnose_options.sampler = sampler;
    diagnose_options.personalise = personalise;
    diagnose_options.seed = cohort.seed;
    diagnose_options.device = options.device;
    diagnose_options.out = options.out / "diagnosis";
    nlohmann::json result = diagnose(diagnose_options);
    nlohmann::json summary;
    for (const char* key : {"accuracy_without_twins", "macro_f1_without_twins", "accuracy_with_twins",
                            "macro_f1_with_twins", "accuracy_reference_only", "macro_f1_reference_only",
                            "patients", "held_out_records"})
      summary[key] = result.at(key);
    metrics["diagnosis"] = summary;
    auto three = [](const nlohmann::json& v) {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%.3f", v.get<double>());
      return std::string(buffer);
    };
    std::string report = util::read_file(options.out / "report.md");
    report += "\n## Personalised auto-diagnosis\n\n| classifier | accuracy | macro-F1 |\n|---|---|---|\n";
    for (const auto& [name, key] : std::vector<std::pair<std::string, std::string>>{
             {"population (without twins)", "without_twins"},
             {"fine-tuned on the reference only", "reference_only"},
             {"fine-tuned on twins", "with_twins"}})
      report += "| " + name + " | " + three(summary["accuracy_" + key]) + " | " + three(summary["macro_f1_" + key]) +
                " |\n";
    report += "\nDetails per class and patient: [diagnosis/diagnosis.md](diagnosis/diagnosis.md).\n";
    util::write_file_atomic(options.out / "report.md", report);
    timing["diagnose_s"] = since(step_start);
  }
  timing["total_s"] = since(started);
  metrics["timing"] = timing;
  util::write_file_atomic(options.out / "metrics.json", metrics.dump(2) + "\n");
  return metrics;
}

}  // namespace ecgtwin::pipeline
