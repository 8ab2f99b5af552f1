#include "ecgtwin/pipeline/generate.hpp"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>

#include "ecgtwin/config/tree.hpp"
#include "ecgtwin/data/dataset.hpp"
#include "ecgtwin/data/preprocess.hpp"
#include "ecgtwin/data/record_io.hpp"
#include "ecgtwin/diffusion/config.hpp"
#include "ecgtwin/io/npy.hpp"
#include "ecgtwin/io/plot.hpp"
#include "ecgtwin/model/device.hpp"
#include "ecgtwin/pipeline/twin_model.hpp"
#include "ecgtwin/signal/heart_rate.hpp"
#include "ecgtwin/signal/limb_leads.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "ecgtwin/util/log.hpp"
#include "ecgtwin/util/random.hpp"

namespace ecgtwin::pipeline {

namespace {

std::string slug(const std::vector<std::string>& statements) {
  std::string out;
  for (const auto& s : statements) {
    if (!out.empty()) out += "+";
    for (char c : s) {
      if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      else if (!out.empty() && out.back() != '_' && out.back() != '+') out += '_';
    }
    while (!out.empty() && out.back() == '_') out.pop_back();
  }
  if (out.size() > 80) out = out.substr(0, 64) + "_" + util::hex64(util::fnv1a64(out)).substr(0, 8);
  return out;
}

void check_rate(double hr, const std::string& where) {
  if (!(hr >= 20 && hr <= 300))
    throw InputError(where, "heart rate must be in 20..300 bpm, got " + number_text(hr));
}

bool is_record_file(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".hea" || ext == ".npy" || (ext == ".csv" && p.filename() != "ptbxl_database.csv" &&
                                            p.filename() != "scp_statements.csv");
}

struct Reference {
  fs::path path;
  std::optional<data::DatasetEntry> entry;  // manifest metadata
};

std::vector<Reference> references_of(const std::vector<fs::path>& inputs) {
  std::vector<Reference> out;
  for (const auto& p : inputs) {
    if (p.extension() == ".csv" && fs::is_regular_file(p)) {
      // A manifest when it has a 'path' column; otherwise a CSV record.
      std::string head = util::read_file(p).substr(0, 4096);
      std::string first_line = head.substr(0, head.find('\n'));
      if (first_line.find("path") != std::string::npos && first_line.find("patient_id") != std::string::npos) {
        for (auto& e : data::index_manifest(p).entries) out.push_back({e.path, e});
        continue;
      }
    }
    out.push_back({p, std::nullopt});
  }
  return out;
}

// One generated ECG to make: target index, sample index and the seed of its initial noise.
struct Job {
  std::size_t target;
  std::int64_t sample;
  std::uint64_t seed;
};

// Every (target, sample) of options, target by target, each seeded from `seed` (a reference's
// own seed, or the population's) and its place.
std::vector<Job> target_jobs(const GenerateOptions& options, std::uint64_t seed) {
  std::vector<Job> jobs;
  for (std::size_t t = 0; t < options.targets.size(); ++t)
    for (std::int64_t k = 0; k < options.samples; ++k)
      jobs.push_back({t, k,
                      util::derive_seed(seed, static_cast<std::uint64_t>(
                                                  t * 1000003 + static_cast<std::size_t>(k)))});
  return jobs;
}

// Writes one generated ECG as DIR/<id>.{hea,dat,npy,json} and, with `plot`, DIR/<id>.png over
// `overlay` (when given); returns its summary entry (files, seed, target and measured rate).
nlohmann::json write_generated(const data::Record& ecg, const float* x, const fs::path& dir,
                               const TwinTarget& target, std::int64_t sample, std::uint64_t seed,
                               const std::string& title, const data::Record* overlay, bool plot,
                               util::OutputGuard& guard) {
  guard.create_directory(dir);
  auto header = data::save_record(ecg, dir / (ecg.id + ".hea"), data::RecordFormat::kWfdb);
  guard.add_file(header);
  guard.add_file(dir / (ecg.id + ".dat"));
  auto npy = data::save_record(ecg, dir / (ecg.id + ".npy"), data::RecordFormat::kNpy);
  guard.add_file(npy);
  guard.add_file(dir / (ecg.id + ".json"));
  const std::int64_t leads = ecg.leads();
  auto measured = signal::measure_heart_rate(x, leads, ecg.samples(), ecg.sampling_rate);
  nlohmann::json json = {
      {"target", target.name},
      {"sample", sample},
      {"seed", seed},
      {"wfdb", header.string()},
      {"npy", npy.string()},
      {"target_hr", target.heart_rate},
      {"measured_hr", measured ? nlohmann::json(*measured) : nlohmann::json(nullptr)}};
  // How far the limb leads are from keeping Einthoven's and Goldberger's relations (0 for a
  // recording, up to its rounding).
  if (leads >= 6)
    json["limb_lead_residual_mv"] = signal::limb_lead_residual(x, leads, ecg.samples());
  if (plot) {
    const fs::path png = dir / (ecg.id + ".png");
    auto main_input = data::plot_input(ecg, overlay != nullptr ? "twin" : "generated");
    main_input.title = title;
    if (overlay != nullptr) {
      auto overlay_input = data::plot_input(*overlay, "reference");
      io::plot_ecg12(main_input, &overlay_input, {}, png);
    } else {
      io::plot_ecg12(main_input, nullptr, {}, png);
    }
    guard.add_file(png);
    json["plot"] = png.string();
  }
  return json;
}

// generate_twins without a reference: options.samples ECGs of no particular person per target,
// conditioned on the null base vector (the model's samples_without_person() checked by the
// caller), into OUT/population/<target name>/ecg_<k>.*.
void generate_population(const GenerateOptions& options, TwinModel& twin_model,
                         util::OutputGuard& guard, GenerateSummary& summary) {
  const std::int64_t leads = twin_model.leads(), samples = twin_model.samples();
  const double fs = twin_model.sampling_rate();
  const std::vector<Job> jobs = target_jobs(options, util::derive_seed(options.seed, "population"));
  util::Progress progress("generate", static_cast<std::int64_t>(jobs.size()), "ECG");
  nlohmann::json ecgs = nlohmann::json::array();
  for (std::size_t start = 0; start < jobs.size();
       start += static_cast<std::size_t>(options.batch)) {
    const std::size_t end = std::min(jobs.size(), start + static_cast<std::size_t>(options.batch));
    std::vector<data::Condition> conditions;
    std::vector<torch::Tensor> noise;
    for (std::size_t j = start; j < end; ++j) {
      const auto& t = options.targets[jobs[j].target];
      conditions.push_back({t.statements, t.heart_rate, t.age, t.sex});
      noise.push_back(twin_model.initial_noise(jobs[j].seed, options.sampler.candidates()));
    }
    const auto count = static_cast<std::int64_t>(end - start);
    diffusion::SamplerOptions sampler = options.sampler;
    sampler.seed(jobs[start].seed);
    std::vector<std::int64_t> chosen;
    auto generated =
        twin_model
            .generate(twin_model.null_base_vectors(count, "--reference"), make_reports(conditions),
                      sampler, torch::cat(noise, 0), nullptr, &chosen)
            .contiguous();
    for (std::size_t j = start; j < end; ++j) {
      const auto& job = jobs[j];
      const auto& target = options.targets[job.target];
      const float* x =
          generated.data_ptr<float>() + static_cast<std::int64_t>(j - start) * leads * samples;
      data::Record ecg = window_record(x, leads, samples, fs, "ecg_" + std::to_string(job.sample));
      ecg.age = target.age;
      ecg.sex = target.sex;
      ecg.statements = target.statements;
      ecg.heart_rate = target.heart_rate;
      nlohmann::json json = write_generated(
          ecg, x, options.out / "population" / target.name, target, job.sample, job.seed,
          target.name + " (no particular person, ECG " + std::to_string(job.sample) + ")", nullptr,
          options.plots, guard);
      if (sampler.candidates() > 1) json["candidate"] = chosen[j - start];
      ecgs.push_back(json);
      ++summary.twins;
      progress.advance(1);
    }
  }
  progress.finish();
  summary.json["population"] = {{"ecgs", ecgs}};
}

}  // namespace

data::PreparedWindow reference_window(data::Record& record, const TwinModel& model) {
  data::PreprocessOptions pre;
  pre.samples = model.samples();
  pre.seconds = model.window_seconds();
  pre.stride_seconds = 0;
  data::PreparedRecord prepared = data::preprocess_record(record, pre);
  if (prepared.non_finite > 0)
    throw InputError(record.source, "holds " + std::to_string(prepared.non_finite) +
                                        " NaN or infinite sample(s); a reference must be "
                                        "finite (ecgtwin inspect counts them)");
  data::PreparedWindow first = std::move(prepared.windows.at(0));
  if (!record.heart_rate) record.heart_rate = first.heart_rate;
  return first;
}

TwinTarget make_target(const std::string& statements, double heart_rate) {
  TwinTarget t;
  t.statements = data::split_statements(statements);
  if (t.statements.empty()) throw InputError("--condition", "no statement given (separate statements with '|')");
  check_rate(heart_rate, "--hr");
  t.heart_rate = heart_rate;
  t.name = slug(t.statements) + "_" + std::to_string(static_cast<int>(std::lround(heart_rate))) + "bpm";
  return t;
}

std::vector<TwinTarget> read_targets(const fs::path& file) {
  config::Json tree = config::load_file(file);
  if (tree.is_object() && tree.contains("conditions")) tree = tree.at("conditions");
  if (!tree.is_array() || tree.empty())
    throw InputError(file.string(), "expected a list of conditions ({statements, hr, age?, sex?, name?})");
  std::vector<TwinTarget> out;
  for (std::size_t i = 0; i < tree.size(); ++i) {
    const std::string where = file.string() + ": conditions[" + std::to_string(i) + "]";
    config::Section s(tree[i], where);
    config::Json statements = s.raw("statements");
    std::string joined;
    if (statements.is_string()) joined = statements.get<std::string>();
    else if (statements.is_array())
      for (const auto& x : statements) joined += (joined.empty() ? "" : "|") + x.get<std::string>();
    else throw InputError(where + ".statements", "expected a list of statements or 'a|b'");
    if (!s.has("hr")) throw InputError(where + ".hr", "the target heart rate is required");
    TwinTarget t = make_target(joined, s.get("hr", 0.0));
    if (s.has("age")) t.age = s.get_in("age", 0.0, 0.0, 130.0);
    if (s.has("sex")) t.sex = data::parse_sex(s.get("sex", ""));
    t.name = s.get("name", t.name);
    s.finish();
    out.push_back(t);
  }
  return out;
}

std::vector<fs::path> resolve_references(const fs::path& reference) {
  if (fs::is_directory(reference)) {
    std::vector<fs::path> out;
    for (const auto& item : fs::recursive_directory_iterator(reference))
      if (item.is_regular_file() && is_record_file(item.path())) out.push_back(item.path());
    std::sort(out.begin(), out.end());
    if (out.empty()) throw InputError(reference.string(), "no record (.hea, .npy, .csv) in this folder");
    return out;
  }
  if (!fs::exists(reference) && !fs::exists(fs::path(reference.string() + ".hea")))
    throw InputError(reference.string(), "reference not found");
  return {reference};
}

namespace {

void generate_from_references(const GenerateOptions& options, TwinModel& twin_model,
                              util::OutputGuard& guard, GenerateSummary& summary) {
  const std::int64_t leads = twin_model.leads(), samples = twin_model.samples();
  const double fs = twin_model.sampling_rate();
  auto references = references_of(options.references);
  util::Progress progress("generate", static_cast<std::int64_t>(references.size() * options.targets.size()) * options.samples,
                          "twin");
  std::int64_t reference_index = 0;
  const auto skipped = [&summary]() {
    return summary.failures.empty()
               ? std::string()
               : std::to_string(summary.failures.size()) + " reference(s) skipped";
  };
  for (const auto& reference : references) {
    data::Record record;
    torch::Tensor window;
    try {
      record = data::load_record(reference.path, options.load);
      if (reference.entry) {
        const auto& e = *reference.entry;
        if (record.statements.empty()) record.statements = e.statements;
        if (!record.age) record.age = e.age;
        if (record.sex == data::Sex::kUnknown) record.sex = e.sex;
        if (!record.heart_rate) record.heart_rate = e.heart_rate;
        if (record.patient_id.empty()) record.patient_id = e.patient_id;
      }
      data::PreparedWindow first = reference_window(record, twin_model);
      window = torch::from_blob(first.signal.data(), {1, leads, samples}, torch::kFloat).clone();
    } catch (const Error& e) {
      spdlog::warn("skipping reference {}: {}", reference.path.string(), e.what());
      summary.failures.push_back({reference.path.string(), e.what()});
      summary.json["failures"].push_back({{"reference", reference.path.string()}, {"reason", e.what()}});
      ++reference_index;
      // The skipped reference's twins count as done, and the bar says they were skipped.
      progress.advance(static_cast<std::int64_t>(options.targets.size()) * options.samples,
                       skipped());
      continue;
    }
    std::string reference_id = record.id.empty() ? reference.path.stem().string() : record.id;
    data::Condition own{record.statements, record.heart_rate.value_or(0), record.age, record.sex};
    const train::Reports own_report = make_reports({own});
    const torch::Tensor own_base = twin_model.base_vectors(window, own_report);
    ReferenceStart from_reference{window, own_base, own_report};
    torch::Tensor base = own_base;  // the twins' condition: a fitted one when personalised
    if (options.personalise.steps > 0) {
      PersonaliseOptions personalise = options.personalise;
      personalise.seed = util::derive_seed(options.seed ^ 0x9e750aULL,
                                           static_cast<std::uint64_t>(reference_index));
      base = twin_model.personalise(from_reference, personalise);
      from_reference.base_vectors = base;  // the inverted start runs under it too
    }

    data::Record reference_window = window_record(window.data_ptr<float>(), leads, samples, fs, record.id);
    reference_window.patient_id = record.patient_id;
    reference_window.age = record.age;
    reference_window.sex = record.sex;
    reference_window.statements = record.statements;
    reference_window.heart_rate = record.heart_rate;
    nlohmann::json reference_json = {{"reference", reference.path.string()},
                                      {"id", reference_id},
                                      {"statements", record.statements},
                                      {"hr", record.heart_rate ? nlohmann::json(*record.heart_rate) : nlohmann::json(nullptr)},
                                      {"twins", nlohmann::json::array()}};

    // Every (target, sample) of this reference, sampled in batches.
    const std::vector<Job> jobs = target_jobs(
        options, util::derive_seed(options.seed, static_cast<std::uint64_t>(reference_index)));
    for (std::size_t start = 0; start < jobs.size(); start += static_cast<std::size_t>(options.batch)) {
      const std::size_t end = std::min(jobs.size(), start + static_cast<std::size_t>(options.batch));
      std::vector<data::Condition> targets;
      std::vector<torch::Tensor> noise;
      for (std::size_t j = start; j < end; ++j) {
        const auto& t = options.targets[jobs[j].target];
        targets.push_back({t.statements, t.heart_rate, t.age ? t.age : record.age,
                           t.sex == data::Sex::kUnknown ? record.sex : t.sex});
        noise.push_back(twin_model.initial_noise(jobs[j].seed, options.sampler.candidates()));
      }
      const auto count = static_cast<std::int64_t>(end - start);
      diffusion::SamplerOptions sampler = options.sampler;
      sampler.seed(jobs[start].seed);
      std::vector<std::int64_t> chosen;
      std::vector<bool> transferred;
      auto twins = twin_model
                       .generate(base.expand({count, base.size(1)}), make_reports(targets), sampler,
                                 torch::cat(noise, 0), &from_reference, &chosen, &transferred)
                       .contiguous();
      for (std::size_t j = start; j < end; ++j) {
        const auto& job = jobs[j];
        const auto& target = options.targets[job.target];
        const float* x = twins.data_ptr<float>() + static_cast<std::int64_t>(j - start) * leads * samples;
        data::Record twin = window_record(x, leads, samples, fs, "twin_" + std::to_string(job.sample));
        twin.patient_id = record.patient_id;
        twin.age = targets[j - start].age;
        twin.sex = targets[j - start].sex;
        twin.statements = target.statements;
        twin.heart_rate = target.heart_rate;
        nlohmann::json twin_json = write_generated(
            twin, x, options.out / reference_id / target.name, target, job.sample, job.seed,
            reference_id + " -> " + target.name + " (twin " + std::to_string(job.sample) + ")",
            &reference_window, options.plots, guard);
        // Which of the seed's candidates (sampling.candidates) the twin is: 0 is the seed's own
        // noise.
        if (sampler.candidates() > 1) twin_json["candidate"] = chosen[j - start];
        // Whether the reference's difference reached the twin (sampling.transfer); false where
        // it would have changed the twin's beats.
        if (sampler.transfer() != "none") twin_json["transferred"] = bool(transferred[j - start]);
        reference_json["twins"].push_back(twin_json);
        ++summary.twins;
        progress.advance(1, skipped());
      }
    }
    summary.json["references"].push_back(reference_json);
    ++reference_index;
  }
  progress.finish();
}

}  // namespace

GenerateSummary generate_twins(const GenerateOptions& options) {
  if (options.targets.empty()) throw InputError("--condition", "no target condition given");
  if (options.samples < 1) throw InputError("--samples", "expected at least 1");
  const torch::Device device = model::resolve_device(options.device);
  TwinModel twin_model = TwinModel::load(options.model, device);
  const double fs = twin_model.sampling_rate();
  if (options.references.empty()) {
    // ECGs of no particular person: refused before anything is written where they cannot be.
    if (options.personalise.steps > 0)
      throw InputError("--personalise-steps", "personalisation fits a reference: give --reference");
    twin_model.require_samples_without_person("--reference");
  }

  util::OutputGuard guard;
  guard.create_directory(options.out);
  GenerateSummary summary;
  summary.json = {{"model", options.model.string()},
                  {"sampler", diffusion::sampler_summary(options.sampler)},
                  {"personalise", personalise_summary(options.personalise)},
                  {"seed", options.seed},
                  {"samples_per_condition", options.samples},
                  {"sampling_rate", fs},
                  {"references", nlohmann::json::array()},
                  {"failures", nlohmann::json::array()}};
  auto& conditions_json = summary.json["conditions"] = nlohmann::json::array();
  for (const auto& t : options.targets)
    conditions_json.push_back(
        {{"name", t.name}, {"statements", t.statements}, {"hr", t.heart_rate}});

  if (options.references.empty()) {
    generate_population(options, twin_model, guard, summary);
  } else {
    generate_from_references(options, twin_model, guard, summary);
  }
  summary.json["twins"] = summary.twins;
  util::write_file_atomic(options.out / "summary.json", summary.json.dump(2) + "\n");
  guard.add_file(options.out / "summary.json");
  if (summary.twins == 0)
    throw InputError(options.out.string(), "no twin generated: every reference failed (see the messages above)");
  guard.keep();
  return summary;
}

}  // namespace ecgtwin::pipeline
