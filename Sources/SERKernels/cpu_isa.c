// How wide the kernels' vector code may go: the CPU's own instruction sets, capped by
// the environment, so that a benchmark can time a smaller machine's code on a bigger one.
#include "SERKernels.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>

int ser_max_cpu_isa(void) {
    static _Atomic int cached = -1;
    int known = atomic_load_explicit(&cached, memory_order_relaxed);
    if (known >= 0) return known;
    int cap = SER_ISA_AVX512;
    const char *setting = getenv("SER_MAX_CPU_ISA");
    if (setting && strcasecmp(setting, "avx2") == 0) cap = SER_ISA_AVX2;
    if (setting && strcasecmp(setting, "portable") == 0) cap = SER_ISA_PORTABLE;
    // First callers racing compute and store the same value.
    atomic_store_explicit(&cached, cap, memory_order_relaxed);
    return cap;
}
