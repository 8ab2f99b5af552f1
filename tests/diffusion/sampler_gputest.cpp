#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ecgtwin/diffusion/editing.hpp"
#include "ecgtwin/diffusion/sampler.hpp"
#include "test_denoisers.hpp"

#ifdef ECGTWIN_TORCH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif

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

// The sampling loop queues its steps on the device without waiting for it: with CUDA's
// synchronisation check set to fail (torch.cuda.set_sync_debug_mode("error") in Python), a
// whole DDIM run and a whole DDPM run (whose step noise is drawn on the CPU and copied from
// pinned memory) go through. A `.item()` under the same setting must fail first, so that the
// check is known to be in force.
TEST(SamplerGpuTest, TheSamplingLoopDoesNotWaitForTheDevice) {
  if (!torch::cuda::is_available()) {
    GTEST_SKIP() << "no CUDA device";
  }
#ifndef ECGTWIN_TORCH_CUDA
  GTEST_SKIP() << "built against a LibTorch without CUDA";
#else
  const NoiseSchedule schedule;
  TinyCrossAttentionDenoiser denoiser(2, 5);
  denoiser.to(torch::kCUDA);
  const auto conditions = report(torch::kCUDA);
  const std::vector<SamplerOptions> runs = {
      SamplerOptions().steps(50).seed(3).device(torch::kCUDA),
      SamplerOptions().sampler("ddpm").seed(3).device(torch::kCUDA)};
  // A first run outside the check: the allocators' first requests may wait for the device.
  for (const auto& options : runs) sample(denoiser, schedule, {4, 2, 6}, conditions, options);
  torch::cuda::synchronize();
  auto& state = c10::cuda::warning_state();
  const auto previous = state.get_sync_debug_mode();
  state.set_sync_debug_mode(c10::cuda::SyncDebugMode::L_ERROR);
  bool control_failed = false;
  try {
    (void)conditions.statement_tokens.sum().item<float>();
  } catch (const c10::Error&) {
    control_failed = true;
  }
  std::vector<torch::Tensor> samples;
  std::string error;
  try {
    for (const auto& options : runs)
      samples.push_back(sample(denoiser, schedule, {4, 2, 6}, conditions, options));
  } catch (const c10::Error& e) {
    error = e.what_without_backtrace();
  }
  state.set_sync_debug_mode(previous);
  ASSERT_TRUE(control_failed) << "the synchronisation check is not in force in this build";
  EXPECT_EQ(error, "") << "the sampling loop waited for the device";
  ASSERT_EQ(samples.size(), runs.size());
  for (const auto& s : samples) EXPECT_TRUE(torch::isfinite(s).all().item<bool>());
#endif
}

}  // namespace
}  // namespace ecgtwin::diffusion
