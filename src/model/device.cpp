#include "ecgtwin/model/device.hpp"

#include <torch/cuda.h>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::model {

torch::Device resolve_device(const std::string& name) {
  if (name.empty() || name == "auto") {
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  }
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      throw InputError("device " + name, "CUDA is not available in this build or on this machine");
    try {
      torch::Device device(name);
      // A bare "cuda" is the first device: an explicit index, as memory statistics and
      // device guards need one.
      if (!device.has_index()) device = torch::Device(torch::kCUDA, 0);
      if (device.index() >= static_cast<int>(torch::cuda::device_count()))
        throw InputError("device " + name, "no such CUDA device (" +
                                               std::to_string(torch::cuda::device_count()) + " present)");
      return device;
    } catch (const c10::Error&) {
      throw InputError("device " + name, "expected auto, cpu, cuda or cuda:N");
    }
  }
  throw InputError("device " + name, "expected auto, cpu, cuda or cuda:N");
}

std::string describe_device(const torch::Device& device) { return device.str(); }

}  // namespace ecgtwin::model
