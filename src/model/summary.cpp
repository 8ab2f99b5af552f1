#include "ecgtwin/model/summary.hpp"

#include <torch/torch.h>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::model {

namespace {

void read_statements(config::Section section, ModelOptions& options) {
  options.statement_kind = section.choice("kind", "learned", {"learned", "precomputed"});
  options.statements.embedding_dim(section.get_in("embedding_dim", options.statements.embedding_dim(), 1, 65536))
      .hash_buckets(section.get_in("hash_buckets", options.statements.hash_buckets(), 1, 1 << 24))
      .max_statements(section.get_in("max_statements", options.statements.max_statements(), 1, 1024));
  options.statement_npy = section.get("npy", "");
  options.statement_json = section.get("json", "");
  if (options.statement_kind == "precomputed" && (options.statement_npy.empty() || options.statement_json.empty()))
    throw InputError(section.key_path("npy"),
                     "precomputed statements need model.statements.npy (an [N, E] matrix) and "
                     "model.statements.json (the N statements)");
  section.finish();
}

void read_condition(config::Section section, ConditionEncoderOptions& c) {
  c.hr_mean(section.get("hr_mean", c.hr_mean()))
      .hr_std(section.get_in("hr_std", c.hr_std(), 1e-6, 1e6))
      .age_mean(section.get("age_mean", c.age_mean()))
      .age_std(section.get_in("age_std", c.age_std(), 1e-6, 1e6))
      .female(section.get("female", c.female()))
      .male(section.get("male", c.male()))
      .unknown_sex(section.get("unknown_sex", c.unknown_sex()));
  section.finish();
}

void read_autoencoder(config::Section section, AutoencoderOptions& a) {
  a.leads(section.get_in("leads", a.leads(), 1, 1024))
      .length(section.get_in("length", a.length(), 1, 1 << 24))
      .latent_channels(section.get_in("latent_channels", a.latent_channels(), 1, 1024))
      .channels(section.get("channels", a.channels()))
      .layers_per_block(section.get_in("layers_per_block", a.layers_per_block(), 1, 64))
      .norm_groups(section.get_in("norm_groups", a.norm_groups(), 1, 1024))
      .scaling_factor(section.get("scaling_factor", a.scaling_factor()));
  section.finish();
  a.validate();
}

void read_extractor(config::Section section, ExtractorOptions& e) {
  e.hidden(section.get_in("hidden", e.hidden(), 2, 65536))
      .depth(section.get_in("depth", e.depth(), 1, 256))
      .heads(section.get_in("heads", e.heads(), 1, 1024))
      .ffn(section.get_in("ffn", e.ffn(), 1, 1 << 20))
      .condition_dropout(section.get_in("condition_dropout", e.condition_dropout(), 0.0, 1.0))
      .temperature(section.get_in("temperature", e.temperature(), 1e-6, 1e6));
  section.finish();
  e.validate();
}

void read_denoiser(config::Section section, DenoiserOptions& d, const AutoencoderOptions& a) {
  const std::string kind = section.choice("kind", "dit", {"dit", "unet", "signal_dit"});
  d = DenoiserOptions::preset(kind);
  if (kind == "signal_dit") {
    d.in_channels(a.leads()).length(a.length());
  } else {
    d.in_channels(a.latent_channels()).length(a.latent_length());
  }
  d.patch_size(section.get_in("patch_size", d.patch_size(), 1, 1 << 20))
      .hidden(section.get_in("hidden", d.hidden(), 2, 65536))
      .depth(section.get_in("depth", d.depth(), 1, 256))
      .heads(section.get_in("heads", d.heads(), 1, 1024))
      .mlp_ratio(section.get_in("mlp_ratio", d.mlp_ratio(), 1e-3, 1e3))
      .frequency_dim(section.get_in("frequency_dim", d.frequency_dim(), 2, 65536))
      .cross_attention(section.get("cross_attention", d.cross_attention()))
      .adaptive_norm(section.get("adaptive_norm", d.adaptive_norm()))
      .rotary(section.get("rotary", d.rotary()))
      .unet_channels(section.get("unet_channels", d.unet_channels()))
      .unet_kernel(section.get_in("unet_kernel", d.unet_kernel(), 1, 1025))
      .unet_groups(section.get_in("unet_groups", d.unet_groups(), 1, 1024));
  section.finish();
}

void read_reference(config::Section section, ModelOptions& options) {
  const auto& d = options.denoiser;
  options.reference_tokens = section.get("tokens", options.reference_tokens);
  options.reference.in_channels(d.in_channels())
      .length(d.length())
      .token_dim(d.token_dim())
      .patch_size(section.get_in("patch_size", d.patch_size(), int64_t{1}, d.length()));
  section.finish();
  if (options.reference_tokens && d.length() % options.reference.patch_size() != 0)
    throw InputError(section.key_path("patch_size"),
                     "expected a divisor of the denoiser's input length " +
                         std::to_string(d.length()) + ", got " +
                         std::to_string(options.reference.patch_size()));
}

void read_evaluator(config::Section section, EvaluatorOptions& v) {
  v.channels(section.get("channels", v.channels()))
      .blocks_per_stage(section.get_in("blocks_per_stage", v.blocks_per_stage(), 1, 64))
      .kernel(section.get_in("kernel", v.kernel(), 1, 1025))
      .se_reduction(section.get_in("se_reduction", v.se_reduction(), 1, 1024))
      .embed_dim(section.get_in("embed_dim", v.embed_dim(), 1, 65536))
      .text_hidden(section.get_in("text_hidden", v.text_hidden(), 1, 65536))
      .temperature(section.get_in("temperature", v.temperature(), 1e-6, 1e6));
  section.finish();
}

void read_classifier(config::Section section, ClassifierOptions& v) {
  v.channels(section.get("channels", v.channels()))
      .blocks_per_stage(section.get_in("blocks_per_stage", v.blocks_per_stage(), 1, 64))
      .kernel(section.get_in("kernel", v.kernel(), 1, 1025))
      .se_reduction(section.get_in("se_reduction", v.se_reduction(), 1, 1024));
  section.finish();
}

std::vector<int64_t> shape(std::initializer_list<int64_t> dims) { return dims; }

}  // namespace

ModelOptions read_model_options(config::Section& model) {
  ModelOptions options;
  read_statements(model.child("statements"), options);
  read_condition(model.child("condition"), options.condition);
  read_autoencoder(model.child("autoencoder"), options.autoencoder);
  read_extractor(model.child("extractor"), options.extractor);
  read_denoiser(model.child("denoiser"), options.denoiser, options.autoencoder);
  read_evaluator(model.child("evaluator"), options.evaluator);
  read_classifier(model.child("classifier"), options.classifier);

  const int64_t statement_dim = options.statements.embedding_dim();
  options.condition.statement_dim(statement_dim).max_statements(options.statements.max_statements());
  options.extractor.latent_channels(options.autoencoder.latent_channels()).condition(options.condition);
  options.denoiser.base_dim(options.extractor.hidden()).token_dim(options.denoiser.hidden());
  read_reference(model.child("reference"), options);
  model.finish();
  options.evaluator.leads(options.autoencoder.leads()).statement_dim(statement_dim);
  options.denoiser.validate();
  options.classifier.leads(options.autoencoder.leads());
  options.evaluator.validate();
  options.classifier.validate();
  return options;
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& p : module.parameters()) count += p.numel();
  return count;
}

nlohmann::json summarize_models(const ModelOptions& options) {
  torch::NoGradGuard no_grad;
  nlohmann::json out;
  const auto& a = options.autoencoder;
  const auto& s = options.statements;
  const int64_t slots = s.max_statements();

  Autoencoder autoencoder(a);
  out["autoencoder"] = {{"parameters", count_parameters(*autoencoder)},
                        {"input", shape({a.leads(), a.length()})},
                        {"latent", shape({a.latent_channels(), a.latent_length()})},
                        {"channels", a.channels()},
                        {"scaling_factor", a.scaling_factor()}};

  Extractor extractor(options.extractor);
  const auto& e = extractor->options();
  out["extractor"] = {{"parameters", count_parameters(*extractor)},
                      {"condition_encoder_parameters", count_parameters(*extractor->condition_encoder())},
                      {"latent", shape({a.latent_channels(), a.latent_length()})},
                      {"tokens", shape({slots, e.hidden()})},
                      {"base_vector", shape({e.hidden()})},
                      {"depth", e.depth()},
                      {"heads", e.heads()}};

  const auto& d = options.denoiser;
  auto denoiser = make_denoiser(d);
  ConditionEncoder denoiser_condition(ConditionEncoderOptions(options.condition).token_dim(d.token_dim()));
  out["denoiser"] = {{"parameters", count_parameters(*denoiser)},
                     {"condition_encoder_parameters", count_parameters(*denoiser_condition)},
                     {"kind", d.kind()},
                     {"input", shape({d.in_channels(), d.length()})},
                     {"tokens", shape({slots, d.token_dim()})},
                     {"base_vector", shape({d.base_dim()})},
                     {"blocks", denoiser->block_count()}};
  if (options.reference_tokens) {
    ReferenceEncoder reference(options.reference);
    const auto& r = options.reference;
    out["denoiser"]["reference_encoder_parameters"] = count_parameters(*reference);
    out["denoiser"]["reference_tokens"] = shape({r.length() / r.patch_size(), r.token_dim()});
  }

  EvaluatorNet evaluator(options.evaluator);
  const auto& v = evaluator->options();
  out["evaluator"] = {{"parameters", count_parameters(*evaluator)},
                      {"input", shape({v.leads(), a.length()})},
                      {"statements", shape({slots, v.statement_dim()})},
                      {"features", shape({v.embed_dim()})}};

  // The class count depends on the training data; the summary counts one logit per class.
  Classifier classifier(options.classifier);
  const auto& k = classifier->options();
  const int64_t per_class = k.channels().back() + 1;
  out["classifier"] = {{"parameters", count_parameters(*classifier) - per_class * k.classes()},  // without the head
                       {"head_parameters_per_class", per_class},
                       {"input", shape({k.leads(), a.length()})},
                       {"channels", k.channels()}};

  out["statements"] = {{"kind", options.statement_kind},
                       {"embedding_dim", s.embedding_dim()},
                       {"max_statements", slots}};
  if (options.statement_kind == "learned") {
    // The statement table grows with the vocabulary; the word table is fixed.
    out["statements"]["hash_buckets"] = s.hash_buckets();
    out["statements"]["word_table_parameters"] = s.hash_buckets() * s.embedding_dim();
  }
  return out;
}

}  // namespace ecgtwin::model
