#include "ecgtwin/train/checkpoint.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize.h>
#include <torch/version.h>

#include <sstream>

#include "ecgtwin/train/ema.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"

namespace ecgtwin::train {

namespace {

constexpr const char* kMagic = "ECGTWIN-CHECKPOINT 1";

void write_state(torch::serialize::OutputArchive& archive, const std::string& prefix,
                 torch::nn::Module& module) {
  for (const auto& item : module.named_parameters(true))
    archive.write(prefix + item.key(), item.value().detach().to(torch::kCPU));
  for (const auto& item : module.named_buffers(true))
    archive.write(prefix + item.key(), item.value().to(torch::kCPU), /*is_buffer=*/true);
}

void read_state(torch::serialize::InputArchive& archive, const std::string& prefix,
                torch::nn::Module& module, const std::string& file) {
  torch::NoGradGuard no_grad;
  auto copy_one = [&](const std::string& key, torch::Tensor target, bool is_buffer) {
    torch::Tensor stored;
    if (!archive.try_read(prefix + key, stored, is_buffer))
      throw InputError(file, "checkpoint has no tensor '" + prefix + key +
                                 "' (it was written for another model configuration)");
    if (stored.sizes() != target.sizes()) {
      std::ostringstream msg;
      msg << "tensor '" << prefix << key << "' has shape " << stored.sizes()
          << " in the checkpoint but " << target.sizes()
          << " in the model (the config differs from the one it was trained with)";
      throw InputError(file, msg.str());
    }
    target.copy_(stored.to(target.dtype()));
  };
  for (const auto& item : module.named_parameters(true)) copy_one(item.key(), item.value(), false);
  for (const auto& item : module.named_buffers(true)) copy_one(item.key(), item.value(), true);
}

std::string serialize_payload(const std::function<void(torch::serialize::OutputArchive&)>& fill) {
  torch::serialize::OutputArchive archive;
  fill(archive);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

void write_container(const std::filesystem::path& path, const nlohmann::json& meta,
                     const std::string& payload) {
  nlohmann::json header;
  header["payload_bytes"] = payload.size();
  header["checksum"] = util::hex64(util::fnv1a64(payload));
  header["meta"] = meta;
  header["torch_version"] = TORCH_VERSION;
  util::AtomicFile file(path);
  file.write(std::string(kMagic) + "\n" + header.dump() + "\n");
  file.write(payload);
  file.commit();
}

struct Container {
  nlohmann::json header;
  std::string payload;
};

Container read_container(const std::filesystem::path& path) {
  std::string bytes = util::read_file(path);
  const std::string file = path.string();
  auto first = bytes.find('\n');
  if (first == std::string::npos || bytes.compare(0, first, kMagic) != 0)
    throw InputError(file, "not an ecgtwin checkpoint (expected the line '" + std::string(kMagic) + "')");
  auto second = bytes.find('\n', first + 1);
  if (second == std::string::npos) throw InputError(file, "truncated checkpoint header");
  Container c;
  try {
    c.header = nlohmann::json::parse(bytes.substr(first + 1, second - first - 1));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(file, std::string("corrupt checkpoint header: ") + e.what());
  }
  c.payload = bytes.substr(second + 1);
  auto expected_size = c.header.value("payload_bytes", std::uint64_t{0});
  if (c.payload.size() != expected_size)
    throw InputError(file, "checkpoint is truncated or has trailing bytes: payload is " +
                               std::to_string(c.payload.size()) + " bytes, header says " +
                               std::to_string(expected_size));
  if (c.header.value("checksum", std::string()) != util::hex64(util::fnv1a64(c.payload)))
    throw InputError(file, "checkpoint checksum mismatch: the file is corrupt");
  return c;
}

nlohmann::json meta_to_json(const CheckpointMeta& meta) {
  return {{"stage", meta.stage},  {"step", meta.step},     {"samples_seen", meta.samples_seen},
          {"seed", meta.seed},    {"config", meta.config}, {"extra", meta.extra}};
}

CheckpointMeta meta_from_json(const nlohmann::json& j) {
  CheckpointMeta meta;
  meta.stage = j.value("stage", std::string());
  meta.step = j.value("step", std::int64_t{0});
  meta.samples_seen = j.value("samples_seen", std::int64_t{0});
  meta.seed = j.value("seed", std::uint64_t{0});
  meta.config = j.value("config", nlohmann::json::object());
  meta.extra = j.value("extra", nlohmann::json::object());
  return meta;
}

torch::serialize::InputArchive open_payload(const Container& c, const std::string& file,
                                            const torch::Device& device) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(c.payload.data(), c.payload.size(), torch::Device(torch::kCPU));
  } catch (const c10::Error& e) {
    throw InputError(file, "cannot read checkpoint payload: " + std::string(e.what_without_backtrace()));
  }
  (void)device;
  return archive;
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const CheckpointMeta& meta,
                     const CheckpointParts& parts) {
  std::string payload = serialize_payload([&](torch::serialize::OutputArchive& archive) {
    if (parts.model) write_state(archive, "model.", *parts.model);
    if (parts.ema) parts.ema->save(archive, "ema.");
    if (parts.optimizer) {
      torch::serialize::OutputArchive optimizer_archive;
      parts.optimizer->save(optimizer_archive);
      archive.write("optimizer", optimizer_archive);
    }
    auto generator = at::detail::getDefaultCPUGenerator();
    archive.write("rng.cpu", generator.get_state(), /*is_buffer=*/true);
  });
  write_container(path, meta_to_json(meta), payload);
}

CheckpointMeta read_checkpoint_meta(const std::filesystem::path& path) {
  return meta_from_json(read_container(path).header.at("meta"));
}

CheckpointMeta load_checkpoint(const std::filesystem::path& path, const CheckpointParts& parts,
                               const std::string& expected_stage, const torch::Device& device) {
  Container c = read_container(path);
  CheckpointMeta meta = meta_from_json(c.header.at("meta"));
  const std::string file = path.string();
  if (!expected_stage.empty() && meta.stage != expected_stage)
    throw InputError(file, "checkpoint is of stage '" + meta.stage + "', expected '" + expected_stage + "'");
  auto archive = open_payload(c, file, device);
  if (parts.model) read_state(archive, "model.", *parts.model, file);
  if (parts.ema) parts.ema->load(archive, "ema.", file);
  if (parts.optimizer) {
    torch::serialize::InputArchive optimizer_archive;
    if (!archive.try_read("optimizer", optimizer_archive))
      throw InputError(file, "checkpoint has no optimiser state");
    try {
      parts.optimizer->load(optimizer_archive);
    } catch (const c10::Error& e) {
      throw InputError(file, "optimiser state does not match the model: " +
                                 std::string(e.what_without_backtrace()));
    }
  }
  torch::Tensor rng_state;
  if (archive.try_read("rng.cpu", rng_state, true)) {
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(rng_state);
  }
  return meta;
}

std::string weights_digest(torch::nn::Module& module) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  auto add = [&](const std::string& name, const torch::Tensor& tensor) {
    hash = util::fnv1a64(name, hash);
    auto cpu = tensor.detach().to(torch::kCPU).contiguous();
    hash = util::fnv1a64(std::string_view(static_cast<const char*>(cpu.data_ptr()), cpu.nbytes()), hash);
  };
  for (const auto& item : module.named_parameters(true)) add(item.key(), item.value());
  for (const auto& item : module.named_buffers(true)) add(item.key(), item.value());
  return util::hex64(hash);
}

void save_module(const std::filesystem::path& path, torch::nn::Module& module,
                 const nlohmann::json& meta_in) {
  nlohmann::json meta = meta_in;
  meta["weights"] = weights_digest(module);
  std::string payload = serialize_payload(
      [&](torch::serialize::OutputArchive& archive) { write_state(archive, "model.", module); });
  write_container(path, meta, payload);
}

nlohmann::json read_module_meta(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw InputError(path.string(), "model file not found");
  return read_container(path).header.at("meta");
}

nlohmann::json load_module(const std::filesystem::path& path, torch::nn::Module& module,
                           const torch::Device& device) {
  if (!std::filesystem::exists(path)) throw InputError(path.string(), "model file not found");
  Container c = read_container(path);
  auto archive = open_payload(c, path.string(), device);
  read_state(archive, "model.", module, path.string());
  module.to(device);
  return c.header.at("meta");
}

}  // namespace ecgtwin::train
