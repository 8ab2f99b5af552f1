#pragma once
// bf16 autocast: inside a scope, LibTorch runs matrix products and convolutions in bfloat16
// (weights and everything outside the scope stay float32). On CUDA always; on the CPU where
// it has bfloat16 instructions (AVX512-BF16 or AMX-BF16, util::cpu_has_bf16), through which
// oneDNN runs those products several times faster than float32 BLAS. Elsewhere a CPU would
// emulate bfloat16 and be slower than float32, so the scope leaves the CPU in float32 there.
#include <torch/types.h>

namespace ecgtwin::model {

// Whether a scope asked for bf16 on `device` runs in bf16 there.
bool bf16_autocast_available(const torch::Device& device);

// Turns bf16 autocast on `device` on or off whatever the CPU has (AutocastScope decides when;
// tests use it to run the bf16 paths on any CPU). Turning it off also drops autocast's cache of
// cast weights.
void set_bf16_autocast(const torch::Device& device, bool enabled);

class AutocastScope {
 public:
  // bf16 autocast on `device` while alive, when `enabled` and bf16_autocast_available.
  AutocastScope(const torch::Device& device, bool enabled);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

  bool active() const { return active_; }

 private:
  torch::Device device_;
  bool active_ = false;
};

}  // namespace ecgtwin::model
