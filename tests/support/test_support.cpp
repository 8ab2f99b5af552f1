#include "test_support.hpp"

#include "ecgtwin/util/error.hpp"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>

namespace ecgtwin::test {

::testing::AssertionResult throws_input_error(const std::function<void()>& call,
                                              const std::vector<std::string>& parts) {
  try {
    call();
  } catch (const InputError& error) {
    const std::string message = error.what();
    for (const auto& part : parts)
      if (message.find(part) == std::string::npos)
        return ::testing::AssertionFailure()
               << "the InputError \"" << message << "\" does not say \"" << part << "\"";
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no InputError was thrown";
}

SinusoidFit fit_sinusoid(const float* x, std::int64_t from, std::int64_t to, double period) {
  const double w = 2 * 3.14159265358979323846 / period;
  double ss = 0, cc = 0, sc = 0, xs = 0, xc = 0;
  for (std::int64_t n = from; n < to; ++n) {
    const double s = std::sin(w * double(n)), c = std::cos(w * double(n));
    ss += s * s;
    cc += c * c;
    sc += s * c;
    xs += x[n] * s;
    xc += x[n] * c;
  }
  const double det = ss * cc - sc * sc;
  const double a = (xs * cc - xc * sc) / det, b = (xc * ss - xs * sc) / det;
  double residual = 0;
  for (std::int64_t n = from; n < to; ++n) {
    const double r = x[n] - a * std::sin(w * double(n)) - b * std::cos(w * double(n));
    residual += r * r;
  }
  return {std::hypot(a, b), std::sqrt(residual / double(to - from))};
}

std::filesystem::path shared_data() {
  const char* env = std::getenv("ECGTWIN_SHARED_DATA");
  std::filesystem::path p = env && *env ? env : ECGTWIN_DEFAULT_SHARED_DATA;
  return std::filesystem::exists(p) ? std::filesystem::canonical(p) : std::filesystem::path();
}

std::filesystem::path source_dir() {
  const char* env = std::getenv("ECGTWIN_SOURCE_DIR");
  return env && *env ? env : ECGTWIN_DEFAULT_SOURCE_DIR;
}

std::filesystem::path program() {
  const char* env = std::getenv("ECGTWIN_BIN");
  return env && *env ? env : ECGTWIN_DEFAULT_BIN;
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          ("ecgtwin-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace ecgtwin::test
