#include "ml_sampling.hpp"

#include "ecgtwin/diffusion/config.hpp"

namespace ecgtwin::app {

void add_twin_run_flags(CLI::App& app, TwinRunFlags& flags, const std::string& seed_help) {
  app.add_option("--seed", flags.seed, seed_help + " (default: 0)");
  app.add_option("--device", flags.device, "cpu, cuda, cuda:N or auto (default: auto)");
  app.add_option("--batch", flags.batch, "twins sampled together (default: 64)");
}

void add_data_set_flags(CLI::App& app, DataSetFlags& flags, const std::string& model_help,
                        const std::string& split_help) {
  app.add_option("--model", flags.model, model_help)->required();
  app.add_option("--data", flags.data, "prepared cache folder (ecgtwin prepare --out)")->required();
  app.add_option("--split", flags.split, split_help + " (default: test)");
}

config::Json DataSetFlags::describe(const TwinRunFlags& run) const {
  return {{"model", model}, {"data", data}, {"split", split}, {"seed", run.seed}};
}

void add_sampling_flags(CLI::App& app, SamplingFlags& flags, bool eta_and_guidance) {
  flags.eta_and_guidance = eta_and_guidance;
  app.add_option("--sampler", flags.sampler, "ddim or ddpm (default: ddim; key sampling.sampler)");
  app.add_option("--steps", flags.steps, "DDIM steps (default: 50; key sampling.steps)");
  if (!eta_and_guidance) return;
  app.add_option("--eta", flags.eta, "DDIM eta: 0 deterministic, 1 DDPM variance (default: 0; key sampling.eta)");
  app.add_option(
      "--guidance", flags.guidance,
      "classifier-free guidance scale; 1 = none; other scales need a denoiser trained with "
      "diffusion.guidance true (default: 1; key sampling.guidance_scale)");
  app.add_option(
      "--start", flags.start,
      "where each twin's run starts: noise (the method), reference-noised (the reference's latent "
      "noised to the first step taken) or reference-inverted (the reference's latent carried there "
      "by DDIM inversion under its own conditions) (default: noise; key sampling.start)");
  app.add_option(
      "--strength", flags.strength,
      "the fraction of the sampling steps taken, 0 < S <= 1; below 1 the noisiest are skipped "
      "(default: 1; key sampling.strength)");
  app.add_option(
      "--candidates", flags.candidates,
      "samples drawn per twin; above 1 the twin is their medoid by average-beat distance, the "
      "sample nearest the others (default: 1 = the method; key sampling.candidates)");
  app.add_option("--select", flags.select,
                 "which of the candidates is the twin: medoid (the sample nearest the others), "
                 "reference (the sample whose average beat is nearest the reference's), "
                 "mean-beat (the medoid with its beats moved onto the candidates' mean average "
                 "beat; with --transfer the reference is rendered from every candidate's noise) or "
                 "transferred (the medoid of the candidates after --transfer is done on each of "
                 "them; needs --transfer) "
                 "(default: medoid; key sampling.select)");
  app.add_option("--rate-candidates", flags.rate_candidates,
                 "above 0: --select chooses among the N candidates of each twin whose measured "
                 "heart rate is nearest the target's (default: 0 = all; key "
                 "sampling.rate_candidates)");
  app.add_flag("--rate-fit", flags.rate_fit,
               "scale the time axis of every sample so that its measured heart rate is the "
               "target's (up to 15 % of change), before the twin is chosen and --transfer is "
               "done (default: off = as sampled; key sampling.rate_fit)");
  app.add_option("--rate-fit-warp", flags.rate_fit_warp,
                 "how --rate-fit changes a sample's rate: uniform (its time axis scaled) or "
                 "fridericia (its beats warped as a heart changes its rate: P wave and QRS kept, "
                 "the QT by Fridericia's cube root of the RR interval, the diastole taking the "
                 "rest) (default: uniform; key sampling.rate_fit_warp)");
  app.add_option(
      "--transfer", flags.transfer,
      "what is done to each twin once sampled: none (the method) or reference-residual "
      "(the model also renders the reference under its own conditions from the twin's "
      "noise, and the difference of the reference's average beat from that rendering's "
      "is added to every beat of the twin) or reference-residual-scaled (that "
      "difference first scaled, in the P, QRS and ST-T segments, as the twin's waves are "
      "against that rendering's, and halved or quartered where all of it would move the twin's "
      "beats) or reference-residual-adapted (as reference-residual-scaled, with the "
      "difference's ST-T segment also stretched in time as the twin's is against that "
      "rendering's, which the heart rate shortens or lengthens) (default: none; key "
      "sampling.transfer)");
  app.add_option("--limb-leads", flags.limb_leads,
                 "the limb leads of every sample, which the autoencoder renders each on its own: "
                 "generated (as decoded, the method), projected (the least-squares projection "
                 "onto ECGs that keep Einthoven's and Goldberger's relations) or derived (III, "
                 "aVR, aVL, aVF recomputed from I and II, as recording devices do) (default: "
                 "generated; key sampling.limb_leads)");
  app.add_flag("--bf16", flags.bf16,
               "run the denoiser in bfloat16 while sampling (bf16 autocast) on CUDA, or on a CPU "
               "with bfloat16 instructions (AVX512-BF16, AMX-BF16; float32 on other CPUs) "
               "(default: off = float32; key sampling.bf16)");
  app.add_option("--personalise-steps", flags.personalise_steps,
                 "fine-tune the denoiser on each reference under its own conditions for N steps "
                 "before its twins are sampled (default: 0 = none, the method; key personalise.steps)");
  app.add_option(
      "--personalise-batch", flags.personalise_batch,
      "noise draws of the reference per personalisation step (default: 16; key personalise.batch)");
  app.add_option("--personalise-fit", flags.personalise_fit,
                 "what personalisation fits to the reference: denoiser (its weights), base-vector "
                 "(the base vector the twins are conditioned on, the denoiser frozen) or both "
                 "(default: denoiser; key personalise.fit)");
  app.add_option("--personalise-lr", flags.personalise_lr,
                 "learning rate of the denoiser's weights in personalisation (default: 1e-4; key "
                 "personalise.lr)");
  app.add_option("--personalise-base-lr", flags.personalise_base_lr,
                 "learning rate of the base vector in personalisation (default: 1e-2; key "
                 "personalise.base_lr)");
}

diffusion::SamplerOptions sampler_from_flags(const CLI::App& app, const SamplingFlags& flags, config::Json& tree) {
  if (app.count("--sampler")) config::set_key(tree, "sampling.sampler", flags.sampler);
  if (app.count("--steps")) config::set_key(tree, "sampling.steps", flags.steps);
  if (flags.eta_and_guidance) {
    if (app.count("--eta")) config::set_key(tree, "sampling.eta", flags.eta);
    if (app.count("--guidance")) config::set_key(tree, "sampling.guidance_scale", flags.guidance);
    if (app.count("--start")) config::set_key(tree, "sampling.start", flags.start);
    if (app.count("--strength")) config::set_key(tree, "sampling.strength", flags.strength);
    if (app.count("--candidates")) config::set_key(tree, "sampling.candidates", flags.candidates);
    if (app.count("--select")) config::set_key(tree, "sampling.select", flags.select);
    if (app.count("--rate-candidates"))
      config::set_key(tree, "sampling.rate_candidates", flags.rate_candidates);
    if (app.count("--rate-fit")) config::set_key(tree, "sampling.rate_fit", flags.rate_fit);
    if (app.count("--rate-fit-warp"))
      config::set_key(tree, "sampling.rate_fit_warp", flags.rate_fit_warp);
    if (app.count("--transfer")) config::set_key(tree, "sampling.transfer", flags.transfer);
    if (app.count("--limb-leads")) config::set_key(tree, "sampling.limb_leads", flags.limb_leads);
    if (app.count("--bf16")) config::set_key(tree, "sampling.bf16", flags.bf16);
  }
  config::Section root(tree, "");
  config::Section sampling = root.child("sampling");
  auto options = diffusion::read_sampler_options(sampling);
  sampling.finish();
  return options;
}

pipeline::PersonaliseOptions personalise_from_flags(const CLI::App& app, const SamplingFlags& flags,
                                                    config::Json& tree) {
  if (flags.eta_and_guidance) {
    if (app.count("--personalise-steps"))
      config::set_key(tree, "personalise.steps", flags.personalise_steps);
    if (app.count("--personalise-batch"))
      config::set_key(tree, "personalise.batch", flags.personalise_batch);
    if (app.count("--personalise-fit"))
      config::set_key(tree, "personalise.fit", flags.personalise_fit);
    if (app.count("--personalise-lr"))
      config::set_key(tree, "personalise.lr", flags.personalise_lr);
    if (app.count("--personalise-base-lr"))
      config::set_key(tree, "personalise.base_lr", flags.personalise_base_lr);
  }
  config::Section root(tree, "");
  config::Section section = root.child("personalise");
  auto options = pipeline::read_personalise_options(section);
  section.finish();
  return options;
}

}  // namespace ecgtwin::app
