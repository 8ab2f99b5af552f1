// The whole path on a small simulated cohort: prepare, the four trainers, loading the model
// folder, generating twins and evaluating them. Tiny networks and a few steps: these tests
// check that the parts fit, that seeds reproduce, that bad input is refused and that the
// outputs are complete, not the quality of the twins (the demo measures that).
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>

#include "ecgtwin/config/tree.hpp"
#include "ecgtwin/data/cache.hpp"
#include "ecgtwin/data/record_io.hpp"
#include "ecgtwin/diffusion/guidance.hpp"
#include "ecgtwin/diffusion/sampler.hpp"
#include "ecgtwin/diffusion/schedule.hpp"
#include "ecgtwin/eval/metrics.hpp"
#include "ecgtwin/eval/templates.hpp"
#include "ecgtwin/io/npy.hpp"
#include "ecgtwin/pipeline/diagnose.hpp"
#include "ecgtwin/pipeline/edit.hpp"
#include "ecgtwin/pipeline/evaluate.hpp"
#include "ecgtwin/pipeline/generate.hpp"
#include "ecgtwin/pipeline/twin_model.hpp"
#include "ecgtwin/signal/limb_leads.hpp"
#include "ecgtwin/signal/rate_fit.hpp"
#include "ecgtwin/signal/simulator.hpp"
#include "ecgtwin/signal/simulator_cohort.hpp"
#include "ecgtwin/train/checkpoint.hpp"
#include "ecgtwin/train/stages.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "ecgtwin/util/machine.hpp"
#include "test_support.hpp"

namespace ecgtwin {
namespace {

const char* kConfig = R"(
model:
  statements: {embedding_dim: 16, hash_buckets: 64, max_statements: 6}
  autoencoder: {channels: [8, 16, 16, 16], layers_per_block: 1, norm_groups: 4}
  extractor: {hidden: 32, depth: 1, heads: 2, ffn: 64}
  denoiser: {kind: dit, hidden: 32, depth: 2, heads: 2}
  evaluator: {channels: [8, 16], blocks_per_stage: 1, embed_dim: 8, text_hidden: 16, se_reduction: 4}
  classifier: {channels: [8, 16], blocks_per_stage: 1, se_reduction: 4}
train:
  autoencoder: {steps: 3, batch_size: 4, lr: 1.0e-3, log_every: 1}
  extractor: {steps: 3, batch_size: 4, lr: 1.0e-3, log_every: 1}
  diffusion: {steps: 4, batch_size: 4, lr: 1.0e-3, log_every: 1, ema_decay: 0.9}
  evaluator: {steps: 3, batch_size: 4, lr: 1.0e-3, log_every: 1}
  classifier: {steps: 3, batch_size: 4, lr: 1.0e-3, log_every: 1, min_count: 2}
)";

// One cohort, cache and model folder for every test of this file.
class PipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    torch::manual_seed(0);
    dir_ = new test::TempDir();
    config_ = new nlohmann::json(config::parse_yaml(kConfig, "test config"));
    signal::CohortOptions cohort;
    cohort.patients = 8;
    cohort.records_per_patient = 3;
    cohort.fs = 100;
    cohort.seed = 3;
    util::OutputGuard guard;
    signal::write_cohort(root() / "cohort", cohort, guard);
    guard.keep();
    data::PrepareOptions prepare;
    prepare.input = root() / "cohort";
    prepare.out = root() / "cache";
    prepare.ptbxl.fs_source = 100;
    prepare.split.validation_fraction = 0;
    prepare.split.test_fraction = 0.25;
    data::prepare_cache(prepare);
    cache_ = new data::Cache(data::Cache::open(root() / "cache"));
    train::train_autoencoder(*cache_, *config_, root() / "model");
    train::train_extractor(*cache_, *config_, root() / "model");
    train::train_diffusion(*cache_, *config_, root() / "model");
    train::train_evaluator(*cache_, *config_, root() / "model");
    train::train_classifier(*cache_, *config_, root() / "model");
  }
  static void TearDownTestSuite() {
    delete cache_;
    delete config_;
    delete dir_;
  }
  static std::filesystem::path root() { return dir_->path(); }
  // A model folder holding the suite's autoencoder and extractor, for a diffusion stage of its own.
  static void copy_earlier_stages(const std::filesystem::path& folder) {
    for (const char* stage : {"autoencoder", "extractor"})
      std::filesystem::copy_file(root() / "model" / (std::string(stage) + ".pt"),
                                 folder / (std::string(stage) + ".pt"));
  }

  // A model folder with the suite's autoencoder, extractor and evaluator and a denoiser
  // trained with condition dropout (statements 0.5, base vector `base_dropout`).
  static pipeline::TwinModel train_guided(double base_dropout,
                                          const std::filesystem::path& folder) {
    copy_earlier_stages(folder);
    std::filesystem::copy_file(root() / "model" / "evaluator.pt", folder / "evaluator.pt");
    nlohmann::json config = *config_;
    config["diffusion"] = {{"guidance", true},
                           {"dropout", {{"statements", 0.5}, {"base_vector", base_dropout}}}};
    train::train_diffusion(*cache_, config, folder);
    return pipeline::TwinModel::load(folder, torch::kCPU, /*with_evaluator=*/true);
  }

  static test::TempDir* dir_;
  static nlohmann::json* config_;
  static data::Cache* cache_;
};

test::TempDir* PipelineTest::dir_ = nullptr;
nlohmann::json* PipelineTest::config_ = nullptr;
data::Cache* PipelineTest::cache_ = nullptr;

TEST_F(PipelineTest, EveryStageWritesItsModelConfigAndMetrics) {
  for (const char* stage : {"autoencoder", "extractor", "diffusion", "evaluator", "classifier"}) {
    const auto model = root() / "model" / (std::string(stage) + ".pt");
    ASSERT_TRUE(std::filesystem::exists(model)) << model;
    EXPECT_TRUE(std::filesystem::exists(root() / "model" / (std::string(stage) + "_config.yaml")));
    EXPECT_TRUE(std::filesystem::exists(root() / "model" / "checkpoints" / (std::string(stage) + ".ckpt")));
    std::ifstream metrics(root() / "model" / (std::string(stage) + "_metrics.jsonl"));
    std::string line;
    int lines = 0;
    while (std::getline(metrics, line)) {
      auto json = nlohmann::json::parse(line);
      EXPECT_TRUE(std::isfinite(json.at("loss").get<double>()));
      ++lines;
    }
    EXPECT_EQ(lines, stage == std::string("diffusion") ? 4 : 3) << stage;
    EXPECT_EQ(train::read_module_meta(model).at("stage"), stage);
  }
}

TEST_F(PipelineTest, LoadedStagesMatchTheTrainedShapes) {
  auto twin_model = pipeline::TwinModel::load(root() / "model", torch::kCPU, true);
  EXPECT_EQ(twin_model.noise_shape(), (std::vector<std::int64_t>{4, 128}));
  auto signals = train::cache_signals(*cache_, {0, 1, 2});
  auto reports = train::cache_reports(*cache_, {0, 1, 2});
  auto base = twin_model.base_vectors(signals, reports);
  EXPECT_EQ(base.sizes(), (std::vector<std::int64_t>{3, 32}));
  EXPECT_TRUE(torch::isfinite(base).all().item<bool>());
  EXPECT_EQ(twin_model.ecg_features(signals).sizes(), (std::vector<std::int64_t>{3, 8}));
}

TEST_F(PipelineTest, GenerationIsSeededAndConditionDependent) {
  auto twin_model = pipeline::TwinModel::load(root() / "model", torch::kCPU);
  auto signals = train::cache_signals(*cache_, {0});
  auto base = twin_model.base_vectors(signals, train::cache_reports(*cache_, {0}));
  diffusion::SamplerOptions sampler;
  sampler.steps(5);
  auto targets = pipeline::make_reports({{{"sinus rhythm"}, 70, 50.0, data::Sex::kFemale}});
  auto a = twin_model.generate(base, targets, sampler, twin_model.initial_noise(7).unsqueeze(0));
  auto b = twin_model.generate(base, targets, sampler, twin_model.initial_noise(7).unsqueeze(0));
  auto c = twin_model.generate(base, targets, sampler, twin_model.initial_noise(8).unsqueeze(0));
  auto other = pipeline::make_reports({{{"sinus rhythm"}, 140, 50.0, data::Sex::kFemale}});
  auto d = twin_model.generate(base, other, sampler, twin_model.initial_noise(7).unsqueeze(0));
  EXPECT_EQ(a.sizes(), (std::vector<std::int64_t>{1, 12, 1024}));
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  EXPECT_FALSE(torch::equal(a, d)) << "the heart rate token must reach the denoiser";
}

// The loaded model, cache row 0 as the reference (signals, base vector, own conditions),
// one target condition and one twin's initial noise.
struct OneReference {
  OneReference(const std::filesystem::path& root, const data::Cache& cache)
      : model(pipeline::TwinModel::load(root / "model", torch::kCPU)),
        signals(train::cache_signals(cache, {0})),
        base(model.base_vectors(signals, train::cache_reports(cache, {0}))),
        reference{signals, base, train::cache_reports(cache, {0})},
        targets(pipeline::make_reports({{{"sinus rhythm"}, 70, 50.0, data::Sex::kFemale}})),
        noise(model.initial_noise(7).unsqueeze(0)),
        fs(model.sampling_rate()),
        shift(static_cast<std::int64_t>(std::lround(0.020 * fs))),
        reference_beat(eval::beat_template(signals.contiguous().data_ptr<float>(), 12, 1024, fs)) {}
  // The epsilon objective on the reference under its own statements and `base_vector`, at
  // 64 fixed draws of t and noise.
  double objective(const torch::Tensor& base_vector) {
    torch::NoGradGuard no_grad;
    auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
    const auto x0 = model.encode(signals).expand({64, -1, -1});
    const auto t = torch::randint(1, model.schedule().timesteps(), {64}, generator, torch::kLong);
    const auto eps = torch::randn(x0.sizes(), generator, torch::kFloat);
    auto& diffusion = model.diffusion();
    diffusion->denoiser->eval();
    const auto& own = reference.reports;
    const train::Reports repeated{
        std::vector<std::vector<std::string>>(64, own.statements.at(0)),
        {own.demographics.heart_rate.expand({64}), own.demographics.age.expand({64}),
         own.demographics.sex.expand({64})}};
    const auto predicted =
        diffusion->denoiser->forward(diffusion::add_noise(model.schedule(), x0, eps, t), t,
                                     diffusion->conditions(base_vector.expand({64, -1}), repeated));
    return torch::mse_loss(predicted, eps).item<double>();
  }
  pipeline::TwinModel model;
  torch::Tensor signals, base;
  pipeline::ReferenceStart reference;
  train::Reports targets;
  torch::Tensor noise;
  // The cache's rate, 20 ms of shift in samples (as evaluate compares beats) and the
  // reference's average beat.
  double fs;
  std::int64_t shift;
  std::optional<std::vector<float>> reference_beat;
};

// Twins started from the reference. At t = 0 alone, the noised reference is
// sqrt(abar_0) z + sqrt(1 - abar_0) n and one DDIM step returns (x - sqrt(1 - abar_0) eps) /
// sqrt(abar_0), written out here with the denoiser's own eps; inversion is seeded like the
// rest; either start without the reference is refused.
TEST_F(PipelineTest, ReferenceStartsBeginFromTheReference) {
  OneReference one(root(), *cache_);
  diffusion::SamplerOptions sampler;
  sampler.steps(50).spacing("linspace");
  auto last_step = sampler;
  last_step.start("reference-noised").strength(0.02);  // the step from t = 0 only
  const auto twin = one.model.generate(one.base, one.targets, last_step, one.noise, &one.reference);
  {
    torch::NoGradGuard no_grad;
    const double ab = one.model.schedule().alpha_cumprod(0);
    const auto x = one.model.encode(one.signals) * std::sqrt(ab) + one.noise * std::sqrt(1.0 - ab);
    auto& diffusion = one.model.diffusion();
    diffusion->denoiser->eval();
    const auto eps = diffusion->denoiser->forward(x, torch::zeros({1}, torch::kLong),
                                                  diffusion->conditions(one.base, one.targets));
    const auto expected = one.model.decode((x - std::sqrt(1.0 - ab) * eps) / std::sqrt(ab));
    EXPECT_TRUE(torch::allclose(twin, expected, 1e-4, 1e-5)) << (twin - expected).abs().max();
    EXPECT_FALSE(torch::allclose(
        twin, one.model.generate(one.base, one.targets, sampler, one.noise), 1e-2, 1e-2));
  }

  auto inverted = sampler;
  inverted.start("reference-inverted").strength(0.6).steps(5);
  const auto a = one.model.generate(one.base, one.targets, inverted, one.noise, &one.reference);
  const auto b = one.model.generate(one.base, one.targets, inverted, one.noise, &one.reference);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_TRUE(torch::isfinite(a).all().item<bool>());
  EXPECT_FALSE(torch::allclose(a, one.model.generate(one.base, one.targets, inverted.strength(1.0),
                                                     one.noise, &one.reference)));
  // One reference row serves a batch of twins as that row repeated would.
  const auto noises = torch::cat({one.noise, one.model.initial_noise(8).unsqueeze(0)}, 0);
  const auto bases = one.base.expand({2, -1});
  const auto two_targets =
      pipeline::make_reports({{{"sinus rhythm"}, 70, 50.0, data::Sex::kFemale},
                              {{"sinus rhythm"}, 90, 50.0, data::Sex::kFemale}});
  const pipeline::ReferenceStart repeated{one.signals.expand({2, -1, -1}), bases,
                                          train::cache_reports(*cache_, {0, 0})};
  EXPECT_TRUE(torch::allclose(
      one.model.generate(bases, two_targets, inverted, noises, &one.reference),
      one.model.generate(bases, two_targets, inverted, noises, &repeated), 1e-4, 1e-5));
  EXPECT_TRUE(test::throws_input_error(
      [&] { one.model.generate(one.base, one.targets, inverted, one.noise); }, {"sampling.start"}))
      << "a start from the reference without one";
}

// With candidates K, each twin is the medoid of K samples of its own conditions: twin i equals
// one of the samples its K noise rows give one at a time, the one eval::template_medoid picks.
TEST_F(PipelineTest, CandidatesGiveTheMedoidOfEachTwinsOwnSamples) {
  OneReference one(root(), *cache_);
  const std::int64_t k = 3;
  const auto noise_7 = one.model.initial_noise(7, k), noise_8 = one.model.initial_noise(8, k);
  ASSERT_EQ(noise_7.sizes(), (std::vector<std::int64_t>{k, noise_7.size(1), noise_7.size(2)}));
  EXPECT_TRUE(torch::equal(noise_7[0], one.model.initial_noise(7)));  // the seed's own noise first
  EXPECT_FALSE(torch::equal(noise_7[1], noise_7[2]));
  const auto two_targets =
      pipeline::make_reports({{{"sinus rhythm"}, 60, 50.0, data::Sex::kFemale},
                              {{"sinus rhythm"}, 120, 50.0, data::Sex::kFemale}});
  const auto bases = one.base.expand({2, -1});
  diffusion::SamplerOptions sampler;
  sampler.steps(5);
  std::vector<std::int64_t> chosen;
  const auto twins = one.model.generate(bases, two_targets, sampler.candidates(k),
                                        torch::cat({noise_7, noise_8}, 0), nullptr, &chosen);
  ASSERT_EQ(chosen.size(), 2u);
  ASSERT_EQ(twins.sizes(), (std::vector<std::int64_t>{2, 12, 1024}));
  sampler.candidates(1);
  for (std::int64_t i = 0; i < 2; ++i) {
    const auto target = train::slice_reports(two_targets, i, i + 1);
    std::vector<torch::Tensor> own;
    for (std::int64_t c = 0; c < k; ++c)
      own.push_back(one.model.generate(one.base, target, sampler,
                                       (i == 0 ? noise_7 : noise_8).slice(0, c, c + 1)));
    const auto samples = torch::cat(own, 0).contiguous();
    const std::int64_t medoid =
        eval::template_medoid(samples.data_ptr<float>(), k, 12, 1024, one.fs, one.shift);
    EXPECT_EQ(chosen[static_cast<std::size_t>(i)], medoid);
    EXPECT_TRUE(torch::allclose(twins[i], samples[medoid], 1e-4, 1e-4))
        << "twin " << i << ", medoid " << medoid;
  }
  // A start from the reference: one reference row, and one per twin, give the same twins.
  auto inverted = sampler;
  inverted.start("reference-inverted").strength(0.6).candidates(k);
  const pipeline::ReferenceStart repeated{one.signals.expand({2, -1, -1}), bases,
                                          train::cache_reports(*cache_, {0, 0})};
  const auto noises = torch::cat({noise_7, noise_8}, 0);
  EXPECT_TRUE(torch::allclose(
      one.model.generate(bases, two_targets, inverted, noises, &one.reference),
      one.model.generate(bases, two_targets, inverted, noises, &repeated), 1e-4, 1e-5));
  // select "reference": each twin is the sample whose average beat is nearest the reference's.
  auto nearest = sampler;
  nearest.candidates(k).select("reference");
  ASSERT_TRUE(one.reference_beat);
  const auto by_reference =
      one.model.generate(bases, two_targets, nearest, noises, &one.reference, &chosen);
  for (std::int64_t i = 0; i < 2; ++i) {
    std::vector<torch::Tensor> own;
    for (std::int64_t c = 0; c < k; ++c)
      own.push_back(one.model.generate(one.base, train::slice_reports(two_targets, i, i + 1),
                                       sampler.candidates(1),
                                       (i == 0 ? noise_7 : noise_8).slice(0, c, c + 1)));
    const auto samples = torch::cat(own, 0).contiguous();
    const std::int64_t expected = eval::template_nearest(samples.data_ptr<float>(), k, 12, 1024,
                                                         one.fs, one.shift, *one.reference_beat);
    EXPECT_EQ(chosen[static_cast<std::size_t>(i)], expected);
    EXPECT_TRUE(torch::allclose(by_reference[i], samples[expected], 1e-4, 1e-4)) << "twin " << i;
  }
  EXPECT_TRUE(test::throws_input_error(
      [&] { one.model.generate(bases, two_targets, nearest, noises); }, {"sampling.select"}))
      << "select reference without a reference";
  // Noise rows that are not K per twin are refused, naming the key.
  EXPECT_TRUE(test::throws_input_error(
      [&] { one.model.generate(bases, two_targets, sampler.candidates(k), noises.slice(0, 0, 5)); },
      {"sampling.candidates"}))
      << "5 noise rows for candidates 3";
}

// transfer "reference-residual": the model also renders the reference under its own conditions
// from the twin's noise, and what the reference's average beat differs from that rendering's is
// added to every beat of the twin (unless it would move the twin's beats); the twin as sampled
// otherwise. Refused without a reference, naming the key.
TEST_F(PipelineTest, ReferenceResidualTransferAddsWhatTheModelMissesOfTheReference) {
  OneReference one(root(), *cache_);
  diffusion::SamplerOptions sampler;
  sampler.steps(5);
  const auto sampled =
      one.model.generate(one.base, one.targets, sampler, one.noise, &one.reference);
  const auto self =
      one.model.generate(one.base, one.reference.reports, sampler, one.noise, &one.reference)
          .contiguous();
  auto transferred = sampler;
  transferred.transfer("reference-residual");
  std::vector<bool> applied;
  const auto twin = one.model.generate(one.base, one.targets, transferred, one.noise,
                                       &one.reference, nullptr, &applied);
  ASSERT_EQ(applied.size(), 1u);
  ASSERT_EQ(twin.sizes(), sampled.sizes());
  // The same steps by hand.
  const auto self_beat = eval::beat_template(self.data_ptr<float>(), 12, 1024, one.fs);
  ASSERT_TRUE(one.reference_beat && self_beat);
  auto expected = sampled.clone().contiguous();
  const bool changed = eval::transfer_beat_difference(expected.data_ptr<float>(), 12, 1024, one.fs,
                                                      *one.reference_beat, *self_beat, one.shift);
  EXPECT_TRUE(torch::allclose(twin, expected, 1e-4, 1e-5));
  EXPECT_EQ(changed, !torch::allclose(twin, sampled, 1e-4, 1e-5)) << "changed: " << changed;
  EXPECT_EQ(applied[0], changed);
  // "reference-residual-scaled": the difference scaled by the segment gains of the rendering's
  // beat to the twin's, and tried at a half and a quarter where it would move the beats.
  auto scaled = transferred;
  scaled.transfer("reference-residual-scaled");
  const auto twin_beat =
      eval::beat_template(sampled.contiguous().data_ptr<float>(), 12, 1024, one.fs);
  ASSERT_TRUE(twin_beat);
  const auto gains = eval::segment_gains(*self_beat, *twin_beat, 12, one.fs, one.shift);
  auto expected_scaled = sampled.clone().contiguous();
  const bool changed_scaled = eval::transfer_beat_difference(
      expected_scaled.data_ptr<float>(), 12, 1024, one.fs, *one.reference_beat, *self_beat,
      one.shift, &gains, {1.0, 0.5, 0.25});
  EXPECT_TRUE(torch::allclose(one.model.generate(one.base, one.targets, scaled, one.noise,
                                                 &one.reference, nullptr, &applied),
                              expected_scaled, 1e-4, 1e-5));
  EXPECT_EQ(applied, std::vector<bool>{changed_scaled});
  // "reference-residual-adapted": the reference's and the rendering's beats first stretched
  // over the ST-T segment as the twin's is against the rendering's, the gains taken from the
  // stretched rendering.
  auto adapted = transferred;
  adapted.transfer("reference-residual-adapted");
  const double stretch = eval::st_stretch(*self_beat, *twin_beat, 12, one.fs, one.shift);
  const auto self_stretched = eval::stretch_st(*self_beat, 12, one.fs, stretch);
  const auto adapted_gains = eval::segment_gains(self_stretched, *twin_beat, 12, one.fs, one.shift);
  auto expected_adapted = sampled.clone().contiguous();
  const bool changed_adapted =
      eval::transfer_beat_difference(expected_adapted.data_ptr<float>(), 12, 1024, one.fs,
                                     eval::stretch_st(*one.reference_beat, 12, one.fs, stretch),
                                     self_stretched, one.shift, &adapted_gains, {1.0, 0.5, 0.25});
  EXPECT_TRUE(torch::allclose(one.model.generate(one.base, one.targets, adapted, one.noise,
                                                 &one.reference, nullptr, &applied),
                              expected_adapted, 1e-4, 1e-5));
  EXPECT_EQ(applied, std::vector<bool>{changed_adapted});
  one.model.generate(one.base, one.targets, sampler, one.noise, &one.reference, nullptr, &applied);
  EXPECT_EQ(applied, std::vector<bool>{false});  // no transfer
  EXPECT_TRUE(test::throws_input_error(
      [&] { one.model.generate(one.base, one.targets, transferred, one.noise); },
      {"sampling.transfer"}))
      << "transfer reference-residual without a reference";
}

// Each of the k candidates of one twin sampled by itself from its noise row: under the target
// conditions (`samples`) and under the reference's own (`renderings`), [k, 12, 1024] each.
struct CandidatesByHand {
  torch::Tensor samples, renderings;
};
CandidatesByHand sample_each(OneReference& one, const diffusion::SamplerOptions& sampler,
                             const torch::Tensor& noise, std::int64_t k) {
  std::vector<torch::Tensor> own, self;
  for (std::int64_t c = 0; c < k; ++c) {
    own.push_back(one.model.generate(one.base, one.targets, sampler, noise.slice(0, c, c + 1)));
    self.push_back(
        one.model.generate(one.base, one.reference.reports, sampler, noise.slice(0, c, c + 1)));
  }
  return {torch::cat(own, 0).contiguous(), torch::cat(self, 0).contiguous()};
}

// The transfer "reference-residual" done by hand, in place, on each of the k samples, against
// the average beat of its own rendering of the reference; `changed` gets which it changed.
void transfer_each(CandidatesByHand& candidates, const std::vector<float>& reference_beat,
                   std::int64_t k, double fs, std::int64_t shift, std::vector<bool>* changed) {
  for (std::int64_t c = 0; c < k; ++c) {
    const auto self_beat =
        eval::beat_template(candidates.renderings[c].contiguous().data_ptr<float>(), 12, 1024, fs);
    ASSERT_TRUE(self_beat);
    changed->push_back(eval::transfer_beat_difference(candidates.samples[c].data_ptr<float>(), 12,
                                                      1024, fs, reference_beat, *self_beat, shift));
  }
}

// select "mean-beat": the twin is the medoid of its candidates with every beat moved onto the
// candidates' mean beat; with transfer "reference-residual" the reference is rendered from
// every candidate's noise and the mean of those renderings' beats is what it is compared with.
TEST_F(PipelineTest, MeanBeatMovesTheMedoidOntoTheCandidatesMeanBeat) {
  OneReference one(root(), *cache_);
  const std::int64_t k = 3;
  const auto noise = one.model.initial_noise(7, k);
  diffusion::SamplerOptions sampler;
  sampler.steps(5);
  const auto [samples, renderings] = sample_each(one, sampler, noise, k);
  const auto c =
      eval::template_consensus(samples.data_ptr<float>(), k, 12, 1024, one.fs, one.shift);
  ASSERT_FALSE(c.mean_beat.empty());
  auto expected = samples[c.medoid].clone().contiguous();
  eval::transfer_beat_difference(expected.data_ptr<float>(), 12, 1024, one.fs, c.mean_beat,
                                 c.medoid_beat, one.shift);
  auto mean_beat = sampler;
  mean_beat.candidates(k).select("mean-beat");
  std::vector<std::int64_t> chosen;
  const auto twin = one.model.generate(one.base, one.targets, mean_beat, noise, nullptr, &chosen);
  EXPECT_EQ(chosen, std::vector<std::int64_t>{c.medoid});
  EXPECT_TRUE(torch::allclose(twin[0], expected, 1e-4, 1e-5));
  // The candidates differ, so the mean beat is not the medoid's.
  EXPECT_GT(eval::template_distance(c.mean_beat, c.medoid_beat, 12, one.shift), 1e-4);
  // With the transfer: the reference's difference from its renderings' mean beat on top.
  const auto rendered =
      eval::template_consensus(renderings.data_ptr<float>(), k, 12, 1024, one.fs, one.shift);
  ASSERT_TRUE(one.reference_beat);
  ASSERT_FALSE(rendered.mean_beat.empty());
  const bool changed =
      eval::transfer_beat_difference(expected.data_ptr<float>(), 12, 1024, one.fs,
                                     *one.reference_beat, rendered.mean_beat, one.shift);
  mean_beat.transfer("reference-residual");
  std::vector<bool> applied;
  const auto transferred = one.model.generate(one.base, one.targets, mean_beat, noise,
                                              &one.reference, nullptr, &applied);
  EXPECT_EQ(applied, std::vector<bool>{changed});
  EXPECT_TRUE(torch::allclose(transferred[0], expected, 1e-4, 1e-5));
}

// select "transferred": the reference is rendered from every candidate's noise, the transfer is
// done on every candidate, and the twin is the medoid of the transferred candidates.
TEST_F(PipelineTest, TransferredSelectTakesTheMedoidAfterTheTransfer) {
  OneReference one(root(), *cache_);
  const std::int64_t k = 3;
  const auto noise = one.model.initial_noise(7, k);
  diffusion::SamplerOptions sampler;
  sampler.steps(5);
  ASSERT_TRUE(one.reference_beat);
  auto candidates = sample_each(one, sampler, noise, k);
  const torch::Tensor& samples = candidates.samples;
  std::vector<bool> changed;
  ASSERT_NO_FATAL_FAILURE(
      transfer_each(candidates, *one.reference_beat, k, one.fs, one.shift, &changed));
  const std::int64_t medoid =
      eval::template_medoid(samples.data_ptr<float>(), k, 12, 1024, one.fs, one.shift);
  auto options = sampler;
  options.candidates(k).select("transferred").transfer("reference-residual");
  std::vector<std::int64_t> chosen;
  std::vector<bool> applied;
  const auto twin =
      one.model.generate(one.base, one.targets, options, noise, &one.reference, &chosen, &applied);
  EXPECT_EQ(chosen, std::vector<std::int64_t>{medoid});
  EXPECT_EQ(applied, std::vector<bool>{changed[static_cast<std::size_t>(medoid)]});
  EXPECT_TRUE(torch::allclose(twin[0], samples[medoid], 1e-4, 1e-5));
  // Without a transfer there is nothing to choose after.
  options.transfer("none");
  EXPECT_TRUE(test::throws_input_error(
      [&] { one.model.generate(one.base, one.targets, options, noise, &one.reference); },
      {"sampling.select"}))
      << "select transferred without a transfer";
}

// fit_rates on simulated records: row r is brought to the rate of target r / K (or of the one
// target), exactly as signal::fit_heart_rate brings it; a row without a target rate stays.
TEST(FitRates, BringsEachRowToItsTargetsRate) {
  const double fs = 102.4;
  const std::vector<double> rates = {72, 128};
  const std::int64_t k = 2;
  std::vector<torch::Tensor> rows;
  for (std::size_t i = 0; i < rates.size(); ++i) {
    for (std::int64_t c = 0; c < k; ++c) {
      const signal::Person person = signal::draw_person(63, static_cast<std::int64_t>(i) * k + c);
      signal::SimCondition condition = signal::parse_condition(i == 0 ? "sinus" : "tachy");
      condition.heart_rate = rates[i];
      const auto ecg = signal::render(person, condition, {fs, 10, false, 20, 5});
      rows.push_back(
          torch::from_blob(const_cast<float*>(ecg.signal.data()), {12, ecg.samples}).clone());
    }
  }
  const torch::Tensor signals = torch::stack(rows).contiguous();
  const torch::Tensor targets = torch::tensor({76.0, 120.0}, torch::kDouble);
  torch::Tensor fitted = signals.clone();
  EXPECT_EQ(pipeline::fit_rates(fitted, targets, k, fs), 4);
  for (std::int64_t r = 0; r < 4; ++r) {
    torch::Tensor expected = signals[r].clone();
    ASSERT_TRUE(signal::fit_heart_rate(expected.data_ptr<float>(), 12, 1024, fs,
                                       targets[r / k].item<double>())
                    .changed);
    EXPECT_TRUE(torch::equal(fitted[r], expected)) << "row " << r;
  }
  // One target for all rows: the 128-bpm rows are beyond the 15 % a fit may change and stay;
  // a missing rate leaves its rows as they were.
  torch::Tensor one = signals.clone();
  EXPECT_EQ(pipeline::fit_rates(one, torch::tensor({76.0}, torch::kDouble), k, fs), 2);
  EXPECT_TRUE(torch::equal(one.slice(0, 0, 2), fitted.slice(0, 0, 2)));
  EXPECT_TRUE(torch::equal(one.slice(0, 2, 4), signals.slice(0, 2, 4)));
  torch::Tensor none = signals.clone();
  EXPECT_EQ(pipeline::fit_rates(none, torch::tensor({std::nan(""), 120.0}, torch::kDouble), k, fs),
            2);
  EXPECT_TRUE(torch::equal(none.slice(0, 0, 2), signals.slice(0, 0, 2)));
  EXPECT_TRUE(torch::equal(none.slice(0, 2, 4), fitted.slice(0, 2, 4)));
  // sampling.rate_fit_warp fridericia: every row warped by fit_heart_rate's kFridericia.
  torch::Tensor warped = signals.clone();
  EXPECT_EQ(pipeline::fit_rates(warped, targets, k, fs, "fridericia"), 4);
  signal::RateFitOptions warp;
  warp.warp = signal::RateWarp::kFridericia;
  for (std::int64_t r = 0; r < 4; ++r) {
    torch::Tensor expected = signals[r].clone();
    ASSERT_TRUE(signal::fit_heart_rate(expected.data_ptr<float>(), 12, 1024, fs,
                                       targets[r / k].item<double>(), warp)
                    .changed);
    EXPECT_TRUE(torch::equal(warped[r], expected)) << "row " << r;
    EXPECT_FALSE(torch::equal(warped[r], fitted[r])) << "row " << r;
  }
  EXPECT_THROW(pipeline::fit_rates(warped, targets, k, fs, "linear"), Error);
}

// set_limb_leads on simulated records with their limb leads disturbed: "projected" and
// "derived" are signal::project_limb_leads and signal::derive_limb_leads on every row,
// "generated" leaves the rows; signals without six leads are refused naming the key.
TEST(SetLimbLeads, ProjectsOrDerivesEveryRow) {
  std::vector<torch::Tensor> rows;
  for (std::int64_t i = 0; i < 3; ++i) {
    const auto ecg = signal::render(signal::draw_person(5, i), signal::parse_condition("sinus"),
                                    {102.4, 10, false, 20, 5});
    rows.push_back(
        torch::from_blob(const_cast<float*>(ecg.signal.data()), {12, ecg.samples}).clone());
  }
  torch::Tensor signals = torch::stack(rows).contiguous();
  torch::manual_seed(1);
  signals.slice(1, 2, 6) +=
      0.01 * torch::randn({3, 4, signals.size(2)}, torch::TensorOptions().dtype(torch::kFloat));
  for (const std::string how : {"generated", "projected", "derived"}) {
    torch::Tensor out = signals.clone();
    pipeline::set_limb_leads(out, how);
    for (std::int64_t r = 0; r < 3; ++r) {
      torch::Tensor expected = signals[r].clone();
      if (how == "projected")
        signal::project_limb_leads(expected.data_ptr<float>(), 12, expected.size(1));
      if (how == "derived")
        signal::derive_limb_leads(expected.data_ptr<float>(), 12, expected.size(1));
      EXPECT_TRUE(torch::equal(out[r], expected)) << how << " row " << r;
      const double residual = signal::limb_lead_residual(out[r].data_ptr<float>(), 12, out.size(2));
      if (how == "generated")
        EXPECT_GT(residual, 1e-3) << "the disturbance is there";
      else
        EXPECT_LT(residual, 1e-6) << how;
    }
  }
  torch::Tensor five = signals.slice(1, 0, 5).contiguous();
  EXPECT_TRUE(test::throws_input_error([&] { pipeline::set_limb_leads(five, "projected"); },
                                       {"sampling.limb_leads"}));
}

// The twin of OneReference's reference under its target from the noise of seed 7, in five
// DDIM steps under `sampler`'s other settings.
torch::Tensor five_step_twin(OneReference& one, diffusion::SamplerOptions sampler = {}) {
  sampler.steps(5);
  return one.model.generate(one.base, one.targets, sampler, one.model.initial_noise(7, 1))
      .contiguous();
}

// limb_leads in generate: every sample's limb leads are projected after it is decoded, so the
// twin is the twin of the same noise as decoded, projected.
TEST_F(PipelineTest, LimbLeadsAreSetOnEveryDecodedSample) {
  OneReference one(root(), *cache_);
  const torch::Tensor decoded = five_step_twin(one);
  for (const std::string how : {"projected", "derived"}) {
    diffusion::SamplerOptions options;
    options.limb_leads(how);
    const torch::Tensor twin = five_step_twin(one, options);
    torch::Tensor expected = decoded.clone();
    pipeline::set_limb_leads(expected, how);
    EXPECT_TRUE(torch::allclose(twin, expected, 1e-5, 1e-6)) << how;
    EXPECT_LT(signal::limb_lead_residual(twin.data_ptr<float>(), 12, twin.size(2)), 1e-6) << how;
  }
}

// sampling.bf16: on a CPU with bfloat16 instructions the denoiser samples in bfloat16 and the
// twin is the float32 one to bfloat16's precision; on other CPUs the key changes nothing.
TEST_F(PipelineTest, Bf16SamplingWhereTheCpuHasBf16Instructions) {
  OneReference one(root(), *cache_);
  const torch::Tensor fp32 = five_step_twin(one);
  diffusion::SamplerOptions options;
  options.bf16(true);
  const torch::Tensor bf16 = five_step_twin(one, options);
  ASSERT_EQ(bf16.scalar_type(), torch::kFloat);
  if (util::cpu_has_bf16()) {
    EXPECT_FALSE(torch::equal(bf16, fp32));
    const double scale = fp32.abs().max().item<double>();
    EXPECT_LT((bf16 - fp32).abs().max().item<double>(), 0.1 * scale);
  } else {
    EXPECT_TRUE(torch::equal(bf16, fp32));
  }
}

// rate_fit in generate: every candidate is brought to the twin's target rate and every
// rendering of the reference to the reference's rate (fit_rates) before the transfer and the
// choice, so the twin is the one computed by hand from the fitted samples. (The test's
// networks are trained for a few steps and their samples hold no regular beats, so here the
// fit may leave them as sampled; FitRates above checks the fitting itself.)
TEST_F(PipelineTest, RateFitBringsEverySampleToItsTargetRateBeforeTheChoice) {
  OneReference one(root(), *cache_);
  const std::int64_t k = 3;
  const auto noise = one.model.initial_noise(7, k);
  diffusion::SamplerOptions sampler;
  sampler.steps(5);
  ASSERT_TRUE(one.reference_beat);
  const double target = one.targets.demographics.heart_rate[0].item<double>();
  const double own = one.reference.reports.demographics.heart_rate[0].item<double>();
  auto candidates = sample_each(one, sampler, noise, k);
  const torch::Tensor& samples = candidates.samples;
  for (std::int64_t c = 0; c < k; ++c) {
    signal::fit_heart_rate(samples[c].data_ptr<float>(), 12, 1024, one.fs, target);
    signal::fit_heart_rate(candidates.renderings[c].data_ptr<float>(), 12, 1024, one.fs, own);
  }
  // Without a transfer: the medoid of the fitted candidates.
  auto options = sampler;
  options.candidates(k).rate_fit(true);
  std::vector<std::int64_t> chosen;
  auto twin = one.model.generate(one.base, one.targets, options, noise, nullptr, &chosen);
  const std::int64_t medoid =
      eval::template_medoid(samples.data_ptr<float>(), k, 12, 1024, one.fs, one.shift);
  EXPECT_EQ(chosen, std::vector<std::int64_t>{medoid});
  EXPECT_TRUE(torch::allclose(twin[0], samples[medoid], 1e-4, 1e-5));
  // With the transfer done on every fitted candidate against its fitted rendering.
  std::vector<bool> changed;
  ASSERT_NO_FATAL_FAILURE(
      transfer_each(candidates, *one.reference_beat, k, one.fs, one.shift, &changed));
  const std::int64_t transferred_medoid =
      eval::template_medoid(samples.data_ptr<float>(), k, 12, 1024, one.fs, one.shift);
  options.select("transferred").transfer("reference-residual");
  twin = one.model.generate(one.base, one.targets, options, noise, &one.reference, &chosen);
  EXPECT_EQ(chosen, std::vector<std::int64_t>{transferred_medoid});
  EXPECT_TRUE(torch::allclose(twin[0], samples[transferred_medoid], 1e-4, 1e-5));
}

// rate_candidates: the twin is the medoid of the candidates whose measured heart rate is
// nearest the target's, not of all of them.
TEST_F(PipelineTest, RateCandidatesChooseAmongTheCandidatesNearestTheTargetRate) {
  OneReference one(root(), *cache_);
  const std::int64_t k = 4, keep = 2;
  const auto noise = one.model.initial_noise(7, k);
  diffusion::SamplerOptions sampler;
  sampler.steps(5);
  const double target = one.targets.demographics.heart_rate[0].item<double>();
  ASSERT_TRUE(std::isfinite(target) && target > 0);
  const auto samples = sample_each(one, sampler, noise, k).samples;
  const auto kept =
      eval::rate_nearest(samples.data_ptr<float>(), k, 12, 1024, one.fs, target, keep);
  ASSERT_EQ(static_cast<std::int64_t>(kept.size()), keep);
  const auto subset = samples.index_select(0, torch::tensor(kept, torch::kLong)).contiguous();
  const std::int64_t expected = kept[static_cast<std::size_t>(
      eval::template_medoid(subset.data_ptr<float>(), keep, 12, 1024, one.fs, one.shift))];
  auto options = sampler;
  options.candidates(k).rate_candidates(keep);
  std::vector<std::int64_t> chosen;
  const auto twin = one.model.generate(one.base, one.targets, options, noise, nullptr, &chosen);
  EXPECT_EQ(chosen, std::vector<std::int64_t>{expected});
  EXPECT_TRUE(torch::allclose(twin[0], samples[expected], 1e-4, 1e-5));
  // Keeping every candidate is the plain medoid.
  options.rate_candidates(k);
  one.model.generate(one.base, one.targets, options, noise, nullptr, &chosen);
  const std::int64_t medoid =
      eval::template_medoid(samples.data_ptr<float>(), k, 12, 1024, one.fs, one.shift);
  EXPECT_EQ(chosen, std::vector<std::int64_t>{medoid});
  // mean-beat averages all the candidates: it takes no subset of them.
  options.rate_candidates(keep).select("mean-beat");
  EXPECT_TRUE(
      test::throws_input_error([&] { one.model.generate(one.base, one.targets, options, noise); },
                               {"sampling.rate_candidates"}))
      << "rate_candidates with select mean-beat";
}

// Personalisation fine-tunes the denoiser on the reference under its own conditions: its
// objective on that record falls, the twins change, the same seed gives the same weights,
// and restore_denoiser() gives back the loaded weights exactly.
TEST_F(PipelineTest, PersonalisationFitsTheReferenceAndIsUndone) {
  OneReference one(root(), *cache_);
  diffusion::SamplerOptions sampler;
  sampler.steps(5);
  auto objective = [&] { return one.objective(one.base); };
  const double before = objective();
  const auto twin_before = one.model.generate(one.base, one.targets, sampler, one.noise);
  pipeline::PersonaliseOptions personalise;
  personalise.steps = 30;
  personalise.lr = 1e-3;
  personalise.seed = 3;
  one.model.personalise(one.reference, personalise);
  const double after = objective();
  EXPECT_LT(after, 0.9 * before) << before << " -> " << after;
  const auto twin_after = one.model.generate(one.base, one.targets, sampler, one.noise);
  EXPECT_FALSE(torch::allclose(twin_after, twin_before));
  one.model.personalise(one.reference, personalise);  // from the loaded weights again
  EXPECT_TRUE(
      torch::equal(one.model.generate(one.base, one.targets, sampler, one.noise), twin_after));
  one.model.restore_denoiser();
  EXPECT_TRUE(
      torch::equal(one.model.generate(one.base, one.targets, sampler, one.noise), twin_before));
  EXPECT_DOUBLE_EQ(objective(), before);
}

// Fitting the base vector instead: the frozen denoiser explains the reference better under
// the fitted vector than under the extractor's, the denoiser is untouched, and the same seed
// gives the same vector. Fitting the denoiser only returns the extractor's vector; fitting
// both moves both.
TEST_F(PipelineTest, BaseVectorPersonalisationFitsTheVectorOnly) {
  OneReference one(root(), *cache_);
  diffusion::SamplerOptions sampler;
  sampler.steps(5);
  const auto twin_before = one.model.generate(one.base, one.targets, sampler, one.noise);
  pipeline::PersonaliseOptions personalise;
  personalise.steps = 30;
  personalise.fit = "base-vector";
  personalise.base_lr = 5e-2;
  personalise.seed = 3;
  const auto fitted = one.model.personalise(one.reference, personalise);
  ASSERT_EQ(fitted.sizes(), one.base.sizes());
  EXPECT_FALSE(fitted.requires_grad());
  EXPECT_FALSE(torch::allclose(fitted, one.base));
  // The test's networks have had a few steps of training, and their denoiser's base-vector
  // pathway (zero-initialised) hardly depends on the vector yet: the objective falls, by little.
  const double before = one.objective(one.base), after = one.objective(fitted);
  EXPECT_LT(after, before) << before << " -> " << after;
  EXPECT_TRUE(
      torch::equal(one.model.generate(one.base, one.targets, sampler, one.noise), twin_before));
  EXPECT_FALSE(
      torch::allclose(one.model.generate(fitted, one.targets, sampler, one.noise), twin_before));
  EXPECT_TRUE(torch::equal(one.model.personalise(one.reference, personalise), fitted));
  for (const auto& p : one.model.diffusion()->denoiser->parameters())
    EXPECT_TRUE(p.requires_grad());

  personalise.fit = "denoiser";
  EXPECT_TRUE(torch::equal(one.model.personalise(one.reference, personalise), one.base));
  personalise.fit = "both";
  const auto both = one.model.personalise(one.reference, personalise);
  EXPECT_FALSE(torch::allclose(both, one.base));
  EXPECT_FALSE(
      torch::allclose(one.model.generate(one.base, one.targets, sampler, one.noise), twin_before));
  one.model.restore_denoiser();
  EXPECT_TRUE(
      torch::equal(one.model.generate(one.base, one.targets, sampler, one.noise), twin_before));
}

TEST_F(PipelineTest, GenerateWritesEveryTwinAndSkipsBadReferences) {
  const auto references = root() / "references";
  std::filesystem::create_directories(references);
  auto record = data::load_record(root() / "cohort" / "records100" / "00000" / "00001_lr");
  data::save_record(record, references / "good.hea", data::RecordFormat::kWfdb);
  util::write_file_atomic(references / "bad.hea", "bad 12 100\n");

  pipeline::GenerateOptions o;
  o.model = root() / "model";
  o.references = pipeline::resolve_references(references);
  ASSERT_EQ(o.references.size(), 2u);
  o.targets = {pipeline::make_target("sinus rhythm|left bundle branch block", 75),
               pipeline::make_target("atrial fibrillation", 110)};
  o.samples = 2;
  o.sampler.steps(3);
  o.seed = 5;
  o.device = "cpu";
  o.out = root() / "twins";
  auto summary = pipeline::generate_twins(o);
  EXPECT_EQ(summary.twins, 4);
  ASSERT_EQ(summary.failures.size(), 1u);
  EXPECT_NE(summary.failures[0].first.find("bad.hea"), std::string::npos);
  auto json = nlohmann::json::parse(util::read_file(o.out / "summary.json"));
  ASSERT_EQ(json.at("references").size(), 1u);
  const auto& twins = json.at("references")[0].at("twins");
  ASSERT_EQ(twins.size(), 4u);
  for (const auto& twin : twins) {
    auto loaded = data::load_record(twin.at("wfdb").get<std::string>());
    EXPECT_EQ(loaded.leads(), 12);
    EXPECT_EQ(loaded.samples(), 1024);
    EXPECT_DOUBLE_EQ(loaded.sampling_rate, 102.4);
    EXPECT_TRUE(std::filesystem::exists(twin.at("npy").get<std::string>()));
    EXPECT_TRUE(std::filesystem::exists(twin.at("plot").get<std::string>()));
    EXPECT_TRUE(twin.contains("measured_hr"));
  }
  // Twin k of a (reference, target) is the same whatever else is generated with it (up to
  // float rounding: the batch it is sampled in differs).
  o.targets.resize(1);
  o.samples = 1;
  o.out = root() / "twins_again";
  pipeline::generate_twins(o);
  const auto first = json.at("references")[0].at("twins")[0].at("npy").get<std::string>();
  const auto again = root() / "twins_again" / std::filesystem::relative(first, root() / "twins");
  auto x = io::read_npy(first).to_float();
  auto y = io::read_npy(again).to_float();
  ASSERT_EQ(x.size(), y.size());
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, double(std::abs(x[i] - y[i])));
  EXPECT_LT(worst, 1e-3);
}

TEST_F(PipelineTest, GenerateRefusesWhenNoReferenceCanBeRead) {
  util::write_file_atomic(root() / "only_bad.hea", "only_bad 12 100\n");
  pipeline::GenerateOptions o;
  o.model = root() / "model";
  o.references = {root() / "only_bad.hea"};
  o.targets = {pipeline::make_target("sinus rhythm", 70)};
  o.sampler.steps(2);
  o.out = root() / "nothing";
  EXPECT_THROW(pipeline::generate_twins(o), InputError);
  EXPECT_FALSE(std::filesystem::exists(o.out)) << "a failed run leaves nothing behind";
  EXPECT_THROW(pipeline::make_target("", 70), InputError);
  EXPECT_THROW(pipeline::make_target("sinus rhythm", 400), InputError);
}

TEST_F(PipelineTest, EvaluateWritesEveryMetricWithTheGroundTruth) {
  pipeline::EvaluateOptions o;
  o.model = root() / "model";
  o.data = root() / "cache";
  o.ground_truth = root() / "cohort";
  o.sampler.steps(3);
  o.device = "cpu";
  o.example_plots = 1;
  o.out = root() / "evaluation";
  auto m = pipeline::evaluate_twins(o);
  for (const char* key : {"hr_mae_bpm", "identification_top1", "fid", "fid_real_baseline", "precision", "recall",
                          "clip_score", "ground_truth_win_rate"})
    EXPECT_TRUE(m.contains(key)) << key;
  EXPECT_EQ(m.at("pairs").get<std::int64_t>(), static_cast<std::int64_t>(cache_->pairs(data::Split::kTest).size()));
  EXPECT_GE(m.at("identification_top1").get<double>(), 0.0);
  EXPECT_LE(m.at("identification_top1").get<double>(), 1.0);
  // The simulated records carry their rate: the real targets' measured rate is near it.
  ASSERT_TRUE(m.at("hr_mae_bpm_real").is_number()) << m.at("hr_mae_bpm_real");
  EXPECT_GE(m.at("hr_mae_bpm_real").get<double>(), 0.0);
  EXPECT_LT(m.at("hr_mae_bpm_real").get<double>(), 5.0);
  // The simulated records keep the limb-lead relations up to their storage's rounding; the
  // twins' is a number too.
  ASSERT_TRUE(m.at("limb_lead_residual_mv_real").is_number());
  EXPECT_LT(m.at("limb_lead_residual_mv_real").get<double>(), 1e-3);
  ASSERT_TRUE(m.at("limb_lead_residual_mv").is_number());
  EXPECT_GE(m.at("limb_lead_residual_mv").get<double>(), 0.0);
  EXPECT_TRUE(std::filesystem::exists(o.out / "metrics.json"));
  EXPECT_TRUE(std::filesystem::exists(o.out / "report.md"));
  EXPECT_TRUE(std::filesystem::exists(o.out / "images" / "heart_rate.png"));
  EXPECT_TRUE(std::filesystem::exists(o.out / "images" / "pair0_ground_truth.png"));

  // pairs.jsonl: one line per pair, whose ground-truth rows add up to the metrics.
  std::ifstream lines(o.out / "pairs.jsonl");
  std::string line;
  std::int64_t rows = 0, compared = 0, wins = 0;
  double ideal_wins = 0;
  std::map<std::string, std::int64_t> statement_pairs;
  while (std::getline(lines, line)) {
    auto row = nlohmann::json::parse(line);
    EXPECT_EQ(row.at("pair").get<std::int64_t>(), rows);
    ++rows;
    for (const auto& s : row.at("statements")) ++statement_pairs[s.get<std::string>()];
    const auto& ideal = row.at("ground_truth").at("ideal_twin");
    const double ideal_share = ideal.at("wins").get<double>();
    const double draws = ideal.at("donors").get<double>();
    EXPECT_DOUBLE_EQ(ideal_share * draws, std::round(ideal_share * draws))
        << "a share of " << draws << " draws";
    ideal_wins += ideal_share;
    const auto& twin = row.at("ground_truth").at("twin");
    if (twin.is_null()) continue;
    ++compared;
    EXPECT_EQ(twin.at("wins").get<bool>(), twin.at("own_mv").get<double>() < twin.at("nearest_other_mv").get<double>());
    EXPECT_NE(twin.at("nearest_other_patient").get<std::string>(), row.at("patient").get<std::string>());
    wins += twin.at("wins").get<bool>();
  }
  EXPECT_EQ(rows, m.at("pairs").get<std::int64_t>());
  EXPECT_EQ(compared, m.at("ground_truth_compared").get<std::int64_t>());
  EXPECT_DOUBLE_EQ(double(wins) / double(compared), m.at("ground_truth_win_rate").get<double>());
  const eval::Interval interval = eval::wilson_interval(wins, compared);
  ASSERT_EQ(m.at("ground_truth_win_rate_ci95").size(), 2u);
  EXPECT_DOUBLE_EQ(m.at("ground_truth_win_rate_ci95")[0].get<double>(), interval.lower);
  EXPECT_DOUBLE_EQ(m.at("ground_truth_win_rate_ci95")[1].get<double>(), interval.upper);
  EXPECT_LE(interval.lower, m.at("ground_truth_win_rate").get<double>());
  EXPECT_GE(interval.upper, m.at("ground_truth_win_rate").get<double>());
  EXPECT_NEAR(ideal_wins / double(rows), m.at("ground_truth_win_rate_ideal_twin").get<double>(),
              1e-12);
  EXPECT_LE(m.at("ground_truth_win_rate_ideal_twin").get<double>(), 1.0);
  const auto& by = m.at("ground_truth_win_rate_by_statement");
  EXPECT_EQ(by.size(), statement_pairs.size());
  for (const auto& [statement, count] : statement_pairs) EXPECT_EQ(by.at(statement).at("pairs").get<std::int64_t>(), count);

  o.template_shift_ms = -1;
  o.out = root() / "evaluation_bad_shift";
  EXPECT_THROW(pipeline::evaluate_twins(o), InputError);
  EXPECT_FALSE(std::filesystem::exists(o.out)) << "a refused evaluation leaves nothing behind";
  o.template_shift_ms = 20;
  o.base_from = "other";
  o.out = root() / "evaluation_bad_base";
  EXPECT_THROW(pipeline::evaluate_twins(o), InputError);
  EXPECT_FALSE(std::filesystem::exists(o.out));
}

// With transfer "reference-residual", metrics.json gives the share of twins the reference's
// difference reached and pairs.jsonl says it for each pair; without it neither key is written.
TEST_F(PipelineTest, EvaluateReportsWhichTwinsTheTransferReached) {
  pipeline::EvaluateOptions o;
  o.model = root() / "model";
  o.data = root() / "cache";
  o.sampler.steps(2).transfer("reference-residual");
  o.device = "cpu";
  o.example_plots = 0;
  o.out = root() / "evaluation_transfer";
  pipeline::evaluate_twins(o);
  std::ifstream metrics_file(o.out / "metrics.json");
  const auto metrics = nlohmann::json::parse(metrics_file);
  EXPECT_EQ(metrics.at("sampler").at("transfer"), "reference-residual");
  std::ifstream lines(o.out / "pairs.jsonl");
  std::string line;
  std::int64_t pairs = 0, reached = 0;
  while (std::getline(lines, line)) {
    ++pairs;
    reached += nlohmann::json::parse(line).at("transferred").get<bool>();
  }
  ASSERT_GT(pairs, 0);
  EXPECT_DOUBLE_EQ(metrics.at("transfer_applied").get<double>(), double(reached) / double(pairs));
  o.sampler.transfer("none");
  o.out = root() / "evaluation_no_transfer";
  pipeline::evaluate_twins(o);
  std::ifstream plain_file(o.out / "metrics.json");
  EXPECT_FALSE(nlohmann::json::parse(plain_file).contains("transfer_applied"));
}

// The ideal twin under a target without individual traits (sinus rhythm and its rates, low
// QRS voltage, inverted T waves) is the person's ground truth itself, so it always wins; under
// the other targets it wins as often as the donors' traits happen to resemble the person's
// closely enough (among the few persons here, nearly always).
TEST_F(PipelineTest, TheIdealTwinOfATargetWithoutTraitsIsItsGroundTruth) {
  pipeline::EvaluateOptions o;
  o.model = root() / "model";
  o.data = root() / "cache";
  o.ground_truth = root() / "cohort";
  o.split = "train";
  o.sampler.steps(2);
  o.device = "cpu";
  o.example_plots = 0;
  o.out = root() / "evaluation_train";
  pipeline::evaluate_twins(o);
  std::ifstream lines(o.out / "pairs.jsonl");
  std::string line;
  std::int64_t traitless = 0, with_traits = 0;
  double traits_wins = 0;
  while (std::getline(lines, line)) {
    auto row = nlohmann::json::parse(line);
    std::string joined;
    for (const auto& s : row.at("statements"))
      joined += (joined.empty() ? "" : "|") + s.get<std::string>();
    const auto target = signal::parse_condition(joined);
    const bool has_traits =
        target.rhythm == signal::Rhythm::kAtrialFibrillation ||
        target.rhythm == signal::Rhythm::kAtrialFlutter ||
        std::any_of(target.findings.begin(), target.findings.end(), [](signal::Finding f) {
          return f != signal::Finding::kLowVoltage && f != signal::Finding::kTInversion;
        });
    const double ideal = row.at("ground_truth").at("ideal_twin").at("wins").get<double>();
    if (has_traits) {
      ++with_traits;
      traits_wins += ideal;
    } else {
      EXPECT_EQ(ideal, 1.0) << joined;
      ++traitless;
    }
  }
  EXPECT_GT(traitless, 0) << "the training pairs should hold targets without individual traits";
  EXPECT_GT(with_traits, 0) << "the training pairs should hold targets with individual traits";
  EXPECT_LE(traits_wins, double(with_traits));
}

TEST_F(PipelineTest, DiagnoseScoresEveryPatientAndIsSeeded) {
  pipeline::DiagnoseOptions o;
  o.model = root() / "model";
  o.data = root() / "cache";
  o.conditions = 2;
  o.twins_per_condition = 2;
  o.finetune_steps = 2;
  o.finetune_batch = 4;
  o.sampler.steps(2);
  o.device = "cpu";
  o.out = root() / "diagnosis_a";
  auto a = pipeline::diagnose(o);
  for (const char* key : {"accuracy_without_twins", "macro_f1_without_twins", "accuracy_with_twins",
                          "macro_f1_with_twins", "accuracy_reference_only", "macro_f1_reference_only"}) {
    ASSERT_TRUE(a.contains(key)) << key;
    EXPECT_GE(a.at(key).get<double>(), 0.0) << key;
    EXPECT_LE(a.at(key).get<double>(), 1.0) << key;
  }
  // Every test patient has 3 records: one reference and two held out.
  const auto patients = a.at("patients").get<std::int64_t>();
  EXPECT_GT(patients, 0);
  EXPECT_EQ(a.at("held_out_records").get<std::int64_t>(), 2 * patients);
  EXPECT_EQ(a.at("per_patient").size(), static_cast<std::size_t>(patients));
  EXPECT_EQ(a.at("twins").get<std::int64_t>(), patients * 2 * std::int64_t(a.at("conditions").size()));
  EXPECT_TRUE(std::filesystem::exists(o.out / "diagnosis.json"));
  EXPECT_TRUE(std::filesystem::exists(o.out / "diagnosis.md"));
  o.out = root() / "diagnosis_b";
  EXPECT_EQ(pipeline::diagnose(o).dump(), a.dump());

  o.split = "train";
  o.out = root() / "diagnosis_bad";
  EXPECT_THROW(pipeline::diagnose(o), InputError);
  o.split = "test";
  test::TempDir empty;
  o.model = empty.path();
  EXPECT_THROW(pipeline::diagnose(o), InputError);
  EXPECT_FALSE(std::filesystem::exists(o.out));
}

TEST_F(PipelineTest, UnknownTrainKeysAndMissingStagesAreRefused) {
  nlohmann::json bad = *config_;
  bad["train"]["diffusion"]["stepz"] = 3;
  EXPECT_THROW(train::read_stage_config(bad, "diffusion"), InputError);
  // train.<stage>.prefetch: -1 (2 on CUDA, 0 on the CPU) unless set; below -1 is refused by key.
  EXPECT_EQ(train::read_stage_config(*config_, "extractor").options.prefetch, -1);
  nlohmann::json ahead = *config_;
  ahead["train"]["extractor"]["prefetch"] = 3;
  EXPECT_EQ(train::read_stage_config(ahead, "extractor").options.prefetch, 3);
  ahead["train"]["extractor"]["prefetch"] = -5;
  EXPECT_TRUE(test::throws_input_error([&] { train::read_stage_config(ahead, "extractor"); },
                                       {"train.extractor.prefetch"}))
      << "prefetch -5";
  // train.diffusion.bf16_cpu (off unless set); the other stages have no such key.
  EXPECT_FALSE(train::read_stage_config(*config_, "diffusion").options.bf16_cpu);
  nlohmann::json bf16 = *config_;
  bf16["train"]["diffusion"]["bf16_cpu"] = true;
  EXPECT_TRUE(train::read_stage_config(bf16, "diffusion").options.bf16_cpu);
  bf16["train"]["autoencoder"]["bf16_cpu"] = true;
  EXPECT_TRUE(test::throws_input_error([&] { train::read_stage_config(bf16, "autoencoder"); },
                                       {"train.autoencoder.bf16_cpu"}));
  test::TempDir empty;
  EXPECT_THROW(train::train_diffusion(*cache_, *config_, empty.path()), InputError);
  EXPECT_THROW(pipeline::TwinModel::load(empty.path(), torch::kCPU), InputError);
  // A balance strength outside [0, 1] is refused before anything is written.
  test::TempDir dir;
  copy_earlier_stages(dir.path());
  nlohmann::json balance = *config_;
  balance["train"]["diffusion"]["rate_balance"] = 2;
  EXPECT_THROW(train::train_diffusion(*cache_, balance, dir.path()), InputError);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "diffusion_config.yaml"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "diffusion.pt"));
  // train.diffusion.rate_augment (copies, 0 .. 64), rate_augment_range (0 .. 1) and
  // rate_augment_warp (uniform or fridericia).
  const train::StageConfig plain = train::read_stage_config(*config_, "diffusion");
  EXPECT_EQ(plain.rate_augment, 0);
  EXPECT_EQ(plain.rate_augment_range, 0.2);
  EXPECT_EQ(plain.rate_augment_warp, "uniform");
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, nlohmann::json>>{{"rate_augment", -1},
                                                           {"rate_augment", 65},
                                                           {"rate_augment_range", 1.5},
                                                           {"rate_augment_warp", "qt"}}) {
    nlohmann::json augment = *config_;
    augment["train"]["diffusion"][key] = value;
    EXPECT_TRUE(test::throws_input_error([&] { train::read_stage_config(augment, "diffusion"); },
                                         {"train.diffusion." + key}))
        << key << " " << value;
  }
}

}  // namespace
}  // namespace ecgtwin

namespace ecgtwin {
namespace {

// Seeded and deterministic on CPU: the same config trains the same weights, bit for bit.
TEST_F(PipelineTest, DiffusionTrainingIsDeterministic) {
  // The denoiser's weights after 3 steps with the train.diffusion keys of `settings` set.
  const auto train_three_steps = [&](const nlohmann::json& settings) {
    test::TempDir dir;
    copy_earlier_stages(dir.path());
    nlohmann::json config = *config_;
    config["train"]["diffusion"]["steps"] = 3;
    for (const auto& [key, value] : settings.items()) config["train"]["diffusion"][key] = value;
    train::train_diffusion(*cache_, config, dir.path());
    return train::load_diffusion(dir.path() / "diffusion.pt", torch::kCPU)
        .network->named_parameters(true);
  };
  const auto equal = [](const torch::OrderedDict<std::string, torch::Tensor>& x,
                        const torch::OrderedDict<std::string, torch::Tensor>& y) {
    for (const auto& item : x)
      if (!torch::equal(item.value(), y[item.key()])) return false;
    return true;
  };
  const auto a = train_three_steps(nlohmann::json::object());
  EXPECT_TRUE(equal(a, train_three_steps(nlohmann::json::object())))
      << "two identical runs must train the same weights";
  // train.diffusion.rate_balance draws the records in another order: other weights.
  EXPECT_FALSE(equal(a, train_three_steps({{"rate_balance", 1.0}})))
      << "the balanced order must change what the denoiser is trained on";
  // train.diffusion.rate_augment adds time-scaled copies: deterministic, and other weights;
  // with rate_augment_warp fridericia the copies' beats are warped instead: other weights again.
  const auto augmented = train_three_steps({{"rate_augment", 2}});
  EXPECT_TRUE(equal(augmented, train_three_steps({{"rate_augment", 2}})))
      << "two identical augmented runs must train the same weights";
  EXPECT_FALSE(equal(a, augmented))
      << "the time-scaled copies must change what the denoiser is trained on";
  const nlohmann::json warp = {{"rate_augment", 2}, {"rate_augment_warp", "fridericia"}};
  const auto warped = train_three_steps(warp);
  EXPECT_TRUE(equal(warped, train_three_steps(warp)))
      << "two identical runs with warped copies must train the same weights";
  EXPECT_FALSE(equal(augmented, warped))
      << "the warped copies must differ from the time-scaled ones";
}

// train.<stage>.prefetch: each stage's shards prepared ahead on a background thread give the
// weights of shards prepared in turn, bit for bit, with the extractor's augmented views, the
// denoiser's condition dropout and its reference tokens.
TEST_F(PipelineTest, EveryStageTrainsTheSameWeightsWithItsShardsPreparedAhead) {
  const auto weights_of = [](const std::filesystem::path& folder, const std::string& stage) {
    const auto file = folder / (stage + ".pt");
    torch::OrderedDict<std::string, torch::Tensor> parameters;
    if (stage == "autoencoder")
      parameters = train::load_autoencoder(file, torch::kCPU).network->named_parameters(true);
    if (stage == "extractor")
      parameters = train::load_extractor(file, torch::kCPU).network->named_parameters(true);
    if (stage == "diffusion")
      parameters = train::load_diffusion(file, torch::kCPU).network->named_parameters(true);
    if (stage == "evaluator")
      parameters = train::load_evaluator(file, torch::kCPU).network->named_parameters(true);
    if (stage == "classifier")
      parameters = train::load_classifier(file, torch::kCPU).network->named_parameters(true);
    return parameters;
  };
  std::vector<std::unique_ptr<test::TempDir>> runs;
  for (int depth : {0, 2}) {
    runs.push_back(std::make_unique<test::TempDir>());
    const auto folder = runs.back()->path();
    nlohmann::json config = *config_;
    config["train"]["extractor"]["augment"] = "all";
    config["diffusion"]["guidance"] = true;
    config["model"]["reference"] = {{"tokens", true}, {"patch_size", 4}};
    for (const char* stage : {"autoencoder", "extractor", "diffusion", "evaluator", "classifier"})
      config["train"][stage]["prefetch"] = depth;
    train::train_autoencoder(*cache_, config, folder);
    train::train_extractor(*cache_, config, folder);
    train::train_diffusion(*cache_, config, folder);
    train::train_evaluator(*cache_, config, folder);
    train::train_classifier(*cache_, config, folder);
  }
  for (const std::string stage :
       {"autoencoder", "extractor", "diffusion", "evaluator", "classifier"}) {
    const auto in_turn = weights_of(runs[0]->path(), stage);
    auto ahead = weights_of(runs[1]->path(), stage);
    ASSERT_GT(in_turn.size(), 0u) << stage;
    for (const auto& item : in_turn)
      EXPECT_TRUE(torch::equal(item.value(), ahead[item.key()])) << stage << ": " << item.key();
  }
}

// model.reference.tokens: the denoiser reads the reference's latent as tokens after the
// statement slots. With the same base vector, conditions and noise, another reference gives
// another twin; a twin without its reference is refused; personalisation reads it too.
TEST_F(PipelineTest, ReferenceTokensCarryTheReferenceRecordToTheDenoiser) {
  test::TempDir dir;
  copy_earlier_stages(dir.path());
  nlohmann::json config = *config_;
  config["model"]["reference"] = {{"tokens", true}, {"patch_size", 4}};
  train::train_diffusion(*cache_, config, dir.path());
  auto twin_model = pipeline::TwinModel::load(dir.path(), torch::kCPU);
  auto& stage = twin_model.diffusion();
  ASSERT_TRUE(stage->reads_reference());

  auto signals = train::cache_signals(*cache_, {0, 5});
  auto base = twin_model.base_vectors(signals.slice(0, 0, 1), train::cache_reports(*cache_, {0}));
  auto targets = pipeline::make_reports(
      {{{"sinus rhythm", "left bundle branch block"}, 70, 50.0, data::Sex::kFemale}});
  // Statement slots (6, the first two real), then 128 / 4 = 32 reference tokens.
  auto conditions =
      stage->conditions(base, targets, twin_model.reference_context(signals.slice(0, 0, 1)));
  ASSERT_EQ(conditions.statement_tokens.sizes(), (std::vector<std::int64_t>{1, 6 + 32, 32}));
  const auto mask = conditions.token_mask[0];
  EXPECT_EQ(mask.slice(0, 0, 6).sum().item<std::int64_t>(), 2);
  EXPECT_TRUE(mask.slice(0, 6).all().item<bool>());
  EXPECT_THROW(stage->conditions(base, targets), InputError);

  diffusion::SamplerOptions sampler;
  sampler.steps(5);
  const auto noise = twin_model.initial_noise(7).unsqueeze(0);
  const auto twin_of = [&](std::int64_t row) {
    pipeline::ReferenceStart reference{signals.slice(0, row, row + 1), base,
                                       train::cache_reports(*cache_, {0})};
    return twin_model.generate(base, targets, sampler, noise, &reference);
  };
  const auto a = twin_of(0);
  EXPECT_TRUE(torch::equal(a, twin_of(0)));
  EXPECT_FALSE(torch::equal(a, twin_of(1))) << "the reference tokens must reach the denoiser";
  EXPECT_THROW(twin_model.generate(base, targets, sampler, noise), InputError);

  pipeline::ReferenceStart reference{signals.slice(0, 0, 1), base,
                                     train::cache_reports(*cache_, {0})};
  pipeline::PersonaliseOptions personalise;
  personalise.steps = 2;
  personalise.fit = "base-vector";
  const auto fitted = twin_model.personalise(reference, personalise);
  EXPECT_EQ(fitted.sizes(), base.sizes());
  EXPECT_FALSE(torch::equal(fitted, base));

  nlohmann::json bad = config;
  bad["model"]["reference"]["patch_size"] = 3;  // 128 is not a multiple of 3
  test::TempDir other;
  copy_earlier_stages(other.path());
  EXPECT_THROW(train::train_diffusion(*cache_, bad, other.path()), InputError);
}

TEST_F(PipelineTest, GuidanceSamplesAgainstTheConditionsTrainingDropped) {
  auto signals = train::cache_signals(*cache_, {0});
  auto reports = train::cache_reports(*cache_, {0});
  auto targets = pipeline::make_reports(
      {{{"sinus rhythm", "left bundle branch block"}, 70, 50.0, data::Sex::kFemale}});
  diffusion::SamplerOptions sampler;
  sampler.steps(5);
  diffusion::SamplerOptions guided = sampler;
  guided.guidance_scale(2.0);

  // Without condition dropout the null condition was never learned: guidance is refused.
  auto plain_model = pipeline::TwinModel::load(root() / "model", torch::kCPU);
  const auto plain_base = plain_model.base_vectors(signals, reports);
  EXPECT_FALSE(plain_model.trained_for_guidance());
  EXPECT_TRUE(test::throws_input_error(
      [&] {
        plain_model.generate(plain_base, targets, guided,
                             plain_model.initial_noise(7).unsqueeze(0));
      },
      {"sampling.guidance_scale", "diffusion.guidance=true"}));

  for (double base_dropout : {0.0, 0.5}) {
    SCOPED_TRACE("base vector dropout " + std::to_string(base_dropout));
    test::TempDir dir;
    auto model = train_guided(base_dropout, dir.path());
    EXPECT_TRUE(model.trained_for_guidance());
    EXPECT_EQ(model.samples_without_person(), base_dropout > 0);
    const auto base = model.base_vectors(signals, reports);
    const auto noise = model.initial_noise(7).unsqueeze(0);
    // At guidance 0 the guided epsilon is the unconditional one alone, so the twin is what the
    // unguided sampler gives under the conditions training put in the dropped rows' place
    // (diffusion::apply_condition_drop): the null statements, and the base vector kept unless
    // training dropped it too.
    diffusion::SamplerOptions unconditional_only = sampler;
    unconditional_only.guidance_scale(0.0);
    const auto twin = model.generate(base, targets, unconditional_only, noise);
    auto& stage = model.diffusion();
    const auto dropped_as_in_training = [&](bool drop_base) {
      const auto flags = torch::TensorOptions().dtype(torch::kBool);
      diffusion::ConditionDrop drop{torch::ones({1}, flags), torch::full({1}, drop_base, flags)};
      auto conditions = diffusion::apply_condition_drop(stage->conditions(base, targets), drop,
                                                        stage->null_conditions());
      diffusion::SamplerOptions o = sampler;
      o.initial_noise(noise);
      return model.decode(
          diffusion::sample(*stage->denoiser, model.schedule(), noise.sizes(), conditions, o));
    };
    EXPECT_TRUE(torch::allclose(twin, dropped_as_in_training(base_dropout > 0), 0.0, 1e-6));
    EXPECT_FALSE(torch::allclose(twin, dropped_as_in_training(base_dropout == 0), 0.0, 1e-4))
        << "the base vector must be kept or dropped as training did";
    // (A few training steps leave the statements' zero-initialised cross-attention output
    // small, so the unguided twin differs from this one in the low bits only.)
    EXPECT_FALSE(torch::equal(twin, model.generate(base, targets, sampler, noise)))
        << "guidance must change the twin";
  }
}

TEST_F(PipelineTest, WithoutAReferenceGenerateSamplesNoParticularPerson) {
  test::TempDir dir;
  auto model = train_guided(0.5, dir.path());
  pipeline::GenerateOptions o;
  o.model = dir.path();
  o.targets = {pipeline::make_target("sinus rhythm|left bundle branch block", 75)};
  o.targets[0].age = 60;
  o.targets[0].sex = data::Sex::kMale;
  o.samples = 2;
  o.sampler.steps(3);
  o.seed = 5;
  o.device = "cpu";
  o.out = dir / "population";
  auto summary = pipeline::generate_twins(o);
  EXPECT_EQ(summary.twins, 2);
  auto json = nlohmann::json::parse(util::read_file(o.out / "summary.json"));
  EXPECT_TRUE(json.at("references").empty());
  const auto& ecgs = json.at("population").at("ecgs");
  ASSERT_EQ(ecgs.size(), 2u);
  for (const auto& ecg : ecgs) {
    const auto wfdb = std::filesystem::path(ecg.at("wfdb").get<std::string>());
    EXPECT_EQ(wfdb.parent_path(), o.out / "population" / o.targets[0].name);
    auto loaded = data::load_record(wfdb);
    EXPECT_EQ(loaded.leads(), 12);
    EXPECT_TRUE(std::filesystem::exists(ecg.at("plot").get<std::string>()));
    EXPECT_TRUE(ecg.contains("measured_hr"));
    // The recorded seed gives the ECG again: the null base vector, the target's conditions.
    auto again = model.generate(
        model.null_base_vectors(1, "test"),
        pipeline::make_reports({{o.targets[0].statements, 75, 60.0, data::Sex::kMale}}), o.sampler,
        model.initial_noise(ecg.at("seed").get<std::uint64_t>()).unsqueeze(0));
    auto x = io::read_npy(ecg.at("npy").get<std::string>()).to_float();
    ASSERT_EQ(x.size(), static_cast<std::size_t>(again.numel()));
    auto expected = again.contiguous();
    double worst = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
      worst = std::max(worst, double(std::abs(x[i] - expected.data_ptr<float>()[i])));
    EXPECT_LT(worst, 1e-3) << "up to float rounding: the ECGs were sampled two at a time";
  }

  // A model that never sampled without a person is refused, and nothing is left behind.
  o.model = root() / "model";
  o.out = dir / "refused";
  EXPECT_TRUE(test::throws_input_error([&] { pipeline::generate_twins(o); },
                                       {"--reference", "diffusion.dropout.base_vector"}));
  EXPECT_FALSE(std::filesystem::exists(o.out));
  o.model = dir.path();
  o.personalise.steps = 2;
  EXPECT_TRUE(
      test::throws_input_error([&] { pipeline::generate_twins(o); }, {"--personalise-steps"}));
  EXPECT_FALSE(std::filesystem::exists(o.out));
}

TEST_F(PipelineTest, EvaluateConditionsOnNoPersonWithBaseFromNone) {
  test::TempDir dir;
  train_guided(0.5, dir.path());
  pipeline::EvaluateOptions o;
  o.model = dir.path();
  o.data = root() / "cache";
  o.sampler.steps(3);
  o.device = "cpu";
  o.base_from = "none";
  o.out = dir / "evaluation";
  auto m = pipeline::evaluate_twins(o);
  EXPECT_EQ(m.at("base_from"), "none");
  EXPECT_TRUE(m.contains("identification_top1"));
  o.model = root() / "model";
  o.out = dir / "refused";
  EXPECT_TRUE(test::throws_input_error([&] { pipeline::evaluate_twins(o); },
                                       {"--base-from", "diffusion.dropout.base_vector"}));
  EXPECT_FALSE(std::filesystem::exists(o.out));
}

}  // namespace
}  // namespace ecgtwin

namespace ecgtwin {
namespace {

TEST_F(PipelineTest, EditWritesBothTwinsAndTheirAttentionMaps) {
  const auto reference = root() / "cohort" / "records100" / "00000" / "00001_lr";
  pipeline::EditTwinOptions o;
  o.model = root() / "model";
  o.reference = reference;
  o.source = pipeline::make_target("sinus rhythm", 70);
  o.changed = {"sinus tachycardia"};
  o.sampler.steps(4);
  o.seed = 3;
  o.device = "cpu";
  o.out = root() / "edit";
  auto json = pipeline::edit_twin(o);
  EXPECT_EQ(json.at("edited").at("statements"), nlohmann::json({"sinus tachycardia"}));
  for (const char* file : {"source.hea", "source.npy", "edited.hea", "edited.npy", "edit.png", "maps_source.png",
                           "maps_edited.png", "edit.json"})
    EXPECT_TRUE(std::filesystem::exists(o.out / file)) << file;
  // The same statements on both sides: the edit reproduces the source bit for bit.
  o.changed = {"sinus rhythm"};
  o.out = root() / "edit_same";
  pipeline::edit_twin(o);
  EXPECT_EQ(util::read_file(o.out / "source.npy"), util::read_file(o.out / "edited.npy"));
  o.changed = {"sinus rhythm", "left bundle branch block"};
  o.out = root() / "edit_bad";
  EXPECT_THROW(pipeline::edit_twin(o), InputError) << "swap needs at most as many statements as the source";
  EXPECT_FALSE(std::filesystem::exists(o.out));
}

}  // namespace
}  // namespace ecgtwin
