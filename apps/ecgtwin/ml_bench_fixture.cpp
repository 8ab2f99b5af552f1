#include "ml_bench_fixture.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "ecgtwin/model/autoencoder.hpp"
#include "ecgtwin/model/extractor.hpp"

namespace ecgtwin::app::modelbench {

model::ModelOptions published_options() {
  const config::Json tree = config::Json::object();
  config::Section root(tree, "");
  config::Section section = root.child("model");
  return model::read_model_options(section);
}

void randomise_parameters(torch::nn::Module& module, uint64_t seed) {
  torch::NoGradGuard no_grad;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& p : module.named_parameters()) {
    torch::Tensor value = p.value();
    if (value.dim() == 0) continue;
    torch::Tensor draw = torch::randn(value.sizes(), generator, torch::kFloat32);
    const std::string& name = p.key();
    const bool norm_weight = name.find("norm") != std::string::npos &&
                             name.size() >= 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    if (value.dim() >= 2) {
      draw = draw / std::sqrt(static_cast<double>(value.numel() / value.size(0)));
    } else if (norm_weight) {
      draw = 1.0 + 0.1 * draw;
    } else {
      draw = 0.1 * draw;
    }
    value.copy_(draw);
  }
}

Networks make_networks(const torch::Device& device, bool randomise, uint64_t seed) {
  Networks n;
  n.options = published_options();
  n.autoencoder = model::Autoencoder(n.options.autoencoder);
  n.extractor = model::Extractor(n.options.extractor);
  n.condition = model::ConditionEncoder(
      model::ConditionEncoderOptions(n.options.condition).token_dim(n.options.denoiser.token_dim()));
  n.denoiser = model::make_denoiser(n.options.denoiser);
  if (randomise) {
    randomise_parameters(*n.autoencoder, seed);
    randomise_parameters(*n.extractor, seed + 1);
    randomise_parameters(*n.condition, seed + 2);
    randomise_parameters(*n.denoiser, seed + 3);
  }
  n.autoencoder->to(device);
  n.extractor->to(device);
  n.condition->to(device);
  n.denoiser->to(device);
  n.schedule = n.schedule.to(device);
  return n;
}

Batch make_batch(const Networks& networks, int64_t batch, uint64_t seed, const torch::Device& device) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto& o = networks.options;
  const int64_t slots = kStatementSlots;
  const int64_t latent_length = o.autoencoder.latent_length();
  auto randn = [&](std::vector<int64_t> shape) {
    return torch::randn(shape, g, torch::kFloat32).to(device);
  };
  Batch b;
  b.signal = randn({batch, o.autoencoder.leads(), o.autoencoder.length()});
  b.latent = randn({batch, o.autoencoder.latent_channels(), latent_length});
  b.latent_other = randn({batch, o.autoencoder.latent_channels(), latent_length});
  b.statements = randn({batch, slots, o.condition.statement_dim()});
  const torch::Tensor real = torch::arange(batch).remainder(slots).add(1).unsqueeze(1);
  b.mask = torch::arange(slots).unsqueeze(0).lt(real).to(device);
  std::vector<double> hr, age;
  std::vector<int64_t> sex;
  for (int64_t i = 0; i < batch; ++i) {
    hr.push_back(50.0 + static_cast<double>((i * 37) % 90));
    age.push_back(20.0 + static_cast<double>((i * 53) % 70));
    sex.push_back(i % 3);
  }
  b.demographics = model::Demographics::from(hr, age, sex).to(device);
  b.base_vector = randn({batch, o.extractor.hidden()});
  return b;
}

std::string stage_name(Stage stage) {
  switch (stage) {
    case Stage::kDenoiser:
      return "denoiser";
    case Stage::kExtractor:
      return "extractor";
    case Stage::kAutoencoder:
      return "autoencoder";
  }
  return "?";
}

TrainingStep::TrainingStep(Networks& networks, Stage stage, bool bf16)
    : networks_(networks), stage_(stage), bf16_(bf16) {
  auto add = [&](torch::nn::Module& module) {
    module.train();
    for (auto& p : module.parameters()) parameters_.push_back(p);
  };
  if (stage == Stage::kDenoiser) {
    add(*networks.condition);
    add(*networks.denoiser);
  } else if (stage == Stage::kExtractor) {
    add(*networks.extractor);
  } else {
    add(*networks.autoencoder);
  }
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      parameters_, torch::optim::AdamWOptions(1e-4).weight_decay(0.0));
}

int64_t TrainingStep::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters_) n += p.numel();
  return n;
}

torch::Tensor TrainingStep::run(const Batch& batch, at::Generator& generator) {
  // Gradients dropped rather than zeroed, as the training loop does (train/loop.cpp).
  for (auto& p : parameters_) {
    if (p.mutable_grad().defined()) p.mutable_grad() = torch::Tensor();
  }
  torch::Tensor loss;
  {
    AutocastScope autocast(batch.signal.device(), bf16_);
    if (stage_ == Stage::kDenoiser) {
      const model::ConditionTokens tokens =
          networks_.condition->forward(batch.statements, batch.mask, batch.demographics);
      // The draws of t and epsilon come from `generator` on the CPU, from the device's own
      // generator elsewhere (epsilon_loss draws on x0's device).
      std::optional<at::Generator> draws;
      if (!batch.latent.device().is_cuda()) draws = generator;
      loss = diffusion::epsilon_loss(*networks_.denoiser, networks_.schedule, batch.latent,
                                     {batch.base_vector, tokens.tokens, tokens.mask}, draws)
                 .loss;
    } else if (stage_ == Stage::kExtractor) {
      auto& ibe = networks_.extractor;
      const int64_t b = batch.latent.size(0);
      const torch::Tensor drop_a = ibe->sample_condition_drop(b, generator);
      const torch::Tensor drop_b = ibe->sample_condition_drop(b, generator);
      const torch::Tensor a =
          ibe->extract(batch.latent, batch.statements, batch.mask, batch.demographics, drop_a);
      const torch::Tensor c = ibe->extract(batch.latent_other, batch.statements, batch.mask,
                                           batch.demographics, drop_b);
      loss = model::info_nce(a.to(torch::kFloat32), c.to(torch::kFloat32), ibe->logit_scale());
    } else {
      const model::AutoencoderOutput out = networks_.autoencoder->forward(batch.signal, generator);
      loss = model::autoencoder_loss(out.reconstruction.to(torch::kFloat32), batch.signal,
                                     out.posterior, kKlWeight)
                 .total;
    }
  }
  loss.backward();
  optimizer_->step();
  return loss.detach();
}

model::DenoiserConditions twin_conditions(Networks& networks, const Batch& batch, bool bf16) {
  torch::NoGradGuard no_grad;
  networks.autoencoder->eval();
  networks.extractor->eval();
  networks.condition->eval();
  AutocastScope autocast(batch.signal.device(), bf16);
  const torch::Tensor reference = networks.autoencoder->encode_latent(batch.signal);
  const torch::Tensor base = networks.extractor->extract(reference, batch.statements, batch.mask,
                                                         batch.demographics);
  const model::ConditionTokens tokens =
      networks.condition->forward(batch.statements, batch.mask, batch.demographics);
  return {base.to(torch::kFloat32), tokens.tokens.to(torch::kFloat32), tokens.mask};
}

torch::Tensor sample_latents(Networks& networks, const model::DenoiserConditions& conditions,
                             int64_t batch, diffusion::SamplerOptions sampler, bool bf16) {
  const auto& o = networks.options.autoencoder;
  const torch::Device device = conditions.base_vector.device();
  sampler.device(device);
  AutocastScope autocast(device, bf16);
  return diffusion::sample(*networks.denoiser, networks.schedule,
                           {batch, o.latent_channels(), o.latent_length()}, conditions, sampler);
}

torch::Tensor generate_twins(Networks& networks, const Batch& batch,
                             diffusion::SamplerOptions sampler, bool bf16) {
  const model::DenoiserConditions conditions = twin_conditions(networks, batch, bf16);
  const torch::Tensor latents =
      sample_latents(networks, conditions, batch.signal.size(0), std::move(sampler), bf16);
  torch::NoGradGuard no_grad;
  AutocastScope autocast(batch.signal.device(), bf16);
  return networks.autoencoder->decode(latents).to(torch::kFloat32);
}

// ---- FLOPs from the shapes ------------------------------------------------------------

namespace {

double linear(double rows, double in, double out) { return 2.0 * rows * in * out; }
double conv(double batch, double length_out, double in, double out, double kernel) {
  return 2.0 * batch * length_out * in * out * kernel;
}
// softmax(q k^T) v with L queries, S keys, width H (all heads together).
double attention(double batch, double queries, double keys, double width) {
  return 4.0 * batch * queries * keys * width;
}

double resnet(double batch, double length, double in, double out) {
  double f = conv(batch, length, in, out, 3) + conv(batch, length, out, out, 3);
  if (in != out) f += conv(batch, length, in, out, 1);
  return f;
}

double vae_mid(double batch, double length, double channels) {
  return 2.0 * resnet(batch, length, channels, channels) +
         4.0 * linear(batch * length, channels, channels) +
         attention(batch, length, length, channels);
}

}  // namespace

double condition_forward_flops(const model::ModelOptions& o, int64_t batch, int64_t slots) {
  return linear(double(batch) * slots, double(o.condition.statement_dim() + 3),
                double(o.denoiser.token_dim()));
}

double denoiser_forward_flops(const model::ModelOptions& o, int64_t batch, int64_t slots) {
  const auto& d = o.denoiser;
  const double b = double(batch), h = double(d.hidden()), p = double(d.patch_size());
  const double c = double(d.in_channels()), l = double(d.length()) / p, s = double(slots);
  const double mlp = std::floor(h * d.mlp_ratio());
  double f = linear(b * l, c * p, h);                                      // x_embedder
  f += linear(b, double(d.frequency_dim()), h) + linear(b, h, h);          // t_embedder
  f += linear(b, double(d.base_dim()), h);                                 // base_embedder
  double block = linear(b, h, 6 * h) + linear(b * l, h, 3 * h) + attention(b, l, l, h) +
                 linear(b * l, h, h) + 2 * linear(b * l, h, mlp);
  if (d.cross_attention()) {
    block += linear(b * l, h, h) + linear(b * s, double(d.token_dim()), 2 * h) +
             attention(b, l, s, h) + linear(b * l, h, h);
  }
  f += double(d.depth()) * block;
  f += linear(b, h, 2 * h) + linear(b * l, h, p * c);  // final layer
  return f;
}

double extractor_forward_flops(const model::ModelOptions& o, int64_t batch, int64_t slots) {
  const auto& e = o.extractor;
  const double b = double(batch), h = double(e.hidden()), s = double(slots);
  const double l = double(o.autoencoder.latent_length());
  double f = linear(b * s, double(o.condition.statement_dim() + 3), h);  // own condition encoder
  f += linear(b * l, double(e.latent_channels()), h);
  const double layer = linear(b * l, h, 3 * h) + attention(b, l, l, h) + linear(b * l, h, h) +
                       linear(b * l, h, h) + linear(b * s, h, 2 * h) + attention(b, l, s, h) +
                       linear(b * l, h, h) + 2 * linear(b * l, h, double(e.ffn()));
  return f + double(e.depth()) * layer;
}

double autoencoder_encode_flops(const model::ModelOptions& o, int64_t batch) {
  const auto& a = o.autoencoder;
  const auto& ch = a.channels();
  const double b = double(batch);
  double length = double(a.length());
  double f = conv(b, length, double(a.leads()), double(ch.front()), 3);
  for (size_t i = 0; i < ch.size(); ++i) {
    const double in = double(i == 0 ? ch.front() : ch[i - 1]), out = double(ch[i]);
    for (int64_t r = 0; r < a.layers_per_block(); ++r) f += resnet(b, length, r == 0 ? in : out, out);
    if (i + 1 < ch.size()) {
      length /= 2;
      f += conv(b, length, out, out, 3);
    }
  }
  const double top = double(ch.back()), moments = 2.0 * double(a.latent_channels());
  f += vae_mid(b, length, top) + conv(b, length, top, moments, 3);
  return f + conv(b, length, moments, moments, 1);  // quant_conv
}

double autoencoder_decode_flops(const model::ModelOptions& o, int64_t batch) {
  const auto& a = o.autoencoder;
  const std::vector<int64_t> ch(a.channels().rbegin(), a.channels().rend());
  const double b = double(batch), latent = double(a.latent_channels());
  double length = double(a.latent_length());
  double f = conv(b, length, latent, latent, 1);  // post_quant_conv
  f += conv(b, length, latent, double(ch.front()), 3) + vae_mid(b, length, double(ch.front()));
  for (size_t i = 0; i < ch.size(); ++i) {
    const double in = double(i == 0 ? ch.front() : ch[i - 1]), out = double(ch[i]);
    for (int64_t r = 0; r < a.layers_per_block() + 1; ++r)
      f += resnet(b, length, r == 0 ? in : out, out);
    if (i + 1 < ch.size()) {
      length *= 2;
      f += conv(b, length, out, out, 3);
    }
  }
  return f + conv(b, length, double(ch.back()), double(a.leads()), 3);
}

double training_step_flops(const model::ModelOptions& o, Stage stage, int64_t batch) {
  const int64_t slots = kStatementSlots;
  switch (stage) {
    case Stage::kDenoiser:
      return 3.0 * (denoiser_forward_flops(o, batch, slots) + condition_forward_flops(o, batch, slots));
    case Stage::kExtractor:
      return 3.0 * (2.0 * extractor_forward_flops(o, batch, slots) +
                    linear(double(batch), double(o.extractor.hidden()), double(batch)));
    case Stage::kAutoencoder:
      return 3.0 * (autoencoder_encode_flops(o, batch) + autoencoder_decode_flops(o, batch));
  }
  return 0.0;
}

double twin_flops(const model::ModelOptions& o, int64_t batch, int64_t steps) {
  const int64_t slots = kStatementSlots;
  return autoencoder_encode_flops(o, batch) + extractor_forward_flops(o, batch, slots) +
         condition_forward_flops(o, batch, slots) +
         double(steps) * denoiser_forward_flops(o, batch, slots) +
         autoencoder_decode_flops(o, batch);
}

}  // namespace ecgtwin::app::modelbench
