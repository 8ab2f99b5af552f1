// The DiT, U-Net and signal-space denoisers: sizes, shapes, adaLN-Zero identity, masking,
// gradient flow, the cross-attention hook and the pathway ablations.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ecgtwin/model/denoiser.hpp"
#include "ecgtwin/model/dit.hpp"
#include "ecgtwin/model/unet.hpp"

namespace ecgtwin::model {
namespace {

int64_t count_parameters(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

DenoiserOptions small(const std::string& kind) {
  DenoiserOptions o = DenoiserOptions::preset(kind);
  o.hidden(32).heads(4).base_dim(16).token_dim(24).frequency_dim(32);
  if (kind == "dit") o.depth(2).length(16);
  if (kind == "signal_dit") o.depth(2).in_channels(12).length(64).patch_size(8);
  if (kind == "unet") o.length(16).unet_channels({16, 32}).unet_groups(4);
  return o;
}

DenoiserConditions conditions(int64_t batch, const DenoiserOptions& o, int64_t statements = 5) {
  DenoiserConditions c;
  c.base_vector = torch::randn({batch, o.base_dim()});
  c.statement_tokens = torch::randn({batch, statements, o.token_dim()});
  c.token_mask = torch::ones({batch, statements}, torch::kBool);
  c.token_mask.index_put_({0, torch::indexing::Slice(3)}, false);  // row 0: 3 real statements
  return c;
}

// Gives every parameter small random values, so that zero-initialised pathways matter.
void perturb(torch::nn::Module& m) {
  torch::NoGradGuard guard;
  for (auto& p : m.parameters()) p.add_(torch::randn_like(p) * 0.05);
}

TEST(Denoiser, DitDefaultsHaveThePublishedSize) {
  DitDenoiser dit(DenoiserOptions{});
  const auto n = count_parameters(*dit);
  EXPECT_NEAR(static_cast<double>(n), 10.5e6, 0.05 * 10.5e6) << n;
  EXPECT_EQ(dit->block_count(), 7);
}

TEST(Denoiser, ShapesAndDtypeForEveryKind) {
  torch::manual_seed(0);
  for (const std::string kind : {"dit", "unet", "signal_dit"}) {
    SCOPED_TRACE(kind);
    auto o = small(kind);
    auto net = make_denoiser(o);
    auto x = torch::randn({3, o.in_channels(), o.length()});
    auto t = torch::tensor({1, 500, 999}, torch::kLong);
    auto y = net->forward(x, t, conditions(3, o));
    EXPECT_EQ(y.sizes(), x.sizes());
    EXPECT_EQ(y.dtype(), torch::kFloat);
    EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  }
}

TEST(Denoiser, AdaLnZeroBlocksAreTheIdentityAtInitialisation) {
  torch::manual_seed(1);
  auto o = small("dit");
  DitDenoiser dit(o);
  auto c = conditions(2, o);
  auto inputs = dit->block_inputs(torch::tensor({3, 700}, torch::kLong), c);
  auto x = torch::randn({2, o.length(), o.hidden()});
  for (int64_t b = 0; b < dit->block_count(); ++b) {
    auto y = dit->block(b)->forward(x, inputs.global, inputs.tokens, inputs.mask);
    EXPECT_TRUE(torch::equal(y, x)) << "block " << b;
  }
}

TEST(Denoiser, PaddedStatementTokensChangeNoOutputBit) {
  torch::manual_seed(2);
  for (const std::string kind : {"dit", "unet", "signal_dit"}) {
    SCOPED_TRACE(kind);
    auto o = small(kind);
    auto net = make_denoiser(o);
    perturb(*net);
    auto x = torch::randn({2, o.in_channels(), o.length()});
    auto t = torch::tensor({10, 400}, torch::kLong);
    auto c = conditions(2, o);
    auto y = net->forward(x, t, c);
    auto changed = c;
    changed.statement_tokens = c.statement_tokens.clone();
    changed.statement_tokens.index_put_({0, torch::indexing::Slice(3)}, 100.0);
    auto y2 = net->forward(x, t, changed);
    EXPECT_TRUE(torch::equal(y, y2));
    // A real token does matter.
    changed.statement_tokens.index_put_({0, 0}, 100.0);
    EXPECT_FALSE(torch::equal(y, net->forward(x, t, changed)));
  }
}

TEST(Denoiser, GradientsReachEveryParameter) {
  torch::manual_seed(3);
  for (const std::string kind : {"dit", "unet", "signal_dit"}) {
    SCOPED_TRACE(kind);
    auto o = small(kind);
    auto net = make_denoiser(o);
    perturb(*net);
    auto x = torch::randn({2, o.in_channels(), o.length()});
    auto y = net->forward(x, torch::tensor({5, 600}, torch::kLong), conditions(2, o));
    y.pow(2).mean().backward();
    for (const auto& p : net->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << p.key();
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
    }
  }
}

class RecordingHook : public CrossAttentionHook {
 public:
  torch::Tensor on_probabilities(int block, const torch::Tensor& probabilities) override {
    blocks.push_back(block);
    shapes.push_back(probabilities.sizes().vec());
    if (flatten) return torch::ones_like(probabilities) / probabilities.size(-1);
    return probabilities;
  }
  std::vector<int> blocks;
  std::vector<std::vector<int64_t>> shapes;
  bool flatten = false;
};

TEST(Denoiser, CrossAttentionHookSeesEveryBlockAndCanChangeTheOutput) {
  torch::manual_seed(4);
  for (const std::string kind : {"dit", "unet"}) {
    SCOPED_TRACE(kind);
    auto o = small(kind);
    auto net = make_denoiser(o);
    perturb(*net);
    RecordingHook hook;
    net->set_cross_attention_hook(&hook);
    auto x = torch::randn({2, o.in_channels(), o.length()});
    auto t = torch::tensor({5, 600}, torch::kLong);
    auto c = conditions(2, o);
    auto y = net->forward(x, t, c);
    ASSERT_EQ(static_cast<int64_t>(hook.blocks.size()), net->block_count());
    for (size_t b = 0; b < hook.blocks.size(); ++b) {
      EXPECT_EQ(hook.blocks[b], static_cast<int>(b));
      ASSERT_EQ(hook.shapes[b].size(), 4u);
      EXPECT_EQ(hook.shapes[b][0], 2);
      EXPECT_EQ(hook.shapes[b][3], 5);  // one column per statement token
    }
    hook.flatten = true;
    EXPECT_FALSE(torch::equal(y, net->forward(x, t, c)));
    net->set_cross_attention_hook(nullptr);
  }
}

TEST(Denoiser, PathwayAblationsRunAndIgnoreTheSwitchedOffPathway) {
  torch::manual_seed(5);
  auto o = small("dit");
  auto adaln_only = small("dit");
  adaln_only.cross_attention(false);
  auto cross_only = small("dit");
  cross_only.adaptive_norm(false);
  for (auto options : {adaln_only, cross_only}) {
    auto net = make_denoiser(options);
    perturb(*net);
    auto x = torch::randn({2, o.in_channels(), o.length()});
    auto t = torch::tensor({5, 600}, torch::kLong);
    auto c = conditions(2, options);
    auto y = net->forward(x, t, c);
    EXPECT_EQ(y.sizes(), x.sizes());
    // The statements still reach the output by the other pathway.
    auto changed = c;
    changed.statement_tokens = c.statement_tokens + 1.0;
    EXPECT_FALSE(torch::equal(y, net->forward(x, t, changed)));
    // So does the base vector.
    changed = c;
    changed.base_vector = c.base_vector + 1.0;
    EXPECT_FALSE(torch::equal(y, net->forward(x, t, changed)));
  }
  // Fewer parameters without the modulation.
  EXPECT_LT(count_parameters(*make_denoiser(cross_only)), count_parameters(*make_denoiser(o)));
}

}  // namespace
}  // namespace ecgtwin::model
