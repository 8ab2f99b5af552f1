#include "ecgtwin/util/machine.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <utility>

namespace ecgtwin::util {

namespace {

// The words of a "flags" line.
std::set<std::string> flag_set(const std::string& flags) {
  std::istringstream words(flags);
  return {std::istream_iterator<std::string>(words), {}};
}

// The value of the first /proc/cpuinfo line starting with `key`, or "".
std::string cpuinfo_value(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    return line.substr(std::min(line.size(), colon + 2));
  }
  return "";
}

}  // namespace

std::string cpu_model() {
  const std::string model = cpuinfo_value("model name");
  return model.empty() ? "unknown" : model;
}

std::string vector_isa_of_flags(const std::string& flags) {
  const std::set<std::string> have = flag_set(flags);
  for (const auto& [flag, name] : {std::pair<const char*, const char*>{"avx512f", "avx512"},
                                   {"avx2", "avx2"},
                                   {"avx", "avx"},
                                   {"sse2", "sse"}})
    if (have.count(flag) > 0) return name;
  return "unknown";
}

bool bf16_of_flags(const std::string& flags) {
  const std::set<std::string> have = flag_set(flags);
  return have.count("avx512_bf16") > 0 || have.count("amx_bf16") > 0;
}

bool cpu_has_bf16() {
  return bf16_of_flags(cpuinfo_value("flags"));
}

std::string cpu_vector_isa() {
  return vector_isa_of_flags(cpuinfo_value("flags"));
}

}  // namespace ecgtwin::util
