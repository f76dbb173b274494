/* Runtime CPU dispatch (cpu.h). The only process-wide state is the cached
 * level: an atomic int written with the same value by whichever thread
 * detects it first. */
#include "cpu.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define LEVEL_UNKNOWN (-1)

static atomic_int cached_level = LEVEL_UNKNOWN;

static kh_cpu_level detect_hardware(void) {
#if KH_HAVE_X86_KERNELS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) {
        if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
            __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vbmi2") &&
            __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("bmi2"))
            return KH_CPU_AVX512_VBMI;
        return KH_CPU_AVX512;
    }
    if (__builtin_cpu_supports("avx2")) return KH_CPU_AVX2;
#endif
    return KH_CPU_SCALAR;
}

/* KNOWHERE_SIMD caps the level: for tests (every kernel must give the
 * same bits) and for measuring what SIMD buys. */
static kh_cpu_level cap_from_environment(kh_cpu_level level) {
    const char *cap = getenv("KNOWHERE_SIMD");
    if (cap == NULL) return level;
    if (strcmp(cap, "scalar") == 0) return KH_CPU_SCALAR;
    if (strcmp(cap, "avx2") == 0 && level > KH_CPU_AVX2) return KH_CPU_AVX2;
    if (strcmp(cap, "avx512") == 0 && level > KH_CPU_AVX512) return KH_CPU_AVX512;
    return level;
}

kh_cpu_level kh_cpu_level_get(void) {
    int level = atomic_load_explicit(&cached_level, memory_order_relaxed);
    if (level == LEVEL_UNKNOWN) {
        level = (int)cap_from_environment(detect_hardware());
        atomic_store_explicit(&cached_level, level, memory_order_relaxed);
    }
    return (kh_cpu_level)level;
}
