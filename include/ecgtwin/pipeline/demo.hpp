#pragma once
// The whole method on a machine with nothing but ecgtwin: simulate a cohort, prepare it, train
// the four networks, generate twins of held-out persons under their other conditions and
// evaluate them against the simulator's ground truth; then (demo.diagnosis, on by default)
// the personalised auto-diagnosis experiment with a fifth network, the diagnosis classifier.
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace ecgtwin::pipeline {

namespace fs = std::filesystem;

struct DemoOptions {
  fs::path out;
  nlohmann::json config;  // the resolved config (configs/tiny.yaml unless the user gives one)
  std::string device = "auto";
  bool resume = false;  // keep what a previous run in `out` finished and continue from there
};

// Writes OUT/cohort, OUT/cache, OUT/model, OUT/metrics.json, OUT/report.md, OUT/images,
// OUT/diagnosis and OUT/config.yaml; returns the metrics with the seconds each step took ("timing").
nlohmann::json run_demo(const DemoOptions& options);

}  // namespace ecgtwin::pipeline
