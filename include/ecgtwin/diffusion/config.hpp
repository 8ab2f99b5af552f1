#pragma once
// Diffusion options read from a configuration section. Each reader takes the keys it knows
// from the section and leaves section.finish() (unknown keys) to the caller, which may read
// more keys from the same section.
#include <string>

#include "ecgtwin/config/tree.hpp"
#include "ecgtwin/diffusion/editing.hpp"
#include "ecgtwin/diffusion/guidance.hpp"
#include "ecgtwin/diffusion/sampler.hpp"
#include "ecgtwin/diffusion/schedule.hpp"

namespace ecgtwin::diffusion {

// schedule, timesteps, beta_start, beta_end, cosine_offset
NoiseScheduleOptions read_schedule_options(config::Section& section);
// sampler, steps, eta, spacing, guidance_scale, start, strength, seed
SamplerOptions read_sampler_options(config::Section& section);
// Throws InputError naming `<path>.rate_candidates` where options keep the candidates nearest
// the target rate with select "mean-beat" (which averages all the candidates).
void check_rate_candidates(const SamplerOptions& options, const std::string& path);
// The settings that shape a sample (not the seed or device), as the summaries record them:
// sampler, steps, eta, spacing, guidance_scale, start, strength.
config::Json sampler_summary(const SamplerOptions& options);
// mode, injection_fraction, added_weight
EditOptions read_edit_options(config::Section& section);
// statements, base_vector (probabilities of condition dropout)
ConditionDropoutOptions read_dropout_options(config::Section& section);

}  // namespace ecgtwin::diffusion
