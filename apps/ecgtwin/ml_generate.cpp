// ecgtwin generate: digital twins of reference ECGs under target conditions.
#include <cstdio>
#include <memory>

#include "command.hpp"
#include "ecgtwin/config/tree.hpp"
#include "ecgtwin/pipeline/generate.hpp"
#include "ecgtwin/util/error.hpp"
#include "ml_sampling.hpp"
#include "record_flags.hpp"

namespace ecgtwin::app {
namespace {

struct GenerateFlags {
  ConfigOptions config;
  SamplingFlags sampling;
  RecordFormatFlags format;
  TwinRunFlags run;
  std::string model, out, condition, conditions_file, sex;
  std::vector<std::string> references;
  double hr = 0, age = -1;
  std::int64_t samples = 1;
  bool no_plots = false;
};

Registrar registrar("generate", "generate digital twins of reference ECGs under target conditions", [](CLI::App& app) {
  auto f = std::make_shared<GenerateFlags>();
  add_config_options(app, f->config);
  app.add_option("--model", f->model, "model folder (written by the train-* commands)")->required();
  app.add_option("--reference", f->references,
                 "reference ECG: a record (.hea/.npy/.csv), a folder of records or a manifest CSV "
                 "(repeatable); without it, ECGs of no particular person under each condition "
                 "(OUT/population/), from a model trained with --set diffusion.guidance=true "
                 "--set diffusion.dropout.base_vector=0.1");
  add_record_format_flags(app, f->format, "reference records");
  app.add_option("--condition", f->condition, "target statements separated by '|', e.g. \"sinus rhythm|left bundle branch block\"");
  app.add_option("--hr", f->hr, "target heart rate in bpm (with --condition)");
  app.add_option("--age", f->age,
                 "target age in years (default: the reference's; unknown without one)");
  app.add_option("--sex", f->sex,
                 "target sex, F or M (default: the reference's; unknown without one)");
  app.add_option("--conditions", f->conditions_file, "YAML/JSON list of targets {statements, hr, age?, sex?, name?}")
      ->check(CLI::ExistingFile);
  app.add_option("--samples", f->samples, "twins per reference and condition (default: 1)");
  add_sampling_flags(app, f->sampling, /*eta_and_guidance=*/true);
  add_twin_run_flags(app, f->run, "seed of the twins' initial noise");
  app.add_flag("--no-plots", f->no_plots, "skip the PNG of each twin over its reference");
  app.add_option("--out", f->out, "output folder")->required();
  return [f, &app]() {
    config::Json tree = resolve_config(f->config);
    pipeline::GenerateOptions o;
    o.sampler = sampler_from_flags(app, f->sampling, tree);
    o.personalise = personalise_from_flags(app, f->sampling, tree);
    o.model = f->model;
    o.load = load_options(f->format);
    for (const auto& r : f->references)
      for (auto& p : pipeline::resolve_references(r)) o.references.push_back(p);
    if (!f->conditions_file.empty()) o.targets = pipeline::read_targets(f->conditions_file);
    if (!f->condition.empty()) {
      if (!app.count("--hr")) throw InputError("--hr", "a target heart rate is required with --condition");
      auto target = pipeline::make_target(f->condition, f->hr);
      if (app.count("--age")) target.age = f->age;
      if (app.count("--sex")) target.sex = data::parse_sex(f->sex);
      o.targets.push_back(target);
    }
    if (o.targets.empty()) throw InputError("--condition", "give a target with --condition and --hr, or --conditions FILE");
    o.samples = f->samples;
    f->run.set(o);
    o.plots = !f->no_plots;
    o.out = f->out;
    auto summary = pipeline::generate_twins(o);
    tree["generate"] = {{"model", f->model},
                        {"references", f->references},
                        {"samples", f->samples},
                        {"seed", f->run.seed}};
    if (f->format.fs > 0) tree["generate"]["fs"] = f->format.fs;
    tree["generate"]["units"] = f->format.units;
    config::write_file(tree, std::filesystem::path(f->out) / "config.yaml");
    if (o.references.empty())
      std::printf("%lld ECGs of no particular person in %s (summary.json)\n",
                  static_cast<long long>(summary.twins), f->out.c_str());
    else
      std::printf("%lld twins in %s (summary.json)\n", static_cast<long long>(summary.twins),
                  f->out.c_str());
    if (!summary.failures.empty()) {
      std::fprintf(stderr, "%zu reference(s) could not be used:\n", summary.failures.size());
      for (const auto& [ref, why] : summary.failures) std::fprintf(stderr, "  %s: %s\n", ref.c_str(), why.c_str());
      return kExitBadInput;
    }
    return kExitOk;
  };
});

}  // namespace
}  // namespace ecgtwin::app
