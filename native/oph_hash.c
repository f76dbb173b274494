/* One-permutation hashing kernels (oph_hash.h): scalar, AVX2 and AVX-512.
 *
 * Per token: two 64-bit multiplies for the mixer and one 64x64->128 for the
 * bin. Scalar, that is three multiplies a token on the one multiplier port
 * most cores have for 64-bit integers; AVX-512 DQ multiplies eight 64-bit
 * lanes at once (vpmullq), AVX2 builds each 64-bit product from three
 * 32x32->64 ones (vpmuludq). The bin needs only the high half of h * k with
 * k < 2^32: for h = a 2^32 + b,
 *     floor(h k / 2^64) = floor((a k + floor(b k / 2^32)) / 2^32),
 * exactly, and both products are 32x32->64. */
#include "oph_hash.h"

#if KH_HAVE_X86_KERNELS
#include <immintrin.h>
#endif

__extension__ typedef unsigned __int128 kh_u128;

#define MIX_1 UINT64_C(0xBF58476D1CE4E5B9)
#define MIX_2 UINT64_C(0x94D049BB133111EB)

static bool update_scalar(const uint64_t *x, size_t n, uint64_t k_token, uint32_t k,
                          uint64_t *mins) {
    bool saw_max = false;
    for (size_t i = 0; i < n; ++i) {
        uint64_t h = kh_mix64(x[i] ^ k_token), *m = &mins[((kh_u128)h * k) >> 64];
        *m = h < *m ? h : *m; /* branch-free: early tokens update often */
        saw_max |= h == UINT64_MAX;
    }
    return saw_max;
}

#if KH_HAVE_X86_KERNELS
/* The SIMD kernels hash a block of tokens into h[] and bin[], and then
 * update the minima one token at a time (a scatter). */
#define BLOCK 64

static bool update_from_block(const uint64_t *h, const uint32_t *bin, size_t n, uint64_t *mins) {
    bool saw_max = false;
    for (size_t i = 0; i < n; ++i) {
        uint64_t m = mins[bin[i]];
        mins[bin[i]] = h[i] < m ? h[i] : m;
        saw_max |= h[i] == UINT64_MAX;
    }
    return saw_max;
}
#endif

#if KH_HAVE_X86_KERNELS

#define AVX2 __attribute__((target("avx2")))
#define AVX512 __attribute__((target("avx512f,avx512dq")))

/* a * b mod 2^64 per lane, b given as (b, b >> 32). */
AVX2 static inline __m256i mullo64_avx2(__m256i a, __m256i b, __m256i b_high) {
    __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b),
                                     _mm256_mul_epu32(a, b_high));
    return _mm256_add_epi64(_mm256_mul_epu32(a, b), _mm256_slli_epi64(cross, 32));
}

/* h[i] and bin[i] for i < n, n a multiple of 4. */
AVX2 static void hash_avx2(const uint64_t *x, size_t n, uint64_t k_token, uint32_t k,
                           uint64_t *h, uint32_t *bin) {
    const __m256i key = _mm256_set1_epi64x((long long)k_token);
    const __m256i m1 = _mm256_set1_epi64x((long long)MIX_1);
    const __m256i m1_high = _mm256_set1_epi64x((long long)(MIX_1 >> 32));
    const __m256i m2 = _mm256_set1_epi64x((long long)MIX_2);
    const __m256i m2_high = _mm256_set1_epi64x((long long)(MIX_2 >> 32));
    const __m256i kk = _mm256_set1_epi64x((long long)k);
    /* the low 32 bits of each 64-bit lane, in order */
    const __m256i low_halves = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    for (size_t i = 0; i < n; i += 4) {
        __m256i z = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)(x + i)), key);
        z = mullo64_avx2(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), m1, m1_high);
        z = mullo64_avx2(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), m2, m2_high);
        z = _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
        _mm256_storeu_si256((__m256i *)(void *)(h + i), z);
        __m256i carry = _mm256_srli_epi64(_mm256_mul_epu32(z, kk), 32);
        __m256i b = _mm256_srli_epi64(
            _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(z, 32), kk), carry), 32);
        b = _mm256_permutevar8x32_epi32(b, low_halves);
        _mm_storeu_si128((__m128i *)(void *)(bin + i), _mm256_castsi256_si128(b));
    }
}

/* h[i] and bin[i] for i < n, n a multiple of 8. */
AVX512 static void hash_avx512(const uint64_t *x, size_t n, uint64_t k_token, uint32_t k,
                               uint64_t *h, uint32_t *bin) {
    const __m512i key = _mm512_set1_epi64((long long)k_token);
    const __m512i m1 = _mm512_set1_epi64((long long)MIX_1);
    const __m512i m2 = _mm512_set1_epi64((long long)MIX_2);
    const __m512i kk = _mm512_set1_epi64((long long)k);
    for (size_t i = 0; i < n; i += 8) {
        __m512i z = _mm512_xor_si512(_mm512_loadu_si512((const void *)(x + i)), key);
        z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), m1);
        z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), m2);
        z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
        _mm512_storeu_si512((void *)(h + i), z);
        __m512i carry = _mm512_srli_epi64(_mm512_mul_epu32(z, kk), 32);
        __m512i b = _mm512_srli_epi64(
            _mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(z, 32), kk), carry), 32);
        _mm256_storeu_si256((__m256i *)(void *)(bin + i), _mm512_cvtepi64_epi32(b));
    }
}

typedef void block_hash_fn(const uint64_t *x, size_t n, uint64_t k_token, uint32_t k,
                           uint64_t *h, uint32_t *bin);

/* The SIMD hash over the whole groups of `lanes` tokens, in blocks; the
 * scalar kernel for the rest. */
static bool update_blocked(block_hash_fn *hash, size_t lanes, const uint64_t *x, size_t n,
                           uint64_t k_token, uint32_t k, uint64_t *mins) {
    uint64_t h[BLOCK];
    uint32_t bin[BLOCK];
    bool saw_max = false;
    size_t whole = n / lanes * lanes;
    for (size_t i = 0; i < whole; i += BLOCK) {
        size_t m = whole - i < BLOCK ? whole - i : BLOCK;
        hash(x + i, m, k_token, k, h, bin);
        saw_max |= update_from_block(h, bin, m, mins);
    }
    return update_scalar(x + whole, n - whole, k_token, k, mins) | saw_max;
}

static bool update_avx2(const uint64_t *x, size_t n, uint64_t k_token, uint32_t k,
                        uint64_t *mins) {
    return update_blocked(hash_avx2, 4, x, n, k_token, k, mins);
}

static bool update_avx512(const uint64_t *x, size_t n, uint64_t k_token, uint32_t k,
                          uint64_t *mins) {
    return update_blocked(hash_avx512, 8, x, n, k_token, k, mins);
}
#endif /* KH_HAVE_X86_KERNELS */

kh_oph_update_fn *kh_oph_update_kernel(kh_cpu_level level) {
#if KH_HAVE_X86_KERNELS
    if (level >= KH_CPU_AVX512) return update_avx512;
    if (level >= KH_CPU_AVX2) return update_avx2;
#else
    (void)level;
#endif
    return update_scalar;
}
