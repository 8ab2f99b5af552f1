// Benchmark suite "signal": 12-lead 10-s 500 Hz records per second through the
// preprocessing steps (resampling to the 1024-sample window, cleaning band-pass, R peaks).
#include <chrono>
#include <functional>
#include <vector>

#include "bench.hpp"
#include "ecgtwin/signal/clean.hpp"
#include "ecgtwin/signal/resample.hpp"
#include "ecgtwin/signal/rpeaks.hpp"
#include "ecgtwin/signal/simulator.hpp"

namespace ecgtwin::app {
namespace {

using Clock = std::chrono::steady_clock;

double time_over(const std::vector<signal::SimEcg>& records,
                 const std::function<double(const signal::SimEcg&)>& step) {
  double checksum = 0;
  const auto start = Clock::now();
  for (const auto& ecg : records) checksum += step(ecg);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return checksum == -1.0 ? 0.0 : seconds;  // keeps the work from being optimised away
}

BenchRegistrar suite(
    "signal", "signal layer: records/s resampled to 1024 samples, cleaned, R peaks detected",
    [](const BenchOptions& options) {
      const int count = options.quick ? 50 : 400;
      std::vector<signal::SimEcg> records;
      for (int i = 0; i < count; ++i) {
        signal::SimCondition c = signal::parse_condition(i % 3 == 0 ? "afib" : "sinus");
        records.push_back(signal::render(signal::draw_person(3, i), c,
                                         {500, 10, true, 20, static_cast<std::uint64_t>(i)}));
      }
      const std::vector<std::pair<const char*, std::function<double(const signal::SimEcg&)>>>
          steps = {
              {"fit_to_window_1024",
               [](const signal::SimEcg& e) {
                 return double(
                     signal::fit_to_window(e.signal.data(), 12, e.samples, e.fs).signal[100]);
               }},
              {"clean_leads_0.5_40Hz_notch50",
               [](const signal::SimEcg& e) {
                 std::vector<float> x = e.signal;
                 signal::CleanOptions o;
                 o.powerline_hz = 50;
                 signal::clean_leads(x.data(), 12, e.samples, e.fs, o);
                 return double(x[100]);
               }},
              {"detect_r_peaks_leads",
               [](const signal::SimEcg& e) {
                 return double(
                     signal::detect_r_peaks_leads(e.signal.data(), 12, e.samples, e.fs).size());
               }},
      };
      nlohmann::json result;
      for (const auto& [name, step] : steps) {
        time_over({records.begin(), records.begin() + std::min(count, 10)}, step);  // warm-up
        std::vector<double> times;
        for (int r = 0; r < std::max(1, options.repeats); ++r)
          times.push_back(time_over(records, step));
        const double t = median(times);
        result[name] = {{"records", count}, {"seconds", t}, {"records_per_second", count / t}};
      }
      return result;
    });

}  // namespace
}  // namespace ecgtwin::app
