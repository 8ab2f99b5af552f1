#pragma once
// The flags of the commands that generate twins (generate, evaluate, diagnose): the sampling
// flags, each of which the user gives overrides its key in the config's sampling section, and
// the run and data-set flags they share.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "ecgtwin/config/tree.hpp"
#include "ecgtwin/diffusion/sampler.hpp"
#include "ecgtwin/pipeline/twin_model.hpp"

namespace ecgtwin::app {

struct SamplingFlags {
  std::string sampler;
  std::int64_t steps = 50;
  double eta = 0;
  double guidance = 1.0;
  std::string start;
  double strength = 1.0;
  std::int64_t candidates = 1;
  std::string select;
  std::int64_t rate_candidates = 0;
  bool rate_fit = false;
  std::string rate_fit_warp;
  std::string transfer;
  std::string limb_leads;
  bool bf16 = false;
  std::int64_t personalise_steps = 0, personalise_batch = 16;
  double personalise_lr = 1e-4, personalise_base_lr = 1e-2;
  std::string personalise_fit;
  bool eta_and_guidance = false;  // the command offers --eta and --guidance
};

// --seed, --device and --batch of the commands that sample twins (generate, evaluate,
// diagnose).
struct TwinRunFlags {
  std::int64_t seed = 0, batch = 64;
  std::string device = "auto";
  // Sets a command's options' seed, device and batch.
  template <class Options>
  void set(Options& options) const {
    options.seed = static_cast<std::uint64_t>(seed);
    options.device = device;
    options.batch = batch;
  }
};
void add_twin_run_flags(CLI::App& app, TwinRunFlags& flags, const std::string& seed_help);

// --model, --data and --split of the commands that sample twins for a prepared data set's
// same-patient pairs (evaluate, diagnose).
struct DataSetFlags {
  std::string model, data, split = "test";
  // Sets a command's options' model, data and split.
  template <class Options>
  void set(Options& options) const {
    options.model = model;
    options.data = data;
    options.split = split;
  }
  // What the resolved config written beside the outputs records of the run.
  config::Json describe(const TwinRunFlags& run) const;
};
void add_data_set_flags(CLI::App& app, DataSetFlags& flags, const std::string& model_help,
                        const std::string& split_help);

// --sampler and --steps; with `eta_and_guidance` also --eta, --guidance, --start,
// --strength, --candidates and the --personalise-* flags.
void add_sampling_flags(CLI::App& app, SamplingFlags& flags, bool eta_and_guidance);
// The sampler options of the config's sampling section once the given flags are set in
// `tree` (which then holds them for the resolved config written beside the outputs).
diffusion::SamplerOptions sampler_from_flags(const CLI::App& app, const SamplingFlags& flags, config::Json& tree);
// The personalisation options of the config's personalise section, the same way.
pipeline::PersonaliseOptions personalise_from_flags(const CLI::App& app, const SamplingFlags& flags,
                                                    config::Json& tree);

}  // namespace ecgtwin::app
