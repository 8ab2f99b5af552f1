#include "ecgtwin/data/record_io.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <sstream>

#include "ecgtwin/io/csv.hpp"
#include "ecgtwin/io/npy.hpp"
#include "ecgtwin/io/wfdb.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "test_support.hpp"

namespace ecgtwin::data {
namespace {

using Names = std::vector<std::string>;

// A [leads x samples] signal whose every value tells its lead and sample: lead l, sample i
// holds l + i / 1000 (mV).
std::vector<float> coded_signal(std::int64_t leads, std::int64_t samples) {
  std::vector<float> x(static_cast<std::size_t>(leads * samples));
  for (std::int64_t l = 0; l < leads; ++l)
    for (std::int64_t i = 0; i < samples; ++i) x[l * samples + i] = float(l) + float(i) / 1000.f;
  return x;
}

TEST(LeadNames, NormalisesCommonSpellings) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"AVR", "aVR"}, {"avl", "aVL"},  {"aVF", "aVF"}, {" i ", "I"},   {"ii", "II"},
      {"MLII", "II"}, {"DIII", "III"}, {"D1", "I"},    {"v1", "V1"},   {"V6", "V6"},
      {"Lead II", "II"}, {"lead_v3", "V3"}};
  for (const auto& [in, out] : cases) {
    auto name = standard_lead_name(in);
    ASSERT_TRUE(name.has_value()) << in;
    EXPECT_EQ(*name, out) << in;
  }
  bool inverted = false;
  EXPECT_EQ(standard_lead_name("-aVR", &inverted).value_or(""), "aVR");
  EXPECT_TRUE(inverted);
  EXPECT_EQ(standard_lead_name("aVR", &inverted).value_or(""), "aVR");
  EXPECT_FALSE(inverted);
  for (const char* other : {"RESP", "V7", "time", "", "ABP", "IV", "PLETH"})
    EXPECT_FALSE(standard_lead_name(other).has_value()) << other;
}

TEST(LeadNames, UnitsAndSex) {
  EXPECT_EQ(millivolts_per_unit("mV"), 1.0);
  EXPECT_EQ(millivolts_per_unit("uV"), 1e-3);
  EXPECT_EQ(millivolts_per_unit("\xCE\xBCV"), 1e-3);
  EXPECT_EQ(millivolts_per_unit("V"), 1e3);
  EXPECT_FALSE(millivolts_per_unit("mmHg").has_value());
  EXPECT_EQ(standard_units("mv"), "mV");
  EXPECT_EQ(standard_units("\xC2\xB5V"), "uV");
  EXPECT_EQ(standard_units("microvolt"), "uV");
  EXPECT_EQ(standard_units("volt"), "V");
  EXPECT_EQ(standard_units("V"), "V");
  EXPECT_FALSE(standard_units("mmHg").has_value());
  EXPECT_EQ(parse_sex("F"), Sex::kFemale);
  EXPECT_EQ(parse_sex("male"), Sex::kMale);
  EXPECT_EQ(parse_sex("0"), Sex::kMale);    // PTB-XL: 0 male
  EXPECT_EQ(parse_sex("1.0"), Sex::kFemale);  // PTB-XL: 1 female
  EXPECT_EQ(parse_sex(""), Sex::kUnknown);
  EXPECT_THROW(parse_sex("x"), InputError);
  for (Sex s : {Sex::kFemale, Sex::kMale, Sex::kUnknown}) EXPECT_EQ(parse_sex(to_string(s)), s);
}

TEST(LoadRecord, NpyInEitherOrientation) {
  test::TempDir dir;
  auto x = coded_signal(12, 300);
  io::write_npy(dir / "a.npy", x.data(), {12, 300});
  LoadOptions options;
  options.sampling_rate = 100;
  LoadInfo info;
  Record a = load_record(dir / "a.npy", options, &info);
  EXPECT_EQ(a.lead_names, standard_leads());
  EXPECT_EQ(a.samples(), 300);
  EXPECT_EQ(a.sampling_rate, 100);
  EXPECT_EQ(a.id, "a");
  EXPECT_EQ(a.signal, x);
  EXPECT_EQ(info.format, RecordFormat::kNpy);
  EXPECT_TRUE(info.missing_leads.empty());

  std::vector<float> transposed(x.size());
  for (int l = 0; l < 12; ++l)
    for (int i = 0; i < 300; ++i) transposed[i * 12 + l] = x[l * 300 + i];
  io::write_npy(dir / "b.npy", transposed.data(), {1, 300, 12});
  EXPECT_EQ(load_record(dir / "b.npy", options).signal, x);

  EXPECT_TRUE(
      test::throws_input_error([&] { load_record(dir / "a.npy"); }, {"sampling rate", "a.npy"}));
  std::vector<float> odd(5 * 7, 0.f);
  io::write_npy(dir / "odd.npy", odd.data(), {5, 7});
  EXPECT_TRUE(
      test::throws_input_error([&] { load_record(dir / "odd.npy", options); }, {"[5 x 7]"}));
}

TEST(LoadRecord, ReordersConvertsUnitsAndDropsOtherChannels) {
  test::TempDir dir;
  // File order: V6..V1, RESP, -aVR, then the rest; microvolts.
  auto x = coded_signal(13, 50);
  for (auto& v : x) v *= 1000.f;  // uV
  io::write_npy(dir / "r.npy", x.data(), {13, 50});
  util::write_file_atomic(dir / "r.json", R"({"sampling_rate": 250, "units": "uV",
      "leads": ["V6","v5","V4","V3","V2","V1","RESP","-aVR","AVF","avl","III","II","I"],
      "patient_id": "p7", "age": 61, "sex": "F", "hr": 72.5, "statements": ["sinus rhythm"]})");
  LoadInfo info;
  Record r = load_record(dir / "r.npy", {}, &info);
  EXPECT_EQ(r.lead_names, standard_leads());
  EXPECT_EQ(r.sampling_rate, 250);
  EXPECT_EQ(info.dropped, Names({"RESP"}));
  // The file channel of each standard lead, I .. V6.
  const int file_channel[12] = {12, 11, 10, 7, 9, 8, 5, 4, 3, 2, 1, 0};
  for (std::int64_t l = 0; l < 12; ++l) {
    float sign = l == 3 ? -1.f : 1.f;  // "-aVR"
    for (std::int64_t i = 0; i < 50; i += 7)
      EXPECT_NEAR(r.lead(l)[i], sign * (float(file_channel[l]) + float(i) / 1000.f), 1e-5)
          << standard_leads()[l] << " " << i;
  }
  EXPECT_EQ(r.patient_id, "p7");
  EXPECT_EQ(r.age, 61.0);
  EXPECT_EQ(r.sex, Sex::kFemale);
  EXPECT_EQ(r.heart_rate, 72.5);
  EXPECT_EQ(r.statements, Names({"sinus rhythm"}));
}

TEST(LoadRecord, MissingLeadsAreAnErrorUnlessAllowed) {
  test::TempDir dir;
  auto x = coded_signal(2, 40);
  io::write_npy(dir / "two.npy", x.data(), {2, 40});
  LoadOptions options;
  options.sampling_rate = 200;
  options.lead_names = {"I", "II"};
  EXPECT_TRUE(test::throws_input_error([&] { load_record(dir / "two.npy", options); },
                                       {"missing lead(s) III, aVR"}));
  options.allow_missing_leads = true;
  LoadInfo info;
  Record r = load_record(dir / "two.npy", options, &info);
  EXPECT_EQ(r.lead_names, Names({"I", "II"}));
  EXPECT_EQ(info.missing_leads.size(), 10u);
  EXPECT_EQ(r.signal, x);
}

TEST(LoadRecord, CsvWithTimeColumnHeaderOrNone) {
  test::TempDir dir;
  std::ostringstream text;
  text << "time,I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6\n";
  for (int i = 0; i < 20; ++i) {
    text << i * 0.004;  // 250 Hz
    for (int l = 0; l < 12; ++l) {
      text << ',';
      if (l == 2 && i == 5) continue;  // an empty field: NaN
      if (l == 3 && i == 6) {
        text << "inf";
        continue;
      }
      text << l + i / 1000.0;
    }
    text << '\n';
  }
  util::write_file_atomic(dir / "t.csv", text.str());
  LoadInfo info;
  Record r = load_record(dir / "t.csv", {}, &info);
  EXPECT_NEAR(r.sampling_rate, 250.0, 1e-9);
  EXPECT_EQ(r.lead_names, standard_leads());
  EXPECT_EQ(info.dropped, Names({"time"}));
  EXPECT_EQ(info.non_finite, 2);
  EXPECT_TRUE(std::isnan(r.lead(2)[5]));
  EXPECT_TRUE(std::isnan(r.lead(3)[6]));  // Inf stays in the record as NaN
  EXPECT_FLOAT_EQ(r.lead(11)[19], 11.019f);

  // No header: one column per standard lead, rate from the options.
  auto x = coded_signal(12, 30);
  std::vector<double> rows(x.size());
  for (int l = 0; l < 12; ++l)
    for (int i = 0; i < 30; ++i) rows[i * 12 + l] = x[l * 30 + i];
  std::ostringstream plain;
  io::write_matrix_csv(plain, rows.data(), 30, 12);
  util::write_file_atomic(dir / "plain.csv", plain.str());
  LoadOptions options;
  options.sampling_rate = 500;
  EXPECT_EQ(load_record(dir / "plain.csv", options).signal, x);
  EXPECT_THROW(load_record(dir / "plain.csv"), InputError);
  EXPECT_THROW(load_record(dir / "absent.csv", options), InputError);
}

TEST(SaveRecord, NpyRoundTripKeepsSignalAndMetadata) {
  test::TempDir dir;
  Record r;
  r.id = "twin_01";
  r.sampling_rate = 102.4;
  r.lead_names = standard_leads();
  r.units.assign(12, "mV");
  r.signal = coded_signal(12, 1024);
  r.signal[5] = std::numeric_limits<float>::quiet_NaN();
  r.patient_id = "15709";
  r.age = 56;
  r.sex = Sex::kMale;
  r.heart_rate = 63.5;
  r.statements = {"sinus rhythm", "left ventricular hypertrophy"};
  fs::path written = save_record(r, dir.path(), RecordFormat::kNpy);
  EXPECT_EQ(written, dir / "twin_01.npy");
  EXPECT_TRUE(fs::exists(dir / "twin_01.json"));
  io::NpyArray array = io::read_npy(written);
  EXPECT_EQ(array.shape, std::vector<std::int64_t>({12, 1024}));
  Record back = load_record(written);
  EXPECT_EQ(back.id, r.id);
  EXPECT_EQ(back.sampling_rate, r.sampling_rate);
  ASSERT_EQ(back.signal.size(), r.signal.size());
  EXPECT_TRUE(std::isnan(back.signal[5]));
  back.signal[5] = r.signal[5] = 0;
  EXPECT_EQ(back.signal, r.signal);
  EXPECT_EQ(back.patient_id, r.patient_id);
  EXPECT_EQ(back.age, r.age);
  EXPECT_EQ(back.sex, r.sex);
  EXPECT_EQ(back.heart_rate, r.heart_rate);
  EXPECT_EQ(back.statements, r.statements);
}

TEST(SaveRecord, WfdbRoundTripAtOneMicrovolt) {
  test::TempDir dir;
  Record r;
  r.id = "rt";
  r.sampling_rate = 500;
  r.lead_names = standard_leads();
  r.units.assign(12, "mV");
  r.signal = coded_signal(12, 200);
  r.signal[3] = std::numeric_limits<float>::quiet_NaN();
  r.patient_id = "p1";
  r.age = 70;
  r.sex = Sex::kFemale;
  r.heart_rate = 88;
  r.statements = {"atrial fibrillation", "ST depression, inferior"};
  r.comments = {"device: test"};
  fs::path header = save_record(r, dir / "rt.hea", RecordFormat::kWfdb);
  EXPECT_EQ(header, dir / "rt.hea");
  io::WfdbHeader parsed = io::read_wfdb_header(header);
  EXPECT_EQ(parsed.signals.at(0).format, 16);
  EXPECT_EQ(parsed.signals.at(0).adc_gain, 1000.0);
  Record back = load_record(header);
  EXPECT_EQ(back.lead_names, r.lead_names);
  EXPECT_EQ(back.sampling_rate, 500);
  ASSERT_EQ(back.signal.size(), r.signal.size());
  EXPECT_TRUE(std::isnan(back.signal[3]));
  for (std::size_t i = 0; i < r.signal.size(); ++i)
    if (i != 3) {
      EXPECT_NEAR(back.signal[i], r.signal[i], 0.5e-3 + 1e-6) << i;  // 1 adu = 1 uV
    }
  EXPECT_EQ(back.patient_id, "p1");
  EXPECT_EQ(back.age, 70.0);
  EXPECT_EQ(back.sex, Sex::kFemale);
  EXPECT_EQ(back.heart_rate, 88.0);
  EXPECT_EQ(back.statements, r.statements);
  EXPECT_EQ(back.comments, Names({"device: test"}));
}

TEST(Metadata, ReadsOtherDatasetsComments) {
  Record r;
  apply_metadata_comments(r, {"Age: 74", "Sex: Male", "Dx: 426783006", " hr: 61 "}, "x.hea");
  EXPECT_EQ(r.age, 74.0);
  EXPECT_EQ(r.sex, Sex::kMale);
  EXPECT_EQ(r.heart_rate, 61.0);
  EXPECT_EQ(r.comments, Names({"Dx: 426783006"}));
  // A value that is not a sex stays a plain comment.
  Record other;
  apply_metadata_comments(other, {"sex: n/a"}, "x.hea");
  EXPECT_EQ(other.sex, Sex::kUnknown);
  EXPECT_EQ(other.comments, Names({"sex: n/a"}));
  // MIT-BIH Arrhythmia Database headers.
  Record mit;
  apply_metadata_comments(mit, {"<age>: 69 <sex>: M <diagnoses>: (none)", "<age>: 25  <sex>: F  <medications>: (none)"}, "x.hea");
  EXPECT_EQ(mit.age, 25.0);
  EXPECT_EQ(mit.sex, Sex::kFemale);
}

TEST(PlotInput, TitleCarriesPatientConditionAndRate) {
  Record r;
  r.id = "00001_lr";
  r.sampling_rate = 100;
  r.lead_names = {"I"};
  r.signal = {0.f, 1.f};
  r.patient_id = "15709";
  r.sex = Sex::kFemale;
  r.age = 56;
  r.heart_rate = 63.4;
  r.statements = {"normal ECG", "sinus rhythm"};
  io::PlotInput input = plot_input(r, "reference");
  EXPECT_EQ(input.title, "00001_lr  |  patient 15709  |  female, 56 y  |  HR 63 bpm  |  normal ECG; sinus rhythm");
  EXPECT_EQ(input.label, "reference");
  EXPECT_EQ(input.samples(), 2);
  EXPECT_EQ(input.lead("I")[1], 1.f);
}

}  // namespace
}  // namespace ecgtwin::data
