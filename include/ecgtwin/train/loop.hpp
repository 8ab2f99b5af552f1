#pragma once
// The one training loop every stage uses: AdamW, cosine schedule with warm-up, gradient
// accumulation, gradient clipping, EMA, bf16 autocast on CUDA, atomic checkpoints with
// exact resume, NaN/Inf detection, a progress bar and metrics as JSON lines.
//
// Exact resume: every random draw of optimiser step s, micro-batch m comes from a generator
// seeded with (seed, s, m), and the batch of (s, m) is a pure function of (seed, s, m) too,
// so a run resumed from the checkpoint of step N continues with the same numbers as a run
// that never stopped. The same property lets a background thread prepare the host half of
// the coming shards (TrainingTask::prepare: reading, every random draw, and on CUDA pinning)
// while the device trains on earlier ones (TrainOptions::prefetch), with the same result.
//
// Data parallel (distributed.hpp; launched with torchrun's environment variables): the
// global micro-batch of `batch_size` rows is cut into `shards` contiguous shards of equal
// size, each with its own generator (seed, step, micro, shard); rank r of W computes shards
// [r*shards/W, (r+1)*shards/W) and the gradients are averaged over the ranks before
// clipping. A run's numbers are therefore a function of the seed, the global batch and the
// shard count, not of the world size: the same run on 1 process, or resumed from its
// checkpoint on another world size that divides `shards`, gives the same weights (up to the
// order of floating-point sums). Rank 0 alone writes checkpoints, the metrics file and the
// final model; every rank reads the checkpoint when resuming.
#include <torch/nn/module.h>
#include <torch/types.h>

#include <ATen/core/Generator.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ecgtwin/train/schedule.hpp"

namespace ecgtwin::train {

struct TrainOptions {
  std::int64_t steps = 1000;          // optimiser steps
  std::int64_t batch_size = 64;       // rows of one micro-batch, over all ranks together
  std::int64_t accumulation = 1;      // micro-batches per optimiser step
  std::int64_t shards = 0;            // equal parts of a micro-batch, each with its own random
                                      // draws (and own in-batch negatives); a multiple of the
                                      // world size; 0: the world size
  double lr = 1e-4;
  double weight_decay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  std::int64_t warmup_steps = 0;
  double min_lr_ratio = 0.1;
  double clip_norm = 1.0;             // 0: no clipping
  double ema_decay = 0.0;             // 0: no EMA
  std::int64_t checkpoint_every = 0;  // 0: only at the end
  std::int64_t log_every = 50;
  std::uint64_t seed = 0;
  bool bf16 = true;                   // autocast on CUDA
  // bf16 autocast on a CPU with bfloat16 instructions (model::AutocastScope; float32 on other
  // CPUs). train.diffusion only: the other stages' normalisation layers take float32 inputs on
  // LibTorch 1.13's CPU.
  bool bf16_cpu = false;
  bool resume = false;
  std::int64_t pause_after_step = 0;  // stop after this step (checkpoint written) without the final model;
                                      // --resume continues the same schedule (time-sliced jobs)
  std::int64_t halt_after_step = 0;   // testing: SIGKILL this process after that step's checkpoint
  std::string device = "auto";
  // Micro-batch shards prepared ahead of the step on a background thread (read, drawn and,
  // on CUDA, pinned, so that the step copies them without waiting); 0: each prepared on the
  // loop's own thread when its turn comes; -1: 2 on CUDA, 0 on the CPU. The result does not
  // depend on it.
  std::int64_t prefetch = -1;
};

// Which samples micro-batch (step, micro) uses: consecutive slices of an endless stream of
// seeded permutations of [0, size), one permutation per epoch.
class BatchOrder {
 public:
  BatchOrder(std::int64_t size, std::uint64_t seed);
  std::vector<std::int64_t> indices(std::int64_t first, std::int64_t count);

 private:
  const std::vector<std::int64_t>& permutation(std::int64_t epoch);
  std::int64_t size_;
  std::uint64_t seed_;
  std::int64_t cached_epoch_ = -1;
  std::vector<std::int64_t> cached_;
};

// A CPU generator for the draws of micro-batch (step, micro) of a stage; `shard` > 0 gives
// the generator of that shard of the micro-batch (shard 0 is the micro-batch's own).
at::Generator step_generator(std::uint64_t seed, std::int64_t step, std::int64_t micro,
                             std::int64_t shard = 0);

// One micro-batch shard: which samples, at which step, and the tensors its loss reads.
struct HostBatch {
  std::int64_t step = 0;
  std::vector<std::int64_t> indices;
  // Filled by TrainingTask::prepare on the CPU; the loop moves them to the model's device
  // (from pinned memory, without waiting, on CUDA) before TrainingTask::loss reads them.
  std::map<std::string, torch::Tensor> tensors;
};

// One stage's model, data and loss, in two halves: prepare() on the host, which may run on
// the prefetch thread ahead of the step, and loss() on the model's device.
class TrainingTask {
 public:
  virtual ~TrainingTask() = default;
  virtual std::string stage() const = 0;
  virtual torch::nn::Module& model() = 0;
  virtual std::int64_t dataset_size() const = 0;
  // Reads batch.indices' samples and makes every random draw of the shard from `generator`,
  // into batch.tensors (CPU). It must not read the model's weights nor the global generator:
  // it runs beside the training of earlier steps.
  virtual void prepare(HostBatch& batch, at::Generator& generator) = 0;
  // The loss of the prepared shard (a scalar on the model's device, the mean over its rows).
  // Named scalars in `metrics` are averaged and logged. batch.step allows step-dependent
  // weights (KL warm-up).
  virtual torch::Tensor loss(const HostBatch& batch,
                             std::map<std::string, torch::Tensor>& metrics) = 0;
  // Stage-specific meta data saved with checkpoints and the final model.
  virtual nlohmann::json extra_meta() const { return nlohmann::json::object(); }
};

struct TrainResult {
  std::int64_t steps = 0;
  double final_loss = 0;
  double seconds = 0;
  double samples_per_second = 0;
  std::filesystem::path model_file;
};

// Runs `task` for options.steps optimiser steps (data parallel over the ranks of
// DistributedContext::from_environment() when the process was launched as one of several),
// writing into `out_dir`:
//   checkpoints/<stage>.ckpt     the latest checkpoint (atomic)
//   <stage>.pt                   final weights (EMA weights when EMA is on)
//   <stage>_metrics.jsonl        one JSON object per logged step
// `resolved_config` is stored in every checkpoint and the final model file.
TrainResult run_training(TrainingTask& task, const TrainOptions& options,
                         const std::filesystem::path& out_dir,
                         const nlohmann::json& resolved_config);

}  // namespace ecgtwin::train
