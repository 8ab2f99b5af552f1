#include "ecgtwin/train/distributed.hpp"

// LibTorch's c10d headers are empty unless the backend's switch is defined (USE_C10D_GLOO,
// USE_C10D_NCCL). Debian's LibTorch is built with them but does not export them to its
// users; the Python package's LibTorch exports them but ships neither Gloo's nor NCCL's
// headers. So a switch is kept only where the backend's headers are on the include path.
#if defined(USE_C10D_GLOO) && !__has_include(<gloo/algorithm.h>)
#undef USE_C10D_GLOO
#endif
#if defined(USE_C10D_NCCL) && !__has_include(<nccl.h>)
#undef USE_C10D_NCCL
#endif
//
// Gloo: compiled in when Gloo's headers are on the include path (Debian: libgloo-dev, which
// scripts/setup.sh installs; the LibTorch archives ship them). ProcessGroupGloo itself lives
// in libtorch_cpu, so nothing more is linked.
#if !defined(USE_C10D_GLOO) && __has_include(<gloo/algorithm.h>)
#define USE_C10D_GLOO 1
#endif
// NCCL: compiled in when the build defines USE_C10D_NCCL, or when the include path reaches
// both CUDA's runtime header and NCCL's header (a CUDA LibTorch found by find_package(Torch)
// puts CUDA's include folders there, and with them libtorch_cuda, which holds
// ProcessGroupNCCL, among TORCH_LIBRARIES). -DECGTWIN_NO_NCCL turns the detection off.
#if !defined(USE_C10D_NCCL) && !defined(ECGTWIN_NO_NCCL) && __has_include(<nccl.h>) && \
    __has_include(<cuda_runtime_api.h>)
#define USE_C10D_NCCL 1
#endif

#include <spdlog/spdlog.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdint>
#include <limits>
#include <map>
#include <utility>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::train {

namespace {

// LibTorch 2 split the device-specific process groups off into c10d::Backend; in 1.13
// ProcessGroupGloo and ProcessGroupNCCL derive from c10d::ProcessGroup itself.
#if TORCH_VERSION_MAJOR >= 2
using Backend = c10d::Backend;
#else
using Backend = c10d::ProcessGroup;
#endif

std::string variable(const char* name) { return std::string("environment variable ") + name; }

// A whole decimal integer in [low, high].
int parse_int(const char* name, const char* text, long low, long high) {
  std::string value(text);
  std::size_t used = 0;
  long parsed = 0;
  try {
    parsed = std::stol(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (value.empty() || used != value.size())
    throw InputError(variable(name), "'" + value + "' is not a whole number");
  if (parsed < low || parsed > high)
    throw InputError(variable(name), "is " + value + ", expected " + std::to_string(low) +
                                         " to " + std::to_string(high));
  return static_cast<int>(parsed);
}

bool is_set(const char* value) { return value != nullptr && *value != '\0'; }

bool is_loopback(const std::string& address) {
  return address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0;
}

}  // namespace

LaunchEnvironment read_launch_environment(
    const std::function<const char*(const char*)>& lookup) {
  const char* world = lookup("WORLD_SIZE");
  const char* rank = lookup("RANK");
  LaunchEnvironment launch;
  if (!is_set(world) && !is_set(rank)) return launch;
  if (!is_set(world))
    throw InputError(variable("WORLD_SIZE"), "is not set, but RANK is (a launcher sets both)");
  constexpr long kMaxRanks = 1 << 20;
  launch.world_size = parse_int("WORLD_SIZE", world, 1, kMaxRanks);
  if (!is_set(rank)) {
    if (launch.world_size > 1)
      throw InputError(variable("RANK"), "is not set, but WORLD_SIZE is " + std::string(world));
  } else {
    launch.rank = parse_int("RANK", rank, 0, kMaxRanks);
    if (launch.rank >= launch.world_size)
      throw InputError(variable("RANK"), "is " + std::string(rank) + ", expected 0 <= RANK < " +
                                             "WORLD_SIZE = " + std::string(world));
  }
  const char* local = lookup("LOCAL_RANK");
  launch.local_rank = is_set(local) ? parse_int("LOCAL_RANK", local, 0, kMaxRanks) : launch.rank;
  if (launch.world_size == 1) return launch;

  const char* address = lookup("MASTER_ADDR");
  const char* port = lookup("MASTER_PORT");
  if (!is_set(address))
    throw InputError(variable("MASTER_ADDR"),
                     "is not set; the address of rank 0 is needed for WORLD_SIZE > 1");
  if (!is_set(port))
    throw InputError(variable("MASTER_PORT"),
                     "is not set; the port of rank 0 is needed for WORLD_SIZE > 1");
  launch.master_addr = address;
  launch.master_port = parse_int("MASTER_PORT", port, 1, 65535);
  return launch;
}

struct DistributedContext::Groups {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Backend> gloo;
  c10::intrusive_ptr<Backend> nccl;  // created at the first collective on CUDA tensors
};

DistributedContext::DistributedContext() : timeout_(std::chrono::minutes(30)) {}

DistributedContext::DistributedContext(const LaunchEnvironment& launch,
                                       std::chrono::milliseconds timeout)
    : launch_(launch), timeout_(timeout) {
  if (launch_.world_size < 1 || launch_.rank < 0 || launch_.rank >= launch_.world_size)
    throw InputError("distributed launch", "rank " + std::to_string(launch_.rank) +
                                               " is outside a world of " +
                                               std::to_string(launch_.world_size));
  if (!distributed()) return;
#if !defined(USE_C10D_GLOO) && !defined(USE_C10D_NCCL)
  throw InputError(variable("WORLD_SIZE"),
                   "is " + std::to_string(launch_.world_size) +
                       ", but this build of ecgtwin has neither Gloo nor NCCL process groups");
#endif
  groups_ = std::make_unique<Groups>();
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<std::uint16_t>(launch_.master_port);
  store_options.isServer = is_main();
  store_options.numWorkers = static_cast<std::size_t>(launch_.world_size);
  store_options.waitWorkers = true;
  store_options.timeout = timeout_;
  const std::string where = launch_.master_addr + ":" + std::to_string(launch_.master_port);
  try {
    groups_->store = c10::make_intrusive<c10d::TCPStore>(launch_.master_addr, store_options);
  } catch (const std::exception& e) {
    throw InputError("MASTER_ADDR:MASTER_PORT " + where,
                     std::string(is_main() ? "cannot host" : "cannot reach") +
                         " the rendezvous store (rank " + std::to_string(launch_.rank) + " of " +
                         std::to_string(launch_.world_size) + "): " + e.what());
  }
#ifdef USE_C10D_GLOO
  auto options = c10d::ProcessGroupGloo::Options::create(timeout_);
  // Like torch.distributed: GLOO_SOCKET_IFNAME names the interface; a loopback master means
  // every rank is on this machine; otherwise the address this host name resolves to.
  const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
  if (is_set(interface))
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
  else if (is_loopback(launch_.master_addr))
    options->devices.push_back(
        c10d::ProcessGroupGloo::createDeviceForHostname(launch_.master_addr));
  else
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  options->threads = 2;
  groups_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(
      c10::make_intrusive<c10d::PrefixStore>("gloo", groups_->store), launch_.rank,
      launch_.world_size, options);
#endif
  spdlog::info("distributed: rank {} of {} (local rank {}), rendezvous at {}", launch_.rank,
               launch_.world_size, launch_.local_rank, where);
}

DistributedContext::~DistributedContext() = default;

DistributedContext& DistributedContext::from_environment() {
  // Never destroyed: the group's threads and sockets live until the process ends, and no
  // destructor of it runs after LibTorch's own static objects are gone.
  static DistributedContext* context = new DistributedContext(read_launch_environment());
  return *context;
}

torch::Device DistributedContext::device_for(const torch::Device& requested) const {
  if (!requested.is_cuda() || !distributed()) return requested;
  const auto count = static_cast<int>(torch::cuda::device_count());
  if (launch_.local_rank >= count)
    throw InputError(variable("LOCAL_RANK"), "is " + std::to_string(launch_.local_rank) +
                                                 ", but this node has " + std::to_string(count) +
                                                 " CUDA devices");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(launch_.local_rank));
}

bool DistributedContext::has_backend(const std::string& backend) {
#ifdef USE_C10D_GLOO
  if (backend == "gloo") return true;
#endif
#ifdef USE_C10D_NCCL
  if (backend == "nccl") return true;
#endif
  return false;
}

std::string DistributedContext::backend_for(const torch::Device& device) const {
  if (device.is_cuda() && has_backend("nccl")) return "nccl";
  return has_backend("gloo") ? "gloo" : "nccl";
}

void DistributedContext::run_bucketed(const std::vector<torch::Tensor>& tensors,
                                      std::size_t bucket_bytes, Collective collective) {
  if (!distributed()) return;
  torch::NoGradGuard no_grad;
  // Buckets in the order of `tensors`, one open bucket per (dtype, device).
  std::vector<std::vector<std::size_t>> buckets;
  std::map<std::pair<int, std::string>, std::pair<std::size_t, std::size_t>> open;  // index, bytes
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    if (!t.defined()) continue;
    if (collective == Collective::kMean && !t.is_floating_point())
      throw Error("distributed: all_reduce_mean of a non-floating-point tensor");
    const std::size_t bytes = static_cast<std::size_t>(t.numel()) * t.element_size();
    const auto key = std::make_pair(static_cast<int>(t.scalar_type()), t.device().str());
    auto it = open.find(key);
    if (it != open.end() && it->second.second + bytes <= bucket_bytes) {
      buckets[it->second.first].push_back(i);
      it->second.second += bytes;
    } else {
      buckets.push_back({i});
      open[key] = {buckets.size() - 1, bytes};
    }
  }
  for (const auto& bucket : buckets) {
    std::vector<torch::Tensor> parts;
    for (std::size_t i : bucket) parts.push_back(tensors[i].detach().reshape({-1}));
    std::vector<torch::Tensor> flat{torch::cat(parts)};
    const torch::Device device = flat[0].device();
    c10::intrusive_ptr<Backend>* group = nullptr;
#ifdef USE_C10D_NCCL
    if (device.is_cuda()) {
      if (!groups_->nccl) {
        c10::cuda::set_device(device.index());
        auto options = c10d::ProcessGroupNCCL::Options::create();
        options->timeout = timeout_;
        groups_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(
            c10::make_intrusive<c10d::PrefixStore>("nccl", groups_->store), launch_.rank,
            launch_.world_size, options);
      }
      group = &groups_->nccl;
    }
#endif
    if (group == nullptr) {
      if (!groups_->gloo)
        throw Error("distributed: this build has no process group for tensors on " +
                    device.str());
      group = &groups_->gloo;
    }
    if (collective == Collective::kMean) {
      (*group)->allreduce(flat)->wait();
      flat[0].div_(launch_.world_size);
    } else {
      c10d::BroadcastOptions options;
      options.rootRank = 0;
      (*group)->broadcast(flat, options)->wait();
    }
    std::int64_t offset = 0;
    for (std::size_t i : bucket) {
      const auto& t = tensors[i];
      t.detach().copy_(flat[0].narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

void DistributedContext::all_reduce_mean(const std::vector<torch::Tensor>& tensors,
                                         std::size_t bucket_bytes) {
  run_bucketed(tensors, bucket_bytes, Collective::kMean);
}

void DistributedContext::broadcast_from_main(const std::vector<torch::Tensor>& tensors,
                                             std::size_t bucket_bytes) {
  run_bucketed(tensors, bucket_bytes, Collective::kBroadcast);
}

void DistributedContext::broadcast_module(torch::nn::Module& module) {
  std::vector<torch::Tensor> state = module.parameters();
  for (auto& b : module.buffers()) state.push_back(b);
  broadcast_from_main(state);
}

void DistributedContext::barrier() {
  if (!distributed()) return;
  if (groups_->gloo) {
    groups_->gloo->barrier()->wait();
    return;
  }
  // NCCL only: an all-reduce of one value on this rank's device is the barrier.
  const torch::Device device(torch::kCUDA, static_cast<c10::DeviceIndex>(launch_.local_rank));
  all_reduce_mean({torch::zeros({1}, torch::TensorOptions().device(device))});
}

}  // namespace ecgtwin::train
