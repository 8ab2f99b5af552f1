// Fuzzes the WFDB header parser with arbitrary text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ecgtwin/io/wfdb.hpp"
#include "ecgtwin/util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    ecgtwin::io::parse_wfdb_header(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.hea");
  } catch (const ecgtwin::InputError&) {
  }
  return 0;
}
