// ecgtwin bench: runs the registered benchmark suites and prints one JSON object.
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "bench.hpp"
#include "command.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "ecgtwin/util/machine.hpp"

namespace ecgtwin::app {

std::vector<BenchSuite>& bench_suites() {
  static std::vector<BenchSuite> suites;
  return suites;
}

bool bench_part(const BenchOptions& options, const std::string& part) {
  return options.parts.empty() ||
         std::find(options.parts.begin(), options.parts.end(), part) != options.parts.end();
}

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

namespace {

// The BLAS library this process has loaded (read from its memory map, so it names what
// actually ran, e.g. openblas-openmp/libblas.so.3, not what was asked for).
std::string loaded_blas() {
  std::ifstream in("/proc/self/maps");
  std::string line;
  std::string found;
  while (std::getline(in, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (path.find("blas") != std::string::npos || path.find("mkl") != std::string::npos) {
      std::error_code ec;
      auto real = std::filesystem::canonical(path, ec);
      found = ec ? path : real.string();
      if (found.find("openblas") != std::string::npos || found.find("mkl") != std::string::npos) break;
    }
  }
  return found.empty() ? "none loaded" : found;
}

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buffer;
}

Registrar registrar("bench", "measure the speed of ecgtwin's parts and print JSON", [](CLI::App& app) {
  struct Options {
    std::vector<std::string> suites;
    BenchOptions bench;
    std::string output;
    bool list = false;
  };
  auto options = std::make_shared<Options>();
  options->bench.data_dir = "../shared/data";
  app.add_option("--suite", options->suites,
                 "suites to run, repeatable (default: all; --list shows them)");
  app.add_flag("--list", options->list, "list the suites and exit");
  app.add_flag("--quick", options->bench.quick, "smaller sizes, a few seconds per suite (default: off)");
  app.add_option("--repeats", options->bench.repeats, "timed repetitions, median reported (default: 5)")
      ->check(CLI::PositiveNumber);
  app.add_option("--device", options->bench.device, "device for model suites: cpu, cuda, auto (default: cpu)");
  app.add_option("--parts", options->bench.parts,
                 "parts of the models suite to run: train, sampling (default: both)")
      ->check(CLI::IsMember({"train", "sampling"}));
  app.add_option("--data", options->bench.data_dir, "real data folder (default: ../shared/data)");
  app.add_option("-o,--output", options->output, "also write the JSON to this file (default: only stdout)");
  return [options]() {
    auto& suites = bench_suites();
    std::sort(suites.begin(), suites.end(), [](auto& a, auto& b) { return a.name < b.name; });
    if (options->list) {
      for (const auto& s : suites) std::cout << s.name << "\t" << s.description << "\n";
      return 0;
    }
    std::vector<const BenchSuite*> chosen;
    for (const auto& s : suites)
      if (options->suites.empty() ||
          std::find(options->suites.begin(), options->suites.end(), s.name) != options->suites.end())
        chosen.push_back(&s);
    for (const auto& name : options->suites) {
      bool known = std::any_of(suites.begin(), suites.end(), [&](auto& s) { return s.name == name; });
      if (!known) throw InputError("--suite " + name, "unknown suite (see ecgtwin bench --list)");
    }
    auto scratch = std::filesystem::temp_directory_path() / ("ecgtwin-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(scratch);
    options->bench.work_dir = scratch.string();
    nlohmann::json result;
    result["date"] = utc_now();
    result["machine"] = {{"cpu", util::cpu_model()},
                         {"vector_isa", util::cpu_vector_isa()},
                         {"cores", std::thread::hardware_concurrency()}};
    result["quick"] = options->bench.quick;
    for (const auto* suite : chosen) {
      spdlog::info("bench: {} ...", suite->name);
      result["suites"][suite->name] = suite->run(options->bench);
    }
    std::filesystem::remove_all(scratch);
    result["machine"]["blas"] = loaded_blas();
    result["machine"]["allocator"] = allocator_description();
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    result["peak_rss_mb"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
    std::string text = result.dump(2);
    std::cout << text << std::endl;
    if (!options->output.empty()) util::write_file_atomic(options->output, text + "\n");
    return 0;
  };
});

}  // namespace
}  // namespace ecgtwin::app
