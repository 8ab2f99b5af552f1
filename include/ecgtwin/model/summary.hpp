#pragma once
// The options of every network, read from the "model" section of a config, and a summary of
// the networks they form (parameter counts and tensor shapes) for `ecgtwin info`.
#include <torch/nn/module.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "ecgtwin/config/tree.hpp"
#include "ecgtwin/model/autoencoder.hpp"
#include "ecgtwin/model/classifier.hpp"
#include "ecgtwin/model/denoiser.hpp"
#include "ecgtwin/model/evaluator_net.hpp"
#include "ecgtwin/model/extractor.hpp"
#include "ecgtwin/model/statements.hpp"

namespace ecgtwin::model {

struct ModelOptions {
  std::string statement_kind = "learned";  // learned | precomputed
  std::string statement_npy;   // precomputed: NPY matrix [N, E] of statement embeddings
  std::string statement_json;  // precomputed: JSON list of the N statements
  LearnedStatementEncoderOptions statements;
  ConditionEncoderOptions condition;  // normalisation shared by every condition encoder
  AutoencoderOptions autoencoder;
  ExtractorOptions extractor;
  DenoiserOptions denoiser;
  EvaluatorOptions evaluator;
  ClassifierOptions classifier;  // its class count comes from the training data
  // model.reference: the denoiser also reads the reference's latent as tokens (beyond the
  // method; off by default). Shape, width and (unless model.reference.patch_size is set)
  // patch size follow the denoiser's.
  bool reference_tokens = false;
  ReferenceEncoderOptions reference;
};

// Reads model.statements, model.condition, model.autoencoder, model.extractor,
// model.denoiser, model.reference, model.evaluator and model.classifier from `model` (the "model"
// section), refusing unknown keys. The statement width, the latent shape and the base-vector width
// are carried across networks so that they fit together. InputError naming the key path otherwise.
ModelOptions read_model_options(config::Section& model);

int64_t count_parameters(const torch::nn::Module& module);

// {"autoencoder": {"parameters": N, "input": [...], "latent": [...]}, "extractor": {...},
//  "denoiser": {...}, "evaluator": {...}, "statements": {...}}; builds each network on the CPU.
nlohmann::json summarize_models(const ModelOptions& options);

}  // namespace ecgtwin::model
