// WFDB reader conformance: every case of ../shared/data/wfdb-conformance/manifest.json,
// compared value by value with the output of PhysioNet's reference tools.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ecgtwin/io/wfdb.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "test_support.hpp"

namespace ecgtwin::io {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  if (path.extension() == ".gz") {
    std::string command = "gzip -dc '" + path.string() + "'";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return {};
    std::string text;
    char buffer[65536];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) text.append(buffer, n);
    ::pclose(pipe);
    return text;
  }
  return util::read_file(path);
}

std::vector<std::vector<std::string>> expected_rows(const fs::path& path, int skip, int drop) {
  std::istringstream in(read_text(path));
  std::vector<std::vector<std::string>> rows;
  std::string line;
  for (int i = 0; i < skip && std::getline(in, line); ++i) {
  }
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> row;
    std::string f;
    while (fields >> f) row.push_back(f);
    if (row.empty()) continue;
    row.erase(row.begin(), row.begin() + std::min<size_t>(drop, row.size()));
    rows.push_back(row);
  }
  return rows;
}

class Conformance : public ::testing::TestWithParam<std::string> {};

nlohmann::json manifest() {
  auto root = test::shared_data() / "wfdb-conformance";
  if (root.empty() || !fs::exists(root / "manifest.json")) return nlohmann::json::array();
  return nlohmann::json::parse(util::read_file(root / "manifest.json"));
}

TEST(WfdbConformance, EveryManifestCase) {
  ECGTWIN_REQUIRE_SHARED_DATA("wfdb-conformance/manifest.json");
  const auto root = test::shared_data() / "wfdb-conformance";
  int checked = 0;
  for (const auto& c : manifest()) {
    const std::string id = c["id"];
    SCOPED_TRACE(id);
    WfdbReadOptions options;
    options.sampfrom = c["sampfrom"].get<int64_t>();
    if (!c["sampto"].is_null()) options.sampto = c["sampto"].get<int64_t>();
    if (!c["channels"].is_null()) options.channels = c["channels"].get<std::vector<int>>();
    options.smooth_frames = c["smooth_frames"].get<bool>();
    const fs::path record = root / "records" / c["record"].get<std::string>();
    if (c["optional"].get<bool>()) {
      // FLAC formats are refused with a clear message.
      try {
        read_wfdb(record, options);
      } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("FLAC"), std::string::npos) << e.what();
      }
      continue;
    }
    WfdbData data;
    ASSERT_NO_THROW(data = read_wfdb(record, options));
    auto rows = expected_rows(root / "expected" / c["expected"].get<std::string>(),
                              c["expected_skip_lines"].get<int>(), c["expected_drop_columns"].get<int>());
    if (!c["expected_rows"].is_null()) {
      auto range = c["expected_rows"].get<std::vector<int64_t>>();
      rows = std::vector<std::vector<std::string>>(rows.begin() + range[0], rows.begin() + range[1]);
    }
    ASSERT_EQ(static_cast<int64_t>(rows.size()), data.rows);
    const bool digital = c["units"] == "digital";
    const int invalid_digital = c["invalid_digital"].is_null() ? -32768 : c["invalid_digital"].get<int>();
    const int decimals = digital ? 0 : c["decimals"].get<int>();
    int64_t mismatches = 0;
    for (int64_t r = 0; r < data.rows; ++r) {
      ASSERT_EQ(static_cast<int64_t>(rows[static_cast<size_t>(r)].size()), data.channels) << "row " << r;
      for (int64_t k = 0; k < data.channels; ++k) {
        const std::string& want = rows[static_cast<size_t>(r)][static_cast<size_t>(k)];
        const size_t i = static_cast<size_t>(r * data.channels + k);
        bool ok;
        if (digital) {
          int64_t got = data.digital[i] == kInvalidSample ? invalid_digital : data.digital[i];
          ok = std::to_string(got) == want;
        } else if (want == "-") {
          ok = std::isnan(data.physical[i]);
        } else {
          char buffer[64];
          std::snprintf(buffer, sizeof buffer, "%.*f", decimals, data.physical[i]);
          ok = std::fabs(data.physical[i] - std::stod(want)) <= 0.5 * std::pow(10.0, -decimals) + 1e-12 ||
               want == buffer;
        }
        if (!ok && mismatches++ < 5)
          ADD_FAILURE() << "row " << r << " column " << k << ": expected " << want << ", got "
                        << (digital ? std::to_string(data.digital[i]) : std::to_string(data.physical[i]));
      }
    }
    EXPECT_EQ(mismatches, 0);
    ++checked;
  }
  EXPECT_EQ(checked, 24);
}

// The same cases through the program: `ecgtwin convert ... --to csv -o -`.
TEST(WfdbConformance, EveryManifestCaseThroughTheProgram) {
  ECGTWIN_REQUIRE_SHARED_DATA("wfdb-conformance/manifest.json");
  const std::string program = test::program().string();
  const char* bin = program.c_str();
  if (!fs::exists(program)) GTEST_SKIP() << "the program " << program << " is not built";
  const auto root = test::shared_data() / "wfdb-conformance";
  int checked = 0;
  for (const auto& c : manifest()) {
    if (c["optional"].get<bool>()) continue;
    const std::string id = c["id"];
    SCOPED_TRACE(id);
    const bool digital = c["units"] == "digital";
    std::string command = std::string(bin) + " -q convert '" +
                          (root / "records" / c["record"].get<std::string>()).string() +
                          "' --to csv -o - --units " + (digital ? "digital" : "physical") +
                          " --sampfrom " + std::to_string(c["sampfrom"].get<int64_t>());
    if (!c["sampto"].is_null()) command += " --sampto " + std::to_string(c["sampto"].get<int64_t>());
    if (!c["channels"].is_null()) {
      std::string list;
      for (int k : c["channels"].get<std::vector<int>>()) list += (list.empty() ? "" : ",") + std::to_string(k);
      command += " --channels " + list;
    }
    if (!c["smooth_frames"].get<bool>()) command += " --expand-frames";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string text;
    char buffer[65536];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) text.append(buffer, n);
    ASSERT_EQ(::pclose(pipe), 0) << command;
    auto rows = expected_rows(root / "expected" / c["expected"].get<std::string>(),
                              c["expected_skip_lines"].get<int>(), c["expected_drop_columns"].get<int>());
    if (!c["expected_rows"].is_null()) {
      auto range = c["expected_rows"].get<std::vector<int64_t>>();
      rows = std::vector<std::vector<std::string>>(rows.begin() + range[0], rows.begin() + range[1]);
    }
    const int invalid_digital = c["invalid_digital"].is_null() ? -32768 : c["invalid_digital"].get<int>();
    const int decimals = digital ? 0 : c["decimals"].get<int>();
    std::istringstream in(text);
    std::string line;
    size_t r = 0;
    int64_t mismatches = 0;
    while (std::getline(in, line)) {
      ASSERT_LT(r, rows.size());
      std::vector<std::string> cells;
      std::string cell;
      std::istringstream fields(line);
      while (std::getline(fields, cell, ',')) cells.push_back(cell);
      if (!line.empty() && line.back() == ',') cells.push_back("");
      ASSERT_EQ(cells.size(), rows[r].size()) << "row " << r << ": " << line;
      for (size_t k = 0; k < cells.size(); ++k) {
        const std::string& want = rows[r][k];
        bool ok;
        if (cells[k].empty()) {
          ok = digital ? want == std::to_string(invalid_digital) : want == "-";
        } else if (digital) {
          ok = cells[k] == want;
        } else {
          ok = want != "-" && std::fabs(std::stod(cells[k]) - std::stod(want)) <= 0.5 * std::pow(10.0, -decimals) + 1e-12;
        }
        if (!ok && mismatches++ < 5) ADD_FAILURE() << "row " << r << " column " << k << ": expected " << want << ", got '" << cells[k] << "'";
      }
      ++r;
    }
    EXPECT_EQ(r, rows.size());
    EXPECT_EQ(mismatches, 0);
    ++checked;
  }
  EXPECT_EQ(checked, 24);
}

TEST(WfdbConformance, BadRecordsAreRefusedWithTheProblemNamed) {
  ECGTWIN_REQUIRE_SHARED_DATA("wfdb-conformance/bad");
  const auto bad = test::shared_data() / "wfdb-conformance" / "bad";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"bad_truncated_dat", "shorter"},       {"bad_signal_count", "3 signals but has 2"},
      {"bad_gain_text", "invalid ADC gain"},  {"bad_checksum", "checksum mismatch for signal 0 (header -112, data -111)"},
      {"bad_missing_dat", "cannot open signal file"}, {"bad_format_999", "unsupported signal format 999"},
      {"bad_zero_fs", "sampling frequency must be > 0"}, {"bad_negative_length", "negative record length"},
      {"bad_spf_zero", "samples per frame must be >= 1"}, {"bad_missing_segment", "segment header not found"}};
  for (const auto& [name, problem] : cases) {
    SCOPED_TRACE(name);
    // The message says the problem and names the file.
    const fs::path record = bad / name;
    EXPECT_TRUE(test::throws_input_error([&] { read_wfdb(record); }, {problem, "bad_"}));
  }
  // A read that stays inside the data of the truncated file succeeds; so do the first 100
  // samples of the record whose second segment is missing.
  WfdbReadOptions first;
  first.sampto = 62;
  EXPECT_EQ(read_wfdb(bad / "bad_truncated_dat", first).rows, 62);
  WfdbReadOptions segment0;
  segment0.sampto = 100;
  EXPECT_EQ(read_wfdb(bad / "bad_missing_segment", segment0).rows, 100);
  // The control reads, with the documented values.
  auto ok = read_wfdb(bad / "ok_control");
  ASSERT_EQ(ok.rows, 100);
  EXPECT_TRUE(ok.checksums_verified);
  for (int64_t j = 0; j < 100; ++j) {
    EXPECT_EQ(ok.digital[static_cast<size_t>(2 * j)], (37 * j) % 201 - 100);
    EXPECT_EQ(ok.digital[static_cast<size_t>(2 * j + 1)], 50 - (13 * j) % 101);
  }
}

std::vector<std::string> split_ws(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  std::string f;
  while (in >> f) out.push_back(f);
  return out;
}

void check_annotations(const fs::path& file, const fs::path& reference) {
  auto annotations = read_wfdb_annotations(file);
  std::istringstream in(util::read_file(reference));
  std::string line;
  size_t k = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    // Columns: time, sample, symbol, subtype, chan, num, then a tab and the aux note.
    auto tab = line.find('\t');
    std::string aux = tab == std::string::npos ? "" : line.substr(tab + 1);
    auto f = split_ws(line.substr(0, tab));
    ASSERT_GE(f.size(), 6u) << line;
    ASSERT_LT(k, annotations.size());
    const auto& a = annotations[k];
    EXPECT_EQ(std::to_string(a.sample), f[f.size() - 5]) << "annotation " << k;
    EXPECT_EQ(a.symbol, f[f.size() - 4]) << "annotation " << k;
    EXPECT_EQ(std::to_string(a.subtype), f[f.size() - 3]) << "annotation " << k;
    EXPECT_EQ(std::to_string(a.chan), f[f.size() - 2]) << "annotation " << k;
    EXPECT_EQ(std::to_string(a.num), f[f.size() - 1]) << "annotation " << k;
    EXPECT_EQ(a.aux, aux) << "annotation " << k;
    ++k;
  }
  EXPECT_EQ(k, annotations.size());
}

TEST(WfdbAnnotations, ReproduceRdann) {
  ECGTWIN_REQUIRE_SHARED_DATA("wfdb-conformance/annotations");
  const auto dir = test::shared_data() / "wfdb-conformance" / "annotations";
  check_annotations(dir / "100.atr", dir / "100.atr.rdann.txt");
  check_annotations(dir / "12726.anI", dir / "12726.anI.rdann.txt");
  auto beats = read_wfdb_annotations(dir / "100.atr");
  int64_t count = 0;
  for (const auto& a : beats) count += is_beat_annotation(a.code);
  EXPECT_EQ(count, 2273);  // MIT-BIH record 100: 2239 N + 33 A + 1 V
}

}  // namespace
}  // namespace ecgtwin::io
