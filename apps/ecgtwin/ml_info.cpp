// ecgtwin info: the networks a config describes, with parameter counts and tensor shapes.
#include <cstdio>
#include <iostream>
#include <memory>

#include "command.hpp"
#include "ecgtwin/model/summary.hpp"

namespace ecgtwin::app {
namespace {

std::string join_shape(const config::Json& shape) {
  std::string out;
  for (const auto& d : shape) out += (out.empty() ? "" : " x ") + std::to_string(d.get<int64_t>());
  return out;
}

Registrar registrar("info", "list the networks of a config: parameter counts and tensor shapes", [](CLI::App& app) {
  struct Options {
    ConfigOptions config;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  add_config_options(app, options->config);
  app.add_flag("--json", options->json, "print one JSON object keyed by network (default: a table)");
  return [options]() {
    const config::Json tree = resolve_config(options->config);
    config::Section root(tree, "");
    config::Section model = root.child("model");
    const model::ModelOptions model_options = model::read_model_options(model);
    const config::Json summary = model::summarize_models(model_options);
    if (options->json) {
      std::cout << summary.dump(2) << "\n";
      return kExitOk;
    }
    std::printf("%-12s %12s  %s\n", "network", "parameters", "shapes");
    for (const char* name : {"autoencoder", "extractor", "denoiser", "evaluator", "classifier"}) {
      const auto& entry = summary.at(name);
      std::string shapes;
      for (const char* key : {"input", "latent", "tokens", "base_vector", "statements", "features"}) {
        if (!entry.contains(key)) continue;
        shapes += (shapes.empty() ? "" : ", ") + std::string(key) + " " + join_shape(entry.at(key));
      }
      if (entry.contains("head_parameters_per_class"))  // the classes come from the training data
        shapes += ", + " + std::to_string(entry.at("head_parameters_per_class").get<int64_t>()) + " per class";
      std::printf("%-12s %12lld  %s\n", name, static_cast<long long>(entry.at("parameters").get<int64_t>()),
                  shapes.c_str());
    }
    const auto& statements = summary.at("statements");
    std::printf("statements: %s, %lld-d embeddings, at most %lld per report\n",
                statements.at("kind").get<std::string>().c_str(),
                static_cast<long long>(statements.at("embedding_dim").get<int64_t>()),
                static_cast<long long>(statements.at("max_statements").get<int64_t>()));
    return kExitOk;
  };
});

}  // namespace
}  // namespace ecgtwin::app
