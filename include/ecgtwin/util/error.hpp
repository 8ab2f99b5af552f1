#pragma once
// Errors. Every failure that the user can fix (a bad file, a bad config key, a bad flag)
// is an InputError: the program prints its message once and exits with code 2. Any other
// ecgtwin::Error is an internal error (exit code 1).
#include <charconv>
#include <stdexcept>
#include <string>

namespace ecgtwin {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Bad input: names the file (or config key) and what was expected.
class InputError : public Error {
 public:
  explicit InputError(const std::string& message) : Error(message) {}
  InputError(const std::string& where, const std::string& problem)
      : Error(where.empty() ? problem : where + ": " + problem) {}
};

// A number as messages and text files show it: the shortest text that reads back as the same
// double ("900", "72.5", "0.1", "1e-06", "nan"), not std::to_string's fixed six decimals.
inline std::string number_text(double value) {
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, value);
  return std::string(text, result.ptr);
}

// Exit codes of the program (STYLE.md): 0 done, 2 bad input or usage, 1 internal error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitBadInput = 2;

}  // namespace ecgtwin
