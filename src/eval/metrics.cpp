#include "ecgtwin/eval/metrics.hpp"

#include <torch/torch.h>

#include <cmath>
#include <map>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::eval {

namespace {

torch::Tensor as_double_2d(const torch::Tensor& x, const char* what) {
  if (x.dim() != 2) throw Error(std::string(what) + ": expected a [N, D] tensor");
  return x.detach().to(torch::kCPU, torch::kDouble);
}

// Symmetric square root of a symmetric positive semi-definite matrix.
torch::Tensor sqrt_psd(const torch::Tensor& m) {
  auto [values, vectors] = at::linalg_eigh(0.5 * (m + m.t()), "L");
  return vectors.matmul(torch::diag(values.clamp_min(0).sqrt())).matmul(vectors.t());
}

torch::Tensor covariance(const torch::Tensor& x) {
  auto centred = x - x.mean(0, true);
  return centred.t().matmul(centred) / std::max<int64_t>(1, x.size(0) - 1);
}

torch::Tensor normalise_rows(const torch::Tensor& x) {
  return x / x.norm(2, 1, true).clamp_min(1e-12);
}

}  // namespace

double frechet_distance(const torch::Tensor& mu1, const torch::Tensor& sigma1,
                        const torch::Tensor& mu2, const torch::Tensor& sigma2) {
  auto m1 = mu1.to(torch::kDouble), m2 = mu2.to(torch::kDouble);
  auto s1 = sigma1.to(torch::kDouble), s2 = sigma2.to(torch::kDouble);
  auto root1 = sqrt_psd(s1);
  auto cross = sqrt_psd(root1.matmul(s2).matmul(root1));
  double mean_term = (m1 - m2).pow(2).sum().item<double>();
  double trace_term = (s1.trace() + s2.trace() - 2.0 * cross.trace()).item<double>();
  return mean_term + trace_term;
}

double frechet_distance(const torch::Tensor& real, const torch::Tensor& fake) {
  auto a = as_double_2d(real, "frechet_distance"), b = as_double_2d(fake, "frechet_distance");
  if (a.size(0) < 2 || b.size(0) < 2) throw Error("frechet_distance: needs at least two rows per set");
  return frechet_distance(a.mean(0), covariance(a), b.mean(0), covariance(b));
}

PrecisionRecall precision_recall(const torch::Tensor& real, const torch::Tensor& fake, int64_t k) {
  auto a = as_double_2d(real, "precision_recall"), b = as_double_2d(fake, "precision_recall");
  if (a.size(0) <= k || b.size(0) <= k)
    throw Error("precision_recall: each set needs more than k = " + std::to_string(k) + " rows");
  // k-th nearest-neighbour radius of each point within its own set (index k: index 0 is itself).
  auto radii = [k](const torch::Tensor& x) {
    auto d = torch::cdist(x, x);
    return std::get<0>(d.topk(k + 1, 1, /*largest=*/false)).select(1, k);
  };
  auto real_radius = radii(a), fake_radius = radii(b);
  auto fake_to_real = torch::cdist(b, a);  // [Nf, Nr]
  double precision = (fake_to_real <= real_radius.unsqueeze(0)).any(1).to(torch::kDouble).mean().item<double>();
  double recall = (fake_to_real.t() <= fake_radius.unsqueeze(0)).any(1).to(torch::kDouble).mean().item<double>();
  PrecisionRecall out{precision, recall, 0.0};
  out.f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
  return out;
}

torch::Tensor cosine_rows(const torch::Tensor& a, const torch::Tensor& b) {
  auto x = a.detach().to(torch::kCPU, torch::kDouble), y = b.detach().to(torch::kCPU, torch::kDouble);
  return (normalise_rows(x) * normalise_rows(y)).sum(1);
}

double clip_score(const torch::Tensor& ecg_features, const torch::Tensor& text_features) {
  return 100.0 * cosine_rows(ecg_features, text_features).clamp_min(0).mean().item<double>();
}

double identification_top1(const torch::Tensor& queries, const std::vector<std::string>& query_labels,
                           const torch::Tensor& gallery, const std::vector<std::string>& gallery_labels) {
  auto q = normalise_rows(as_double_2d(queries, "identification_top1"));
  auto g = normalise_rows(as_double_2d(gallery, "identification_top1"));
  if (q.size(0) != static_cast<int64_t>(query_labels.size()) ||
      g.size(0) != static_cast<int64_t>(gallery_labels.size()))
    throw Error("identification_top1: labels and rows differ in number");
  if (q.size(0) == 0) return 0.0;
  auto best = q.matmul(g.t()).argmax(1);
  auto accessor = best.accessor<int64_t, 1>();
  int64_t hits = 0;
  for (int64_t i = 0; i < q.size(0); ++i)
    hits += gallery_labels[static_cast<size_t>(accessor[i])] == query_labels[static_cast<size_t>(i)];
  return static_cast<double>(hits) / static_cast<double>(q.size(0));
}

double silhouette(const torch::Tensor& features, const std::vector<std::string>& labels) {
  auto x = normalise_rows(as_double_2d(features, "silhouette"));
  const int64_t n = x.size(0);
  std::map<std::string, int64_t> ids;
  std::vector<int64_t> label_id;
  for (const auto& l : labels) label_id.push_back(ids.emplace(l, static_cast<int64_t>(ids.size())).first->second);
  if (ids.size() < 2) return 0.0;
  auto distance = (1.0 - x.matmul(x.t())).clamp_min(0);
  auto d = distance.accessor<double, 2>();
  const auto clusters = static_cast<int64_t>(ids.size());
  std::vector<int64_t> sizes(static_cast<size_t>(clusters), 0);
  for (auto id : label_id) ++sizes[static_cast<size_t>(id)];
  double total = 0;
  int64_t counted = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t own = label_id[static_cast<size_t>(i)];
    if (sizes[static_cast<size_t>(own)] < 2) continue;
    std::vector<double> sums(static_cast<size_t>(clusters), 0.0);
    for (int64_t j = 0; j < n; ++j)
      if (j != i) sums[static_cast<size_t>(label_id[static_cast<size_t>(j)])] += d[i][j];
    double a = sums[static_cast<size_t>(own)] / static_cast<double>(sizes[static_cast<size_t>(own)] - 1);
    double b = std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < clusters; ++c)
      if (c != own) b = std::min(b, sums[static_cast<size_t>(c)] / static_cast<double>(sizes[static_cast<size_t>(c)]));
    double m = std::max(a, b);
    total += m > 0 ? (b - a) / m : 0.0;
    ++counted;
  }
  return counted ? total / static_cast<double>(counted) : 0.0;
}

double retrieval_top1(const torch::Tensor& ecg_features, const torch::Tensor& candidate_text,
                      const std::vector<int64_t>& target_index) {
  auto e = normalise_rows(as_double_2d(ecg_features, "retrieval_top1"));
  auto t = normalise_rows(as_double_2d(candidate_text, "retrieval_top1"));
  if (e.size(0) == 0) return 0.0;
  auto best = e.matmul(t.t()).argmax(1);
  auto accessor = best.accessor<int64_t, 1>();
  int64_t hits = 0;
  for (int64_t i = 0; i < e.size(0); ++i) hits += accessor[i] == target_index[static_cast<size_t>(i)];
  return static_cast<double>(hits) / static_cast<double>(e.size(0));
}

MultilabelScores multilabel_scores(const torch::Tensor& predicted, const torch::Tensor& labels) {
  TORCH_CHECK(predicted.dim() == 2 && predicted.sizes() == labels.sizes(),
              "multilabel_scores: expected predictions and labels of one shape [N, C], got ", predicted.sizes(),
              " and ", labels.sizes());
  auto p = predicted.to(torch::kCPU).gt(0.5);
  auto y = labels.to(torch::kCPU).gt(0.5);
  MultilabelScores out;
  const int64_t n = p.size(0), classes = p.size(1);
  if (n == 0) return out;
  out.exact_match = p.eq(y).all(1).to(torch::kDouble).mean().item<double>();
  out.label_accuracy = p.eq(y).to(torch::kDouble).mean().item<double>();
  auto tp = (p & y).sum(0).to(torch::kDouble), fp = (p & ~y).sum(0).to(torch::kDouble),
       fn = (~p & y).sum(0).to(torch::kDouble);
  double sum = 0;
  for (int64_t c = 0; c < classes; ++c) {
    const double t = tp[c].item<double>(), f = fp[c].item<double>() + fn[c].item<double>();
    if (t + f == 0) {
      out.f1.push_back(std::nan(""));
      continue;
    }
    out.f1.push_back(2 * t / (2 * t + f));
    sum += out.f1.back();
    ++out.scored_classes;
  }
  out.macro_f1 = out.scored_classes ? sum / double(out.scored_classes) : 0.0;
  return out;
}

Interval wilson_interval(int64_t successes, int64_t trials, double z) {
  if (trials < 1 || successes < 0 || successes > trials)
    throw InputError("wilson_interval", "expected 0 <= successes <= trials and trials >= 1, got " +
                                            std::to_string(successes) + " of " +
                                            std::to_string(trials));
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double z2 = z * z;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

}  // namespace ecgtwin::eval
