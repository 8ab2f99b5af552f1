#pragma once
// Benchmark suites for `ecgtwin bench`. Each apps/ecgtwin/bench_*.cpp registers a suite that
// measures one part (warm-up excluded, medians of repeated runs) and returns its figures as
// JSON; `ecgtwin bench` adds the machine description and writes the result.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ecgtwin::app {

struct BenchOptions {
  bool quick = false;        // smaller sizes, a few seconds per suite
  int repeats = 5;           // timed repetitions (the median is reported)
  std::string device = "cpu";
  std::vector<std::string> parts;  // model suites: "train", "sampling" (empty: both)
  std::string data_dir;      // real data folder (../shared/data by default)
  std::string work_dir;      // scratch folder for files a suite writes
};

struct BenchSuite {
  std::string name;
  std::string description;
  std::function<nlohmann::json(const BenchOptions&)> run;
};

std::vector<BenchSuite>& bench_suites();

struct BenchRegistrar {
  BenchRegistrar(std::string name, std::string description,
                 std::function<nlohmann::json(const BenchOptions&)> run) {
    bench_suites().push_back({std::move(name), std::move(description), std::move(run)});
  }
};

// True when `part` of a model suite is to run (options.parts empty: every part).
bool bench_part(const BenchOptions& options, const std::string& part);

// Median of a list of timings (seconds).
double median(std::vector<double> values);

}  // namespace ecgtwin::app
