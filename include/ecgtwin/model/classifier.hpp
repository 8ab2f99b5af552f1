#pragma once
// The diagnosis classifier of the personalised auto-diagnosis experiment: the evaluator's
// 1D SE-ResNet trunk over the 12-lead signal, global average pooling and a linear layer with
// one logit per diagnosis statement (multi-label: a sigmoid per class).
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace ecgtwin::model {

struct ClassifierOptions {
  TORCH_ARG(int64_t, leads) = 12;
  TORCH_ARG(std::vector<int64_t>, channels) = std::vector<int64_t>{64, 128, 256, 256};  // per stage
  TORCH_ARG(int64_t, blocks_per_stage) = 2;
  TORCH_ARG(int64_t, kernel) = 7;
  TORCH_ARG(int64_t, se_reduction) = 16;
  TORCH_ARG(int64_t, classes) = 1;

 public:
  void validate() const;  // InputError naming model.classifier.<key>
};

class ClassifierImpl : public torch::nn::Module {
 public:
  explicit ClassifierImpl(const ClassifierOptions& options = {});
  // x: [B, leads, L] (any L >= 32) -> logits [B, classes].
  torch::Tensor forward(const torch::Tensor& x);
  const ClassifierOptions& options() const { return options_; }

 private:
  ClassifierOptions options_;
  torch::nn::Conv1d conv1_{nullptr};
  torch::nn::BatchNorm1d bn1_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(Classifier);

}  // namespace ecgtwin::model
