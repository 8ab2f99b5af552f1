#include "ecgtwin/train/loop.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "ecgtwin/train/checkpoint.hpp"
#include "ecgtwin/train/ema.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "ecgtwin/util/machine.hpp"
#include "test_support.hpp"

namespace ecgtwin::train {
namespace {

// Linear regression y = x w* + noise, with a noisy input per step so the generator matters.
struct Regression : torch::nn::Module {
  Regression(int64_t in, int64_t out) { linear = register_module("linear", torch::nn::Linear(in, out)); }
  torch::nn::Linear linear{nullptr};
};

class RegressionTask : public TrainingTask {
 public:
  explicit RegressionTask(int64_t width = 4, int64_t nan_at_step = -1)
      : net_(std::make_shared<Regression>(width, 1)), nan_at_step_(nan_at_step) {
    torch::manual_seed(0);
    for (auto& p : net_->parameters()) torch::nn::init::normal_(p, 0.0, 0.1);
    x_ = torch::randn({64, width});
    w_ = torch::arange(1, width + 1).to(torch::kFloat).unsqueeze(1);
    y_ = x_.mm(w_);
  }
  std::string stage() const override { return "regression"; }
  torch::nn::Module& model() override { return *net_; }
  int64_t dataset_size() const override { return 64; }
  void prepare(HostBatch& batch, at::Generator& gen) override {
    {
      std::lock_guard<std::mutex> lock(threads_mutex_);
      prepare_threads.insert(std::this_thread::get_id());
    }
    if (batch.step == fail_prepare_at_step)
      throw InputError("sample " + std::to_string(batch.indices.front()),
                       "cannot be read (a test failure)");
    auto idx = torch::tensor(batch.indices);
    auto x = x_.index_select(0, idx);
    batch.tensors["x"] = x + 0.01 * torch::randn(x.sizes(), gen);
    batch.tensors["y"] = y_.index_select(0, idx);
  }
  torch::Tensor loss(const HostBatch& batch,
                     std::map<std::string, torch::Tensor>& metrics) override {
    const torch::Tensor prediction = net_->linear(batch.tensors.at("x"));
    prediction_type = prediction.scalar_type();
    auto loss = torch::mse_loss(prediction.to(torch::kFloat), batch.tensors.at("y"));
    metrics["mse"] = loss.detach();
    if (batch.step == nan_at_step_) loss = loss * std::numeric_limits<float>::quiet_NaN();
    return loss;
  }
  std::shared_ptr<Regression> net_;
  torch::Tensor x_, w_, y_;
  int64_t nan_at_step_;
  int64_t fail_prepare_at_step = -1;
  std::set<std::thread::id> prepare_threads;
  torch::ScalarType prediction_type = torch::kFloat;  // of the last loss

 private:
  std::mutex threads_mutex_;
};

TrainOptions small_options() {
  TrainOptions o;
  o.steps = 40;
  o.batch_size = 8;
  o.accumulation = 2;
  o.lr = 0.05;
  o.warmup_steps = 5;
  o.ema_decay = 0.9;
  o.log_every = 5;
  o.checkpoint_every = 20;
  o.seed = 11;
  o.device = "cpu";
  return o;
}

TEST(LrSchedule, WarmupThenCosine) {
  LrSchedule s{1.0, 10, 110, 0.1};
  EXPECT_DOUBLE_EQ(s.at(0), 0.1);
  EXPECT_DOUBLE_EQ(s.at(9), 1.0);
  EXPECT_DOUBLE_EQ(s.at(10), 1.0);
  EXPECT_NEAR(s.at(60), 0.1 + 0.9 * 0.5, 1e-12);  // half way: cos(pi/2) = 0
  EXPECT_NEAR(s.at(110), 0.1, 1e-12);
}

TEST(BatchOrder, EpochsArePermutationsAndDeterministic) {
  BatchOrder a(10, 3), b(10, 3);
  auto first = a.indices(0, 10);
  std::vector<int64_t> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);
  EXPECT_EQ(first, b.indices(0, 10));
  EXPECT_NE(a.indices(10, 10), first);  // the next epoch is another permutation
}

TEST(Ema, ClosedForm) {
  Regression net(2, 1);
  torch::NoGradGuard guard;
  net.linear->weight.fill_(1.0);
  Ema ema(net, 0.5);
  net.linear->weight.fill_(3.0);
  ema.update(net);  // 0.5*1 + 0.5*3 = 2
  net.linear->weight.fill_(0.0);
  ema.copy_to(net);
  EXPECT_TRUE(torch::allclose(net.linear->weight, torch::full({1, 2}, 2.0)));
}

TEST(TrainingLoop, LearnsTheRegression) {
  test::TempDir dir;
  RegressionTask task;
  auto options = small_options();
  options.steps = 150;
  options.ema_decay = 0;
  auto result = run_training(task, options, dir.path(), {{"k", 1}});
  EXPECT_LT(result.final_loss, 0.05);
  EXPECT_TRUE(std::filesystem::exists(dir / "regression.pt"));
  EXPECT_TRUE(std::filesystem::exists(dir / "regression_metrics.jsonl"));
  EXPECT_TRUE(std::filesystem::exists(dir / "checkpoints" / "regression.ckpt"));
  std::ifstream metrics(dir / "regression_metrics.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(metrics, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.contains("loss") && j.contains("lr") && j.contains("mse"));
    ++lines;
  }
  EXPECT_EQ(lines, 30);
}

std::vector<torch::Tensor> weights(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (auto& p : m.parameters()) out.push_back(p.detach().clone());
  return out;
}

// bf16_cpu: on a CPU with bfloat16 instructions the loss's linear layer runs in bfloat16 and
// the regression is still learnt, to bfloat16's precision; on other CPUs the key changes
// nothing and the run is the float32 one bit for bit.
TEST(TrainingLoop, Bf16OnTheCpuWhereItHasBf16Instructions) {
  test::TempDir a, b;
  RegressionTask fp32_task, bf16_task;
  auto options = small_options();
  options.steps = 150;
  options.ema_decay = 0;
  const auto fp32 = run_training(fp32_task, options, a.path(), {});
  EXPECT_EQ(fp32_task.prediction_type, torch::kFloat);
  options.bf16_cpu = true;
  const auto bf16 = run_training(bf16_task, options, b.path(), {});
  const auto w32 = weights(*fp32_task.net_), w16 = weights(*bf16_task.net_);
  bool same = true;
  for (std::size_t i = 0; i < w32.size(); ++i) same = same && torch::equal(w32[i], w16[i]);
  if (util::cpu_has_bf16()) {
    EXPECT_EQ(bf16_task.prediction_type, torch::kBFloat16);
    EXPECT_FALSE(same);
    EXPECT_LT(bf16.final_loss, 0.05);
    for (std::size_t i = 0; i < w32.size(); ++i)
      EXPECT_TRUE(torch::allclose(w16[i], w32[i], 0.05, 0.05)) << i;
  } else {
    EXPECT_EQ(bf16_task.prediction_type, torch::kFloat);
    EXPECT_TRUE(same);
    EXPECT_EQ(bf16.final_loss, fp32.final_loss);
  }
}

TEST(TrainingLoop, ResumeContinuesExactly) {
  test::TempDir once, twice;
  auto options = small_options();
  RegressionTask full;
  run_training(full, options, once.path(), {});

  auto first_half = options;
  first_half.pause_after_step = 20;
  {
    RegressionTask first;
    auto paused = run_training(first, first_half, twice.path(), {});
    EXPECT_EQ(paused.steps, 20);
    EXPECT_FALSE(std::filesystem::exists(twice / "regression.pt"));
  }
  RegressionTask second;  // fresh objects, different initial weights don't matter
  {
    torch::NoGradGuard guard;
    for (auto& p : second.net_->parameters()) p.fill_(0.5);
  }
  auto resumed = options;
  resumed.resume = true;
  auto result = run_training(second, resumed, twice.path(), {});
  EXPECT_EQ(result.steps, 20);
  auto a = weights(*full.net_);
  auto b = weights(*second.net_);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
}

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(TrainingLoop, PrefetchedShardsGiveTheSameRunAsShardsPreparedInTurn) {
  test::TempDir in_turn, ahead, resumed_dir;
  auto options = small_options();
  options.prefetch = 0;
  RegressionTask reference;
  run_training(reference, options, in_turn.path(), {});
  EXPECT_EQ(reference.prepare_threads, std::set<std::thread::id>{std::this_thread::get_id()});

  auto prefetched = options;
  prefetched.prefetch = 3;
  RegressionTask task;
  run_training(task, prefetched, ahead.path(), {});
  ASSERT_EQ(task.prepare_threads.size(), 1u);
  EXPECT_NE(*task.prepare_threads.begin(), std::this_thread::get_id())
      << "prepare() ran on the loop's thread";
  auto a = weights(*reference.net_);
  auto b = weights(*task.net_);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
  EXPECT_EQ(read_text(in_turn / "regression_metrics.jsonl"),
            read_text(ahead / "regression_metrics.jsonl"));

  // Paused with shards prepared ahead (those past the pause are dropped), resumed with another
  // depth.
  auto first_half = prefetched;
  first_half.pause_after_step = 20;
  {
    RegressionTask first;
    run_training(first, first_half, resumed_dir.path(), {});
  }
  auto second_half = options;
  second_half.prefetch = 1;
  second_half.resume = true;
  RegressionTask second;
  run_training(second, second_half, resumed_dir.path(), {});
  auto c = weights(*second.net_);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], c[i])) << "parameter " << i;
}

TEST(TrainingLoop, AShardThatCannotBePreparedStopsTheRunWithItsOwnError) {
  for (int64_t depth : {0, 2}) {
    test::TempDir dir;
    RegressionTask task;
    task.fail_prepare_at_step = 12;
    auto options = small_options();
    options.checkpoint_every = 10;
    options.prefetch = depth;
    EXPECT_TRUE(test::throws_input_error([&] { run_training(task, options, dir.path(), {}); },
                                         {"cannot be read"}))
        << "the failed shard (prefetch " << depth << ")";
    EXPECT_EQ(read_checkpoint_meta(dir / "checkpoints" / "regression.ckpt").step, 10)
        << "prefetch " << depth;
    EXPECT_FALSE(std::filesystem::exists(dir / "regression.pt"));
  }
}

TEST(Checkpoint, CorruptAndMismatchedAreRefused) {
  test::TempDir dir;
  RegressionTask task;
  auto options = small_options();
  options.steps = 4;
  run_training(task, options, dir.path(), {});
  auto path = dir / "checkpoints" / "regression.ckpt";
  auto bytes = util::read_file(path);

  // A flipped byte in the payload.
  std::string corrupt = bytes;
  corrupt[corrupt.size() - 10] ^= 0x5a;
  util::write_file_atomic(dir / "corrupt.ckpt", corrupt);
  Regression same(4, 1);
  EXPECT_TRUE(test::throws_input_error(
      [&] {
        load_checkpoint(dir / "corrupt.ckpt", {&same, nullptr, nullptr}, "regression", torch::kCPU);
      },
      {"checksum"}));
  // Truncated.
  util::write_file_atomic(dir / "short.ckpt", bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(load_checkpoint(dir / "short.ckpt", {&same, nullptr, nullptr}, "", torch::kCPU), InputError);
  // Another model shape.
  Regression wider(5, 1);
  EXPECT_TRUE(test::throws_input_error(
      [&] {
        load_checkpoint(path, {&wider, nullptr, nullptr}, "regression", torch::kCPU);
      },
      {"shape"}));
  // Another stage.
  EXPECT_THROW(load_checkpoint(path, {&same, nullptr, nullptr}, "diffusion", torch::kCPU), InputError);
  // The good one loads and gives the saved weights.
  load_checkpoint(path, {&same, nullptr, nullptr}, "regression", torch::kCPU);
}

TEST(TrainingLoop, NonFiniteLossNamesStepAndCheckpoint) {
  test::TempDir dir;
  RegressionTask task(4, /*nan_at_step=*/12);
  auto options = small_options();
  options.checkpoint_every = 10;
  try {
    run_training(task, options, dir.path(), {});
    FAIL() << "NaN loss not detected";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("step 13"), std::string::npos) << msg;
    EXPECT_NE(msg.find("regression.ckpt"), std::string::npos) << msg;
    EXPECT_NE(msg.find("batch samples"), std::string::npos) << msg;
  }
  // The checkpoint left behind is the good one of step 10.
  EXPECT_EQ(read_checkpoint_meta(dir / "checkpoints" / "regression.ckpt").step, 10);
}

}  // namespace
}  // namespace ecgtwin::train
