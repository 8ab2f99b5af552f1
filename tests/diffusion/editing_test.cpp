#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ecgtwin/diffusion/editing.hpp"
#include "ecgtwin/util/error.hpp"
#include "test_denoisers.hpp"

namespace ecgtwin::diffusion {
namespace {

using test::TinyCrossAttentionDenoiser;

constexpr int64_t kBatch = 3, kChannels = 2, kLength = 6, kSlots = 4, kTokenDim = 5;
const std::vector<int64_t> kShape{kBatch, kChannels, kLength};

// Rows with 2, 3 and 4 real statements.
model::DenoiserConditions report(uint64_t seed) {
  torch::manual_seed(seed);
  return {{},
          torch::randn({kBatch, kSlots, kTokenDim}),
          torch::tensor({1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1}, torch::kBool).view({kBatch, kSlots})};
}

class EditingTest : public ::testing::Test {
 protected:
  NoiseSchedule schedule_;
  TinyCrossAttentionDenoiser denoiser_{kChannels, kTokenDim};
  SamplerOptions sampling_ = SamplerOptions().steps(10).eta(0.5).seed(12);
};

TEST_F(EditingTest, TheHookRecordsEveryBlockAndTheMapsAreDistributionsOverRealStatements) {
  AttentionStore store(/*keep_full_steps=*/10, /*keep_step_maps=*/true);
  denoiser_.set_cross_attention_hook(&store);
  auto options = sampling_;
  options.before_step([&](int64_t step) { store.begin_step(step); });
  sample(denoiser_, schedule_, kShape, report(1), options);
  denoiser_.set_cross_attention_hook(nullptr);
  EXPECT_EQ(store.steps_seen(), 10);
  EXPECT_EQ(store.block_count(), 2);
  const auto full = store.full_map(3, 1);
  ASSERT_TRUE(full.defined());
  EXPECT_EQ(full.sizes(),
            torch::IntArrayRef({kBatch, TinyCrossAttentionDenoiser::kHeads, kLength, kSlots}));

  const MapsSample maps = sample_with_maps(denoiser_, schedule_, kShape, report(1), sampling_,
                                           /*keep_step_maps=*/true);
  ASSERT_EQ(maps.maps.sizes(), torch::IntArrayRef({kBatch, 2, kLength, kSlots}));
  ASSERT_EQ(maps.step_maps.sizes(), torch::IntArrayRef({10, kBatch, 2, kLength, kSlots}));
  const auto mask = report(1).token_mask.view({kBatch, 1, 1, kSlots});
  const auto real_sum = (maps.maps * mask).sum(-1);
  EXPECT_TRUE(torch::allclose(real_sum, torch::ones_like(real_sum), 1e-5, 1e-5));
  EXPECT_EQ(
      maps.maps.masked_select(mask.logical_not().expand_as(maps.maps)).abs().max().item<float>(),
      0.0f);
  EXPECT_TRUE(torch::allclose(maps.step_maps.mean(0), maps.maps, 1e-6, 1e-6));
  // Recording changes nothing about the sample (up to rounding: without a hook LibTorch 2
  // may take its fused attention kernel).
  EXPECT_TRUE(torch::allclose(
      maps.sample, sample(denoiser_, schedule_, kShape, report(1), sampling_), 1e-5, 1e-5));
}

TEST_F(EditingTest, EditingWithoutAChangeReproducesTheSourceBitForBit) {
  for (const std::string mode : {"swap", "add"}) {
    const EditResult result = edit(denoiser_, schedule_, kShape, report(1), report(1), sampling_,
                                   EditOptions().mode(mode).injection_fraction(0.6));
    EXPECT_TRUE(torch::equal(result.edited.sample, result.source.sample)) << mode;
    EXPECT_TRUE(torch::equal(result.edited.maps, result.source.maps)) << mode;
  }
  EXPECT_EQ(denoiser_.cross_attention_hook(), nullptr);
}

TEST_F(EditingTest, SwappedStatementsFollowTheSourceMapsOnlyWhileInjecting) {
  const auto source = report(1), swapped = report(2);
  // The free run records too, so that it takes the same attention kernel as the edits.
  const auto free_edit = sample_with_maps(denoiser_, schedule_, kShape, swapped, sampling_).sample;
  // No injection: the edit is a plain run of the new report from the same noise.
  const EditResult none = edit(denoiser_, schedule_, kShape, source, swapped, sampling_,
                               EditOptions().injection_fraction(0.0));
  EXPECT_TRUE(torch::equal(none.edited.sample, free_edit));
  // Injection at every step: the edit attends exactly as the source did.
  const EditResult all = edit(denoiser_, schedule_, kShape, source, swapped, sampling_,
                              EditOptions().injection_fraction(1.0).keep_step_maps(true));
  EXPECT_TRUE(torch::equal(all.edited.maps, all.source.maps));
  EXPECT_FALSE(torch::equal(all.edited.sample, all.source.sample));  // the values changed
  // Part of the steps: the maps agree on those, then differ.
  const EditResult half = edit(denoiser_, schedule_, kShape, source, swapped, sampling_,
                               EditOptions().injection_fraction(0.5).keep_step_maps(true));
  EXPECT_TRUE(
      torch::equal(half.edited.step_maps.slice(0, 0, 5), half.source.step_maps.slice(0, 0, 5)));
  EXPECT_FALSE(
      torch::allclose(half.edited.step_maps.slice(0, 5), half.source.step_maps.slice(0, 5)));
  EXPECT_FALSE(torch::equal(half.edited.sample, free_edit));
}

// The injector itself, fed by hand: source maps with the new statement's column added with
// its weight, rows renormalised; rows without a new statement keep the source map.
TEST(AttentionInjectorTest, AddedStatementsGetTheirOwnColumnReweightedAndRenormalised) {
  const int64_t batch = 2, heads = 2, length = 3, slots = 3;
  const auto source_mask = torch::tensor({1, 1, 0, 1, 1, 1}, torch::kBool).view({batch, slots});
  const auto edit_mask = torch::ones({batch, slots}, torch::kBool);  // row 0 gains slot 2
  torch::manual_seed(4);
  const auto source_probabilities =
      torch::softmax(torch::randn({batch, heads, length, slots}), -1) *
      source_mask.view({batch, 1, 1, slots});
  const auto source_normalised = source_probabilities / source_probabilities.sum(-1, true);
  AttentionStore source(1);
  source.begin_step(0);
  EXPECT_TRUE(torch::equal(source.on_probabilities(0, source_normalised), source_normalised));

  const double weight = 2.0;
  AttentionInjector injector(source, source_mask, edit_mask,
                             EditOptions().mode("add").added_weight(weight), 1);
  injector.begin_step(0);
  const auto own = torch::softmax(torch::randn({batch, heads, length, slots}), -1);
  const auto used = injector.on_probabilities(0, own);

  auto expected_row0 = source_normalised[0].clone();
  expected_row0.select(-1, 2) += weight * own[0].select(-1, 2);
  expected_row0 = expected_row0 / expected_row0.sum(-1, true);
  EXPECT_TRUE(torch::allclose(used[0], expected_row0, 1e-6, 1e-7));
  EXPECT_TRUE(torch::equal(used[1], source_normalised[1]));
  const auto sums = used.sum(-1);
  EXPECT_TRUE(torch::allclose(sums, torch::ones_like(sums), 1e-6, 1e-6));

  // After the injected steps the layer's own probabilities pass through.
  injector.begin_step(1);
  EXPECT_TRUE(torch::equal(injector.on_probabilities(0, own), own));
  // Swap uses the source map as it is, padded to the edit's slots.
  AttentionInjector swap(source, source_mask, torch::ones({batch, 4}, torch::kBool), EditOptions(),
                         1);
  swap.begin_step(0);
  const auto swapped =
      swap.on_probabilities(0, torch::softmax(torch::randn({batch, heads, length, 4}), -1));
  EXPECT_TRUE(torch::equal(swapped.slice(-1, 0, slots), source_normalised));
  EXPECT_TRUE(torch::equal(swapped.select(-1, 3), torch::zeros({batch, heads, length})));
}

TEST(EditOptionsTest, RejectsBadOptions) {
  EXPECT_THROW(EditOptions().mode("replace").validate(), InputError);
  EXPECT_THROW(EditOptions().injection_fraction(1.5).validate(), InputError);
  EXPECT_THROW(EditOptions().added_weight(-1.0).validate(), InputError);
  EXPECT_EQ(EditOptions().injection_fraction(0.5).injected_steps(50), 25);
  EXPECT_EQ(EditOptions().injection_fraction(0.33).injected_steps(10), 3);
}

}  // namespace
}  // namespace ecgtwin::diffusion
