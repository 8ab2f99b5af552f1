// Same-patient pairs and patient-disjoint seeded splits.
#include "ecgtwin/data/pairs.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::data {
namespace {

DatasetEntry entry(std::string id, std::string patient, std::string date,
                   std::vector<std::string> statements) {
  DatasetEntry e;
  e.id = std::move(id);
  e.patient_id = std::move(patient);
  e.recording_date = std::move(date);
  e.statements = std::move(statements);
  return e;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs ids(const std::vector<DatasetEntry>& entries, const std::vector<RecordPair>& pairs) {
  Pairs out;
  for (const auto& p : pairs) out.emplace_back(entries[p.reference].id, entries[p.target].id);
  return out;
}

// Patient A: three visits listed out of order, two of them with the same statements in a
// different order; patient B: two visits on the same date told apart by numeric ids
// ("9" before "10"); patient C: one visit.
std::vector<DatasetEntry> visits() {
  return {entry("a3", "A", "2001-03-01", {"atrial fibrillation"}),
          entry("10", "B", "2005-01-01", {"sinus rhythm"}),
          entry("a1", "A", "2001-01-01", {"sinus rhythm", "normal ECG"}),
          entry("c1", "C", "2002-01-01", {"sinus rhythm"}),
          entry("9", "B", "2005-01-01", {"sinus bradycardia"}),
          entry("a2", "A", "2001-02-01", {"normal ECG", "sinus rhythm"})};
}

TEST(Pairs, EarlierRecordIsTheReference) {
  auto entries = visits();
  // A: a1->a2 has the same condition (skipped), a1->a3, a2->a3; B: 9->10.
  EXPECT_EQ(ids(entries, make_pairs(entries)),
            (Pairs{{"a1", "a3"}, {"a2", "a3"}, {"9", "10"}}));
  PairOptions all;
  all.skip_same_condition = false;
  EXPECT_EQ(ids(entries, make_pairs(entries, all)),
            (Pairs{{"a1", "a2"}, {"a1", "a3"}, {"a2", "a3"}, {"9", "10"}}));
  PairOptions both;
  both.both_orders = true;
  EXPECT_EQ(ids(entries, make_pairs(entries, both)),
            (Pairs{{"a1", "a3"}, {"a3", "a1"}, {"a2", "a3"}, {"a3", "a2"}, {"9", "10"},
                   {"10", "9"}}));
}

TEST(Pairs, CountIsAllPairsOfEachPatient) {
  // n records of one patient with distinct conditions give n (n - 1) / 2 pairs.
  std::vector<DatasetEntry> entries;
  for (int n : {1, 2, 5, 7})
    for (int k = 0; k < n; ++k)
      entries.push_back(entry(std::to_string(100 * n + k), "p" + std::to_string(n), "",
                              {"condition " + std::to_string(k)}));
  auto pairs = make_pairs(entries);
  EXPECT_EQ(pairs.size(), 0u + 1u + 10u + 21u);
  for (const auto& p : pairs) {
    EXPECT_EQ(entries[p.reference].patient_id, entries[p.target].patient_id);
    EXPECT_LT(std::stoi(entries[p.reference].id), std::stoi(entries[p.target].id));
  }
}

std::vector<DatasetEntry> cohort(int patients) {
  std::vector<DatasetEntry> entries;
  for (int p = 0; p < patients; ++p)
    for (int k = 0; k <= p % 3; ++k)
      entries.push_back(entry(std::to_string(entries.size()), "patient" + std::to_string(p), "",
                              {}));
  return entries;
}

TEST(Splits, PatientDisjointWithTheAskedFractions) {
  auto entries = cohort(200);
  SplitOptions options;
  options.validation_fraction = 0.15;
  options.test_fraction = 0.1;
  options.seed = 3;
  auto splits = assign_splits(entries, options);
  ASSERT_EQ(splits.size(), entries.size());
  std::map<std::string, std::set<Split>> of_patient;
  for (std::size_t i = 0; i < entries.size(); ++i)
    of_patient[entries[i].patient_id].insert(splits[i]);
  std::map<Split, int> patients;
  for (const auto& [id, set] : of_patient) {
    EXPECT_EQ(set.size(), 1u) << id << " falls in several splits";
    ++patients[*set.begin()];
  }
  EXPECT_EQ(patients[Split::kTest], 20);        // round(200 * 0.1)
  EXPECT_EQ(patients[Split::kValidation], 30);  // round(200 * 0.15)
  EXPECT_EQ(patients[Split::kTrain], 150);
  EXPECT_EQ(to_string(Split::kTrain), "train");
  EXPECT_EQ(to_string(Split::kValidation), "val");
  EXPECT_EQ(to_string(Split::kTest), "test");
}

TEST(Splits, SeededAndIndependentOfOrder) {
  auto entries = cohort(120);
  SplitOptions options;
  options.seed = 11;
  auto first = assign_splits(entries, options);
  EXPECT_EQ(assign_splits(entries, options), first);
  options.seed = 12;
  EXPECT_NE(assign_splits(entries, options), first);
  // The same patients listed in reverse fall in the same splits.
  options.seed = 11;
  std::vector<DatasetEntry> reversed(entries.rbegin(), entries.rend());
  auto again = assign_splits(reversed, options);
  for (std::size_t i = 0; i < entries.size(); ++i)
    EXPECT_EQ(again[entries.size() - 1 - i], first[i]);
}

TEST(Splits, PtbxlFolds) {
  std::vector<DatasetEntry> entries;
  for (int fold = 1; fold <= 10; ++fold) {
    entries.push_back(entry(std::to_string(fold), "p" + std::to_string(fold), "", {}));
    entries.back().strat_fold = fold;
  }
  SplitOptions options;
  options.by_strat_fold = true;
  auto splits = assign_splits(entries, options);
  for (int fold = 1; fold <= 8; ++fold) EXPECT_EQ(splits[fold - 1], Split::kTrain) << fold;
  EXPECT_EQ(splits[8], Split::kValidation);
  EXPECT_EQ(splits[9], Split::kTest);
  entries[3].strat_fold = 0;
  EXPECT_THROW(assign_splits(entries, options), InputError);
  SplitOptions bad;
  bad.validation_fraction = 0.7;
  bad.test_fraction = 0.4;
  EXPECT_THROW(assign_splits(cohort(5), bad), InputError);
}

}  // namespace
}  // namespace ecgtwin::data
