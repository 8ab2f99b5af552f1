#pragma once
// Evaluation of a twin model on the same-patient pairs of a prepared cache: for every pair
// (reference -> target) twins are generated from the reference under the target's
// conditions and compared with the real target, with the metrics of the ECGTwin paper and,
// on a simulated cohort, with the ground-truth twin the simulator renders.
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "ecgtwin/diffusion/sampler.hpp"
#include "ecgtwin/pipeline/twin_model.hpp"

namespace ecgtwin::pipeline {

namespace fs = std::filesystem;

struct EvaluateOptions {
  fs::path model;
  fs::path data;          // prepared cache
  fs::path ground_truth;  // simulated cohort folder (persons/*.json); empty: none
  std::string split = "test";
  std::int64_t max_pairs = 0;  // 0: every pair of the split
  diffusion::SamplerOptions sampler;
  std::uint64_t seed = 0;
  std::string device = "auto";
  std::int64_t batch = 64;
  std::int64_t example_plots = 4;
  // Ground-truth templates are compared over common shifts of up to this many milliseconds
  // (eval::template_distance); 0 compares them as the R peaks place them.
  double template_shift_ms = 20;
  // The ground-truth win rates are also given for a cohort of this many persons
  // (ground_truth_win_rate_n*): each twin against N - 1 other persons drawn at random from the
  // split's, in expectation over the draw. Equal to ground_truth_win_rate when the split holds
  // N persons or fewer.
  std::int64_t win_rate_persons = 20;
  // Whose base vector conditions the twins: "reference" (the method), "target" (the real
  // target record's own, an upper bound on what a base vector can carry to the twin) or "none"
  // (the null base vector of no particular person, for a model that learned it:
  // TwinModel::samples_without_person; what the conditions alone give).
  std::string base_from = "reference";
  // Test-time personalisation of the denoiser on each reference (steps 0: none); pairs are
  // then sampled in batches of one reference.
  PersonaliseOptions personalise;
  fs::path out;
};

// Writes OUT/metrics.json, OUT/report.md, OUT/pairs.jsonl (one line per pair: patient,
// reference and target record, statements, target and measured heart rate and, with a ground
// truth, each candidate's distance to its own ground truth and to the nearest other person's)
// and the pictures under OUT/images, and returns the metrics: pairs, twins, hr_mae_bpm,
// hr_mae_bpm_real (the real targets' measured rate against the rate their records carry; null
// where none carries one, for the target rate is then the measured one), hr_detected_fraction, fid,
// fid_real_baseline, precision, recall, f1, clip_score, clip_score_real,
// base_cosine_reference_twin, base_cosine_reference_real, identification_top1,
// identification_top1_real, silhouette_twins, silhouette_real, retrieval_top1_twins,
// retrieval_top1_real, and with a ground truth: ground_truth_win_rate,
// ground_truth_pairwise_win_rate, ground_truth_distance_mv, other_person_distance_mv and, as
// baselines, the win rates of the real targets (ground_truth_win_rate_real_target), of the
// references copied unchanged (ground_truth_win_rate_reference) and of the real targets passed
// through the autoencoder (ground_truth_win_rate_reconstructed_target), the same four among
// win_rate_persons persons (ground_truth_win_rate_n, ground_truth_win_rate_n_real_target,
// ground_truth_win_rate_n_reference, ground_truth_win_rate_n_reconstructed_target;
// ground_truth_win_rate_n_persons, ground_truth_persons), and the three rates by target statement
// (ground_truth_win_rate_by_statement); also `machine` (cpu, vector_isa, threads, device: the
// same seeded run can differ in its last bits between CPUs of other vector sets).
nlohmann::json evaluate_twins(const EvaluateOptions& options);

}  // namespace ecgtwin::pipeline
