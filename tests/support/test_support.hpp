#pragma once
// Helpers shared by the tests: where the real data and the source tree are, temporary
// folders, and running the built program.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace ecgtwin::test {

// ../shared/data (or $ECGTWIN_SHARED_DATA); empty when it is not there.
std::filesystem::path shared_data();
// The project's source folder.
std::filesystem::path source_dir();
// The built program ($ECGTWIN_BIN, else the one this build made).
std::filesystem::path program();
// Least-squares fit of a sin(2 pi n / period) + b cos(2 pi n / period) to x[from .. to).
struct SinusoidFit {
  double amplitude = 0;     // hypot(a, b)
  double residual_rms = 0;  // root mean square of what the fit leaves
};
SinusoidFit fit_sinusoid(const float* x, std::int64_t from, std::int64_t to, double period);

// Whether call() throws an InputError whose message holds every one of parts; the message
// says what was missing. Use as EXPECT_TRUE(throws_input_error(...)) so that a failure names
// the test's own line. Other exceptions pass through.
::testing::AssertionResult throws_input_error(const std::function<void()>& call,
                                              const std::vector<std::string>& parts);

// A fresh temporary folder, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace ecgtwin::test

// Skips the test with a message when ../shared/data (or a subfolder) is missing.
#define ECGTWIN_REQUIRE_SHARED_DATA(subdir)                                               \
  do {                                                                                    \
    if (::ecgtwin::test::shared_data().empty() ||                                         \
        !std::filesystem::exists(::ecgtwin::test::shared_data() / (subdir))) {            \
      GTEST_SKIP() << "needs ../shared/data/" << (subdir)                                 \
                   << " (set ECGTWIN_SHARED_DATA to its folder); not found, so skipped"; \
    }                                                                                     \
  } while (0)
