/* Signatures: MinHash of text and token sets (knowhere_rs.h, section
 * "Signatures"). The definition, bit for bit, is docs/signatures.md; this
 * file follows it section by section:
 *
 *   1-2. normalise, and hash the shingles with XXH3-64: shingles.c
 *   3. one-permutation hashing: h = mix64(x ^ k_token), bin = (h * K) >> 64,
 *      each bin keeps its minimum h (the kernels: oph_hash.c); with the
 *      distinct shingles counted in a hash set when the caller asks
 *   4. optimal densification: an empty bin i takes the minimum of bin
 *      pi_t(i) for the first round t whose permutation pi_t lands on a
 *      non-empty bin; a round is computed from the empty bins ("pull") or
 *      from the non-empty ones through pi_t's inverse ("push"), whichever
 *      list is shorter, with the same result; after 4K rounds a cyclic scan
 *   5. output: each value little-endian, 8 bytes or its low 4.
 *
 * The batch runs documents in chunks on kh_run_parallel with per-worker
 * scratch; the single-document calls use the same code with no job. */
#include <stdlib.h>
#include <string.h>

#include "bits.h"
#include "internal.h"
#include "oph_hash.h"
#include "parallel.h"
#include "shingles.h"

#define GOLDEN UINT64_C(0x9E3779B97F4A7C15)
#define MAX_HASHES 65536u
#define KNOWN_FLAGS KNOWHERE_SIGNATURE_KEEP_CASE
/* How many densification steps between interrupt polls. */
#define POLL_STEPS 1024u

__extension__ typedef unsigned __int128 kh_u128;

#if defined(__SSE2__) && !defined(KH_SIGNATURE_SCALAR)
#define KH_DENSIFY_SSE2 1
#include <emmintrin.h>
#else
#define KH_DENSIFY_SSE2 0
#endif
#if KH_DENSIFY_SSE2 && KH_HAVE_X86_KERNELS
#define KH_DENSIFY_VBMI 1
#include <immintrin.h>
#else
#define KH_DENSIFY_VBMI 0
#endif

/* ---- options -------------------------------------------------------------- */

void knowhere_signature_options_init(knowhere_signature_options *options) {
    if (options == NULL) return;
    memset(options, 0, sizeof *options);
    options->size = (uint32_t)sizeof *options;
    options->num_hashes = 128;
    options->shingle_kind = KNOWHERE_SHINGLE_WORDS;
    options->shingle_size = 3;
    options->value_bytes = 4;
    options->flags = 0;
    options->seed = 0;
}

/* The fields read, resolved. */
typedef struct {
    uint32_t k, value_bytes;
    kh_shingle_spec spec;
    uint64_t k_token; /* mixed into every token hash */
    uint64_t k_round; /* the densification rounds' generator state */
    kh_oph_update_fn *update; /* this CPU's kernel */
} sig_params;

static int resolve_options(const knowhere_signature_options *options, sig_params *p,
                           knowhere_error **err) {
    knowhere_signature_options defaults;
    if (options == NULL) {
        knowhere_signature_options_init(&defaults);
        options = &defaults;
    }
    const size_t needed = offsetof(knowhere_signature_options, seed) + sizeof options->seed;
    if (options->size < needed)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "options->size is %u, less than the %zu bytes of this version's "
                         "fields (call knowhere_signature_options_init first)",
                         (unsigned)options->size, needed);
    if (options->num_hashes < 1 || options->num_hashes > MAX_HASHES)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "options->num_hashes is %u; it must be 1..%u",
                         (unsigned)options->num_hashes, MAX_HASHES);
    if (options->shingle_kind != KNOWHERE_SHINGLE_WORDS &&
        options->shingle_kind != KNOWHERE_SHINGLE_CHARS)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "options->shingle_kind is %u; it must be KNOWHERE_SHINGLE_WORDS (0) "
                         "or KNOWHERE_SHINGLE_CHARS (1)",
                         (unsigned)options->shingle_kind);
    if (options->shingle_size < 1 || options->shingle_size > KH_MAX_SHINGLE)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "options->shingle_size is %u; it must be 1..%u",
                         (unsigned)options->shingle_size, KH_MAX_SHINGLE);
    if (options->value_bytes != 4 && options->value_bytes != 8)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "options->value_bytes is %u; it must be 4 or 8",
                         (unsigned)options->value_bytes);
    if ((options->flags & ~(uint32_t)KNOWN_FLAGS) != 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "options->flags is 0x%x; unknown bits 0x%x",
                         (unsigned)options->flags,
                         (unsigned)(options->flags & ~(uint32_t)KNOWN_FLAGS));
    p->k = options->num_hashes;
    p->spec.kind = options->shingle_kind;
    p->spec.n = options->shingle_size;
    p->spec.keep_case = (options->flags & KNOWHERE_SIGNATURE_KEEP_CASE) != 0;
    p->value_bytes = options->value_bytes;
    p->k_token = kh_mix64(options->seed + GOLDEN);
    p->k_round = kh_mix64(options->seed + 2 * GOLDEN);
    p->spec.level = kh_cpu_level_get();
    p->update = kh_oph_update_kernel(p->spec.level);
    return KNOWHERE_OK;
}

int kh_signature_options_spec(const knowhere_signature_options *options, kh_shingle_spec *spec,
                              knowhere_error **err) {
    sig_params p;
    int status = resolve_options(options, &p, err);
    if (status == KNOWHERE_OK) *spec = p.spec;
    return status;
}

/* ---- scratch ---------------------------------------------------------------- */

typedef struct {
    kh_normalised text;
    uint64_t *set; /* distinct shingle hashes; 0 marks a free slot */
    size_t set_cap;
    /* K-sized: bin minima, occupancy, the densification's lists and flags */
    uint64_t *mins;
    uint64_t *occupied; /* bit i: bin i had a token */
    uint64_t *pending;  /* bit i: bin i is empty and not filled yet */
    uint16_t *full_list, *empty_list; /* bins < 65536 */
    uint16_t *targets;                /* a round's pi_t of the listed bins */
    uint8_t *full;                    /* full[i]: bin i had a token (0 or 1) */
    size_t k_cap;
    void *k_heap; /* the K-sized arrays, when they are not on a caller's stack */
} sig_scratch;

/* The K-sized arrays in one allocation: mins and the two bit sets (64-bit
 * words), then the three 16-bit lists (of k + 8), then the flags. */
static size_t k_words(size_t k) { return (k + 63) / 64; }
static size_t k_block_bytes(size_t k) { return 8 * (k + 2 * k_words(k)) + 2 * 3 * (k + 8) + k; }

/* A single document's scratch: on the stack up to these sizes (the public
 * one-document calls then allocate nothing; 100 words of text take about
 * 600 bytes and need 3 x 600 + 64 here), on the heap beyond. Each array
 * has its own type, as the code reads it. */
#define STACK_K 256
#define STACK_NORM 8192
typedef struct {
    uint64_t mins[STACK_K], bits[2 * (STACK_K / 64)];
    uint16_t lists[3 * (STACK_K + 8)];
    uint8_t full[STACK_K];
    uint8_t norm[STACK_NORM];
} stack_scratch;

static void scratch_layout_k(sig_scratch *s, uint64_t *mins, uint64_t *bits, uint16_t *lists,
                             uint8_t *full, size_t k) {
    s->mins = mins;
    s->occupied = bits;
    s->pending = bits + k_words(k);
    s->full_list = lists; /* each list has 8 entries of room beyond k (pi_all) */
    s->empty_list = lists + k + 8;
    s->targets = lists + 2 * (k + 8);
    s->full = full;
    s->k_cap = k;
}

static void scratch_on_stack(sig_scratch *s, stack_scratch *stack) {
    memset(s, 0, sizeof *s);
    kh_normalised_init(&s->text, stack->norm, sizeof stack->norm);
    scratch_layout_k(s, stack->mins, stack->bits, stack->lists, stack->full, STACK_K);
}

static void scratch_free(sig_scratch *s) {
    kh_normalised_free(&s->text);
    free(s->k_heap);
    free(s->set);
    memset(s, 0, sizeof *s);
}

static bool scratch_reserve_k(sig_scratch *s, size_t k) {
    if (s->k_cap >= k) return true;
    uint8_t *block = malloc(k_block_bytes(k));
    if (block == NULL) return false;
    free(s->k_heap);
    s->k_heap = block;
    uint64_t *words = (uint64_t *)(void *)block;
    scratch_layout_k(s, words, words + k, (uint16_t *)(void *)(words + k + 2 * k_words(k)),
                     block + 8 * (k + 2 * k_words(k)) + 2 * 3 * (k + 8), k);
    return true;
}

/* A cleared set with room for `items` keys at load <= 1/SET_SPARSITY (a
 * sparse table: most inserts find a free slot at once, so the branch is
 * predictable). */
#ifndef SET_SPARSITY
#define SET_SPARSITY 4
#endif
static bool scratch_reserve_set(sig_scratch *s, size_t items, size_t *cap) {
    size_t c = 16;
    while (c < SET_SPARSITY * items) c *= 2;
    if (s->set_cap < c) {
        uint64_t *p = malloc(c * sizeof *p);
        if (p == NULL) return false;
        free(s->set);
        s->set = p;
        s->set_cap = c;
    }
    memset(s->set, 0, c * sizeof *s->set);
    *cap = c;
    return true;
}

/* ---- 3. one-permutation hashing --------------------------------------------- */

typedef struct {
    uint64_t *mins;
    const sig_params *p;
    bool saw_max; /* a token's h was UINT64_MAX (the "empty" marker) */
} oph;

static inline void oph_start(oph *o, uint64_t *mins, const sig_params *p) {
    o->mins = mins;
    o->p = p;
    o->saw_max = false;
    for (uint32_t i = 0; i < p->k; ++i) mins[i] = UINT64_MAX;
}

/* Takes tokens x[0..n-1] into the bin minima (the CPU's kernel, oph_hash.c). */
static void oph_add_all(oph *o, const uint64_t *x, size_t n) {
    o->saw_max |= o->p->update(x, n, o->p->k_token, o->p->k, o->mins);
}

/* ---- 4. densification ------------------------------------------------------- */

/* The permutation sigma_t of [0, 2^bits) of round t, and its inverse. */
typedef struct {
    uint32_t mask, shift, a, m1, m2, c, m1_inv, m2_inv;
} round_perm;

static inline uint32_t inverse_odd(uint32_t m) { /* m * inv == 1 mod 2^32 */
    uint32_t inv = m; /* right to 3 bits; each step doubles them */
    for (int i = 0; i < 4; ++i) inv *= 2u - m * inv;
    return inv;
}

static inline void round_setup(round_perm *r, uint64_t k_round, uint64_t t, uint32_t mask,
                               uint32_t shift, bool inverse) {
    uint64_t w = kh_mix64(k_round + t * GOLDEN);
    r->mask = mask;
    r->shift = shift;
    r->a = (uint32_t)w & mask;
    r->m1 = ((uint32_t)(w >> 16) & mask) | 1u;
    r->m2 = ((uint32_t)(w >> 32) & mask) | 1u;
    r->c = (uint32_t)(w >> 48) & mask;
    if (inverse) {
        r->m1_inv = inverse_odd(r->m1);
        r->m2_inv = inverse_odd(r->m2);
    }
}

static inline uint32_t sigma(const round_perm *r, uint32_t x) {
    x = (x + r->a) & r->mask;
    x = (x * r->m1) & r->mask;
    x ^= x >> r->shift;
    x = (x * r->m2) & r->mask;
    x ^= x >> r->shift;
    return x ^ r->c;
}

static inline uint32_t sigma_inverse(const round_perm *r, uint32_t y) {
    y ^= r->c;
    y ^= y >> r->shift; /* x ^= x >> s is its own inverse when 2s >= bits */
    y = (y * r->m2_inv) & r->mask;
    y ^= y >> r->shift;
    y = (y * r->m1_inv) & r->mask;
    return (y - r->a) & r->mask;
}

static inline uint32_t pi_inverse(const round_perm *r, uint32_t y, uint32_t k) {
    do y = sigma_inverse(r, y);
    while (y >= k);
    return y;
}

/* yes ? a : b for yes in {0, 1}, by arithmetic: the compiler keeps it
 * free of branches, which it does not always do for ?: */
static inline uint64_t select64(uint64_t yes, uint64_t a, uint64_t b) {
    uint64_t mask = 0 - yes;
    return (a & mask) | (b & ~mask);
}

static inline bool bit(const uint64_t *bits, uint32_t i) { return (bits[i >> 6] >> (i & 63)) & 1; }

/* The bins of the set (or, with `clear`, the clear) bits of bits[0 ..
 * (k + 63) / 64 - 1] below k, in increasing order, into list; their number. */
static uint32_t list_bits(const uint64_t *bits, uint32_t k, bool clear, uint16_t *list) {
    uint32_t n = 0;
    for (uint32_t w = 0; w * 64 < k; ++w) {
        uint64_t b = clear ? ~bits[w] : bits[w];
        if (k - w * 64 < 64) b &= (UINT64_C(1) << (k - w * 64)) - 1;
        for (; b; b &= b - 1) list[n++] = (uint16_t)(w * 64 + kh_ctz64(b));
    }
    return n;
}

/* to[e] = pi_t(from[e]) for e < n. Bins are below 2^16 and sigma works
 * modulo 2^bits <= 2^16, so only the low 16 bits of each product matter:
 * SSE2 computes 8 bins at a time with 16-bit multiplies. Cycle walking,
 * needed only when k is not a power of two, is a second pass over the few
 * that landed at or beyond k. */
static void pi_all(const round_perm *rp, const uint16_t *from, uint16_t *to, uint32_t n,
                   uint32_t k) {
    const uint32_t mask = rp->mask, shift = rp->shift, a = rp->a, m1 = rp->m1, m2 = rp->m2,
                   c = rp->c;
    uint32_t e = 0;
#if KH_DENSIFY_SSE2
    const __m128i va = _mm_set1_epi16((short)a), vm1 = _mm_set1_epi16((short)m1),
                  vm2 = _mm_set1_epi16((short)m2), vc = _mm_set1_epi16((short)c),
                  vmask = _mm_set1_epi16((short)mask), count = _mm_cvtsi32_si128((int)shift);
    for (; e < n; e += 8) { /* whole groups: the lists have 8 entries of room beyond n */
        __m128i j = _mm_loadu_si128((const __m128i *)(const void *)(from + e));
        j = _mm_and_si128(_mm_mullo_epi16(_mm_add_epi16(j, va), vm1), vmask);
        j = _mm_xor_si128(j, _mm_srl_epi16(j, count));
        j = _mm_and_si128(_mm_mullo_epi16(j, vm2), vmask);
        j = _mm_xor_si128(_mm_xor_si128(j, _mm_srl_epi16(j, count)), vc);
        _mm_storeu_si128((__m128i *)(void *)(to + e), j);
    }
#endif
    for (; e < n; ++e) { /* without SSE2 */
        uint32_t j = (((uint32_t)from[e] + a) * m1) & mask;
        j ^= j >> shift;
        j = (j * m2) & mask;
        to[e] = (uint16_t)(j ^ (j >> shift) ^ c);
    }
    if (k == mask + 1) return;
    for (e = 0; e < n; ++e)
        while (to[e] >= k) to[e] = (uint16_t)sigma(rp, to[e]);
}

/* One pull round over the n bins of `list` (all empty) whose pi_t is
 * targets[]: each takes the value of its target if that one is non-empty,
 * else stays listed. Branch-free (whether a bin is full is a coin flip no
 * predictor learns); an empty bin holds UINT64_MAX, so a miss writes it
 * back unchanged. Returns the bins still empty. */
static uint32_t pull_round(const uint16_t *targets, const uint8_t *full, uint64_t *mins,
                           uint16_t *list, uint32_t n) {
    uint32_t kept = 0;
    for (uint32_t e = 0; e < n; ++e) {
        uint32_t i = list[e], j = targets[e];
        uint64_t hit = full[j];
        mins[i] = mins[j] | (hit - 1);
        list[kept] = (uint16_t)i;
        kept += (uint32_t)(hit ^ 1);
    }
    return kept;
}

/* Which bins have a token (mins[i] != UINT64_MAX): as bits of occ and as
 * bytes of full. SSE2: 16 bins at a time, a 64-bit lane is all ones when
 * both of its 32-bit halves are. */
static void occupancy(const uint64_t *mins, uint32_t k, uint64_t *occ, uint8_t *full) {
    uint32_t i = 0;
    for (uint32_t w = 0; w * 64 < k; ++w) occ[w] = 0;
#if KH_DENSIFY_SSE2
    const __m128i ones = _mm_set1_epi32(-1), one = _mm_set1_epi8(1);
    for (; i + 16 <= k; i += 16) {
        __m128i e[8];
        for (int q = 0; q < 8; ++q) {
            __m128i v = _mm_cmpeq_epi32(
                _mm_loadu_si128((const __m128i *)(const void *)(mins + i + 2 * q)), ones);
            e[q] = _mm_and_si128(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 3, 0, 1)));
        }
        __m128i empty = _mm_packs_epi16(
            _mm_packs_epi32(_mm_packs_epi32(e[0], e[1]), _mm_packs_epi32(e[2], e[3])),
            _mm_packs_epi32(_mm_packs_epi32(e[4], e[5]), _mm_packs_epi32(e[6], e[7])));
        _mm_storeu_si128((__m128i *)(void *)(full + i), _mm_andnot_si128(empty, one));
        uint64_t bits = (uint64_t)(~(unsigned)_mm_movemask_epi8(empty) & 0xFFFFu);
        occ[i / 64] |= bits << (i % 64);
    }
#endif
    for (; i < k; ++i) {
        uint64_t has = mins[i] != UINT64_MAX;
        full[i] = (uint8_t)has;
        occ[i / 64] |= has << (i % 64);
    }
}

#if KH_DENSIFY_VBMI
#define VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))

/* sigma_t of 32 bins in 16-bit lanes (as pi_all). */
VBMI static inline __m512i sigma_32(__m512i x, __m512i a, __m512i m1, __m512i m2, __m512i c,
                                    __m512i mask, __m128i shift) {
    x = _mm512_and_si512(_mm512_mullo_epi16(_mm512_add_epi16(x, a), m1), mask);
    x = _mm512_xor_si512(x, _mm512_srl_epi16(x, shift));
    x = _mm512_and_si512(_mm512_mullo_epi16(x, m2), mask);
    return _mm512_xor_si512(_mm512_xor_si512(x, _mm512_srl_epi16(x, shift)), c);
}

/* Pull rounds from round t for k <= 128 bins with AVX-512 VBMI, every bin
 * at once: pi_t of all 128 bins in four vectors of 16-bit lanes, bytes of
 * them as indices into the 128 bytes of `full` (two registers, one
 * two-table byte permute per 64 bins) give the hits as bit masks. Each bin
 * still pending that hits keeps that round's target, in two byte vectors;
 * the masks carry the only dependence from round to round, so the rounds
 * overlap (eight of them run before the pending bins are looked at again).
 * Then each bin found takes its target's value. The same rounds and the
 * same result as the list-based pull (pull_round), which costs a dozen
 * instructions per probe. pend (k bits) keeps the bins still empty;
 * returns the first round not run. */
VBMI static uint64_t pull_vbmi(const sig_params *p, uint64_t *mins, const uint8_t *full,
                               uint64_t *pend, uint64_t t, uint64_t max_rounds, uint32_t mask,
                               uint32_t shift) {
    static const uint16_t iota[128] = {
        0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,  14,  15,
        16,  17,  18,  19,  20,  21,  22,  23,  24,  25,  26,  27,  28,  29,  30,  31,
        32,  33,  34,  35,  36,  37,  38,  39,  40,  41,  42,  43,  44,  45,  46,  47,
        48,  49,  50,  51,  52,  53,  54,  55,  56,  57,  58,  59,  60,  61,  62,  63,
        64,  65,  66,  67,  68,  69,  70,  71,  72,  73,  74,  75,  76,  77,  78,  79,
        80,  81,  82,  83,  84,  85,  86,  87,  88,  89,  90,  91,  92,  93,  94,  95,
        96,  97,  98,  99,  100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111,
        112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127};
    const uint32_t k = p->k;
    uint8_t table[128], targets[128];
    memset(table, 0, sizeof table);
    memcpy(table, full, k);
    const __m512i full_lo = _mm512_loadu_si512((const void *)table),
                  full_hi = _mm512_loadu_si512((const void *)(table + 64)),
                  vmask = _mm512_set1_epi16((short)mask), vk = _mm512_set1_epi16((short)k),
                  one = _mm512_set1_epi8(1);
    const __m128i count = _mm_cvtsi32_si128((int)shift);
    __m512i found_lo = _mm512_setzero_si512(), found_hi = _mm512_setzero_si512();
    uint64_t p0 = pend[0], p1 = k > 64 ? pend[1] : 0, got0 = 0, got1 = 0;
    while ((p0 | p1) != 0 && t <= max_rounds) {
        uint64_t last = t + 7 < max_rounds ? t + 7 : max_rounds;
        for (; t <= last; ++t) {
            round_perm r;
            round_setup(&r, p->k_round, t, mask, shift, false);
            const __m512i a = _mm512_set1_epi16((short)r.a), m1 = _mm512_set1_epi16((short)r.m1),
                          m2 = _mm512_set1_epi16((short)r.m2), c = _mm512_set1_epi16((short)r.c);
            __m256i bytes[4];
            for (int q = 0; q < 4; ++q) {
                __m512i bins = _mm512_loadu_si512((const void *)(iota + 32 * q));
                __m512i j = sigma_32(bins, a, m1, m2, c, vmask, count);
                /* Cycle walking, lane by lane, for the lanes of bins below
                 * k: the walk of bin i returns below k at the latest at i,
                 * but a lane of a bin beyond k might never. */
                __mmask32 real = _mm512_cmplt_epu16_mask(bins, vk);
                if (k != mask + 1)
                    for (__mmask32 over = _mm512_mask_cmpge_epu16_mask(real, j, vk); over;
                         over = _mm512_mask_cmpge_epu16_mask(real, j, vk))
                        j = _mm512_mask_mov_epi16(j, over,
                                                  sigma_32(j, a, m1, m2, c, vmask, count));
                bytes[q] = _mm512_cvtepi16_epi8(j);
            }
            __m512i lo = _mm512_inserti64x4(_mm512_castsi256_si512(bytes[0]), bytes[1], 1),
                    hi = _mm512_inserti64x4(_mm512_castsi256_si512(bytes[2]), bytes[3], 1);
            uint64_t h0 = _mm512_test_epi8_mask(_mm512_permutex2var_epi8(full_lo, lo, full_hi), one),
                     h1 = _mm512_test_epi8_mask(_mm512_permutex2var_epi8(full_lo, hi, full_hi), one);
            uint64_t new0 = p0 & h0, new1 = p1 & h1;
            found_lo = _mm512_mask_mov_epi8(found_lo, new0, lo);
            found_hi = _mm512_mask_mov_epi8(found_hi, new1, hi);
            got0 |= new0;
            got1 |= new1;
            p0 &= ~h0;
            p1 &= ~h1;
        }
    }
    _mm512_storeu_si512((void *)targets, found_lo);
    _mm512_storeu_si512((void *)(targets + 64), found_hi);
    for (; got0; got0 &= got0 - 1) {
        uint32_t i = kh_ctz64(got0);
        mins[i] = mins[targets[i]];
    }
    for (; got1; got1 &= got1 - 1) {
        uint32_t i = 64 + kh_ctz64(got1);
        mins[i] = mins[targets[i]];
    }
    pend[0] = p0;
    if (k > 64) pend[1] = p1;
    return t;
}
#endif

/* pend = the bins below k that occ does not have (no bit at or beyond k:
 * the vector pull takes whole words). */
static void empty_bits(const uint64_t *occ, uint32_t k, uint64_t *pend) {
    const size_t words = (k + 63) / 64;
    for (size_t w = 0; w < words; ++w) pend[w] = ~occ[w];
    if (k % 64) pend[words - 1] &= (UINT64_C(1) << (k % 64)) - 1;
}

/* Fills the empty bins of a document with at least one token. Returns
 * KNOWHERE_OK or KNOWHERE_ERR_INTERRUPTED (job polled). */
static int densify(const sig_params *p, sig_scratch *s, bool saw_max, kh_job *job) {
    const uint32_t k = p->k;
    uint64_t *mins = s->mins, *occ = s->occupied, *pend = s->pending;
    const size_t words = (k + 63) / 64;
    occupancy(mins, k, occ, s->full);
    if (saw_max && mins[k - 1] == UINT64_MAX) { /* bin k - 1 holds a token: h == 2^64 - 1 */
        occ[(k - 1) / 64] |= UINT64_C(1) << ((k - 1) % 64);
        s->full[k - 1] = 1;
    }
    uint32_t m = 0;
    for (size_t w = 0; w < words; ++w) m += kh_popcount64(occ[w]);
    uint32_t u = k - m;
    /* No token at all (never for a document with shingles; but the rounds
     * and the cyclic rest below would find no source): left all empty,
     * which writes the empty signature. */
    if (u == 0 || m == 0) return KNOWHERE_OK;
    if (m == 1) { /* every probe sequence ends at the one non-empty bin */
        list_bits(occ, k, false, s->full_list);
        uint64_t v = mins[s->full_list[0]];
        for (uint32_t i = 0; i < k; ++i) mins[i] = v;
        return KNOWHERE_OK;
    }
    uint32_t bits = 0;
    while ((UINT32_C(1) << bits) < k) bits++;
    const uint32_t mask = (UINT32_C(1) << bits) - 1, shift = (bits + 1) / 2;
    const uint64_t max_rounds = 4 * (uint64_t)k;
    uint64_t steps = 0, t = 1;
    if (u > m) { /* push rounds first: the bins pi_t sends each non-empty bin's value to */
        list_bits(occ, k, false, s->full_list);
        empty_bits(occ, k, pend);
        for (; u > m && t <= max_rounds; ++t) {
            round_perm r;
            round_setup(&r, p->k_round, t, mask, shift, true);
            /* Branch-free, as the pull rounds. pi_t^-1 is one-to-one, so no
             * two full bins write the same empty bin in a round. */
            for (uint32_t f = 0; f < m; ++f) {
                uint32_t j = s->full_list[f], i = pi_inverse(&r, j, k);
                uint64_t hit = (pend[i >> 6] >> (i & 63)) & 1;
                pend[i >> 6] &= ~(hit << (i & 63));
                mins[i] = select64(hit, mins[j], mins[i]);
                u -= (uint32_t)hit;
            }
            steps += m;
            if (steps >= POLL_STEPS) {
                steps = 0;
                if (job && kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
            }
        }
    } else {
        empty_bits(occ, k, pend);
    }
    /* Pull rounds: push rounds only come first (u falls and m stays), so
     * from here on the still empty bins are exactly the pending ones. */
#if KH_DENSIFY_VBMI
    if (p->spec.level >= KH_CPU_AVX512_VBMI && k <= 128) {
        t = pull_vbmi(p, mins, s->full, pend, t, max_rounds, mask, shift);
        u = list_bits(pend, k, false, s->empty_list);
    } else
#endif
    {
        u = list_bits(pend, k, false, s->empty_list);
        for (; u > 0 && t <= max_rounds; ++t) {
            round_perm r;
            round_setup(&r, p->k_round, t, mask, shift, false);
            pi_all(&r, s->empty_list, s->targets, u, k);
            u = pull_round(s->targets, s->full, mins, s->empty_list, u);
            steps += u + 1;
            if (steps >= POLL_STEPS) {
                steps = 0;
                if (job && kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
            }
        }
    }
    for (uint32_t e = 0; e < u; ++e) { /* the rare rest: the next non-empty bin, cyclically */
        uint32_t i = s->empty_list[e], j = i;
        do j = j + 1 == k ? 0 : j + 1;
        while (!bit(occ, j));
        mins[i] = mins[j];
    }
    return KNOWHERE_OK;
}

/* ---- 5. output ---------------------------------------------------------------- */

static void write_values(const sig_params *p, const uint64_t *mins, uint8_t *out) {
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) &&                         \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (p->value_bytes == 8) {
        memcpy(out, mins, (size_t)p->k * 8);
    } else {
        uint32_t i = 0;
#if KH_DENSIFY_SSE2
        for (; i + 4 <= p->k; i += 4) { /* the low halves of 4 values */
            __m128 a = _mm_castsi128_ps(_mm_loadu_si128((const __m128i *)(const void *)(mins + i)));
            __m128 b = _mm_castsi128_ps(
                _mm_loadu_si128((const __m128i *)(const void *)(mins + i + 2)));
            _mm_storeu_ps((float *)(void *)(out + 4 * (size_t)i),
                          _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)));
        }
#endif
        for (; i < p->k; ++i) {
            uint32_t v = (uint32_t)mins[i];
            memcpy(out + 4 * (size_t)i, &v, 4);
        }
    }
#else
    for (uint32_t i = 0; i < p->k; ++i)
        for (uint32_t b = 0; b < p->value_bytes; ++b)
            out[(size_t)p->value_bytes * i + b] = (uint8_t)(mins[i] >> (8 * b));
#endif
}

static void write_empty(const sig_params *p, uint8_t *out) {
    memset(out, 0xFF, (size_t)p->k * p->value_bytes);
}

/* Densifies and writes a document whose tokens went through `o`. */
static int finish(const sig_params *p, sig_scratch *s, oph *o, bool any, uint8_t *out,
                  kh_job *job) {
    if (!any) {
        write_empty(p, out);
        return KNOWHERE_OK;
    }
    int status = densify(p, s, o->saw_max, job);
    if (status != KNOWHERE_OK) return status;
    write_values(p, s->mins, out);
    return KNOWHERE_OK;
}

/* ---- 2. shingles ------------------------------------------------------------------ */

typedef struct {
    uint64_t *slots;
    size_t mask;
    unsigned shift;
    bool has_zero;
    size_t count;
} shingle_set;

/* Adds x; true if it was new. */
static inline bool set_add(shingle_set *set, uint64_t x) {
    if (x == 0) {
        bool fresh = !set->has_zero;
        set->has_zero = true;
        set->count += fresh;
        return fresh;
    }
    size_t i = (size_t)(x >> set->shift);
    for (;;) {
        uint64_t v = set->slots[i];
        if (v == x) return false;
        if (v == 0) {
            set->slots[i] = x;
            set->count++;
            return true;
        }
        i = (i + 1) & set->mask;
    }
}

/* A cleared set in the scratch for `items` shingles. */
static bool set_open(sig_scratch *s, size_t items, shingle_set *set) {
    size_t cap;
    if (!scratch_reserve_set(s, items, &cap)) return false;
    set->slots = s->set;
    set->mask = cap - 1;
    set->shift = 64;
    while (((size_t)1 << (64 - set->shift)) < cap) set->shift--;
    return true;
}

/* Where the hashes of a text's shingles go: the hash set first, when the
 * caller asked for the count (then only new shingles go on; without it a
 * repeated shingle goes on too, which changes no minimum), then the bins. */
typedef struct {
    shingle_set *set; /* slots NULL: no count asked for */
    oph *o;
} text_sink;

static void take_shingles(void *ctx, const uint64_t *x, size_t n) {
    text_sink *sink = ctx;
    if (sink->set->slots == NULL) {
        oph_add_all(sink->o, x, n);
        return;
    }
    uint64_t fresh[KH_SHINGLE_BLOCK];
    size_t m = 0;
    for (size_t i = 0; i < n; ++i)
        if (set_add(sink->set, x[i])) fresh[m++] = x[i];
    oph_add_all(sink->o, fresh, m);
}

/* The signature of one text into out; *count (when count is not NULL)
 * receives the distinct shingles, which costs a hash-set insertion per
 * shingle. */
static int sign_text(const sig_params *p, const uint8_t *text, size_t len, sig_scratch *s,
                     uint8_t *out, size_t *count, kh_job *job) {
    int status = kh_normalise(&p->spec, text, len, &s->text, job);
    if (status != KNOWHERE_OK) return status;
    size_t shingles = kh_shingle_count(&p->spec, &s->text);
    if (count) *count = 0;
    oph o;
    if (!scratch_reserve_k(s, p->k)) return KNOWHERE_ERR_NO_MEMORY;
    oph_start(&o, s->mins, p);
    if (shingles == 0) return finish(p, s, &o, false, out, job);
    shingle_set set = {0};
    if (count && !set_open(s, shingles, &set)) return KNOWHERE_ERR_NO_MEMORY;
    text_sink sink = {.set = &set, .o = &o};
    status = kh_shingles_hash(&p->spec, &s->text, take_shingles, &sink, job);
    if (status != KNOWHERE_OK) return status;
    if (count) *count = set.count;
    return finish(p, s, &o, true, out, job);
}

/* The signature of a document given as tokens, as sign_text. */
static int sign_tokens(const sig_params *p, const kh_token_list *tokens, sig_scratch *s,
                       uint8_t *out, size_t *count, kh_job *job) {
    size_t shingles = kh_token_shingle_count(p->spec.n, tokens);
    if (count) *count = 0;
    oph o;
    if (!scratch_reserve_k(s, p->k)) return KNOWHERE_ERR_NO_MEMORY;
    oph_start(&o, s->mins, p);
    if (shingles == 0) return finish(p, s, &o, false, out, job);
    shingle_set set = {0};
    if (count && !set_open(s, shingles, &set)) return KNOWHERE_ERR_NO_MEMORY;
    text_sink sink = {.set = &set, .o = &o};
    int status = kh_token_shingles_hash(&p->spec, tokens, &s->text, take_shingles, &sink, job);
    if (status != KNOWHERE_OK) return status;
    if (count) *count = set.count;
    return finish(p, s, &o, true, out, job);
}

static int sign_hashes(const sig_params *p, const uint64_t *hashes, size_t count,
                       sig_scratch *s, uint8_t *out) {
    if (!scratch_reserve_k(s, p->k)) return KNOWHERE_ERR_NO_MEMORY;
    oph o;
    oph_start(&o, s->mins, p);
    oph_add_all(&o, hashes, count);
    return finish(p, s, &o, count > 0, out, NULL);
}

/* ---- public: one document ------------------------------------------------------------ */

static int check_out(const sig_params *p, const uint8_t *out, size_t out_len,
                     knowhere_error **err) {
    size_t need = (size_t)p->k * p->value_bytes;
    if (out == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "out is NULL");
    if (out_len < need)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "out_len is %zu, less than num_hashes * value_bytes = %u * %u = %zu",
                         out_len, (unsigned)p->k, (unsigned)p->value_bytes, need);
    return KNOWHERE_OK;
}

static int no_memory(knowhere_error **err, const char *what) {
    return kh_errorf(err, KNOWHERE_ERR_NO_MEMORY, "out of memory while signing %s", what);
}

int knowhere_signature_from_text(const knowhere_signature_options *options, const char *text,
                                 size_t text_len, uint8_t *out, size_t out_len,
                                 size_t *shingles, knowhere_error **err) {
    kh_clear_error(err);
    sig_params p;
    int status = resolve_options(options, &p, err);
    if (status != KNOWHERE_OK) return status;
    if (text == NULL && text_len != 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "text is NULL but text_len is %zu",
                         text_len);
    status = check_out(&p, out, out_len, err);
    if (status != KNOWHERE_OK) return status;
    stack_scratch stack;
    sig_scratch s;
    scratch_on_stack(&s, &stack);
    status = sign_text(&p, (const uint8_t *)text, text_len, &s, out, shingles, NULL);
    scratch_free(&s);
    if (status != KNOWHERE_OK) return no_memory(err, "a text");
    return KNOWHERE_OK;
}

int knowhere_signature_from_hashes(const knowhere_signature_options *options,
                                   const uint64_t *hashes, size_t count, uint8_t *out,
                                   size_t out_len, knowhere_error **err) {
    kh_clear_error(err);
    sig_params p;
    int status = resolve_options(options, &p, err);
    if (status != KNOWHERE_OK) return status;
    if (hashes == NULL && count != 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "hashes is NULL but count is %zu",
                         count);
    status = check_out(&p, out, out_len, err);
    if (status != KNOWHERE_OK) return status;
    stack_scratch stack;
    sig_scratch s;
    scratch_on_stack(&s, &stack);
    status = sign_hashes(&p, hashes, count, &s, out);
    scratch_free(&s);
    if (status != KNOWHERE_OK) return no_memory(err, "hashes");
    return KNOWHERE_OK;
}

/* Tokens make word shingles: character shingles of tokens would need their
 * code points, which this call does not decode. */
static int check_token_options(const sig_params *p, knowhere_error **err) {
    if (p->spec.kind != KNOWHERE_SHINGLE_WORDS)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "options->shingle_kind is %u; tokens make word shingles only "
                         "(KNOWHERE_SHINGLE_WORDS)",
                         (unsigned)p->spec.kind);
    return KNOWHERE_OK;
}

static int check_token_list(const char *const *tokens, const size_t *token_lens, size_t count,
                            knowhere_error **err) {
    if (count == 0) return KNOWHERE_OK;
    if (tokens == NULL || token_lens == NULL)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "%s is NULL but count is %zu",
                         tokens == NULL ? "tokens" : "token_lens", count);
    for (size_t i = 0; i < count; ++i)
        if (tokens[i] == NULL && token_lens[i] != 0)
            return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                             "tokens[%zu] is NULL but token_lens[%zu] is %zu", i, i,
                             token_lens[i]);
    return KNOWHERE_OK;
}

static int tokens_failed(int status, knowhere_error **err) {
    if (status == KNOWHERE_ERR_INVALID_ARG)
        return kh_errorf(err, status, "the token lengths add up to more than SIZE_MAX");
    return no_memory(err, "tokens");
}

int knowhere_signature_from_tokens(const knowhere_signature_options *options,
                                   const char *const *tokens, const size_t *token_lens,
                                   size_t count, uint8_t *out, size_t out_len, size_t *shingles,
                                   knowhere_error **err) {
    kh_clear_error(err);
    sig_params p;
    int status = resolve_options(options, &p, err);
    if (status == KNOWHERE_OK) status = check_token_options(&p, err);
    if (status == KNOWHERE_OK) status = check_token_list(tokens, token_lens, count, err);
    if (status == KNOWHERE_OK) status = check_out(&p, out, out_len, err);
    if (status != KNOWHERE_OK) return status;
    stack_scratch stack;
    sig_scratch s;
    scratch_on_stack(&s, &stack);
    kh_token_list list = {.ptrs = tokens, .lens = token_lens, .count = count};
    status = sign_tokens(&p, &list, &s, out, shingles, NULL);
    scratch_free(&s);
    return status == KNOWHERE_OK ? KNOWHERE_OK : tokens_failed(status, err);
}

/* ---- public: batch ------------------------------------------------------------------- */

typedef struct {
    sig_params p;
    const uint8_t *texts;
    const uint64_t *offsets;
    const uint64_t *token_offsets; /* a batch of tokens: texts is their bytes */
    size_t ndocs, docs_per_task, signature_bytes;
    uint8_t *out;
    uint32_t *counts;
    sig_scratch *scratch; /* [threads] */
} batch_work;

static int batch_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    batch_work *w = ctx;
    size_t begin, end;
    kh_task_items(task, w->docs_per_task, w->ndocs, &begin, &end);
    for (size_t d = begin; d < end; ++d) {
        if (kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        size_t from = (size_t)w->offsets[d], to = (size_t)w->offsets[d + 1], count = 0;
        uint8_t *out = w->out + d * w->signature_bytes;
        size_t *counted = w->counts ? &count : NULL;
        int status;
        if (w->token_offsets != NULL) {
            kh_token_list list = {
                .base = w->texts, .offsets = w->token_offsets + from, .count = to - from};
            status = sign_tokens(&w->p, &list, &w->scratch[worker], out, counted, job);
        } else {
            status = sign_text(&w->p, w->texts + from, to - from, &w->scratch[worker], out,
                               counted, job);
        }
        if (status != KNOWHERE_OK) return status;
        if (w->counts) w->counts[d] = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
    }
    kh_job_advance(job, end - begin);
    return KNOWHERE_OK;
}

/* Checks what both batches share (options, out) into w. */
static int batch_begin(batch_work *w, const knowhere_signature_options *options, size_t ndocs,
                       uint8_t *out, size_t out_len, knowhere_error **err) {
    memset(w, 0, sizeof *w);
    int status = resolve_options(options, &w->p, err);
    if (status != KNOWHERE_OK) return status;
    w->signature_bytes = (size_t)w->p.k * w->p.value_bytes;
    if (ndocs > SIZE_MAX / w->signature_bytes)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "ndocs * num_hashes * value_bytes = %zu * %u * %u overflows size_t",
                         ndocs, (unsigned)w->p.k, (unsigned)w->p.value_bytes);
    size_t need = ndocs * w->signature_bytes;
    if (out == NULL && need != 0) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "out is NULL");
    if (out_len < need)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "out_len is %zu, less than ndocs * num_hashes * value_bytes = "
                         "%zu * %u * %u = %zu",
                         out_len, ndocs, (unsigned)w->p.k, (unsigned)w->p.value_bytes, need);
    w->ndocs = ndocs;
    w->out = out;
    return KNOWHERE_OK;
}

/* Signs w's documents on `threads` threads. */
static int batch_run(batch_work *w, size_t threads, CInterrupt interrupt, knowhere_error **err) {
    int status = knowhere_interrupt_check(interrupt, NULL, NULL);
    if (status != KNOWHERE_OK)
        return kh_stopped_error(err, status, "signature batch", " before it started");
    if (w->ndocs == 0) return KNOWHERE_OK;

    threads = kh_threads(threads);
    w->docs_per_task = kh_items_per_task(w->ndocs, threads, 16, 1024);
    size_t tasks = kh_task_count(w->ndocs, w->docs_per_task);
    if (threads > tasks) threads = tasks;
    w->scratch = calloc(threads, sizeof *w->scratch);
    if (w->scratch == NULL) return no_memory(err, "a batch");

    kh_progress progress;
    kh_progress_begin(&progress, interrupt, KNOWHERE_PHASE_SIGN, w->ndocs);
    status = kh_run_parallel(threads, tasks, batch_task, w, interrupt, &progress);
    kh_progress_end(&progress, status);
    for (size_t t = 0; t < threads; ++t) scratch_free(&w->scratch[t]);
    free(w->scratch);
    switch (status) {
    case KNOWHERE_OK: return KNOWHERE_OK;
    case KNOWHERE_ERR_INTERRUPTED:
    case KNOWHERE_ERR_TIMEOUT: return kh_stopped_error(err, status, "signature batch", "");
    case KNOWHERE_ERR_NO_MEMORY: return no_memory(err, "a batch");
    case KNOWHERE_ERR_INVALID_ARG: return tokens_failed(status, err);
    default: return kh_errorf(err, status, "signature batch failed");
    }
}

int knowhere_signature_batch_from_text_with_interrupt(
    const knowhere_signature_options *options, const char *texts, size_t texts_len,
    const uint64_t *offsets, size_t ndocs, uint8_t *out, size_t out_len,
    uint32_t *shingle_counts, size_t threads, CInterrupt interrupt, knowhere_error **err) {
    kh_clear_error(err);
    batch_work w;
    int status = batch_begin(&w, options, ndocs, out, out_len, err);
    if (status == KNOWHERE_OK) status = kh_check_text_batch(texts, texts_len, offsets, ndocs, err);
    if (status != KNOWHERE_OK) return status;
    w.texts = (const uint8_t *)texts;
    w.offsets = offsets;
    w.counts = shingle_counts;
    return batch_run(&w, threads, interrupt, err);
}

int knowhere_signature_batch_from_tokens_with_interrupt(
    const knowhere_signature_options *options, const char *bytes, size_t bytes_len,
    const uint64_t *token_offsets, size_t ntokens, const uint64_t *doc_offsets, size_t ndocs,
    uint8_t *out, size_t out_len, uint32_t *shingle_counts, size_t threads,
    CInterrupt interrupt, knowhere_error **err) {
    kh_clear_error(err);
    batch_work w;
    int status = batch_begin(&w, options, ndocs, out, out_len, err);
    if (status == KNOWHERE_OK) status = check_token_options(&w.p, err);
    if (status == KNOWHERE_OK)
        status = kh_check_ranges("bytes", bytes, "bytes_len", bytes_len, "token_offsets",
                                 token_offsets, ntokens, "token", err);
    if (status == KNOWHERE_OK)
        status = kh_check_ranges(NULL, NULL, "ntokens", ntokens, "doc_offsets", doc_offsets,
                                 ndocs, "document", err);
    if (status != KNOWHERE_OK) return status;
    w.texts = (const uint8_t *)bytes;
    w.offsets = doc_offsets;
    w.token_offsets = token_offsets;
    w.counts = shingle_counts;
    return batch_run(&w, threads, interrupt, err);
}
