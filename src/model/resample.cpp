#include "ecgtwin/model/resample.hpp"

#include <ATen/ATen.h>

#include <array>
#include <cstdint>

namespace ecgtwin::model {

torch::Tensor upsample_nearest_x2(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 3, "upsample_nearest_x2: expected [batch, channels, length], got ",
              x.sizes());
  const std::array<int64_t, 1> length{2 * x.size(2)};
  return at::upsample_nearest1d(x, at::IntArrayRef(length), c10::optional<double>(2.0));
}

}  // namespace ecgtwin::model
