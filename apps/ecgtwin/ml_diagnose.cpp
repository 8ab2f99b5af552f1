// ecgtwin diagnose: the personalised auto-diagnosis experiment (a population classifier
// fine-tuned per test patient on that patient's twins, tested on the patient's held-out
// records).
#include <cstdio>
#include <memory>

#include "command.hpp"
#include "ecgtwin/config/tree.hpp"
#include "ecgtwin/pipeline/diagnose.hpp"
#include "ml_sampling.hpp"

namespace ecgtwin::app {
namespace {

struct DiagnoseFlags {
  ConfigOptions config;
  SamplingFlags sampling;
  DataSetFlags pairs;
  TwinRunFlags run;
  std::string out;
  std::int64_t conditions = 0, twins = 4, finetune_steps = 30, finetune_batch = 32,
               max_patients = 0;
  double finetune_lr = 1e-4, replay = 0.75;
};

Registrar registrar(
    "diagnose",
    "personalised auto-diagnosis: a population classifier fine-tuned per patient on its twins, tested on its other records",
    [](CLI::App& app) {
      auto f = std::make_shared<DiagnoseFlags>();
      add_config_options(app, f->config);
      add_data_set_flags(app, f->pairs, "model folder (with classifier.pt from train-classifier)",
                         "val or test");
      app.add_option("--conditions", f->conditions,
                     "target conditions per patient, one per classifier class in order of frequency (default: 0 = all)");
      app.add_option("--twins-per-condition", f->twins, "twins per patient and condition (default: 4)");
      app.add_option("--finetune-steps", f->finetune_steps, "fine-tuning steps per patient (default: 30)");
      app.add_option("--finetune-batch", f->finetune_batch, "records per fine-tuning batch (default: 32)");
      app.add_option("--finetune-lr", f->finetune_lr, "fine-tuning learning rate (AdamW; default: 1e-4)");
      app.add_option("--replay-fraction", f->replay,
                     "share of each fine-tuning batch drawn from the training split (default: 0.75)");
      app.add_option("--max-patients", f->max_patients, "at most N patients (default: 0 = all with two or more records)");
      add_sampling_flags(app, f->sampling, /*eta_and_guidance=*/true);
      add_twin_run_flags(app, f->run, "seed of the twins and of the fine-tuning batches");
      app.add_option("--out", f->out, "output folder: diagnosis.json, diagnosis.md, config.yaml")->required();
      return [f, &app]() {
        config::Json tree = resolve_config(f->config);
        pipeline::DiagnoseOptions o;
        o.sampler = sampler_from_flags(app, f->sampling, tree);
        o.personalise = personalise_from_flags(app, f->sampling, tree);
        f->pairs.set(o);
        f->run.set(o);
        o.conditions = f->conditions;
        o.twins_per_condition = f->twins;
        o.finetune_steps = f->finetune_steps;
        o.finetune_batch = f->finetune_batch;
        o.finetune_lr = f->finetune_lr;
        o.replay_fraction = f->replay;
        o.max_patients = f->max_patients;
        o.out = f->out;
        auto result = pipeline::diagnose(o);
        tree["diagnose"] = f->pairs.describe(f->run);
        config::write_file(tree, std::filesystem::path(f->out) / "config.yaml");
        std::printf(
            "accuracy %.3f -> %.3f with twins (%.3f reference only); macro-F1 %.3f -> %.3f (%.3f); %s patients, "
            "%s held-out records\nreport: %s/diagnosis.md\n",
            result["accuracy_without_twins"].get<double>(), result["accuracy_with_twins"].get<double>(),
            result["accuracy_reference_only"].get<double>(), result["macro_f1_without_twins"].get<double>(),
            result["macro_f1_with_twins"].get<double>(), result["macro_f1_reference_only"].get<double>(),
            result["patients"].dump().c_str(), result["held_out_records"].dump().c_str(), f->out.c_str());
        return kExitOk;
      };
    });

}  // namespace
}  // namespace ecgtwin::app
