// Benchmark suite "io": WFDB decoding speed (MB of signal file per second) for formats 16
// and 212: whole-record reads (physical and digital values, checksums verified) of
// PTB-XL-sized records (12 leads, 10 s, 500 Hz) written by the WFDB writer, read in a loop
// as `ecgtwin prepare` reads a data set.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "bench.hpp"
#include "ecgtwin/io/wfdb.hpp"

namespace ecgtwin::app {
namespace {

BenchRegistrar suite("io", "WFDB decoding speed, MB/s of signal file, formats 16 and 212",
                     [](const BenchOptions& options) {
  nlohmann::json out;
  out["target_mb_per_s"] = 200.0;
  const std::int64_t samples = 5000;
  const int reads_per_repeat = options.quick ? 50 : 400;
  for (int format : {16, 212}) {
    io::WfdbWriteRequest request;
    request.record_name = "bench" + std::to_string(format);
    request.sampling_frequency = 500;
    request.format = format;
    request.samples = samples;
    for (int c = 0; c < 12; ++c) {
      request.names.push_back("lead" + std::to_string(c));
      for (std::int64_t t = 0; t < samples; ++t)
        request.physical.push_back(
            static_cast<float>(std::sin(0.013 * static_cast<double>(t) * (c + 1))));
    }
    auto header = io::write_wfdb(options.work_dir, request);
    const auto bytes = std::filesystem::file_size(std::filesystem::path(options.work_dir) /
                                                  (request.record_name + ".dat"));
    // Warm-up: the page cache, and glibc's malloc, which serves the first large buffers
    // of a process with fresh zeroed pages (steady state is what a batch of reads sees).
    for (int w = 0; w < 3; ++w) io::read_wfdb(header);
    std::vector<double> seconds;
    for (int r = 0; r < std::max(3, options.repeats); ++r) {
      auto start = std::chrono::steady_clock::now();
      for (int k = 0; k < reads_per_repeat; ++k) {
        auto data = io::read_wfdb(header);
        if (data.rows != samples) throw std::runtime_error("bench io: short read");
      }
      seconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
          reads_per_repeat);
    }
    const double s = median(seconds);
    out["format" + std::to_string(format)] = {
        {"file_mb", static_cast<double>(bytes) / 1e6},
        {"reads_per_repeat", reads_per_repeat},
        {"seconds_per_record_median", s},
        {"records_per_s", 1.0 / s},
        {"mb_per_s", static_cast<double>(bytes) / 1e6 / s},
        // The fastest repeat: the least disturbed one when other work shares the machine.
        {"mb_per_s_best",
         static_cast<double>(bytes) / 1e6 / *std::min_element(seconds.begin(), seconds.end())},
        {"samples_per_s", static_cast<double>(samples * 12) / s}};
  }
  return out;
});

}  // namespace
}  // namespace ecgtwin::app
