// Benchmark suite "prepare": `ecgtwin prepare` of PTB-XL records 1..500 at 500 Hz
// (../shared/data/ptbxl-500, 60 MB of signal) into a fresh folder each time: indexing, WFDB
// reading, resampling to 12 x 1024, R peaks, shards and index. The page cache is warm (one
// untimed run first). Target: under 10 s on the 2-core development machine.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "bench.hpp"
#include "ecgtwin/data/cache.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::app {
namespace {

namespace fs = std::filesystem;

BenchRegistrar suite(
    "prepare", "ecgtwin prepare of ptbxl-500 at 500 Hz into a fresh cache, seconds",
    [](const BenchOptions& options) {
      const fs::path input = fs::path(options.data_dir) / "ptbxl-500";
      if (!fs::exists(input / "ptbxl_database.csv"))
        throw InputError(input.string(), "bench prepare needs PTB-XL here (--data DIR)");
      std::uintmax_t signal_bytes = 0;
      for (const auto& f : fs::directory_iterator(input / "records500" / "00000"))
        if (f.path().extension() == ".dat") signal_bytes += f.file_size();
      nlohmann::json out;
      out["input"] = input.string();
      out["signal_mb"] = static_cast<double>(signal_bytes) / 1e6;
      out["target_seconds"] = 10.0;
      int run = 0;
      for (int threads : {1, 2}) {
        auto prepare = [&] {
          data::PrepareOptions o;
          o.dataset = "ptbxl";
          o.input = input;
          o.out = fs::path(options.work_dir) / ("prepare-" + std::to_string(run++));
          o.threads = threads;
          auto start = std::chrono::steady_clock::now();
          data::PrepareSummary summary = data::prepare_cache(o);
          double seconds =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          fs::remove_all(o.out);
          if (summary.records != 500 || summary.up_to_date)
            throw std::runtime_error("bench prepare: expected 500 fresh records");
          return seconds;
        };
        prepare();  // warm-up: page cache, resampler set-up
        std::vector<double> times;
        const int repeats = options.quick ? 1 : std::max(1, options.repeats);
        for (int r = 0; r < repeats; ++r) times.push_back(prepare());
        const double s = median(times);
        out["threads_" + std::to_string(threads)] = {
            {"threads", threads},
            {"seconds_median", s},
            {"seconds_min", *std::min_element(times.begin(), times.end())},
            {"records_per_s", 500.0 / s},
            {"signal_mb_per_s", static_cast<double>(signal_bytes) / 1e6 / s}};
      }
      return out;
    });

}  // namespace
}  // namespace ecgtwin::app
