// The data layer on ../shared/data/ptbxl-500 (PTB-XL 1.0.3 records 1..500, Wagner et al.
// 2020): the index against the counts of its README and rows read by hand from
// ptbxl_database.csv, real same-patient pairs, and the cache built from it.
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "ecgtwin/data/cache.hpp"
#include "ecgtwin/data/dataset.hpp"
#include "ecgtwin/data/pairs.hpp"
#include "ecgtwin/data/record_io.hpp"
#include "test_support.hpp"

namespace ecgtwin::data {
namespace {

using Statements = std::vector<std::string>;

const DatasetEntry& by_id(const DatasetIndex& index, const std::string& id) {
  for (const auto& e : index.entries)
    if (e.id == id) return e;
  throw std::runtime_error("no record " + id);
}

TEST(PtbxlData, CountsOfTheReadme) {
  ECGTWIN_REQUIRE_SHARED_DATA("ptbxl-500/ptbxl_database.csv");
  DatasetIndex index = index_ptbxl(test::shared_data() / "ptbxl-500");
  EXPECT_EQ(index.entries.size(), 500u);
  EXPECT_EQ(index.patients(), 466u);
  EXPECT_EQ(index.patients_with_multiple_records(), 25u);
  std::map<std::string, int> records_of;
  for (const auto& e : index.entries) ++records_of[e.patient_id];
  int in_multiple = 0;
  for (const auto& [patient, count] : records_of) in_multiple += count > 1 ? count : 0;
  EXPECT_EQ(in_multiple, 59);
  for (const auto& e : index.entries) {
    EXPECT_TRUE(fs::exists(fs::path(e.path) += ".hea")) << e.path;
    EXPECT_GE(e.strat_fold, 1);
    EXPECT_LE(e.strat_fold, 10);
    EXPECT_FALSE(e.statements.empty()) << e.id;
  }
}

TEST(PtbxlData, RowsReadByHand) {
  ECGTWIN_REQUIRE_SHARED_DATA("ptbxl-500/ptbxl_database.csv");
  const fs::path root = test::shared_data() / "ptbxl-500";
  DatasetIndex index = index_ptbxl(root);
  // ecg_id 1: patient 15709.0, 56, sex 1, fold 3, {'NORM': 100.0, 'LVOLT': 0.0, 'SR': 0.0}.
  const DatasetEntry& first = by_id(index, "1");
  EXPECT_EQ(first.patient_id, "15709");
  EXPECT_EQ(first.age.value_or(-1), 56.0);
  EXPECT_EQ(first.sex, Sex::kFemale);
  EXPECT_EQ(first.strat_fold, 3);
  EXPECT_EQ(first.path, root / "records500/00000/00001_hr");
  EXPECT_EQ(first.statements,
            (Statements{"normal ECG", "low QRS voltages in the frontal and horizontal leads",
                        "sinus rhythm"}));
  // ecg_id 2: patient 13243.0, 19, sex 0, fold 2, {'NORM': 80.0, 'SBRAD': 0.0}.
  const DatasetEntry& second = by_id(index, "2");
  EXPECT_EQ(second.patient_id, "13243");
  EXPECT_EQ(second.age.value_or(-1), 19.0);
  EXPECT_EQ(second.sex, Sex::kMale);
  EXPECT_EQ(second.strat_fold, 2);
  EXPECT_EQ(second.statements, (Statements{"normal ECG", "sinus bradycardia"}));
  // ecg_id 263: patient 1595.0, 48, sex 1, fold 5, {'ASMI': 50.0, 'NST_': 0.0, 'STACH': 0.0}:
  // the diagnostic NST_ at likelihood 0 is not a statement of this record.
  const DatasetEntry& graded = by_id(index, "263");
  EXPECT_EQ(graded.patient_id, "1595");
  EXPECT_EQ(graded.age.value_or(-1), 48.0);
  EXPECT_EQ(graded.sex, Sex::kFemale);
  EXPECT_EQ(graded.strat_fold, 5);
  EXPECT_EQ(graded.statements,
            (Statements{"anteroseptal myocardial infarction", "sinus tachycardia"}));
  // ecg_id 500: patient 1168.0, 67, sex 0, fold 8, five diagnostic codes and two others.
  const DatasetEntry& last = by_id(index, "500");
  EXPECT_EQ(last.patient_id, "1168");
  EXPECT_EQ(last.age.value_or(-1), 67.0);
  EXPECT_EQ(last.sex, Sex::kMale);
  EXPECT_EQ(last.strat_fold, 8);
  EXPECT_EQ(last.recording_date, "1987-03-01 13:25:15");
  EXPECT_EQ(last.statements,
            (Statements{"inferior myocardial infarction", "left ventricular hypertrophy",
                        "non-specific ischemic",
                        "non-specific intraventricular conduction disturbance (block)",
                        "Q waves present", "non-specific ST depression", "atrial fibrillation"}));
  PtbxlOptions at100;
  at100.fs_source = 100;
  EXPECT_EQ(by_id(index_ptbxl(root, at100), "1").path, root / "records100/00000/00001_lr");
}

TEST(PtbxlData, SamePatientPairs) {
  ECGTWIN_REQUIRE_SHARED_DATA("ptbxl-500/ptbxl_database.csv");
  DatasetIndex index = index_ptbxl(test::shared_data() / "ptbxl-500");
  auto pairs = make_pairs(index.entries);
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> of_patient;
  for (const auto& p : pairs) {
    const auto& a = index.entries[p.reference];
    const auto& b = index.entries[p.target];
    ASSERT_EQ(a.patient_id, b.patient_id);
    EXPECT_LT(a.recording_date, b.recording_date);
    of_patient[a.patient_id].emplace_back(a.id, b.id);
  }
  EXPECT_LE(of_patient.size(), 25u);
  // Patient 13619: 8 records, 28 pairs, of which 4 join identical statement sets
  // ({AFLT}: ecg 18, 23, 34; {NST_, DIG, SR}: ecg 26, 28).
  const auto& flutter = of_patient["13619"];
  EXPECT_EQ(flutter.size(), 24u);
  EXPECT_EQ(flutter.front(), (std::pair<std::string, std::string>{"17", "18"}));
  EXPECT_EQ(flutter.back(), (std::pair<std::string, std::string>{"34", "39"}));
  // Patient 437: LBBB with sinus tachycardia (279) -> atrial fibrillation (282).
  EXPECT_EQ(of_patient["437"], (std::vector<std::pair<std::string, std::string>>{{"279", "282"}}));
  // Patient 449: 271 -> 336 -> 347, all different.
  EXPECT_EQ(of_patient["449"].size(), 3u);

  SplitOptions options;
  options.seed = 1;
  auto splits = assign_splits(index.entries, options);
  std::map<std::string, Split> split_of;
  int test_records = 0;
  for (std::size_t i = 0; i < splits.size(); ++i) {
    auto [it, inserted] = split_of.emplace(index.entries[i].patient_id, splits[i]);
    EXPECT_EQ(it->second, splits[i]) << "patient " << it->first << " in two splits";
    test_records += splits[i] == Split::kTest;
  }
  EXPECT_GT(test_records, 30);
  EXPECT_LT(test_records, 70);
}

TEST(PtbxlData, CacheRoundTripsTheRecords) {
  ECGTWIN_REQUIRE_SHARED_DATA("ptbxl-500/records100");
  test::TempDir dir;
  PrepareOptions o;
  o.dataset = "ptbxl";
  o.input = test::shared_data() / "ptbxl-500";
  o.out = dir / "cache";
  o.ptbxl.fs_source = 100;
  o.split.by_strat_fold = true;
  PrepareSummary summary = prepare_cache(o);
  EXPECT_EQ(summary.records, 500);
  EXPECT_EQ(summary.rows, 500);
  EXPECT_EQ(summary.patients, 466);
  EXPECT_EQ(summary.patients_with_multiple_records, 25);
  EXPECT_TRUE(summary.skipped.empty());
  EXPECT_TRUE(prepare_cache(o).up_to_date);

  Cache cache = Cache::open(o.out);
  ASSERT_EQ(cache.entries().size(), 500u);
  DatasetIndex index = index_ptbxl(o.input, o.ptbxl);
  for (std::size_t i : {0u, 1u, 262u, 499u}) {
    const CacheEntry& e = cache.entries()[i];
    EXPECT_EQ(e.id, index.entries[i].id);
    EXPECT_EQ(e.statements, index.entries[i].statements);
    EXPECT_EQ(e.patient_id, index.entries[i].patient_id);
    PreparedRecord expected = preprocess_record(load_record(index.entries[i].path));
    EXPECT_EQ(std::memcmp(cache.signal(i), expected.windows[0].signal.data(),
                          12 * 1024 * sizeof(float)),
              0)
        << e.id;
    ASSERT_TRUE(e.heart_rate.has_value()) << e.id;
  }
  // PTB-XL's folds: ecg 1 is in fold 3 (train), ecg 10 in fold 9, ecg 100 in fold 10.
  EXPECT_EQ(cache.entries()[0].split, Split::kTrain);
  EXPECT_EQ(cache.entries()[9].split, Split::kValidation);
  EXPECT_EQ(cache.entries()[99].split, Split::kTest);
  // Sinus bradycardia (ecg 2) and sinus tachycardia (ecg 263) by their detected rates.
  EXPECT_LT(cache.entries()[1].heart_rate.value_or(100), 60.0);
  EXPECT_GT(cache.entries()[262].heart_rate.value_or(0), 100.0);
  std::size_t pairs = 0;
  for (Split s : {Split::kTrain, Split::kValidation, Split::kTest}) pairs += cache.pairs(s).size();
  EXPECT_EQ(pairs, make_pairs(index.entries).size());
}

}  // namespace
}  // namespace ecgtwin::data
