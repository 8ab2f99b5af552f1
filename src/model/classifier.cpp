#include "ecgtwin/model/classifier.hpp"

#include <torch/torch.h>

#include "ecgtwin/model/evaluator_net.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::model {

void ClassifierOptions::validate() const {
  validate_se_resnet("model.classifier.", leads(), channels(), blocks_per_stage(), kernel(), se_reduction());
  if (classes() < 1) throw InputError("model.classifier.classes", "expected at least one class");
}

ClassifierImpl::ClassifierImpl(const ClassifierOptions& options) : options_(options) {
  options_.validate();
  const auto& channels = options_.channels();
  conv1_ = register_module(
      "conv1", torch::nn::Conv1d(torch::nn::Conv1dOptions(options_.leads(), channels.front(), 15).stride(2).padding(7).bias(false)));
  bn1_ = register_module("bn1", torch::nn::BatchNorm1d(channels.front()));
  layers_ = register_module("layers", se_resnet_stages(channels.front(), channels, options_.blocks_per_stage(),
                                                       options_.kernel(), options_.se_reduction()));
  head_ = register_module("head", torch::nn::Linear(channels.back(), options_.classes()));
}

torch::Tensor ClassifierImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 3 && x.size(1) == options_.leads(), "Classifier: expected [B, ", options_.leads(),
              ", L], got ", x.sizes());
  torch::Tensor h = torch::relu(bn1_->forward(conv1_->forward(x)));
  h = torch::max_pool1d(h, 3, 2, 1);
  for (const auto& stage : *layers_) h = stage->as<torch::nn::Sequential>()->forward(h);
  return head_->forward(h.mean(2));
}

}  // namespace ecgtwin::model
