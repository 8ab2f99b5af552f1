#pragma once
// Logging set-up (spdlog) and a progress bar with rate and ETA for long work.
#include <chrono>
#include <cstdint>
#include <string>

namespace ecgtwin::util {

enum class Verbosity { kQuiet, kNormal, kVerbose };

// Logs go to standard error, so that standard output stays clean for data (`-o -`).
void setup_logging(Verbosity verbosity);

// A progress bar on standard error: "label [#####     ] 512/1024 12.3 it/s ETA 0:41 loss 0.1".
// Redraws at most a few times a second; prints plain lines when stderr is not a terminal.
class Progress {
 public:
  Progress(std::string label, std::int64_t total, std::string unit = "it");
  ~Progress();
  // Advances by `n` and sets the text shown after the rate (e.g. the loss).
  void advance(std::int64_t n = 1, const std::string& status = "");
  void finish();
  double rate() const;  // items per second so far

 private:
  void draw(bool final);
  std::string label_;
  std::int64_t total_;
  std::int64_t done_ = 0;
  std::string unit_;
  std::string status_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool tty_;
  bool finished_ = false;
};

std::string format_duration(double seconds);

}  // namespace ecgtwin::util
