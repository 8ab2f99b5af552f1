#include "ecgtwin/data/record.hpp"

#include <algorithm>
#include <cctype>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::data {

std::string to_string(Sex sex) {
  switch (sex) {
    case Sex::kFemale: return "female";
    case Sex::kMale: return "male";
    case Sex::kUnknown: break;
  }
  return "unknown";
}

Sex parse_sex(const std::string& text) {
  std::string s;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c)))
      s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  // PTB-XL codes sex as 0 (male) and 1 (female), sometimes written as floats.
  if (s == "f" || s == "female" || s == "w" || s == "1" || s == "1.0") return Sex::kFemale;
  if (s == "m" || s == "male" || s == "0" || s == "0.0") return Sex::kMale;
  if (s.empty() || s == "u" || s == "unknown" || s == "nan" || s == "na" || s == "?")
    return Sex::kUnknown;
  throw InputError("sex", "expected F, female, M, male, 0 (male), 1 (female) or unknown, found '" +
                              text + "'");
}

}  // namespace ecgtwin::data
