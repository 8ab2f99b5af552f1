#pragma once
// Same-patient pairs (reference -> target) and patient-disjoint train/validation/test splits.
#include <cstdint>
#include <string>
#include <vector>

#include "ecgtwin/data/dataset.hpp"

namespace ecgtwin::data {

struct RecordPair {
  std::size_t reference = 0;  // entry index of the earlier record
  std::size_t target = 0;     // entry index of the later record
};

struct PairOptions {
  bool both_orders = false;        // also target -> reference
  bool skip_same_condition = true; // skip pairs whose statement sets are equal
};

// All pairs of records of one patient. The earlier record (by recording_date, then by id,
// numerically when both ids are numbers) is the reference. Ordered by patient, then records.
std::vector<RecordPair> make_pairs(const std::vector<DatasetEntry>& entries,
                                   const PairOptions& options = {});

enum class Split { kTrain, kValidation, kTest };
std::string to_string(Split split);  // "train", "val", "test"
// The inverse of to_string; InputError naming `where` (a file or a flag) for any other text.
Split parse_split(const std::string& text, const std::string& where);

struct SplitOptions {
  double validation_fraction = 0.1;  // of patients
  double test_fraction = 0.1;
  std::uint64_t seed = 0;
  // PTB-XL's recommended folds: strat_fold 1-8 train, 9 validation, 10 test (Wagner 2020).
  bool by_strat_fold = false;
};

// One split per entry; every patient's records fall in one split. Patients are shuffled by
// a seeded generator keyed on the patient id, so the result does not depend on entry order.
std::vector<Split> assign_splits(const std::vector<DatasetEntry>& entries,
                                 const SplitOptions& options = {});

}  // namespace ecgtwin::data
