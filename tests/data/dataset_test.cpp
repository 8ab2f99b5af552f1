// Dataset indexes on small tables written here: PTB-XL, MIMIC-IV-ECG and manifest layouts.
#include "ecgtwin/data/dataset.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "ecgtwin/util/error.hpp"
#include "test_support.hpp"

namespace ecgtwin::data {
namespace {

using Statements = std::vector<std::string>;

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(ScpCodes, ParsesPythonDictInOrder) {
  auto codes = parse_scp_codes("{'NORM': 100.0, 'LVOLT': 0.0, 'SR': 0.0}");
  ASSERT_EQ(codes.size(), 3u);
  EXPECT_EQ(codes[0].first, "NORM");
  EXPECT_DOUBLE_EQ(codes[0].second, 100.0);
  EXPECT_EQ(codes[1].first, "LVOLT");
  EXPECT_EQ(codes[2].first, "SR");
  EXPECT_DOUBLE_EQ(codes[2].second, 0.0);
  auto odd = parse_scp_codes(" { \"LAO/LAE\" : 50 , 'IMI':15.0, } ");
  ASSERT_EQ(odd.size(), 2u);
  EXPECT_EQ(odd[0].first, "LAO/LAE");
  EXPECT_DOUBLE_EQ(odd[0].second, 50.0);
  EXPECT_DOUBLE_EQ(odd[1].second, 15.0);
  EXPECT_TRUE(parse_scp_codes("{}").empty());
  for (const char* bad : {"", "NORM", "{'NORM' 100}", "{'NORM': x}", "{'NORM': 1", "{NORM: 1}",
                          "{'NORM': 1} tail"})
    EXPECT_TRUE(
        test::throws_input_error([&] { parse_scp_codes(bad, "db.csv row 7"); }, {"db.csv row 7"}))
        << bad;
}

TEST(DatasetText, PatientIdsAndStatements) {
  EXPECT_EQ(normalise_patient_id("15709.0"), "15709");
  EXPECT_EQ(normalise_patient_id(" 42 "), "42");
  EXPECT_EQ(normalise_patient_id("p1000"), "p1000");
  EXPECT_EQ(normalise_patient_id("12.5"), "12.5");
  EXPECT_EQ(split_statements("sinus rhythm| left axis deviation |  | normal ECG"),
            (Statements{"sinus rhythm", "left axis deviation", "normal ECG"}));
  EXPECT_TRUE(split_statements(" ").empty());
}

// Three PTB-XL rows in the official column layout (a subset of the columns).
void write_ptbxl(const fs::path& root) {
  write_text(root / "ptbxl_database.csv",
             "ecg_id,patient_id,age,sex,recording_date,scp_codes,strat_fold,filename_lr,"
             "filename_hr\n"
             "1,15709.0,56.0,1,1984-11-09 09:17:34,\"{'NORM': 100.0, 'LVOLT': 0.0, 'SR': "
             "0.0}\",3,records100/00000/00001_lr,records500/00000/00001_hr\n"
             "263,1595.0,300.0,0,1986-09-06 09:20:57,\"{'ASMI': 50.0, 'NST_': 0.0, 'STACH': "
             "0.0}\",8,records100/00000/00263_lr,records500/00000/00263_hr\n"
             "7,1595.0,,,,\"{}\",,records100/00000/00007_lr,records500/00000/00007_hr\n");
  write_text(root / "scp_statements.csv",
             ",description,diagnostic,form,rhythm\n"
             "NORM,normal ECG,1.0,,\n"
             "LVOLT,low QRS voltages in the frontal and horizontal leads,,1.0,\n"
             "SR,sinus rhythm,,,1.0\n"
             "ASMI,anteroseptal myocardial infarction,1.0,,\n"
             "NST_,non-specific ST changes,1.0,1.0,\n"
             "STACH,sinus tachycardia,,,1.0\n");
}

TEST(PtbxlIndex, StatementsAndMetadata) {
  test::TempDir dir;
  write_ptbxl(dir.path());
  DatasetIndex index = index_ptbxl(dir.path());
  EXPECT_EQ(index.kind, "ptbxl");
  ASSERT_EQ(index.entries.size(), 3u);
  EXPECT_EQ(index.patients(), 2u);
  EXPECT_EQ(index.patients_with_multiple_records(), 1u);
  const DatasetEntry& first = index.entries[0];
  EXPECT_EQ(first.id, "1");
  EXPECT_EQ(first.patient_id, "15709");
  EXPECT_EQ(first.age.value_or(-1), 56.0);
  EXPECT_EQ(first.sex, Sex::kFemale);
  EXPECT_EQ(first.strat_fold, 3);
  EXPECT_EQ(first.recording_date, "1984-11-09 09:17:34");
  EXPECT_EQ(first.path, dir.path() / "records500/00000/00001_hr");
  EXPECT_FALSE(first.heart_rate.has_value());
  // Form and rhythm statements carry 0.0 and are kept.
  EXPECT_EQ(first.statements,
            (Statements{"normal ECG", "low QRS voltages in the frontal and horizontal leads",
                        "sinus rhythm"}));
  // A diagnostic statement with likelihood 0 is dropped; age 300 means "over 89".
  const DatasetEntry& second = index.entries[1];
  EXPECT_EQ(second.statements,
            (Statements{"anteroseptal myocardial infarction", "sinus tachycardia"}));
  EXPECT_EQ(second.sex, Sex::kMale);
  EXPECT_EQ(second.age.value_or(-1), 90.0);
  const DatasetEntry& third = index.entries[2];
  EXPECT_FALSE(third.age.has_value());
  EXPECT_EQ(third.sex, Sex::kUnknown);
  EXPECT_EQ(third.strat_fold, 0);
  EXPECT_TRUE(third.statements.empty());

  PtbxlOptions low;
  low.fs_source = 100;
  low.min_likelihood = 60;  // ASMI (50) is now dropped too
  DatasetIndex at100 = index_ptbxl(dir.path(), low);
  EXPECT_EQ(at100.entries[0].path, dir.path() / "records100/00000/00001_lr");
  EXPECT_EQ(at100.entries[1].statements, (Statements{"sinus tachycardia"}));
}

TEST(PtbxlIndex, RefusesBadTables) {
  test::TempDir dir;
  EXPECT_TRUE(test::throws_input_error([&] { index_ptbxl(dir.path()); }, {"ptbxl_database.csv"}));
  write_ptbxl(dir.path());
  PtbxlOptions bad;
  bad.fs_source = 250;
  EXPECT_TRUE(test::throws_input_error([&] { index_ptbxl(dir.path(), bad); }, {"fs_source"}));
  write_text(dir / "ptbxl_database.csv",
             "ecg_id,patient_id,scp_codes,filename_lr,filename_hr\n"
             "1,5,\"{'XYZ': 100.0}\",a,b\n");
  EXPECT_TRUE(test::throws_input_error([&] { index_ptbxl(dir.path()); }, {"XYZ", "row 2"}));
  fs::remove(dir / "scp_statements.csv");
  EXPECT_TRUE(test::throws_input_error([&] { index_ptbxl(dir.path()); }, {"scp_statements.csv"}));
}

TEST(MimicIndex, ReportsRateAndSubject) {
  test::TempDir dir;
  // Columns as in MIMIC-IV-ECG v1.0: record_list.csv and machine_measurements.csv.
  write_text(dir / "record_list.csv",
             "subject_id,study_id,file_name,ecg_time,path\n"
             "10000032,40689238,40689238,2180-07-23 08:44:00,files/p1000/p10000032/s40689238/"
             "40689238\n"
             "10000032,44458630,44458630,2180-07-23 09:54:00,files/p1000/p10000032/s44458630/"
             "44458630\n"
             "10000117,45090959,45090959,2181-03-04 17:14:00,files/p1000/p10000117/s45090959/"
             "45090959\n");
  std::string header = "subject_id,study_id,cart_id,ecg_time";
  for (int k = 0; k < 18; ++k) header += ",report_" + std::to_string(k);
  header += ",bandwidth,filtering,rr_interval,p_onset\n";
  auto row = [](const std::string& subject, const std::string& study,
                const std::vector<std::string>& reports, const std::string& rr) {
    std::string line = subject + "," + study + ",6848296,2180-07-23 08:44:00";
    for (int k = 0; k < 18; ++k)
      line += "," + (k < static_cast<int>(reports.size()) ? reports[k] : std::string());
    return line + ",0.5-150 Hz,60 Hz notch Baseline filter," + rr + ",40\n";
  };
  std::vector<std::string> many;
  for (int k = 0; k < 18; ++k) many.push_back("statement " + std::to_string(k));
  write_text(dir / "machine_measurements.csv",
             header +
                 row("10000032", "40689238", {"Sinus rhythm", "Possible anterior infarct"}, "800") +
                 row("10000032", "44458630", many, "659") +
                 row("10000117", "45090959", {"Atrial fibrillation", "", "Abnormal ECG"}, "0"));
  DatasetIndex index = index_mimic(dir.path());
  EXPECT_EQ(index.kind, "mimic");
  ASSERT_EQ(index.entries.size(), 3u);
  EXPECT_EQ(index.patients(), 2u);
  EXPECT_EQ(index.patients_with_multiple_records(), 1u);
  const DatasetEntry& a = index.entries[0];
  EXPECT_EQ(a.patient_id, "10000032");
  EXPECT_EQ(a.id, "40689238");
  EXPECT_EQ(a.path, dir.path() / "files/p1000/p10000032/s40689238/40689238");
  EXPECT_EQ(a.recording_date, "2180-07-23 08:44:00");
  EXPECT_EQ(a.statements, (Statements{"Sinus rhythm", "Possible anterior infarct"}));
  EXPECT_DOUBLE_EQ(a.heart_rate.value_or(0), 75.0);  // 60000 / 800 ms
  EXPECT_EQ(index.entries[1].statements, many);      // all of report_0..report_17
  EXPECT_DOUBLE_EQ(index.entries[1].heart_rate.value_or(0), 60000.0 / 659.0);
  EXPECT_EQ(index.entries[2].statements, (Statements{"Atrial fibrillation", "Abnormal ECG"}));
  EXPECT_FALSE(index.entries[2].heart_rate.has_value());  // rr_interval 0: not measured

  // Without machine measurements the records are still listed, with no statements.
  fs::remove(dir / "machine_measurements.csv");
  DatasetIndex bare = index_mimic(dir.path());
  ASSERT_EQ(bare.entries.size(), 3u);
  EXPECT_TRUE(bare.entries[0].statements.empty());
  EXPECT_FALSE(bare.entries[0].heart_rate.has_value());
  fs::remove(dir / "record_list.csv");
  EXPECT_TRUE(test::throws_input_error([&] { index_mimic(dir.path()); }, {"record_list.csv"}));
}

TEST(ManifestIndex, ColumnsAndOptionalFields) {
  test::TempDir dir;
  write_text(dir / "list" / "manifest.csv",
             "path,patient_id,report,hr,age,sex\n"
             "a/rec1.hea,p1,sinus rhythm|left axis deviation,64.5,51,F\n"
             "b/rec1.npy,p1,atrial fibrillation,,,\n"
             "rec2,7.0,\"normal ECG | sinus rhythm\",80,70,male\n");
  DatasetIndex index = index_manifest(dir / "list" / "manifest.csv");
  EXPECT_EQ(index.kind, "manifest");
  EXPECT_EQ(index.root, dir / "list");
  ASSERT_EQ(index.entries.size(), 3u);
  EXPECT_EQ(index.patients(), 2u);
  const DatasetEntry& a = index.entries[0];
  EXPECT_EQ(a.path, dir / "list" / "a/rec1.hea");
  EXPECT_EQ(a.id, "a/rec1");
  EXPECT_EQ(a.patient_id, "p1");
  EXPECT_EQ(a.statements, (Statements{"sinus rhythm", "left axis deviation"}));
  EXPECT_DOUBLE_EQ(a.heart_rate.value_or(0), 64.5);
  EXPECT_DOUBLE_EQ(a.age.value_or(0), 51);
  EXPECT_EQ(a.sex, Sex::kFemale);
  const DatasetEntry& b = index.entries[1];
  EXPECT_EQ(b.id, "b/rec1");
  EXPECT_FALSE(b.heart_rate.has_value());
  EXPECT_FALSE(b.age.has_value());
  EXPECT_EQ(b.sex, Sex::kUnknown);
  EXPECT_EQ(index.entries[2].patient_id, "7");
  EXPECT_EQ(index.entries[2].statements, (Statements{"normal ECG", "sinus rhythm"}));
  EXPECT_EQ(index.entries[2].sex, Sex::kMale);

  write_text(dir / "minimal.csv", "path,patient_id,report\nx.hea,1,\n");
  DatasetIndex minimal = index_dataset("manifest", dir / "minimal.csv");
  ASSERT_EQ(minimal.entries.size(), 1u);
  EXPECT_TRUE(minimal.entries[0].statements.empty());

  write_text(dir / "no_patient.csv", "path,report\nx.hea,a\n");
  EXPECT_TRUE(
      test::throws_input_error([&] { index_manifest(dir / "no_patient.csv"); }, {"patient_id"}));
  write_text(dir / "empty_path.csv", "path,patient_id,report\n ,1,a\n");
  EXPECT_TRUE(test::throws_input_error([&] { index_manifest(dir / "empty_path.csv"); }, {"row 2"}));
  EXPECT_TRUE(
      test::throws_input_error([&] { index_manifest(dir / "missing.csv"); }, {"missing.csv"}));
  EXPECT_TRUE(
      test::throws_input_error([&] { index_dataset("physionet", dir.path()); }, {"--dataset"}));
}

}  // namespace
}  // namespace ecgtwin::data
