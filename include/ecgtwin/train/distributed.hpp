#pragma once
// Data-parallel training over PyTorch's own c10d process groups, launched the way torchrun
// launches its workers: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT in the
// environment of every process. Rank 0 hosts the c10d TCPStore at MASTER_ADDR:MASTER_PORT,
// the others join it; Gloo carries CPU tensors and NCCL CUDA tensors (where LibTorch was
// built with it). Without these variables the program is one process and no group exists.
#include <torch/nn/module.h>
#include <torch/types.h>

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ecgtwin::train {

// What the launcher told this process.
struct LaunchEnvironment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;  // the GPU of this process on its node
  std::string master_addr;
  int master_port = 0;
};

// Reads RANK, WORLD_SIZE, LOCAL_RANK (default: RANK), MASTER_ADDR and MASTER_PORT through
// `lookup`. None of them set, or WORLD_SIZE=1: one process. InputError naming the variable
// when a value is not a number, RANK >= WORLD_SIZE, or MASTER_ADDR / MASTER_PORT is missing
// for a world of several processes.
LaunchEnvironment read_launch_environment(
    const std::function<const char*(const char*)>& lookup = [](const char* name) {
      return std::getenv(name);
    });

class DistributedContext {
 public:
  // The largest bucket of one all-reduce (gradients are flattened into such buckets).
  static constexpr std::size_t kBucketBytes = std::size_t{25} << 20;

  // One process, no process group: every collective is the identity.
  DistributedContext();
  // Joins the group described by `launch` (world_size > 1 connects to the store; waits up
  // to `timeout` for the other ranks and for each collective).
  explicit DistributedContext(const LaunchEnvironment& launch,
                              std::chrono::milliseconds timeout = std::chrono::minutes(30));
  ~DistributedContext();
  DistributedContext(const DistributedContext&) = delete;
  DistributedContext& operator=(const DistributedContext&) = delete;

  // The context of this process's launch environment, created at first use and kept until
  // the process ends, so that consecutive trainings in one program share one group.
  static DistributedContext& from_environment();

  int rank() const { return launch_.rank; }
  int world_size() const { return launch_.world_size; }
  int local_rank() const { return launch_.local_rank; }
  bool is_main() const { return launch_.rank == 0; }
  bool distributed() const { return launch_.world_size > 1; }

  // The device this rank trains on: cuda:LOCAL_RANK when `requested` is a CUDA device and
  // the world has several processes, `requested` otherwise.
  torch::Device device_for(const torch::Device& requested) const;
  // "gloo" or "nccl": the process group that carries tensors of `device`.
  std::string backend_for(const torch::Device& device) const;
  // Whether this build has the process group `backend` ("gloo": CPU tensors; "nccl": CUDA
  // tensors). A LibTorch without the backend's headers leaves it out.
  static bool has_backend(const std::string& backend);

  // Averages the tensors over the ranks, in place. Tensors of one dtype and device are
  // flattened into buckets of at most `bucket_bytes` (a larger tensor is a bucket of its
  // own), one all-reduce per bucket. Undefined tensors are skipped; every rank must pass the
  // same list (same shapes, same order).
  void all_reduce_mean(const std::vector<torch::Tensor>& tensors,
                       std::size_t bucket_bytes = kBucketBytes);
  // Copies rank 0's values into every rank, in place (same bucketing).
  void broadcast_from_main(const std::vector<torch::Tensor>& tensors,
                           std::size_t bucket_bytes = kBucketBytes);
  // Rank 0's parameters and buffers into every rank's `module`.
  void broadcast_module(torch::nn::Module& module);
  // Returns when every rank has called it.
  void barrier();

 private:
  struct Groups;
  enum class Collective { kMean, kBroadcast };
  void run_bucketed(const std::vector<torch::Tensor>& tensors, std::size_t bucket_bytes,
                    Collective collective);
  LaunchEnvironment launch_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Groups> groups_;
};

}  // namespace ecgtwin::train
