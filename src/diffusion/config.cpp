#include "ecgtwin/diffusion/config.hpp"

#include <limits>

namespace ecgtwin::diffusion {

NoiseScheduleOptions read_schedule_options(config::Section& section) {
  const NoiseScheduleOptions defaults;
  NoiseScheduleOptions options;
  options.kind(section.choice("schedule", defaults.kind(), {"linear", "scaled_linear", "cosine"}))
      .timesteps(section.get_in("timesteps", defaults.timesteps(), int64_t{2}, int64_t{100000}))
      .beta_start(section.get_in("beta_start", defaults.beta_start(), 0.0, 1.0))
      .beta_end(section.get_in("beta_end", defaults.beta_end(), 0.0, 1.0))
      .cosine_offset(section.get_in("cosine_offset", defaults.cosine_offset(), 0.0, 1.0));
  try {
    options.validate();
  } catch (const InputError& error) {
    throw InputError(section.path(), error.what());
  }
  return options;
}

SamplerOptions read_sampler_options(config::Section& section) {
  const SamplerOptions defaults;
  SamplerOptions options;
  options.sampler(section.choice("sampler", defaults.sampler(), {"ddpm", "ddim"}))
      .steps(section.get_in("steps", defaults.steps(), int64_t{1}, int64_t{100000}))
      .eta(section.get_in("eta", defaults.eta(), 0.0, 100.0))
      .spacing(section.choice("spacing", defaults.spacing(),
                              {"trailing", "leading", "uniform", "linspace"}))
      .guidance_scale(section.get_in("guidance_scale", defaults.guidance_scale(), -100.0, 100.0))
      .start(section.choice("start", defaults.start(),
                            {"noise", "reference-noised", "reference-inverted"}))
      .strength(section.get_in("strength", defaults.strength(), 0.0, 1.0))
      .candidates(section.get_in("candidates", defaults.candidates(), int64_t{1}, int64_t{1000}))
      .select(section.choice("select", defaults.select(),
                             {"medoid", "reference", "mean-beat", "transferred"}))
      .rate_candidates(
          section.get_in("rate_candidates", defaults.rate_candidates(), int64_t{0}, int64_t{1000}))
      .rate_fit(section.get("rate_fit", defaults.rate_fit()))
      .rate_fit_warp(
          section.choice("rate_fit_warp", defaults.rate_fit_warp(), {"uniform", "fridericia"}))
      .transfer(section.choice("transfer", defaults.transfer(),
                               {"none", "reference-residual", "reference-residual-scaled",
                                "reference-residual-adapted"}))
      .limb_leads(section.choice("limb_leads", defaults.limb_leads(),
                                 {"generated", "projected", "derived"}))
      .bf16(section.get("bf16", defaults.bf16()))
      .seed(static_cast<uint64_t>(
          section.get_in("seed", int64_t{0}, int64_t{0}, std::numeric_limits<int64_t>::max())));
  if (options.strength() <= 0.0) {
    throw InputError(section.path() + ".strength", "expected 0 < strength <= 1");
  }
  if (options.strength() < 1.0 && options.start() == "noise") {
    throw InputError(section.path() + ".strength",
                     "below 1 only with start reference-noised or reference-inverted");
  }
  check_rate_candidates(options, section.path());
  return options;
}

void check_rate_candidates(const SamplerOptions& options, const std::string& path) {
  if (options.rate_candidates() > 0 && options.select() == "mean-beat") {
    throw InputError(path + ".rate_candidates",
                     "works with select medoid, reference or transferred, not mean-beat (which "
                     "averages all the candidates)");
  }
}

config::Json sampler_summary(const SamplerOptions& options) {
  return {{"sampler", options.sampler()},
          {"steps", options.steps()},
          {"eta", options.eta()},
          {"spacing", options.spacing()},
          {"guidance_scale", options.guidance_scale()},
          {"start", options.start()},
          {"strength", options.strength()},
          {"candidates", options.candidates()},
          {"select", options.select()},
          {"rate_candidates", options.rate_candidates()},
          {"rate_fit", options.rate_fit()},
          {"rate_fit_warp", options.rate_fit_warp()},
          {"transfer", options.transfer()},
          {"limb_leads", options.limb_leads()},
          {"bf16", options.bf16()}};
}

EditOptions read_edit_options(config::Section& section) {
  const EditOptions defaults;
  EditOptions options;
  options.mode(section.choice("mode", defaults.mode(), {"swap", "add"}))
      .injection_fraction(
          section.get_in("injection_fraction", defaults.injection_fraction(), 0.0, 1.0))
      .added_weight(section.get_in("added_weight", defaults.added_weight(), 0.0, 1000.0));
  return options;
}

ConditionDropoutOptions read_dropout_options(config::Section& section) {
  const ConditionDropoutOptions defaults;
  ConditionDropoutOptions options;
  options.statements(section.get_in("statements", defaults.statements(), 0.0, 1.0))
      .base_vector(section.get_in("base_vector", defaults.base_vector(), 0.0, 1.0));
  return options;
}

}  // namespace ecgtwin::diffusion
