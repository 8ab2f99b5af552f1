// Writing WFDB records (format 16 or 212, also 80, 24 and 32) that PhysioNet's tools read.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "ecgtwin/io/wfdb.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "wfdb_decode.hpp"

namespace ecgtwin::io {

namespace {

int resolution_bits(int format) {
  switch (format) {
    case 80: return 8;
    case 212: return 12;
    case 16: return 16;
    case 24: return 24;
    case 32: return 32;
    default: return 0;
  }
}

std::string format_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.12g", value);
  return buffer;
}

}  // namespace

fs::path write_wfdb(const fs::path& directory, const WfdbWriteRequest& r) {
  const int format = r.format;
  const int bits = resolution_bits(format);
  const std::string where = (directory / r.record_name).string() + ".hea";
  if (bits == 0) throw InputError(where, "cannot write signal format " + std::to_string(format) + " (16, 212, 80, 24 or 32)");
  if (r.record_name.empty() || r.record_name.find_first_of(" \t/") != std::string::npos)
    throw InputError(where, "invalid record name '" + r.record_name + "'");
  if (!(r.sampling_frequency > 0)) throw InputError(where, "sampling frequency must be > 0");
  const auto channels = static_cast<std::int64_t>(r.names.size());
  if (channels == 0) throw InputError(where, "no channels to write");
  if (static_cast<std::int64_t>(r.physical.size()) != channels * r.samples)
    throw InputError(where, "signal has " + std::to_string(r.physical.size()) + " values, expected " +
                                std::to_string(channels) + " x " + std::to_string(r.samples));
  const std::int32_t invalid = detail::invalid_value(format);
  // The largest magnitude a sample may take: the format's range less the invalid value.
  const double high = bits == 32 ? 2147483647.0 : std::ldexp(1.0, bits - 1) - 1;
  const double low = -high;

  std::vector<std::int32_t> interleaved(static_cast<size_t>(channels * r.samples));
  std::vector<std::int64_t> checksum(static_cast<size_t>(channels), 0);
  std::vector<double> gains(static_cast<size_t>(channels));
  std::vector<int> baselines(static_cast<size_t>(channels));
  for (std::int64_t c = 0; c < channels; ++c) {
    double gain = c < static_cast<std::int64_t>(r.gains.size()) ? r.gains[static_cast<size_t>(c)] : 1000.0;
    if (!(gain > 0)) throw InputError(where, "gain of channel " + std::to_string(c) + " must be > 0");
    gains[static_cast<size_t>(c)] = gain;
    baselines[static_cast<size_t>(c)] = c < static_cast<std::int64_t>(r.baselines.size()) ? r.baselines[static_cast<size_t>(c)] : 0;
    const float* x = r.physical.data() + c * r.samples;
    for (std::int64_t t = 0; t < r.samples; ++t) {
      std::int32_t d;
      if (!std::isfinite(x[t])) {
        d = invalid;
      } else {
        double v = std::nearbyint(static_cast<double>(x[t]) * gain) + baselines[static_cast<size_t>(c)];
        d = static_cast<std::int32_t>(std::min(high, std::max(low, v)));
      }
      interleaved[static_cast<size_t>(t * channels + c)] = d;
      checksum[static_cast<size_t>(c)] += d;
    }
  }

  const std::string dat_name = r.record_name + ".dat";
  std::ostringstream header;
  header << r.record_name << " " << channels << " " << format_number(r.sampling_frequency) << " " << r.samples << "\n";
  for (std::int64_t c = 0; c < channels; ++c) {
    const auto cs = static_cast<std::int16_t>(static_cast<std::uint16_t>(checksum[static_cast<size_t>(c)] & 0xFFFF));
    const std::int32_t first = r.samples > 0 ? interleaved[static_cast<size_t>(c)] : 0;
    std::string units = c < static_cast<std::int64_t>(r.units.size()) ? r.units[static_cast<size_t>(c)] : "mV";
    header << dat_name << " " << format << " " << format_number(gains[static_cast<size_t>(c)]) << "("
           << baselines[static_cast<size_t>(c)] << ")/" << units << " " << bits << " 0 " << first << " " << cs
           << " 0 " << r.names[static_cast<size_t>(c)] << "\n";
  }
  for (const auto& comment : r.comments) header << "# " << comment << "\n";

  const fs::path dat_path = directory / dat_name;
  const fs::path hea_path = directory / (r.record_name + ".hea");
  util::AtomicFile dat(dat_path);
  dat.write(detail::encode_samples(format, interleaved.data(), static_cast<std::int64_t>(interleaved.size())));
  util::AtomicFile hea(hea_path);
  hea.write(header.str());
  dat.commit();
  try {
    hea.commit();
  } catch (...) {
    std::error_code ignored;
    fs::remove(dat_path, ignored);
    throw;
  }
  return hea_path;
}

}  // namespace ecgtwin::io
