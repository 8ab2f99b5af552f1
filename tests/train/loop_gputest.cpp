#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ecgtwin/train/loop.hpp"
#include "test_support.hpp"

#ifdef ECGTWIN_TORCH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace ecgtwin::train {
namespace {

struct Mlp : torch::nn::Module {
  Mlp() {
    hidden = register_module("hidden", torch::nn::Linear(8, 32));
    out = register_module("out", torch::nn::Linear(32, 1));
  }
  torch::Tensor forward(const torch::Tensor& x) { return out(torch::tanh(hidden(x))); }
  torch::nn::Linear hidden{nullptr}, out{nullptr};
};

// y = sin(x w*) on 256 seeded rows, the input perturbed by noise drawn in prepare(). loss()
// sets CUDA's synchronisation check to fail from step `check_from` on and back before the last
// step's loss, whose step ends with the loop's read-back of the losses.
class CheckedTask : public TrainingTask {
 public:
  CheckedTask(std::int64_t check_from, std::int64_t last_step)
      : net_(std::make_shared<Mlp>()), check_from_(check_from), last_step_(last_step) {
    torch::manual_seed(2);
    x_ = torch::randn({256, 8});
    y_ = torch::sin(x_.sum(1, true));
  }
  std::string stage() const override { return "checked"; }
  torch::nn::Module& model() override { return *net_; }
  std::int64_t dataset_size() const override { return 256; }
  void prepare(HostBatch& batch, at::Generator& generator) override {
    auto index = torch::tensor(batch.indices);
    auto x = x_.index_select(0, index);
    batch.tensors["x"] = x + 0.1 * torch::randn(x.sizes(), generator);
    batch.tensors["y"] = y_.index_select(0, index);
  }
  torch::Tensor loss(const HostBatch& batch,
                     std::map<std::string, torch::Tensor>& metrics) override {
#ifdef ECGTWIN_TORCH_CUDA
    auto& state = c10::cuda::warning_state();
    if (batch.step == check_from_ && !checking) {
      state.set_sync_debug_mode(c10::cuda::SyncDebugMode::L_ERROR);
      checking = true;
    }
    if (batch.step == last_step_ && checking) {
      state.set_sync_debug_mode(c10::cuda::SyncDebugMode::L_DISABLED);
      checking = false;
      checked_until = batch.step;
    }
#endif
    seen_cuda = seen_cuda || batch.tensors.at("x").is_cuda();
    auto loss = torch::mse_loss(net_->forward(batch.tensors.at("x")), batch.tensors.at("y"));
    metrics["mse"] = loss.detach();
    return loss;
  }
  std::shared_ptr<Mlp> net_;
  bool checking = false;
  bool seen_cuda = false;
  std::int64_t checked_until = -1;

 private:
  torch::Tensor x_, y_;
  std::int64_t check_from_, last_step_;
};

// The training loop queues its steps without waiting for the device: with CUDA's
// synchronisation check set to fail (torch.cuda.set_sync_debug_mode("error") in Python),
// steps 2 .. 28 of a 30-step run (accumulation, clipping, EMA, shards prefetched from pinned
// memory) go through. A `.item()` under the same setting must fail first, so that the check
// is known to be in force.
TEST(TrainingLoopGpuTest, TheStepLoopDoesNotWaitForTheDevice) {
  if (!torch::cuda::is_available()) {
    GTEST_SKIP() << "no CUDA device";
  }
#ifndef ECGTWIN_TORCH_CUDA
  GTEST_SKIP() << "built against a LibTorch without CUDA";
#else
  auto& state = c10::cuda::warning_state();
  const auto previous = state.get_sync_debug_mode();
  bool control_failed = false;
  state.set_sync_debug_mode(c10::cuda::SyncDebugMode::L_ERROR);
  try {
    (void)torch::ones({2}, torch::kCUDA).sum().item<float>();
  } catch (const c10::Error&) {
    control_failed = true;
  }
  state.set_sync_debug_mode(previous);
  ASSERT_TRUE(control_failed) << "the synchronisation check is not in force in this build";

  TrainOptions options;
  options.steps = 30;
  options.batch_size = 32;
  options.accumulation = 2;
  options.lr = 1e-2;
  options.warmup_steps = 3;
  options.ema_decay = 0.9;
  options.log_every = 1000;  // the losses are read back at the end only
  options.seed = 4;
  options.device = "cuda";
  test::TempDir dir;
  CheckedTask task(/*check_from=*/2, /*last_step=*/options.steps - 1);
  std::string error;
  try {
    run_training(task, options, dir.path(), {});
  } catch (const c10::Error& e) {
    error = e.what_without_backtrace();
  }
  state.set_sync_debug_mode(previous);
  EXPECT_EQ(error, "") << "the step loop waited for the device";
  EXPECT_TRUE(task.seen_cuda);
  EXPECT_EQ(task.checked_until, options.steps - 1);
#endif
}

}  // namespace
}  // namespace ecgtwin::train
