#pragma once
// Checkpoints: one file holding weights, EMA weights, optimiser state, step, data position,
// RNG state and the resolved config, behind a header with a checksum of the payload.
// Written atomically (temporary file, fsync, rename): a run killed while writing leaves the
// previous checkpoint intact.
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace ecgtwin::train {

struct CheckpointMeta {
  std::string stage;            // "autoencoder", "extractor", "diffusion", "evaluator"
  std::int64_t step = 0;        // optimiser steps completed
  std::int64_t samples_seen = 0;
  std::uint64_t seed = 0;
  nlohmann::json config;        // the resolved config of the run
  nlohmann::json extra;         // stage-specific (e.g. vocabulary, normalisation constants)
};

class Ema;

// What a checkpoint holds besides the meta data. `ema` and `optimizer` may be null.
struct CheckpointParts {
  torch::nn::Module* model = nullptr;
  Ema* ema = nullptr;
  torch::optim::Optimizer* optimizer = nullptr;
};

void save_checkpoint(const std::filesystem::path& path, const CheckpointMeta& meta,
                     const CheckpointParts& parts);

// Reads the meta data only (cheap: the payload is checksummed but not deserialised).
CheckpointMeta read_checkpoint_meta(const std::filesystem::path& path);

// Loads into the given parts. InputError naming the file when the checksum does not match,
// the file is truncated, the stage differs from `expected_stage` (unless empty), or a
// parameter is missing or has another shape.
CheckpointMeta load_checkpoint(const std::filesystem::path& path, const CheckpointParts& parts,
                               const std::string& expected_stage, const torch::Device& device);

// FNV-1a over every parameter's and buffer's name and bytes: equal weights, equal digest
// (the serialised archive itself is not byte-stable). save_module stores it as meta "weights".
std::string weights_digest(torch::nn::Module& module);

// Weights of one module alone (for the finished model folder), same container and checks.
void save_module(const std::filesystem::path& path, torch::nn::Module& module,
                 const nlohmann::json& meta);
// The meta data of a module file ({"stage", "step", "config", "extra"}), checksum verified.
nlohmann::json read_module_meta(const std::filesystem::path& path);
nlohmann::json load_module(const std::filesystem::path& path, torch::nn::Module& module,
                           const torch::Device& device);

}  // namespace ecgtwin::train
