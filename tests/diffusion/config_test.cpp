#include <gtest/gtest.h>

#include <utility>

#include "ecgtwin/diffusion/config.hpp"
#include "ecgtwin/util/error.hpp"
#include "test_support.hpp"

namespace ecgtwin::diffusion {
namespace {

using config::Json;

TEST(DiffusionConfigTest, DefaultsAreThePapersSettings) {
  const Json empty = Json::object();
  config::Section section(empty, "diffusion");
  const NoiseScheduleOptions schedule = read_schedule_options(section);
  EXPECT_EQ(schedule.kind(), "linear");
  EXPECT_EQ(schedule.timesteps(), 1000);
  EXPECT_DOUBLE_EQ(schedule.beta_start(), 0.00085);
  EXPECT_DOUBLE_EQ(schedule.beta_end(), 0.012);
  const SamplerOptions sampler = read_sampler_options(section);
  EXPECT_EQ(sampler.guidance_scale(), 1.0);  // the original work has no guidance
  section.finish();
}

TEST(DiffusionConfigTest, ReadsEveryKeyAndRefusesUnknownOnes) {
  const Json tree = config::parse_yaml(
      "schedule: cosine\ntimesteps: 500\nsampler: ddpm\nsteps: 20\neta: 0.5\n"
      "spacing: linspace\nguidance_scale: 3\nseed: 77\nstart: reference-inverted\n"
      "strength: 0.6\ncandidates: 4\nselect: reference\nrate_candidates: 2\nrate_fit: true\n"
      "rate_fit_warp: fridericia\n"
      "transfer: reference-residual\nlimb_leads: projected\nbf16: true\nmode: "
      "add\ninjection_fraction: 0.3\n"
      "added_weight: 2\nstatements: 0.2\nbase_vector: 0.1\n",
      "test.yaml");
  config::Section section(tree, "diffusion");
  EXPECT_EQ(read_schedule_options(section).kind(), "cosine");
  const SamplerOptions sampler = read_sampler_options(section);
  EXPECT_EQ(sampler.sampler(), "ddpm");
  EXPECT_EQ(sampler.steps(), 20);
  EXPECT_DOUBLE_EQ(sampler.eta(), 0.5);
  EXPECT_EQ(sampler.spacing(), "linspace");
  EXPECT_DOUBLE_EQ(sampler.guidance_scale(), 3.0);
  EXPECT_EQ(sampler.seed(), 77u);
  EXPECT_EQ(sampler.start(), "reference-inverted");
  EXPECT_DOUBLE_EQ(sampler.strength(), 0.6);
  EXPECT_EQ(sampler.candidates(), 4);
  EXPECT_EQ(sampler_summary(sampler).at("candidates"), 4);
  EXPECT_EQ(sampler.select(), "reference");
  EXPECT_EQ(sampler_summary(sampler).at("select"), "reference");
  EXPECT_EQ(sampler.rate_candidates(), 2);
  EXPECT_EQ(sampler_summary(sampler).at("rate_candidates"), 2);
  EXPECT_EQ(SamplerOptions().rate_candidates(), 0);  // all candidates
  EXPECT_TRUE(sampler.rate_fit());
  EXPECT_EQ(sampler_summary(sampler).at("rate_fit"), true);
  EXPECT_FALSE(SamplerOptions().rate_fit());  // as sampled
  EXPECT_EQ(sampler.rate_fit_warp(), "fridericia");
  EXPECT_EQ(sampler_summary(sampler).at("rate_fit_warp"), "fridericia");
  EXPECT_EQ(SamplerOptions().rate_fit_warp(), "uniform");
  EXPECT_EQ(sampler.transfer(), "reference-residual");
  EXPECT_EQ(sampler_summary(sampler).at("transfer"), "reference-residual");
  EXPECT_EQ(SamplerOptions().transfer(), "none");  // the method
  EXPECT_EQ(sampler.limb_leads(), "projected");
  EXPECT_EQ(sampler_summary(sampler).at("limb_leads"), "projected");
  EXPECT_EQ(SamplerOptions().limb_leads(), "generated");  // as decoded
  EXPECT_TRUE(sampler.bf16());
  EXPECT_EQ(sampler_summary(sampler).at("bf16"), true);
  EXPECT_FALSE(SamplerOptions().bf16());  // float32
  const EditOptions edit = read_edit_options(section);
  EXPECT_EQ(edit.mode(), "add");
  EXPECT_DOUBLE_EQ(edit.injection_fraction(), 0.3);
  EXPECT_DOUBLE_EQ(edit.added_weight(), 2.0);
  const ConditionDropoutOptions dropout = read_dropout_options(section);
  EXPECT_DOUBLE_EQ(dropout.statements(), 0.2);
  EXPECT_DOUBLE_EQ(dropout.base_vector(), 0.1);
  section.finish();

  const Json typo = config::parse_yaml("sampler: ddim\nstesp: 20\n", "test.yaml");
  config::Section typo_section(typo, "sampling");
  read_sampler_options(typo_section);
  EXPECT_THROW(typo_section.finish(), InputError);
}

TEST(DiffusionConfigTest, BadValuesNameTheKey) {
  // Each bad sampling value is refused naming its key. A strength below 1 needs a start from
  // the reference; 0 takes no step at all.
  const std::pair<const char*, const char*> bad_values[] = {
      {"spacing: random\n", "sampling.spacing"},
      {"strength: 0.5\n", "sampling.strength"},
      {"start: reference-noised\nstrength: 0\n", "sampling.strength"},
      {"start: latent\n", "sampling.start"},
      {"candidates: 0\n", "sampling.candidates"},
      {"candidates: 1001\n", "sampling.candidates"},
      {"select: best\n", "sampling.select"},
      {"rate_candidates: -1\n", "sampling.rate_candidates"},
      {"rate_fit: sometimes\n", "sampling.rate_fit"},
      {"rate_fit_warp: linear\n", "sampling.rate_fit_warp"},
      {"limb_leads: einthoven\n", "sampling.limb_leads"},
      {"bf16: maybe\n", "sampling.bf16"},
      {"candidates: 8\nselect: mean-beat\nrate_candidates: 4\n", "sampling.rate_candidates"}};
  for (const auto& [text, key] : bad_values) {
    const Json bad = config::parse_yaml(text, "test.yaml");
    config::Section bad_section(bad, "sampling");
    EXPECT_TRUE(test::throws_input_error([&] { read_sampler_options(bad_section); }, {key}))
        << text;
  }
  const Json reversed = config::parse_yaml("beta_start: 0.02\nbeta_end: 0.01\n", "test.yaml");
  config::Section schedule_section(reversed, "diffusion");
  EXPECT_THROW(read_schedule_options(schedule_section), InputError);
  const Json fraction = config::parse_yaml("injection_fraction: 1.5\n", "test.yaml");
  config::Section edit_section(fraction, "edit");
  EXPECT_THROW(read_edit_options(edit_section), InputError);
}

}  // namespace
}  // namespace ecgtwin::diffusion
