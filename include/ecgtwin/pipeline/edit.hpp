#pragma once
// Editing a twin by its report (ecgtwin edit): the twin under the source statements and the
// twin under the edited statements from the same seed and initial noise, the edited run
// re-using the source run's cross-attention maps for its first steps (diffusion/editing.hpp),
// and pictures of the maps (which part of the waveform each statement drives).
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ecgtwin/diffusion/editing.hpp"
#include "ecgtwin/diffusion/sampler.hpp"
#include "ecgtwin/pipeline/generate.hpp"

namespace ecgtwin::pipeline {

struct EditTwinOptions {
  fs::path model;
  fs::path reference;
  data::LoadOptions load;            // how the reference is read: the rate and units of NPY/CSV
  TwinTarget source;                 // statements and heart rate of the source twin
  std::vector<std::string> changed;  // swap: the new statements in place of the source's; add: added ones
  diffusion::EditOptions editing;    // mode "swap" or "add", injection fraction, added weight
  diffusion::SamplerOptions sampler;
  std::uint64_t seed = 0;
  std::string device = "auto";
  fs::path out;
};

// Writes OUT/source.{hea,dat,npy}, OUT/edited.{hea,dat,npy}, OUT/edit.png (edited over source),
// OUT/maps_source.png, OUT/maps_edited.png and OUT/edit.json; returns edit.json's content.
nlohmann::json edit_twin(const EditTwinOptions& options);

}  // namespace ecgtwin::pipeline
