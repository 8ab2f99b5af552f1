#include "ecgtwin/util/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cmath>

namespace ecgtwin::util {

void setup_logging(Verbosity verbosity) {
  static bool created = false;
  if (!created) {
    auto logger = spdlog::stderr_color_mt("ecgtwin");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("[%H:%M:%S] %^%l%$ %v");
    created = true;
  }
  switch (verbosity) {
    case Verbosity::kQuiet: spdlog::set_level(spdlog::level::warn); break;
    case Verbosity::kNormal: spdlog::set_level(spdlog::level::info); break;
    case Verbosity::kVerbose: spdlog::set_level(spdlog::level::debug); break;
  }
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto total = static_cast<long long>(seconds + 0.5);
  char buffer[32];
  if (total >= 3600) {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", total / 3600, (total / 60) % 60,
                  total % 60);
  } else {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", total / 60, total % 60);
  }
  return buffer;
}

Progress::Progress(std::string label, std::int64_t total, std::string unit)
    : label_(std::move(label)), total_(total), unit_(std::move(unit)),
      start_(std::chrono::steady_clock::now()), last_draw_(start_),
      tty_(::isatty(STDERR_FILENO) != 0) {}

Progress::~Progress() {
  if (!finished_ && done_ > 0) draw(true);
}

double Progress::rate() const {
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
}

void Progress::advance(std::int64_t n, const std::string& status) {
  done_ += n;
  if (!status.empty()) status_ = status;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  // A terminal is redrawn 5 times a second; a log file gets a line every 10 seconds.
  if (since >= (tty_ ? 0.2 : 10.0) || done_ >= total_) {
    last_draw_ = now;
    draw(done_ >= total_);
  }
}

void Progress::finish() {
  if (finished_) return;
  draw(true);
  finished_ = true;
}

void Progress::draw(bool final) {
  if (spdlog::get_level() > spdlog::level::info) return;
  double r = rate();
  double eta = r > 0 ? static_cast<double>(total_ - done_) / r : NAN;
  constexpr int kWidth = 24;
  int filled = total_ > 0 ? static_cast<int>(kWidth * std::min<double>(1.0, double(done_) / double(total_))) : 0;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, ' ');
  char line[512];
  std::snprintf(line, sizeof line, "%s [%s] %lld/%lld %.1f %s/s %s %s %s", label_.c_str(),
                bar.c_str(), static_cast<long long>(done_), static_cast<long long>(total_), r,
                unit_.c_str(), final ? "took" : "ETA",
                format_duration(final ? std::chrono::duration<double>(
                                            std::chrono::steady_clock::now() - start_)
                                            .count()
                                      : eta)
                    .c_str(),
                status_.c_str());
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line, final ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line);
  }
  std::fflush(stderr);
  if (final) finished_ = true;
}

}  // namespace ecgtwin::util
