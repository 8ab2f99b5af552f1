#include "ecgtwin/pipeline/twin_model.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "ecgtwin/diffusion/config.hpp"
#include "ecgtwin/diffusion/guidance.hpp"
#include "ecgtwin/eval/templates.hpp"
#include "ecgtwin/model/autocast.hpp"
#include "ecgtwin/signal/heart_rate.hpp"
#include "ecgtwin/signal/limb_leads.hpp"
#include "ecgtwin/signal/rate_fit.hpp"
#include "ecgtwin/signal/rpeaks.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/random.hpp"

namespace ecgtwin::pipeline {

train::Reports make_reports(const std::vector<data::Condition>& conditions) {
  train::Reports out;
  std::vector<double> hr, age;
  std::vector<std::int64_t> sex;
  for (const auto& c : conditions) {
    out.statements.push_back(c.statements);
    hr.push_back(c.heart_rate > 0 ? c.heart_rate : NAN);
    age.push_back(c.age.value_or(NAN));
    sex.push_back(static_cast<std::int64_t>(c.sex));
  }
  out.demographics = model::Demographics::from(hr, age, sex);
  return out;
}

PersonaliseOptions read_personalise_options(config::Section& section) {
  const PersonaliseOptions defaults;
  PersonaliseOptions options;
  options.steps = section.get_in("steps", defaults.steps, std::int64_t{0}, std::int64_t{1000000});
  options.batch = section.get_in("batch", defaults.batch, std::int64_t{1}, std::int64_t{65536});
  options.fit = section.choice("fit", defaults.fit, {"denoiser", "base-vector", "both"});
  options.lr = section.get_in("lr", defaults.lr, 0.0, 1.0);
  options.base_lr = section.get_in("base_lr", defaults.base_lr, 0.0, 100.0);
  return options;
}

nlohmann::json personalise_summary(const PersonaliseOptions& options) {
  return {{"steps", options.steps},
          {"batch", options.batch},
          {"fit", options.fit},
          {"lr", options.lr},
          {"base_lr", options.base_lr}};
}

TwinModel TwinModel::load(const fs::path& dir, const torch::Device& device, bool with_evaluator) {
  if (!fs::is_directory(dir)) throw InputError(dir.string(), "model folder not found");
  TwinModel m;
  m.device_ = device;
  auto autoencoder = train::load_autoencoder(dir / "autoencoder.pt", device);
  auto extractor = train::load_extractor(dir / "extractor.pt", device);
  auto diffusion = train::load_diffusion(dir / "diffusion.pt", device);
  m.config_ = diffusion.config;
  m.autoencoder_ = autoencoder.network;
  m.extractor_ = extractor.network;
  m.diffusion_ = diffusion.network;
  m.signal_space_ = m.config_.model.denoiser.kind() == "signal_dit";
  m.schedule_ = diffusion::NoiseSchedule(m.config_.schedule).to(device);
  if (with_evaluator) m.evaluator_ = train::load_evaluator(dir / "evaluator.pt", device).network;
  return m;
}

torch::Tensor TwinModel::encode(const torch::Tensor& signals) {
  return train::encode_latents(*autoencoder_, signals.to(device_));
}

torch::Tensor TwinModel::denoiser_input(const torch::Tensor& signals) {
  return signal_space_ ? signals.to(device_, torch::kFloat) : encode(signals);
}

torch::Tensor TwinModel::reference_context(const torch::Tensor& signals) {
  if (!diffusion_->reads_reference()) return {};
  torch::NoGradGuard no_grad;
  return denoiser_input(signals);
}

torch::Tensor TwinModel::base_vectors(const torch::Tensor& signals, const train::Reports& reports) {
  torch::NoGradGuard no_grad;
  return extractor_->base_vectors(encode(signals), reports);
}

std::vector<std::int64_t> TwinModel::noise_shape() const {
  const auto& d = config_.model.denoiser;
  return {d.in_channels(), d.length()};
}

torch::Tensor TwinModel::initial_noise(std::uint64_t seed) const {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randn(noise_shape(), generator, torch::kFloat);
}

torch::Tensor TwinModel::initial_noise(std::uint64_t seed, std::int64_t candidates) const {
  std::vector<torch::Tensor> rows{initial_noise(seed)};
  const std::uint64_t candidate_seed = util::derive_seed(seed, "candidate");
  for (std::int64_t k = 1; k < candidates; ++k)
    rows.push_back(initial_noise(util::derive_seed(candidate_seed, static_cast<std::uint64_t>(k))));
  return torch::stack(rows, 0);
}

void TwinModel::require_samples_without_person(const std::string& key) const {
  if (!samples_without_person())
    throw InputError(
        key,
        "this model never sampled without a person: train its denoiser with "
        "diffusion.guidance true and diffusion.dropout.base_vector above 0 "
        "(e.g. --set diffusion.guidance=true --set diffusion.dropout.base_vector=0.1)");
}

torch::Tensor TwinModel::null_base_vectors(std::int64_t rows, const std::string& key) const {
  require_samples_without_person(key);
  return torch::zeros({rows, config_.model.denoiser.base_dim()},
                      torch::TensorOptions().dtype(torch::kFloat).device(device_));
}

model::DenoiserConditions TwinModel::unconditional(const model::DenoiserConditions& conditions) {
  if (!trained_for_guidance())
    throw InputError("sampling.guidance_scale",
                     "this model's denoiser was trained without condition dropout, so it has no "
                     "unconditional prediction to guide against: sample with guidance 1, or train "
                     "with --set diffusion.guidance=true");
  const std::int64_t rows = conditions.statement_tokens.defined()
                                ? conditions.statement_tokens.size(0)
                                : conditions.base_vector.size(0);
  const auto flags = torch::TensorOptions().dtype(torch::kBool);
  diffusion::ConditionDrop drop{torch::ones({rows}, flags),
                                torch::full({rows}, samples_without_person(), flags)};
  return diffusion::apply_condition_drop(conditions, drop, diffusion_->null_conditions());
}

namespace {

// Rows `index` of every tensor of the conditions (undefined ones stay undefined).
model::DenoiserConditions select_rows(const model::DenoiserConditions& c,
                                      const torch::Tensor& index) {
  auto pick = [&](const torch::Tensor& t) {
    return t.defined() ? t.index_select(0, index.to(t.device())) : t;
  };
  return {pick(c.base_vector), pick(c.statement_tokens), pick(c.token_mask)};
}

// Rows `rows` of reports (repeats allowed).
train::Reports select_reports(const train::Reports& reports,
                              const std::vector<std::int64_t>& rows) {
  train::Reports out;
  for (std::int64_t r : rows)
    out.statements.push_back(reports.statements.at(static_cast<std::size_t>(r)));
  const auto& d = reports.demographics;
  const torch::Tensor index = torch::tensor(rows, torch::kLong);
  auto pick = [&](const torch::Tensor& t) { return t.index_select(0, index.to(t.device())); };
  out.demographics = {pick(d.heart_rate), pick(d.age), pick(d.sex)};
  return out;
}

// A reference given, with one row for all `twins` twins or one per twin.
bool fits(const ReferenceStart* reference, std::int64_t twins) {
  return reference != nullptr && reference->signals.defined() &&
         (reference->signals.size(0) == 1 || reference->signals.size(0) == twins);
}

// The signals the per-row signal functions (fit_rates, set_limb_leads) work on in place.
void require_signal_rows(const torch::Tensor& signals, const std::string& caller) {
  if (signals.scalar_type() != torch::kFloat || !signals.device().is_cpu() ||
      !signals.is_contiguous() || signals.dim() != 3)
    throw Error(caller + ": expected contiguous [rows, leads, samples] float CPU signals");
}

}  // namespace

std::int64_t fit_rates(torch::Tensor& signals, const torch::Tensor& heart_rates,
                       std::int64_t candidates, double fs, const std::string& warp) {
  require_signal_rows(signals, "fit_rates");
  const torch::Tensor rates = heart_rates.to(torch::kCPU, torch::kDouble).contiguous().view({-1});
  const std::int64_t rows = signals.size(0), leads = signals.size(1), length = signals.size(2);
  if (candidates < 1 || (rates.size(0) != 1 && rates.size(0) * candidates != rows))
    throw Error("fit_rates: expected one heart rate, or one per " + std::to_string(candidates) +
                " of the " + std::to_string(rows) + " rows");
  signal::RateFitOptions options;
  options.warp = signal::rate_warp(warp, "fit_rates");
  std::int64_t fitted = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const double rate = rates[rates.size(0) == 1 ? 0 : r / candidates].item<double>();
    if (!(std::isfinite(rate) && rate > 0)) continue;
    fitted += signal::fit_heart_rate(signals.data_ptr<float>() + r * leads * length, leads, length,
                                     fs, rate, options)
                  .changed;
  }
  return fitted;
}

void set_limb_leads(torch::Tensor& signals, const std::string& limb_leads) {
  if (limb_leads == "generated") return;
  require_signal_rows(signals, "set_limb_leads");
  if (limb_leads != "projected" && limb_leads != "derived")
    throw InputError("sampling.limb_leads",
                     "is '" + limb_leads + "', expected generated, projected or derived");
  const std::int64_t rows = signals.size(0), leads = signals.size(1), length = signals.size(2);
  if (leads < 6)
    throw InputError("sampling.limb_leads", "'" + limb_leads +
                                                "' needs the six limb leads; the model renders " +
                                                std::to_string(leads) + " leads");
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = signals.data_ptr<float>() + r * leads * length;
    if (limb_leads == "projected")
      signal::project_limb_leads(row, leads, length);
    else
      signal::derive_limb_leads(row, leads, length);
  }
}

torch::Tensor TwinModel::sample_candidates(const torch::Tensor& base_vectors,
                                           const train::Reports& targets,
                                           const diffusion::SamplerOptions& options,
                                           const torch::Tensor& initial_noise,
                                           const ReferenceStart* reference) {
  torch::NoGradGuard no_grad;
  const std::int64_t candidates = options.candidates();
  const std::int64_t rows = initial_noise.size(0);
  if (candidates < 1 || rows % candidates != 0)
    throw InputError("sampling.candidates",
                     "expected the initial noise to hold " + std::to_string(candidates) +
                         " rows per twin, got " + std::to_string(rows) + " rows");
  const std::int64_t twins = rows / candidates;
  // Twin i's candidates are rows i * candidates .. (i + 1) * candidates - 1.
  const torch::Tensor of_twin = torch::arange(twins, torch::kLong).repeat_interleave(candidates);
  // The reference's latent (one row, or one per twin), for reference tokens and starts.
  torch::Tensor reference_latent;
  if (diffusion_->reads_reference() || options.start() != "noise") {
    if (!fits(reference, twins) && diffusion_->reads_reference())
      throw InputError(
          "model.reference.tokens",
          "this model's denoiser reads the reference record: give one, or one per twin");
    if (!fits(reference, twins))
      throw InputError("sampling.start",
                       "'" + options.start() + "' needs one reference record, or one per twin");
    reference_latent = denoiser_input(reference->signals);
  }
  torch::Tensor context;
  if (diffusion_->reads_reference())
    context = reference_latent.size(0) == twins ? reference_latent
                                                : reference_latent.expand({twins, -1, -1});
  auto conditions = diffusion_->conditions(base_vectors.to(device_), targets, context);
  if (candidates > 1) conditions = select_rows(conditions, of_twin);
  diffusion::SamplerOptions o = options;
  o.device(device_).initial_noise(initial_noise.to(device_));
  const bool guided = o.guidance_scale() != 1.0;
  if (o.start() != "noise") {
    // One reference for all twins is expanded here; its conditions are expanded by the sampler.
    const bool per_twin = reference->signals.size(0) != 1 && candidates > 1;
    torch::Tensor x0 = per_twin ? reference_latent.index_select(0, of_twin.to(device_))
                                : reference_latent.expand({rows, -1, -1});
    const std::int64_t first = diffusion::first_sampling_step(schedule_, o);
    const std::int64_t t =
        diffusion::sampling_timesteps(schedule_, o)[static_cast<std::size_t>(first)];
    if (o.start() == "reference-noised") {
      // q(x_t | x_0) (Ho et al. 2020, eq. 4) with the twin's own noise.
      const double a = schedule_.alpha_cumprod(t);
      o.initial_noise(x0 * std::sqrt(a) + o.initial_noise() * std::sqrt(1.0 - a));
    } else {
      // The reference under its own conditions reads itself as its reference.
      auto own = diffusion_->conditions(reference->base_vectors.to(device_), reference->reports,
                                        reference_latent);
      if (per_twin) own = select_rows(own, of_twin);
      model::AutocastScope autocast(device_, options.bf16());
      o.initial_noise(
          diffusion::ddim_invert(*diffusion_->denoiser, schedule_, x0, own, o,
                                 guided ? unconditional(own) : model::DenoiserConditions())
              .to(torch::kFloat));
    }
  }
  torch::Tensor sample;
  {
    model::AutocastScope autocast(device_, options.bf16());
    sample = diffusion::sample(*diffusion_->denoiser, schedule_, initial_noise.sizes(), conditions,
                               o, guided ? unconditional(conditions) : model::DenoiserConditions());
  }
  torch::Tensor signals = decode(sample.to(torch::kFloat)).contiguous();
  if (options.rate_fit()) {
    const std::int64_t fitted = fit_rates(signals, targets.demographics.heart_rate, candidates,
                                          sampling_rate(), options.rate_fit_warp());
    spdlog::info("sampling.rate_fit: {} of {} samples brought to their target heart rate ({})",
                 fitted, signals.size(0), options.rate_fit_warp());
  }
  set_limb_leads(signals, options.limb_leads());
  return signals;
}

torch::Tensor TwinModel::generate(const torch::Tensor& base_vectors, const train::Reports& targets,
                                  const diffusion::SamplerOptions& options,
                                  const torch::Tensor& initial_noise,
                                  const ReferenceStart* reference,
                                  std::vector<std::int64_t>* chosen,
                                  std::vector<bool>* transferred) {
  torch::NoGradGuard no_grad;
  torch::Tensor signals =
      sample_candidates(base_vectors, targets, options, initial_noise, reference);
  const std::int64_t candidates = options.candidates();
  const std::int64_t twins = initial_noise.size(0) / candidates;
  if (chosen != nullptr) chosen->assign(static_cast<std::size_t>(twins), 0);
  if (transferred != nullptr) transferred->assign(static_cast<std::size_t>(twins), false);
  const std::int64_t leads = signals.size(1), length = signals.size(2);
  const double fs = sampling_rate();
  // Beats are compared with 20 ms of shift, as evaluate compares them.
  const auto max_shift = static_cast<std::int64_t>(std::lround(0.020 * fs));
  // The average beat of each reference row (one for all twins, or one per twin), for select
  // "reference" and transfer "reference-residual" (`key` names the setting that needs it).
  std::vector<std::optional<std::vector<float>>> reference_beats;
  const auto read_reference_beats = [&](const std::string& key, const std::string& value) {
    if (!reference_beats.empty()) return;
    if (!fits(reference, twins))
      throw InputError(key, "'" + value + "' needs one reference record, or one per twin");
    const torch::Tensor reference_signals =
        reference->signals.to(torch::kCPU, torch::kFloat).contiguous();
    if (reference_signals.size(1) != leads || reference_signals.size(2) != length)
      throw InputError(key, "'" + value + "' needs reference records of the twins' shape");
    for (std::int64_t r = 0; r < reference_signals.size(0); ++r)
      reference_beats.push_back(eval::beat_template(
          reference_signals.data_ptr<float>() + r * leads * length, leads, length, fs));
  };
  const auto reference_beat_of = [&](std::int64_t twin) -> const std::vector<float>* {
    const auto& beat =
        reference_beats[static_cast<std::size_t>(reference_beats.size() == 1 ? 0 : twin)];
    return beat ? &*beat : nullptr;
  };
  // transfer "reference-residual": what the reference's average beat differs from the model's
  // rendering of it under its own conditions (from the twin's noise, with the same start and
  // base vector) is what the model misses of the person, and it is added to every beat of the
  // twin ("reference-residual-scaled": scaled first as the condition scales the person's
  // waves; "reference-residual-adapted": also stretched over the ST-T segment as the heart
  // rate stretches the twin's). Returns whether `twin` was changed.
  const bool adapted = options.transfer() == "reference-residual-adapted";
  const bool scaled = adapted || options.transfer() == "reference-residual-scaled";
  const std::vector<double> fractions =
      scaled ? std::vector<double>{1.0, 0.5, 0.25} : std::vector<double>{1.0};
  const auto transfer_to = [&](float* twin, const std::vector<float>* reference_beat,
                               const std::optional<std::vector<float>>& self_beat) {
    // Without a beat in the reference or its rendering the twin stays as sampled.
    if (reference_beat == nullptr || !self_beat) return false;
    // Scaled: a twin without a beat stays as sampled.
    std::optional<std::vector<float>> gains;
    // Adapted: both beats stretched over the ST-T segment first.
    std::vector<float> reference_stretched, self_stretched;
    const std::vector<float>* from_reference = reference_beat;
    const std::vector<float>* from_self = &*self_beat;
    if (scaled) {
      const auto twin_beat = eval::beat_template(twin, leads, length, fs);
      if (!twin_beat) return false;
      if (adapted) {
        const double stretch = eval::st_stretch(*self_beat, *twin_beat, leads, fs, max_shift);
        reference_stretched = eval::stretch_st(*reference_beat, leads, fs, stretch);
        self_stretched = eval::stretch_st(*self_beat, leads, fs, stretch);
        from_reference = &reference_stretched;
        from_self = &self_stretched;
      }
      gains = eval::segment_gains(*from_self, *twin_beat, leads, fs, max_shift);
    }
    return eval::transfer_beat_difference(twin, leads, length, fs, *from_reference, *from_self,
                                          max_shift, gains ? &*gains : nullptr, fractions);
  };
  // The reference's reports, one row per twin (and its average beats read).
  const auto reference_reports = [&]() {
    read_reference_beats("sampling.transfer", options.transfer());
    std::vector<std::int64_t> reference_row(static_cast<std::size_t>(twins), 0);
    if (reference->signals.size(0) == twins)
      for (std::int64_t i = 0; i < twins; ++i) reference_row[static_cast<std::size_t>(i)] = i;
    return select_reports(reference->reports, reference_row);
  };
  diffusion::SamplerOptions self_options = options;
  self_options.transfer("none");
  diffusion::check_rate_candidates(options, "sampling");
  if (options.select() == "transferred" && options.transfer() == "none")
    throw InputError("sampling.select",
                     "'transferred' chooses among the candidates after the transfer: it needs "
                     "sampling.transfer other than 'none'");
  // select "transferred": the reference rendered from every candidate's noise and the transfer
  // done on every candidate before the medoid is chosen; `changed` says which it changed.
  std::vector<bool> changed;
  if (options.select() == "transferred" && candidates > 1) {
    const torch::Tensor self = sample_candidates(base_vectors, reference_reports(), self_options,
                                                 initial_noise, reference);
    for (std::int64_t r = 0; r < twins * candidates; ++r)
      changed.push_back(transfer_to(
          signals.data_ptr<float>() + r * leads * length, reference_beat_of(r / candidates),
          eval::beat_template(self.data_ptr<float>() + r * leads * length, leads, length, fs)));
  }
  std::vector<std::int64_t> rows_chosen;
  // select "mean-beat": each twin's candidates' mean average beat, to move the medoid's onto.
  std::vector<eval::TemplateConsensus> consensus;
  if (candidates == 1) {
    for (std::int64_t i = 0; i < twins; ++i) rows_chosen.push_back(i);
  } else {
    // Each twin is the medoid of its candidates by average-beat distance (with "transferred",
    // of its transferred candidates), or the candidate nearest the reference's average beat.
    if (options.select() == "reference") read_reference_beats("sampling.select", options.select());
    const torch::Tensor target_rate =
        targets.demographics.heart_rate.to(torch::kCPU, torch::kDouble).contiguous();
    for (std::int64_t i = 0; i < twins; ++i) {
      const float* own = signals.data_ptr<float>() + i * candidates * leads * length;
      // rate_candidates: the candidates nearest the target rate, copied one after another, and
      // their indices among all the twin's candidates.
      std::vector<std::int64_t> kept;
      std::vector<float> subset;
      const double rate =
          target_rate.size(0) == 1 ? target_rate[0].item<double>() : target_rate[i].item<double>();
      std::int64_t among = candidates;
      if (options.rate_candidates() > 0 && options.rate_candidates() < candidates &&
          std::isfinite(rate) && rate > 0) {
        kept =
            eval::rate_nearest(own, candidates, leads, length, fs, rate, options.rate_candidates());
        for (std::int64_t c : kept)
          subset.insert(subset.end(), own + c * leads * length, own + (c + 1) * leads * length);
        own = subset.data();
        among = static_cast<std::int64_t>(kept.size());
      }
      const std::vector<float>* reference_beat =
          options.select() == "reference" ? reference_beat_of(i) : nullptr;
      std::int64_t k = 0;
      if (options.select() == "mean-beat") {
        consensus.push_back(
            eval::template_consensus(own, candidates, leads, length, fs, max_shift));
        k = consensus.back().medoid;
      } else {
        // A reference without a detectable beat leaves the medoid.
        k = reference_beat
                ? eval::template_nearest(own, among, leads, length, fs, max_shift, *reference_beat)
                : eval::template_medoid(own, among, leads, length, fs, max_shift);
        if (!kept.empty()) k = kept[static_cast<std::size_t>(k)];
      }
      if (chosen != nullptr) (*chosen)[static_cast<std::size_t>(i)] = k;
      rows_chosen.push_back(i * candidates + k);
    }
    signals = signals.index_select(0, torch::tensor(rows_chosen, torch::kLong)).contiguous();
    // The medoid's beats moved onto the mean beat of all candidates (unless that moves its
    // R peaks: then the medoid as sampled).
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(consensus.size()); ++i) {
      const auto& c = consensus[static_cast<std::size_t>(i)];
      if (c.mean_beat.empty()) continue;
      eval::transfer_beat_difference(signals.data_ptr<float>() + i * leads * length, leads, length,
                                     fs, c.mean_beat, c.medoid_beat, max_shift);
    }
  }
  if (!changed.empty()) {
    if (transferred != nullptr)
      for (std::int64_t i = 0; i < twins; ++i)
        (*transferred)[static_cast<std::size_t>(i)] =
            changed[static_cast<std::size_t>(rows_chosen[static_cast<std::size_t>(i)])];
    return signals;
  }
  if (options.transfer() == "none") return signals;
  const train::Reports own = reference_reports();
  // With select "mean-beat" the reference is rendered from every candidate's noise and its
  // renderings' mean beat is what the reference is compared with; otherwise from the chosen
  // candidate's noise.
  const bool averaged = !consensus.empty();
  if (!averaged) self_options.candidates(1);
  const torch::Tensor self = sample_candidates(
      base_vectors, own, self_options,
      averaged ? initial_noise
               : initial_noise.index_select(0, torch::tensor(rows_chosen, torch::kLong)),
      reference);
  for (std::int64_t i = 0; i < twins; ++i) {
    std::optional<std::vector<float>> self_beat;
    if (averaged) {
      auto c = eval::template_consensus(self.data_ptr<float>() + i * candidates * leads * length,
                                        candidates, leads, length, fs, max_shift);
      if (!c.mean_beat.empty()) self_beat = std::move(c.mean_beat);
    } else {
      self_beat =
          eval::beat_template(self.data_ptr<float>() + i * leads * length, leads, length, fs);
    }
    const bool changed = transfer_to(signals.data_ptr<float>() + i * leads * length,
                                     reference_beat_of(i), self_beat);
    if (transferred != nullptr) (*transferred)[static_cast<std::size_t>(i)] = changed;
  }
  return signals;
}

torch::Tensor TwinModel::personalise(const ReferenceStart& reference,
                                     const PersonaliseOptions& options) {
  auto& denoiser = *diffusion_->denoiser;
  if (loaded_denoiser_.empty()) {
    torch::NoGradGuard no_grad;
    for (const auto& p : denoiser.parameters()) loaded_denoiser_.push_back(p.detach().clone());
  } else {
    restore_denoiser();
  }
  torch::Tensor base = reference.base_vectors.slice(0, 0, 1).to(device_).detach().clone();
  if (options.steps <= 0) return base;
  const std::int64_t b = options.batch;
  torch::Tensor x0;
  model::DenoiserConditions conditions;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor one = denoiser_input(reference.signals.slice(0, 0, 1));
    x0 = one.expand({b, -1, -1}).contiguous();
    conditions = diffusion::expand_conditions(
        diffusion_->conditions(base, train::slice_reports(reference.reports, 0, 1), one), b);
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (options.fits_denoiser()) {
    groups.emplace_back(denoiser.parameters(),
                        std::make_unique<torch::optim::AdamWOptions>(
                            torch::optim::AdamWOptions(options.lr).weight_decay(0.0)));
  }
  if (options.fits_base_vector()) {
    base.requires_grad_(true);
    groups.emplace_back(std::vector<torch::Tensor>{base},
                        std::make_unique<torch::optim::AdamWOptions>(
                            torch::optim::AdamWOptions(options.base_lr).weight_decay(0.0)));
  }
  // Only what is fitted collects gradients.
  std::vector<bool> denoiser_grad;
  for (auto& p : denoiser.parameters()) {
    denoiser_grad.push_back(p.requires_grad());
    p.requires_grad_(options.fits_denoiser());
  }
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  torch::optim::AdamW optimiser(std::move(groups), torch::optim::AdamWOptions(options.lr));
  const bool was_training = denoiser.is_training();
  denoiser.train();
  for (std::int64_t step = 0; step < options.steps; ++step) {
    auto t = torch::randint(1, schedule_.timesteps(), {b}, generator, torch::kLong).to(device_);
    auto noise = torch::randn(x0.sizes(), generator, torch::kFloat).to(device_);
    if (options.fits_base_vector()) conditions.base_vector = base.expand({b, -1});
    auto loss = torch::mse_loss(
        denoiser.forward(diffusion::add_noise(schedule_, x0, noise, t), t, conditions), noise);
    optimiser.zero_grad();
    loss.backward();
    optimiser.step();
  }
  denoiser.train(was_training);
  auto parameters = denoiser.parameters();
  for (std::size_t i = 0; i < parameters.size(); ++i)
    parameters[i].requires_grad_(denoiser_grad[i]);
  return base.detach();
}

void TwinModel::restore_denoiser() {
  torch::NoGradGuard no_grad;
  auto parameters = diffusion_->denoiser->parameters();
  for (std::size_t i = 0; i < loaded_denoiser_.size(); ++i)
    parameters[i].copy_(loaded_denoiser_[i]);
}

torch::Tensor TwinModel::decode(const torch::Tensor& sample) {
  torch::NoGradGuard no_grad;
  if (signal_space_) return sample.to(torch::kCPU, torch::kFloat);
  std::vector<torch::Tensor> parts;
  for (std::int64_t start = 0; start < sample.size(0); start += 64)
    parts.push_back(autoencoder_->decode(sample.slice(0, start, std::min(sample.size(0), start + 64))));
  return torch::cat(parts, 0).to(torch::kCPU, torch::kFloat);
}

torch::Tensor TwinModel::ecg_features(const torch::Tensor& signals) {
  if (!has_evaluator()) throw Error("the twin model was loaded without its evaluator");
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (std::int64_t start = 0; start < signals.size(0); start += 64)
    parts.push_back(evaluator_->ecg_features(signals.slice(0, start, std::min(signals.size(0), start + 64)).to(device_)));
  return torch::cat(parts, 0).to(torch::kCPU);
}

torch::Tensor TwinModel::text_features(const std::vector<std::vector<std::string>>& reports) {
  if (!has_evaluator()) throw Error("the twin model was loaded without its evaluator");
  torch::NoGradGuard no_grad;
  return evaluator_->text_features(reports).to(torch::kCPU);
}

data::Record window_record(const float* signal, std::int64_t leads, std::int64_t samples, double fs,
                           const std::string& id) {
  data::Record r;
  r.id = id;
  r.sampling_rate = fs;
  r.lead_names = data::standard_leads();
  r.units.assign(static_cast<std::size_t>(leads), "mV");
  r.signal.assign(signal, signal + leads * samples);
  return r;
}

}  // namespace ecgtwin::pipeline
