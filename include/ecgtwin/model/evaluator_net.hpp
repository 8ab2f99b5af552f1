#pragma once
// The evaluator's feature network: an ECG-text contrastive model (CLIP-style). The ECG side
// is a 1D SE-ResNet (He et al. 2016 basic blocks with squeeze-and-excitation, Hu et al.
// 2018) over the 12-lead signal with a 64-d projection; the text side is an MLP over the
// masked mean of a report's statement embeddings. Its 64-d features feed FID,
// precision/recall and the CLIP score.
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ecgtwin::model {

struct EvaluatorOptions {
  TORCH_ARG(int64_t, leads) = 12;
  TORCH_ARG(std::vector<int64_t>, channels) = std::vector<int64_t>{64, 128, 256, 256};  // per stage
  TORCH_ARG(int64_t, blocks_per_stage) = 2;
  TORCH_ARG(int64_t, kernel) = 7;
  TORCH_ARG(int64_t, se_reduction) = 16;  // Hu et al. 2018
  TORCH_ARG(int64_t, embed_dim) = 64;
  TORCH_ARG(int64_t, statement_dim) = 768;
  TORCH_ARG(int64_t, text_hidden) = 256;
  TORCH_ARG(double, temperature) = 0.07;  // initial, CLIP

 public:
  void validate() const;  // InputError naming model.evaluator.<key>
};

// conv-bn-relu-conv-bn, squeeze-and-excitation, + shortcut, relu.
class SEBasicBlock1dImpl : public torch::nn::Module {
 public:
  SEBasicBlock1dImpl(int64_t in, int64_t out, int64_t stride, int64_t kernel, int64_t reduction);
  torch::Tensor forward(const torch::Tensor& x);  // [B, in, L] -> [B, out, L / stride]

 private:
  torch::nn::Conv1d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm1d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Linear se_fc1_{nullptr}, se_fc2_{nullptr};
  torch::nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(SEBasicBlock1d);

// InputErrors naming <prefix><key> for SE-ResNet options that do not form a network.
void validate_se_resnet(const std::string& prefix, int64_t leads, const std::vector<int64_t>& channels,
                        int64_t blocks_per_stage, int64_t kernel, int64_t reduction);

// The SE-ResNet stages: per stage `blocks_per_stage` blocks, the first of every stage after
// the first with stride 2; each stage a Sequential in the list.
torch::nn::ModuleList se_resnet_stages(int64_t in, const std::vector<int64_t>& channels, int64_t blocks_per_stage,
                                       int64_t kernel, int64_t reduction);

class EvaluatorNetImpl : public torch::nn::Module {
 public:
  explicit EvaluatorNetImpl(const EvaluatorOptions& options = {});

  // x: [B, leads, L] (any L >= 32) -> [B, embed_dim], not normalised.
  torch::Tensor ecg_features(const torch::Tensor& x);
  // embeddings: [B, S, statement_dim]; mask: [B, S] bool -> [B, embed_dim]. A report with
  // no statement gets the MLP of a zero vector.
  torch::Tensor text_features(const torch::Tensor& embeddings, const torch::Tensor& mask);
  // Symmetric InfoNCE between the two sides with the learnable temperature.
  torch::Tensor clip_loss(const torch::Tensor& ecg_features, const torch::Tensor& text_features) const;

  const torch::Tensor& logit_scale() const { return logit_scale_; }
  const EvaluatorOptions& options() const { return options_; }

 private:
  EvaluatorOptions options_;
  torch::nn::Conv1d conv1_{nullptr};
  torch::nn::BatchNorm1d bn1_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  torch::nn::Linear ecg_proj_{nullptr};
  torch::nn::Sequential text_mlp_{nullptr};
  torch::Tensor logit_scale_;
};
TORCH_MODULE(EvaluatorNet);

// Mean over the real statements: sum(mask * e) / max(1, count). [B, S, E], [B, S] -> [B, E]
torch::Tensor masked_mean(const torch::Tensor& embeddings, const torch::Tensor& mask);

}  // namespace ecgtwin::model
