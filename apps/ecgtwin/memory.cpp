// How freed memory is kept: glibc's malloc hands every block above its mmap threshold (128 KiB,
// raised as such blocks are freed, to at most 32 MiB) straight back to the kernel, and trims
// the heap top above 128 KiB, so a training or sampling step that allocates the same large
// tensors again pays a page fault for every page of them. ecgtwin keeps blocks up to 1 GiB in
// the heap and freed memory in the process instead (about 5 % off a denoiser training step
// on the CPU for about 2 % more peak resident memory, docs/BENCHMARKS.md). ECGTWIN_MALLOC=system
// leaves glibc's defaults.
#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define ECGTWIN_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ECGTWIN_SANITIZER_ALLOCATOR 1
#endif
#endif

#include "command.hpp"

namespace ecgtwin::app {
namespace {
std::string allocator = "system default";  // set once by keep_freed_memory()
}  // namespace

void keep_freed_memory() {
  const char* choice = std::getenv("ECGTWIN_MALLOC");
  if (choice != nullptr && std::strcmp(choice, "system") == 0) {
    allocator = "system default (ECGTWIN_MALLOC=system)";
    return;
  }
#if defined(ECGTWIN_SANITIZER_ALLOCATOR)
  allocator = "the address sanitizer's";
#elif defined(__GLIBC__)
  // glibc accepts at most 32 MiB from mallopt on some versions; take the largest it accepts.
  for (int mib : {1024, 256, 32}) {
    if (mallopt(M_MMAP_THRESHOLD, mib << 20) == 1) {
      mallopt(M_TRIM_THRESHOLD, 1 << 30);
      allocator = "glibc, mmap threshold " + std::to_string(mib) + " MiB, trim threshold 1024 MiB";
      return;
    }
  }
#endif
}

const std::string& allocator_description() { return allocator; }

}  // namespace ecgtwin::app
