// ecgtwin demo: simulate, prepare, train, generate and evaluate in one command.
#include <cstdio>
#include <memory>

#include "builtin_configs.hpp"
#include "command.hpp"
#include "ecgtwin/config/tree.hpp"
#include "ecgtwin/pipeline/demo.hpp"

namespace ecgtwin::app {
namespace {

struct DemoFlags {
  ConfigOptions config;
  std::string out = "out/demo", device = "auto";
  bool resume = false;
};

Registrar registrar("demo",
                    "the whole method on a simulated cohort: simulate, prepare, train all networks, generate "
                    "twins of held-out persons, evaluate against the ground truth",
                    [](CLI::App& app) {
                      auto f = std::make_shared<DemoFlags>();
                      add_config_options(app, f->config);
                      app.add_option("--out", f->out, "output folder (default: out/demo)");
                      app.add_option("--device", f->device, "cpu, cuda, cuda:N or auto (default: auto)");
                      app.add_flag("--resume", f->resume, "keep the steps a previous run in --out finished");
                      return [f]() {
                        // configs/tiny.yaml (built in) under the user's config and --set overrides.
                        config::Json tree = config::parse_yaml(kTinyConfigYaml, "configs/tiny.yaml (built in)");
                        config::merge(tree, resolve_config(f->config));
                        pipeline::DemoOptions o;
                        o.out = f->out;
                        o.config = tree;
                        o.device = f->device;
                        o.resume = f->resume;
                        auto metrics = pipeline::run_demo(o);
                        auto show = [&](const char* key) {
                          const auto& v = metrics.contains(key) ? metrics.at(key) : config::Json();
                          std::printf("  %-24s %s\n", key, v.is_null() ? "n/a" : v.dump().c_str());
                        };
                        std::printf("held-out persons: %s, pairs: %s\n", metrics.at("patients").dump().c_str(),
                                    metrics.at("pairs").dump().c_str());
                        for (const char* key :
                             {"hr_mae_bpm", "hr_mae_bpm_real", "ground_truth_win_rate",
                              "ground_truth_win_rate_n", "ground_truth_pairwise_win_rate",
                              "identification_top1", "fid", "fid_real_baseline", "precision",
                              "recall", "clip_score"})
                          show(key);
                        std::printf("total %.0f s\nreport: %s/report.md\nmetrics: %s/metrics.json\n",
                                    metrics.at("timing").at("total_s").get<double>(), f->out.c_str(), f->out.c_str());
                        return kExitOk;
                      };
                    });

}  // namespace
}  // namespace ecgtwin::app
