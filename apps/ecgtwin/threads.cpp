// Thread count for LibTorch (Debian's build starts with one intra-op thread unless told).
#include <thread>

#include "command.hpp"

#ifdef ECGTWIN_WITH_TORCH
#include <ATen/Parallel.h>
#endif

namespace ecgtwin::app {

void set_threads(int threads) {
  int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
#ifdef ECGTWIN_WITH_TORCH
  at::set_num_threads(n);
#else
  (void)n;
#endif
}

}  // namespace ecgtwin::app
