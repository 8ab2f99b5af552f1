// Writing a Record as WFDB or NPY, and its metadata as WFDB header comments.
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "ecgtwin/data/record_io.hpp"
#include "ecgtwin/io/npy.hpp"
#include "ecgtwin/io/wfdb.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "ecgtwin/util/number_text.hpp"

namespace ecgtwin::data {

namespace {

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::optional<double> parse_number(const std::string& text) {
  std::string t = trim(text);
  double value = 0;
  auto result = std::from_chars(t.data(), t.data() + t.size(), value);
  if (result.ec != std::errc() || result.ptr != t.data() + t.size() || !std::isfinite(value))
    return std::nullopt;
  return value;
}

// The record's samples in mV, [leads x samples].
std::vector<float> signal_in_mv(const Record& record) {
  std::vector<float> out = record.signal;
  const std::int64_t n = record.samples();
  for (std::int64_t l = 0; l < record.leads(); ++l) {
    std::string units = l < static_cast<std::int64_t>(record.units.size()) ? record.units[l] : "mV";
    auto scale = millivolts_per_unit(units);
    if (!scale) throw InputError(record.id, "lead " + record.lead_names[l] + " has unknown units '" + units + "'");
    if (*scale != 1.0)
      for (std::int64_t i = 0; i < n; ++i) out[l * n + i] = static_cast<float>(out[l * n + i] * *scale);
  }
  return out;
}

fs::path output_path(const Record& record, const fs::path& dir_or_path, const std::string& ext) {
  if (lower(dir_or_path.extension().string()) == ext) return dir_or_path;
  if (record.id.empty())
    throw InputError(dir_or_path.string(), "the record has no id to name the file after; give a "
                                           "file name ending in " + ext);
  return dir_or_path / (record.id + ext);
}

std::optional<Sex> sex_of(const std::string& value) {
  try {
    return parse_sex(value);
  } catch (const InputError&) {
    return std::nullopt;
  }
}

std::string mit_field(const std::string& line, const std::string& tag) {
  auto at = line.find(tag);
  if (at == std::string::npos) return "";
  std::size_t start = at + tag.size();
  while (start < line.size() && (line[start] == ':' || line[start] == ' ')) ++start;
  std::size_t end = line.find('<', start);
  return trim(line.substr(start, end == std::string::npos ? std::string::npos : end - start));
}

void apply_mit_fields(Record& record, const std::string& line) {
  if (auto age = parse_number(mit_field(line, "<age>"))) record.age = age;
  if (auto sex = sex_of(mit_field(line, "<sex>")); sex && *sex != Sex::kUnknown) record.sex = *sex;
  record.comments.push_back(line);
}

}  // namespace

std::vector<std::string> metadata_comments(const Record& record) {
  std::vector<std::string> lines;
  if (!record.patient_id.empty()) lines.push_back("patient_id: " + record.patient_id);
  if (record.age) lines.push_back("age: " + number_text(*record.age));
  if (record.sex != Sex::kUnknown) lines.push_back("sex: " + to_string(record.sex));
  if (record.heart_rate) lines.push_back("hr: " + number_text(*record.heart_rate));
  if (!record.statements.empty()) {
    std::string joined;
    for (const auto& s : record.statements) joined += (joined.empty() ? "" : " | ") + s;
    lines.push_back("statements: " + joined);
  }
  return lines;
}

void apply_metadata_comments(Record& record, const std::vector<std::string>& comments,
                             const std::string& /*source*/) {
  for (const auto& comment : comments) {
    std::string line = trim(comment);
    auto colon = line.find(':');
    std::string key = colon == std::string::npos ? "" : lower(trim(line.substr(0, colon)));
    std::string value = colon == std::string::npos ? "" : trim(line.substr(colon + 1));
    if (key == "patient_id" || key == "patient id" || key == "patient") {
      record.patient_id = value;
    } else if (key == "age" && parse_number(value)) {
      record.age = parse_number(value);
    } else if ((key == "sex" || key == "gender") && sex_of(value)) {
      record.sex = *sex_of(value);
    } else if (key == "<age>" || key == "<sex>") {
      // MIT-BIH style: "<age>: 25  <sex>: M  <diagnoses>: (none)  ..."
      apply_mit_fields(record, line);
    } else if ((key == "hr" || key == "heart_rate" || key == "heart rate") && parse_number(value)) {
      record.heart_rate = parse_number(value);
    } else if (key == "statements") {
      record.statements.clear();
      std::size_t start = 0;
      while (start <= value.size()) {
        auto bar = value.find('|', start);
        std::string item = trim(value.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
        if (!item.empty()) record.statements.push_back(item);
        if (bar == std::string::npos) break;
        start = bar + 1;
      }
    } else if (!line.empty()) {
      record.comments.push_back(line);
    }
  }
}

fs::path save_record(const Record& record, const fs::path& dir_or_path, RecordFormat format) {
  if (record.leads() == 0 || record.signal.size() % record.lead_names.size() != 0)
    throw InputError(record.id, "record has no leads or a signal that is not [leads x samples]");
  std::vector<float> mv = signal_in_mv(record);
  if (format == RecordFormat::kNpy) {
    fs::path npy = output_path(record, dir_or_path, ".npy");
    nlohmann::json meta = {{"sampling_rate", record.sampling_rate},
                           {"leads", record.lead_names},
                           {"units", "mV"},
                           {"id", record.id.empty() ? npy.stem().string() : record.id}};
    if (!record.patient_id.empty()) meta["patient_id"] = record.patient_id;
    if (record.age) meta["age"] = *record.age;
    if (record.sex != Sex::kUnknown) meta["sex"] = to_string(record.sex);
    if (record.heart_rate) meta["hr"] = *record.heart_rate;
    if (!record.statements.empty()) meta["statements"] = record.statements;
    util::AtomicFile array_file(npy);
    array_file.write(io::encode_npy(mv.data(), {record.leads(), record.samples()}));
    util::write_file_atomic(fs::path(npy).replace_extension(".json"), meta.dump(2) + "\n");
    array_file.commit();
    return npy;
  }
  if (format != RecordFormat::kWfdb)
    throw InputError(dir_or_path.string(), "records are saved as WFDB or NPY, not " + to_string(format));
  fs::path header = output_path(record, dir_or_path, ".hea");
  io::WfdbWriteRequest request;
  request.record_name = header.stem().string();
  request.sampling_frequency = record.sampling_rate;
  request.format = 16;
  request.names = record.lead_names;
  request.units.assign(record.lead_names.size(), "mV");
  request.baselines.assign(record.lead_names.size(), 0);
  const std::int64_t n = record.samples();
  for (std::int64_t l = 0; l < record.leads(); ++l) {
    float peak = 0;
    for (std::int64_t i = 0; i < n; ++i)
      if (std::isfinite(mv[l * n + i])) peak = std::max(peak, std::abs(mv[l * n + i]));
    // Format 16 holds -32767..32767 (-32768 marks an invalid sample): 1000 adu/mV covers
    // +-32.767 mV; a larger amplitude gets the largest whole gain that fits.
    double gain = 1000.0;
    if (peak * gain > 32767.0) gain = std::max(1.0, std::floor(32767.0 / peak));
    request.gains.push_back(gain);
  }
  request.comments = metadata_comments(record);
  request.comments.insert(request.comments.end(), record.comments.begin(), record.comments.end());
  request.samples = n;
  request.physical = std::move(mv);
  return io::write_wfdb(header.parent_path().empty() ? fs::path(".") : header.parent_path(), request);
}

}  // namespace ecgtwin::data
