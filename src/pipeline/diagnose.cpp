#include "ecgtwin/pipeline/diagnose.hpp"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "ecgtwin/data/cache.hpp"
#include "ecgtwin/diffusion/config.hpp"
#include "ecgtwin/eval/metrics.hpp"
#include "ecgtwin/model/device.hpp"
#include "ecgtwin/pipeline/twin_model.hpp"
#include "ecgtwin/train/loop.hpp"
#include "ecgtwin/train/stages.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "ecgtwin/util/log.hpp"
#include "ecgtwin/util/random.hpp"

namespace ecgtwin::pipeline {

namespace {

struct TargetCondition {
  std::string diagnosis;  // the class it stands for
  std::vector<std::string> statements;
  double heart_rate = NAN;  // bpm; NaN: unknown
};

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const std::size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

// One condition per class: the most frequent training report with that statement, at the
// median heart rate of the training records with that report. Classes whose report is
// already taken by an earlier class add nothing.
std::vector<TargetCondition> target_conditions(const data::Cache& cache, const std::vector<std::string>& classes,
                                               std::int64_t limit) {
  std::map<std::vector<std::string>, std::int64_t> count;
  std::map<std::vector<std::string>, std::vector<double>> rates;
  for (std::int64_t r : train::split_rows(cache, data::Split::kTrain)) {
    const auto& e = cache.entries()[static_cast<std::size_t>(r)];
    ++count[e.statements];
    if (e.heart_rate) rates[e.statements].push_back(*e.heart_rate);
  }
  std::vector<TargetCondition> out;
  std::set<std::vector<std::string>> taken;
  for (const auto& diagnosis : classes) {
    if (limit > 0 && static_cast<std::int64_t>(out.size()) >= limit) break;
    const std::vector<std::string>* best = nullptr;
    std::int64_t best_count = 0;
    for (const auto& [report, n] : count)
      if (n > best_count && std::find(report.begin(), report.end(), diagnosis) != report.end()) {
        best = &report;
        best_count = n;
      }
    if (!best || !taken.insert(*best).second) continue;
    out.push_back({diagnosis, *best, median(rates[*best])});
  }
  return out;
}

model::Classifier copy_classifier(model::Classifier& source, const torch::Device& device) {
  model::Classifier copy(source->options());
  copy->to(device);
  torch::NoGradGuard no_grad;
  auto to = copy->named_parameters();
  for (const auto& p : source->named_parameters()) to[p.key()].copy_(p.value());
  auto to_buffers = copy->named_buffers();
  for (const auto& b : source->named_buffers()) to_buffers[b.key()].copy_(b.value());
  return copy;
}

// Predicted statement sets [N, C] (0/1) of signals [N, 12, L].
torch::Tensor predict(model::Classifier& net, const torch::Tensor& signals) {
  torch::NoGradGuard no_grad;
  net->eval();
  const torch::Device device = net->parameters().front().device();
  return net->forward(signals.to(device)).sigmoid().gt(0.5).to(torch::kFloat).to(torch::kCPU);
}

struct Finetune {
  const data::Cache& cache;
  const std::vector<std::int64_t>& replay_rows;
  const torch::Tensor& replay_labels;  // [rows, C]
  const DiagnoseOptions& options;

  // AdamW on batches of the patient's examples (own_x [N, 12, L], own_y [N, C]) and
  // population records, each augmented as in training; batch-norm statistics kept.
  void operator()(model::Classifier& net, const torch::Tensor& own_x, const torch::Tensor& own_y,
                  std::uint64_t seed) const {
    const torch::Device device = net->parameters().front().device();
    net->train();
    for (const auto& m : net->modules(/*include_self=*/false))
      if (m->as<torch::nn::BatchNorm1dImpl>()) m->eval();
    torch::optim::AdamW optimiser(net->parameters(), torch::optim::AdamWOptions(options.finetune_lr).weight_decay(0));
    const auto replay = static_cast<std::int64_t>(std::lround(options.finetune_batch * options.replay_fraction));
    const std::int64_t own = std::max<std::int64_t>(1, options.finetune_batch - replay);
    for (std::int64_t step = 0; step < options.finetune_steps; ++step) {
      auto generator = train::step_generator(seed, step, 0);
      auto own_index = torch::randint(own_x.size(0), {own}, generator, torch::kLong);
      std::vector<torch::Tensor> xs{own_x.index_select(0, own_index)}, ys{own_y.index_select(0, own_index)};
      if (replay > 0) {
        auto replay_index = torch::randint(static_cast<std::int64_t>(replay_rows.size()), {replay}, generator, torch::kLong);
        std::vector<std::int64_t> rows;
        for (std::int64_t i = 0; i < replay; ++i)
          rows.push_back(replay_rows[static_cast<std::size_t>(replay_index[i].item<std::int64_t>())]);
        xs.push_back(train::cache_signals(cache, rows));
        ys.push_back(replay_labels.index_select(0, replay_index));
      }
      auto x = train::augment_signals(torch::cat(xs, 0), cache.sampling_rate(), generator).to(device);
      auto y = torch::cat(ys, 0).to(device);
      optimiser.zero_grad();
      torch::binary_cross_entropy_with_logits(net->forward(x), y).backward();
      optimiser.step();
    }
    net->eval();
  }
};

nlohmann::json scores_json(const eval::MultilabelScores& s) {
  return {{"accuracy", s.exact_match}, {"label_accuracy", s.label_accuracy}, {"macro_f1", s.macro_f1},
          {"scored_classes", s.scored_classes}};
}

std::string fmt(double v, int decimals = 3) {
  if (!std::isfinite(v)) return "n/a";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return buffer;
}

std::string joined(const std::vector<std::string>& statements) {
  std::string out;
  for (const auto& s : statements) out += (out.empty() ? "" : "|") + s;
  return out;
}

}  // namespace

nlohmann::json diagnose(const DiagnoseOptions& options) {
  if (options.twins_per_condition < 1) throw InputError("--twins-per-condition", "expected at least 1");
  if (options.finetune_steps < 1) throw InputError("--finetune-steps", "expected at least 1");
  if (options.finetune_batch < 2) throw InputError("--finetune-batch", "expected at least 2");
  if (!(options.finetune_lr > 0)) throw InputError("--finetune-lr", "expected a positive learning rate");
  if (!(options.replay_fraction >= 0 && options.replay_fraction < 1))
    throw InputError("--replay-fraction", "expected a value in [0, 1)");
  if (options.batch < 1) throw InputError("--batch", "expected at least 1");
  const data::Split split = data::parse_split(options.split, "--split");
  if (split == data::Split::kTrain)
    throw InputError("--split", "expected val or test (the classifier is trained on train), got 'train'");

  const torch::Device device = model::resolve_device(options.device);
  data::Cache cache = data::Cache::open(options.data);
  TwinModel twin_model = TwinModel::load(options.model, device);
  auto population = train::load_classifier(options.model / "classifier.pt", device);
  const auto& classes = population.classes;
  const std::int64_t samples = twin_model.samples();
  if (cache.samples() != samples)
    throw InputError(options.data.string(), "cache windows have " + std::to_string(cache.samples()) +
                                                " samples, the model takes " + std::to_string(samples));

  // Test patients with a reference and at least one held-out record.
  std::map<std::string, std::vector<std::int64_t>> by_patient;
  for (std::int64_t r : train::split_rows(cache, split))
    by_patient[cache.entries()[static_cast<std::size_t>(r)].patient_id].push_back(r);
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> patients;
  for (auto& [id, rows] : by_patient)
    if (rows.size() >= 2) patients.emplace_back(id, rows);
  if (patients.empty())
    throw InputError(options.data.string(), "the " + options.split + " split has no patient with two or more records");
  if (options.max_patients > 0 && static_cast<std::int64_t>(patients.size()) > options.max_patients)
    patients.resize(static_cast<std::size_t>(options.max_patients));

  const auto conditions = target_conditions(cache, classes, options.conditions);
  if (conditions.empty())
    throw InputError(options.data.string(), "the training split has no report with any of the classifier's classes");
  std::vector<std::vector<std::string>> condition_reports;
  for (const auto& c : conditions) condition_reports.push_back(c.statements);
  const torch::Tensor condition_labels = train::diagnosis_labels(condition_reports, classes);

  const auto replay_rows = train::split_rows(cache, data::Split::kTrain);
  std::vector<std::vector<std::string>> replay_reports;
  for (std::int64_t r : replay_rows) replay_reports.push_back(cache.entries()[static_cast<std::size_t>(r)].statements);
  const torch::Tensor replay_labels = train::diagnosis_labels(replay_reports, classes);
  const Finetune finetune{cache, replay_rows, replay_labels, options};

  util::OutputGuard guard;
  guard.create_directory(options.out);

  spdlog::info("diagnose: {} patients of the {} split, {} classes, {} conditions x {} twins each, {} fine-tuning steps",
               patients.size(), options.split, classes.size(), conditions.size(), options.twins_per_condition,
               options.finetune_steps);
  std::vector<torch::Tensor> truth, without_twins, with_twins, reference_only;
  nlohmann::json per_patient = nlohmann::json::array();
  std::int64_t twin_count = 0;
  util::Progress progress("diagnose", static_cast<std::int64_t>(patients.size()), "patient");
  for (std::size_t p = 0; p < patients.size(); ++p) {
    const auto& [patient, rows] = patients[p];
    const std::vector<std::int64_t> reference_row{rows.front()};
    const std::vector<std::int64_t> held_out(rows.begin() + 1, rows.end());
    auto reference = train::cache_signals(cache, reference_row);
    auto reference_report = train::cache_reports(cache, reference_row);
    const auto& reference_entry = cache.entries()[static_cast<std::size_t>(rows.front())];

    // Twins: every condition, twins_per_condition each.
    const torch::Tensor own_base = twin_model.base_vectors(reference, reference_report);
    ReferenceStart from_reference{reference, own_base, reference_report};
    torch::Tensor base = own_base;  // the twins' condition: a fitted one when personalised
    if (options.personalise.steps > 0) {
      PersonaliseOptions personalise = options.personalise;
      personalise.seed = util::derive_seed(options.seed ^ 0x9e750aULL, patient);
      base = twin_model.personalise(from_reference, personalise);
      from_reference.base_vectors = base;  // the inverted start runs under it too
    }
    std::vector<std::pair<std::size_t, std::int64_t>> specs;  // (condition, twin)
    for (std::size_t c = 0; c < conditions.size(); ++c)
      for (std::int64_t k = 0; k < options.twins_per_condition; ++k) specs.emplace_back(c, k);
    std::vector<torch::Tensor> twin_parts;
    std::vector<std::int64_t> twin_condition;
    for (std::size_t start = 0; start < specs.size(); start += static_cast<std::size_t>(options.batch)) {
      const std::size_t end = std::min(specs.size(), start + static_cast<std::size_t>(options.batch));
      std::vector<double> hr, age;
      std::vector<std::int64_t> sex;
      train::Reports targets;
      std::vector<torch::Tensor> noise;
      for (std::size_t i = start; i < end; ++i) {
        const auto& [c, k] = specs[i];
        targets.statements.push_back(conditions[c].statements);
        hr.push_back(conditions[c].heart_rate);
        age.push_back(reference_entry.age.value_or(NAN));
        sex.push_back(static_cast<std::int64_t>(reference_entry.sex));
        twin_condition.push_back(static_cast<std::int64_t>(c));
        const std::uint64_t twin_seed =
            util::derive_seed(util::derive_seed(options.seed, patient), static_cast<std::uint64_t>(c * 1000 + k));
        noise.push_back(twin_model.initial_noise(twin_seed, options.sampler.candidates()));
      }
      targets.demographics = model::Demographics::from(hr, age, sex);
      diffusion::SamplerOptions sampler = options.sampler;
      sampler.seed(util::derive_seed(util::derive_seed(options.seed ^ 0x5eedULL, patient), start));
      const auto m = static_cast<std::int64_t>(end - start);
      twin_parts.push_back(twin_model.generate(base.expand({m, base.size(1)}), targets, sampler,
                                               torch::cat(noise, 0), &from_reference));
    }
    auto twins = torch::cat(twin_parts, 0);
    auto twin_labels = condition_labels.index_select(0, torch::tensor(twin_condition, torch::kLong));
    twin_count += twins.size(0);

    auto held_out_signals = train::cache_signals(cache, held_out);
    std::vector<std::vector<std::string>> held_out_reports;
    for (std::int64_t r : held_out) held_out_reports.push_back(cache.entries()[static_cast<std::size_t>(r)].statements);
    auto labels = train::diagnosis_labels(held_out_reports, classes);

    const std::uint64_t patient_seed = util::derive_seed(options.seed, "finetune " + patient);
    auto twin_net = copy_classifier(population.network, device);
    finetune(twin_net, twins, twin_labels, patient_seed);
    auto reference_net = copy_classifier(population.network, device);
    finetune(reference_net, reference, train::diagnosis_labels(reference_report.statements, classes), patient_seed);

    auto p_population = predict(population.network, held_out_signals);
    auto p_twins = predict(twin_net, held_out_signals);
    auto p_reference = predict(reference_net, held_out_signals);
    truth.push_back(labels);
    without_twins.push_back(p_population);
    with_twins.push_back(p_twins);
    reference_only.push_back(p_reference);
    auto exact = [&](const torch::Tensor& predicted) { return eval::multilabel_scores(predicted, labels).exact_match; };
    per_patient.push_back({{"patient", patient},
                           {"reference", reference_entry.record_id},
                           {"held_out", held_out.size()},
                           {"twins", twins.size(0)},
                           {"accuracy_without_twins", exact(p_population)},
                           {"accuracy_with_twins", exact(p_twins)},
                           {"accuracy_reference_only", exact(p_reference)}});
    progress.advance(1);
  }
  progress.finish();

  auto y = torch::cat(truth, 0);
  const auto s_without = eval::multilabel_scores(torch::cat(without_twins, 0), y);
  const auto s_with = eval::multilabel_scores(torch::cat(with_twins, 0), y);
  const auto s_reference = eval::multilabel_scores(torch::cat(reference_only, 0), y);

  nlohmann::json out;
  out["accuracy_without_twins"] = s_without.exact_match;
  out["macro_f1_without_twins"] = s_without.macro_f1;
  out["accuracy_with_twins"] = s_with.exact_match;
  out["macro_f1_with_twins"] = s_with.macro_f1;
  out["accuracy_reference_only"] = s_reference.exact_match;
  out["macro_f1_reference_only"] = s_reference.macro_f1;
  out["without_twins"] = scores_json(s_without);
  out["with_twins"] = scores_json(s_with);
  out["reference_only"] = scores_json(s_reference);
  out["patients"] = patients.size();
  out["held_out_records"] = y.size(0);
  out["twins"] = twin_count;
  out["classes"] = classes;
  nlohmann::json condition_list = nlohmann::json::array();
  for (const auto& c : conditions)
    condition_list.push_back({{"class", c.diagnosis},
                              {"statements", c.statements},
                              {"heart_rate", std::isfinite(c.heart_rate) ? nlohmann::json(c.heart_rate) : nlohmann::json(nullptr)}});
  out["conditions"] = condition_list;
  nlohmann::json per_class = nlohmann::json::array();
  for (std::size_t c = 0; c < classes.size(); ++c) {
    auto f1 = [&](const eval::MultilabelScores& s) {
      return std::isfinite(s.f1[c]) ? nlohmann::json(s.f1[c]) : nlohmann::json(nullptr);
    };
    per_class.push_back({{"class", classes[c]},
                         {"held_out_positives", y.select(1, static_cast<std::int64_t>(c)).sum().item<double>()},
                         {"f1_without_twins", f1(s_without)},
                         {"f1_with_twins", f1(s_with)},
                         {"f1_reference_only", f1(s_reference)}});
  }
  out["per_class"] = per_class;
  out["per_patient"] = per_patient;
  out["settings"] = {{"split", options.split},
                     {"twins_per_condition", options.twins_per_condition},
                     {"finetune_steps", options.finetune_steps},
                     {"finetune_batch", options.finetune_batch},
                     {"finetune_lr", options.finetune_lr},
                     {"replay_fraction", options.replay_fraction},
                     {"sampler", options.sampler.sampler()},
                     {"steps", options.sampler.steps()},
                     {"sampling", diffusion::sampler_summary(options.sampler)},
                     {"personalise", personalise_summary(options.personalise)},
                     {"seed", options.seed}};

  util::write_file_atomic(options.out / "diagnosis.json", out.dump(2) + "\n");
  guard.add_file(options.out / "diagnosis.json");
  std::ostringstream md;
  md << "# Personalised auto-diagnosis\n\n"
     << "Model `" << options.model.string() << "`, data `" << options.data.string() << "` (" << options.split
     << " split): " << patients.size() << " patients, each with its first record as the reference and "
     << y.size(0) << " held-out records in all. The population classifier (" << classes.size()
     << " statement classes) is fine-tuned per patient for " << options.finetune_steps << " steps on "
     << conditions.size() << " x " << options.twins_per_condition
     << " twins of the reference (with twins), or on the reference record alone (reference only), with "
     << fmt(100 * options.replay_fraction, 0) << " % of each batch drawn from the population's records.\n\n"
     << "| classifier | accuracy (exact set) | label accuracy | macro-F1 |\n|---|---|---|---|\n";
  auto row = [&](const char* name, const eval::MultilabelScores& s) {
    md << "| " << name << " | " << fmt(s.exact_match) << " | " << fmt(s.label_accuracy) << " | " << fmt(s.macro_f1)
       << " |\n";
  };
  row("population (without twins)", s_without);
  row("fine-tuned on the reference only", s_reference);
  row("fine-tuned on twins", s_with);
  md << "\nMacro-F1 is the mean over the classes with at least one true or predicted positive among the held-out "
        "records.\n\n| class | held-out positives | F1 without twins | reference only | with twins |\n|---|---|---|---|---|\n";
  for (std::size_t c = 0; c < classes.size(); ++c)
    md << "| " << classes[c] << " | " << per_class[c]["held_out_positives"].get<double>() << " | "
       << fmt(s_without.f1[c]) << " | " << fmt(s_reference.f1[c]) << " | " << fmt(s_with.f1[c]) << " |\n";
  md << "\nTarget conditions of the twins:\n\n";
  for (const auto& c : conditions) md << "- " << joined(c.statements) << " at " << fmt(c.heart_rate, 1) << " bpm\n";
  util::write_file_atomic(options.out / "diagnosis.md", md.str());
  guard.add_file(options.out / "diagnosis.md");
  guard.keep();
  return out;
}

}  // namespace ecgtwin::pipeline
