#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ecgtwin/diffusion/editing.hpp"
#include "ecgtwin/diffusion/sampler.hpp"
#include "test_denoisers.hpp"

namespace ecgtwin::diffusion {
namespace {

using test::TinyCrossAttentionDenoiser;

model::DenoiserConditions report(const torch::Device& device) {
  torch::manual_seed(1);
  return {
      {},
      torch::randn({4, 3, 5}).to(device),
      torch::tensor({1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0}, torch::kBool).view({4, 3}).to(device)};
}

// The noise is drawn on the CPU, so a seed gives the same sample on the CPU and on CUDA (up
// to the rounding of the two devices' kernels).
TEST(SamplerGpuTest, SameSeedGivesTheSameSampleOnCpuAndCuda) {
  if (!torch::cuda::is_available()) {
    GTEST_SKIP() << "no CUDA device";
  }
  const NoiseSchedule schedule;
  TinyCrossAttentionDenoiser on_cpu(2, 5), on_cuda(2, 5);  // same seeded initialisation
  on_cuda.to(torch::kCUDA);
  for (const auto& options :
       {SamplerOptions().steps(20).eta(0.5).seed(9), SamplerOptions().sampler("ddpm").seed(9)}) {
    auto cuda_options = options;
    cuda_options.device(torch::kCUDA);
    const auto cpu = sample(on_cpu, schedule, {4, 2, 6}, report(torch::kCPU), options);
    const auto cuda = sample(on_cuda, schedule, {4, 2, 6}, report(torch::kCUDA), cuda_options);
    ASSERT_TRUE(cuda.is_cuda());
    EXPECT_TRUE(torch::allclose(cpu, cuda.cpu(), 1e-3, 1e-3)) << options.sampler();
  }
}

TEST(SamplerGpuTest, EditingWithoutAChangeReproducesTheSourceOnCuda) {
  if (!torch::cuda::is_available()) {
    GTEST_SKIP() << "no CUDA device";
  }
  const NoiseSchedule schedule;
  TinyCrossAttentionDenoiser denoiser(2, 5);
  denoiser.to(torch::kCUDA);
  const auto options = SamplerOptions().steps(10).eta(0.3).device(torch::kCUDA);
  const EditResult result =
      edit(denoiser, schedule, {4, 2, 6}, report(torch::kCUDA), report(torch::kCUDA), options,
           EditOptions().injection_fraction(0.5));
  EXPECT_TRUE(torch::equal(result.edited.sample, result.source.sample));
  EXPECT_EQ(result.source.maps.sizes(), torch::IntArrayRef({4, 2, 6, 3}));
}

}  // namespace
}  // namespace ecgtwin::diffusion
