// ecgtwin reference-export (hidden): writes the published networks with seeded random
// weights, a batch of inputs and the networks' outputs as NPY files, for an independent
// implementation (bench/reference.py) to load and compare:
//   DIR/weights/<network>/<parameter or buffer name>.npy   (float32)
//   DIR/inputs/<name>.npy, DIR/outputs/<name>.npy          (float32; int32 for integers)
//   DIR/manifest.json                                      (counts, shapes, sampler settings)
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "command.hpp"
#include "ecgtwin/io/npy.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "ml_bench_fixture.hpp"

namespace ecgtwin::app {
namespace {

namespace fs = std::filesystem;
using namespace modelbench;

constexpr int64_t kCheckBatch = 3;

void write_tensor(const fs::path& path, const torch::Tensor& tensor) {
  fs::create_directories(path.parent_path());
  const torch::Tensor cpu = tensor.detach().to(torch::kCPU).contiguous();
  std::vector<int64_t> shape(cpu.sizes().begin(), cpu.sizes().end());
  if (cpu.is_floating_point()) {
    const torch::Tensor f = cpu.to(torch::kFloat32).contiguous();
    io::write_npy(path, f.data_ptr<float>(), shape);
  } else {
    const torch::Tensor i = cpu.to(torch::kInt32).contiguous();
    io::write_npy(path, i.data_ptr<int32_t>(), shape);
  }
}

nlohmann::json write_module(const fs::path& folder, torch::nn::Module& module) {
  nlohmann::json names = nlohmann::json::object();
  int64_t count = 0;
  for (const auto& p : module.named_parameters()) {
    write_tensor(folder / (p.key() + ".npy"), p.value());
    names[p.key()] = p.value().sizes().vec();
    count += p.value().numel();
  }
  nlohmann::json buffers = nlohmann::json::object();
  for (const auto& b : module.named_buffers()) {
    write_tensor(folder / (b.key() + ".npy"), b.value());
    buffers[b.key()] = b.value().sizes().vec();
  }
  return {{"parameters", count}, {"parameter_shapes", names}, {"buffer_shapes", buffers}};
}

void export_reference(const fs::path& out, uint64_t seed) {
  const torch::Device cpu(torch::kCPU);
  Networks n = make_networks(cpu, /*randomise=*/true, seed);
  n.autoencoder->eval();
  n.extractor->eval();
  n.condition->eval();
  n.denoiser->eval();
  const Batch b = make_batch(n, kCheckBatch, seed + 10, cpu);
  torch::NoGradGuard no_grad;

  nlohmann::json manifest;
  manifest["seed"] = seed;
  manifest["networks"]["autoencoder"] = write_module(out / "weights" / "autoencoder", *n.autoencoder);
  manifest["networks"]["extractor"] = write_module(out / "weights" / "extractor", *n.extractor);
  manifest["networks"]["condition"] = write_module(out / "weights" / "condition", *n.condition);
  manifest["networks"]["denoiser"] = write_module(out / "weights" / "denoiser", *n.denoiser);

  const fs::path in = out / "inputs", res = out / "outputs";
  write_tensor(in / "signal.npy", b.signal);
  write_tensor(in / "latent.npy", b.latent);
  write_tensor(in / "latent_other.npy", b.latent_other);
  write_tensor(in / "statements.npy", b.statements);
  write_tensor(in / "mask.npy", b.mask);
  write_tensor(in / "heart_rate.npy", b.demographics.heart_rate);
  write_tensor(in / "age.npy", b.demographics.age);
  write_tensor(in / "sex.npy", b.demographics.sex);
  write_tensor(in / "base_vector.npy", b.base_vector);

  // VAE: posterior of the signal, decoding of a given latent.
  const model::Posterior posterior = n.autoencoder->encode(b.signal);
  write_tensor(res / "autoencoder_mu.npy", posterior.mu);
  write_tensor(res / "autoencoder_logvar.npy", posterior.logvar);
  write_tensor(res / "autoencoder_decoded.npy", n.autoencoder->decode(b.latent));

  // IBE: the second row's conditions replaced by the null token.
  const torch::Tensor drop = torch::tensor({0, 1, 0}, torch::kBool);
  write_tensor(in / "drop.npy", drop);
  const torch::Tensor base_a =
      n.extractor->extract(b.latent, b.statements, b.mask, b.demographics, drop);
  const torch::Tensor base_b = n.extractor->extract(b.latent_other, b.statements, b.mask, b.demographics);
  write_tensor(res / "extractor_base.npy", base_a);
  write_tensor(res / "extractor_base_other.npy", base_b);
  write_tensor(res / "info_nce.npy", model::info_nce(base_a, base_b, n.extractor->logit_scale()).view({1}));

  // Denoiser with its condition tokens.
  const model::ConditionTokens tokens = n.condition->forward(b.statements, b.mask, b.demographics);
  write_tensor(res / "condition_tokens.npy", tokens.tokens);
  const torch::Tensor t = torch::tensor({999, 500, 3}, torch::kInt64);
  write_tensor(in / "timesteps.npy", t);
  write_tensor(res / "denoiser_epsilon.npy",
               n.denoiser->forward(b.latent_other, t, {b.base_vector, tokens.tokens, tokens.mask}));

  // Twins: DDIM-50 (eta 0) from a given x_T, and DDIM-10 with eta 1 from the seed (the
  // noise stream of the CPU generator).
  const model::DenoiserConditions conditions = twin_conditions(n, b, false);
  write_tensor(res / "twin_base_vector.npy", conditions.base_vector);
  const auto& a = n.options.autoencoder;
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed + 20);
  const torch::Tensor x_t =
      torch::randn({kCheckBatch, a.latent_channels(), a.latent_length()}, g, torch::kFloat32);
  write_tensor(in / "x_T.npy", x_t);
  diffusion::SamplerOptions ddim;
  ddim.sampler("ddim").steps(50).eta(0.0).initial_noise(x_t);
  const torch::Tensor latent = sample_latents(n, conditions, kCheckBatch, ddim, false);
  write_tensor(res / "ddim50_latent.npy", latent);
  write_tensor(res / "ddim50_twin.npy", n.autoencoder->decode(latent));
  diffusion::SamplerOptions stochastic;
  stochastic.sampler("ddim").steps(10).eta(1.0).seed(seed + 30);
  write_tensor(res / "ddim10_eta1_latent.npy",
               sample_latents(n, conditions, kCheckBatch, stochastic, false));
  manifest["sampling"] = {{"ddim50", {{"steps", 50}, {"eta", 0.0}, {"spacing", "trailing"}}},
                          {"ddim10_eta1", {{"steps", 10}, {"eta", 1.0}, {"spacing", "trailing"},
                                           {"seed", seed + 30}}}};
  manifest["statement_slots"] = kStatementSlots;
  manifest["batch"] = kCheckBatch;
  util::write_file_atomic(out / "manifest.json", manifest.dump(2) + "\n");
}

Registrar registrar(
    "reference-export",
    "write seeded weights, inputs and outputs of the networks as NPY (for bench/reference.py)",
    [](CLI::App& app) {
      app.group("");  // not listed in the help: a tool for the Python reference check
      auto out = std::make_shared<std::string>();
      auto seed = std::make_shared<uint64_t>(0);
      app.add_option("-o,--output", *out, "folder to write (created)")->required();
      app.add_option("--seed", *seed, "seed of the weights and inputs (default: 0)");
      return [out, seed]() {
        export_reference(*out, *seed);
        std::cout << *out << "\n";
        return kExitOk;
      };
    });

}  // namespace
}  // namespace ecgtwin::app
