/* XXH3-64 with seed 0 and the default 192-byte secret; see xxh3.h.
 *
 * Written from the algorithm description of the xxHash specification
 * (doc/xxhash_spec.md, "XXH3 algorithm"); the primes and the default secret
 * are the constants that specification defines. Input ranges:
 *   0 bytes, 1-3, 4-8, 9-16         (short: a few multiplies, no loop)
 *   17-128, 129-240                 (medium: 16-byte mixing steps)
 *   > 240                           (long: 64-byte stripes into 8 accumulators,
 *                                    1024-byte blocks with a scramble between,
 *                                    and a final merge)
 *
 * Portability: every multi-byte read is a memcpy into an integer followed by
 * a byte swap on big-endian hosts, so any alignment is fine (no UB for UBSan)
 * and the result does not depend on the host byte order. The 64x64->128
 * multiply uses unsigned __int128 where the compiler has it, else 32-bit
 * halves. On SSE2 hosts (every x86-64) the long-input stripe loop uses SSE2;
 * the scalar loop is the reference.
 *
 * Test hooks (not for production builds): define KH_XXH3_PORTABLE_MUL to use
 * the 32-bit-halves multiply, KH_XXH3_SCALAR to skip SSE2, and
 * KH_XXH3_RUNTIME_ENDIAN to detect the byte order at run time. */
#include "xxh3.h"

#include <string.h>

/* ---- host properties ---------------------------------------------------- */

#if !defined(KH_XXH3_RUNTIME_ENDIAN) && defined(__BYTE_ORDER__) &&             \
    defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define KH_XXH3_LITTLE_ENDIAN 1
#elif !defined(KH_XXH3_RUNTIME_ENDIAN) && defined(__BYTE_ORDER__) &&           \
    defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define KH_XXH3_LITTLE_ENDIAN 0
#else
/* Unknown at preprocessing time: a constant-foldable run-time test. */
static inline int kh_host_is_little_endian(void) {
    const uint32_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}
#define KH_XXH3_LITTLE_ENDIAN (kh_host_is_little_endian())
#endif

#if defined(__SIZEOF_INT128__) && !defined(KH_XXH3_PORTABLE_MUL)
#define KH_XXH3_HAVE_U128 1
/* __extension__: unsigned __int128 is a GNU extension; keeps -pedantic quiet. */
__extension__ typedef unsigned __int128 kh_u128;
#else
#define KH_XXH3_HAVE_U128 0
#endif

#if defined(__SSE2__) && !defined(KH_XXH3_SCALAR) &&                           \
    defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) &&             \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define KH_XXH3_SSE2 1
#include <emmintrin.h>
#else
#define KH_XXH3_SSE2 0
#endif

/* ---- constants of the specification ------------------------------------- */

#define KH_PRIME32_1 UINT64_C(0x9E3779B1)
#define KH_PRIME32_2 UINT64_C(0x85EBCA77)
#define KH_PRIME32_3 UINT64_C(0xC2B2AE3D)
#define KH_PRIME64_1 UINT64_C(0x9E3779B185EBCA87)
#define KH_PRIME64_2 UINT64_C(0xC2B2AE3D27D4EB4F)
#define KH_PRIME64_3 UINT64_C(0x165667B19E3779F9)
#define KH_PRIME64_4 UINT64_C(0x85EBCA77C2B2AE63)
#define KH_PRIME64_5 UINT64_C(0x27D4EB2F165667C5)
#define KH_PRIME_MX1 UINT64_C(0x165667919E3779F9)
#define KH_PRIME_MX2 UINT64_C(0x9FB21C651E98DF25)

#define KH_SECRET_SIZE 192
#define KH_STRIPE_LEN 64
#define KH_STRIPES_PER_BLOCK ((KH_SECRET_SIZE - KH_STRIPE_LEN) / 8) /* 16 */
#define KH_BLOCK_LEN (KH_STRIPE_LEN * KH_STRIPES_PER_BLOCK)         /* 1024 */

static const unsigned char kh_secret[KH_SECRET_SIZE] = {
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c,
    0xf7, 0x21, 0xad, 0x1c, 0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb,
    0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f, 0xcb, 0x79, 0xe6, 0x4e,
    0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6,
    0x81, 0x3a, 0x26, 0x4c, 0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb,
    0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3, 0x71, 0x64, 0x48, 0x97,
    0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
    0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7,
    0xc7, 0x0b, 0x4f, 0x1d, 0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31,
    0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64, 0xea, 0xc5, 0xac, 0x83,
    0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
    0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26,
    0x29, 0xd4, 0x68, 0x9e, 0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc,
    0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce, 0x45, 0xcb, 0x3a, 0x8f,
    0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
};

/* ---- primitives ---------------------------------------------------------- */

static inline uint32_t kh_bswap32(uint32_t x) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_bswap32(x);
#else
    return (x >> 24) | ((x >> 8) & 0x0000FF00u) | ((x << 8) & 0x00FF0000u) |
           (x << 24);
#endif
}

static inline uint64_t kh_bswap64(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_bswap64(x);
#else
    return ((uint64_t)kh_bswap32((uint32_t)x) << 32) |
           kh_bswap32((uint32_t)(x >> 32));
#endif
}

/* Little-endian loads from any address. */
static inline uint32_t kh_read32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return KH_XXH3_LITTLE_ENDIAN ? v : kh_bswap32(v);
}

static inline uint64_t kh_read64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return KH_XXH3_LITTLE_ENDIAN ? v : kh_bswap64(v);
}

static inline uint64_t kh_rotl64(uint64_t x, unsigned r) {
    return (x << r) | (x >> (64 - r)); /* r is a constant in 1..63 */
}

/* The full 128-bit product of a and b, folded: low half xor high half. */
static inline uint64_t kh_mul128_fold64(uint64_t a, uint64_t b) {
#if KH_XXH3_HAVE_U128
    kh_u128 p = (kh_u128)a * b;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
#else
    uint64_t a_lo = a & 0xFFFFFFFFu, a_hi = a >> 32;
    uint64_t b_lo = b & 0xFFFFFFFFu, b_hi = b >> 32;
    uint64_t lo_lo = a_lo * b_lo, lo_hi = a_lo * b_hi;
    uint64_t hi_lo = a_hi * b_lo, hi_hi = a_hi * b_hi;
    /* At most (2^32-1) + (2^32-1) + (2^32-1)^2 = 2^64-1: no overflow. */
    uint64_t mid = (lo_lo >> 32) + (lo_hi & 0xFFFFFFFFu) + hi_lo;
    uint64_t hi = hi_hi + (lo_hi >> 32) + (mid >> 32);
    uint64_t lo = (mid << 32) | (lo_lo & 0xFFFFFFFFu);
    return lo ^ hi;
#endif
}

/* The XXH64 final mix. */
static inline uint64_t kh_avalanche_xxh64(uint64_t x) {
    x ^= x >> 33;
    x *= KH_PRIME64_2;
    x ^= x >> 29;
    x *= KH_PRIME64_3;
    x ^= x >> 32;
    return x;
}

/* The XXH3 final mix. */
static inline uint64_t kh_avalanche(uint64_t x) {
    x ^= x >> 37;
    x *= KH_PRIME_MX1;
    x ^= x >> 32;
    return x;
}

/* One 16-byte mixing step of the medium path (seed 0). */
static inline uint64_t kh_mix16(const unsigned char *in,
                                const unsigned char *sec) {
    return kh_mul128_fold64(kh_read64(in) ^ kh_read64(sec),
                            kh_read64(in + 8) ^ kh_read64(sec + 8));
}

/* ---- 0 to 16 bytes ------------------------------------------------------- */

static inline uint64_t kh_len_1to3(const unsigned char *in, size_t len) {
    uint32_t combined = (uint32_t)in[len - 1] | ((uint32_t)len << 8) |
                        ((uint32_t)in[0] << 16) | ((uint32_t)in[len >> 1] << 24);
    uint64_t key = (uint64_t)(kh_read32(kh_secret) ^ kh_read32(kh_secret + 4));
    return kh_avalanche_xxh64(key ^ combined);
}

static inline uint64_t kh_len_4to8(const unsigned char *in, size_t len) {
    uint64_t first = kh_read32(in);
    uint64_t last = kh_read32(in + len - 4);
    uint64_t key = kh_read64(kh_secret + 8) ^ kh_read64(kh_secret + 16);
    uint64_t v = key ^ (last | (first << 32));
    v ^= kh_rotl64(v, 49) ^ kh_rotl64(v, 24);
    v *= KH_PRIME_MX2;
    v ^= (v >> 35) + (uint64_t)len;
    v *= KH_PRIME_MX2;
    v ^= v >> 28;
    return v;
}

static inline uint64_t kh_len_9to16(const unsigned char *in, size_t len) {
    uint64_t lo = (kh_read64(kh_secret + 24) ^ kh_read64(kh_secret + 32)) ^
                  kh_read64(in);
    uint64_t hi = (kh_read64(kh_secret + 40) ^ kh_read64(kh_secret + 48)) ^
                  kh_read64(in + len - 8);
    uint64_t acc = (uint64_t)len + kh_bswap64(lo) + hi + kh_mul128_fold64(lo, hi);
    return kh_avalanche(acc);
}

static inline uint64_t kh_len_0to16(const unsigned char *in, size_t len) {
    if (len > 8)
        return kh_len_9to16(in, len);
    if (len >= 4)
        return kh_len_4to8(in, len);
    if (len > 0)
        return kh_len_1to3(in, len);
    return kh_avalanche_xxh64(kh_read64(kh_secret + 56) ^
                              kh_read64(kh_secret + 64));
}

/* ---- 17 to 240 bytes ----------------------------------------------------- */

/* N 16-byte chunks from the front and N from the back, N = ceil(len / 32),
 * the i-th pair with secret bytes [32i, 32i+32). */
static inline uint64_t kh_len_17to128(const unsigned char *in, size_t len) {
    const unsigned char *s = kh_secret;
    uint64_t acc = (uint64_t)len * KH_PRIME64_1;
    if (len > 32) {
        if (len > 64) {
            if (len > 96) {
                acc += kh_mix16(in + 48, s + 96);
                acc += kh_mix16(in + len - 64, s + 112);
            }
            acc += kh_mix16(in + 32, s + 64);
            acc += kh_mix16(in + len - 48, s + 80);
        }
        acc += kh_mix16(in + 16, s + 32);
        acc += kh_mix16(in + len - 32, s + 48);
    }
    acc += kh_mix16(in, s);
    acc += kh_mix16(in + len - 16, s + 16);
    return kh_avalanche(acc);
}

/* Eight chunks, an avalanche, the remaining whole chunks with the secret
 * shifted by 3, then the last 16 bytes with secret bytes [119, 135). */
static uint64_t kh_len_129to240(const unsigned char *in, size_t len) {
    const unsigned char *s = kh_secret;
    uint64_t acc = (uint64_t)len * KH_PRIME64_1;
    size_t chunks = len >> 4, i;
    for (i = 0; i < 8; i++)
        acc += kh_mix16(in + 16 * i, s + 16 * i);
    acc = kh_avalanche(acc);
    for (i = 8; i < chunks; i++)
        acc += kh_mix16(in + 16 * i, s + 16 * (i - 8) + 3);
    acc += kh_mix16(in + len - 16, s + 119);
    return kh_avalanche(acc);
}

/* ---- more than 240 bytes ------------------------------------------------- */

/* Secret offsets: stripe n of a block uses [8n, 8n+64), the scramble uses the
 * last 64 bytes, the final stripe [121, 185), the final merge [11, 75). */
#define KH_SCRAMBLE_OFFSET (KH_SECRET_SIZE - KH_STRIPE_LEN)
#define KH_LAST_STRIPE_OFFSET (KH_SECRET_SIZE - KH_STRIPE_LEN - 7)
#define KH_MERGE_OFFSET 11

static uint64_t kh_merge(const uint64_t acc[8], size_t len) {
    const unsigned char *s = kh_secret + KH_MERGE_OFFSET;
    uint64_t r = (uint64_t)len * KH_PRIME64_1;
    int i;
    for (i = 0; i < 4; i++)
        r += kh_mul128_fold64(acc[2 * i] ^ kh_read64(s + 16 * i),
                              acc[2 * i + 1] ^ kh_read64(s + 16 * i + 8));
    return kh_avalanche(r);
}

#if KH_XXH3_SSE2

/* Four 128-bit registers hold the eight 64-bit accumulators, two each. */
static inline void kh_accumulate_sse2(__m128i acc[4], const unsigned char *in,
                                      const unsigned char *sec) {
    int j;
    for (j = 0; j < 4; j++) {
        __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(in + 16 * j));
        __m128i k = _mm_loadu_si128((const __m128i *)(const void *)(sec + 16 * j));
        __m128i x = _mm_xor_si128(d, k);
        /* Per 64-bit lane: low 32 bits times high 32 bits. */
        __m128i prod = _mm_mul_epu32(x, _mm_srli_epi64(x, 32));
        /* Each lane also gets the input word of its neighbour lane. */
        __m128i swapped = _mm_shuffle_epi32(d, 0x4E); /* 64-bit halves swapped */
        acc[j] = _mm_add_epi64(acc[j], _mm_add_epi64(prod, swapped));
    }
}

static inline void kh_scramble_sse2(__m128i acc[4]) {
    const __m128i prime = _mm_set1_epi32((int)KH_PRIME32_1);
    int j;
    for (j = 0; j < 4; j++) {
        __m128i k = _mm_loadu_si128(
            (const __m128i *)(const void *)(kh_secret + KH_SCRAMBLE_OFFSET + 16 * j));
        __m128i a = acc[j];
        a = _mm_xor_si128(a, _mm_srli_epi64(a, 47));
        a = _mm_xor_si128(a, k);
        /* 64-bit times 32-bit prime, modulo 2^64, from two 32x32 products. */
        __m128i lo = _mm_mul_epu32(a, prime);
        __m128i hi = _mm_mul_epu32(_mm_srli_epi64(a, 32), prime);
        acc[j] = _mm_add_epi64(lo, _mm_slli_epi64(hi, 32));
    }
}

static uint64_t kh_len_long(const unsigned char *in, size_t len) {
    __m128i acc[4];
    uint64_t out[8];
    size_t blocks = (len - 1) / KH_BLOCK_LEN, b, n, stripes;
    acc[0] = _mm_set_epi64x((long long)KH_PRIME64_1, (long long)KH_PRIME32_3);
    acc[1] = _mm_set_epi64x((long long)KH_PRIME64_3, (long long)KH_PRIME64_2);
    acc[2] = _mm_set_epi64x((long long)KH_PRIME32_2, (long long)KH_PRIME64_4);
    acc[3] = _mm_set_epi64x((long long)KH_PRIME32_1, (long long)KH_PRIME64_5);
    for (b = 0; b < blocks; b++) {
        const unsigned char *block = in + b * KH_BLOCK_LEN;
        for (n = 0; n < KH_STRIPES_PER_BLOCK; n++)
            kh_accumulate_sse2(acc, block + n * KH_STRIPE_LEN, kh_secret + 8 * n);
        kh_scramble_sse2(acc);
    }
    stripes = ((len - 1) - blocks * KH_BLOCK_LEN) / KH_STRIPE_LEN;
    for (n = 0; n < stripes; n++)
        kh_accumulate_sse2(acc, in + blocks * KH_BLOCK_LEN + n * KH_STRIPE_LEN,
                           kh_secret + 8 * n);
    kh_accumulate_sse2(acc, in + len - KH_STRIPE_LEN,
                       kh_secret + KH_LAST_STRIPE_OFFSET);
    for (n = 0; n < 4; n++)
        _mm_storeu_si128((__m128i *)(void *)(out + 2 * n), acc[n]);
    return kh_merge(out, len);
}

#else /* scalar */

static inline void kh_accumulate(uint64_t acc[8], const unsigned char *in,
                                 const unsigned char *sec) {
    int i;
    for (i = 0; i < 8; i++) {
        uint64_t d = kh_read64(in + 8 * i);
        uint64_t x = d ^ kh_read64(sec + 8 * i);
        acc[i ^ 1] += d;
        acc[i] += (x & 0xFFFFFFFFu) * (x >> 32);
    }
}

static inline void kh_scramble(uint64_t acc[8]) {
    const unsigned char *s = kh_secret + KH_SCRAMBLE_OFFSET;
    int i;
    for (i = 0; i < 8; i++) {
        uint64_t a = acc[i];
        a ^= a >> 47;
        a ^= kh_read64(s + 8 * i);
        acc[i] = a * KH_PRIME32_1;
    }
}

static uint64_t kh_len_long(const unsigned char *in, size_t len) {
    uint64_t acc[8] = {KH_PRIME32_3, KH_PRIME64_1, KH_PRIME64_2, KH_PRIME64_3,
                       KH_PRIME64_4, KH_PRIME32_2, KH_PRIME64_5, KH_PRIME32_1};
    size_t blocks = (len - 1) / KH_BLOCK_LEN, b, n, stripes;
    for (b = 0; b < blocks; b++) {
        const unsigned char *block = in + b * KH_BLOCK_LEN;
        for (n = 0; n < KH_STRIPES_PER_BLOCK; n++)
            kh_accumulate(acc, block + n * KH_STRIPE_LEN, kh_secret + 8 * n);
        kh_scramble(acc);
    }
    /* The last, possibly full, block: its whole stripes but the last one,
     * then the final 64 bytes of input (which may overlap them). */
    stripes = ((len - 1) - blocks * KH_BLOCK_LEN) / KH_STRIPE_LEN;
    for (n = 0; n < stripes; n++)
        kh_accumulate(acc, in + blocks * KH_BLOCK_LEN + n * KH_STRIPE_LEN,
                      kh_secret + 8 * n);
    kh_accumulate(acc, in + len - KH_STRIPE_LEN,
                  kh_secret + KH_LAST_STRIPE_OFFSET);
    return kh_merge(acc, len);
}

#endif

/* ---- entry point --------------------------------------------------------- */

static inline uint64_t kh_xxh3_any(const unsigned char *in, size_t len) {
    if (len <= 16)
        return kh_len_0to16(in, len);
    if (len <= 128)
        return kh_len_17to128(in, len);
    if (len <= 240)
        return kh_len_129to240(in, len);
    return kh_len_long(in, len);
}

uint64_t kh_xxh3_64(const void *input, size_t len) {
    return kh_xxh3_any((const unsigned char *)input, len);
}

void kh_xxh3_64_many(const unsigned char *const *inputs, const size_t *lens, size_t n,
                     uint64_t *out) {
    for (size_t i = 0; i < n; ++i) out[i] = kh_xxh3_any(inputs[i], lens[i]);
}

void kh_xxh3_64_strided(const unsigned char *base, size_t stride, size_t len, size_t n,
                        uint64_t *out) {
    /* One length for all: the length dispatch leaves the loop, and the
     * hashes, independent of one another, overlap in the pipeline. Band
     * keys (16 to 64 bytes) take the first loop. */
    if (len > 16 && len <= 128) {
        for (size_t i = 0; i < n; ++i) out[i] = kh_len_17to128(base + i * stride, len);
        return;
    }
    for (size_t i = 0; i < n; ++i) out[i] = kh_xxh3_any(base + i * stride, len);
}
