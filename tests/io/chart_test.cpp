#include "ecgtwin/io/chart.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "test_support.hpp"

namespace ecgtwin::io {
namespace {

void expect_ticks(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << i;
}

TEST(ChartTicks, RoundValuesInsideTheRange) {
  // A heart-rate axis: 231.7 bpm over about 5 ticks is 46 apart, rounded to 50.
  expect_ticks(nice_ticks(35.3, 267.0), {50, 100, 150, 200, 250});
  expect_ticks(nice_ticks(0, 1), {0, 0.2, 0.4, 0.6, 0.8, 1.0});
  // Both signs, 0.17 apart rounded to 0.2, and zero among them.
  expect_ticks(nice_ticks(-0.33, 0.52), {-0.2, 0, 0.2, 0.4});
  expect_ticks(nice_ticks(-1234, -1001), {-1200, -1150, -1100, -1050});
  expect_ticks(nice_ticks(1e-6, 9e-6), {2e-6, 4e-6, 6e-6, 8e-6});
  expect_ticks(nice_ticks(0, 100, 10), {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100});
}

TEST(ChartTicks, DegenerateRanges) {
  expect_ticks(nice_ticks(5, 5), {5});
  EXPECT_TRUE(nice_ticks(3, 1).empty());
  EXPECT_TRUE(nice_ticks(std::numeric_limits<double>::quiet_NaN(), 1).empty());
  EXPECT_TRUE(nice_ticks(0, std::numeric_limits<double>::infinity()).empty());
}

TEST(ChartTicks, LabelsCarryTheDecimalsTheStepNeeds) {
  EXPECT_EQ(tick_label(150, 50), "150");
  EXPECT_EQ(tick_label(0.6000000000000001, 0.2), "0.6");
  EXPECT_EQ(tick_label(-1e-17, 0.2), "0.0");  // no "-0.0"
  EXPECT_EQ(tick_label(0.004, 0.002), "0.004");
  EXPECT_EQ(tick_label(-1200, 50), "-1200");
}

TEST(ChartScatter, WritesAPngAndRefusesMismatchedValuesWithoutWriting) {
  test::TempDir dir;
  ScatterChart chart;
  chart.title = "heart rate";
  chart.x_label = "target heart rate (bpm)";
  chart.y_label = "twin heart rate (bpm)";
  chart.x = {46.3, 80.0, 139.4, std::numeric_limits<double>::quiet_NaN()};
  chart.y = {64.7, 79.0, 256.0, 70.0};
  chart.diagonal = true;
  plot_scatter(chart, dir / "hr.png");
  EXPECT_EQ(util::read_file(dir / "hr.png").substr(1, 3), "PNG");
  chart.y.pop_back();
  EXPECT_THROW(plot_scatter(chart, dir / "bad.png"), InputError);
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.png"));
}

}  // namespace
}  // namespace ecgtwin::io
