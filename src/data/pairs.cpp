#include "ecgtwin/data/pairs.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/random.hpp"

namespace ecgtwin::data {
namespace {

bool is_number(const std::string& s) {
  return !s.empty() && s.size() < 19 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool earlier(const DatasetEntry& a, const DatasetEntry& b) {
  if (a.recording_date != b.recording_date) return a.recording_date < b.recording_date;
  if (is_number(a.id) && is_number(b.id)) return std::stoll(a.id) < std::stoll(b.id);
  return a.id < b.id;
}

}  // namespace

std::vector<RecordPair> make_pairs(const std::vector<DatasetEntry>& entries,
                                   const PairOptions& options) {
  std::map<std::string, std::vector<std::size_t>> by_patient;
  for (std::size_t i = 0; i < entries.size(); ++i) by_patient[entries[i].patient_id].push_back(i);
  std::vector<RecordPair> pairs;
  for (auto& [patient, records] : by_patient) {
    std::stable_sort(records.begin(), records.end(),
                     [&](std::size_t a, std::size_t b) { return earlier(entries[a], entries[b]); });
    for (std::size_t i = 0; i < records.size(); ++i)
      for (std::size_t j = i + 1; j < records.size(); ++j) {
        const auto& a = entries[records[i]].statements;
        const auto& b = entries[records[j]].statements;
        if (options.skip_same_condition &&
            std::set<std::string>(a.begin(), a.end()) == std::set<std::string>(b.begin(), b.end()))
          continue;
        pairs.push_back({records[i], records[j]});
        if (options.both_orders) pairs.push_back({records[j], records[i]});
      }
  }
  return pairs;
}

std::string to_string(Split split) {
  switch (split) {
    case Split::kTrain: return "train";
    case Split::kValidation: return "val";
    case Split::kTest: return "test";
  }
  return "train";
}

Split parse_split(const std::string& text, const std::string& where) {
  if (text == "train") return Split::kTrain;
  if (text == "val") return Split::kValidation;
  if (text == "test") return Split::kTest;
  throw InputError(where, "split must be train, val or test, got '" + text + "'");
}

std::vector<Split> assign_splits(const std::vector<DatasetEntry>& entries,
                                 const SplitOptions& options) {
  std::vector<Split> splits(entries.size(), Split::kTrain);
  if (options.by_strat_fold) {
    std::map<std::string, int> fold_of;  // a patient's records share PTB-XL's fold
    for (const auto& e : entries) {
      if (e.strat_fold < 1 || e.strat_fold > 10)
        throw InputError("record " + e.id, "strat_fold 1..10 needed to split by fold");
      fold_of.emplace(e.patient_id, e.strat_fold);
    }
    for (std::size_t i = 0; i < entries.size(); ++i) {
      int fold = fold_of[entries[i].patient_id];
      splits[i] = fold == 10 ? Split::kTest : fold == 9 ? Split::kValidation : Split::kTrain;
    }
    return splits;
  }
  if (options.validation_fraction < 0 || options.test_fraction < 0 ||
      options.validation_fraction + options.test_fraction > 1)
    throw InputError("split", "fractions must be >= 0 and sum to at most 1");
  std::vector<std::pair<std::uint64_t, std::string>> patients;
  {
    std::set<std::string> seen;
    for (const auto& e : entries)
      if (seen.insert(e.patient_id).second)
        patients.emplace_back(util::derive_seed(options.seed, e.patient_id), e.patient_id);
  }
  std::sort(patients.begin(), patients.end());
  const auto n = static_cast<double>(patients.size());
  const auto n_test = static_cast<std::size_t>(std::llround(n * options.test_fraction));
  const auto n_val = static_cast<std::size_t>(std::llround(n * options.validation_fraction));
  std::map<std::string, Split> split_of;
  for (std::size_t k = 0; k < patients.size(); ++k)
    split_of[patients[k].second] =
        k < n_test ? Split::kTest : k < n_test + n_val ? Split::kValidation : Split::kTrain;
  for (std::size_t i = 0; i < entries.size(); ++i) splits[i] = split_of[entries[i].patient_id];
  return splits;
}

}  // namespace ecgtwin::data
