#pragma once
// Helpers shared by the tests: where the real data and the source tree are, temporary
// folders, and running the built program.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace ecgtwin::test {

// ../shared/data (or $ECGTWIN_SHARED_DATA); empty when it is not there.
std::filesystem::path shared_data();
// The project's source folder.
std::filesystem::path source_dir();
// The built program ($ECGTWIN_BIN, else the one this build made).
std::filesystem::path program();
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
