// Reading WFDB signals: single- and multi-segment records, frames, skew, checksums.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "ecgtwin/io/wfdb.hpp"
#include "ecgtwin/util/error.hpp"
#include "wfdb_decode.hpp"

namespace ecgtwin::io {

namespace {

fs::path header_path(const fs::path& record) {
  fs::path p = record;
  if (p.extension() != ".hea") p += ".hea";
  return p;
}

// Reads up to `limit` bytes of a file starting at `offset`.
std::vector<std::uint8_t> read_bytes(const fs::path& path, std::int64_t offset, std::int64_t limit,
                                     std::int64_t* file_size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string(), "cannot open signal file");
  in.seekg(0, std::ios::end);
  *file_size = static_cast<std::int64_t>(in.tellg());
  std::int64_t available = std::max<std::int64_t>(0, *file_size - offset);
  std::int64_t n = std::min(available, limit);
  std::vector<std::uint8_t> bytes(static_cast<size_t>(n));
  in.seekg(offset);
  if (n > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), n))
    throw InputError(path.string(), "read error");
  return bytes;
}

struct Group {
  std::string file;
  int format = 16;
  std::int64_t byte_offset = 0;
  std::vector<int> signals;        // header indices
  std::vector<int> slot_offset;    // per signal in group: first stream position in a frame
  int frame_samples = 0;
};

std::vector<Group> group_signals(const WfdbHeader& h) {
  std::vector<Group> groups;
  for (int i = 0; i < h.signal_count; ++i) {
    const auto& s = h.signals[static_cast<size_t>(i)];
    if (groups.empty() || groups.back().file != s.file_name) {
      Group g;
      g.file = s.file_name;
      g.format = s.format;
      g.byte_offset = s.byte_offset;
      groups.push_back(g);
    }
    auto& g = groups.back();
    g.signals.push_back(i);
    g.slot_offset.push_back(g.frame_samples);
    g.frame_samples += s.samples_per_frame;
  }
  return groups;
}

WfdbData read_single(const fs::path& hea, const WfdbHeader& h, const WfdbReadOptions& options) {
  const std::string source = hea.string();
  const fs::path dir = hea.parent_path();
  for (int i = 0; i < h.signal_count; ++i) {
    int f = h.signals[static_cast<size_t>(i)].format;
    if (f == 508 || f == 516 || f == 524)
      throw InputError(source, "signal " + std::to_string(i) + " uses FLAC format " + std::to_string(f) +
                                   ", which ecgtwin does not read");
    if (!detail::is_supported_format(f))
      throw InputError(source, "unsupported signal format " + std::to_string(f) + " (signal " + std::to_string(i) + ")");
  }
  std::vector<int> channels = options.channels;
  if (channels.empty())
    for (int i = 0; i < h.signal_count; ++i) channels.push_back(i);
  for (int c : channels)
    if (c < 0 || c >= h.signal_count)
      throw InputError(source, "channel " + std::to_string(c) + " does not exist (the record has " +
                                   std::to_string(h.signal_count) + " signals)");

  auto groups = group_signals(h);
  std::map<int, std::pair<size_t, size_t>> where;  // signal -> (group, index in group)
  for (size_t g = 0; g < groups.size(); ++g)
    for (size_t k = 0; k < groups[g].signals.size(); ++k) where[groups[g].signals[k]] = {g, k};
  for (const auto& g : groups)
    for (int s : g.signals)
      if (h.signals[static_cast<size_t>(s)].format != g.format)
        throw InputError(source, "signals in file " + g.file + " have different formats");

  // Frames in each file, from its size (needed when the header gives no length).
  std::vector<std::int64_t> file_sizes(groups.size(), -1);
  auto frames_in_file = [&](size_t g) {
    const auto& grp = groups[g];
    if (grp.format == 0 || grp.file == "~") return std::numeric_limits<std::int64_t>::max();
    fs::path p = dir / grp.file;
    std::error_code ec;
    auto size = static_cast<std::int64_t>(fs::file_size(p, ec));
    if (ec) throw InputError(p.string(), "cannot open signal file (named in " + source + ")");
    file_sizes[g] = size;
    return detail::samples_in_bytes(grp.format, std::max<std::int64_t>(0, size - grp.byte_offset)) / grp.frame_samples;
  };
  std::vector<std::int64_t> file_frames(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) file_frames[g] = frames_in_file(g);

  std::int64_t length;
  if (h.sample_count) {
    length = *h.sample_count;
  } else {
    length = std::numeric_limits<std::int64_t>::max();
    for (auto f : file_frames) length = std::min(length, f);
    if (groups.empty()) length = 0;
  }
  std::int64_t from = options.sampfrom;
  std::int64_t to = options.sampto ? *options.sampto : length;
  if (!options.sampto) {
    // Skewed signals end `skew` frames early; the read stops where one runs out.
    for (int c : channels) {
      const auto& s = h.signals[static_cast<size_t>(c)];
      auto g = where[c].first;
      if (s.skew > 0 && file_frames[g] >= length) to = std::min(to, file_frames[g] - s.skew);
    }
  }
  if (from < 0) throw InputError(source, "sampfrom must be >= 0");
  if (to > length)
    throw InputError(source, "sampto " + std::to_string(to) + " is beyond the record length " + std::to_string(length));
  if (from > to)
    throw InputError(source, "sampfrom " + std::to_string(from) + " is after sampto " + std::to_string(to));

  int max_spf = 1;
  for (const auto& s : h.signals) max_spf = std::max(max_spf, s.samples_per_frame);
  const int expand = options.smooth_frames ? 1 : max_spf;
  const std::int64_t frames = to - from;

  WfdbData data;
  data.header = h;
  data.channels = static_cast<std::int64_t>(channels.size());
  data.rows = frames * expand;
  data.frequency = h.sampling_frequency * expand;
  data.digital.assign(static_cast<size_t>(data.rows * data.channels), kInvalidSample);
  data.physical.assign(data.digital.size(), NAN);

  // Decode each group that a selected channel needs, from the start of the file.
  std::map<size_t, std::vector<std::int32_t>> streams;
  for (int c : channels) {
    auto g = where[c].first;
    if (streams.count(g) || groups[g].format == 0 || groups[g].file == "~") continue;
    const auto& grp = groups[g];
    int max_skew = 0;
    for (int s : grp.signals)
      if (std::find(channels.begin(), channels.end(), s) != channels.end())
        max_skew = std::max(max_skew, h.signals[static_cast<size_t>(s)].skew);
    const bool whole = from == 0 && to == length && options.verify_checksums;
    const std::int64_t frames_needed = std::max(to + max_skew, whole ? length : 0);
    const std::int64_t samples_needed = frames_needed * grp.frame_samples;
    const std::int64_t bytes_needed = detail::bytes_for_samples(grp.format, samples_needed);
    const fs::path p = dir / grp.file;
    std::int64_t file_size = 0;
    auto bytes = read_bytes(p, grp.byte_offset, bytes_needed, &file_size);
    if (static_cast<std::int64_t>(bytes.size()) < bytes_needed) {
      std::ostringstream msg;
      msg << "signal file is shorter than the header says: reading frames up to " << frames_needed
          << " needs " << bytes_needed << " bytes after offset " << grp.byte_offset << ", the file has "
          << std::max<std::int64_t>(0, file_size - grp.byte_offset);
      throw InputError(p.string(), msg.str());
    }
    std::vector<int> slot(static_cast<size_t>(grp.frame_samples));
    std::vector<std::int32_t> initial(grp.signals.size());
    for (size_t k = 0; k < grp.signals.size(); ++k) {
      const auto& s = h.signals[static_cast<size_t>(grp.signals[k])];
      for (int j = 0; j < s.samples_per_frame; ++j) slot[static_cast<size_t>(grp.slot_offset[k] + j)] = static_cast<int>(k);
      initial[k] = s.initial_value ? *s.initial_value : s.adc_zero;
    }
    std::vector<std::int32_t> stream(static_cast<size_t>(samples_needed));
    detail::decode_samples(grp.format, bytes.data(), samples_needed, stream.data(), slot, initial);
    const std::int32_t invalid = detail::invalid_value(grp.format);
    if (invalid != kInvalidSample)
      for (auto& v : stream)
        if (v == invalid) v = kInvalidSample;
    streams[g] = std::move(stream);
  }

  bool all_verified = true;
  for (size_t col = 0; col < channels.size(); ++col) {
    const int c = channels[col];
    const auto& s = h.signals[static_cast<size_t>(c)];
    data.names.push_back(s.description);
    data.units.push_back(s.units);
    data.gains.push_back(s.adc_gain);
    data.baselines.push_back(s.baseline);
    auto [g, k] = where[c];
    const auto& grp = groups[g];
    if (!streams.count(g)) {
      all_verified = false;
      continue;  // a null signal: invalid throughout
    }
    const auto& stream = streams[g];
    const int spf = s.samples_per_frame;
    const int offset = grp.slot_offset[k];
    auto store = [&](std::int64_t row, std::int32_t value) {
      const size_t i = static_cast<size_t>(row * data.channels) + col;
      data.digital[i] = value;
      if (value != kInvalidSample) data.physical[i] = (static_cast<double>(value) - s.baseline) / s.adc_gain;
    };
    for (std::int64_t f = 0; f < frames; ++f) {
      const std::int64_t base = (from + f + s.skew) * grp.frame_samples + offset;
      if (expand == 1) {
        if (spf == 1) {
          store(f, stream[static_cast<size_t>(base)]);
        } else {
          // Frame average with C integer division, as the reference tools compute it.
          std::int64_t sum = 0;
          bool invalid = false;
          for (int j = 0; j < spf; ++j) {
            auto v = stream[static_cast<size_t>(base + j)];
            invalid |= v == kInvalidSample;
            sum += v;
          }
          store(f, invalid ? kInvalidSample : static_cast<std::int32_t>(sum / spf));
        }
      } else {
        const int repeat = expand / spf;
        for (int j = 0; j < spf; ++j)
          for (int r = 0; r < repeat; ++r) store(f * expand + j * repeat + r, stream[static_cast<size_t>(base + j)]);
      }
    }
    // Checksum over the whole signal (header(5): 16-bit sum of all samples).
    if (options.verify_checksums && from == 0 && to == length && s.checksum) {
      std::int64_t sum = 0;
      const std::int32_t stored_invalid = detail::invalid_value(s.format);
      const std::int32_t* p = stream.data() + static_cast<std::int64_t>(s.skew) * grp.frame_samples + offset;
      for (std::int64_t frame = 0; frame < length; ++frame, p += grp.frame_samples)
        for (int j = 0; j < spf; ++j) sum += p[j] == kInvalidSample ? stored_invalid : p[j];
      auto data_sum = static_cast<std::int16_t>(static_cast<std::uint16_t>(sum & 0xFFFF));
      auto header_sum = static_cast<std::int16_t>(static_cast<std::uint16_t>(*s.checksum & 0xFFFF));
      if (data_sum != header_sum) {
        std::ostringstream msg;
        msg << "checksum mismatch for signal " << c << " (header " << header_sum << ", data " << data_sum
            << "): the signal file does not match its header";
        throw InputError(source, msg.str());
      }
    } else {
      all_verified = false;
    }
  }
  data.checksums_verified = all_verified && !channels.empty();
  return data;
}

WfdbData read_multi(const fs::path& hea, const WfdbHeader& h, const WfdbReadOptions& options) {
  const std::string source = hea.string();
  const fs::path dir = hea.parent_path();
  const bool variable = !h.segments.empty() && h.segments[0].length == 0;
  // The signals of the record: the layout header (variable) or the first real segment (fixed).
  WfdbHeader layout;
  bool have_layout = false;
  for (const auto& seg : h.segments) {
    if (seg.record_name == "~") continue;
    fs::path p = dir / (seg.record_name + ".hea");
    if (!fs::exists(p)) throw InputError(p.string(), "segment header not found (named in " + source + ")");
    layout = read_wfdb_header(p);
    have_layout = true;
    break;
  }
  if (!have_layout) throw InputError(source, "multi-segment record has no segment with signals");
  std::int64_t length = 0;
  for (const auto& seg : h.segments) length += seg.length;
  if (h.sample_count && *h.sample_count < length) length = *h.sample_count;

  std::vector<int> channels = options.channels;
  if (channels.empty())
    for (int i = 0; i < layout.signal_count; ++i) channels.push_back(i);
  for (int c : channels)
    if (c < 0 || c >= layout.signal_count)
      throw InputError(source, "channel " + std::to_string(c) + " does not exist (the record has " +
                                   std::to_string(layout.signal_count) + " signals)");
  const std::int64_t from = options.sampfrom;
  const std::int64_t to = options.sampto ? *options.sampto : length;
  if (from < 0 || from > to || to > length)
    throw InputError(source, "sample range [" + std::to_string(from) + ", " + std::to_string(to) +
                                 ") is outside the record (length " + std::to_string(length) + ")");
  int max_spf = 1;
  for (const auto& s : layout.signals) max_spf = std::max(max_spf, s.samples_per_frame);
  const int expand = options.smooth_frames ? 1 : max_spf;

  WfdbData data;
  data.header = h;
  data.channels = static_cast<std::int64_t>(channels.size());
  data.rows = (to - from) * expand;
  data.frequency = h.sampling_frequency * expand;
  data.digital.assign(static_cast<size_t>(data.rows * data.channels), kInvalidSample);
  data.physical.assign(data.digital.size(), NAN);
  for (int c : channels) {
    const auto& s = layout.signals[static_cast<size_t>(c)];
    data.names.push_back(s.description);
    data.units.push_back(s.units);
    data.gains.push_back(s.adc_gain);
    data.baselines.push_back(s.baseline);
  }

  std::int64_t start = 0;
  for (size_t i = variable ? 1 : 0; i < h.segments.size(); ++i) {
    const auto& seg = h.segments[i];
    const std::int64_t end = start + seg.length;
    const std::int64_t a = std::max(from, start), b = std::min(to, end);
    if (a < b && seg.record_name != "~") {
      fs::path p = dir / (seg.record_name + ".hea");
      if (!fs::exists(p)) throw InputError(p.string(), "segment header not found (named in " + source + ")");
      WfdbHeader sh = read_wfdb_header(p);
      WfdbReadOptions sub = options;
      sub.sampfrom = a - start;
      sub.sampto = b - start;
      sub.channels.clear();
      std::vector<int> column_of;  // segment channel read -> output column
      for (size_t col = 0; col < channels.size(); ++col) {
        int index = -1;
        if (variable) {
          const auto& name = layout.signals[static_cast<size_t>(channels[col])].description;
          for (int k = 0; k < sh.signal_count; ++k)
            if (sh.signals[static_cast<size_t>(k)].description == name) index = k;
        } else {
          index = channels[col] < sh.signal_count ? channels[col] : -1;
        }
        if (index >= 0) {
          sub.channels.push_back(index);
          column_of.push_back(static_cast<int>(col));
        }
      }
      if (!sub.channels.empty()) {
        WfdbData part = read_single(p, sh, sub);
        const std::int64_t row0 = (a - from) * expand;
        const std::int64_t rows = std::min(part.rows, data.rows - row0);
        for (std::int64_t r = 0; r < rows; ++r)
          for (size_t k = 0; k < column_of.size(); ++k) {
            const size_t dst = static_cast<size_t>((row0 + r) * data.channels + column_of[k]);
            const size_t src = static_cast<size_t>(r * part.channels) + k;
            data.digital[dst] = part.digital[src];
            data.physical[dst] = part.physical[src];
          }
      }
    }
    start = end;
  }
  return data;
}

}  // namespace

WfdbData read_wfdb(const fs::path& record, const WfdbReadOptions& options) {
  fs::path hea = header_path(record);
  if (!fs::exists(hea)) throw InputError(hea.string(), "WFDB header not found");
  WfdbHeader h = read_wfdb_header(hea);
  return h.segment_count > 0 ? read_multi(hea, h, options) : read_single(hea, h, options);
}

}  // namespace ecgtwin::io
