// ecgtwin edit: a twin regenerated with swapped or added statements, same seed and noise,
// with pictures of the cross-attention maps.
#include <cstdio>
#include <memory>

#include "command.hpp"
#include "ecgtwin/config/tree.hpp"
#include "ecgtwin/data/dataset.hpp"
#include "ecgtwin/diffusion/config.hpp"
#include "ecgtwin/pipeline/edit.hpp"
#include "record_flags.hpp"

namespace ecgtwin::app {
namespace {

struct EditFlags {
  ConfigOptions config;
  RecordFormatFlags format;
  std::string model, reference, condition, to, mode = "swap", device = "auto", out, limb_leads;
  double hr = 0, injection = 0.5, weight = 1.0;
  std::int64_t steps = 50, seed = 0;
};

Registrar registrar("edit", "regenerate a twin with swapped or added statements (same seed), with attention maps",
                    [](CLI::App& app) {
  auto f = std::make_shared<EditFlags>();
  add_config_options(app, f->config);
  app.add_option("--model", f->model, "model folder (written by the train-* commands)")->required();
  app.add_option("--reference", f->reference, "reference ECG record (.hea/.npy/.csv)")->required();
  add_record_format_flags(app, f->format, "the reference record");
  app.add_option("--condition", f->condition, "source statements separated by '|'")->required();
  app.add_option("--hr", f->hr, "heart rate in bpm of both twins")->required();
  app.add_option("--to", f->to, "swap: statements replacing the source's in order; add: statements added ('|'-separated)")
      ->required();
  app.add_option("--mode", f->mode, "swap or add (default: swap; key edit.mode)");
  app.add_option("--injection", f->injection,
                 "share of the first steps that reuse the source maps (default: 0.5; key edit.injection_fraction)");
  app.add_option("--added-weight", f->weight, "weight of an added statement's map (default: 1; key edit.added_weight)");
  app.add_option("--steps", f->steps, "DDIM steps (default: 50; key sampling.steps)");
  app.add_option("--limb-leads", f->limb_leads,
                 "the limb leads of both twins: generated (as decoded), projected (onto ECGs "
                 "that keep Einthoven's and Goldberger's relations) or derived (from I and II) "
                 "(default: generated; key sampling.limb_leads)");
  app.add_option("--seed", f->seed, "seed of the initial noise (default: 0)");
  app.add_option("--device", f->device, "cpu, cuda, cuda:N or auto (default: auto)");
  app.add_option("--out", f->out, "output folder")->required();
  return [f, &app]() {
    config::Json tree = resolve_config(f->config);
    if (app.count("--mode")) config::set_key(tree, "edit.mode", f->mode);
    if (app.count("--injection")) config::set_key(tree, "edit.injection_fraction", f->injection);
    if (app.count("--added-weight")) config::set_key(tree, "edit.added_weight", f->weight);
    if (app.count("--steps")) config::set_key(tree, "sampling.steps", f->steps);
    if (app.count("--limb-leads")) config::set_key(tree, "sampling.limb_leads", f->limb_leads);
    config::Section root(tree, "");
    config::Section edit = root.child("edit");
    config::Section sampling = root.child("sampling");
    pipeline::EditTwinOptions o;
    o.editing = diffusion::read_edit_options(edit);
    edit.finish();
    o.sampler = diffusion::read_sampler_options(sampling);
    sampling.finish();
    o.model = f->model;
    o.reference = f->reference;
    o.load = load_options(f->format);
    o.source = pipeline::make_target(f->condition, f->hr);
    o.changed = data::split_statements(f->to);
    o.seed = static_cast<std::uint64_t>(f->seed);
    o.device = f->device;
    o.out = f->out;
    auto json = pipeline::edit_twin(o);
    config::write_file(tree, std::filesystem::path(f->out) / "config.yaml");
    std::printf("%s\n", json.dump(2).c_str());
    return kExitOk;
  };
});

}  // namespace
}  // namespace ecgtwin::app
