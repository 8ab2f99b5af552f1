#include "ecgtwin/data/dataset.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>
#include <unordered_map>

#include "ecgtwin/io/csv.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::data {
namespace {

std::string trim(const std::string& text) {
  std::size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return text.substr(b, e - b);
}

std::optional<double> parse_number(const std::string& text) {
  std::string t = trim(text);
  if (t.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string field(const io::CsvTable&, const std::vector<std::string>& row,
                  std::optional<std::size_t> column) {
  return column && *column < row.size() ? row[*column] : std::string();
}

}  // namespace

std::size_t DatasetIndex::patients() const {
  std::set<std::string> ids;
  for (const auto& e : entries) ids.insert(e.patient_id);
  return ids.size();
}

std::size_t DatasetIndex::patients_with_multiple_records() const {
  std::map<std::string, int> counts;
  for (const auto& e : entries) ++counts[e.patient_id];
  std::size_t n = 0;
  for (const auto& [id, count] : counts) n += count > 1;
  return n;
}

std::vector<std::pair<std::string, double>> parse_scp_codes(const std::string& text,
                                                            const std::string& source) {
  auto fail = [&](const std::string& what) {
    throw InputError(source, "scp_codes \"" + text + "\": " + what);
  };
  std::vector<std::pair<std::string, double>> codes;
  std::size_t i = 0;
  auto skip = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  skip();
  if (i >= text.size() || text[i] != '{') fail("expected a dict starting with '{'");
  ++i;
  skip();
  if (i < text.size() && text[i] == '}') {
    ++i;
  } else {
    while (true) {
      skip();
      if (i >= text.size() || (text[i] != '\'' && text[i] != '"')) fail("expected a quoted key");
      char quote = text[i++];
      std::size_t end = text.find(quote, i);
      if (end == std::string::npos) fail("unterminated key");
      std::string key = text.substr(i, end - i);
      i = end + 1;
      skip();
      if (i >= text.size() || text[i] != ':') fail("expected ':' after '" + key + "'");
      ++i;
      skip();
      std::size_t start = i;
      while (i < text.size() && text[i] != ',' && text[i] != '}') ++i;
      auto value = parse_number(text.substr(start, i - start));
      if (!value) fail("expected a number for '" + key + "'");
      codes.emplace_back(key, *value);
      if (i >= text.size()) fail("expected '}'");
      if (text[i] == '}') {
        ++i;
        break;
      }
      ++i;  // ','
      skip();
      if (i < text.size() && text[i] == '}') {  // trailing comma
        ++i;
        break;
      }
    }
  }
  skip();
  if (i != text.size()) fail("unexpected text after '}'");
  return codes;
}

std::string normalise_patient_id(const std::string& text) {
  std::string t = trim(text);
  auto v = parse_number(t);
  if (v && *v == std::floor(*v) && std::fabs(*v) < 1e15)
    return std::to_string(static_cast<long long>(*v));
  return t;
}

std::vector<std::string> split_statements(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i)
    if (i == text.size() || text[i] == '|') {
      std::string s = trim(text.substr(start, i - start));
      if (!s.empty()) out.push_back(s);
      start = i + 1;
    }
  return out;
}

DatasetIndex index_ptbxl(const fs::path& root, const PtbxlOptions& options) {
  if (options.fs_source != 100 && options.fs_source != 500)
    throw InputError("fs_source", "expected 100 or 500, got " + std::to_string(options.fs_source));
  const fs::path db_path = root / "ptbxl_database.csv";
  if (!fs::exists(db_path)) throw InputError(db_path.string(), "PTB-XL table not found");
  io::CsvTable db = io::read_csv(db_path);
  const std::size_t c_id = db.column("ecg_id");
  const std::size_t c_patient = db.column("patient_id");
  const std::size_t c_file = db.column(options.fs_source == 100 ? "filename_lr" : "filename_hr");
  const auto c_age = db.find_column("age");
  const auto c_sex = db.find_column("sex");
  const auto c_date = db.find_column("recording_date");
  const auto c_fold = db.find_column("strat_fold");
  const auto c_statements = db.find_column("statements");
  const auto c_hr = db.find_column("heart_rate");

  struct Scp {
    std::string description;
    bool diagnostic = false;
  };
  std::unordered_map<std::string, Scp> scp;
  std::optional<std::size_t> c_codes;
  if (!c_statements) {
    c_codes = db.column("scp_codes");
    const fs::path scp_path = root / "scp_statements.csv";
    if (!fs::exists(scp_path)) throw InputError(scp_path.string(), "SCP statement table not found");
    io::CsvTable table = io::read_csv(scp_path);
    const std::size_t c_desc = table.column("description");
    const std::size_t c_diag = table.column("diagnostic");
    for (const auto& row : table.rows) {
      auto diag = parse_number(row[c_diag]);
      scp[trim(row[0])] = Scp{trim(row[c_desc]), diag && *diag > 0};
    }
  }

  DatasetIndex index;
  index.kind = "ptbxl";
  index.root = root;
  index.entries.reserve(db.rows.size());
  for (std::size_t r = 0; r < db.rows.size(); ++r) {
    const auto& row = db.rows[r];
    const std::string where = db_path.string() + " row " + std::to_string(r + 2);
    DatasetEntry e;
    e.id = normalise_patient_id(row[c_id]);
    e.patient_id = normalise_patient_id(row[c_patient]);
    if (e.id.empty()) throw InputError(where, "empty ecg_id");
    if (e.patient_id.empty()) throw InputError(where, "empty patient_id");
    e.path = root / trim(row[c_file]);
    e.age = parse_number(field(db, row, c_age));
    // PTB-XL writes the age of patients older than 89 as 300 (HIPAA; Wagner et al. 2020).
    if (e.age && *e.age >= 300) e.age = 90.0;
    std::string sex = trim(field(db, row, c_sex));
    if (!sex.empty()) e.sex = parse_sex(sex);
    e.recording_date = trim(field(db, row, c_date));
    if (auto fold = parse_number(field(db, row, c_fold))) e.strat_fold = static_cast<int>(*fold);
    e.heart_rate = parse_number(field(db, row, c_hr));
    if (c_statements) {
      e.statements = split_statements(row[*c_statements]);
    } else {
      for (const auto& [code, likelihood] : parse_scp_codes(row[*c_codes], where)) {
        auto it = scp.find(code);
        if (it == scp.end())
          throw InputError(where, "SCP code '" + code + "' is not in scp_statements.csv");
        if (it->second.diagnostic && !(likelihood > options.min_likelihood)) continue;
        e.statements.push_back(it->second.description);
      }
    }
    index.entries.push_back(std::move(e));
  }
  return index;
}

DatasetIndex index_mimic(const fs::path& root) {
  const fs::path list_path = root / "record_list.csv";
  if (!fs::exists(list_path))
    throw InputError(list_path.string(), "MIMIC-IV-ECG record list not found");
  io::CsvTable list = io::read_csv(list_path);
  const std::size_t c_subject = list.column("subject_id");
  const std::size_t c_study = list.column("study_id");
  const std::size_t c_path = list.column("path");
  const auto c_time = list.find_column("ecg_time");

  struct Measurements {
    std::vector<std::string> statements;
    std::optional<double> hr;
  };
  std::unordered_map<std::string, Measurements> by_study;
  const fs::path mm_path = root / "machine_measurements.csv";
  if (fs::exists(mm_path)) {
    io::CsvTable mm = io::read_csv(mm_path);
    const std::size_t m_study = mm.column("study_id");
    mm.column("subject_id");
    std::vector<std::size_t> reports;
    for (int k = 0; k < 18; ++k)
      if (auto c = mm.find_column("report_" + std::to_string(k))) reports.push_back(*c);
    const auto c_rr = mm.find_column("rr_interval");
    for (const auto& row : mm.rows) {
      Measurements m;
      for (std::size_t c : reports) {
        std::string s = trim(row[c]);
        if (!s.empty()) m.statements.push_back(s);
      }
      // An interval of 0 or an implausible one (outside 200-3000 ms, i.e. 20-300 bpm) is a
      // placeholder of the machine: the rate stays unknown.
      if (auto rr = parse_number(field(mm, row, c_rr)); rr && *rr >= 200 && *rr <= 3000)
        m.hr = 60000.0 / *rr;
      by_study[normalise_patient_id(row[m_study])] = std::move(m);
    }
  }

  DatasetIndex index;
  index.kind = "mimic";
  index.root = root;
  for (const auto& row : list.rows) {
    DatasetEntry e;
    e.patient_id = normalise_patient_id(row[c_subject]);
    e.id = normalise_patient_id(row[c_study]);
    e.path = root / trim(row[c_path]);
    e.recording_date = trim(field(list, row, c_time));
    auto it = by_study.find(e.id);
    if (it != by_study.end()) {
      e.statements = it->second.statements;
      e.heart_rate = it->second.hr;
    }
    index.entries.push_back(std::move(e));
  }
  return index;
}

DatasetIndex index_manifest(const fs::path& manifest) {
  if (!fs::exists(manifest)) throw InputError(manifest.string(), "manifest not found");
  io::CsvTable table = io::read_csv(manifest);
  const std::size_t c_path = table.column("path");
  const std::size_t c_patient = table.column("patient_id");
  const std::size_t c_report = table.column("report");
  const auto c_hr = table.find_column("hr");
  const auto c_age = table.find_column("age");
  const auto c_sex = table.find_column("sex");
  const auto c_date = table.find_column("recording_date");
  const auto c_fs = table.find_column("fs");
  DatasetIndex index;
  index.kind = "manifest";
  index.root = manifest.parent_path();
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    DatasetEntry e;
    std::string rel = trim(row[c_path]);
    if (rel.empty())
      throw InputError(manifest.string() + " row " + std::to_string(r + 2), "empty path");
    e.path = index.root / rel;
    // The relative path without its extension: unique even when two folders hold files of
    // the same name.
    e.id = (fs::path(rel).parent_path() / fs::path(rel).stem()).generic_string();
    e.patient_id = normalise_patient_id(row[c_patient]);
    e.statements = split_statements(row[c_report]);
    e.heart_rate = parse_number(field(table, row, c_hr));
    e.age = parse_number(field(table, row, c_age));
    std::string sex = trim(field(table, row, c_sex));
    if (!sex.empty()) e.sex = parse_sex(sex);
    e.recording_date = trim(field(table, row, c_date));
    if (const std::string rate = trim(field(table, row, c_fs)); !rate.empty()) {
      e.sampling_rate = parse_number(rate);
      if (!e.sampling_rate || !(*e.sampling_rate > 0))
        throw InputError(manifest.string() + " row " + std::to_string(r + 2) + " column fs",
                         "expected a sampling rate in Hz (a positive number), got '" + rate + "'");
    }
    index.entries.push_back(std::move(e));
  }
  return index;
}

DatasetIndex index_dataset(const std::string& kind, const fs::path& path,
                           const PtbxlOptions& ptbxl) {
  if (kind == "ptbxl") return index_ptbxl(path, ptbxl);
  if (kind == "mimic") return index_mimic(path);
  if (kind == "manifest") return index_manifest(path);
  throw InputError("--dataset", "expected ptbxl, mimic or manifest, got '" + kind + "'");
}

}  // namespace ecgtwin::data
