// Benchmark suite "simulate": records rendered per second in memory (1 and 2 threads) and a
// cohort written to disk in the PTB-XL layout.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "bench.hpp"
#include "ecgtwin/signal/simulator.hpp"
#include "ecgtwin/signal/simulator_cohort.hpp"
#include "ecgtwin/util/files.hpp"

namespace ecgtwin::app {
namespace {

using Clock = std::chrono::steady_clock;

// Renders `records` 10-s 12-lead 500 Hz noisy records of mixed conditions on `threads`
// threads; returns the wall time.
double render_records(int records, int threads, const std::vector<signal::Person>& persons,
                      const std::vector<signal::SimCondition>& conditions) {
  std::atomic<int> next{0};
  std::atomic<double> checksum{0};
  auto start = Clock::now();
  auto worker = [&] {
    double local = 0;
    for (int i = next++; i < records; i = next++) {
      signal::SimCondition c = conditions[static_cast<std::size_t>(i) % conditions.size()];
      auto ecg = signal::render(persons[static_cast<std::size_t>(i) % persons.size()], c,
                                {500, 10, true, 24, static_cast<std::uint64_t>(i)});
      local += ecg.signal[static_cast<std::size_t>(i) % ecg.signal.size()];
    }
    checksum = checksum + local;
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

BenchRegistrar suite("simulate", "ECG simulator: records/s rendered in memory and written as WFDB",
                     [](const BenchOptions& options) {
                       const int records = options.quick ? 400 : 4000;
                       std::vector<signal::Person> persons;
                       for (int p = 0; p < 64; ++p) persons.push_back(signal::draw_person(1, p));
                       std::vector<signal::SimCondition> conditions;
                       for (const auto& name : signal::condition_names())
                         conditions.push_back(signal::parse_condition(name));
                       render_records(records / 10, 2, persons, conditions);  // warm-up
                       nlohmann::json result;
                       for (int threads : {1, 2}) {
                         std::vector<double> times;
                         for (int r = 0; r < std::max(1, options.repeats / 2); ++r)
                           times.push_back(render_records(records, threads, persons, conditions));
                         double t = median(times);
                         result["render_" + std::to_string(threads) + "_threads"] = {
                             {"records", records},
                             {"seconds", t},
                             {"records_per_s", records / t},
                             {"seconds_per_10000_records", 10000 * t / records}};
                       }
                       signal::CohortOptions cohort;
                       cohort.patients = options.quick ? 100 : 1000;
                       cohort.records_per_patient = 2;
                       cohort.seed = 3;
                       auto dir = std::filesystem::path(options.work_dir) / "simulate-cohort";
                       std::filesystem::remove_all(dir);
                       util::OutputGuard guard;
                       auto summary = signal::write_cohort(dir, cohort, guard);
                       std::filesystem::remove_all(dir);
                       result["write_cohort"] = {
                           {"records", summary.records},
                           {"seconds", summary.seconds},
                           {"records_per_s", summary.records / summary.seconds},
                           {"format", "WFDB 16, 500 Hz, 10 s, 12 leads, 2 threads"}};
                       return result;
                     });

}  // namespace
}  // namespace ecgtwin::app
