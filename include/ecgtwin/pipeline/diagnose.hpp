#pragma once
// The personalised auto-diagnosis experiment of the ECGTwin paper. A diagnosis classifier
// trained on the population (train-classifier) is copied for every test patient and
// fine-tuned on that patient's digital twins, generated from one reference record under
// several target conditions; both classifiers then diagnose the patient's other (held-out)
// records. As a control the population classifier is also fine-tuned, with the same steps,
// on the reference record alone. Fine-tuning batches mix the patient's data with population
// records (replay), and the batch-norm statistics stay those of the population.
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "ecgtwin/diffusion/sampler.hpp"
#include "ecgtwin/pipeline/twin_model.hpp"

namespace ecgtwin::pipeline {

namespace fs = std::filesystem;

struct DiagnoseOptions {
  fs::path model;  // twin model folder with classifier.pt
  fs::path data;   // prepared cache
  std::string split = "test";
  std::int64_t conditions = 0;  // target conditions per patient, one per class (0: every class)
  std::int64_t twins_per_condition = 4;
  std::int64_t finetune_steps = 30;
  std::int64_t finetune_batch = 32;
  double finetune_lr = 1e-4;
  double replay_fraction = 0.75;  // share of a fine-tuning batch drawn from the training split
  std::int64_t max_patients = 0;  // 0: every patient of the split with at least two records
  diffusion::SamplerOptions sampler;
  PersonaliseOptions personalise;  // of the denoiser on each patient's reference (0 steps: none)
  std::uint64_t seed = 0;
  std::string device = "auto";
  std::int64_t batch = 64;  // twins sampled together
  fs::path out;
};

// Writes OUT/diagnosis.json and OUT/diagnosis.md and returns the JSON: accuracy (exact match
// of the predicted statement set) and macro-F1 without twins (population classifier), with
// twins and with the reference only (keys accuracy_without_twins, macro_f1_without_twins,
// accuracy_with_twins, macro_f1_with_twins, accuracy_reference_only,
// macro_f1_reference_only), the classes, the conditions and one entry per patient.
nlohmann::json diagnose(const DiagnoseOptions& options);

}  // namespace ecgtwin::pipeline
