// Every network on CUDA gives the CPU's result within float tolerance (same weights, same
// input). Skips without a CUDA device.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ecgtwin/model/autoencoder.hpp"
#include "ecgtwin/model/condition.hpp"
#include "ecgtwin/model/denoiser.hpp"
#include "ecgtwin/model/device.hpp"
#include "ecgtwin/model/evaluator_net.hpp"
#include "ecgtwin/model/extractor.hpp"

namespace ecgtwin::model {
namespace {

// A copy of `module` on CUDA with the same parameters and buffers.
template <typename Holder>
void copy_weights(Holder& from, Holder& to) {
  torch::NoGradGuard no_grad;
  auto source = from->named_parameters(true);
  for (auto& item : to->named_parameters(true)) item.value().copy_(source[item.key()]);
  auto buffers = from->named_buffers(true);
  for (auto& item : to->named_buffers(true)) item.value().copy_(buffers[item.key()]);
}

void expect_close(const torch::Tensor& cpu, const torch::Tensor& cuda, const char* what) {
  ASSERT_TRUE(cuda.is_cuda()) << what;
  const double scale = std::max(1.0, cpu.abs().max().item<double>());
  const double diff = (cpu - cuda.cpu()).abs().max().item<double>();
  EXPECT_LT(diff / scale, 1e-4) << what << ": max difference " << diff;
}

class ModulesGpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    // TF32 would round matrix products to 10 mantissa bits; compare full float32.
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
    torch::manual_seed(0);
  }
};

// Memory statistics and device guards need an index: a bare "cuda" names device 0.
TEST_F(ModulesGpuTest, BareCudaResolvesToTheFirstDevice) {
  const torch::Device device = resolve_device("cuda");
  EXPECT_TRUE(device.is_cuda());
  ASSERT_TRUE(device.has_index());
  EXPECT_EQ(device.index(), 0);
  EXPECT_EQ(resolve_device("auto"), device);
}

TEST_F(ModulesGpuTest, Autoencoder) {
  auto options = AutoencoderOptions().channels({32, 64, 64, 64}).norm_groups(8).layers_per_block(1);
  Autoencoder cpu(options), cuda(options);
  copy_weights(cpu, cuda);
  cpu->eval();
  cuda->eval();
  cuda->to(torch::kCUDA);
  auto x = torch::randn({2, 12, 1024});
  torch::NoGradGuard no_grad;
  expect_close(cpu->encode_latent(x), cuda->encode_latent(x.cuda()), "encode");
  auto z = torch::randn({2, 4, 128});
  expect_close(cpu->decode(z), cuda->decode(z.cuda()), "decode");
}

TEST_F(ModulesGpuTest, ExtractorWithMaskedTokens) {
  auto options = ExtractorOptions().hidden(64).heads(4).ffn(128).depth(2);
  options.condition(ConditionEncoderOptions().statement_dim(16).token_dim(64));
  Extractor cpu(options), cuda(options);
  copy_weights(cpu, cuda);
  cpu->eval();
  cuda->eval();
  cuda->to(torch::kCUDA);
  auto latent = torch::randn({3, 4, 128});
  auto statements = torch::randn({3, 5, 16});
  auto mask = torch::tensor({1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1}, torch::kBool).view({3, 5});
  auto demographics = Demographics::from({70, NAN, 110}, {50, 60, NAN}, {1, 2, 0});
  torch::NoGradGuard no_grad;
  expect_close(cpu->extract(latent, statements, mask, demographics),
               cuda->extract(latent.cuda(), statements.cuda(), mask.cuda(), demographics.to(torch::kCUDA)),
               "base vector");
}

TEST_F(ModulesGpuTest, EveryDenoiserKind) {
  for (const std::string kind : {"dit", "unet", "signal_dit"}) {
    auto options = DenoiserOptions::preset(kind).hidden(64).heads(4).base_dim(32).token_dim(64);
    if (kind != "unet") options.depth(2);
    auto cpu = make_denoiser(options);
    auto cuda = make_denoiser(options);
    {
      torch::NoGradGuard no_grad;
      auto source = cpu->named_parameters(true);
      for (auto& item : cuda->named_parameters(true)) item.value().copy_(source[item.key()]);
      // adaLN-Zero starts at zero: move every weight a little so the comparison means something.
      for (auto& item : cpu->named_parameters(true)) {
        auto noise = torch::randn(item.value().sizes()) * 0.02;
        item.value().add_(noise);
        cuda->named_parameters(true)[item.key()].add_(noise);
      }
    }
    cpu->eval();
    cuda->eval();
    cuda->to(torch::kCUDA);
    auto x = torch::randn({2, options.in_channels(), options.length()});
    auto t = torch::tensor({10, 900}, torch::kLong);
    DenoiserConditions conditions{torch::randn({2, 32}), torch::randn({2, 3, 64}),
                                  torch::tensor({1, 1, 0, 1, 0, 0}, torch::kBool).view({2, 3})};
    DenoiserConditions on_cuda{conditions.base_vector.cuda(), conditions.statement_tokens.cuda(),
                               conditions.token_mask.cuda()};
    torch::NoGradGuard no_grad;
    expect_close(cpu->forward(x, t, conditions), cuda->forward(x.cuda(), t.cuda(), on_cuda), kind.c_str());
  }
}

TEST_F(ModulesGpuTest, EvaluatorFeatures) {
  auto options = EvaluatorOptions().channels({16, 32}).blocks_per_stage(1).embed_dim(8).statement_dim(16).text_hidden(16).se_reduction(4);
  EvaluatorNet cpu(options), cuda(options);
  copy_weights(cpu, cuda);
  cpu->eval();
  cuda->eval();
  cuda->to(torch::kCUDA);
  auto x = torch::randn({2, 12, 1024});
  auto embeddings = torch::randn({2, 3, 16});
  auto mask = torch::tensor({1, 1, 0, 1, 0, 0}, torch::kBool).view({2, 3});
  torch::NoGradGuard no_grad;
  expect_close(cpu->ecg_features(x), cuda->ecg_features(x.cuda()), "ECG features");
  expect_close(cpu->text_features(embeddings, mask), cuda->text_features(embeddings.cuda(), mask.cuda()),
               "text features");
}

}  // namespace
}  // namespace ecgtwin::model
