#include "ecgtwin/train/distributed.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "ecgtwin/train/loop.hpp"
#include "ecgtwin/util/error.hpp"
#include "test_support.hpp"

extern char** environ;

namespace ecgtwin::train {
namespace {

namespace fs = std::filesystem;

// ---- the launch environment -------------------------------------------------------------

std::function<const char*(const char*)> lookup_in(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

std::string launch_error(std::map<std::string, std::string> vars) {
  try {
    read_launch_environment(lookup_in(std::move(vars)));
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(LaunchEnvironment, NoVariablesIsOneProcess) {
  auto launch = read_launch_environment(lookup_in({}));
  EXPECT_EQ(launch.world_size, 1);
  EXPECT_EQ(launch.rank, 0);
  auto single = read_launch_environment(lookup_in({{"RANK", "0"}, {"WORLD_SIZE", "1"}}));
  EXPECT_EQ(single.world_size, 1);  // no MASTER_ADDR needed for one process
}

TEST(LaunchEnvironment, ReadsTorchrunVariables) {
  auto launch = read_launch_environment(lookup_in({{"RANK", "3"},
                                                   {"WORLD_SIZE", "4"},
                                                   {"LOCAL_RANK", "1"},
                                                   {"MASTER_ADDR", "10.0.0.2"},
                                                   {"MASTER_PORT", "29500"}}));
  EXPECT_EQ(launch.rank, 3);
  EXPECT_EQ(launch.world_size, 4);
  EXPECT_EQ(launch.local_rank, 1);
  EXPECT_EQ(launch.master_addr, "10.0.0.2");
  EXPECT_EQ(launch.master_port, 29500);
  auto no_local = read_launch_environment(lookup_in(
      {{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}));
  EXPECT_EQ(no_local.local_rank, 1);  // one node: the local rank is the rank
}

TEST(LaunchEnvironment, InconsistentVariablesAreInputErrors) {
  const std::map<std::string, std::string> good = {
      {"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29500"}};
  auto with = [&](const std::string& key, const std::string& value) {
    auto vars = good;
    if (value.empty())
      vars.erase(key);
    else
      vars[key] = value;
    return launch_error(vars);
  };
  EXPECT_EQ(launch_error(good), "no error");
  EXPECT_NE(with("RANK", "2").find("RANK"), std::string::npos);
  EXPECT_NE(with("RANK", "2").find("WORLD_SIZE = 2"), std::string::npos);
  EXPECT_NE(with("RANK", "").find("RANK"), std::string::npos);
  EXPECT_NE(with("MASTER_ADDR", "").find("MASTER_ADDR"), std::string::npos);
  EXPECT_NE(with("MASTER_PORT", "").find("MASTER_PORT"), std::string::npos);
  EXPECT_NE(with("MASTER_PORT", "70000").find("MASTER_PORT"), std::string::npos);
  EXPECT_NE(with("WORLD_SIZE", "two").find("not a whole number"), std::string::npos);
  EXPECT_NE(with("WORLD_SIZE", "0").find("WORLD_SIZE"), std::string::npos);
  EXPECT_NE(with("LOCAL_RANK", "-1").find("LOCAL_RANK"), std::string::npos);
  EXPECT_NE(launch_error({{"RANK", "0"}}).find("WORLD_SIZE"), std::string::npos);
}

TEST(DistributedContext, OneProcessCollectivesAreTheIdentity) {
  DistributedContext single;
  EXPECT_TRUE(single.is_main());
  EXPECT_FALSE(single.distributed());
  auto a = torch::arange(6).to(torch::kFloat);
  auto b = torch::full({2}, 7, torch::kLong);
  single.all_reduce_mean({a});
  single.broadcast_from_main({b});
  single.barrier();
  EXPECT_TRUE(torch::equal(a, torch::arange(6).to(torch::kFloat)));
  EXPECT_TRUE(torch::equal(b, torch::full({2}, 7, torch::kLong)));
  EXPECT_EQ(single.device_for(torch::Device(torch::kCPU)), torch::Device(torch::kCPU));
}

// ---- a small training task --------------------------------------------------------------

struct Mlp : torch::nn::Module {
  Mlp() {
    hidden = register_module("hidden", torch::nn::Linear(4, 8));
    out = register_module("out", torch::nn::Linear(8, 1));
  }
  torch::Tensor forward(torch::Tensor x) { return out(torch::tanh(hidden(x))); }
  torch::nn::Linear hidden{nullptr}, out{nullptr};
};

// y = sin(x w*) on 64 seeded rows; the input is perturbed by noise drawn from the step's
// generator for the whole (shard of the) micro-batch, so the draws matter for the result.
class MlpTask : public TrainingTask {
 public:
  MlpTask() : net_(std::make_shared<Mlp>()) {
    torch::manual_seed(5);
    for (auto& p : net_->parameters()) torch::nn::init::normal_(p, 0.0, 0.3);
    x_ = torch::randn({64, 4});
    y_ = torch::sin(x_.mm(torch::tensor({{0.5f}, {-1.0f}, {0.25f}, {2.0f}})));
  }
  std::string stage() const override { return "mlp"; }
  torch::nn::Module& model() override { return *net_; }
  int64_t dataset_size() const override { return 64; }
  void prepare(HostBatch& batch, at::Generator& gen) override {
    auto idx = torch::tensor(batch.indices);
    auto x = x_.index_select(0, idx);
    batch.tensors["x"] = x + 0.2 * torch::randn(x.sizes(), gen);
    batch.tensors["y"] = y_.index_select(0, idx);
  }
  torch::Tensor loss(const HostBatch& batch,
                     std::map<std::string, torch::Tensor>& metrics) override {
    seen.emplace_back(batch.step, batch.indices);
    auto loss = torch::mse_loss(net_->forward(batch.tensors.at("x")), batch.tensors.at("y"));
    metrics["mse"] = loss.detach();
    return loss;
  }
  std::shared_ptr<Mlp> net_;
  torch::Tensor x_, y_;
  std::vector<std::pair<int64_t, std::vector<int64_t>>> seen;
};

TrainOptions mlp_options() {
  TrainOptions o;
  o.steps = 30;
  o.batch_size = 16;  // global: 8 rows per shard
  o.accumulation = 2;
  o.shards = 2;
  o.lr = 0.02;
  o.warmup_steps = 3;
  o.clip_norm = 0.5;
  o.ema_decay = 0.9;
  o.log_every = 5;
  o.checkpoint_every = 10;
  o.seed = 7;
  o.device = "cpu";
  return o;
}

std::vector<torch::Tensor> weights(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (auto& p : m.parameters()) out.push_back(p.detach().clone());
  return out;
}

double max_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>());
  return worst;
}

std::vector<double> logged_losses(const fs::path& metrics) {
  std::ifstream in(metrics);
  std::vector<double> out;
  for (std::string line; std::getline(in, line);)
    out.push_back(nlohmann::json::parse(line).at("loss").get<double>());
  return out;
}

TEST(TrainingShards, BatchMustSplitIntoTheShards) {
  test::TempDir dir;
  MlpTask task;
  auto options = mlp_options();
  options.shards = 3;
  EXPECT_TRUE(test::throws_input_error([&] { run_training(task, options, dir.path(), {}); },
                                       {"train.mlp.batch_size"}))
      << "a batch of 16 rows split into 3 shards";
}

// ---- two processes over Gloo on loopback ------------------------------------------------

constexpr const char* kChildDir = "ECGTWIN_DISTRIBUTED_TEST_DIR";

// What each rank runs (started by TwoGlooProcessesMatchOneProcess; disabled otherwise).
TEST(DistributedTraining, DISABLED_Rank) {
  const char* dir_text = std::getenv(kChildDir);
  ASSERT_NE(dir_text, nullptr) << "started without " << kChildDir;
  const fs::path dir(dir_text);
  auto& dist = DistributedContext::from_environment();
  ASSERT_EQ(dist.world_size(), 2);
  const int rank = dist.rank();

  // Collectives against closed forms; 16-byte buckets make several buckets per dtype.
  std::vector<torch::Tensor> reduced{
      torch::full({3}, rank + 1.0f), torch::full({2, 2}, 2.0 * rank, torch::kDouble),
      torch::Tensor(), torch::arange(5).to(torch::kFloat) * (rank + 1)};
  dist.all_reduce_mean(reduced, 16);
  EXPECT_TRUE(torch::equal(reduced[0], torch::full({3}, 1.5f)));
  EXPECT_TRUE(torch::equal(reduced[1], torch::full({2, 2}, 1.0, torch::kDouble)));
  EXPECT_TRUE(torch::equal(reduced[3], torch::arange(5).to(torch::kFloat) * 1.5f));
  auto broadcast = torch::full({3}, 10 + rank, torch::kLong);
  dist.broadcast_from_main({broadcast});
  EXPECT_TRUE(torch::equal(broadcast, torch::full({3}, 10, torch::kLong)));

  auto options = mlp_options();
  options.shards = 0;  // one shard per rank
  options.pause_after_step = 10;
  {
    MlpTask task;
    if (rank == 1) {  // rank 0's initial weights must win
      torch::NoGradGuard guard;
      for (auto& p : task.net_->parameters()) p.fill_(0.25);
    }
    run_training(task, options, dir / "two", {});
    // Rank r reads rows [8r, 8r + 8) of each global micro-batch of 16.
    BatchOrder order(64, options.seed);
    ASSERT_GE(task.seen.size(), 2u);
    EXPECT_EQ(task.seen[0].second, order.indices(8 * rank, 8));
    EXPECT_EQ(task.seen[1].second, order.indices(16 + 8 * rank, 8));
  }
  if (dist.is_main()) {
    fs::create_directories(dir / "from_two" / "checkpoints");
    fs::copy_file(dir / "two" / "checkpoints" / "mlp.ckpt",
                  dir / "from_two" / "checkpoints" / "mlp.ckpt");
  }
  dist.barrier();
  options.pause_after_step = 0;
  options.resume = true;
  MlpTask resumed;
  auto result = run_training(resumed, options, dir / "two", {});
  EXPECT_EQ(result.steps, 20);
  auto final_weights = weights(*resumed.net_);
  torch::save(final_weights, (dir / ("rank" + std::to_string(rank) + ".pt")).string());
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return -1;
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// Starts this test program as rank `rank` of 2, output into `log`.
pid_t start_rank(int rank, int port, const fs::path& dir, const fs::path& log) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    if (name != "RANK" && name != "WORLD_SIZE" && name != "LOCAL_RANK" && name != "MASTER_ADDR" &&
        name != "MASTER_PORT" && name != "OMP_NUM_THREADS" && name != kChildDir)
      env.push_back(entry);
  }
  env.push_back("RANK=" + std::to_string(rank));
  env.push_back("LOCAL_RANK=" + std::to_string(rank));
  env.push_back("WORLD_SIZE=2");
  env.push_back("MASTER_ADDR=127.0.0.1");
  env.push_back("MASTER_PORT=" + std::to_string(port));
  env.push_back("OMP_NUM_THREADS=1");
  env.push_back(std::string(kChildDir) + "=" + dir.string());
  const std::string exe = fs::read_symlink("/proc/self/exe").string();
  std::vector<std::string> args = {exe, "--gtest_filter=DistributedTraining.DISABLED_Rank",
                                   "--gtest_also_run_disabled_tests"};
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int failed = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return failed ? -1 : pid;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

#if __has_include(<gloo/algorithm.h>)
constexpr bool kGlooHeaders = true;
#else
constexpr bool kGlooHeaders = false;
#endif

TEST(DistributedTraining, HasBackendFollowsTheHeadersOfTheBuild) {
  EXPECT_EQ(DistributedContext::has_backend("gloo"), kGlooHeaders);
  EXPECT_FALSE(DistributedContext::has_backend("mpi"));
  EXPECT_FALSE(DistributedContext::has_backend(""));
}

TEST(DistributedTraining, TwoGlooProcessesMatchOneProcess) {
  if (!DistributedContext::has_backend("gloo"))
    GTEST_SKIP() << "this build has no Gloo process group (LibTorch without Gloo's headers)";
  test::TempDir dir;
  const int port = free_port();
  ASSERT_GT(port, 0) << "no free port on 127.0.0.1";
  std::vector<pid_t> ranks;
  for (int rank = 0; rank < 2; ++rank) {
    const fs::path log = dir / ("rank" + std::to_string(rank) + ".log");
    ranks.push_back(start_rank(rank, port, dir.path(), log));
    ASSERT_GT(ranks.back(), 0) << "could not start rank " << rank;
  }
  std::vector<int> status(2, -1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  for (int left = 2; left > 0;) {
    for (int r = 0; r < 2; ++r) {
      if (ranks[r] <= 0) continue;
      if (waitpid(ranks[r], &status[r], WNOHANG) == ranks[r]) {
        ranks[r] = 0;
        --left;
      }
    }
    if (left > 0 && std::chrono::steady_clock::now() > deadline) {
      for (pid_t pid : ranks)
        if (pid > 0) kill(pid, SIGKILL), waitpid(pid, nullptr, 0);
      FAIL() << "the two ranks did not finish within 5 minutes\nrank 0:\n"
             << read_text(dir / "rank0.log") << "\nrank 1:\n" << read_text(dir / "rank1.log");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (int r = 0; r < 2; ++r)
    ASSERT_TRUE(WIFEXITED(status[r]) && WEXITSTATUS(status[r]) == 0)
        << "rank " << r << " failed:\n" << read_text(dir / ("rank" + std::to_string(r) + ".log"));

  std::vector<torch::Tensor> rank0, rank1;
  torch::load(rank0, (dir / "rank0.pt").string());
  torch::load(rank1, (dir / "rank1.pt").string());
  ASSERT_EQ(rank0.size(), rank1.size());
  for (size_t i = 0; i < rank0.size(); ++i)
    EXPECT_TRUE(torch::equal(rank0[i], rank1[i])) << "parameter " << i << " differs between ranks";

  // One process, same global batch and shards.
  MlpTask one;
  run_training(one, mlp_options(), dir / "one", {});
  const auto reference = weights(*one.net_);
  const double two_vs_one = max_difference(rank0, reference);
  std::cout << "max |w(2 ranks) - w(1 process)| = " << two_vs_one << "\n";
  EXPECT_LT(two_vs_one, 1e-5);
  // The shard draws matter: one shard per micro-batch (other noise) is far from it.
  {
    MlpTask whole;
    auto options = mlp_options();
    options.shards = 1;
    run_training(whole, options, dir / "whole", {});
    const double other_draws = max_difference(weights(*whole.net_), reference);
    std::cout << "max |w(1 shard) - w(2 shards)| = " << other_draws << "\n";
    EXPECT_GT(other_draws, 1e-3);
  }

  // Rank 0 alone wrote the model and the metrics; the logged losses are the global ones.
  EXPECT_TRUE(fs::exists(dir / "two" / "mlp.pt"));
  auto two_losses = logged_losses(dir / "two" / "mlp_metrics.jsonl");
  auto one_losses = logged_losses(dir / "one" / "mlp_metrics.jsonl");
  ASSERT_EQ(two_losses.size(), 6u);
  ASSERT_EQ(one_losses.size(), 6u);
  for (size_t i = 0; i < one_losses.size(); ++i)
    EXPECT_NEAR(two_losses[i], one_losses[i], 1e-5 * std::max(1.0, one_losses[i]));

  // The 2-process checkpoint of step 10, resumed in one process, ends where the others do.
  MlpTask resumed;
  {
    torch::NoGradGuard guard;
    for (auto& p : resumed.net_->parameters()) p.fill_(-0.5);
  }
  auto options = mlp_options();
  options.resume = true;
  auto result = run_training(resumed, options, dir / "from_two", {});
  EXPECT_EQ(result.steps, 20);
  const double resumed_vs_one = max_difference(weights(*resumed.net_), reference);
  std::cout << "max |w(2 ranks to step 10, then 1 process) - w(1 process)| = " << resumed_vs_one
            << "\n";
  EXPECT_LT(resumed_vs_one, 1e-5);
}

}  // namespace
}  // namespace ecgtwin::train
