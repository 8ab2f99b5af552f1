// One trainer per stage: each is a TrainingTask over the cache's training split, run by the
// one training loop.
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cmath>
#include <map>

#include "ecgtwin/config/tree.hpp"
#include "ecgtwin/model/device.hpp"
#include "ecgtwin/signal/rate_fit.hpp"
#include "ecgtwin/train/checkpoint.hpp"
#include "ecgtwin/train/distributed.hpp"
#include "ecgtwin/train/stages.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/random.hpp"

namespace ecgtwin::train {

namespace {

torch::Device device_of(torch::nn::Module& module) { return module.parameters().front().device(); }

std::vector<std::int64_t> pick(const std::vector<std::int64_t>& table, const std::vector<std::int64_t>& indices) {
  std::vector<std::int64_t> out;
  out.reserve(indices.size());
  for (std::int64_t i : indices) out.push_back(table.at(static_cast<std::size_t>(i)));
  return out;
}

std::vector<std::vector<std::string>> reports_of(const data::Cache& cache, const std::vector<std::int64_t>& rows) {
  std::vector<std::vector<std::string>> out;
  for (std::int64_t r : rows) out.push_back(cache.entries().at(static_cast<std::size_t>(r)).statements);
  return out;
}

std::vector<std::int64_t> training_rows(const data::Cache& cache) {
  auto rows = split_rows(cache, data::Split::kTrain);
  if (rows.empty()) throw InputError("training data", "the cache has no record in its training split");
  return rows;
}

// Train rows grouped by patient, in first-seen order.
std::vector<std::vector<std::int64_t>> rows_by_patient(const data::Cache& cache, const std::vector<std::int64_t>& rows) {
  std::map<std::string, std::size_t> slot;
  std::vector<std::vector<std::int64_t>> out;
  for (std::int64_t r : rows) {
    const auto& id = cache.entries().at(static_cast<std::size_t>(r)).patient_id;
    auto it = slot.find(id);
    if (it == slot.end()) {
      slot[id] = out.size();
      out.push_back({r});
    } else {
      out[it->second].push_back(r);
    }
  }
  return out;
}

// The initial weights come from the stage's seed, not from whatever the global generator
// holds, so that a run is a function of its config.
void seed_initialisation(const TrainOptions& options, const std::string& stage) {
  torch::manual_seed(util::derive_seed(options.seed, "init " + stage));
}

void write_stage_config(const nlohmann::json& config, const fs::path& out, const std::string& stage) {
  if (!DistributedContext::from_environment().is_main()) return;  // rank 0 writes
  fs::create_directories(out);
  config::write_file(config, out / (stage + "_config.yaml"));
}

// ---- autoencoder -------------------------------------------------------------------------

class AutoencoderTask : public TrainingTask {
 public:
  AutoencoderTask(const data::Cache& cache, const TwinConfig& config, double kl_weight, std::int64_t kl_warmup)
      : cache_(cache), rows_(training_rows(cache)), net_(config.model.autoencoder), kl_weight_(kl_weight),
        kl_warmup_(kl_warmup) {}
  std::string stage() const override { return "autoencoder"; }
  torch::nn::Module& model() override { return *net_; }
  std::int64_t dataset_size() const override { return static_cast<std::int64_t>(rows_.size()); }
  void prepare(HostBatch& batch, at::Generator& generator) override {
    batch.tensors["x"] = cache_signals(cache_, pick(rows_, batch.indices));
    const auto& o = net_->options();
    batch.tensors["noise"] = torch::randn(
        {static_cast<std::int64_t>(batch.indices.size()), o.latent_channels(), o.latent_length()},
        generator, torch::kFloat);
  }
  torch::Tensor loss(const HostBatch& batch,
                     std::map<std::string, torch::Tensor>& metrics) override {
    const auto& x = batch.tensors.at("x");
    auto out = net_->forward_with(x, batch.tensors.at("noise"));
    const double warm =
        kl_warmup_ > 0 ? std::min(1.0, double(batch.step + 1) / double(kl_warmup_)) : 1.0;
    auto l = model::autoencoder_loss(out.reconstruction, x, out.posterior, kl_weight_ * warm);
    metrics["reconstruction"] = l.reconstruction.detach();
    metrics["kl"] = l.kl.detach();
    return l.total;
  }

 private:
  const data::Cache& cache_;
  std::vector<std::int64_t> rows_;
  model::Autoencoder net_;
  double kl_weight_;
  std::int64_t kl_warmup_;
};

// ---- extractor ---------------------------------------------------------------------------

class ExtractorTask : public TrainingTask {
 public:
  ExtractorTask(const data::Cache& cache, const TwinConfig& config, model::Autoencoder autoencoder,
                std::string augment, std::int64_t encode_batch)
      : cache_(cache), autoencoder_(std::move(autoencoder)), augment_(std::move(augment)) {
    auto rows = training_rows(cache);
    for (auto& group : rows_by_patient(cache, rows))
      if (group.size() >= 2 || augment_ != "none") patients_.push_back(group);
    if (patients_.size() < 2)
      throw InputError("train.extractor.augment",
                       "the training split has " + std::to_string(patients_.size()) +
                           " patient(s) with two or more records; contrastive training needs at least 2 "
                           "(set train.extractor.augment: single to pair augmented views of one record)");
    vocabulary_ = build_vocabulary(config.model, reports_of(cache, rows));
    net_ = ExtractorStage(config.model, make_statement_encoder(config.model, vocabulary_));
    autoencoder_->eval();
    for (auto& p : autoencoder_->parameters()) p.set_requires_grad(false);
    if (augment_ != "all") {
      // The frozen autoencoder's latents of every training record, computed once.
      latent_row_.assign(cache.entries().size(), -1);
      for (std::size_t i = 0; i < rows.size(); ++i) latent_row_[static_cast<std::size_t>(rows[i])] = static_cast<std::int64_t>(i);
      latents_ = encode_latents(*autoencoder_, cache_signals(cache, rows), encode_batch).to(torch::kCPU);
    }
    spdlog::info("extractor: {} training patients ({} records), augmentation '{}'", patients_.size(), rows.size(),
                 augment_);
  }
  std::string stage() const override { return "extractor"; }
  torch::nn::Module& model() override { return *net_; }
  std::int64_t dataset_size() const override { return static_cast<std::int64_t>(patients_.size()); }
  nlohmann::json extra_meta() const override { return {{"vocabulary", vocabulary_}}; }

  void prepare(HostBatch& batch, at::Generator& generator) override {
    std::vector<std::int64_t> rows_a, rows_b;
    std::vector<bool> augmented;
    for (std::int64_t p : batch.indices) {
      const auto& group = patients_.at(static_cast<std::size_t>(p));
      const auto n = static_cast<std::int64_t>(group.size());
      std::int64_t a = torch::randint(n, {1}, generator, torch::kLong).item<std::int64_t>();
      std::int64_t b = a;
      if (n >= 2) {
        b = torch::randint(n - 1, {1}, generator, torch::kLong).item<std::int64_t>();
        if (b >= a) ++b;
      }
      rows_a.push_back(group[static_cast<std::size_t>(a)]);
      rows_b.push_back(group[static_cast<std::size_t>(b)]);
      augmented.push_back(augment_ == "all" || n == 1);
    }
    put_view(batch, "a", rows_a, augmented, generator);
    put_view(batch, "b", rows_b, augmented, generator);
    const auto size = static_cast<std::int64_t>(batch.indices.size());
    batch.tensors["a.drop"] = net_->extractor->draw_condition_drop(size, generator);
    batch.tensors["b.drop"] = net_->extractor->draw_condition_drop(size, generator);
    put_reports(batch.tensors, "a",
                prepare_reports(*net_->statements, cache_reports(cache_, rows_a)));
    put_reports(batch.tensors, "b",
                prepare_reports(*net_->statements, cache_reports(cache_, rows_b)));
  }

  torch::Tensor loss(const HostBatch& batch,
                     std::map<std::string, torch::Tensor>& metrics) override {
    const torch::Device device = device_of(*net_);
    const auto size = static_cast<std::int64_t>(batch.indices.size());
    auto va = net_->base_vectors(view_latents(batch, "a"), take_reports(batch.tensors, "a"),
                                 batch.tensors.at("a.drop"));
    auto vb = net_->base_vectors(view_latents(batch, "b"), take_reports(batch.tensors, "b"),
                                 batch.tensors.at("b.drop"));
    auto loss = model::info_nce(va, vb, net_->extractor->logit_scale());
    {
      torch::NoGradGuard no_grad;
      auto similarity = torch::nn::functional::normalize(va, torch::nn::functional::NormalizeFuncOptions().dim(1))
                            .matmul(torch::nn::functional::normalize(vb, torch::nn::functional::NormalizeFuncOptions().dim(1)).t());
      auto target = torch::arange(size, torch::TensorOptions().dtype(torch::kLong).device(device));
      metrics["pair_accuracy"] = similarity.argmax(1).eq(target).to(torch::kFloat).mean();
      metrics["temperature"] = net_->extractor->logit_scale().exp().reciprocal().detach();
    }
    return loss;
  }

 private:
  // One view of the pairs: the stored latents of its rows ("<view>.latent", zero rows where a
  // row is augmented) and, for augmented rows, the augmented signals and their places, to be
  // encoded by the frozen autoencoder on the device.
  void put_view(HostBatch& batch, const std::string& view, const std::vector<std::int64_t>& rows,
                const std::vector<bool>& augmented, at::Generator& generator) const {
    std::vector<std::int64_t> stored(rows.size(), 0), to_augment, where;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (augmented[i]) {
        to_augment.push_back(rows[i]);
        where.push_back(static_cast<std::int64_t>(i));
      } else {
        stored[i] = latent_row_[static_cast<std::size_t>(rows[i])];
      }
    }
    auto latent = to_augment.size() == rows.size()
                      ? torch::Tensor()
                      : latents_.index_select(0, torch::tensor(stored, torch::kLong));
    if (!to_augment.empty()) {
      const auto places = torch::tensor(where, torch::kLong);
      if (latent.defined()) latent.index_fill_(0, places, 0.0);
      batch.tensors[view + ".augmented"] =
          augment_signals(cache_signals(cache_, to_augment), cache_.sampling_rate(), generator);
      batch.tensors[view + ".augmented_at"] = places;
    }
    if (latent.defined()) batch.tensors[view + ".latent"] = latent;
  }

  torch::Tensor view_latents(const HostBatch& batch, const std::string& view) {
    const auto& t = batch.tensors;
    auto augmented = t.find(view + ".augmented");
    if (augmented == t.end()) return t.at(view + ".latent");
    auto encoded = encode_latents(*autoencoder_, augmented->second);
    auto stored = t.find(view + ".latent");
    if (stored == t.end()) return encoded;  // every row augmented, in order
    return stored->second.index_copy(0, t.at(view + ".augmented_at"),
                                     encoded.to(stored->second.dtype()));
  }

  const data::Cache& cache_;
  model::Autoencoder autoencoder_;
  std::string augment_;
  std::vector<std::vector<std::int64_t>> patients_;
  nlohmann::json vocabulary_;
  ExtractorStage net_{nullptr};
  std::vector<std::int64_t> latent_row_;
  torch::Tensor latents_;
};

// ---- diffusion ---------------------------------------------------------------------------

// The scaled latents of signals [12, samples] given one at a time, encoded in the batches of
// `batch` that encode_latents takes over the whole list (the same numbers), so that only the
// latents are kept unless the signals are asked for too.
class StreamingEncoder {
 public:
  StreamingEncoder(model::AutoencoderImpl& autoencoder, bool keep_signals, std::int64_t batch = 64)
      : autoencoder_(autoencoder), keep_signals_(keep_signals), batch_(batch) {}
  void add(const torch::Tensor& signal) {
    pending_.push_back(signal);
    if (keep_signals_) signals_.push_back(signal);
    if (static_cast<std::int64_t>(pending_.size()) == batch_) flush();
  }
  torch::Tensor latents() {
    flush();
    return torch::cat(latents_, 0);
  }
  torch::Tensor signals() const { return torch::stack(signals_); }

 private:
  void flush() {
    if (pending_.empty()) return;
    latents_.push_back(
        encode_latents(autoencoder_, torch::stack(pending_), batch_).to(torch::kCPU));
    pending_.clear();
  }
  model::AutoencoderImpl& autoencoder_;
  bool keep_signals_;
  std::int64_t batch_;
  std::vector<torch::Tensor> pending_, signals_, latents_;
};

class DiffusionTask : public TrainingTask {
 public:
  DiffusionTask(const data::Cache& cache, const TwinConfig& config, model::Autoencoder autoencoder,
                ExtractorStage extractor, const StageConfig& stage)
      : cache_(cache),
        rows_(training_rows(cache)),
        config_(config),
        schedule_(config.schedule),
        base_from_(stage.base_from) {
    vocabulary_ = build_vocabulary(config.model, reports_of(cache, rows_));
    net_ = DiffusionStage(config.model, make_statement_encoder(config.model, vocabulary_));
    torch::NoGradGuard no_grad;
    signal_space_ = config.model.denoiser.kind() == "signal_dit";
    const auto signals = cache_signals(cache, rows_);
    // Items: the training records, then their time-scaled copies (rate_augment).
    item_row_ = rows_;
    StreamingEncoder items(*autoencoder, signal_space_);
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      item_rate_.push_back(cache.entries().at(static_cast<std::size_t>(rows_[i])).heart_rate);
      items.add(signals[static_cast<std::int64_t>(i)]);
    }
    if (stage.rate_augment > 0) add_rate_copies(signals, stage, items);
    order_ = rate_balanced_positions(item_rate_, stage.rate_balance);
    if (stage.rate_balance > 0.0)
      spdlog::info("diffusion: heart-rate balance {}: {} training items drawn as {} per epoch",
                   stage.rate_balance, item_row_.size(), order_.size());
    const auto latents = items.latents();
    x0_ = signal_space_ ? items.signals() : latents;
    // The frozen extractor's base vector of every training record under its own conditions.
    extractor->eval();
    const torch::Device extractor_device = device_of(*extractor);
    std::vector<torch::Tensor> parts;  // of the records (the first rows_.size() items)
    for (std::size_t start = 0; start < rows_.size(); start += 64) {
      std::vector<std::int64_t> chunk(rows_.begin() + static_cast<std::ptrdiff_t>(start),
                                      rows_.begin() + static_cast<std::ptrdiff_t>(std::min(rows_.size(), start + 64)));
      auto lat = latents.slice(0, static_cast<std::int64_t>(start), static_cast<std::int64_t>(start + chunk.size()));
      parts.push_back(extractor->base_vectors(lat.to(extractor_device), cache_reports(cache, chunk)).to(torch::kCPU));
    }
    base_ = torch::cat(parts, 0);
    for (auto& group : rows_by_patient(cache, rows_)) {
      for (std::int64_t r : group) same_patient_[r] = group;
    }
    for (std::size_t i = 0; i < rows_.size(); ++i) position_[rows_[i]] = static_cast<std::int64_t>(i);
    spdlog::info("diffusion: {} training records; {} std {:.3f} (the schedule assumes about 1)", rows_.size(),
                 signal_space_ ? "signal" : "scaled latent", x0_.std().item<double>());
  }

  // Adds the time-scaled copies of the records' signals [N, 12, samples] to the items, each
  // rate drawn from a generator of the stage's seed.
  void add_rate_copies(const torch::Tensor& signals, const StageConfig& stage,
                       StreamingEncoder& items) {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(
        util::derive_seed(stage.options.seed, "diffusion.rate_augment"));
    const std::int64_t leads = signals.size(1), samples = signals.size(2);
    const signal::RateWarp warp =
        signal::rate_warp(stage.rate_augment_warp, "train.diffusion.rate_augment_warp");
    std::size_t without = 0;
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      const std::optional<double> rate = item_rate_[i];
      const torch::Tensor signal = signals[static_cast<std::int64_t>(i)].contiguous();
      const std::size_t before = item_row_.size();
      for (std::int64_t k = 0; k < stage.rate_augment && rate; ++k) {
        const double u = torch::rand({1}, generator, torch::kDouble).item<double>();
        const double to = signal::augmented_heart_rate(*rate, stage.rate_augment_range, u);
        auto scaled = signal::scale_heart_rate(signal.data_ptr<float>(), leads, samples,
                                               cache_.sampling_rate(), *rate, to, warp);
        if (!scaled) break;
        items.add(torch::from_blob(scaled->data(), {leads, samples}, torch::kFloat).clone());
        item_row_.push_back(rows_[i]);
        item_rate_.push_back(to);
      }
      if (item_row_.size() == before) ++without;
    }
    spdlog::info(
        "diffusion: heart-rate augmentation: {} copies of {} training records (rates within a "
        "factor {}, {} warp); {} records without a rate or two beats have none",
        item_row_.size() - rows_.size(), rows_.size() - without, 1.0 + stage.rate_augment_range,
        stage.rate_augment_warp, without);
  }
  std::string stage() const override { return "diffusion"; }
  torch::nn::Module& model() override { return *net_; }
  std::int64_t dataset_size() const override { return static_cast<std::int64_t>(order_.size()); }
  nlohmann::json extra_meta() const override {
    return {{"vocabulary", vocabulary_}, {"signal_space", signal_space_}};
  }

  void prepare(HostBatch& batch, at::Generator& generator) override {
    const auto size = static_cast<std::int64_t>(batch.indices.size());
    std::vector<std::int64_t> rows, positions, reference_positions;
    std::vector<double> rates;
    for (std::int64_t i : batch.indices) {
      const std::int64_t position = order_.at(static_cast<std::size_t>(i));
      const std::int64_t row = item_row_.at(static_cast<std::size_t>(position));
      positions.push_back(position);
      rows.push_back(row);
      rates.push_back(item_rate_.at(static_cast<std::size_t>(position)).value_or(NAN));
      std::int64_t reference = row;
      const auto& group = same_patient_.at(row);
      if (base_from_ == "other" && group.size() >= 2) {
        auto k = torch::randint(static_cast<std::int64_t>(group.size()) - 1, {1}, generator, torch::kLong)
                     .item<std::int64_t>();
        std::int64_t self = static_cast<std::int64_t>(std::find(group.begin(), group.end(), row) - group.begin());
        reference = group[static_cast<std::size_t>(k >= self ? k + 1 : k)];
      }
      reference_positions.push_back(position_.at(reference));
    }
    auto& t = batch.tensors;
    t["x0"] = x0_.index_select(0, torch::tensor(positions, torch::kLong));
    const auto reference_index = torch::tensor(reference_positions, torch::kLong);
    t["base"] = base_.index_select(0, reference_index);
    // With reference tokens the denoiser also reads the reference record's own latent.
    if (net_->reads_reference()) t["reference"] = x0_.index_select(0, reference_index);
    put_reports(t, "target",
                prepare_reports(*net_->statements, cache_reports(cache_, rows, rates)));
    if (config_.guidance_training) {
      auto drop = diffusion::draw_condition_drop(size, config_.dropout, torch::kCPU, generator);
      t["drop.statements"] = drop.statements;
      t["drop.base_vector"] = drop.base_vector;
    }
    // t from 1 .. T-1 and epsilon drawn on the CPU, so a seed gives the same run on every device.
    t["t"] = torch::randint(1, schedule_.timesteps(), {size}, generator, torch::kLong);
    t["noise"] = torch::randn(t.at("x0").sizes(), generator, torch::kFloat);
  }

  torch::Tensor loss(const HostBatch& batch,
                     std::map<std::string, torch::Tensor>& metrics) override {
    const torch::Device device = device_of(*net_);
    if (schedule_.device() != device) schedule_ = schedule_.to(device);
    const auto& t = batch.tensors;
    auto reference = t.find("reference");
    auto conditions = net_->conditions(t.at("base"), take_reports(t, "target"),
                                       reference == t.end() ? torch::Tensor() : reference->second);
    if (config_.guidance_training) {
      diffusion::ConditionDrop drop{t.at("drop.statements"), t.at("drop.base_vector")};
      conditions = diffusion::apply_condition_drop(conditions, drop, net_->null_conditions());
    }
    const auto& x0 = t.at("x0");
    const auto& noise = t.at("noise");
    auto noisy = diffusion::add_noise(schedule_, x0, noise, t.at("t"));
    auto predicted = net_->denoiser->forward(noisy, t.at("t"), conditions);
    auto loss = torch::mse_loss(predicted.to(torch::kFloat), noise);
    metrics["mse"] = loss.detach();
    return loss;
  }

 private:
  const data::Cache& cache_;
  std::vector<std::int64_t> rows_;
  std::vector<std::int64_t> item_row_;  // the record of each item (x0_ row)
  std::vector<std::optional<double>> item_rate_;  // its heart rate
  std::vector<std::int64_t> order_;     // item positions, repeated by the heart-rate balance
  TwinConfig config_;
  diffusion::NoiseSchedule schedule_;
  std::string base_from_;
  nlohmann::json vocabulary_;
  DiffusionStage net_{nullptr};
  bool signal_space_ = false;
  torch::Tensor x0_, base_;
  std::map<std::int64_t, std::vector<std::int64_t>> same_patient_;
  std::map<std::int64_t, std::int64_t> position_;
};

// ---- evaluator ---------------------------------------------------------------------------

class EvaluatorTask : public TrainingTask {
 public:
  EvaluatorTask(const data::Cache& cache, const TwinConfig& config) : cache_(cache), rows_(training_rows(cache)) {
    vocabulary_ = build_vocabulary(config.model, reports_of(cache, rows_));
    net_ = EvaluatorStage(config.model, make_statement_encoder(config.model, vocabulary_));
  }
  std::string stage() const override { return "evaluator"; }
  torch::nn::Module& model() override { return *net_; }
  std::int64_t dataset_size() const override { return static_cast<std::int64_t>(rows_.size()); }
  nlohmann::json extra_meta() const override { return {{"vocabulary", vocabulary_}}; }
  void prepare(HostBatch& batch, at::Generator& generator) override {
    auto rows = pick(rows_, batch.indices);
    batch.tensors["x"] =
        augment_signals(cache_signals(cache_, rows), cache_.sampling_rate(), generator);
    put_reports(batch.tensors, "reports",
                prepare_reports(*net_->statements, cache_reports(cache_, rows)));
  }
  torch::Tensor loss(const HostBatch& batch, std::map<std::string, torch::Tensor>&) override {
    auto ecg = net_->ecg_features(batch.tensors.at("x"));
    auto text = net_->text_features(take_reports(batch.tensors, "reports").statements);
    return net_->evaluator->clip_loss(ecg, text);
  }

 private:
  const data::Cache& cache_;
  std::vector<std::int64_t> rows_;
  nlohmann::json vocabulary_;
  EvaluatorStage net_{nullptr};
};

// ---- classifier --------------------------------------------------------------------------

class ClassifierTask : public TrainingTask {
 public:
  ClassifierTask(const data::Cache& cache, const TwinConfig& config, std::int64_t min_count)
      : cache_(cache), rows_(training_rows(cache)) {
    auto reports = reports_of(cache, rows_);
    classes_ = diagnosis_classes(reports, min_count);
    if (classes_.empty())
      throw InputError("train.classifier.min_count", "no statement occurs in " + std::to_string(min_count) +
                                                         " or more training records; lower it");
    labels_ = diagnosis_labels(reports, classes_);
    net_ = model::Classifier(
        model::ClassifierOptions(config.model.classifier).classes(static_cast<std::int64_t>(classes_.size())));
    spdlog::info("classifier: {} training records, {} classes (statements of at least {} records)", rows_.size(),
                 classes_.size(), min_count);
  }
  std::string stage() const override { return "classifier"; }
  torch::nn::Module& model() override { return *net_; }
  std::int64_t dataset_size() const override { return static_cast<std::int64_t>(rows_.size()); }
  nlohmann::json extra_meta() const override { return {{"classes", classes_}}; }
  void prepare(HostBatch& batch, at::Generator& generator) override {
    batch.tensors["x"] = augment_signals(cache_signals(cache_, pick(rows_, batch.indices)),
                                         cache_.sampling_rate(), generator);
    batch.tensors["y"] = labels_.index_select(0, torch::tensor(batch.indices, torch::kLong));
  }
  torch::Tensor loss(const HostBatch& batch, std::map<std::string, torch::Tensor>&) override {
    return torch::binary_cross_entropy_with_logits(net_->forward(batch.tensors.at("x")),
                                                   batch.tensors.at("y"));
  }

 private:
  const data::Cache& cache_;
  std::vector<std::int64_t> rows_;
  std::vector<std::string> classes_;
  torch::Tensor labels_;
  model::Classifier net_{nullptr};
};

}  // namespace

torch::Tensor augment_signals(const torch::Tensor& signals, double fs, at::Generator& generator) {
  const std::int64_t batch = signals.size(0), samples = signals.size(2);
  auto scale = torch::rand({batch, 1, 1}, generator, torch::kFloat) * 0.2 + 0.9;
  auto out = signals * scale;
  auto shifts = (torch::rand({batch}, generator, torch::kFloat) * 0.4 - 0.2) * fs;
  std::vector<torch::Tensor> rows;
  for (std::int64_t i = 0; i < batch; ++i)
    rows.push_back(torch::roll(out[i], {static_cast<std::int64_t>(std::lround(shifts[i].item<double>()))}, {1}));
  out = torch::stack(rows, 0);
  auto time = torch::arange(samples, torch::kFloat) / fs;
  auto frequency = torch::rand({batch, 1, 1}, generator, torch::kFloat) * 0.4 + 0.1;
  auto phase = torch::rand({batch, 1, 1}, generator, torch::kFloat) * 2 * M_PI;
  auto amplitude = torch::rand({batch, 1, 1}, generator, torch::kFloat) * 0.1;
  out = out + amplitude * torch::sin(2 * M_PI * frequency * time.view({1, 1, -1}) + phase);
  return out + torch::randn(signals.sizes(), generator, torch::kFloat) * 0.02;
}

std::vector<std::int64_t> rate_balanced_positions(
    const std::vector<std::optional<double>>& heart_rates, double strength, double bin_bpm) {
  if (!(strength >= 0.0 && strength <= 1.0))
    throw InputError("train.diffusion.rate_balance",
                     "expected a number from 0 to 1, got " + number_text(strength));
  if (!(bin_bpm > 0.0)) throw Error("rate_balanced_positions: bin_bpm must be positive");
  auto bin_of = [&](double hr) { return static_cast<std::int64_t>(std::floor(hr / bin_bpm)); };
  std::map<std::int64_t, std::int64_t> counts;
  for (const auto& hr : heart_rates)
    if (hr && std::isfinite(*hr)) ++counts[bin_of(*hr)];
  std::int64_t fullest = 0;
  for (const auto& [bin, count] : counts) fullest = std::max(fullest, count);
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < heart_rates.size(); ++i) {
    std::int64_t repeats = 1;
    const auto& hr = heart_rates[i];
    if (strength > 0.0 && hr && std::isfinite(*hr)) {
      const double ratio =
          static_cast<double>(fullest) / static_cast<double>(counts.at(bin_of(*hr)));
      repeats = std::max<std::int64_t>(1, std::llround(std::pow(ratio, strength)));
    }
    out.insert(out.end(), static_cast<std::size_t>(repeats), static_cast<std::int64_t>(i));
  }
  return out;
}

TrainResult train_autoencoder(const data::Cache& cache, const nlohmann::json& config, const fs::path& out) {
  TwinConfig twin = read_twin_config(config);
  const StageConfig stage = read_stage_config(config, "autoencoder");
  const TrainOptions& options = stage.options;
  write_stage_config(config, out, "autoencoder");
  seed_initialisation(options, "autoencoder");
  AutoencoderTask task(cache, twin, stage.kl_weight, stage.kl_warmup_steps);
  TrainResult result = run_training(task, options, out, config);
  if (stage.fit_scaling_factor && !result.model_file.empty() &&
      DistributedContext::from_environment().is_main()) {
    // Latent diffusion assumes latents of unit variance (Rombach et al. 2022, sec. 4.3.2 and
    // appendix G: the 0.18215 of Stable Diffusion is 1 / std of its own VAE's latents).
    auto loaded = load_autoencoder(result.model_file, torch::kCPU);
    loaded.network->set_scaling_factor(1.0);
    auto latents = encode_latents(*loaded.network, cache_signals(cache, training_rows(cache)));
    const double factor = 1.0 / latents.std().item<double>();
    nlohmann::json meta = read_module_meta(result.model_file);
    meta["extra"]["scaling_factor"] = factor;
    save_module(result.model_file, *loaded.network, meta);
    spdlog::info("autoencoder: latent scaling factor fitted to the training data: {:.5f} (configured {:.5f})",
                 factor, twin.model.autoencoder.scaling_factor());
  }
  return result;
}

TrainResult train_extractor(const data::Cache& cache, const nlohmann::json& config, const fs::path& out) {
  TwinConfig twin = read_twin_config(config);
  const StageConfig stage = read_stage_config(config, "extractor");
  const TrainOptions& options = stage.options;
  const torch::Device device = model::resolve_device(options.device);
  auto autoencoder = load_autoencoder(out / "autoencoder.pt", device);
  write_stage_config(config, out, "extractor");
  seed_initialisation(options, "extractor");
  ExtractorTask task(cache, twin, autoencoder.network, stage.augment, stage.encode_batch);
  return run_training(task, options, out, config);
}

TrainResult train_diffusion(const data::Cache& cache, const nlohmann::json& config, const fs::path& out) {
  TwinConfig twin = read_twin_config(config);
  const StageConfig stage = read_stage_config(config, "diffusion");
  const TrainOptions& options = stage.options;
  const torch::Device device = model::resolve_device(options.device);
  auto autoencoder = load_autoencoder(out / "autoencoder.pt", device);
  auto extractor = load_extractor(out / "extractor.pt", device);
  write_stage_config(config, out, "diffusion");
  seed_initialisation(options, "diffusion");
  DiffusionTask task(cache, twin, autoencoder.network, extractor.network, stage);
  return run_training(task, options, out, config);
}

TrainResult train_evaluator(const data::Cache& cache, const nlohmann::json& config, const fs::path& out) {
  TwinConfig twin = read_twin_config(config);
  const TrainOptions options = read_stage_config(config, "evaluator").options;
  write_stage_config(config, out, "evaluator");
  seed_initialisation(options, "evaluator");
  EvaluatorTask task(cache, twin);
  return run_training(task, options, out, config);
}

TrainResult train_classifier(const data::Cache& cache, const nlohmann::json& config, const fs::path& out) {
  TwinConfig twin = read_twin_config(config);
  const StageConfig stage = read_stage_config(config, "classifier");
  const TrainOptions& options = stage.options;
  write_stage_config(config, out, "classifier");
  seed_initialisation(options, "classifier");
  ClassifierTask task(cache, twin, stage.min_count);
  return run_training(task, options, out, config);
}

}  // namespace ecgtwin::train
