// Benchmark suite "models": training-step throughput of the denoiser, the IBE and the VAE,
// twin-generation throughput (DDIM-50 and DDPM-1000, VAE decode included), peak memory,
// FLOPs counted from the shapes and the fraction of the device's measured matrix rate.
// The "plan" in the result lists every size and repeat count, so that bench/reference.py
// can run the same measurements in Python PyTorch.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <sys/resource.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <functional>

#include <spdlog/spdlog.h>

#ifdef ECGTWIN_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "bench.hpp"
#include "ecgtwin/model/device.hpp"
#include "ml_bench_fixture.hpp"

namespace ecgtwin::app {
namespace {

using namespace modelbench;
using Clock = std::chrono::steady_clock;

// A sampling run estimated longer than this is timed over fewer denoiser steps and
// projected (fixed part + steps x time per step); the plan says which.
constexpr double kCpuRunBudgetSeconds = 60.0;
constexpr double kCudaRunBudgetSeconds = 20.0;

void synchronise(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

void reset_peak_memory(const torch::Device& device) {
#ifdef ECGTWIN_TORCH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#else
  (void)device;
#endif
}

// Peak bytes allocated on the GPU since the last reset; on the CPU the process's peak
// resident size so far (it cannot be reset).
double peak_memory_mb(const torch::Device& device) {
#ifdef ECGTWIN_TORCH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    return static_cast<double>(stats.allocated_bytes[0].peak) / (1024.0 * 1024.0);
  }
#endif
  (void)device;
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// Warm-up runs (not timed), then `repeats` device-synchronised timings; their median.
double timed_median(const torch::Device& device, int warmup, int repeats,
                    const std::function<void()>& run) {
  for (int i = 0; i < warmup; ++i) run();
  synchronise(device);
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    run();
    synchronise(device);
    times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  return median(times);
}

// The dense matrix-product rate of the device: bf16 on CUDA, float32 on the CPU.
nlohmann::json matrix_rate(const torch::Device& device, bool quick) {
  const bool cuda = device.is_cuda();
  const int64_t n = cuda ? 8192 : (quick ? 1024 : 2048);
  const auto options = torch::TensorOptions().device(device).dtype(cuda ? torch::kBFloat16 : torch::kFloat32);
  const torch::Tensor a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
  torch::Tensor c;
  const double seconds = timed_median(device, 3, cuda ? 10 : 5, [&] { c = torch::matmul(a, b); });
  const double flops = 2.0 * double(n) * double(n) * double(n);
  return {{"dtype", cuda ? "bfloat16" : "float32"}, {"n", n}, {"seconds", seconds},
          {"tflops", flops / seconds / 1e12}};
}

nlohmann::json make_plan(const BenchOptions& options, const torch::Device& device) {
  const bool cuda = device.is_cuda();
  nlohmann::json plan;
  plan["device"] = cuda ? "cuda" : "cpu";
  plan["bf16_autocast"] = cuda;
  plan["threads"] = at::get_num_threads();
  plan["statement_slots"] = kStatementSlots;
  plan["warmup"] = 1;
  plan["repeats"] = options.quick ? std::min(options.repeats, 3) : options.repeats;
  plan["sampling_repeats"] = std::min(options.repeats, 3);
  if (!bench_part(options, "train")) {
    plan["train"] = nlohmann::json::object();
  } else if (options.quick && !cuda) {
    plan["train"] = {{"denoiser", 16}, {"extractor", 16}, {"autoencoder", 4}};
  } else {
    plan["train"] = {{"denoiser", 512}, {"extractor", 512}, {"autoencoder", 256}};
  }
  std::vector<int64_t> batches = {1, 64, 4096};
  if (!cuda) batches = options.quick ? std::vector<int64_t>{1, 8} : std::vector<int64_t>{1, 64};
  nlohmann::json sampling = nlohmann::json::array();
  if (!bench_part(options, "sampling")) batches.clear();
  for (const char* sampler : {"ddim", "ddpm"}) {
    for (int64_t batch : batches) {
      const int64_t steps = std::string(sampler) == "ddim" ? 50 : 1000;
      sampling.push_back({{"name", std::string(sampler) + std::to_string(steps) + "_b" +
                                       std::to_string(batch)},
                          {"sampler", sampler},
                          {"steps", steps},
                          {"batch", batch},
                          {"steps_timed", steps}});
    }
  }
  plan["sampling"] = sampling;
  if (!cuda && !batches.empty()) {
    plan["skipped"] = {{"sampling_batch_4096",
                        "needs hours on a CPU; measured on a GPU (scripts/device/run.sh)"}};
  }
  return plan;
}

nlohmann::json bench_training(Networks& networks, const torch::Device& device, Stage stage,
                              int64_t batch_size, const nlohmann::json& plan, double rate) {
  const bool bf16 = plan.at("bf16_autocast").get<bool>();
  TrainingStep step(networks, stage, bf16);
  const Batch batch = make_batch(networks, batch_size, 1, device);
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(2);
  reset_peak_memory(device);
  const double seconds = timed_median(device, plan.at("warmup"), plan.at("repeats"),
                                      [&] { step.run(batch, generator); });
  const double flops = training_step_flops(networks.options, stage, batch_size);
  nlohmann::json out = {{"batch", batch_size},
                        {"parameters", step.parameter_count()},
                        {"seconds_per_step", seconds},
                        {"samples_per_second", double(batch_size) / seconds},
                        {"flops_per_step", flops},
                        {"tflops_achieved", flops / seconds / 1e12},
                        {"peak_memory_mb", peak_memory_mb(device)}};
  if (rate > 0) out["fraction_of_matrix_rate"] = flops / seconds / 1e12 / rate;
  return out;
}

nlohmann::json bench_sampling(Networks& networks, const torch::Device& device,
                              nlohmann::json& entry, const nlohmann::json& plan, double rate) {
  const bool bf16 = plan.at("bf16_autocast").get<bool>();
  const int64_t batch_size = entry.at("batch"), steps = entry.at("steps");
  const std::string sampler = entry.at("sampler");
  const Batch batch = make_batch(networks, batch_size, 3, device);
  const int repeats = plan.at("sampling_repeats");
  auto options_for = [&](int64_t denoiser_steps) {
    diffusion::SamplerOptions o;
    if (denoiser_steps == steps && sampler == "ddpm") return o.sampler("ddpm").seed(5);
    // A shortened DDPM run is DDIM with eta = 1: the same work per step (one denoiser
    // evaluation and a fresh noise draw).
    return o.sampler("ddim").steps(denoiser_steps).eta(sampler == "ddpm" ? 1.0 : 0.0).seed(5);
  };
  // The fixed part: conditions (VAE encode, IBE, tokens) and the VAE decode.
  auto fixed_part = [&] {
    twin_conditions(networks, batch, bf16);
    torch::NoGradGuard no_grad;
    AutocastScope autocast(device, bf16);
    networks.autoencoder->decode(batch.latent);
  };
  const model::DenoiserConditions conditions = twin_conditions(networks, batch, bf16);
  auto loop = [&](int64_t k) {
    sample_latents(networks, conditions, batch_size, options_for(k), bf16);
  };
  // Warm-up: a two-step run of the whole pipeline at this batch.
  generate_twins(networks, batch, options_for(2), bf16);
  synchronise(device);
  // A run longer than the budget is timed over fewer denoiser steps and projected.
  const double budget = device.is_cuda() ? kCudaRunBudgetSeconds : kCpuRunBudgetSeconds;
  const int64_t probe = std::min<int64_t>(steps, 5);
  const double estimate = timed_median(device, 0, 1, fixed_part) +
                          double(steps) * timed_median(device, 0, 1, [&] { loop(probe); }) / double(probe);
  if (estimate > budget) {
    const double share = double(steps) * budget / estimate / 2.0;
    entry["steps_timed"] = std::max<int64_t>(probe, std::min<int64_t>(steps, int64_t(share)));
  }
  const int64_t steps_timed = entry.at("steps_timed");
  reset_peak_memory(device);
  double seconds = 0.0;
  nlohmann::json out = {{"batch", batch_size}, {"sampler", sampler}, {"steps", steps}};
  if (steps_timed == steps) {
    seconds = timed_median(device, 0, repeats, [&] {
      generate_twins(networks, batch, options_for(steps), bf16);
    });
    out["projected"] = false;
  } else {
    const double fixed = timed_median(device, 0, repeats, fixed_part);
    const double per_step = timed_median(device, 0, repeats, [&] { loop(steps_timed); }) / double(steps_timed);
    seconds = fixed + double(steps) * per_step;
    out["projected"] = true;
    out["steps_timed"] = steps_timed;
    out["fixed_seconds"] = fixed;
    out["seconds_per_denoiser_step"] = per_step;
  }
  const double flops = twin_flops(networks.options, batch_size, steps);
  out["seconds"] = seconds;
  out["twins_per_second"] = double(batch_size) / seconds;
  out["flops"] = flops;
  out["tflops_achieved"] = flops / seconds / 1e12;
  out["peak_memory_mb"] = peak_memory_mb(device);
  if (rate > 0) out["fraction_of_matrix_rate"] = flops / seconds / 1e12 / rate;
  return out;
}

BenchRegistrar suite(
    "models",
    "networks: training steps (samples/s), twins/s for DDIM-50 and DDPM-1000 incl. VAE decode, "
    "FLOPs, peak memory",
    [](const BenchOptions& options) {
      const torch::Device device = model::resolve_device(options.device);
      torch::manual_seed(0);
      Networks networks = make_networks(device, /*randomise=*/true, 0);
      nlohmann::json plan = make_plan(options, device);
      nlohmann::json result;
      result["torch_version"] = std::to_string(TORCH_VERSION_MAJOR) + "." +
                                std::to_string(TORCH_VERSION_MINOR) + "." +
                                std::to_string(TORCH_VERSION_PATCH);
      result["device"] = model::describe_device(device);
      result["parameters"] = {{"autoencoder", model::count_parameters(*networks.autoencoder)},
                              {"extractor", model::count_parameters(*networks.extractor)},
                              {"denoiser", model::count_parameters(*networks.denoiser)},
                              {"denoiser_condition", model::count_parameters(*networks.condition)}};
      const nlohmann::json rate = matrix_rate(device, options.quick);
      result["matrix_rate"] = rate;
      const double tflops = rate.at("tflops");
      result["train"] = nlohmann::json::object();
      result["sampling"] = nlohmann::json::object();
      for (Stage stage : {Stage::kDenoiser, Stage::kExtractor, Stage::kAutoencoder}) {
        const std::string name = stage_name(stage);
        if (!plan.at("train").contains(name)) continue;
        spdlog::info("bench models: training step {} at batch {}", name,
                     plan.at("train").at(name).get<int64_t>());
        result["train"][name] =
            bench_training(networks, device, stage, plan.at("train").at(name), plan, tflops);
      }
      for (auto& entry : plan["sampling"]) {
        spdlog::info("bench models: sampling {}", entry.at("name").get<std::string>());
        result["sampling"][entry.at("name").get<std::string>()] =
            bench_sampling(networks, device, entry, plan, tflops);
      }
      result["plan"] = plan;
      return result;
    });

}  // namespace
}  // namespace ecgtwin::app
