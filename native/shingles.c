/* Text to shingles to hashes (shingles.h), following docs/signatures.md:
 *
 *   normalise: UTF-8 -> code points (maximal-subpart U+FFFD), simple
 *     lowercase, White_Space runs -> one U+0020, no leading/trailing space;
 *     written as UTF-8 into a buffer (an SSE2 fast path copies 16-byte
 *     ASCII chunks that need no collapsing)
 *   shingles: word or code point n-grams are byte ranges of that buffer,
 *     each hashed with XXH3-64, in blocks. */
#include "shingles.h"

#include <stdlib.h>
#include <string.h>

#include "bits.h"
#include "internal.h"
#include "unicode_case.h"
#include "xxh3.h"

#if defined(__SSE2__) && !defined(KH_SIGNATURE_SCALAR)
#define KH_SIG_SSE2 1
#include <emmintrin.h>
#else
#define KH_SIG_SSE2 0
#endif
#if KH_SIG_SSE2 && KH_HAVE_X86_KERNELS
#define KH_SIG_VBMI2 1
#define KH_SIG_SSSE3 1
#include <immintrin.h>
#include "squeeze_table.h"
#define VBMI2 __attribute__((target("avx512f,avx512bw,avx512vbmi2,popcnt")))
#define SSSE3 __attribute__((target("ssse3,popcnt")))
#else
#define KH_SIG_VBMI2 0
#define KH_SIG_SSSE3 0
#endif

/* Bytes the vector paths of normalisation may write past what they keep. */
#define NORM_SLACK 64u
/* How many input bytes, or units, between interrupt polls. */
#define POLL_BYTES 65536u
#define POLL_UNITS 1024u

/* ---- normalisation (docs/signatures.md, section 2) ------------------------------- */

/* Per ASCII byte: its lowercase (or itself), or SPACE for White_Space;
 * constant tables, so a call pays nothing to set them up. */
#define SPACE 0xFFu
#define IS_SPACE(c) ((c) == ' ' || ((c) >= 0x09 && (c) <= 0x0D))
#define LOWER(c) (IS_SPACE(c) ? SPACE : (c) >= 'A' && (c) <= 'Z' ? (c) + 32 : (c))
#define KEEP(c) (IS_SPACE(c) ? SPACE : (c))
#define ROW(F, c) F(c), F(c + 1), F(c + 2), F(c + 3), F(c + 4), F(c + 5), F(c + 6), F(c + 7)
#define TABLE(F)                                                                              \
    {ROW(F, 0), ROW(F, 8), ROW(F, 16), ROW(F, 24), ROW(F, 32), ROW(F, 40), ROW(F, 48),          \
     ROW(F, 56), ROW(F, 64), ROW(F, 72), ROW(F, 80), ROW(F, 88), ROW(F, 96), ROW(F, 104),       \
     ROW(F, 112), ROW(F, 120)}
static const uint8_t ascii_lower[128] = TABLE(LOWER);
static const uint8_t ascii_keep[128] = TABLE(KEEP);

static inline uint8_t *encode_utf8(uint8_t *o, uint32_t cp) {
    if (cp < 0x80) {
        *o++ = (uint8_t)cp;
    } else if (cp < 0x800) {
        *o++ = (uint8_t)(0xC0 | (cp >> 6));
        *o++ = (uint8_t)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (uint8_t)(0xE0 | (cp >> 12));
        *o++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (uint8_t)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (uint8_t)(0xF0 | (cp >> 18));
        *o++ = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (uint8_t)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Decodes one code point at in[0..len-1] (len >= 1, in[0] >= 0x80) by the
 * Unicode "maximal subpart" rule: an ill-formed sequence gives one U+FFFD
 * per maximal subpart (the longest prefix of a well-formed sequence, or one
 * byte). Returns the bytes consumed. */
static inline size_t decode_utf8(const uint8_t *in, size_t len, uint32_t *cp) {
    uint8_t b0 = in[0];
    uint32_t need, c;
    uint8_t lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 1;
        c = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 2;
        c = b0 & 0x0F;
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 3;
        c = b0 & 0x07;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    size_t i = 1;
    for (; i <= need; ++i) {
        if (i >= len || in[i] < lo || in[i] > hi) {
            *cp = 0xFFFD;
            return i;
        }
        c = (c << 6) | (in[i] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = c;
    return i;
}

/* Room for n bytes in t (the contents need not survive). */
static bool reserve(kh_normalised *t, size_t n) {
    if (t->cap >= n) return true;
    size_t cap = n < 256 ? 256 : n;
    if (t->cap && cap < t->cap * 2 && t->cap * 2 > t->cap) cap = t->cap * 2;
    uint8_t *p = malloc(cap);
    if (p == NULL) return false;
    if (t->bytes != t->borrowed) free(t->bytes);
    t->bytes = p;
    t->cap = cap;
    return true;
}

void kh_normalised_init(kh_normalised *t, uint8_t *buffer, size_t cap) {
    memset(t, 0, sizeof *t);
    t->bytes = buffer;
    t->cap = buffer ? cap : 0;
    t->borrowed = buffer;
}

void kh_normalised_free(kh_normalised *t) {
    if (t->bytes != t->borrowed) free(t->bytes);
    memset(t, 0, sizeof *t);
}

/* The normaliser's output so far. Spaces are written eagerly: the first
 * whitespace after a word writes one U+0020, the rest of the run nothing,
 * and a space left at the very end is taken back. */
typedef struct {
    uint8_t *o;          /* next output byte */
    size_t words;        /* words started */
    size_t extra;        /* output bytes beyond the first of each code point */
    bool in_word;        /* the last code point was not whitespace */
} norm_out;

static inline void put_space(norm_out *n) {
    if (n->in_word) *n->o++ = ' ';
    n->in_word = false;
}

static inline void begin_char(norm_out *n) {
    n->words += !n->in_word;
    n->in_word = true;
}

/* One code point of text[i..len-1] into n, by the definition; returns the
 * bytes it took. */
static inline size_t normalise_one(const uint8_t *text, size_t i, size_t len, bool lower,
                                   norm_out *n) {
    uint8_t b = text[i];
    uint32_t cp;
    if (b < 0x80) {
        uint8_t mapped = (lower ? ascii_lower : ascii_keep)[b];
        if (mapped == SPACE) {
            put_space(n);
        } else {
            begin_char(n);
            *n->o++ = mapped;
        }
        return 1;
    }
    size_t used;
    if (b >= 0xC2 && b <= 0xDF && i + 1 < len && (text[i + 1] & 0xC0) == 0x80) {
        /* Two bytes (Latin, Greek, Cyrillic, ...): the common case. */
        cp = ((uint32_t)(b & 0x1F) << 6) | (text[i + 1] & 0x3Fu);
        if (cp == 0x85 || cp == 0xA0) { /* the White_Space among them */
            put_space(n);
            return 2;
        }
        if (lower) cp = kh_lower_2byte[cp - 0x80];
        used = 2;
    } else {
        used = decode_utf8(text + i, len - i, &cp);
        if (kh_unicode_is_space(cp)) {
            put_space(n);
            return used;
        }
        if (lower) cp = kh_unicode_lower(cp);
    }
    begin_char(n);
    uint8_t *before = n->o;
    n->o = encode_utf8(n->o, cp);
    n->extra += (size_t)(n->o - before) - 1;
    return used;
}

/* The vector paths take whole blocks of ASCII text: whitespace to U+0020
 * and lower-cased, then the bytes to drop (whitespace after whitespace, or
 * before any word) squeezed out. The words are counted from masks: a word
 * starts at a non-space byte after a space (or after the start). Each
 * returns where it stopped: at a block with a non-ASCII byte, or with
 * fewer than a block's bytes before `stop`. */

#if KH_SIG_SSE2
/* The bits of a block's mask that the kept bytes, words and state need;
 * `text` has a bit per byte that is not whitespace. Returns the keep mask. */
static inline uint64_t block_masks(uint64_t text, unsigned bits, norm_out *n) {
    uint64_t all = bits == 64 ? ~UINT64_C(0) : (UINT64_C(1) << bits) - 1;
    uint64_t after_text = ((text << 1) | n->in_word) & all; /* bit j: byte j - 1 is text */
    n->words += kh_popcount64(text & ~after_text);
    n->in_word = (text >> (bits - 1)) & 1;
    return text | (~text & after_text & all);
}
#endif

#if KH_SIG_SSE2
/* A 16-byte ASCII block (the caller checked): whitespace to U+0020 and
 * lower-cased; *keep gets the bytes to keep. */
static inline __m128i map_16(__m128i v, bool lower, norm_out *n, unsigned *keep) {
    __m128i ws = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
                              _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x08)),
                                            _mm_cmplt_epi8(v, _mm_set1_epi8(0x0E))));
    *keep = (unsigned)block_masks(~(uint64_t)_mm_movemask_epi8(ws) & 0xFFFFu, 16, n);
    if (lower) {
        __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)),
                                      _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
        v = _mm_or_si128(v, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
    }
    return _mm_or_si128(_mm_andnot_si128(ws, v), _mm_and_si128(ws, _mm_set1_epi8(' ')));
}

static size_t ascii_16s(const uint8_t *text, size_t i, size_t stop, bool lower, norm_out *out) {
    norm_out state = *out, *n = &state; /* in registers, not through out */
    for (; i + 16 <= stop; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(text + i));
        if (_mm_movemask_epi8(v)) break;
        unsigned keep;
        v = map_16(v, lower, n, &keep);
        if (keep == 0xFFFFu) { /* plain text with single spaces: as it is */
            _mm_storeu_si128((__m128i *)(void *)n->o, v);
            n->o += 16;
            continue;
        }
        uint8_t bytes[16]; /* squeezed without branches: which bytes go is a coin flip */
        _mm_storeu_si128((__m128i *)(void *)bytes, v);
        size_t at = 0;
        for (unsigned j = 0; j < 16; ++j) {
            n->o[at] = bytes[j];
            at += (keep >> j) & 1u;
        }
        n->o += at;
    }
    *out = state;
    return i;
}
#endif

#if KH_SIG_SSSE3
/* The same with SSSE3 (CPUs of the AVX2 level and up): each 8-byte half
 * squeezed by one byte shuffle whose control comes from a table indexed by
 * its 8 keep bits. Text with line breaks and indentation needs that on a
 * good part of its blocks. */
SSSE3 static size_t ascii_16s_ssse3(const uint8_t *text, size_t i, size_t stop, bool lower,
                                    norm_out *out) {
    norm_out state = *out, *n = &state;
    const __m128i high_half = _mm_set_epi64x(0x0808080808080808LL, 0);
    for (; i + 16 <= stop; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(text + i));
        if (_mm_movemask_epi8(v)) break;
        unsigned keep;
        v = map_16(v, lower, n, &keep);
        __m128i control = _mm_add_epi8(
            _mm_set_epi64x((long long)kh_squeeze_control[keep >> 8],
                           (long long)kh_squeeze_control[keep & 0xFF]),
            high_half); /* the high half's indices point into the high half */
        __m128i squeezed = _mm_shuffle_epi8(v, control);
        _mm_storel_epi64((__m128i *)(void *)n->o, squeezed);
        n->o += _mm_popcnt_u32(keep & 0xFF);
        _mm_storel_epi64((__m128i *)(void *)n->o, _mm_unpackhi_epi64(squeezed, squeezed));
        n->o += _mm_popcnt_u32(keep >> 8);
    }
    *out = state;
    return i;
}
#endif

#if KH_SIG_VBMI2
/* 64 bytes at a time; AVX-512 VBMI2 squeezes them in one instruction. The
 * state is kept in locals: through the pointer it went to memory and back
 * on every block. */
VBMI2 static size_t ascii_64s(const uint8_t *text, size_t i, size_t stop, bool lower,
                              norm_out *out) {
    const __m512i space = _mm512_set1_epi8(' '), tab = _mm512_set1_epi8(0x09),
                  five = _mm512_set1_epi8(5), big_a = _mm512_set1_epi8('A'),
                  letters = _mm512_set1_epi8(26), case_bit = _mm512_set1_epi8(0x20);
    norm_out n = *out;
    for (; i + 64 <= stop; i += 64) {
        __m512i v = _mm512_loadu_si512((const void *)(text + i));
        if (_mm512_movepi8_mask(v)) break;
        __mmask64 ws = _mm512_cmpeq_epi8_mask(v, space) |
                       _mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, tab), five);
        uint64_t keep = block_masks(~(uint64_t)ws, 64, &n);
        if (lower)
            v = _mm512_mask_add_epi8(
                v, _mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, big_a), letters), v, case_bit);
        v = _mm512_mask_mov_epi8(v, ws, space);
        _mm512_storeu_si512((void *)n.o, _mm512_maskz_compress_epi8(keep, v));
        n.o += _mm_popcnt_u64(keep);
    }
    *out = n;
    return i;
}
#endif

int kh_normalise(const kh_shingle_spec *spec, const uint8_t *text, size_t len,
                 kh_normalised *t, kh_job *job) {
    /* An input byte becomes at most 3 output bytes (U+FFFD, or a 2-byte
     * letter whose lowercase takes 3); the vector paths write up to
     * NORM_SLACK bytes beyond what they keep. */
    if (len > (SIZE_MAX - NORM_SLACK) / 3) return KNOWHERE_ERR_NO_MEMORY;
    if (!reserve(t, 3 * len + NORM_SLACK)) return KNOWHERE_ERR_NO_MEMORY;
    const bool lower = !spec->keep_case;
    norm_out n = {.o = t->bytes, .words = 0, .extra = 0, .in_word = false};
    /* SSE2 is part of x86-64: its path runs at every level (KNOWHERE_SIMD
     * caps the kernels beyond it); KH_SIGNATURE_SCALAR at compile time
     * leaves only the code point loop. */
    const bool vbmi2 = KH_SIG_VBMI2 && spec->level >= KH_CPU_AVX512_VBMI;
    const bool ssse3 = KH_SIG_SSSE3 && spec->level >= KH_CPU_AVX2;
    (void)vbmi2;
    (void)ssse3;
    size_t i = 0;
    while (i < len) {
        size_t stop = len - i > POLL_BYTES ? i + POLL_BYTES : len;
        while (i < stop) {
#if KH_SIG_VBMI2
            if (vbmi2) i = ascii_64s(text, i, stop, lower, &n);
#endif
#if KH_SIG_SSSE3
            if (ssse3) i = ascii_16s_ssse3(text, i, stop, lower, &n);
#endif
#if KH_SIG_SSE2
            i = ascii_16s(text, i, stop, lower, &n);
#endif
            /* the rest, or a block that is not ASCII: code point by code point */
            for (size_t end = stop - i > 16 ? i + 16 : stop; i < end;)
                i += normalise_one(text, i, len, lower, &n);
        }
        if (i < len && job && kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
    }
    if (!n.in_word && n.o != t->bytes) n.o--; /* the space after the last word */
    t->len = (size_t)(n.o - t->bytes);
    t->words = n.words;
    t->chars = t->len - n.extra;
    t->ascii = n.extra == 0;
    return KNOWHERE_OK;
}

/* ---- shingle enumeration -------------------------------------------------------- */

/* A shingle is the bytes from the start of its first unit (word or code
 * point) to the end of its last one, and a unit ends `gap` bytes before the
 * next one starts (1 for the space between words, 0 between code points).
 * So the shingles are enumerated from the units' starts alone: the starts
 * are collected in blocks (a bit scan, a store per unit: no branch that
 * depends on a word's length), then each block's shingles are hashed in
 * one call, whose hashes are independent and overlap in the CPU, and the
 * sink gets them all at once (for signatures, the OPH kernel). */
typedef struct {
    kh_shingle_sink *sink;
    void *ctx;
    const uint8_t *t;
    size_t n, gap;
    /* up to n + 63 kept, plus a 64-byte chunk's worth, plus flatten's slack */
    size_t starts[KH_MAX_SHINGLE + 2 * KH_SHINGLE_BLOCK + 8];
} unit_starts;

static void unit_starts_init(unit_starts *u, kh_shingle_sink *sink, void *ctx,
                             const uint8_t *t, size_t n, size_t gap) {
    u->sink = sink;
    u->ctx = ctx;
    u->t = t;
    u->n = n;
    u->gap = gap;
}

/* Hashes the `count` shingles that start at starts[0 .. count - 1] (their
 * ends come from the starts n further on) and hands them on; the `have`
 * starts kept move down by count. Returns have - count. */
static size_t emit_shingles(unit_starts *u, size_t have, size_t count) {
    const unsigned char *ptrs[KH_SHINGLE_BLOCK];
    size_t lens[KH_SHINGLE_BLOCK];
    uint64_t x[KH_SHINGLE_BLOCK];
    const size_t n = u->n, gap = u->gap;
    for (size_t i = 0; i < count; ++i) {
        ptrs[i] = u->t + u->starts[i];
        lens[i] = u->starts[i + n] - gap - u->starts[i];
    }
    kh_xxh3_64_many(ptrs, lens, count, x);
    u->sink(u->ctx, x, count);
    for (size_t i = count; i < have; ++i) u->starts[i - count] = u->starts[i];
    return have - count;
}

/* Appends base + the index of each set bit of m, in increasing order, to
 * starts[have ..]; returns the new count. Eight at a time, written whether
 * or not there are that many (starts has room): the loop runs once per
 * eight bits, not once per bit, and mispredicts its exit that much less
 * often (a 64-byte chunk of English has about ten words). */
static inline size_t flatten(size_t *starts, size_t have, size_t base, uint64_t m) {
    const size_t count = kh_popcount64(m);
    size_t *o = starts + have;
    const size_t *end = o + count;
    do {
        for (int b = 0; b < 8; ++b) { /* a spent m gives 63: defined, and never used */
            o[b] = base + kh_ctz64(m | (UINT64_C(1) << 63));
            m &= m - 1;
        }
        o += 8;
    } while (o < end);
    return have + count;
}

/* Adds a unit start; when the starts reach `full_block` (a local: n +
 * KH_SHINGLE_BLOCK), a block of shingles is emitted (and the job polled
 * every 16 blocks, about 1024 units). */
#define ADD_START(u, have, pos, blocks, job)                                               \
    do {                                                                                  \
        (u)->starts[(have)++] = (pos);                                                    \
        if ((have) == full_block) {                                                       \
            (have) = emit_shingles((u), (have), KH_SHINGLE_BLOCK);                        \
            if ((++(blocks) & 15) == 0 && (job) != NULL && kh_job_should_stop(job))       \
                return KNOWHERE_ERR_INTERRUPTED;                                          \
        }                                                                                 \
    } while (0)

/* Bit i: t[i] starts a unit, for i < len <= 64: the byte after a space
 * (words; `carry` is whether t[-1] is a space, or the text starts here),
 * or a byte that is not a UTF-8 continuation byte (code points). */
static inline uint64_t start_mask(const uint8_t *t, size_t len, bool words, uint64_t carry) {
    uint64_t m = 0;
#if KH_SIG_SSE2
    if (len == 64) {
        for (int q = 0; q < 4; ++q) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(t + 16 * q));
            __m128i hit = words ? _mm_cmpeq_epi8(v, _mm_set1_epi8(' '))
                                : _mm_cmpeq_epi8(_mm_and_si128(v, _mm_set1_epi8((char)0xC0)),
                                                 _mm_set1_epi8((char)0x80));
            m |= (uint64_t)(unsigned)_mm_movemask_epi8(hit) << (16 * q);
        }
        return words ? (m << 1) | carry : ~m;
    }
#endif
    for (size_t i = 0; i < len; ++i)
        m |= (uint64_t)(words ? t[i] == ' ' : (t[i] & 0xC0) == 0x80) << i;
    if (words) return (m << 1) | carry;
    return ~m & (len == 64 ? ~UINT64_C(0) : (UINT64_C(1) << len) - 1);
}

/* After starts were added: emits the blocks they complete (and polls the
 * job every 16 blocks, about 1024 units). */
static inline int emit_full_blocks(unit_starts *u, size_t *have, size_t *blocks, kh_job *job) {
    while (*have >= u->n + KH_SHINGLE_BLOCK) {
        *have = emit_shingles(u, *have, KH_SHINGLE_BLOCK);
        if ((++*blocks & 15) == 0 && job != NULL && kh_job_should_stop(job))
            return KNOWHERE_ERR_INTERRUPTED;
    }
    return KNOWHERE_OK;
}

/* The unit starts of t[0 .. len - 1] into u, in 64-byte chunks, emitting
 * the blocks of shingles they complete. */
static int scan_units(unit_starts *u, size_t *have, size_t *blocks, const uint8_t *t, size_t len,
                      bool words, bool ascii, kh_job *job) {
    uint64_t carry = 1; /* words: position 0 starts one */
    for (size_t base = 0; base < len; base += 64) {
        size_t chunk = len - base < 64 ? len - base : 64;
        /* ASCII characters: every byte starts one */
        uint64_t m = !words && ascii ? ~UINT64_C(0) : start_mask(t + base, chunk, words, carry);
        carry = words ? t[base + chunk - 1] == ' ' : 0;
        if (chunk < 64) m &= (UINT64_C(1) << chunk) - 1;
        *have = flatten(u->starts, *have, base, m);
        int status = emit_full_blocks(u, have, blocks, job);
        if (status != KNOWHERE_OK) return status;
    }
    return KNOWHERE_OK;
}

#if KH_SIG_VBMI2
/* The same with AVX-512: a chunk's mask from one compare, and its starts
 * from one byte compress of the indices 0..63 (then widened 8 at a time),
 * instead of a bit scan per start. */
VBMI2 static int scan_units_vbmi2(unit_starts *u, size_t *have, size_t *blocks,
                                  const uint8_t *t, size_t len, bool words, bool ascii,
                                  kh_job *job) {
    static const uint8_t iota[64] = {
        0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
        22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43,
        44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63};
    const __m512i index = _mm512_loadu_si512((const void *)iota), space = _mm512_set1_epi8(' '),
                  top2 = _mm512_set1_epi8((char)0xC0), cont = _mm512_set1_epi8((char)0x80);
    uint8_t offsets[64];
    uint64_t carry = 1;
    for (size_t base = 0; base < len; base += 64) {
        size_t chunk = len - base < 64 ? len - base : 64;
        __mmask64 inside = chunk == 64 ? ~(__mmask64)0 : ((__mmask64)1 << chunk) - 1;
        __m512i v = _mm512_maskz_loadu_epi8(inside, (const void *)(t + base));
        uint64_t m;
        if (words) {
            uint64_t spaces = _mm512_mask_cmpeq_epi8_mask(inside, v, space);
            m = (spaces << 1) | carry;
            carry = spaces >> 63;
        } else {
            m = ascii ? ~UINT64_C(0)
                      : ~(uint64_t)_mm512_cmpeq_epi8_mask(_mm512_and_si512(v, top2), cont);
        }
        m &= inside;
        _mm512_storeu_si512((void *)offsets, _mm512_maskz_compress_epi8(m, index));
        const __m512i vbase = _mm512_set1_epi64((long long)base);
        size_t count = (size_t)_mm_popcnt_u64(m), *o = u->starts + *have;
        for (size_t k = 0; k < count; k += 8)
            _mm512_storeu_si512((void *)(o + k),
                                _mm512_add_epi64(vbase, _mm512_cvtepu8_epi64(_mm_loadl_epi64(
                                                            (const __m128i *)(const void *)(offsets + k)))));
        *have += count;
        int status = emit_full_blocks(u, have, blocks, job);
        if (status != KNOWHERE_OK) return status;
    }
    return KNOWHERE_OK;
}
#endif

/* ---- shingles (docs/signatures.md, section 3) --------------------------------------- */

size_t kh_shingle_count(const kh_shingle_spec *spec, const kh_normalised *t) {
    size_t units = spec->kind == KNOWHERE_SHINGLE_WORDS ? t->words : t->chars;
    return units == 0 ? 0 : units < spec->n ? 1 : units - spec->n + 1;
}

int kh_shingles_hash(const kh_shingle_spec *spec, const kh_normalised *nt,
                     kh_shingle_sink *sink, void *ctx, kh_job *job) {
    const uint8_t *t = nt->bytes;
    const size_t n = spec->n, len = nt->len;
    const bool words = spec->kind == KNOWHERE_SHINGLE_WORDS;
    size_t units = words ? nt->words : nt->chars;
    if (units == 0) return KNOWHERE_OK;
    unit_starts u; /* not zeroed: 1 KB of starts, written before they are read */
    unit_starts_init(&u, sink, ctx, t, n, words ? 1 : 0);
    size_t have = 0, blocks = 0;
    const size_t full_block = n + KH_SHINGLE_BLOCK; /* starts that complete a block */
    if (units <= n) { /* one shingle: the whole text */
        u.starts[0] = 0;
        u.starts[n] = len + u.gap;
        emit_shingles(&u, n + 1, 1);
        return KNOWHERE_OK;
    }
    int status =
#if KH_SIG_VBMI2
        spec->level >= KH_CPU_AVX512_VBMI
            ? scan_units_vbmi2(&u, &have, &blocks, t, len, words, nt->ascii, job) :
#endif
            scan_units(&u, &have, &blocks, t, len, words, nt->ascii, job);
    if (status != KNOWHERE_OK) return status;
    ADD_START(&u, have, len + u.gap, blocks, job); /* where a next unit would start */
    if (have > n) emit_shingles(&u, have, have - n);
    return KNOWHERE_OK;
}

/* ---- shingles of tokens -------------------------------------------------------------- */

static inline const uint8_t *token_at(const kh_token_list *l, size_t i, size_t *len) {
    if (l->ptrs != NULL) {
        *len = l->lens[i];
        return (const uint8_t *)l->ptrs[i];
    }
    *len = (size_t)(l->offsets[i + 1] - l->offsets[i]);
    return l->base + l->offsets[i];
}

size_t kh_token_shingle_count(size_t n, const kh_token_list *tokens) {
    size_t units = tokens->count;
    return units == 0 ? 0 : units < n ? 1 : units - n + 1;
}

/* The bytes of the tokens joined by spaces, or 0 with *overflow set. */
static size_t joined_length(const kh_token_list *l, bool *overflow) {
    if (l->ptrs == NULL) { /* checked: offsets[count] <= the buffer's length */
        size_t bytes = (size_t)(l->offsets[l->count] - l->offsets[0]);
        *overflow = bytes > SIZE_MAX - 16 - l->count;
        return *overflow ? 0 : bytes + l->count;
    }
    size_t total = l->count; /* a space after each */
    for (size_t i = 0; i < l->count; ++i) {
        if (l->lens[i] > SIZE_MAX - 16 - total) {
            *overflow = true;
            return 0;
        }
        total += l->lens[i];
    }
    *overflow = false;
    return total;
}

/* Copies a token of `len` bytes to `to`, which has 32 bytes of room
 * beyond it: short tokens (most words) in one or two 8-byte moves, with no
 * call into memcpy per token. Never reads beyond the token. */
static inline void copy_token(uint8_t *to, const uint8_t *from, size_t len) {
    if (len >= 8 && len <= 16) {
        uint64_t a, b;
        memcpy(&a, from, 8);
        memcpy(&b, from + len - 8, 8);
        memcpy(to, &a, 8);
        memcpy(to + len - 8, &b, 8);
    } else if (len >= 4 && len < 8) {
        uint32_t a, b;
        memcpy(&a, from, 4);
        memcpy(&b, from + len - 4, 4);
        memcpy(to, &a, 4);
        memcpy(to + len - 4, &b, 4);
    } else {
        for (size_t i = 0; i < len && i < 4; ++i) to[i] = from[i];
        if (len > 16) memcpy(to, from, len);
    }
}

#if KH_SIG_VBMI2
/* copy_token for tokens of at most 32 bytes with AVX-512: a masked load
 * (bytes beyond the token are not read) and a 32-byte store, without the
 * branches on the length that mispredict on words of mixed lengths. */
__attribute__((target("avx512f,avx512bw,avx512vl,bmi2"))) static void copy_token_32(
    uint8_t *to, const uint8_t *from, size_t len) {
    __mmask32 bytes = (__mmask32)_bzhi_u32(~0u, (unsigned)len);
    _mm256_storeu_si256((__m256i *)(void *)to, _mm256_maskz_loadu_epi8(bytes, (const void *)from));
}
#endif

int kh_token_shingles_hash(const kh_shingle_spec *spec, const kh_token_list *tokens,
                           kh_normalised *joined, kh_shingle_sink *sink, void *ctx, kh_job *job) {
    const size_t n = spec->n, units = tokens->count;
#if KH_SIG_VBMI2
    const bool masked = spec->level >= KH_CPU_AVX512_VBMI;
#endif
    if (units == 0) return KNOWHERE_OK;
    size_t len, have = 0, blocks = 0;
    if (n == 1) { /* each token is a shingle: hashed where it is */
        const unsigned char *ptrs[KH_SHINGLE_BLOCK];
        size_t lens[KH_SHINGLE_BLOCK];
        uint64_t x[KH_SHINGLE_BLOCK];
        for (size_t u = 0; u < units; u += KH_SHINGLE_BLOCK) {
            size_t count = units - u < KH_SHINGLE_BLOCK ? units - u : KH_SHINGLE_BLOCK;
            for (size_t i = 0; i < count; ++i) {
                ptrs[i] = token_at(tokens, u + i, &len);
                lens[i] = len;
            }
            kh_xxh3_64_many(ptrs, lens, count, x);
            sink(ctx, x, count);
            if ((++blocks & 15) == 0 && job != NULL && kh_job_should_stop(job))
                return KNOWHERE_ERR_INTERRUPTED;
        }
        return KNOWHERE_OK;
    }
    /* Longer shingles need their tokens side by side: each followed by one
     * space, as the words of a normalised text are. */
    bool overflow;
    size_t total = joined_length(tokens, &overflow);
    if (overflow) return KNOWHERE_ERR_INVALID_ARG;
    if (!reserve(joined, total + 32)) return KNOWHERE_ERR_NO_MEMORY; /* copies write 32 */
    uint8_t *t = joined->bytes;
    unit_starts u;
    unit_starts_init(&u, sink, ctx, t, n, 1);
    size_t at = 0;
    const size_t full_block = n + KH_SHINGLE_BLOCK;
    if (units <= n) { /* one shingle: all of them */
        for (size_t i = 0; i < units; ++i) {
            const uint8_t *p = token_at(tokens, i, &len);
            copy_token(t + at, p, len);
            at += len;
            t[at++] = ' ';
        }
        u.starts[0] = 0;
        u.starts[n] = at;
        emit_shingles(&u, n + 1, 1);
        return KNOWHERE_OK;
    }
    for (size_t i = 0; i < units; ++i) {
        const uint8_t *p = token_at(tokens, i, &len);
#if KH_SIG_VBMI2
        if (masked && len <= 32)
            copy_token_32(t + at, p, len);
        else
#endif
            copy_token(t + at, p, len);
        ADD_START(&u, have, at, blocks, job);
        at += len;
        t[at++] = ' ';
    }
    ADD_START(&u, have, at, blocks, job);
    if (have > n) emit_shingles(&u, have, have - n);
    return KNOWHERE_OK;
}

/* ---- batches of texts ------------------------------------------------------------------- */

int kh_check_ranges(const char *bytes_name, const void *bytes, const char *len_name,
                    size_t bytes_len, const char *offsets_name, const uint64_t *offsets,
                    size_t count, const char *item_name, knowhere_error **err) {
    if (bytes_name != NULL && bytes == NULL && bytes_len != 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "%s is NULL but %s is %zu", bytes_name,
                         len_name, bytes_len);
    if (offsets == NULL)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "%s is NULL (it needs %llu entries)", offsets_name,
                         (unsigned long long)count + 1);
    for (size_t d = 0; d < count; ++d)
        if (offsets[d + 1] < offsets[d])
            return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                             "%s[%zu] = %llu is less than %s[%zu] = %llu "
                             "(%s %zu would end before it starts)",
                             offsets_name, d + 1, (unsigned long long)offsets[d + 1],
                             offsets_name, d, (unsigned long long)offsets[d], item_name, d);
    if (offsets[count] > bytes_len)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "%s[%zu] = %llu is beyond %s = %zu (%s %zu ends past the end)",
                         offsets_name, count, (unsigned long long)offsets[count], len_name,
                         bytes_len, item_name, count ? count - 1 : 0);
    return KNOWHERE_OK;
}

int kh_check_text_batch(const char *texts, size_t texts_len, const uint64_t *offsets,
                        size_t ndocs, knowhere_error **err) {
    return kh_check_ranges("texts", texts, "texts_len", texts_len, "offsets", offsets, ndocs,
                           "document", err);
}
