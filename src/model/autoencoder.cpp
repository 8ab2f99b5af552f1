#include "ecgtwin/model/autoencoder.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "ecgtwin/model/resample.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::model {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

int64_t AutoencoderOptions::latent_length() const {
  return length() >> (static_cast<int64_t>(channels().size()) - 1);
}

void AutoencoderOptions::validate() const {
  const std::string prefix = "model.autoencoder.";
  if (leads() < 1) throw InputError(prefix + "leads", "expected at least 1 lead");
  if (latent_channels() < 1) throw InputError(prefix + "latent_channels", "expected at least 1");
  if (channels().empty()) throw InputError(prefix + "channels", "expected at least one level");
  if (layers_per_block() < 1) throw InputError(prefix + "layers_per_block", "expected at least 1");
  if (norm_groups() < 1) throw InputError(prefix + "norm_groups", "expected at least 1");
  for (int64_t c : channels()) {
    if (c < 1 || c % norm_groups() != 0)
      throw InputError(prefix + "channels", "every channel count must be a positive multiple of norm_groups (" +
                                                std::to_string(norm_groups()) + "), got " + std::to_string(c));
  }
  const int64_t factor = int64_t{1} << (channels().size() - 1);
  if (length() < factor || length() % factor != 0)
    throw InputError(prefix + "length", "expected a multiple of " + std::to_string(factor) +
                                            " (2^downsamplings), got " + std::to_string(length()));
  if (!(scaling_factor() > 0)) throw InputError(prefix + "scaling_factor", "expected a positive value");
  if (!(logvar_min() < logvar_max())) throw InputError(prefix + "logvar_min", "expected logvar_min < logvar_max");
}

namespace {

nn::Conv1d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1) {
  return nn::Conv1d(nn::Conv1dOptions(in, out, kernel).stride(stride).padding(kernel / 2));
}

nn::GroupNorm group_norm(int64_t groups, int64_t channels) {
  return nn::GroupNorm(nn::GroupNormOptions(groups, channels).eps(1e-6));
}

class Downsample1dImpl : public nn::Module {
 public:
  explicit Downsample1dImpl(int64_t channels) { conv_ = register_module("conv", conv(channels, channels, 3, 2)); }
  torch::Tensor forward(const torch::Tensor& x) { return conv_->forward(x); }

 private:
  nn::Conv1d conv_{nullptr};
};
TORCH_MODULE(Downsample1d);

class Upsample1dImpl : public nn::Module {
 public:
  explicit Upsample1dImpl(int64_t channels) { conv_ = register_module("conv", conv(channels, channels, 3)); }
  torch::Tensor forward(const torch::Tensor& x) { return conv_->forward(upsample_nearest_x2(x)); }

 private:
  nn::Conv1d conv_{nullptr};
};
TORCH_MODULE(Upsample1d);

// A level of the encoder or decoder: resnets, then an optional resampler.
class LevelImpl : public nn::Module {
 public:
  LevelImpl(int64_t in, int64_t out, int64_t count, int64_t groups, bool down, bool up) {
    resnets_ = register_module("resnets", nn::ModuleList());
    for (int64_t i = 0; i < count; ++i) resnets_->push_back(ResnetBlock1d(i == 0 ? in : out, out, groups));
    if (down) {
      downsamplers_ = register_module("downsamplers", nn::ModuleList());
      downsamplers_->push_back(Downsample1d(out));
    }
    if (up) {
      upsamplers_ = register_module("upsamplers", nn::ModuleList());
      upsamplers_->push_back(Upsample1d(out));
    }
  }
  torch::Tensor forward(torch::Tensor x) {
    for (const auto& block : *resnets_) x = block->as<ResnetBlock1d>()->forward(x);
    if (downsamplers_) x = downsamplers_[0]->as<Downsample1d>()->forward(x);
    if (upsamplers_) x = upsamplers_[0]->as<Upsample1d>()->forward(x);
    return x;
  }

 private:
  nn::ModuleList resnets_{nullptr}, downsamplers_{nullptr}, upsamplers_{nullptr};
};
TORCH_MODULE(Level);

}  // namespace

ResnetBlock1dImpl::ResnetBlock1dImpl(int64_t in_channels, int64_t out_channels, int64_t groups) {
  norm1_ = register_module("norm1", group_norm(groups, in_channels));
  conv1_ = register_module("conv1", conv(in_channels, out_channels, 3));
  norm2_ = register_module("norm2", group_norm(groups, out_channels));
  conv2_ = register_module("conv2", conv(out_channels, out_channels, 3));
  if (in_channels != out_channels)
    conv_shortcut_ = register_module("conv_shortcut", conv(in_channels, out_channels, 1));
}

torch::Tensor ResnetBlock1dImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = conv1_->forward(F::silu(norm1_->forward(x)));
  h = conv2_->forward(F::silu(norm2_->forward(h)));
  return (conv_shortcut_ ? conv_shortcut_->forward(x) : x) + h;
}

AttentionBlock1dImpl::AttentionBlock1dImpl(int64_t channels, int64_t groups) {
  group_norm_ = register_module("group_norm", group_norm(groups, channels));
  to_q_ = register_module("to_q", nn::Linear(channels, channels));
  to_k_ = register_module("to_k", nn::Linear(channels, channels));
  to_v_ = register_module("to_v", nn::Linear(channels, channels));
  to_out_ = register_module("to_out", nn::ModuleList(nn::Linear(channels, channels)));
}

torch::Tensor AttentionBlock1dImpl::forward(const torch::Tensor& x) {
  const torch::Tensor h = group_norm_->forward(x).transpose(1, 2);  // [B, L, C]
  const torch::Tensor q = to_q_->forward(h);
  const torch::Tensor k = to_k_->forward(h);
  const torch::Tensor v = to_v_->forward(h);
  const double scale = 1.0 / std::sqrt(static_cast<double>(x.size(1)));
  const torch::Tensor weights = torch::softmax(torch::matmul(q, k.transpose(1, 2)) * scale, -1);
  const torch::Tensor out = to_out_[0]->as<nn::Linear>()->forward(torch::matmul(weights, v));
  return x + out.transpose(1, 2);
}

MidBlock1dImpl::MidBlock1dImpl(int64_t channels, int64_t groups) {
  resnets_ = register_module("resnets", nn::ModuleList(ResnetBlock1d(channels, channels, groups),
                                                       ResnetBlock1d(channels, channels, groups)));
  attentions_ = register_module("attentions", nn::ModuleList(AttentionBlock1d(channels, groups)));
}

torch::Tensor MidBlock1dImpl::forward(torch::Tensor x) {
  x = resnets_[0]->as<ResnetBlock1d>()->forward(x);
  x = attentions_[0]->as<AttentionBlock1d>()->forward(x);
  return resnets_[1]->as<ResnetBlock1d>()->forward(x);
}

VaeEncoderImpl::VaeEncoderImpl(const AutoencoderOptions& options) {
  const auto& channels = options.channels();
  const int64_t groups = options.norm_groups();
  conv_in_ = register_module("conv_in", conv(options.leads(), channels.front(), 3));
  down_blocks_ = register_module("down_blocks", nn::ModuleList());
  for (size_t i = 0; i < channels.size(); ++i) {
    const int64_t in = i == 0 ? channels.front() : channels[i - 1];
    down_blocks_->push_back(Level(in, channels[i], options.layers_per_block(), groups,
                                  /*down=*/i + 1 < channels.size(), /*up=*/false));
  }
  mid_block_ = register_module("mid_block", MidBlock1d(channels.back(), groups));
  conv_norm_out_ = register_module("conv_norm_out", group_norm(groups, channels.back()));
  conv_out_ = register_module("conv_out", conv(channels.back(), 2 * options.latent_channels(), 3));
}

torch::Tensor VaeEncoderImpl::forward(torch::Tensor x) {
  x = conv_in_->forward(x);
  for (const auto& level : *down_blocks_) x = level->as<Level>()->forward(x);
  x = mid_block_->forward(x);
  return conv_out_->forward(F::silu(conv_norm_out_->forward(x)));
}

VaeDecoderImpl::VaeDecoderImpl(const AutoencoderOptions& options) {
  const std::vector<int64_t> channels(options.channels().rbegin(), options.channels().rend());
  const int64_t groups = options.norm_groups();
  conv_in_ = register_module("conv_in", conv(options.latent_channels(), channels.front(), 3));
  mid_block_ = register_module("mid_block", MidBlock1d(channels.front(), groups));
  up_blocks_ = register_module("up_blocks", nn::ModuleList());
  for (size_t i = 0; i < channels.size(); ++i) {
    const int64_t in = i == 0 ? channels.front() : channels[i - 1];
    up_blocks_->push_back(Level(in, channels[i], options.layers_per_block() + 1, groups,
                                /*down=*/false, /*up=*/i + 1 < channels.size()));
  }
  conv_norm_out_ = register_module("conv_norm_out", group_norm(groups, channels.back()));
  conv_out_ = register_module("conv_out", conv(channels.back(), options.leads(), 3));
}

torch::Tensor VaeDecoderImpl::forward(torch::Tensor z) {
  torch::Tensor x = mid_block_->forward(conv_in_->forward(z));
  for (const auto& level : *up_blocks_) x = level->as<Level>()->forward(x);
  return conv_out_->forward(F::silu(conv_norm_out_->forward(x)));
}

AutoencoderImpl::AutoencoderImpl(const AutoencoderOptions& options) : options_(options) {
  options_.validate();
  const int64_t moments = 2 * options_.latent_channels();
  encoder_ = register_module("encoder", VaeEncoder(options_));
  decoder_ = register_module("decoder", VaeDecoder(options_));
  quant_conv_ = register_module("quant_conv", conv(moments, moments, 1));
  post_quant_conv_ = register_module("post_quant_conv",
                                     conv(options_.latent_channels(), options_.latent_channels(), 1));
}

Posterior AutoencoderImpl::encode(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 3 && x.size(1) == options_.leads() && x.size(2) == options_.length(),
              "Autoencoder::encode: expected [B, ", options_.leads(), ", ", options_.length(), "], got ",
              x.sizes());
  const auto moments = quant_conv_->forward(encoder_->forward(x)).chunk(2, 1);
  return {moments[0], moments[1].clamp(options_.logvar_min(), options_.logvar_max())};
}

torch::Tensor AutoencoderImpl::sample(const Posterior& posterior, std::optional<at::Generator> generator) const {
  const auto cpu = posterior.mu.options().device(torch::kCPU);
  torch::Tensor noise = generator ? torch::randn(posterior.mu.sizes(), *generator, cpu)
                                  : torch::randn(posterior.mu.sizes(), cpu);
  return sample_with(posterior, noise);
}

torch::Tensor AutoencoderImpl::sample_with(const Posterior& posterior,
                                           const torch::Tensor& noise) const {
  TORCH_CHECK(noise.sizes() == posterior.mu.sizes(), "Autoencoder::sample_with: noise of shape ",
              noise.sizes(), " for a posterior of shape ", posterior.mu.sizes());
  return options_.scaling_factor() *
         (posterior.mu + torch::exp(0.5 * posterior.logvar) * noise.to(posterior.mu.device()));
}

torch::Tensor AutoencoderImpl::sample(const Posterior& posterior, uint64_t seed) const {
  return sample(posterior, at::make_generator<at::CPUGeneratorImpl>(seed));
}

torch::Tensor AutoencoderImpl::encode_latent(const torch::Tensor& x) {
  return options_.scaling_factor() * encode(x).mu;
}

torch::Tensor AutoencoderImpl::decode(const torch::Tensor& scaled_latent) {
  TORCH_CHECK(scaled_latent.dim() == 3 && scaled_latent.size(1) == options_.latent_channels() &&
                  scaled_latent.size(2) == options_.latent_length(),
              "Autoencoder::decode: expected [B, ", options_.latent_channels(), ", ", options_.latent_length(),
              "], got ", scaled_latent.sizes());
  return decoder_->forward(post_quant_conv_->forward(scaled_latent / options_.scaling_factor()));
}

AutoencoderOutput AutoencoderImpl::forward(const torch::Tensor& x, std::optional<at::Generator> generator) {
  Posterior posterior = encode(x);
  torch::Tensor reconstruction = decode(sample(posterior, std::move(generator)));
  return {reconstruction, posterior};
}

AutoencoderOutput AutoencoderImpl::forward_with(const torch::Tensor& x,
                                                const torch::Tensor& noise) {
  Posterior posterior = encode(x);
  torch::Tensor reconstruction = decode(sample_with(posterior, noise));
  return {reconstruction, posterior};
}

torch::Tensor gaussian_kl(const Posterior& posterior) {
  return 0.5 * (posterior.mu.pow(2) + posterior.logvar.exp() - 1.0 - posterior.logvar).mean();
}

AutoencoderLoss autoencoder_loss(const torch::Tensor& reconstruction, const torch::Tensor& target,
                                 const Posterior& posterior, double kl_weight) {
  torch::Tensor mse = F::mse_loss(reconstruction, target);
  torch::Tensor kl = gaussian_kl(posterior);
  return {mse + kl_weight * kl, mse, kl};
}

void AutoencoderImpl::set_scaling_factor(double factor) {
  if (!(factor > 0) || !std::isfinite(factor))
    throw InputError("model.autoencoder.scaling_factor", "expected a positive finite value");
  options_.scaling_factor(factor);
}

}  // namespace ecgtwin::model
