#include "test_support.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>

namespace ecgtwin::test {

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
