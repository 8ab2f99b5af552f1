// Recorded ECGs keep the limb-lead relations: PTB-XL's devices derive III, aVR, aVL and aVF
// from I and II, so what is left is the rounding of the stored samples to 1 uV (a rounding
// error uniform in +-0.5 uV has a root mean square of 0.29 uV).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "ecgtwin/data/record_io.hpp"
#include "ecgtwin/signal/limb_leads.hpp"
#include "test_support.hpp"

namespace ecgtwin::signal {
namespace {

TEST(LimbLeadsPtbxl, RecordedEcgsKeepTheRelationsUpToTheirRounding) {
  ECGTWIN_REQUIRE_SHARED_DATA("ptbxl-500/records500");
  const auto dir = test::shared_data() / "ptbxl-500" / "records500" / "00000";
  double largest = 0;
  int records = 0;
  for (int id = 1; id <= 100; ++id) {
    char name[32];
    std::snprintf(name, sizeof name, "%05d_hr.hea", id);
    if (!std::filesystem::exists(dir / name)) continue;
    const data::Record record = data::load_record(dir / name);
    ASSERT_EQ(record.lead_names, data::standard_leads()) << name;
    const double residual =
        limb_lead_residual(record.signal.data(), record.leads(), record.samples());
    EXPECT_LT(residual, 0.001) << name;  // mV
    largest = std::max(largest, residual);
    ++records;
  }
  ASSERT_GT(records, 50);
  std::printf("PTB-XL, %d records: largest limb-lead residual %.6f mV\n", records, largest);
}

}  // namespace
}  // namespace ecgtwin::signal
