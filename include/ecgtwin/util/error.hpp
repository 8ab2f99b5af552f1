#pragma once
// Errors. Every failure that the user can fix (a bad file, a bad config key, a bad flag)
// is an InputError: the program prints its message once and exits with code 2. Any other
// ecgtwin::Error is an internal error (exit code 1).
#include <stdexcept>
#include <string>

#include "ecgtwin/util/number_text.hpp"  // number_text, for the messages

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

// Exit codes of the program (STYLE.md): 0 done, 2 bad input or usage, 1 internal error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitBadInput = 2;

}  // namespace ecgtwin
