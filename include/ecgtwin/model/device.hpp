#pragma once
// Device selection: "auto" (CUDA when available), "cpu", "cuda", "cuda:N".
#include <torch/types.h>

#include <string>

namespace ecgtwin::model {

torch::Device resolve_device(const std::string& name);
std::string describe_device(const torch::Device& device);

}  // namespace ecgtwin::model
