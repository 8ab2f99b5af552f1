// The heart-rate balance of the denoiser's training order: how often each record is drawn.
#include <gtest/gtest.h>

#include "ecgtwin/train/stages.hpp"
#include "ecgtwin/util/error.hpp"
#include "test_support.hpp"

namespace ecgtwin::train {
namespace {

using Rates = std::vector<std::optional<double>>;
using Positions = std::vector<std::int64_t>;

TEST(RateBalance, StrengthZeroKeepsEveryRecordOnce) {
  const Rates rates = {70, 72, 130, std::nullopt, 75};
  EXPECT_EQ(rate_balanced_positions(rates, 0.0), (Positions{0, 1, 2, 3, 4}));
}

TEST(RateBalance, RareBinsAreRepeatedByTheirCountRatioToThePowerOfTheStrength) {
  // Bin 60-80 bpm holds 4 records, 120-140 one, 40-60 two; the record without a rate stays once.
  const Rates rates = {70, 61, 79.9, 65, 130, 50, 55, std::nullopt};
  // Strength 1: ratios 1, 4 and 2.
  EXPECT_EQ(rate_balanced_positions(rates, 1.0),
            (Positions{0, 1, 2, 3, 4, 4, 4, 4, 5, 5, 6, 6, 7}));
  // Strength 0.5: sqrt(4) = 2, sqrt(2) = 1.41 -> 1.
  EXPECT_EQ(rate_balanced_positions(rates, 0.5), (Positions{0, 1, 2, 3, 4, 4, 5, 6, 7}));
  // Bins 10 bpm wide: 60-70, 70-80 and 50-60 hold 2 each, 130-140 one -> ratio 2 for it alone.
  EXPECT_EQ(rate_balanced_positions(rates, 1.0, 10.0), (Positions{0, 1, 2, 3, 4, 4, 5, 6, 7}));
}

TEST(RateBalance, StrengthOutsideZeroToOneIsRefusedByKey) {
  EXPECT_TRUE(test::throws_input_error([] { rate_balanced_positions({70}, 1.5); },
                                       {"train.diffusion.rate_balance"}));
  EXPECT_THROW(rate_balanced_positions({70}, -0.1), InputError);
  EXPECT_THROW(rate_balanced_positions({70}, std::nan("")), InputError);
}

}  // namespace
}  // namespace ecgtwin::train
