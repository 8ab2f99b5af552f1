#include "ecgtwin/train/ema.hpp"

#include <sstream>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::train {

Ema::Ema(torch::nn::Module& module, double decay) : decay_(decay) {
  torch::NoGradGuard no_grad;
  for (const auto& item : module.named_parameters(true)) {
    if (!item.value().requires_grad()) continue;
    names_.push_back(item.key());
    shadow_.push_back(item.value().detach().clone());
  }
}

void Ema::update(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  auto params = module.named_parameters(true);
  for (size_t i = 0; i < names_.size(); ++i) {
    const auto& p = params[names_[i]];
    shadow_[i].mul_(decay_).add_(p.detach(), 1.0 - decay_);
  }
}

void Ema::copy_to(torch::nn::Module& module) const {
  torch::NoGradGuard no_grad;
  auto params = module.named_parameters(true);
  for (size_t i = 0; i < names_.size(); ++i) params[names_[i]].copy_(shadow_[i]);
}

void Ema::save(torch::serialize::OutputArchive& archive, const std::string& prefix) const {
  for (size_t i = 0; i < names_.size(); ++i)
    archive.write(prefix + names_[i], shadow_[i].to(torch::kCPU), /*is_buffer=*/true);
}

void Ema::load(torch::serialize::InputArchive& archive, const std::string& prefix,
               const std::string& file) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < names_.size(); ++i) {
    torch::Tensor stored;
    if (!archive.try_read(prefix + names_[i], stored, true))
      throw InputError(file, "checkpoint has no EMA tensor '" + names_[i] + "'");
    if (stored.sizes() != shadow_[i].sizes()) {
      std::ostringstream msg;
      msg << "EMA tensor '" << names_[i] << "' has shape " << stored.sizes() << ", expected "
          << shadow_[i].sizes();
      throw InputError(file, msg.str());
    }
    shadow_[i].copy_(stored);
  }
}

}  // namespace ecgtwin::train
