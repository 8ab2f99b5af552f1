// WFDB header files, after PhysioNet's header(5) specification.
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "ecgtwin/io/wfdb.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"

namespace ecgtwin::io {

namespace {

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::istringstream in(line);
  std::string field;
  while (in >> field) fields.push_back(field);
  return fields;
}

bool parse_long(const std::string& text, long long& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtoll(text.c_str(), &end, 10);
  return errno == 0 && end && *end == '\0';
}

bool parse_double(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtod(text.c_str(), &end);
  return errno == 0 && end && *end == '\0' && std::isfinite(out);
}

int parse_int_field(const std::string& text, const std::string& where, const std::string& what) {
  long long value = 0;
  if (!parse_long(text, value) || value < INT32_MIN || value > INT32_MAX)
    throw InputError(where, "invalid " + what + " '" + text + "'");
  return static_cast<int>(value);
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

// The text after the first `count` whitespace-separated fields of `line`.
std::string rest_after_fields(const std::string& line, size_t count) {
  size_t pos = 0;
  for (size_t i = 0; i < count; ++i) {
    pos = line.find_first_not_of(" \t", pos);
    if (pos == std::string::npos) return "";
    pos = line.find_first_of(" \t", pos);
    if (pos == std::string::npos) return "";
  }
  return trim(line.substr(pos));
}

void parse_record_line(const std::string& line, WfdbHeader& h, const std::string& source) {
  auto f = split_fields(line);
  const std::string where = source + ": record line";
  if (f.size() < 2) throw InputError(where, "expected 'name number-of-signals [frequency [length ...]]'");
  auto slash = f[0].find('/');
  h.record_name = f[0].substr(0, slash);
  if (slash != std::string::npos) {
    h.segment_count = parse_int_field(f[0].substr(slash + 1), where, "number of segments");
    if (h.segment_count < 1) throw InputError(where, "number of segments must be >= 1");
  }
  h.signal_count = parse_int_field(f[1], where, "number of signals");
  if (h.signal_count < 0) throw InputError(where, "number of signals must be >= 0");
  if (f.size() > 2) {
    // frequency[/counter-frequency[(base-counter)]]
    std::string text = f[2];
    auto counter = text.find('/');
    std::string fs_text = text.substr(0, counter);
    double fs = 0;
    if (!parse_double(fs_text, fs)) throw InputError(where, "invalid sampling frequency '" + fs_text + "'");
    if (fs <= 0) throw InputError(where, "sampling frequency must be > 0, got " + fs_text);
    h.sampling_frequency = fs;
    if (counter != std::string::npos) {
      std::string rest = text.substr(counter + 1);
      auto paren = rest.find('(');
      double cf = 0;
      if (parse_double(rest.substr(0, paren), cf)) h.counter_frequency = cf;
      if (paren != std::string::npos) {
        double bc = 0;
        auto close = rest.find(')', paren);
        if (parse_double(rest.substr(paren + 1, close - paren - 1), bc)) h.base_counter = bc;
      }
    }
  }
  if (f.size() > 3) {
    long long n = 0;
    if (!parse_long(f[3], n)) throw InputError(where, "invalid number of samples '" + f[3] + "'");
    if (n < 0) throw InputError(where, "negative record length " + f[3]);
    h.sample_count = n;
  }
  if (f.size() > 4) h.base_time = f[4];
  if (f.size() > 5) h.base_date = f[5];
}

WfdbSignalSpec parse_signal_line(const std::string& line, int index, const std::string& source) {
  const std::string where = source + ": signal line " + std::to_string(index + 1);
  auto f = split_fields(line);
  if (f.size() < 2) throw InputError(where, "expected 'file format [gain ...]'");
  WfdbSignalSpec s;
  s.file_name = f[0];
  // format[xsamples-per-frame][:skew][+byte-offset]
  std::string fmt = f[1];
  size_t pos = 0;
  while (pos < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[pos]))) ++pos;
  if (pos == 0) throw InputError(where, "invalid signal format '" + fmt + "'");
  s.format = parse_int_field(fmt.substr(0, pos), where, "signal format");
  while (pos < fmt.size()) {
    char tag = fmt[pos++];
    size_t start = pos;
    if (pos < fmt.size() && (fmt[pos] == '-' || fmt[pos] == '+')) ++pos;
    while (pos < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[pos]))) ++pos;
    std::string number = fmt.substr(start, pos - start);
    if (tag == 'x') {
      s.samples_per_frame = parse_int_field(number, where, "samples per frame");
      if (s.samples_per_frame < 1)
        throw InputError(where, "samples per frame must be >= 1, got " + number);
    } else if (tag == ':') {
      s.skew = parse_int_field(number, where, "skew");
      if (s.skew < 0) throw InputError(where, "skew must be >= 0, got " + number);
    } else if (tag == '+') {
      long long offset = 0;
      if (!parse_long(number, offset) || offset < 0)
        throw InputError(where, "invalid byte offset '" + number + "'");
      s.byte_offset = offset;
    } else {
      throw InputError(where, "invalid signal format field '" + fmt + "'");
    }
  }
  bool baseline_given = false;
  if (f.size() > 2) {
    // gain[(baseline)][/units]
    std::string g = f[2];
    auto slash = g.find('/');
    if (slash != std::string::npos) {
      s.units = g.substr(slash + 1);
      g = g.substr(0, slash);
    }
    auto paren = g.find('(');
    if (paren != std::string::npos) {
      auto close = g.find(')', paren);
      if (close == std::string::npos) throw InputError(where, "invalid ADC gain '" + f[2] + "': missing ')'");
      s.baseline = parse_int_field(g.substr(paren + 1, close - paren - 1), where, "baseline");
      baseline_given = true;
      g = g.substr(0, paren);
    }
    double gain = 0;
    if (!parse_double(g, gain)) throw InputError(where, "invalid ADC gain '" + f[2] + "'");
    // header(5): a gain of zero (or none) means the default of 200 adu per physical unit.
    s.adc_gain = gain == 0 ? 200.0 : gain;
    s.gain_given = gain != 0;
  }
  if (f.size() > 3) s.adc_resolution = parse_int_field(f[3], where, "ADC resolution");
  if (f.size() > 4) s.adc_zero = parse_int_field(f[4], where, "ADC zero");
  if (f.size() > 5) s.initial_value = parse_int_field(f[5], where, "initial value");
  if (f.size() > 6) s.checksum = parse_int_field(f[6], where, "checksum");
  if (f.size() > 7) s.block_size = parse_int_field(f[7], where, "block size");
  if (f.size() > 8) s.description = rest_after_fields(line, 8);
  if (!baseline_given) s.baseline = s.adc_zero;
  return s;
}

}  // namespace

WfdbHeader parse_wfdb_header(std::string_view text, const std::string& source) {
  WfdbHeader h;
  std::vector<std::string> lines;
  {
    std::string current;
    for (char c : text) {
      if (c == '\n' || c == '\r') {
        lines.push_back(current);
        current.clear();
      } else {
        current.push_back(c);
      }
    }
    if (!current.empty()) lines.push_back(current);
  }
  bool have_record = false;
  int signals_seen = 0;
  int segments_seen = 0;
  for (const auto& raw : lines) {
    std::string line = trim(raw);
    if (line.empty()) continue;
    if (line[0] == '#') {
      h.comments.push_back(trim(line.substr(1)));
      continue;
    }
    if (!have_record) {
      parse_record_line(line, h, source);
      have_record = true;
      continue;
    }
    if (h.segment_count > 0 && segments_seen < h.segment_count) {
      auto f = split_fields(line);
      const std::string where = source + ": segment line " + std::to_string(segments_seen + 1);
      if (f.size() < 2) throw InputError(where, "expected 'record-name length'");
      long long n = 0;
      if (!parse_long(f[1], n) || n < 0) throw InputError(where, "invalid segment length '" + f[1] + "'");
      h.segments.push_back({f[0], n});
      ++segments_seen;
      continue;
    }
    if (h.segment_count == 0 && signals_seen < h.signal_count) {
      h.signals.push_back(parse_signal_line(line, signals_seen, source));
      ++signals_seen;
      continue;
    }
    throw InputError(source, "unexpected line after the signal specifications: '" + line + "'");
  }
  if (!have_record) throw InputError(source, "no record line (not a WFDB header)");
  if (h.segment_count > 0 && segments_seen != h.segment_count)
    throw InputError(source, "header declares " + std::to_string(h.segment_count) + " segments but has " +
                                 std::to_string(segments_seen) + " segment lines");
  if (h.segment_count == 0 && signals_seen != h.signal_count)
    throw InputError(source, "header declares " + std::to_string(h.signal_count) + " signals but has " +
                                 std::to_string(signals_seen) + " signal lines");
  return h;
}

WfdbHeader read_wfdb_header(const fs::path& record) {
  fs::path path = record;
  if (path.extension() != ".hea") path += ".hea";
  if (!fs::exists(path)) throw InputError(path.string(), "WFDB header not found");
  return parse_wfdb_header(util::read_file(path), path.string());
}

}  // namespace ecgtwin::io
