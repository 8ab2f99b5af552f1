#pragma once
// The subcommand registry. Each apps/ecgtwin/cmd_*.cpp file registers one subcommand with
// a static Registrar: its setup function adds the options to the CLI11 sub-app and returns
// the function that runs the command. main.cpp owns parsing, logging, and the exit codes.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "ecgtwin/config/tree.hpp"

namespace ecgtwin::app {

using RunFunction = std::function<int()>;
using SetupFunction = std::function<RunFunction(CLI::App&)>;

struct Command {
  std::string name;
  std::string description;
  SetupFunction setup;
};

std::vector<Command>& commands();

struct Registrar {
  Registrar(std::string name, std::string description, SetupFunction setup) {
    commands().push_back({std::move(name), std::move(description), std::move(setup)});
  }
};

// The options every config-driven command shares: --config FILE, --set KEY=VALUE (repeatable).
struct ConfigOptions {
  std::string config_file;
  std::vector<std::string> overrides;
};
void add_config_options(CLI::App& app, ConfigOptions& options);
// Loads --config (if given) and applies --set overrides, then `flag_overrides` (the command's
// own flags, as key -> value, only those the user gave).
config::Json resolve_config(const ConfigOptions& options,
                            const std::vector<std::pair<std::string, config::Json>>& flag_overrides = {});

// Sets the number of threads of LibTorch and OpenMP (0 = all cores) — a no-op without torch.
void set_threads(int threads);

// Keeps freed memory in the process rather than returning it to the kernel (memory.cpp);
// ECGTWIN_MALLOC=system leaves the C library's defaults. allocator_description() says which.
void keep_freed_memory();
const std::string& allocator_description();

}  // namespace ecgtwin::app
