// ecgtwin: one program, one subcommand per file (cmd_*.cpp).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "command.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/log.hpp"

namespace ecgtwin::app {

std::vector<Command>& commands() {
  static std::vector<Command> registry;
  return registry;
}

void add_config_options(CLI::App& app, ConfigOptions& options) {
  app.add_option("--config", options.config_file, "YAML or JSON config file (default: built-in defaults)")
      ->check(CLI::ExistingFile);
  app.add_option("--set", options.overrides,
                 "override one config key, KEY=VALUE (repeatable), e.g. --set train.steps=100");
}

config::Json resolve_config(const ConfigOptions& options,
                            const std::vector<std::pair<std::string, config::Json>>& flag_overrides) {
  config::Json tree = options.config_file.empty() ? config::Json::object()
                                                  : config::load_file(options.config_file);
  for (const auto& assignment : options.overrides) config::apply_override(tree, assignment);
  for (const auto& [key, value] : flag_overrides) config::set_key(tree, key, value);
  return tree;
}

}  // namespace ecgtwin::app

namespace {

// The order commands appear in --help: the order of the work.
const std::vector<std::string> kCommandOrder = {
    "demo", "simulate", "prepare", "inspect", "convert", "plot", "info",
    "train-autoencoder", "train-extractor", "train-diffusion", "train-evaluator",
    "train-classifier", "generate", "edit", "evaluate", "diagnose", "bench"};

int order_of(const std::string& name) {
  auto it = std::find(kCommandOrder.begin(), kCommandOrder.end(), name);
  return it == kCommandOrder.end() ? static_cast<int>(kCommandOrder.size())
                                   : static_cast<int>(it - kCommandOrder.begin());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ecgtwin;
  CLI::App app{"ecgtwin " ECGTWIN_VERSION
               " - personalised ECG digital twins (ECGTwin: individual base extractor + "
               "latent diffusion with the AdaX condition injector)"};
  app.set_version_flag("--version", std::string("ecgtwin ") + ECGTWIN_VERSION);
  app.require_subcommand(1);
  bool verbose = false;
  bool quiet = false;
  int threads = 0;
  app.add_flag("-v,--verbose", verbose, "more log output");
  app.add_flag("-q,--quiet", quiet, "only warnings and errors");
  app.add_option("--threads", threads, "CPU threads for LibTorch and OpenMP (default: 0 = all cores)")
      ->check(CLI::NonNegativeNumber);

  auto& registry = app::commands();
  std::stable_sort(registry.begin(), registry.end(), [](const auto& a, const auto& b) {
    return order_of(a.name) < order_of(b.name);
  });
  std::vector<std::pair<CLI::App*, app::RunFunction>> runners;
  for (auto& command : registry) {
    CLI::App* sub = app.add_subcommand(command.name, command.description);
    sub->fallthrough();
    runners.emplace_back(sub, command.setup(*sub));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  } catch (const InputError& e) {
    std::fprintf(stderr, "ecgtwin: error: %s\n", e.what());
    return kExitBadInput;
  }

  util::setup_logging(quiet ? util::Verbosity::kQuiet
                            : (verbose ? util::Verbosity::kVerbose : util::Verbosity::kNormal));
  app::set_threads(threads);
  app::keep_freed_memory();

  for (auto& [sub, run] : runners) {
    if (!sub->parsed()) continue;
    try {
      return run();
    } catch (const InputError& e) {
      std::fprintf(stderr, "ecgtwin %s: error: %s\n", sub->get_name().c_str(), e.what());
      return kExitBadInput;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ecgtwin %s: internal error: %s\n", sub->get_name().c_str(), e.what());
      return kExitInternal;
    }
  }
  return kExitBadInput;
}
