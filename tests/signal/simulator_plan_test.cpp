// The cohort plan: visit scheme, drawn conditions and rates, determinism.
#include <gtest/gtest.h>

#include <set>

#include "ecgtwin/signal/simulator_cohort.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::signal {
namespace {

TEST(SimulatorPlan, FirstVisitIsSinusAndLaterVisitsDrawFromTheList) {
  CohortOptions options;
  options.patients = 50;
  options.records_per_patient = 3;
  options.conditions = {"afib", "lbbb", "brady", "1avb+lngqt"};
  options.seed = 4;
  auto plan = plan_cohort(options);
  ASSERT_EQ(plan.size(), 150u);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const auto& r = plan[i];
    EXPECT_EQ(r.ecg_id, static_cast<std::int64_t>(i) + 1);
    EXPECT_EQ(r.patient, static_cast<std::int64_t>(i / 3));
    EXPECT_EQ(r.visit, static_cast<int>(i % 3));
    RateRange range = rate_range(r.condition.rhythm);
    EXPECT_GE(r.condition.heart_rate, range.low);
    EXPECT_LE(r.condition.heart_rate, range.high);
    if (r.visit == 0) {
      EXPECT_EQ(condition_name(r.condition), "sinus");
      EXPECT_GE(r.condition.heart_rate, 60);
      EXPECT_LE(r.condition.heart_rate, 100);
    } else {
      // Every named part comes from the list (combinations join two entries).
      for (Finding f : r.condition.findings)
        EXPECT_TRUE(f == Finding::kLbbb || f == Finding::kAvBlock1 || f == Finding::kLongQt);
      EXPECT_TRUE(r.condition.rhythm == Rhythm::kSinus ||
                  r.condition.rhythm == Rhythm::kAtrialFibrillation ||
                  r.condition.rhythm == Rhythm::kSinusBradycardia);
      EXPECT_NO_THROW(validate_condition(r.condition));
      seen.insert(condition_name(r.condition));
    }
    EXPECT_EQ(r.path.substr(0, 18), "records500/00000/0");
    EXPECT_EQ(r.path.substr(r.path.size() - 3), "_hr");
  }
  for (const char* name : {"afib", "lbbb", "brady", "1avb+lngqt"})
    EXPECT_TRUE(seen.count(name)) << name;
  EXPECT_GT(seen.size(), 4u);  // some combinations were drawn
}

TEST(SimulatorPlan, SameSeedSamePlanAndRecordSeedsDiffer) {
  CohortOptions options;
  options.patients = 20;
  options.seed = 9;
  auto a = plan_cohort(options), b = plan_cohort(options);
  ASSERT_EQ(a.size(), b.size());
  std::set<std::uint64_t> seeds;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(condition_name(a[i].condition), condition_name(b[i].condition));
    EXPECT_EQ(a[i].condition.heart_rate, b[i].condition.heart_rate);
    EXPECT_EQ(a[i].seed, b[i].seed);
    seeds.insert(a[i].seed);
  }
  EXPECT_EQ(seeds.size(), a.size());
  options.seed = 10;
  auto c = plan_cohort(options);
  int same = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    same += a[i].condition.heart_rate == c[i].condition.heart_rate;
  EXPECT_LT(same, 5);
}

TEST(SimulatorPlan, ThousandsOfRecordsGoIntoFoldersOfAThousand) {
  CohortOptions options;
  options.patients = 600;
  options.records_per_patient = 2;
  options.fs = 100;
  auto plan = plan_cohort(options);
  EXPECT_EQ(plan[998].path, "records100/00000/00999_lr");
  EXPECT_EQ(plan[999].path, "records100/01000/01000_lr");
  EXPECT_EQ(plan[1199].path, "records100/01000/01200_lr");
}

TEST(SimulatorPlan, BadOptionsAreInputErrors) {
  CohortOptions options;
  options.patients = 0;
  EXPECT_THROW(plan_cohort(options), InputError);
  options.patients = 2;
  options.conditions = {"afib+lbbb+rbbb"};
  EXPECT_THROW(plan_cohort(options), InputError);
  options.conditions = {"unknown"};
  EXPECT_THROW(plan_cohort(options), InputError);
}

}  // namespace
}  // namespace ecgtwin::signal
