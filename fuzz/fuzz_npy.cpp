// Fuzzes the NPY reader with arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ecgtwin/io/npy.hpp"
#include "ecgtwin/util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    auto array = ecgtwin::io::parse_npy(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.npy");
    (void)array.to_double();
  } catch (const ecgtwin::InputError&) {
  }
  return 0;
}
