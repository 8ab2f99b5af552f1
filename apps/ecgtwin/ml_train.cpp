// ecgtwin train-autoencoder | train-extractor | train-diffusion | train-evaluator |
// train-classifier: one stage
// each, from a prepared cache into a model folder.
#include <cstdio>
#include <functional>
#include <memory>

#include "command.hpp"
#include "ecgtwin/data/cache.hpp"
#include "ecgtwin/train/distributed.hpp"
#include "ecgtwin/train/stages.hpp"

namespace ecgtwin::app {
namespace {

struct TrainFlags {
  ConfigOptions config;
  std::string data;
  std::string out;
  std::int64_t steps = 0;
  std::int64_t batch_size = 0;
  double lr = 0;
  std::int64_t seed = 0;
  std::string device;
  bool resume = false;
  std::int64_t checkpoint_every = 0;
  std::int64_t halt_after_step = 0;
  std::int64_t pause_after_step = 0;
};

using Trainer = std::function<train::TrainResult(const data::Cache&, const nlohmann::json&,
                                                 const std::filesystem::path&)>;

SetupFunction make_setup(const std::string& stage, Trainer trainer) {
  return [stage, trainer](CLI::App& app) {
    auto f = std::make_shared<TrainFlags>();
    add_config_options(app, f->config);
    app.add_option("--data", f->data, "prepared cache folder (ecgtwin prepare --out)")->required();
    app.add_option("--out", f->out,
                   "model folder: earlier stages are read from it, " + stage + ".pt is written to it")
        ->required();
    const std::string key = "train." + stage + ".";
    app.add_option("--steps", f->steps, "optimiser steps (key " + key + "steps; default 1000)");
    app.add_option("--batch-size", f->batch_size, "samples per micro-batch (key " + key + "batch_size; default 64)");
    app.add_option("--lr", f->lr, "peak learning rate (key " + key + "lr; default 1e-4)");
    app.add_option("--seed", f->seed, "seed of batches, noise and dropout (key " + key + "seed; default 0)");
    app.add_option("--device", f->device, "cpu, cuda, cuda:N or auto (key " + key + "device; default auto)");
    app.add_option("--checkpoint-every", f->checkpoint_every,
                   "write a checkpoint every N steps (key " + key + "checkpoint_every; default: only at the end)");
    app.add_flag("--resume", f->resume, "continue from <out>/checkpoints/" + stage + ".ckpt exactly where it stopped");
    app.add_option("--pause-after-step", f->pause_after_step,
                   "stop after step N with a checkpoint; --resume continues the same schedule");
    app.add_option("--halt-after-step", f->halt_after_step, "kill the process after step N's checkpoint (testing)")
        ->group("");
    return [stage, trainer, f, &app]() {
      std::vector<std::pair<std::string, config::Json>> flags;
      const std::string key = "train." + stage + ".";
      auto given = [&](const char* name) { return app.count(name) > 0; };
      if (given("--steps")) flags.push_back({key + "steps", f->steps});
      if (given("--batch-size")) flags.push_back({key + "batch_size", f->batch_size});
      if (given("--lr")) flags.push_back({key + "lr", f->lr});
      if (given("--seed")) flags.push_back({key + "seed", f->seed});
      if (given("--device")) flags.push_back({key + "device", f->device});
      if (given("--checkpoint-every")) flags.push_back({key + "checkpoint_every", f->checkpoint_every});
      if (given("--pause-after-step")) flags.push_back({key + "pause_after_step", f->pause_after_step});
      if (given("--halt-after-step")) flags.push_back({key + "halt_after_step", f->halt_after_step});
      if (f->resume) flags.push_back({key + "resume", true});
      config::Json tree = resolve_config(f->config, flags);
      tree["data"]["cache"] = f->data;
      data::Cache cache = data::Cache::open(f->data);
      train::TrainResult result = trainer(cache, tree, f->out);
      // Under torchrun-style launches only rank 0 reports.
      if (!result.model_file.empty() && train::DistributedContext::from_environment().is_main())
        std::printf("%s: %lld steps, final loss %.5g, %.1f samples/s; model %s\n", stage.c_str(),
                    static_cast<long long>(result.steps), result.final_loss, result.samples_per_second,
                    result.model_file.string().c_str());
      return kExitOk;
    };
  };
}

Registrar autoencoder("train-autoencoder", "train the autoencoder (stage 0: 12 x 1024 <-> latent 4 x 128)",
                      make_setup("autoencoder", train::train_autoencoder));
Registrar extractor("train-extractor", "train the Individual Base Extractor (stage 1, contrastive over patients)",
                    make_setup("extractor", train::train_extractor));
Registrar diffusion("train-diffusion", "train the conditional latent diffusion denoiser (stage 2, AdaX)",
                    make_setup("diffusion", train::train_diffusion));
Registrar evaluator("train-evaluator", "train the ECG-text feature network used by evaluate (FID, CLIP score)",
                    make_setup("evaluator", train::train_evaluator));
Registrar classifier("train-classifier",
                     "train the population diagnosis classifier of the personalised auto-diagnosis experiment (diagnose)",
                     make_setup("classifier", train::train_classifier));

}  // namespace
}  // namespace ecgtwin::app
