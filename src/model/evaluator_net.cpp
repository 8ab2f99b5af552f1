#include "ecgtwin/model/evaluator_net.hpp"

#include <torch/torch.h>

#include <cmath>

#include "ecgtwin/model/extractor.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::model {

namespace nn = torch::nn;

void validate_se_resnet(const std::string& prefix, int64_t leads, const std::vector<int64_t>& channels,
                        int64_t blocks_per_stage, int64_t kernel, int64_t reduction) {
  if (leads < 1) throw InputError(prefix + "leads", "expected at least 1");
  if (channels.empty()) throw InputError(prefix + "channels", "expected at least one stage");
  for (int64_t c : channels)
    if (c < reduction || reduction < 1)
      throw InputError(prefix + "channels",
                       "every stage needs at least se_reduction (" + std::to_string(reduction) + ") channels");
  if (blocks_per_stage < 1) throw InputError(prefix + "blocks_per_stage", "expected at least 1");
  if (kernel < 1 || kernel % 2 == 0) throw InputError(prefix + "kernel", "expected an odd kernel size");
}

void EvaluatorOptions::validate() const {
  const std::string prefix = "model.evaluator.";
  validate_se_resnet(prefix, leads(), channels(), blocks_per_stage(), kernel(), se_reduction());
  if (embed_dim() < 1) throw InputError(prefix + "embed_dim", "expected at least 1");
  if (statement_dim() < 1) throw InputError(prefix + "statement_dim", "expected at least 1");
  if (text_hidden() < 1) throw InputError(prefix + "text_hidden", "expected at least 1");
  if (!(temperature() > 0)) throw InputError(prefix + "temperature", "expected a positive value");
}

namespace {

nn::Conv1d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  return nn::Conv1d(nn::Conv1dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

}  // namespace

SEBasicBlock1dImpl::SEBasicBlock1dImpl(int64_t in, int64_t out, int64_t stride, int64_t kernel, int64_t reduction) {
  conv1_ = register_module("conv1", conv(in, out, kernel, stride));
  bn1_ = register_module("bn1", nn::BatchNorm1d(out));
  conv2_ = register_module("conv2", conv(out, out, kernel, 1));
  bn2_ = register_module("bn2", nn::BatchNorm1d(out));
  se_fc1_ = register_module("se_fc1", nn::Linear(out, out / reduction));
  se_fc2_ = register_module("se_fc2", nn::Linear(out / reduction, out));
  if (stride != 1 || in != out) {
    downsample_ = register_module("downsample", nn::Sequential(conv(in, out, 1, stride), nn::BatchNorm1d(out)));
  }
}

torch::Tensor SEBasicBlock1dImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = torch::relu(bn1_->forward(conv1_->forward(x)));
  h = bn2_->forward(conv2_->forward(h));
  const torch::Tensor squeeze = h.mean(2);                                          // [B, C]
  const torch::Tensor excite = torch::sigmoid(se_fc2_->forward(torch::relu(se_fc1_->forward(squeeze))));
  h = h * excite.unsqueeze(2);
  return torch::relu(h + (downsample_ ? downsample_->forward(x) : x));
}

nn::ModuleList se_resnet_stages(int64_t in, const std::vector<int64_t>& channels, int64_t blocks_per_stage,
                                int64_t kernel, int64_t reduction) {
  auto stages = nn::ModuleList();
  for (size_t stage = 0; stage < channels.size(); ++stage) {
    auto blocks = nn::Sequential();
    for (int64_t b = 0; b < blocks_per_stage; ++b) {
      const int64_t stride = (b == 0 && stage > 0) ? 2 : 1;
      blocks->push_back(SEBasicBlock1d(in, channels[stage], stride, kernel, reduction));
      in = channels[stage];
    }
    stages->push_back(blocks);
  }
  return stages;
}

EvaluatorNetImpl::EvaluatorNetImpl(const EvaluatorOptions& options) : options_(options) {
  options_.validate();
  const auto& channels = options_.channels();
  conv1_ = register_module("conv1", conv(options_.leads(), channels.front(), 15, 2));
  bn1_ = register_module("bn1", nn::BatchNorm1d(channels.front()));
  layers_ = register_module("layers", se_resnet_stages(channels.front(), channels, options_.blocks_per_stage(),
                                                       options_.kernel(), options_.se_reduction()));
  ecg_proj_ = register_module("ecg_proj", nn::Linear(channels.back(), options_.embed_dim()));
  text_mlp_ = register_module("text_mlp", nn::Sequential());
  text_mlp_->push_back("fc1", nn::Linear(options_.statement_dim(), options_.text_hidden()));
  text_mlp_->push_back("act", nn::GELU());
  text_mlp_->push_back("fc2", nn::Linear(options_.text_hidden(), options_.embed_dim()));
  logit_scale_ = register_parameter("logit_scale", torch::tensor(std::log(1.0 / options_.temperature())));
}

torch::Tensor EvaluatorNetImpl::ecg_features(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 3 && x.size(1) == options_.leads(), "EvaluatorNet: expected [B, ", options_.leads(),
              ", L], got ", x.sizes());
  torch::Tensor h = torch::relu(bn1_->forward(conv1_->forward(x)));
  h = torch::max_pool1d(h, 3, 2, 1);
  for (const auto& stage : *layers_) h = stage->as<nn::Sequential>()->forward(h);
  return ecg_proj_->forward(h.mean(2));
}

torch::Tensor EvaluatorNetImpl::text_features(const torch::Tensor& embeddings, const torch::Tensor& mask) {
  TORCH_CHECK(embeddings.dim() == 3 && embeddings.size(2) == options_.statement_dim(),
              "EvaluatorNet: expected statement embeddings [B, S, ", options_.statement_dim(), "], got ",
              embeddings.sizes());
  return text_mlp_->forward(masked_mean(embeddings, mask));
}

torch::Tensor EvaluatorNetImpl::clip_loss(const torch::Tensor& ecg, const torch::Tensor& text) const {
  return info_nce(ecg, text, logit_scale_);
}

torch::Tensor masked_mean(const torch::Tensor& embeddings, const torch::Tensor& mask) {
  const torch::Tensor keep = mask.to(torch::kBool).unsqueeze(2);
  const torch::Tensor summed = torch::where(keep, embeddings, torch::zeros_like(embeddings)).sum(1);
  const torch::Tensor count = keep.sum(1).clamp_min(1).to(embeddings.dtype());
  return summed / count;
}

}  // namespace ecgtwin::model
