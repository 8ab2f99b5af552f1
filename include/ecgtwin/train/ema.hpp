#pragma once
// Exponential moving average of a module's parameters (shadow copies on the same device).
#include <torch/nn/module.h>
#include <torch/serialize/archive.h>

#include <string>
#include <vector>

namespace ecgtwin::train {

class Ema {
 public:
  Ema(torch::nn::Module& module, double decay);
  double decay() const { return decay_; }
  // shadow = decay * shadow + (1 - decay) * parameter, for every trainable parameter.
  void update(torch::nn::Module& module);
  // Copies the shadow weights into the module (buffers are left as they are).
  void copy_to(torch::nn::Module& module) const;
  void save(torch::serialize::OutputArchive& archive, const std::string& prefix) const;
  void load(torch::serialize::InputArchive& archive, const std::string& prefix,
            const std::string& file);

 private:
  double decay_;
  std::vector<std::string> names_;
  std::vector<torch::Tensor> shadow_;
};

}  // namespace ecgtwin::train
