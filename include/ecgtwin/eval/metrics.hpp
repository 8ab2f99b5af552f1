#pragma once
// Distribution and consistency metrics on feature vectors (rows of [N, D] tensors).
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ecgtwin::eval {

// Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017):
// |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), computed in double precision.
double frechet_distance(const torch::Tensor& real, const torch::Tensor& fake);
double frechet_distance(const torch::Tensor& mu1, const torch::Tensor& sigma1,
                        const torch::Tensor& mu2, const torch::Tensor& sigma2);

// Improved precision and recall (Kynkäänniemi et al. 2019): a sample lies on the other set's
// manifold when it is within the k-th nearest-neighbour radius of some point of that set.
struct PrecisionRecall {
  double precision = 0;
  double recall = 0;
  double f1 = 0;
};
PrecisionRecall precision_recall(const torch::Tensor& real, const torch::Tensor& fake, int64_t k = 3);

// Mean cosine similarity of matched rows, times 100 when `scale_100` (the CLIP score of
// Hessel et al. 2021 uses w = 2.5 on max(cos, 0); ecgtwin reports 100 * mean max(cos, 0)).
double clip_score(const torch::Tensor& ecg_features, const torch::Tensor& text_features);

// Row-wise cosine similarity of two [N, D] tensors -> [N].
torch::Tensor cosine_rows(const torch::Tensor& a, const torch::Tensor& b);

// Top-1 identification: for each query row, is the most similar gallery row (cosine) the
// one of the same label? Returns the fraction of queries identified.
double identification_top1(const torch::Tensor& queries, const std::vector<std::string>& query_labels,
                           const torch::Tensor& gallery, const std::vector<std::string>& gallery_labels);

// Mean silhouette coefficient (Rousseeuw 1987) with cosine distance, over rows whose label
// has at least two members; 0 when fewer than two labels.
double silhouette(const torch::Tensor& features, const std::vector<std::string>& labels);

// Recall@1 of statement retrieval: for each row, is the text feature of its own report the
// most similar among `candidates` (rows of text features, one per distinct report)?
double retrieval_top1(const torch::Tensor& ecg_features, const torch::Tensor& candidate_text,
                      const std::vector<int64_t>& target_index);

// Multi-label classification scores of predictions and labels, both [N, C] with values 0/1.
struct MultilabelScores {
  double exact_match = 0;     // fraction of rows whose predicted label set equals the true one
  double label_accuracy = 0;  // fraction of the N x C decisions that are right
  double macro_f1 = 0;        // mean over the classes of 2 TP / (2 TP + FP + FN), over the classes
                              // with at least one true or predicted positive
  int64_t scored_classes = 0; // the classes the macro mean is taken over
  std::vector<double> f1;     // per class; NaN for a class with no true and no predicted positive
};
MultilabelScores multilabel_scores(const torch::Tensor& predicted, const torch::Tensor& labels);

// Wilson's score interval for a proportion of `successes` in `trials` independent trials
// (Wilson 1927; Newcombe 1998, method 3), at the normal quantile `z` (1.96: 95 %).
// {lower, upper}; InputError for trials < 1 or successes outside 0 .. trials.
struct Interval {
  double lower = 0;
  double upper = 0;
};
Interval wilson_interval(int64_t successes, int64_t trials, double z = 1.959963984540054);

}  // namespace ecgtwin::eval
