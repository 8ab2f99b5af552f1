// load_record and save_record on real records. The references are read straight from the
// header text here (header(5): each signal line gives the gain, baseline, the first sample's
// value and the 16-bit sum of all samples), not through the library's WFDB reader.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "ecgtwin/data/record_io.hpp"
#include "ecgtwin/util/error.hpp"
#include "test_support.hpp"

namespace ecgtwin::data {
namespace {

struct SignalLine {
  double gain = 0;
  double baseline = 0;
  long initial = 0;
  long checksum = 0;
  std::string name;
};

std::vector<SignalLine> signal_lines(const fs::path& header) {
  std::ifstream in(header);
  std::string line;
  std::getline(in, line);  // record line
  std::vector<SignalLine> out;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string file, format, gain_text, bits, zero, block_size;
    SignalLine s;
    fields >> file >> format >> gain_text >> bits >> zero >> s.initial >> s.checksum >> block_size;
    std::getline(fields >> std::ws, s.name);
    // "GAIN(BASELINE)/UNITS"
    s.gain = std::stod(gain_text);
    auto open = gain_text.find('(');
    s.baseline = open == std::string::npos ? std::stod(zero) : std::stod(gain_text.substr(open + 1));
    out.push_back(s);
  }
  return out;
}

void expect_matches_header(const fs::path& header, const Record& record) {
  auto lines = signal_lines(header);
  ASSERT_EQ(lines.size(), 12u);
  for (std::size_t c = 0; c < lines.size(); ++c) {
    auto name = standard_lead_name(lines[c].name);
    ASSERT_TRUE(name.has_value()) << lines[c].name;
    auto l = std::find(record.lead_names.begin(), record.lead_names.end(), *name) - record.lead_names.begin();
    ASSERT_LT(l, 12);
    const float* x = record.lead(l);
    EXPECT_FLOAT_EQ(x[0], float((lines[c].initial - lines[c].baseline) / lines[c].gain)) << *name;
    // The checksum covers every sample: a wrong, shifted or mis-scaled sample breaks it.
    long sum = 0;
    for (std::int64_t i = 0; i < record.samples(); ++i)
      sum += std::lround(double(x[i]) * lines[c].gain + lines[c].baseline);
    EXPECT_EQ(((sum % 65536) + 65536) % 65536, lines[c].checksum % 65536) << *name;
  }
}

TEST(RecordData, PtbxlRecordsAtBothRates) {
  ECGTWIN_REQUIRE_SHARED_DATA("ptbxl-500/records100");
  const fs::path root = test::shared_data() / "ptbxl-500";
  for (const char* name : {"records100/00000/00001_lr", "records100/00000/00123_lr",
                           "records500/00000/00001_hr"}) {
    LoadInfo info;
    Record r = load_record(root / name, {}, &info);
    bool high = std::string(name).find("_hr") != std::string::npos;
    EXPECT_EQ(r.lead_names, standard_leads());
    EXPECT_EQ(r.sampling_rate, high ? 500 : 100);
    EXPECT_EQ(r.samples(), high ? 5000 : 1000);
    EXPECT_DOUBLE_EQ(r.seconds(), 10.0);
    EXPECT_EQ(info.checksums, "verified");
    EXPECT_EQ(info.non_finite, 0);
    EXPECT_EQ(r.id, fs::path(name).filename().string());
    expect_matches_header(root / (std::string(name) + ".hea"), r);
    // The same record by its .hea and .dat names.
    EXPECT_EQ(load_record(root / (std::string(name) + ".hea")).signal, r.signal);
    EXPECT_EQ(load_record(root / (std::string(name) + ".dat")).signal, r.signal);
  }
}

TEST(RecordData, SaveAndReloadIsExact) {
  ECGTWIN_REQUIRE_SHARED_DATA("ptbxl-500/records100");
  test::TempDir dir;
  Record r = load_record(test::shared_data() / "ptbxl-500/records100/00000/00001_lr");
  r.patient_id = "15709";
  r.age = 56;
  r.sex = Sex::kFemale;
  r.statements = {"normal ECG", "sinus rhythm"};
  fs::path hea = save_record(r, dir.path(), RecordFormat::kWfdb);
  EXPECT_EQ(hea, dir / "00001_lr.hea");
  // PTB-XL stores 1000 adu/mV in format 16, as save_record does: the samples come back
  // exactly.
  Record wfdb = load_record(hea);
  EXPECT_EQ(wfdb.signal, r.signal);
  EXPECT_EQ(wfdb.statements, r.statements);
  EXPECT_EQ(wfdb.sex, Sex::kFemale);
  Record npy = load_record(save_record(r, dir / "copy.npy", RecordFormat::kNpy));
  EXPECT_EQ(npy.signal, r.signal);
  EXPECT_EQ(npy.sampling_rate, 100);
  EXPECT_EQ(npy.patient_id, "15709");
}

TEST(RecordData, CpscTwoLeadRecords) {
  ECGTWIN_REQUIRE_SHARED_DATA("cpsc2021-sample");
  const fs::path path = test::shared_data() / "cpsc2021-sample/data_101_6";
  EXPECT_TRUE(test::throws_input_error([&] { load_record(path); }, {"missing lead(s) III"}))
      << "a 2-lead record without allow_missing_leads";
  LoadOptions options;
  options.allow_missing_leads = true;
  LoadInfo info;
  Record r = load_record(path, options, &info);
  EXPECT_EQ(r.lead_names, std::vector<std::string>({"I", "II"}));
  EXPECT_EQ(r.sampling_rate, 200);
  EXPECT_EQ(r.samples(), 22355);
  EXPECT_EQ(info.missing_leads.size(), 10u);
  // Gain 30061.28 adu/mV, baseline -161790 (from the header): the first sample of lead I.
  EXPECT_NEAR(r.lead(0)[0], (-10581.0 + 161790.0) / 30061.276794035417, 1e-5);
  ASSERT_FALSE(r.comments.empty());
  EXPECT_EQ(r.comments.back(), "paroxysmal atrial fibrillation");
}

}  // namespace
}  // namespace ecgtwin::data
