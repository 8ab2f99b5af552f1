// Loading WFDB, NPY and CSV files into a Record with the standard leads in mV.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>

#include "ecgtwin/data/record_io.hpp"
#include "ecgtwin/io/csv.hpp"
#include "ecgtwin/io/npy.hpp"
#include "ecgtwin/io/wfdb.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"

namespace ecgtwin::data {

namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Channels as read from the file, in file order, already in mV: [channels x samples].
struct Channels {
  std::vector<std::string> names;
  std::vector<std::string> units;
  std::int64_t samples = 0;
  std::vector<float> mv;
};

double scale_for(const std::string& units, const std::string& source, const std::string& channel) {
  auto scale = millivolts_per_unit(units);
  if (!scale)
    throw InputError(source, "lead " + channel + " has units '" + units +
                                 "'; expected mV, uV or V");
  return *scale;
}

// Normalises names, drops what is not a lead, puts the leads in the standard order.
Record assemble(const Channels& in, const std::string& source, const LoadOptions& options,
                LoadInfo& info) {
  const auto& standard = standard_leads();
  std::vector<int> from(standard.size(), -1);
  std::vector<bool> negate(standard.size(), false);
  for (std::size_t c = 0; c < in.names.size(); ++c) {
    bool inverted = false;
    auto name = standard_lead_name(in.names[c], &inverted);
    std::size_t slot = name ? std::find(standard.begin(), standard.end(), *name) - standard.begin()
                            : standard.size();
    if (slot == standard.size() || from[slot] >= 0) {
      spdlog::debug("{}: channel '{}' dropped ({})", source, in.names[c],
                    slot == standard.size() ? "not an ECG lead" : "duplicate lead");
      info.dropped.push_back(in.names[c]);
      continue;
    }
    from[slot] = static_cast<int>(c);
    negate[slot] = inverted;
  }
  info.missing_leads.clear();
  for (std::size_t s = 0; s < standard.size(); ++s)
    if (from[s] < 0) info.missing_leads.push_back(standard[s]);
  if (!info.missing_leads.empty() && !options.allow_missing_leads)
    throw InputError(source, "missing lead(s) " + join(info.missing_leads) + " (channels found: " +
                                 join(in.names) + ")");
  Record record;
  record.source = source;
  const std::int64_t n = in.samples;
  for (std::size_t s = 0; s < standard.size(); ++s) {
    if (from[s] < 0) continue;
    record.lead_names.push_back(standard[s]);
    record.units.push_back("mV");
    const float* src = in.mv.data() + static_cast<std::int64_t>(from[s]) * n;
    for (std::int64_t i = 0; i < n; ++i) {
      float v = negate[s] ? -src[i] : src[i];
      if (!std::isfinite(v)) {
        v = std::numeric_limits<float>::quiet_NaN();
        ++info.non_finite;
      }
      record.signal.push_back(v);
    }
  }
  if (record.lead_names.empty())
    throw InputError(source, "no ECG lead among the channels (" + join(in.names) + ")");
  return record;
}

Record load_wfdb_record(const fs::path& path, const LoadOptions& options, LoadInfo& info) {
  fs::path record_path = path;
  auto ext = lower(path.extension().string());
  if (ext == ".hea" || ext == ".dat" || ext == ".mat") record_path.replace_extension();
  fs::path header_path = record_path;
  header_path += ".hea";
  if (!fs::exists(header_path))
    throw InputError(header_path.string(), "no such WFDB header (expected a .hea, .npy or .csv file)");
  io::WfdbReadOptions read_options;
  read_options.verify_checksums = options.verify_checksums;
  io::WfdbData data = io::read_wfdb(record_path, read_options);
  const std::string source = record_path.string() + ".hea";
  Channels channels;
  channels.names = data.names;
  channels.units = data.units;
  channels.samples = data.rows;
  channels.mv.resize(static_cast<std::size_t>(data.rows * data.channels));
  for (std::int64_t c = 0; c < data.channels; ++c) {
    auto units = c < static_cast<std::int64_t>(data.units.size()) ? data.units[c] : "mV";
    bool lead = standard_lead_name(data.names[c]).has_value();
    double scale = lead ? scale_for(units, source, data.names[c]) : 1.0;
    for (std::int64_t r = 0; r < data.rows; ++r)
      channels.mv[c * data.rows + r] = static_cast<float>(data.physical[r * data.channels + c] * scale);
  }
  info.channels = data.names;
  info.units = data.units;
  bool any_checksum = false;
  for (const auto& spec : data.header.signals) any_checksum = any_checksum || spec.checksum.has_value();
  info.checksums = data.checksums_verified ? "verified"
                                           : (any_checksum ? "not checked" : "not stored");
  info.warnings.insert(info.warnings.end(), data.warnings.begin(), data.warnings.end());
  Record record = assemble(channels, source, options, info);
  record.id = data.header.record_name;
  record.sampling_rate = data.frequency;
  apply_metadata_comments(record, data.header.comments, source);
  return record;
}

// NAME.json beside an NPY or CSV file, when it holds a sampling rate.
nlohmann::json read_sidecar(const fs::path& path) {
  fs::path sidecar = fs::path(path).replace_extension(".json");
  if (!fs::exists(sidecar)) return nullptr;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(util::read_file(sidecar));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(sidecar.string(), std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object() || !j.contains("sampling_rate")) return nullptr;
  return j;
}

void apply_sidecar(Record& record, const nlohmann::json& j, const std::string& where) {
  try {
    if (j.contains("id")) record.id = j["id"].get<std::string>();
    if (j.contains("patient_id")) record.patient_id = j["patient_id"].get<std::string>();
    if (j.contains("age") && !j["age"].is_null()) record.age = j["age"].get<double>();
    if (j.contains("sex")) record.sex = parse_sex(j["sex"].get<std::string>());
    if (j.contains("hr") && !j["hr"].is_null()) record.heart_rate = j["hr"].get<double>();
    if (j.contains("statements")) record.statements = j["statements"].get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where, std::string("bad metadata: ") + e.what());
  }
}

// Samples [rows x columns] in file order from NPY or CSV, turned into a Record.
Record load_matrix(const fs::path& path, std::vector<double> values, std::int64_t rows,
                   std::int64_t columns, std::vector<std::string> header,
                   std::optional<double> time_rate, const LoadOptions& options, LoadInfo& info) {
  const std::string source = path.string();
  nlohmann::json sidecar = read_sidecar(path);
  const std::string sidecar_name = fs::path(path).replace_extension(".json").string();
  std::vector<std::string> names = header;
  if (names.empty()) names = options.lead_names;
  if (names.empty() && sidecar.is_object() && sidecar.contains("leads")) {
    try {
      names = sidecar["leads"].get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception&) {
      throw InputError(sidecar_name, "\"leads\" must be a list of lead names");
    }
  }
  if (names.empty()) names = standard_leads();
  const auto leads = static_cast<std::int64_t>(names.size());
  // Either one column per lead (samples down the rows) or one row per lead; a header row
  // always means one column per channel.
  bool by_row;
  if (!header.empty() || columns == leads) {
    by_row = false;
  } else if (rows == leads) {
    by_row = true;
  } else {
    throw InputError(source, "expected [" + std::to_string(leads) + " x N] or [N x " +
                                 std::to_string(leads) + "] samples, found [" +
                                 std::to_string(rows) + " x " + std::to_string(columns) +
                                 "]; name the channels (a header row, or \"leads\" in " +
                                 sidecar_name + ")");
  }
  if ((by_row ? rows : columns) != leads)
    throw InputError(source, std::to_string(leads) + " channel names for " +
                                 std::to_string(by_row ? rows : columns) + " channels");
  double rate = 0;
  if (options.sampling_rate) {
    rate = *options.sampling_rate;
  } else if (sidecar.is_object()) {
    rate = sidecar["sampling_rate"].is_number() ? sidecar["sampling_rate"].get<double>() : 0;
  } else if (time_rate) {
    rate = *time_rate;
  } else {
    throw InputError(source, to_string(record_format_of(path)) +
                                 " files carry no sampling rate: give it (--fs HZ) or write "
                                 "{\"sampling_rate\": HZ} to " + sidecar_name);
  }
  if (!(rate > 0) || !std::isfinite(rate))
    throw InputError(source, "sampling rate must be a positive number of Hz");
  std::string units = options.units;
  if (sidecar.is_object() && sidecar.contains("units") && sidecar["units"].is_string())
    units = sidecar["units"].get<std::string>();
  Channels channels;
  channels.names = names;
  channels.samples = by_row ? columns : rows;
  channels.units.assign(names.size(), units);
  channels.mv.resize(values.size());
  for (std::int64_t c = 0; c < leads; ++c) {
    bool lead = standard_lead_name(names[c]).has_value();
    double scale = lead ? scale_for(units, source, names[c]) : 1.0;
    for (std::int64_t i = 0; i < channels.samples; ++i) {
      double v = by_row ? values[c * columns + i] : values[i * columns + c];
      channels.mv[c * channels.samples + i] = static_cast<float>(v * scale);
    }
  }
  info.channels = names;
  info.units = channels.units;
  info.checksums = "not stored";
  Record record = assemble(channels, source, options, info);
  record.id = path.stem().string();
  record.sampling_rate = rate;
  if (sidecar.is_object()) apply_sidecar(record, sidecar, sidecar_name);
  return record;
}

Record load_npy_record(const fs::path& path, const LoadOptions& options, LoadInfo& info) {
  io::NpyArray array = io::read_npy(path);
  std::vector<std::int64_t> shape = array.shape;
  while (shape.size() > 2 && shape.front() == 1) shape.erase(shape.begin());
  if (shape.size() != 2)
    throw InputError(path.string(), "expected a 2-D array [leads x samples] or [samples x leads], "
                                    "found " + std::to_string(array.shape.size()) + " dimensions");
  return load_matrix(path, array.to_double(), shape[0], shape[1], {}, std::nullopt, options, info);
}

Record load_csv_record(const fs::path& path, const LoadOptions& options, LoadInfo& info) {
  std::int64_t rows = 0, columns = 0;
  std::vector<std::string> header;
  std::vector<double> values = io::read_matrix_csv(path, &rows, &columns, &header);
  std::optional<double> time_rate;
  for (std::size_t c = 0; c < header.size(); ++c) {
    auto name = lower(trim(header[c]));
    if ((name == "time" || name == "t" || name == "time_s" || name == "seconds") && rows >= 2) {
      double span = values[(rows - 1) * columns + c] - values[c];
      if (span > 0) time_rate = double(rows - 1) / span;
    }
  }
  return load_matrix(path, std::move(values), rows, columns, header, time_rate, options, info);
}

}  // namespace

std::string to_string(RecordFormat format) {
  switch (format) {
    case RecordFormat::kWfdb: return "WFDB";
    case RecordFormat::kNpy: return "NPY";
    case RecordFormat::kCsv: return "CSV";
  }
  return "?";
}

RecordFormat record_format_of(const fs::path& path) {
  auto ext = lower(path.extension().string());
  if (ext == ".npy") return RecordFormat::kNpy;
  if (ext == ".csv") return RecordFormat::kCsv;
  return RecordFormat::kWfdb;
}

std::optional<std::string> standard_lead_name(const std::string& name, bool* inverted) {
  std::string s = trim(name);
  bool minus = !s.empty() && s[0] == '-';
  if (minus) s = trim(s.substr(1));
  std::string key;
  for (char c : upper(s))
    if (c != ' ' && c != '_' && c != '.') key.push_back(c);
  if (key.rfind("LEAD", 0) == 0) key = key.substr(4);
  // MIT-BIH's modified limb leads (MLII) and the D1/DII notation of some European devices.
  static const std::vector<std::pair<std::vector<std::string>, std::string>> kAliases = {
      {{"I", "DI", "D1", "MLI"}, "I"},        {{"II", "DII", "D2", "MLII", "ML2"}, "II"},
      {{"III", "DIII", "D3", "MLIII"}, "III"}, {{"AVR"}, "aVR"}, {{"AVL"}, "aVL"},
      {{"AVF"}, "aVF"}, {{"V1"}, "V1"}, {{"V2"}, "V2"}, {{"V3"}, "V3"},
      {{"V4"}, "V4"}, {{"V5"}, "V5"}, {{"V6"}, "V6"}};
  for (const auto& [aliases, standard] : kAliases) {
    if (std::find(aliases.begin(), aliases.end(), key) != aliases.end()) {
      if (inverted) *inverted = minus;
      return standard;
    }
  }
  return std::nullopt;
}

std::optional<double> millivolts_per_unit(const std::string& units) {
  std::string u = trim(units);
  if (u.empty() || u == "mV" || lower(u) == "mv" || lower(u) == "millivolt") return 1.0;
  if (u == "uV" || lower(u) == "uv" || u == "\xC2\xB5V" || u == "\xCE\xBCV" || lower(u) == "microvolt")
    return 1e-3;
  if (u == "V" || lower(u) == "volt") return 1e3;
  return std::nullopt;
}

std::optional<std::string> standard_units(const std::string& units) {
  const auto scale = millivolts_per_unit(units);
  if (!scale) return std::nullopt;
  return *scale == 1.0 ? "mV" : *scale < 1.0 ? "uV" : "V";
}

Record load_record(const fs::path& path, const LoadOptions& options, LoadInfo* info) {
  LoadInfo local;
  LoadInfo& out = info ? *info : local;
  out = LoadInfo{};
  out.format = record_format_of(path);
  if (out.format != RecordFormat::kWfdb && !fs::exists(path))
    throw InputError(path.string(), "no such file");
  switch (out.format) {
    case RecordFormat::kNpy: return load_npy_record(path, options, out);
    case RecordFormat::kCsv: return load_csv_record(path, options, out);
    case RecordFormat::kWfdb: break;
  }
  return load_wfdb_record(path, options, out);
}

}  // namespace ecgtwin::data
