#pragma once
// Nearest-neighbour upsampling by 2 along the last axis of [batch, channels, length]:
// y[..., 2i] = y[..., 2i + 1] = x[..., i] (the values of x.repeat_interleave(2, 2), and of the
// diffusers Upsample1D's F.interpolate(scale_factor=2, mode="nearest")). It runs as LibTorch's
// upsample_nearest1d, whose backward sums neighbouring pairs in one pass; repeat_interleave's
// backward is an index_add that takes about ten times as long on the CPU.
#include <torch/types.h>

namespace ecgtwin::model {

torch::Tensor upsample_nearest_x2(const torch::Tensor& x);

}  // namespace ecgtwin::model
