#include "ecgtwin/pipeline/edit.hpp"

#include <torch/torch.h>

#include "ecgtwin/data/preprocess.hpp"
#include "ecgtwin/data/record_io.hpp"
#include "ecgtwin/io/chart.hpp"
#include "ecgtwin/io/plot.hpp"
#include "ecgtwin/model/device.hpp"
#include "ecgtwin/pipeline/twin_model.hpp"
#include "ecgtwin/signal/heart_rate.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"

namespace ecgtwin::pipeline {

namespace {

data::Record twin_record(const torch::Tensor& signal, double fs, const std::string& id, const TwinTarget& target,
                         const data::Record& reference) {
  auto x = signal.contiguous();
  data::Record r = window_record(x.data_ptr<float>(), x.size(0), x.size(1), fs, id);
  r.patient_id = reference.patient_id;
  r.age = target.age ? target.age : reference.age;
  r.sex = target.sex == data::Sex::kUnknown ? reference.sex : target.sex;
  r.statements = target.statements;
  r.heart_rate = target.heart_rate;
  return r;
}

// maps: [blocks, L, S] -> the mean over blocks as rows = statements, columns = positions.
io::AttentionChart attention_chart(const torch::Tensor& maps, const data::Record& twin, const std::string& title) {
  auto mean = maps.mean(0).t().contiguous().to(torch::kFloat);  // [S, L]
  io::AttentionChart chart;
  chart.title = title;
  chart.trace_label = "lead II";
  chart.trace.assign(twin.lead(1), twin.lead(1) + twin.samples());
  chart.sampling_rate = twin.sampling_rate;
  const auto statements = static_cast<std::int64_t>(twin.statements.size());
  chart.rows = twin.statements;
  chart.columns = mean.size(1);
  chart.weights.assign(mean.data_ptr<float>(), mean.data_ptr<float>() + statements * chart.columns);
  return chart;
}

}  // namespace

nlohmann::json edit_twin(const EditTwinOptions& options) {
  options.editing.validate();
  if (options.changed.empty()) throw InputError("--to", "no edited statement given");
  TwinTarget edited = options.source;
  if (options.editing.mode() == "swap") {
    if (options.changed.size() > options.source.statements.size())
      throw InputError("--to", "swap replaces statements one for one: give at most as many as the source has (" +
                                   std::to_string(options.source.statements.size()) + ")");
    for (std::size_t i = 0; i < options.changed.size(); ++i) edited.statements[i] = options.changed[i];
  } else {
    edited.statements.insert(edited.statements.end(), options.changed.begin(), options.changed.end());
  }
  edited.name = "edited";

  const torch::Device device = model::resolve_device(options.device);
  TwinModel twin_model = TwinModel::load(options.model, device);
  const std::int64_t leads = twin_model.leads(), samples = twin_model.samples();
  data::Record reference = data::load_record(options.reference, options.load);
  data::PreparedWindow window = reference_window(reference, twin_model);
  auto signal = torch::from_blob(window.signal.data(), {1, leads, samples}, torch::kFloat).clone();
  auto base = twin_model.base_vectors(
      signal, make_reports({{reference.statements, reference.heart_rate.value_or(0), reference.age, reference.sex}}));

  auto conditions_of = [&](const TwinTarget& t) {
    return twin_model.diffusion()->conditions(
        base,
        make_reports({{t.statements, t.heart_rate, t.age ? t.age : reference.age,
                       t.sex == data::Sex::kUnknown ? reference.sex : t.sex}}),
        twin_model.reference_context(signal));
  };
  diffusion::SamplerOptions sampler = options.sampler;
  sampler.seed(options.seed).device(device).initial_noise(twin_model.initial_noise(options.seed).unsqueeze(0).to(device));
  const auto shape = twin_model.noise_shape();
  torch::NoGradGuard no_grad;
  auto result = diffusion::edit(*twin_model.diffusion()->denoiser, twin_model.schedule(), {1, shape[0], shape[1]},
                                conditions_of(options.source), conditions_of(edited), sampler, options.editing);
  const auto decoded = [&](const torch::Tensor& sample) {
    torch::Tensor signals = twin_model.decode(sample).contiguous();
    set_limb_leads(signals, options.sampler.limb_leads());
    return signals[0];
  };
  auto source_signal = decoded(result.source.sample);
  auto edited_signal = decoded(result.edited.sample);

  util::OutputGuard guard;
  guard.create_directory(options.out);
  const double fs = twin_model.sampling_rate();
  auto source_twin = twin_record(source_signal, fs, "source", options.source, reference);
  auto edited_twin = twin_record(edited_signal, fs, "edited", edited, reference);
  nlohmann::json json = {{"reference", options.reference.string()},
                         {"mode", options.editing.mode()},
                         {"injection_fraction", options.editing.injection_fraction()},
                         {"seed", options.seed},
                         {"steps", options.sampler.steps()}};
  for (const auto* twin : {&source_twin, &edited_twin}) {
    for (auto format : {data::RecordFormat::kWfdb, data::RecordFormat::kNpy}) {
      auto file = data::save_record(*twin, options.out / (twin->id + (format == data::RecordFormat::kWfdb ? ".hea" : ".npy")),
                                    format);
      guard.add_file(file);
    }
    for (const char* ext : {".dat", ".json"}) guard.add_file(options.out / (twin->id + ext));
    auto hr = ecgtwin::signal::measure_heart_rate(twin->signal.data(), leads, samples, fs);
    json[twin->id] = {{"statements", twin->statements},
                      {"hr", twin->heart_rate.value_or(0)},
                      {"measured_hr", hr ? nlohmann::json(*hr) : nlohmann::json(nullptr)}};
  }
  auto edited_input = data::plot_input(edited_twin, "edited");
  auto source_input = data::plot_input(source_twin, "source");
  io::plot_ecg12(edited_input, &source_input, {}, options.out / "edit.png");
  guard.add_file(options.out / "edit.png");
  io::plot_attention(attention_chart(result.source.maps[0], source_twin, "Cross-attention of the source twin"),
                     options.out / "maps_source.png");
  guard.add_file(options.out / "maps_source.png");
  io::plot_attention(attention_chart(result.edited.maps[0], edited_twin, "Cross-attention of the edited twin"),
                     options.out / "maps_edited.png");
  guard.add_file(options.out / "maps_edited.png");
  util::write_file_atomic(options.out / "edit.json", json.dump(2) + "\n");
  guard.add_file(options.out / "edit.json");
  guard.keep();
  return json;
}

}  // namespace ecgtwin::pipeline
