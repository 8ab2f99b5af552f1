#pragma once
// Editing a generated ECG by its report, as Prompt-to-Prompt (Hertz et al. 2022): the edited
// run starts from the same seed and noise as the source run and, for its first steps, uses
// the source run's cross-attention maps instead of its own, so that the timing of the beats
// stays and only what the statements change moves. The maps (latent position x statement)
// are kept for plotting.
#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ecgtwin/diffusion/sampler.hpp"
#include "ecgtwin/diffusion/schedule.hpp"
#include "ecgtwin/model/denoiser.hpp"

namespace ecgtwin::diffusion {

// Records the cross-attention probabilities of a run. The sampler announces each step
// through begin_step(); every cross-attention layer then reports [B, heads, L, S].
class AttentionStore : public model::CrossAttentionHook {
 public:
  // Full maps (with heads) are kept for the steps < keep_full_steps (what an edit re-uses);
  // with keep_step_maps the head-averaged maps of every step are kept too.
  explicit AttentionStore(int64_t keep_full_steps = 0, bool keep_step_maps = false);

  void begin_step(int64_t step) { step_ = step; }
  torch::Tensor on_probabilities(int block, const torch::Tensor& probabilities) override;

  int64_t steps_seen() const { return steps_seen_; }
  int64_t block_count() const { return static_cast<int64_t>(sums_.size()); }
  // [B, heads, L, S] of one (step, block); undefined when it was not kept.
  torch::Tensor full_map(int64_t step, int block) const;
  // The maps averaged over heads and steps: [B, blocks, L, S].
  torch::Tensor average_maps() const;
  // The maps averaged over heads per step: [steps, B, blocks, L, S] (keep_step_maps only).
  torch::Tensor step_maps() const;

 protected:
  // What the layer should use instead of `probabilities` (the store itself changes nothing).
  virtual torch::Tensor replace(int /*block*/, const torch::Tensor& probabilities) {
    return probabilities;
  }
  int64_t step() const { return step_; }

 private:
  int64_t keep_full_steps_;
  bool keep_step_maps_;
  int64_t step_ = 0, last_step_ = -1, steps_seen_ = 0;
  std::map<std::pair<int64_t, int>, torch::Tensor> full_;
  std::map<int, torch::Tensor> sums_;                         // block -> [B, L, S]
  std::map<int64_t, std::map<int, torch::Tensor>> per_step_;  // step -> block -> [B, L, S]
};

struct EditOptions {
  // "swap": statements replaced one for one; the source maps are used as they are, with the
  //         new statements' values. "add": statements added; the source maps on the source's
  //         statements plus added_weight times the edit run's own map on the new ones, rows
  //         renormalised (Prompt-to-Prompt's refinement with re-weighting).
  TORCH_ARG(std::string, mode) = "swap";
  // Share of the steps (the first, noisiest ones) that use the source maps. Prompt-to-Prompt
  // uses 0.4 .. 0.8 of the steps for word swaps; half is the middle of that range.
  TORCH_ARG(double, injection_fraction) = 0.5;
  TORCH_ARG(double, added_weight) = 1.0;
  TORCH_ARG(bool, keep_step_maps) = false;  // also return the maps of every step

 public:
  void validate() const;  // InputError naming edit.<key>
  // Number of injected steps out of `steps`: floor(fraction * steps).
  int64_t injected_steps(int64_t steps) const;
};

// The store of an edited run: for its first steps it hands out the source maps (see
// EditOptions), then lets the layers run freely. Statement slots are matched by position:
// slot j of the edit is slot j of the source; the edit may have more slots (padded source
// maps are zero there). A slot is new where the edit's mask is true and the source's false.
class AttentionInjector : public AttentionStore {
 public:
  AttentionInjector(const AttentionStore& source, const torch::Tensor& source_mask,
                    const torch::Tensor& edit_mask, const EditOptions& options,
                    int64_t injected_steps);

 protected:
  torch::Tensor replace(int block, const torch::Tensor& probabilities) override;

 private:
  const AttentionStore& source_;
  torch::Tensor source_mask_, edit_mask_;
  EditOptions options_;
  int64_t injected_steps_;
};

struct MapsSample {
  torch::Tensor sample;     // x_0
  torch::Tensor maps;       // [B, blocks, L, S], averaged over heads and steps
  torch::Tensor step_maps;  // [steps, B, blocks, L, S] when asked for, else undefined
};

// sample() with the cross-attention maps recorded (for plotting).
MapsSample sample_with_maps(model::DenoiserImpl& denoiser, const NoiseSchedule& schedule,
                            torch::IntArrayRef shape, const model::DenoiserConditions& conditions,
                            const SamplerOptions& options, bool keep_step_maps = false,
                            const model::DenoiserConditions& unconditional = {});

struct EditResult {
  MapsSample source;
  MapsSample edited;
};

// Runs the source conditions, then the edited ones from the same seed and initial noise with
// the source maps injected. With edited == source the edited sample equals the source bit
// for bit.
EditResult edit(model::DenoiserImpl& denoiser, const NoiseSchedule& schedule,
                torch::IntArrayRef shape, const model::DenoiserConditions& source,
                const model::DenoiserConditions& edited, const SamplerOptions& sampling,
                const EditOptions& editing, const model::DenoiserConditions& unconditional = {});

}  // namespace ecgtwin::diffusion
