#pragma once
// Learning-rate schedule: linear warm-up, then cosine decay to min_ratio * peak
// (Loshchilov & Hutter 2017, SGDR, without restarts).
#include <cstdint>

namespace ecgtwin::train {

struct LrSchedule {
  double peak = 1e-4;
  std::int64_t warmup_steps = 0;
  std::int64_t total_steps = 1;
  double min_ratio = 0.0;

  // Learning rate used for optimiser step `step` (0-based).
  double at(std::int64_t step) const;
};

}  // namespace ecgtwin::train
