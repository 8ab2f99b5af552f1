#include "ecgtwin/util/number_text.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace ecgtwin {
namespace {

TEST(NumberText, ShortestTextThatReadsBackTheSameDouble) {
  EXPECT_EQ(number_text(900.0), "900");
  EXPECT_EQ(number_text(72.5), "72.5");
  EXPECT_EQ(number_text(0.1), "0.1");
  EXPECT_EQ(number_text(-3.0), "-3");
  EXPECT_EQ(number_text(1e-6), "1e-06");
  for (const double v : {0.1, 1.0 / 3.0, 77.95, 1e300, -2.5e-7})
    EXPECT_EQ(std::stod(number_text(v)), v);
}

TEST(NumberText, AppendsTheSameText) {
  std::string line = "x,";
  append_number_text(line, 72.5);
  append_number_text(line, 1e-6);
  EXPECT_EQ(line, "x,72.51e-06");
}

TEST(NumberText, NotFiniteValuesAreNamed) {
  EXPECT_EQ(number_text(std::numeric_limits<double>::quiet_NaN()), "nan");
  EXPECT_EQ(number_text(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(number_text(-std::numeric_limits<double>::infinity()), "-inf");
}

}  // namespace
}  // namespace ecgtwin
