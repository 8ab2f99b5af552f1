// ecgtwin evaluate: twins of a prepared data set's same-patient pairs against the real
// targets (and the simulator's ground truth), with the ECGTwin paper's metrics.
#include <cstdio>
#include <memory>

#include "command.hpp"
#include "ecgtwin/config/tree.hpp"
#include "ecgtwin/pipeline/evaluate.hpp"
#include "ml_sampling.hpp"

namespace ecgtwin::app {
namespace {

struct EvaluateFlags {
  ConfigOptions config;
  SamplingFlags sampling;
  DataSetFlags pairs;
  TwinRunFlags run;
  std::string out, ground_truth;
  std::int64_t max_pairs = 0;
  double template_shift_ms = 20;
  std::int64_t win_rate_persons = 20;
  std::string base_from = "reference";
};

Registrar registrar("evaluate", "evaluate a twin model on the same-patient pairs of a prepared data set", [](CLI::App& app) {
  auto f = std::make_shared<EvaluateFlags>();
  add_config_options(app, f->config);
  add_data_set_flags(app, f->pairs, "model folder (with evaluator.pt from train-evaluator)",
                     "train, val or test");
  app.add_option(
      "--ground-truth", f->ground_truth,
      "simulated cohort folder (ecgtwin simulate --out): also compare with the true twins");
  app.add_option("--max-pairs", f->max_pairs, "evaluate at most N pairs (default: 0 = all)");
  app.add_option("--template-shift-ms", f->template_shift_ms,
                 "with --ground-truth: compare average beats over common shifts of up to this many ms "
                 "(default: 20; 0: as the R peaks place them)");
  app.add_option("--win-rate-persons", f->win_rate_persons,
                 "with --ground-truth: also give the win rates for a cohort of N persons, each "
                 "twin against N - 1 "
                 "others drawn at random from the split's, in expectation (default: 20)");
  app.add_option(
      "--base-from", f->base_from,
      "whose base vector conditions the twins: reference (the method; default), target (the real "
      "target's own: an upper bound for the extractor) or none (no particular person: what the "
      "conditions alone give; a model trained with diffusion.dropout.base_vector above 0)");
  add_sampling_flags(app, f->sampling, /*eta_and_guidance=*/true);
  add_twin_run_flags(app, f->run, "seed of the twins' initial noise");
  app.add_option("--out", f->out, "output folder: metrics.json, pairs.jsonl, report.md, images/")->required();
  return [f, &app]() {
    config::Json tree = resolve_config(f->config);
    pipeline::EvaluateOptions o;
    o.sampler = sampler_from_flags(app, f->sampling, tree);
    f->pairs.set(o);
    f->run.set(o);
    o.ground_truth = f->ground_truth;
    o.max_pairs = f->max_pairs;
    o.template_shift_ms = f->template_shift_ms;
    o.win_rate_persons = f->win_rate_persons;
    o.base_from = f->base_from;
    o.personalise = personalise_from_flags(app, f->sampling, tree);
    o.out = f->out;
    auto metrics = pipeline::evaluate_twins(o);
    tree["evaluate"] = f->pairs.describe(f->run);
    config::write_file(tree, std::filesystem::path(f->out) / "config.yaml");
    std::printf("%s\nreport: %s/report.md\n", metrics.dump(2).c_str(), f->out.c_str());
    return kExitOk;
  };
});

}  // namespace
}  // namespace ecgtwin::app
