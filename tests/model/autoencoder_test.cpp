#include <gtest/gtest.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <set>
#include <string>

#include "ecgtwin/model/autoencoder.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::model {
namespace {

class AutoencoderTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::manual_seed(7); }

  static AutoencoderOptions small() {
    AutoencoderOptions options;
    options.leads(12).length(64).channels({16, 32, 32}).layers_per_block(1).norm_groups(8);
    return options;
  }
};

TEST_F(AutoencoderTest, DefaultShapesFollowThePaper) {
  Autoencoder vae;
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({1, 12, 1024});
  const Posterior posterior = vae->encode(x);
  EXPECT_EQ(posterior.mu.sizes(), (std::vector<int64_t>{1, 4, 128}));
  EXPECT_EQ(posterior.logvar.sizes(), (std::vector<int64_t>{1, 4, 128}));
  const torch::Tensor z = vae->encode_latent(x);
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{1, 4, 128}));
  const torch::Tensor y = vae->decode(z);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_EQ(y.dtype(), torch::kFloat32);
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
}

TEST_F(AutoencoderTest, OtherLeadCountsAndLengths) {
  AutoencoderOptions options;
  options.leads(8).length(256).channels({32, 64, 64}).layers_per_block(1).norm_groups(16).latent_channels(6);
  Autoencoder vae(options);
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({3, 8, 256});
  const auto out = vae->forward(x);
  EXPECT_EQ(out.posterior.mu.sizes(), (std::vector<int64_t>{3, 6, 64}));
  EXPECT_EQ(out.reconstruction.sizes(), x.sizes());
  EXPECT_THROW(vae->encode(torch::randn({1, 12, 256})), c10::Error);
}

TEST_F(AutoencoderTest, InvalidOptionsAreInputErrors) {
  auto options = small();
  options.length(66);  // not a multiple of 4
  EXPECT_THROW(Autoencoder{options}, InputError);
  options = small();
  options.channels({16, 20});  // 20 is not a multiple of 8 groups
  EXPECT_THROW(Autoencoder{options}, InputError);
}

TEST_F(AutoencoderTest, ParameterNamesFollowDiffusers) {
  Autoencoder vae(small());
  std::set<std::string> names;
  for (const auto& item : vae->named_parameters()) names.insert(item.key());
  for (const char* expected :
       {"encoder.conv_in.weight", "encoder.down_blocks.0.resnets.0.conv1.weight",
        "encoder.down_blocks.0.downsamplers.0.conv.weight", "encoder.down_blocks.1.resnets.0.conv_shortcut.weight",
        "encoder.mid_block.attentions.0.to_q.weight", "encoder.mid_block.attentions.0.to_out.0.weight",
        "encoder.mid_block.resnets.1.norm2.weight", "decoder.up_blocks.0.resnets.1.conv2.weight",
        "decoder.up_blocks.0.upsamplers.0.conv.weight", "quant_conv.weight", "post_quant_conv.weight"}) {
    EXPECT_TRUE(names.count(expected)) << expected;
  }
  // The last level has no resampler.
  EXPECT_FALSE(names.count("encoder.down_blocks.2.downsamplers.0.conv.weight"));
  EXPECT_FALSE(names.count("decoder.up_blocks.2.upsamplers.0.conv.weight"));
}

TEST_F(AutoencoderTest, LogvarIsClamped) {
  Autoencoder vae(small());
  auto params = vae->named_parameters();
  torch::NoGradGuard no_grad;
  params["quant_conv.weight"].zero_();
  auto bias = params["quant_conv.bias"];
  bias.slice(0, 0, 4).fill_(0.25);
  bias.slice(0, 4, 8).fill_(100.0);
  const torch::Tensor x = torch::randn({2, 12, 64});
  Posterior posterior = vae->encode(x);
  EXPECT_TRUE(posterior.logvar.eq(20.0).all().item<bool>());
  EXPECT_TRUE(posterior.mu.eq(0.25).all().item<bool>());
  bias.slice(0, 4, 8).fill_(-100.0);
  posterior = vae->encode(x);
  EXPECT_TRUE(posterior.logvar.eq(-30.0).all().item<bool>());
  // With sigma = exp(-15) the draw is the scaled mean up to float rounding.
  const torch::Tensor z = vae->sample(posterior, 3);
  EXPECT_TRUE(torch::allclose(z, torch::full_like(z, 0.25 * 0.18215), 0, 1e-6));
  EXPECT_TRUE(torch::equal(vae->encode_latent(x), 0.18215 * posterior.mu));
}

TEST_F(AutoencoderTest, KlMatchesTheClosedFormForTwoGaussians) {
  // KL(N(m, s^2) || N(0, 1)) = log(1/s) + (s^2 + m^2)/2 - 1/2, per element.
  const std::vector<double> mus = {0.0, 1.0, -2.0, 0.5};
  const std::vector<double> sigmas = {1.0, 2.0, 0.3, 1.5};
  double expected = 0;
  for (size_t i = 0; i < mus.size(); ++i)
    expected += std::log(1.0 / sigmas[i]) + (sigmas[i] * sigmas[i] + mus[i] * mus[i]) / 2.0 - 0.5;
  expected /= mus.size();
  Posterior posterior{torch::tensor(mus, torch::kFloat64).view({1, 1, 4}),
                      torch::log(torch::tensor(sigmas, torch::kFloat64).pow(2)).view({1, 1, 4})};
  EXPECT_NEAR(gaussian_kl(posterior).item<double>(), expected, 1e-12);
  const torch::Tensor target = torch::zeros({1, 1, 4}, torch::kFloat64);
  const torch::Tensor recon = torch::tensor({1.0, 2.0, 0.0, -1.0}, torch::kFloat64).view({1, 1, 4});
  const auto loss = autoencoder_loss(recon, target, posterior, 0.1);
  EXPECT_NEAR(loss.reconstruction.item<double>(), 6.0 / 4.0, 1e-12);
  EXPECT_NEAR(loss.total.item<double>(), 1.5 + 0.1 * expected, 1e-12);
}

TEST_F(AutoencoderTest, SamplingIsSeededAndReparameterised) {
  Autoencoder vae(small());
  torch::NoGradGuard no_grad;
  const Posterior posterior = vae->encode(torch::randn({2, 12, 64}));
  const torch::Tensor a = vae->sample(posterior, 11);
  const torch::Tensor b = vae->sample(posterior, 11);
  const torch::Tensor c = vae->sample(posterior, 12);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  // (z / scale - mu) / sigma is exactly the standard normal draw of the same seed.
  const torch::Tensor noise = torch::randn(posterior.mu.sizes(), at::make_generator<at::CPUGeneratorImpl>(11));
  const torch::Tensor recovered = (a / 0.18215 - posterior.mu) / torch::exp(0.5 * posterior.logvar);
  EXPECT_TRUE(torch::allclose(recovered, noise, 1e-3, 1e-3));
}

TEST_F(AutoencoderTest, GradientsReachEveryParameter) {
  Autoencoder vae(small());
  const torch::Tensor x = torch::randn({2, 12, 64});
  const auto out = vae->forward(x);
  autoencoder_loss(out.reconstruction, x, out.posterior, 1e-3).total.backward();
  for (const auto& item : vae->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    EXPECT_GT(item.value().grad().abs().sum().item<double>(), 0.0) << item.key();
  }
}

}  // namespace
}  // namespace ecgtwin::model
