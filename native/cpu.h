/* Runtime CPU dispatch: which SIMD level the kernels may use (cpu.c). */
#ifndef KNOWHERE_CPU_H
#define KNOWHERE_CPU_H

typedef enum {
    KH_CPU_SCALAR = 0, /* portable C */
    KH_CPU_AVX2 = 1,   /* x86-64 with AVX2 */
    KH_CPU_AVX512 = 2, /* x86-64 with AVX-512 F and DQ */
    KH_CPU_AVX512_VBMI = 3, /* and BW, VL, VBMI, VBMI2 (byte permutes and
                               compress: Ice Lake, Zen 4 and later), BMI2 */
} kh_cpu_level;

/* x86-64 with GCC or clang: the AVX2 and AVX-512 kernels are compiled
 * (with function-level target attributes, whatever -march says). */
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(KH_NO_SIMD_KERNELS)
#define KH_HAVE_X86_KERNELS 1
#else
#define KH_HAVE_X86_KERNELS 0
#endif

/* The highest level both this CPU and this build support, lowered by the
 * environment variable KNOWHERE_SIMD ("scalar", "avx2" or "avx512", the
 * last without VBMI; anything else means no limit). Detected once; later calls read a cached value, and
 * concurrent first calls are safe (they compute the same answer). */
kh_cpu_level kh_cpu_level_get(void);

#endif
