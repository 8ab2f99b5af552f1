// Fuzzes the signal decoders: the first bytes choose format, signals, samples per frame,
// skew, length and read range; the rest is the signal file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "ecgtwin/io/wfdb.hpp"
#include "ecgtwin/util/error.hpp"

namespace {
const int kFormats[] = {8, 16, 24, 32, 61, 80, 160, 212, 310, 311};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("ecgtwin-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  const int format = kFormats[data[0] % 10];
  const int signals = 1 + data[1] % 3;
  const int spf = 1 + data[2] % 4;
  const int skew = data[3] % 3;
  const int length = data[4] | ((data[5] & 0x03) << 8);
  const bool with_length = (data[5] & 0x04) != 0;
  const bool smooth = (data[5] & 0x08) != 0;
  const int from = data[6] % 64;
  const int to_extra = data[7];
  std::string header = "fz " + std::to_string(signals) + " 250";
  if (with_length) header += " " + std::to_string(length);
  header += "\n";
  for (int s = 0; s < signals; ++s)
    header += "fz.dat " + std::to_string(format) + (s == 0 && spf > 1 ? "x" + std::to_string(spf) : "") +
              (s == signals - 1 && skew ? ":" + std::to_string(skew) : "") + " 200/mV 12 0 0 0 0 s" +
              std::to_string(s) + "\n";
  {
    std::ofstream(dir / "fz.hea", std::ios::binary) << header;
    std::ofstream dat(dir / "fz.dat", std::ios::binary);
    dat.write(reinterpret_cast<const char*>(data + 8), static_cast<std::streamsize>(size - 8));
  }
  try {
    ecgtwin::io::WfdbReadOptions options;
    options.sampfrom = from;
    if (to_extra < 200) options.sampto = from + to_extra;
    options.smooth_frames = smooth;
    auto result = ecgtwin::io::read_wfdb(dir / "fz", options);
    if (result.digital.size() != static_cast<std::size_t>(result.rows * result.channels)) __builtin_trap();
  } catch (const ecgtwin::InputError&) {
  }
  return 0;
}
