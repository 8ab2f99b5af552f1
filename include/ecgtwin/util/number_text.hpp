#pragma once
// Numbers as text: the shortest text that reads back as the same double ("900", "72.5", "0.1",
// "1e-06", "nan"), not std::to_string's fixed six decimals. Error messages, WFDB headers and
// CSV files write their numbers so.
#include <charconv>
#include <string>

namespace ecgtwin {

// Appends the text of `value` to `out` (no allocation beyond out's own growth: CSV writers call
// it once per sample).
inline void append_number_text(std::string& out, double value) {
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, value);
  out.append(text, result.ptr);
}

inline std::string number_text(double value) {
  std::string out;
  append_number_text(out, value);
  return out;
}

}  // namespace ecgtwin
