#include "ecgtwin/pipeline/evaluate.hpp"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "ecgtwin/data/cache.hpp"
#include "ecgtwin/data/record_io.hpp"
#include "ecgtwin/diffusion/config.hpp"
#include "ecgtwin/eval/metrics.hpp"
#include "ecgtwin/eval/templates.hpp"
#include "ecgtwin/io/chart.hpp"
#include "ecgtwin/io/plot.hpp"
#include "ecgtwin/model/device.hpp"
#include "ecgtwin/pipeline/twin_model.hpp"
#include "ecgtwin/signal/heart_rate.hpp"
#include "ecgtwin/signal/limb_leads.hpp"
#include "ecgtwin/signal/resample.hpp"
#include "ecgtwin/signal/simulator.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "ecgtwin/util/log.hpp"
#include "ecgtwin/util/machine.hpp"
#include "ecgtwin/util/random.hpp"

namespace ecgtwin::pipeline {

namespace {

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// sum / count, or null when nothing was counted.
nlohmann::json mean_or_null(std::int64_t count, double sum) {
  return count ? nlohmann::json(sum / double(count)) : nlohmann::json(nullptr);
}

data::Record report_window(const float* x, std::int64_t leads, std::int64_t samples, double fs, const std::string& id,
                           const std::vector<std::string>& statements, std::optional<double> hr) {
  data::Record r = window_record(x, leads, samples, fs, id);
  r.statements = statements;
  r.heart_rate = hr;
  return r;
}

// Two principal components of the rows of x [N, D].
std::pair<std::vector<double>, std::vector<double>> project_2d(const torch::Tensor& x) {
  auto centred = (x - x.mean(0, true)).to(torch::kDouble);
  auto [u, s, v] = torch::linalg_svd(centred, false);
  auto p = centred.matmul(v.slice(0, 0, std::min<std::int64_t>(2, v.size(0))).t());
  std::vector<double> a, b;
  for (std::int64_t i = 0; i < p.size(0); ++i) {
    a.push_back(p[i][0].item<double>());
    b.push_back(p.size(1) > 1 ? p[i][1].item<double>() : 0.0);
  }
  return {a, b};
}

std::string fmt(const nlohmann::json& v) {
  if (v.is_null()) return "n/a";
  if (v.is_number_float()) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g", v.get<double>());
    return buffer;
  }
  return v.dump();
}

}  // namespace

nlohmann::json evaluate_twins(const EvaluateOptions& options) {
  const torch::Device device = model::resolve_device(options.device);
  data::Cache cache = data::Cache::open(options.data);
  const data::Split split = data::parse_split(options.split, "--split");
  std::vector<data::RecordPair> pairs = cache.pairs(split);
  if (pairs.empty())
    throw InputError(options.data.string(), "the " + options.split + " split has no same-patient pair to evaluate");
  if (options.max_pairs > 0 && static_cast<std::int64_t>(pairs.size()) > options.max_pairs)
    pairs.resize(static_cast<std::size_t>(options.max_pairs));
  TwinModel twin_model = TwinModel::load(options.model, device, /*with_evaluator=*/true);
  const std::int64_t leads = twin_model.leads(), samples = twin_model.samples();
  if (!(options.template_shift_ms >= 0 && options.template_shift_ms <= 100))
    throw InputError("--template-shift-ms", "expected 0 to 100 milliseconds");
  if (options.win_rate_persons < 2)
    throw InputError("--win-rate-persons",
                     "expected 2 or more persons, got " + std::to_string(options.win_rate_persons));
  if (options.base_from != "reference" && options.base_from != "target" &&
      options.base_from != "none")
    throw InputError("--base-from",
                     "expected reference, target or none, got '" + options.base_from + "'");
  if (options.base_from == "none") {
    // Twins of no particular person: what the conditions alone give, against which the base
    // vector's share of the person is read. Refused before anything is written where the
    // model never learned it.
    twin_model.require_samples_without_person("--base-from");
    if (options.personalise.steps > 0)
      throw InputError("--base-from",
                       "'none' conditions on no person: it takes no personalisation");
  }
  const double fs = twin_model.sampling_rate();
  if (cache.samples() != samples)
    throw InputError(options.data.string(), "cache windows have " + std::to_string(cache.samples()) +
                                                " samples, the model takes " + std::to_string(samples));

  util::OutputGuard guard;
  guard.create_directory(options.out);
  guard.create_directory(options.out / "images");

  const auto n = static_cast<std::int64_t>(pairs.size());
  std::vector<std::int64_t> ref_rows, target_rows;
  std::vector<std::string> patients;
  for (const auto& p : pairs) {
    ref_rows.push_back(static_cast<std::int64_t>(p.reference));
    target_rows.push_back(static_cast<std::int64_t>(p.target));
    patients.push_back(cache.entries()[p.target].patient_id);
  }
  auto ref_signals = train::cache_signals(cache, ref_rows);
  auto target_signals = train::cache_signals(cache, target_rows);
  auto ref_reports = train::cache_reports(cache, ref_rows);
  auto target_reports = train::cache_reports(cache, target_rows);

  // Target heart rate: the record's own, else measured on the real target. Where the record
  // has its own, the real target's measured rate against it is the heart-rate error of real
  // records (the detector's and the recording's own), the baseline of the twins'.
  std::vector<double> target_hr;
  double real_hr_error = 0;
  std::int64_t real_hr_count = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto recorded =
        cache.entries()[static_cast<std::size_t>(target_rows[static_cast<std::size_t>(i)])]
            .heart_rate;
    const auto measured = signal::measure_heart_rate(
        target_signals[i].contiguous().data_ptr<float>(), leads, samples, fs);
    if (recorded && measured) {
      real_hr_error += std::abs(*measured - *recorded);
      ++real_hr_count;
    }
    target_hr.push_back(recorded ? *recorded : measured.value_or(NAN));
  }
  {
    std::vector<double> age;
    std::vector<std::int64_t> sex;
    for (std::int64_t r : target_rows) {
      const auto& e = cache.entries()[static_cast<std::size_t>(r)];
      age.push_back(e.age.value_or(NAN));
      sex.push_back(static_cast<std::int64_t>(e.sex));
    }
    target_reports.demographics = model::Demographics::from(target_hr, age, sex);
  }

  // ---- twins ----
  spdlog::info("evaluate: {} pairs of the {} split, {} {} steps", n, options.split, options.sampler.sampler(),
               options.sampler.sampler() == "ddpm" ? twin_model.schedule().timesteps() : options.sampler.steps());
  torch::Tensor ref_base, twin_base;
  // The real targets' base vectors: compared with the twins' below, and with --base-from target
  // the twins' condition.
  const torch::Tensor real_base = twin_model.base_vectors(target_signals, target_reports).to(torch::kCPU);
  std::vector<torch::Tensor> twin_parts;
  std::vector<bool> transferred;  // per pair: the reference's difference added (sampling.transfer)
  util::Progress progress("evaluate", n, "twin");
  std::vector<torch::Tensor> ref_base_parts;
  const bool personalising = options.personalise.steps > 0;
  for (std::int64_t start = 0, end = 0; start < n; start = end) {
    end = std::min(n, start + options.batch);
    if (personalising) {  // one reference per batch: the denoiser is fine-tuned on it
      end = start + 1;
      while (end < n && end - start < options.batch &&
             ref_rows[static_cast<std::size_t>(end)] == ref_rows[static_cast<std::size_t>(start)])
        ++end;
    }
    std::vector<std::int64_t> rows(ref_rows.begin() + start, ref_rows.begin() + end);
    ReferenceStart reference{
        ref_signals.slice(0, start, end), {}, train::cache_reports(cache, rows)};
    auto base = twin_model.base_vectors(reference.signals, reference.reports);
    reference.base_vectors = base;
    torch::Tensor condition_base = base;
    if (personalising) {
      PersonaliseOptions personalise = options.personalise;
      personalise.seed =
          util::derive_seed(options.seed ^ 0x9e750aULL, static_cast<std::uint64_t>(start));
      // A fitted base vector conditions the twins; the metrics keep the extractor's.
      condition_base = twin_model.personalise(reference, personalise).expand({end - start, -1});
      reference.base_vectors = condition_base;  // the inverted start runs under it too
    }
    ref_base_parts.push_back(base.to(torch::kCPU));
    const train::Reports targets = train::slice_reports(target_reports, start, end);
    std::vector<torch::Tensor> noise;
    for (std::int64_t i = start; i < end; ++i)
      noise.push_back(
          twin_model.initial_noise(util::derive_seed(options.seed, static_cast<std::uint64_t>(i)),
                                   options.sampler.candidates()));
    diffusion::SamplerOptions sampler = options.sampler;
    sampler.seed(util::derive_seed(options.seed ^ 0x5eedULL, static_cast<std::uint64_t>(start)));
    // base_from "target": the twin is conditioned on the real target's own base vector (an
    // upper bound on what the reference's base vector can carry); the metrics still compare
    // with the reference's.
    // base_from "none": the null base vector of no particular person (a lower bound).
    if (options.base_from == "target") condition_base = real_base.slice(0, start, end);
    if (options.base_from == "none")
      condition_base = twin_model.null_base_vectors(end - start, "--base-from");
    std::vector<bool> transferred_here;
    twin_parts.push_back(twin_model.generate(condition_base, targets, sampler, torch::cat(noise, 0),
                                             &reference, nullptr, &transferred_here));
    transferred.insert(transferred.end(), transferred_here.begin(), transferred_here.end());
    progress.advance(end - start);
  }
  progress.finish();
  if (personalising) twin_model.restore_denoiser();
  auto twins = torch::cat(twin_parts, 0).contiguous();
  ref_base = torch::cat(ref_base_parts, 0);
  twin_base = twin_model.base_vectors(twins, target_reports).to(torch::kCPU);

  nlohmann::json m;
  m["pairs"] = n;
  m["twins"] = twins.size(0);
  m["split"] = options.split;
  // The floats of a seeded run depend on the kernels the CPU's vector set selects.
  m["machine"] = {{"cpu", util::cpu_model()},
                  {"vector_isa", util::cpu_vector_isa()},
                  {"threads", at::get_num_threads()},
                  {"device", device.str()}};
  m["base_from"] = options.base_from;
  m["sampler"] = diffusion::sampler_summary(options.sampler);
  m["personalise"] = personalise_summary(options.personalise);
  m["patients"] = std::set<std::string>(patients.begin(), patients.end()).size();

  // ---- heart rate ----
  std::vector<double> measured_hr(static_cast<std::size_t>(n), NAN);
  double hr_error = 0;
  std::int64_t hr_count = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    auto hr = signal::measure_heart_rate(twins[i].data_ptr<float>(), leads, samples, fs);
    if (hr) measured_hr[static_cast<std::size_t>(i)] = *hr;
    if (hr && std::isfinite(target_hr[static_cast<std::size_t>(i)])) {
      hr_error += std::abs(*hr - target_hr[static_cast<std::size_t>(i)]);
      ++hr_count;
    }
  }
  m["hr_mae_bpm"] = mean_or_null(hr_count, hr_error);
  m["hr_mae_bpm_real"] = mean_or_null(real_hr_count, real_hr_error);
  // ---- limb leads ----
  // What the twins' limb leads break of Einthoven's and Goldberger's relations, against the
  // real targets (recorded or simulated ECGs keep them up to their rounding).
  if (leads >= 6) {
    double twin_residual = 0, real_residual = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      twin_residual += signal::limb_lead_residual(twins[i].data_ptr<float>(), leads, samples);
      real_residual += signal::limb_lead_residual(target_signals[i].contiguous().data_ptr<float>(),
                                                  leads, samples);
    }
    m["limb_lead_residual_mv"] = mean_or_null(n, twin_residual);
    m["limb_lead_residual_mv_real"] = mean_or_null(n, real_residual);
  }
  // One row per pair in OUT/pairs.jsonl: what each twin was asked for and what it became.
  std::vector<nlohmann::json> pair_rows(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    pair_rows[k] = {{"pair", i},
                    {"patient", patients[k]},
                    {"reference", cache.entries()[static_cast<std::size_t>(ref_rows[k])].id},
                    {"target", cache.entries()[static_cast<std::size_t>(target_rows[k])].id},
                    {"statements", target_reports.statements[k]},
                    {"target_hr_bpm", number_or_null(target_hr[k])},
                    {"twin_hr_bpm", number_or_null(measured_hr[k])}};
  }
  m["hr_detected_fraction"] = double(hr_count) / double(n);
  if (options.sampler.transfer() != "none") {
    // The share of twins the reference's difference reached (sampling.transfer).
    m["transfer_applied"] =
        double(std::count(transferred.begin(), transferred.end(), true)) / double(n);
    for (std::int64_t i = 0; i < n; ++i)
      pair_rows[static_cast<std::size_t>(i)]["transferred"] =
          bool(transferred[static_cast<std::size_t>(i)]);
  }

  // ---- personal consistency (base vectors of the frozen extractor) ----
  m["base_cosine_reference_twin"] = eval::cosine_rows(ref_base, twin_base).mean().item<double>();
  m["base_cosine_reference_real"] = eval::cosine_rows(ref_base, real_base).mean().item<double>();
  {
    // Gallery: the real target records of the split, one entry per distinct record.
    std::map<std::int64_t, std::int64_t> first;
    std::vector<std::int64_t> gallery_index;
    std::vector<std::string> gallery_labels;
    for (std::int64_t i = 0; i < n; ++i)
      if (first.emplace(target_rows[static_cast<std::size_t>(i)], i).second) {
        gallery_index.push_back(i);
        gallery_labels.push_back(patients[static_cast<std::size_t>(i)]);
      }
    auto gallery = real_base.index_select(0, torch::tensor(gallery_index, torch::kLong));
    m["identification_top1"] = eval::identification_top1(twin_base, patients, gallery, gallery_labels);
    // The real targets identified among the references: what the extractor itself achieves.
    m["identification_top1_real"] = eval::identification_top1(real_base, patients, ref_base, patients);
    m["identification_gallery"] = gallery_index.size();
  }
  m["silhouette_twins"] = eval::silhouette(twin_base, patients);
  m["silhouette_real"] = eval::silhouette(real_base, patients);

  // ---- distribution and condition adherence (evaluator features) ----
  auto twin_features = twin_model.ecg_features(twins);
  // Features of every real record of the pairs, once; the targets' rows are taken from them.
  std::vector<std::int64_t> all_rows = ref_rows;
  all_rows.insert(all_rows.end(), target_rows.begin(), target_rows.end());
  std::sort(all_rows.begin(), all_rows.end());
  all_rows.erase(std::unique(all_rows.begin(), all_rows.end()), all_rows.end());
  auto all_features = twin_model.ecg_features(train::cache_signals(cache, all_rows));
  std::vector<std::int64_t> target_positions;
  for (std::int64_t row : target_rows)
    target_positions.push_back(std::lower_bound(all_rows.begin(), all_rows.end(), row) - all_rows.begin());
  auto real_features = all_features.index_select(0, torch::tensor(target_positions, torch::kLong));
  // The Fréchet distance needs two rows per set; tiny splits get null instead.
  auto fid = [](const torch::Tensor& a, const torch::Tensor& b) {
    return a.size(0) >= 2 && b.size(0) >= 2 ? number_or_null(eval::frechet_distance(a, b)) : nlohmann::json(nullptr);
  };
  m["fid"] = fid(real_features, twin_features);
  {
    auto even = torch::arange(0, all_features.size(0), 2, torch::kLong);
    auto odd = torch::arange(1, all_features.size(0), 2, torch::kLong);
    m["fid_real_baseline"] =
        fid(all_features.index_select(0, even), all_features.index_select(0, odd));
    m["fid_real_records"] = all_features.size(0);
  }
  if (real_features.size(0) > 3 && twin_features.size(0) > 3) {
    auto pr = eval::precision_recall(real_features, twin_features, 3);
    m["precision"] = pr.precision;
    m["recall"] = pr.recall;
    m["f1"] = pr.f1;
  } else {  // k-NN manifolds with k = 3 need more than 3 rows per set
    m["precision"] = m["recall"] = m["f1"] = nullptr;
  }
  auto text = twin_model.text_features(target_reports.statements);
  m["clip_score"] = eval::clip_score(twin_features, text);
  m["clip_score_real"] = eval::clip_score(real_features, text);
  {
    std::map<std::vector<std::string>, std::int64_t> report_index;
    std::vector<std::vector<std::string>> distinct;
    std::vector<std::int64_t> target_index;
    for (const auto& r : target_reports.statements) {
      auto it = report_index.find(r);
      if (it == report_index.end()) {
        it = report_index.emplace(r, static_cast<std::int64_t>(distinct.size())).first;
        distinct.push_back(r);
      }
      target_index.push_back(it->second);
    }
    auto candidates = twin_model.text_features(distinct);
    m["retrieval_top1_twins"] = eval::retrieval_top1(twin_features, candidates, target_index);
    m["retrieval_top1_real"] = eval::retrieval_top1(real_features, candidates, target_index);
    m["distinct_reports"] = distinct.size();
  }

  // ---- ground truth (simulated cohorts) ----
  std::vector<std::vector<float>> ground_truth(static_cast<std::size_t>(n));
  if (!options.ground_truth.empty()) {
    const fs::path persons_dir = options.ground_truth / "persons";
    if (!fs::is_directory(persons_dir))
      throw InputError(options.ground_truth.string(), "not a simulated cohort (no persons/ folder)");
    std::map<std::string, signal::Person> persons;
    for (const auto& id : std::set<std::string>(patients.begin(), patients.end())) {
      const fs::path file = persons_dir / (id + ".json");
      if (!fs::exists(file)) throw InputError(file.string(), "person of patient " + id + " not found");
      persons[id] = signal::person_from_json(nlohmann::json::parse(util::read_file(file)), file.string());
    }
    // The simulator's condition of a record's statements.
    auto condition_of = [](const std::vector<std::string>& statements) {
      std::string joined;
      for (const auto& s : statements) joined += (joined.empty() ? "" : "|") + s;
      return signal::parse_condition(joined);
    };
    auto render_window = [&](const signal::Person& person,
                             std::int64_t pair) -> std::vector<float> {
      signal::SimCondition condition =
          condition_of(target_reports.statements[static_cast<std::size_t>(pair)]);
      condition.heart_rate = target_hr[static_cast<std::size_t>(pair)];
      signal::RenderOptions render;
      render.noise = false;
      render.seed = util::derive_seed(options.seed, "ground truth");
      signal::SimEcg ecg;
      try {
        ecg = signal::render(person, condition, render);
      } catch (const InputError&) {
        condition.heart_rate = 0;  // the measured rate fell outside the rhythm's range
        ecg = signal::render(person, condition, render);
      }
      signal::FitOptions fit;
      fit.samples = samples;
      fit.seconds = twin_model.window_seconds();
      return signal::fit_to_window(ecg.signal.data(), 12, ecg.samples, ecg.fs, fit).signal;
    };
    // Each candidate (the twins; as baselines the real target records and the references copied
    // unchanged) is compared with every person's ground truth under the pair's target condition.
    struct Tally {
      std::int64_t wins = 0, compared = 0, other_count = 0;
      double own_sum = 0, other_sum = 0, pairwise_sum = 0, among_sum = 0;
    };
    Tally twin_tally, target_tally, reference_tally, reconstruction_tally, ideal_tally;
    // The ideal twin: the person's own noise-free rendering under the target condition, with the
    // traits of the target condition that the reference does not show (the direction of the
    // person's PVCs, the width of their LBBB QRS, ...) drawn from other persons of the population
    // (signal::with_unshown_traits), kIdealDonors draws per pair. No twin can know those traits
    // from the reference, so its win rate is what a twin generator that samples them as the
    // population has them reaches at best.
    constexpr int kIdealDonors = 4;
    const std::uint64_t donor_seed = util::derive_seed(options.seed, "ideal twin donors");
    // The real targets through the autoencoder: what the latent space keeps of the person.
    // encode and decode work in batches of their own.
    const torch::Tensor reconstructed = twin_model.decode(twin_model.encode(target_signals)).contiguous();
    // Templates are compared over common shifts of up to template_shift_ms (20 ms by default):
    // the R peaks of two renderings of one morphology are found a sample or so apart
    // (eval/templates.hpp).
    const auto max_shift = static_cast<std::int64_t>(std::lround(options.template_shift_ms / 1000.0 * fs));
    m["ground_truth_template_shift_ms"] = options.template_shift_ms;
    // Adds the candidate to the tally and returns its row of pairs.jsonl: the distance to the own
    // ground truth, to the nearest other person's, whose that is, and whether the own is nearer.
    auto tally = [&](Tally& t, const float* candidate, const std::vector<float>& own_template,
                     const std::vector<std::vector<float>>& other_templates,
                     const std::vector<std::string>& other_ids) -> nlohmann::json {
      auto candidate_template = eval::beat_template(candidate, leads, samples, fs);
      if (!candidate_template) return nullptr;
      const double own = eval::template_distance(*candidate_template, own_template, leads, max_shift);
      double nearest_other = INFINITY;
      std::size_t nearest = 0;
      std::int64_t farther = 0;
      for (std::size_t k = 0; k < other_templates.size(); ++k) {
        const double d = eval::template_distance(*candidate_template, other_templates[k], leads, max_shift);
        if (d < nearest_other) nearest_other = d, nearest = k;
        t.other_sum += d;
        ++t.other_count;
        if (own < d) ++farther;
      }
      const auto others = static_cast<std::int64_t>(other_templates.size());
      if (others > 0) t.pairwise_sum += double(farther) / double(others);
      ++t.compared;
      t.own_sum += own;
      const bool win = own < nearest_other;
      if (win) ++t.wins;
      const double among =
          eval::win_probability_among(others, others - farther, options.win_rate_persons);
      t.among_sum += among;
      return {{"own_mv", own},
              {"nearest_other_mv", number_or_null(nearest_other)},
              {"nearest_other_patient",
               others == 0 ? nlohmann::json(nullptr) : nlohmann::json(other_ids[nearest])},
              {"others_compared", others},
              {"others_as_near", others - farther},
              {"wins", win},
              {"wins_among_n", among}};
    };
    // Per target statement: pairs, and the wins of the twins, the real targets and their reconstructions.
    struct StatementTally {
      std::int64_t pairs = 0, twins = 0, targets = 0, reconstructed = 0;
      double ideal = 0;
    };
    std::map<std::string, StatementTally> by_statement;
    util::Progress gt_progress("ground truth", n, "twin");
    for (std::int64_t i = 0; i < n; ++i) {
      const std::string& own_id = patients[static_cast<std::size_t>(i)];
      ground_truth[static_cast<std::size_t>(i)] = render_window(persons.at(own_id), i);
      auto own_template = eval::beat_template(ground_truth[static_cast<std::size_t>(i)].data(), leads, samples, fs);
      gt_progress.advance(1);
      if (!own_template) continue;
      std::vector<std::vector<float>> other_templates;
      std::vector<std::string> other_ids;
      for (const auto& [id, person] : persons) {
        if (id == own_id) continue;
        auto other = render_window(person, i);
        if (auto t = eval::beat_template(other.data(), leads, samples, fs)) {
          other_templates.push_back(std::move(*t));
          other_ids.push_back(id);
        }
      }
      const nlohmann::json twin =
          tally(twin_tally, twins[i].data_ptr<float>(), *own_template, other_templates, other_ids);
      const nlohmann::json target = tally(target_tally, target_signals[i].contiguous().data_ptr<float>(),
                                          *own_template, other_templates, other_ids);
      const nlohmann::json reference = tally(reference_tally, ref_signals[i].contiguous().data_ptr<float>(),
                                             *own_template, other_templates, other_ids);
      const nlohmann::json reconstruction =
          tally(reconstruction_tally, reconstructed[i].data_ptr<float>(), *own_template,
                other_templates, other_ids);
      auto won = [](const nlohmann::json& r) { return !r.is_null() && r.at("wins").get<bool>(); };
      const signal::SimCondition reference_condition =
          condition_of(ref_reports.statements[static_cast<std::size_t>(i)]);
      double ideal_wins = 0;
      for (int d = 0; d < kIdealDonors; ++d) {
        const signal::Person donor = signal::draw_person(donor_seed, i * kIdealDonors + d);
        const auto ideal = render_window(
            signal::with_unshown_traits(persons.at(own_id), donor, reference_condition), i);
        ideal_wins +=
            won(tally(ideal_tally, ideal.data(), *own_template, other_templates, other_ids));
      }
      ideal_wins /= kIdealDonors;
      pair_rows[static_cast<std::size_t>(i)]["ground_truth"] = {
          {"twin", twin},
          {"real_target", target},
          {"reference", reference},
          {"reconstructed_target", reconstruction},
          {"ideal_twin", {{"donors", kIdealDonors}, {"wins", ideal_wins}}}};
      for (const auto& statement : target_reports.statements[static_cast<std::size_t>(i)]) {
        auto& st = by_statement[statement];
        ++st.pairs;
        st.twins += won(twin);
        st.targets += won(target);
        st.reconstructed += won(reconstruction);
        st.ideal += ideal_wins;
      }
    }
    gt_progress.finish();
    m["ground_truth_win_rate"] = mean_or_null(twin_tally.compared, double(twin_tally.wins));
    m["ground_truth_compared"] = twin_tally.compared;
    // Wilson's 95 % interval, taking the pairs as independent draws. Pairs of one person are
    // not, so the uncertainty is at least this wide.
    if (twin_tally.compared > 0) {
      const eval::Interval interval = eval::wilson_interval(twin_tally.wins, twin_tally.compared);
      m["ground_truth_win_rate_ci95"] = {interval.lower, interval.upper};
    }
    // The share of other persons whose ground truth is farther from the twin than its own.
    m["ground_truth_pairwise_win_rate"] =
        mean_or_null(twin_tally.compared, twin_tally.pairwise_sum);
    m["ground_truth_distance_mv"] = mean_or_null(twin_tally.compared, twin_tally.own_sum);
    m["other_person_distance_mv"] = mean_or_null(twin_tally.other_count, twin_tally.other_sum);
    // Baselines: the real target record (a noisy rendering of the ground truth: the ceiling) and the
    // reference record copied unchanged (what the person's own morphology alone achieves).
    m["ground_truth_win_rate_real_target"] =
        mean_or_null(target_tally.compared, double(target_tally.wins));
    m["ground_truth_win_rate_reference"] =
        mean_or_null(reference_tally.compared, double(reference_tally.wins));
    m["ground_truth_pairwise_win_rate_reference"] =
        mean_or_null(reference_tally.compared, reference_tally.pairwise_sum);
    m["ground_truth_win_rate_reconstructed_target"] =
        mean_or_null(reconstruction_tally.compared, double(reconstruction_tally.wins));
    m["ground_truth_win_rate_ideal_twin"] =
        mean_or_null(ideal_tally.compared, double(ideal_tally.wins));
    m["ground_truth_ideal_twin_donors"] = kIdealDonors;
    // The same rates for a cohort of N held-out persons (the own and N - 1 others drawn at random
    // from the split's), in expectation over the draw (eval::win_probability_among).
    m["ground_truth_persons"] = persons.size();
    m["ground_truth_win_rate_n_persons"] = options.win_rate_persons;
    m["ground_truth_win_rate_n"] = mean_or_null(twin_tally.compared, twin_tally.among_sum);
    m["ground_truth_win_rate_n_real_target"] =
        mean_or_null(target_tally.compared, target_tally.among_sum);
    m["ground_truth_win_rate_n_reference"] =
        mean_or_null(reference_tally.compared, reference_tally.among_sum);
    m["ground_truth_win_rate_n_reconstructed_target"] =
        mean_or_null(reconstruction_tally.compared, reconstruction_tally.among_sum);
    m["ground_truth_win_rate_n_ideal_twin"] =
        mean_or_null(ideal_tally.compared, ideal_tally.among_sum);
    // Win rates by target statement (a pair counts once for each of its statements; a twin
    // without a detectable beat counts as a loss).
    nlohmann::json by = nlohmann::json::object();
    for (const auto& [statement, st] : by_statement)
      by[statement] = {{"pairs", st.pairs},
                       {"twins", double(st.twins) / double(st.pairs)},
                       {"real_target", double(st.targets) / double(st.pairs)},
                       {"reconstructed_target", double(st.reconstructed) / double(st.pairs)},
                       {"ideal_twin", st.ideal / double(st.pairs)}};
    m["ground_truth_win_rate_by_statement"] = by;
  }

  // ---- pictures ----
  std::vector<std::string> images;
  const std::int64_t examples = std::min<std::int64_t>(options.example_plots, n);
  for (std::int64_t i = 0; i < examples; ++i) {
    const auto& target_entry = cache.entries()[static_cast<std::size_t>(target_rows[static_cast<std::size_t>(i)])];
    const auto& ref_entry = cache.entries()[static_cast<std::size_t>(ref_rows[static_cast<std::size_t>(i)])];
    auto twin = report_window(twins[i].data_ptr<float>(), leads, samples, fs, "twin", target_entry.statements,
                              target_hr[static_cast<std::size_t>(i)]);
    twin.patient_id = target_entry.patient_id;
    auto ref = report_window(ref_signals[i].contiguous().data_ptr<float>(), leads, samples, fs, ref_entry.id,
                             ref_entry.statements, ref_entry.heart_rate);
    const std::string name = "pair" + std::to_string(i);
    auto twin_input = data::plot_input(twin, "twin");
    auto ref_input = data::plot_input(ref, "reference");
    io::plot_ecg12(twin_input, &ref_input, {}, options.out / "images" / (name + "_reference.png"));
    images.push_back("images/" + name + "_reference.png");
    guard.add_file(options.out / images.back());
    const data::Record other =
        ground_truth[static_cast<std::size_t>(i)].empty()
            ? report_window(target_signals[i].contiguous().data_ptr<float>(), leads, samples, fs, target_entry.id,
                            target_entry.statements, target_entry.heart_rate)
            : report_window(ground_truth[static_cast<std::size_t>(i)].data(), leads, samples, fs, "ground truth",
                            target_entry.statements, target_hr[static_cast<std::size_t>(i)]);
    auto other_input = data::plot_input(other, ground_truth[static_cast<std::size_t>(i)].empty() ? "real target" : "ground truth");
    const std::string suffix = ground_truth[static_cast<std::size_t>(i)].empty() ? "_target.png" : "_ground_truth.png";
    io::plot_ecg12(twin_input, &other_input, {}, options.out / "images" / (name + suffix));
    images.push_back("images/" + name + suffix);
    guard.add_file(options.out / images.back());
  }
  {
    io::ScatterChart chart;
    chart.title = "Heart rate: target vs measured on the twin";
    chart.x_label = "target heart rate (bpm)";
    chart.y_label = "twin heart rate (bpm)";
    chart.x = target_hr;
    chart.y = measured_hr;
    chart.diagonal = true;
    io::plot_scatter(chart, options.out / "images" / "heart_rate.png");
    guard.add_file(options.out / "images" / "heart_rate.png");
    std::map<std::string, int> colour;
    for (const auto& p : patients) colour.emplace(p, static_cast<int>(colour.size()));
    auto [a, b] = project_2d(torch::cat({real_base, twin_base}, 0));
    io::ScatterChart bases;
    bases.title = "Base vectors (first two principal components), coloured by patient";
    bases.x_label = "PC 1";
    bases.y_label = "PC 2";
    bases.x = a;
    bases.y = b;
    for (int pass = 0; pass < 2; ++pass)
      for (const auto& p : patients) bases.group.push_back(colour[p]);
    io::plot_scatter(bases, options.out / "images" / "base_vectors.png");
    guard.add_file(options.out / "images" / "base_vectors.png");
  }

  // ---- files ----
  util::write_file_atomic(options.out / "metrics.json", m.dump(2) + "\n");
  guard.add_file(options.out / "metrics.json");
  {
    std::string lines;
    for (const auto& row : pair_rows) lines += row.dump() + "\n";
    util::write_file_atomic(options.out / "pairs.jsonl", lines);
    guard.add_file(options.out / "pairs.jsonl");
  }
  std::ostringstream md;
  md << "# ecgtwin evaluation\n\n"
     << "Model `" << options.model.string() << "`, data `" << options.data.string() << "` ("
     << options.split << " split: " << n << " same-patient pairs, "
     << m["patients"].get<std::size_t>() << " patients), sampler " << options.sampler.sampler()
     << " " << options.sampler.steps() << " steps, seed " << options.seed << ".\n\n"
     << "| metric | twins | real records (baseline) |\n|---|---|---|\n"
     << "| heart-rate MAE (bpm) | " << fmt(m["hr_mae_bpm"]) << " | " << fmt(m["hr_mae_bpm_real"])
     << " |\n"
     << "| limb-lead residual (mV; 0 keeps Einthoven's and Goldberger's relations) | "
     << fmt(m.value("limb_lead_residual_mv", nlohmann::json())) << " | "
     << fmt(m.value("limb_lead_residual_mv_real", nlohmann::json())) << " |\n"
     << "| FID (evaluator features) | " << fmt(m["fid"]) << " | " << fmt(m["fid_real_baseline"])
     << " |\n"
     << "| precision / recall / F1 (k = 3) | " << fmt(m["precision"]) << " / " << fmt(m["recall"])
     << " / " << fmt(m["f1"]) << " | |\n"
     << "| CLIP score | " << fmt(m["clip_score"]) << " | " << fmt(m["clip_score_real"]) << " |\n"
     << "| statement retrieval top-1 | " << fmt(m["retrieval_top1_twins"]) << " | "
     << fmt(m["retrieval_top1_real"]) << " |\n"
     << "| base-vector cosine to the reference | " << fmt(m["base_cosine_reference_twin"]) << " | "
     << fmt(m["base_cosine_reference_real"]) << " |\n"
     << "| patient identification top-1 | " << fmt(m["identification_top1"]) << " | "
     << fmt(m["identification_top1_real"]) << " |\n"
     << "| silhouette by patient | " << fmt(m["silhouette_twins"]) << " | "
     << fmt(m["silhouette_real"]) << " |\n";
  if (m.contains("ground_truth_win_rate"))
    md << "| nearer own ground-truth twin than any other person's | "
       << fmt(m["ground_truth_win_rate"])
       << (m.contains("ground_truth_win_rate_ci95")
               ? " (95 % interval " + fmt(m["ground_truth_win_rate_ci95"][0]) + " - " +
                     fmt(m["ground_truth_win_rate_ci95"][1]) + ", pairs taken as independent)"
               : std::string())
       << " | " << fmt(m["ground_truth_win_rate_real_target"]) << " (real target); "
       << fmt(m["ground_truth_win_rate_reference"]) << " (reference copied); "
       << fmt(m["ground_truth_win_rate_reconstructed_target"])
       << " (real target through the autoencoder); " << fmt(m["ground_truth_win_rate_ideal_twin"])
       << " (ideal twin) |\n"
       << "| the same among " << m["ground_truth_win_rate_n_persons"].get<std::int64_t>()
       << " of the " << m["ground_truth_persons"].get<std::int64_t>()
       << " persons (expected over the draw) | " << fmt(m["ground_truth_win_rate_n"]) << " | "
       << fmt(m["ground_truth_win_rate_n_real_target"]) << " (real target); "
       << fmt(m["ground_truth_win_rate_n_reference"]) << " (reference copied); "
       << fmt(m["ground_truth_win_rate_n_reconstructed_target"])
       << " (real target through the autoencoder); " << fmt(m["ground_truth_win_rate_n_ideal_twin"])
       << " (ideal twin) |\n"
       << "| share of other persons' ground truths farther than the own | "
       << fmt(m["ground_truth_pairwise_win_rate"]) << " | |\n"
       << "| beat-template distance to own / other ground truth (mV) | "
       << fmt(m["ground_truth_distance_mv"]) << " / " << fmt(m["other_person_distance_mv"])
       << " | |\n";
  md << "\nIdentification: each twin's base vector against the real target records of the split "
        "(nearest by cosine); the real column identifies the real targets among the references. "
        "Ground truth: average-beat templates (median over beats, R-peak aligned, compared over "
        "common shifts of up to "
     << options.template_shift_ms
     << " ms) of the twin against the noise-free simulator rendering of the same person, and of "
        "every other person of the split, under the target condition and rate. The ideal twin is "
        "that rendering of the person with the traits of the target condition that the reference "
        "does not show (the direction of the person's PVCs, the width of their LBBB QRS, the "
        "height of their ST elevation, ...) drawn from other simulated persons ("
     << m.value("ground_truth_ideal_twin_donors", 0)
     << " draws per pair): it knows all that the reference shows and draws the rest as the "
        "population has it, which no twin generator can do better than by more than a lucky or "
        "central choice of those traits.\n\n"
     << "![heart rate](images/heart_rate.png)\n\n![base vectors](images/base_vectors.png)\n\n";
  if (m.contains("ground_truth_win_rate_by_statement")) {
    md << "Nearer own ground-truth twin than any other person's, by target statement:\n\n"
       << "| statement | pairs | twins | real targets | real targets through the autoencoder | "
          "ideal twin |\n"
       << "|---|---:|---:|---:|---:|---:|\n";
    for (const auto& [statement, v] : m["ground_truth_win_rate_by_statement"].items())
      md << "| " << statement << " | " << v["pairs"].get<std::int64_t>() << " | " << fmt(v["twins"])
         << " | " << fmt(v["real_target"]) << " | " << fmt(v["reconstructed_target"]) << " | "
         << fmt(v["ideal_twin"]) << " |\n";
    md << "\n";
  }
  for (const auto& image : images) md << "![" << image << "](" << image << ")\n\n";
  util::write_file_atomic(options.out / "report.md", md.str());
  guard.add_file(options.out / "report.md");
  guard.keep();
  return m;
}

}  // namespace ecgtwin::pipeline
