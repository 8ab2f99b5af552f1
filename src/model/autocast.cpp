#include "ecgtwin/model/autocast.hpp"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "ecgtwin/util/machine.hpp"

namespace ecgtwin::model {

// The per-device calls replace the CUDA-only and CPU-only ones from LibTorch 2.4 on.
void set_bf16_autocast(const torch::Device& device, bool enabled) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  const c10::DeviceType type = device.is_cuda() ? at::kCUDA : at::kCPU;
  at::autocast::set_autocast_enabled(type, enabled);
  if (enabled) at::autocast::set_autocast_dtype(type, at::kBFloat16);
#else
  if (device.is_cuda()) {
    at::autocast::set_enabled(enabled);
    if (enabled) at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    if (enabled) at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  }
#endif
  if (!enabled) at::autocast::clear_cache();
}

bool bf16_autocast_available(const torch::Device& device) {
  if (device.is_cuda()) return true;
  static const bool cpu_has_bf16 = util::cpu_has_bf16();
  return device.is_cpu() && cpu_has_bf16;
}

AutocastScope::AutocastScope(const torch::Device& device, bool enabled)
    : device_(device), active_(enabled && bf16_autocast_available(device)) {
  if (active_) set_bf16_autocast(device_, true);
}

AutocastScope::~AutocastScope() {
  if (active_) set_bf16_autocast(device_, false);
}

}  // namespace ecgtwin::model
