#include "ecgtwin/train/loop.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>
#include <torch/optim/adamw.h>

#include <c10/core/DeviceGuard.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <exception>
#include <fstream>
#include <mutex>
#include <numeric>
#include <thread>

#include "ecgtwin/model/autocast.hpp"
#include "ecgtwin/model/device.hpp"
#include "ecgtwin/train/checkpoint.hpp"
#include "ecgtwin/train/distributed.hpp"
#include "ecgtwin/train/ema.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "ecgtwin/util/log.hpp"
#include "ecgtwin/util/random.hpp"

namespace ecgtwin::train {

BatchOrder::BatchOrder(std::int64_t size, std::uint64_t seed) : size_(size), seed_(seed) {
  if (size_ <= 0) throw InputError("training data", "the data set is empty");
}

const std::vector<std::int64_t>& BatchOrder::permutation(std::int64_t epoch) {
  if (epoch != cached_epoch_) {
    cached_.resize(static_cast<size_t>(size_));
    std::iota(cached_.begin(), cached_.end(), 0);
    util::Rng rng(util::derive_seed(seed_, static_cast<std::uint64_t>(epoch)));
    for (std::int64_t i = size_ - 1; i > 0; --i)
      std::swap(cached_[static_cast<size_t>(i)], cached_[static_cast<size_t>(rng.uniform_int(0, i))]);
    cached_epoch_ = epoch;
  }
  return cached_;
}

std::vector<std::int64_t> BatchOrder::indices(std::int64_t first, std::int64_t count) {
  std::vector<std::int64_t> out;
  out.reserve(static_cast<size_t>(count));
  for (std::int64_t i = first; i < first + count; ++i)
    out.push_back(permutation(i / size_)[static_cast<size_t>(i % size_)]);
  return out;
}

at::Generator step_generator(std::uint64_t seed, std::int64_t step, std::int64_t micro,
                             std::int64_t shard) {
  std::uint64_t s = util::derive_seed(util::derive_seed(seed, static_cast<std::uint64_t>(step)),
                                      static_cast<std::uint64_t>(micro));
  if (shard > 0) s = util::derive_seed(s, static_cast<std::uint64_t>(shard));
  return at::make_generator<at::CPUGeneratorImpl>(s);
}

namespace {

// Scales gradients so that their global L2 norm is at most max_norm, without reading the
// norm back to the host (no device synchronisation).
void clip_gradients(const std::vector<torch::Tensor>& parameters, double max_norm) {
  std::vector<torch::Tensor> norms;
  for (const auto& p : parameters)
    if (p.grad().defined()) norms.push_back(p.grad().detach().norm(2).to(torch::kFloat));
  if (norms.empty()) return;
  auto total = torch::stack(norms).norm(2);
  auto coefficient = torch::clamp_max(max_norm / (total + 1e-6), 1.0);
  for (const auto& p : parameters)
    if (p.grad().defined()) p.grad().detach().mul_(coefficient.to(p.grad().dtype()));
}

// Drops the gradients instead of zeroing them (what set_to_none does in Python): backward
// then writes the first micro-batch's gradient in place of adding it to zeros, and no step
// spends a pass over every parameter on zeroing.
void clear_gradients(const std::vector<torch::Tensor>& parameters) {
  for (const auto& p : parameters) {
    auto& grad = const_cast<torch::Tensor&>(p).mutable_grad();
    if (grad.defined()) grad = torch::Tensor();
  }
}

void set_lr(torch::optim::AdamW& optimizer, double lr) {
  for (auto& group : optimizer.param_groups())
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

// Hands out the shards the loop takes, in its order: made `depth` ahead on a thread of its
// own, or with depth 0 on the caller's thread when taken. An exception thrown while making a
// shard is thrown again when that shard is taken, and nothing is made after it.
class Prefetcher {
 public:
  using Make = std::function<HostBatch(std::int64_t)>;
  Prefetcher(Make make, std::int64_t count, std::int64_t depth)
      : make_(std::move(make)), count_(count), depth_(depth) {
    if (depth_ > 0 && count_ > 0) worker_ = std::thread([this] { run(); });
  }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;
  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    space_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  HostBatch next() {
    if (taken_ >= count_) throw Error("training loop: asked for more shards than it planned");
    if (depth_ == 0) return make_(taken_++);
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [&] { return !queue_.empty(); });
    Item item = std::move(queue_.front());
    queue_.pop_front();
    ++taken_;
    lock.unlock();
    space_.notify_one();
    if (item.error) std::rethrow_exception(item.error);
    return std::move(item.batch);
  }

 private:
  struct Item {
    HostBatch batch;
    std::exception_ptr error;
  };

  void run() {
    for (std::int64_t i = 0; i < count_; ++i) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        space_.wait(lock,
                    [&] { return stop_ || static_cast<std::int64_t>(queue_.size()) < depth_; });
        if (stop_) return;
      }
      Item item;
      try {
        item.batch = make_(i);
      } catch (...) {
        item.error = std::current_exception();
      }
      const bool failed = static_cast<bool>(item.error);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        queue_.push_back(std::move(item));
      }
      ready_.notify_one();
      if (failed) return;
    }
  }

  Make make_;
  std::int64_t count_;
  std::int64_t depth_;
  std::int64_t taken_ = 0;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<Item> queue_;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace

TrainResult run_training(TrainingTask& task, const TrainOptions& options,
                         const std::filesystem::path& out_dir,
                         const nlohmann::json& resolved_config) {
  namespace fs = std::filesystem;
  DistributedContext& dist = DistributedContext::from_environment();
  const torch::Device device = dist.device_for(model::resolve_device(options.device));
  const std::int64_t world = dist.world_size();
  const std::int64_t shards = options.shards > 0 ? options.shards : world;
  const std::string keys = "train." + task.stage() + ".";
  if (shards % world != 0)
    throw InputError(keys + "shards", "is " + std::to_string(shards) +
                                          ", expected a multiple of the world size " +
                                          std::to_string(world));
  if (options.batch_size <= 0 || options.batch_size % shards != 0)
    throw InputError(keys + "batch_size",
                     "is " + std::to_string(options.batch_size) +
                         ", expected a positive multiple of the shard count " +
                         std::to_string(shards) + " (the batch is split over the ranks)");
  const std::int64_t shard_rows = options.batch_size / shards;
  const std::int64_t local_shards = shards / world;
  const std::int64_t first_shard = dist.rank() * local_shards;

  torch::nn::Module& net = task.model();
  net.to(device);
  net.train();
  dist.broadcast_module(net);

  std::vector<torch::Tensor> parameters;
  for (auto& p : net.parameters())
    if (p.requires_grad()) parameters.push_back(p);
  torch::optim::AdamW optimizer(parameters, torch::optim::AdamWOptions(options.lr)
                                                .betas({options.beta1, options.beta2})
                                                .weight_decay(options.weight_decay));
  std::unique_ptr<Ema> ema;
  if (options.ema_decay > 0) ema = std::make_unique<Ema>(net, options.ema_decay);

  fs::create_directories(out_dir / "checkpoints");
  const fs::path checkpoint_path = out_dir / "checkpoints" / (task.stage() + ".ckpt");
  const fs::path metrics_path = out_dir / (task.stage() + "_metrics.jsonl");
  CheckpointParts parts{&net, ema.get(), &optimizer};

  std::int64_t start_step = 0;
  if (options.resume && fs::exists(checkpoint_path)) {
    CheckpointMeta meta = load_checkpoint(checkpoint_path, parts, task.stage(), device);
    if (meta.seed != options.seed)
      throw InputError(checkpoint_path.string(),
                       "checkpoint was written with seed " + std::to_string(meta.seed) +
                           ", this run uses " + std::to_string(options.seed));
    start_step = meta.step;
    spdlog::info("{}: resuming from {} at step {}", task.stage(), checkpoint_path.string(), start_step);
  } else if (options.resume) {
    spdlog::warn("{}: --resume given but {} does not exist; starting from step 0", task.stage(),
                 checkpoint_path.string());
  }
  if (dist.is_main() && (!options.resume || start_step == 0)) {
    // A fresh run starts a fresh metrics file.
    std::ofstream(metrics_path, std::ios::trunc);
  }

  LrSchedule schedule{options.lr, options.warmup_steps, options.steps, options.min_lr_ratio};
  const bool autocast = device.is_cuda() ? options.bf16 : options.bf16_cpu;
  if (!device.is_cuda() && options.bf16_cpu)
    spdlog::info("{}: bf16_cpu: {}", task.stage(),
                 model::bf16_autocast_available(device)
                     ? "matrix products in bfloat16 (the CPU has bfloat16 instructions)"
                     : "this CPU has no bfloat16 instructions (avx512_bf16, amx_bf16); float32");
  std::string last_good = options.resume && start_step > 0 ? checkpoint_path.string() : "none";

  auto write_checkpoint = [&](std::int64_t step) {
    CheckpointMeta meta;
    meta.stage = task.stage();
    meta.step = step;
    meta.samples_seen = step * options.batch_size * options.accumulation;
    meta.seed = options.seed;
    meta.config = resolved_config;
    meta.extra = task.extra_meta();
    if (dist.is_main()) save_checkpoint(checkpoint_path, meta, parts);
    dist.barrier();
    last_good = checkpoint_path.string();
  };

  // Losses of the steps since the last check, kept on the device so that the step loop
  // never waits for the device; read back at each log or checkpoint boundary.
  std::vector<torch::Tensor> pending_losses;
  std::vector<std::vector<std::int64_t>> pending_batches;
  std::map<std::string, torch::Tensor> metric_sums;
  std::int64_t metric_count = 0;
  double last_loss = NAN;
  auto flush = [&](std::int64_t step_after) {
    if (pending_losses.empty()) return;
    // Losses and metric sums of all ranks averaged in one collective (every rank has the same
    // steps and metric names).
    std::vector<torch::Tensor> packed{torch::stack(pending_losses).to(device, torch::kDouble)};
    for (auto& [name, total] : metric_sums) packed.push_back(total.to(device).reshape({1}));
    auto all = torch::cat(packed);
    dist.all_reduce_mean({all});
    all = all.to(torch::kCPU);
    const std::int64_t steps_pending = static_cast<std::int64_t>(pending_losses.size());
    auto values = all.narrow(0, 0, steps_pending);
    auto accessor = values.accessor<double, 1>();
    const std::int64_t first_step = step_after - static_cast<std::int64_t>(pending_losses.size());
    double sum = 0;
    for (std::int64_t i = 0; i < values.size(0); ++i) {
      if (!std::isfinite(accessor[i])) {
        std::string batch;
        for (size_t k = 0; k < pending_batches[static_cast<size_t>(i)].size() && k < 16; ++k)
          batch += (k ? "," : "") + std::to_string(pending_batches[static_cast<size_t>(i)][k]);
        throw Error(task.stage() + ": non-finite loss (" + std::to_string(accessor[i]) + ") at step " +
                    std::to_string(first_step + i + 1) + ", batch samples [" + batch +
                    (pending_batches[static_cast<size_t>(i)].size() > 16 ? ",..." : "") +
                    "]; last good checkpoint: " + last_good);
      }
      sum += accessor[i];
    }
    last_loss = accessor[values.size(0) - 1];
    nlohmann::json line = {{"step", step_after},
                           {"loss", sum / static_cast<double>(values.size(0))},
                           {"lr", schedule.at(step_after - 1)}};
    std::int64_t k = steps_pending;
    for (auto& entry : metric_sums)
      line[entry.first] = all[k++].item<double>() /
                          static_cast<double>(std::max<std::int64_t>(1, metric_count));
    if (dist.is_main()) std::ofstream(metrics_path, std::ios::app) << line.dump() << "\n";
    pending_losses.clear();
    pending_batches.clear();
    metric_sums.clear();
    metric_count = 0;
  };

  // The shards of the remaining steps in the loop's order. Each is a pure function of
  // (seed, step, micro, shard), so preparing it ahead changes nothing in the result.
  const std::int64_t step_parts = options.accumulation * local_shards;
  const std::int64_t prefetch =
      options.prefetch >= 0 ? options.prefetch : (device.is_cuda() ? 2 : 0);
  auto make_shard =
      [&, order = BatchOrder(task.dataset_size(), options.seed)](std::int64_t item) mutable {
        HostBatch batch;
        batch.step = start_step + item / step_parts;
        const std::int64_t micro = (item % step_parts) / local_shards;
        const std::int64_t shard = first_shard + item % local_shards;
        const std::int64_t first =
            (batch.step * options.accumulation + micro) * options.batch_size + shard * shard_rows;
        batch.indices = order.indices(first, shard_rows);
        auto generator = step_generator(options.seed, batch.step, micro, shard);
        task.prepare(batch, generator);
        if (device.is_cuda()) {
          // Pinned pages, so that the step's copy to the device does not wait for it.
          c10::OptionalDeviceGuard guard;
          guard.reset_device(device);
          for (auto& [name, tensor] : batch.tensors)
            if (tensor.device().is_cpu() && !tensor.is_pinned()) tensor = tensor.pin_memory();
        }
        return batch;
      };
  Prefetcher prepared(make_shard, (options.steps - start_step) * step_parts, prefetch);
  if (dist.is_main() && prefetch > 0)
    spdlog::info("{}: {} micro-batch shard(s) prepared ahead on a background thread{}",
                 task.stage(), prefetch, device.is_cuda() ? ", pinned" : "");

  const std::int64_t log_every = std::max<std::int64_t>(1, options.log_every);
  std::unique_ptr<util::Progress> progress;
  if (dist.is_main())
    progress = std::make_unique<util::Progress>("train " + task.stage(),
                                                options.steps - start_step, "step");
  auto started = std::chrono::steady_clock::now();
  for (std::int64_t step = start_step; step < options.steps; ++step) {
    set_lr(optimizer, schedule.at(step));
    clear_gradients(parameters);
    torch::Tensor step_loss = torch::zeros({}, torch::TensorOptions().device(device));
    std::vector<std::int64_t> step_batch;
    const double parts_per_step = static_cast<double>(step_parts);
    for (std::int64_t part = 0; part < step_parts; ++part) {
      HostBatch batch = prepared.next();
      for (auto& [name, tensor] : batch.tensors)
        tensor = tensor.to(tensor.options().device(device), /*non_blocking=*/true);
      std::map<std::string, torch::Tensor> metrics;
      torch::Tensor loss;
      {
        model::AutocastScope scope(device, autocast);
        loss = task.loss(batch, metrics);
      }
      (loss / parts_per_step).backward();
      step_loss = step_loss + loss.detach().to(torch::kFloat) / parts_per_step;
      for (auto& [name, value] : metrics) {
        auto v = value.detach().to(torch::kDouble);
        metric_sums[name] = metric_sums.count(name) ? metric_sums[name] + v : v;
      }
      ++metric_count;
      step_batch.insert(step_batch.end(), batch.indices.begin(), batch.indices.end());
    }
    if (dist.distributed()) {
      // Every rank reduces the same list: a parameter without a gradient here gets zeros.
      std::vector<torch::Tensor> gradients;
      for (auto& p : parameters) {
        if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
        gradients.push_back(p.grad());
      }
      dist.all_reduce_mean(gradients);
    }
    if (options.clip_norm > 0) clip_gradients(parameters, options.clip_norm);
    optimizer.step();
    if (ema) ema->update(net);
    pending_losses.push_back(step_loss);
    pending_batches.push_back(std::move(step_batch));

    const std::int64_t done = step + 1;
    const bool pause_now = options.pause_after_step > 0 && done == options.pause_after_step;
    const bool checkpoint_now = (options.checkpoint_every > 0 && done % options.checkpoint_every == 0) ||
                                done == options.steps || pause_now;
    if (done % log_every == 0 || checkpoint_now) {
      flush(done);
      if (progress) progress->advance(0, "loss " + std::to_string(last_loss).substr(0, 8));
    }
    if (checkpoint_now) write_checkpoint(done);
    if (progress) progress->advance(1);
    if (options.halt_after_step > 0 && done == options.halt_after_step) {
      // Simulates a kill at a known point (the resume tests): no clean-up runs.
      std::raise(SIGKILL);
    }
    if (pause_now && done < options.steps) {
      if (progress) progress->finish();
      spdlog::info("{}: paused after step {}; continue with --resume", task.stage(), done);
      TrainResult paused;
      paused.steps = done - start_step;
      paused.final_loss = last_loss;
      return paused;
    }
  }
  if (progress) progress->finish();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  // The final model: EMA weights where EMA is on.
  if (ema) ema->copy_to(net);
  nlohmann::json meta = {{"stage", task.stage()}, {"step", options.steps},
                         {"config", resolved_config}, {"extra", task.extra_meta()}};
  TrainResult result;
  result.model_file = out_dir / (task.stage() + ".pt");
  if (dist.is_main()) save_module(result.model_file, net, meta);
  dist.barrier();
  result.steps = options.steps - start_step;
  result.final_loss = last_loss;
  result.seconds = seconds;
  result.samples_per_second =
      seconds > 0 ? static_cast<double>(result.steps * options.batch_size * options.accumulation) / seconds : 0;
  if (dist.is_main())
    spdlog::info("{}: {} steps in {} ({:.1f} samples/s), final loss {:.5g}, model {}",
                 task.stage(), result.steps, util::format_duration(seconds),
                 result.samples_per_second, last_loss, result.model_file.string());
  net.eval();
  return result;
}

}  // namespace ecgtwin::train
