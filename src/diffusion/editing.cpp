#include "ecgtwin/diffusion/editing.hpp"

#include <torch/torch.h>

#include <cmath>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::diffusion {
namespace {

// Installs a hook on the denoiser for one run and puts the previous one back.
class HookScope {
 public:
  HookScope(model::DenoiserImpl& denoiser, model::CrossAttentionHook* hook)
      : denoiser_(denoiser), previous_(denoiser.cross_attention_hook()) {
    denoiser_.set_cross_attention_hook(hook);
  }
  ~HookScope() { denoiser_.set_cross_attention_hook(previous_); }
  HookScope(const HookScope&) = delete;
  HookScope& operator=(const HookScope&) = delete;

 private:
  model::DenoiserImpl& denoiser_;
  model::CrossAttentionHook* previous_;
};

MapsSample run_with_store(model::DenoiserImpl& denoiser, const NoiseSchedule& schedule,
                          torch::IntArrayRef shape, const model::DenoiserConditions& conditions,
                          const SamplerOptions& options,
                          const model::DenoiserConditions& unconditional, AttentionStore& store,
                          bool keep_step_maps) {
  SamplerOptions with_steps = options;
  const auto user_before_step = options.before_step();
  with_steps.before_step([&store, user_before_step](int64_t step) {
    store.begin_step(step);
    if (user_before_step) {
      user_before_step(step);
    }
  });
  MapsSample out;
  {
    HookScope scope(denoiser, &store);
    out.sample = sample(denoiser, schedule, shape, conditions, with_steps, unconditional);
  }
  out.maps = store.average_maps();
  if (keep_step_maps) {
    out.step_maps = store.step_maps();
  }
  return out;
}

torch::Tensor pad_last(const torch::Tensor& tensor, int64_t length) {
  if (tensor.size(-1) == length) {
    return tensor;
  }
  return torch::constant_pad_nd(tensor, {0, length - tensor.size(-1)}, 0.0);
}

}  // namespace

AttentionStore::AttentionStore(int64_t keep_full_steps, bool keep_step_maps)
    : keep_full_steps_(keep_full_steps), keep_step_maps_(keep_step_maps) {}

torch::Tensor AttentionStore::on_probabilities(int block, const torch::Tensor& probabilities) {
  if (step_ != last_step_) {
    last_step_ = step_;
    ++steps_seen_;
  }
  torch::Tensor used = replace(block, probabilities);
  if (step_ < keep_full_steps_) {
    full_[{step_, block}] = used;
  }
  const torch::Tensor head_mean = used.mean(1);  // [B, L, S]
  torch::Tensor& sum = sums_[block];
  sum = sum.defined() ? sum + head_mean : head_mean;
  if (keep_step_maps_) {
    per_step_[step_][block] = head_mean;
  }
  return used;
}

torch::Tensor AttentionStore::full_map(int64_t step, int block) const {
  const auto found = full_.find({step, block});
  return found == full_.end() ? torch::Tensor() : found->second;
}

torch::Tensor AttentionStore::average_maps() const {
  if (sums_.empty()) {
    return {};
  }
  std::vector<torch::Tensor> blocks;
  for (const auto& [block, sum] : sums_) {
    blocks.push_back(sum / static_cast<double>(steps_seen_));
  }
  return torch::stack(blocks, 1);
}

torch::Tensor AttentionStore::step_maps() const {
  if (per_step_.empty()) {
    return {};
  }
  std::vector<torch::Tensor> steps;
  for (const auto& [step, blocks] : per_step_) {
    std::vector<torch::Tensor> row;
    for (const auto& [block, map] : blocks) {
      row.push_back(map);
    }
    steps.push_back(torch::stack(row, 1));
  }
  return torch::stack(steps, 0);
}

void EditOptions::validate() const {
  if (mode() != "swap" && mode() != "add") {
    throw InputError("edit.mode", "expected swap or add, got '" + mode() + "'");
  }
  if (!(injection_fraction() >= 0.0 && injection_fraction() <= 1.0)) {
    throw InputError("edit.injection_fraction", "expected a fraction in [0, 1]");
  }
  if (!(added_weight() >= 0.0) || !std::isfinite(added_weight())) {
    throw InputError("edit.added_weight", "expected a finite weight >= 0");
  }
}

int64_t EditOptions::injected_steps(int64_t steps) const {
  return static_cast<int64_t>(std::floor(injection_fraction() * static_cast<double>(steps)));
}

AttentionInjector::AttentionInjector(const AttentionStore& source, const torch::Tensor& source_mask,
                                     const torch::Tensor& edit_mask, const EditOptions& options,
                                     int64_t injected_steps)
    : AttentionStore(0, options.keep_step_maps()),
      source_(source),
      source_mask_(source_mask),
      edit_mask_(edit_mask),
      options_(options),
      injected_steps_(injected_steps) {
  options_.validate();
}

torch::Tensor AttentionInjector::replace(int block, const torch::Tensor& probabilities) {
  if (step() >= injected_steps_) {
    return probabilities;
  }
  const torch::Tensor source_map = source_.full_map(step(), block);
  if (!source_map.defined()) {
    throw Error("edit: the source run kept no cross-attention map for step " +
                std::to_string(step()) + ", block " + std::to_string(block));
  }
  const int64_t slots = probabilities.size(-1);
  if (source_map.size(-1) > slots) {
    throw InputError("edit", "the edited statements need at least as many token slots (" +
                                 std::to_string(source_map.size(-1)) + ") as the source's");
  }
  const torch::Tensor source_padded = pad_last(source_map, slots);
  if (options_.mode() == "swap") {
    return source_padded;
  }
  const int64_t batch = probabilities.size(0);
  const auto bool_options =
      torch::TensorOptions().dtype(torch::kBool).device(probabilities.device());
  const torch::Tensor edit_real = edit_mask_.defined() ? edit_mask_.to(probabilities.device())
                                                       : torch::ones({batch, slots}, bool_options);
  const torch::Tensor source_real =
      source_mask_.defined()
          ? pad_last(source_mask_.to(probabilities.device()), slots)
          : pad_last(torch::ones({batch, source_map.size(-1)}, bool_options), slots);
  const torch::Tensor added = edit_real.logical_and(source_real.logical_not());  // [B, S]
  const torch::Tensor added_columns =
      added.view({added.size(0), 1, 1, slots}).to(probabilities.scalar_type());
  const torch::Tensor mixed =
      source_padded + options_.added_weight() * probabilities * added_columns;
  const torch::Tensor total = mixed.sum(-1, /*keepdim=*/true);
  const torch::Tensor renormalised = torch::where(total > 0, mixed / total, mixed);
  // Rows without a new statement keep the source map unchanged, bit for bit.
  const torch::Tensor has_added = added.any(1).view({added.size(0), 1, 1, 1});
  return torch::where(has_added, renormalised, source_padded);
}

MapsSample sample_with_maps(model::DenoiserImpl& denoiser, const NoiseSchedule& schedule,
                            torch::IntArrayRef shape, const model::DenoiserConditions& conditions,
                            const SamplerOptions& options, bool keep_step_maps,
                            const model::DenoiserConditions& unconditional) {
  AttentionStore store(0, keep_step_maps);
  return run_with_store(denoiser, schedule, shape, conditions, options, unconditional, store,
                        keep_step_maps);
}

EditResult edit(model::DenoiserImpl& denoiser, const NoiseSchedule& schedule,
                torch::IntArrayRef shape, const model::DenoiserConditions& source,
                const model::DenoiserConditions& edited, const SamplerOptions& sampling,
                const EditOptions& editing, const model::DenoiserConditions& unconditional) {
  editing.validate();
  const int64_t steps = static_cast<int64_t>(sampling_timesteps(schedule, sampling).size());
  const int64_t injected = editing.injected_steps(steps);
  EditResult result;
  AttentionStore source_store(injected, editing.keep_step_maps());
  result.source = run_with_store(denoiser, schedule, shape, source, sampling, unconditional,
                                 source_store, editing.keep_step_maps());
  AttentionInjector injector(source_store, source.token_mask, edited.token_mask, editing, injected);
  result.edited = run_with_store(denoiser, schedule, shape, edited, sampling, unconditional,
                                 injector, editing.keep_step_maps());
  return result;
}

}  // namespace ecgtwin::diffusion
