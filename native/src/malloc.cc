// glibc malloc tuned for tensors. By default glibc serves every allocation above a dynamic
// threshold (at most 32 MiB) with a fresh mmap and gives freed heap tops back to the kernel, so
// each large activation or weight cast of a training step is page-faulted in again: ~0.26 ms
// per MiB, 10% of a full-size SD1.5 UNet step on this machine class (bench/models). Keeping
// tensors up to 1 GiB on the heap and never trimming it lets the next step reuse those pages.
// The price is that freed memory stays with the process (its RSS does not shrink after a peak).
// LYCO_MALLOC=system keeps glibc's defaults.
#include <malloc.h>

#include <cstdlib>
#include <cstring>

#include "common.h"

namespace lyco {

const char* ConfigureMalloc() {
#if defined(__GLIBC__)
  const char* env = std::getenv("LYCO_MALLOC");
  if (env && std::strcmp(env, "system") == 0) return "system";
  // Both or neither: a raised mmap threshold alone still trims (and re-faults) the heap top.
  if (mallopt(M_MMAP_THRESHOLD, 1 << 30) == 1 && mallopt(M_TRIM_THRESHOLD, 0x7fffffff) == 1) return "retained";
  return "system";
#else
  return "system";
#endif
}

}  // namespace lyco
