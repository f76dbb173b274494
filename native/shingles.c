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

#include "internal.h"
#include "unicode_case.h"
#include "xxh3.h"

#if defined(__SSE2__) && !defined(KH_SIGNATURE_SCALAR)
#define KH_SIG_SSE2 1
#include <emmintrin.h>
#else
#define KH_SIG_SSE2 0
#endif

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

/* Before a non-space code point: the space that separates it from the
 * previous word, if whitespace came between; counts the word and the
 * code point. */
static inline uint8_t *begin_char(uint8_t *o, const uint8_t *start, bool *pending,
                                  size_t *words, size_t *chars) {
    if (*pending) {
        *o++ = ' ';
        *chars += 1;
        *pending = false;
        *words += 1;
    } else if (o == start) {
        *words += 1;
    }
    *chars += 1;
    return o;
}

/* The set bits of a 16-bit mask. By hand: without -mpopcnt (the library
 * is built for any x86-64), __builtin_popcount is a call into libgcc. */
static inline size_t popcount16(unsigned x) {
    x = x - ((x >> 1) & 0x5555u);
    x = (x & 0x3333u) + ((x >> 2) & 0x3333u);
    x = (x + (x >> 4)) & 0x0F0Fu;
    return (x + (x >> 8)) & 0x1Fu;
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

int kh_normalise(const kh_shingle_spec *spec, const uint8_t *text, size_t len,
                 kh_normalised *t, kh_job *job) {
    /* An input byte becomes at most 3 output bytes (U+FFFD, or a 2-byte
     * letter whose lowercase takes 3), plus one space. */
    if (len > (SIZE_MAX - 16) / 3) return KNOWHERE_ERR_NO_MEMORY;
    if (!reserve(t, 3 * len + 16)) return KNOWHERE_ERR_NO_MEMORY;
    const uint8_t *const map = spec->keep_case ? ascii_keep : ascii_lower;
    uint8_t *const start = t->bytes;
    uint8_t *o = start;
    bool pending = false; /* whitespace seen after the last word */
    size_t words = 0, chars = 0, i = 0, next_poll = POLL_BYTES;
    bool ascii = true;
    while (i < len) {
        if (i >= next_poll) {
            next_poll = i + POLL_BYTES;
            if (job && kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        }
#if KH_SIG_SSE2
        /* 16 ASCII bytes whose spaces are single U+0020s inside the text
         * copy as they are, lowercased. */
        if (!pending && len - i >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(text + i));
            unsigned high = (unsigned)_mm_movemask_epi8(v);
            if (high == 0) {
                __m128i ctl = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x08)),
                                            _mm_cmplt_epi8(v, _mm_set1_epi8(0x0E)));
                unsigned sp = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')));
                bool at_start = o == start;
                if (_mm_movemask_epi8(ctl) == 0 && (sp & (sp >> 1)) == 0 && !(sp & 0x8000u) &&
                    !(at_start && (sp & 1u))) {
                    if (!spec->keep_case) {
                        __m128i up = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)),
                                                   _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
                        v = _mm_or_si128(v, _mm_and_si128(up, _mm_set1_epi8(0x20)));
                    }
                    _mm_storeu_si128((__m128i *)(void *)o, v);
                    o += 16;
                    chars += 16;
                    words += popcount16(sp) + (at_start ? 1 : 0);
                    i += 16;
                    continue;
                }
            }
        }
#endif
        uint8_t b = text[i];
        uint32_t cp;
        if (b < 0x80) {
            uint8_t mapped = map[b];
            i++;
            if (mapped == SPACE) {
                pending = o != start;
                continue;
            }
            o = begin_char(o, start, &pending, &words, &chars);
            *o++ = mapped;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF && i + 1 < len && (text[i + 1] & 0xC0) == 0x80) {
            /* Two bytes (Latin, Greek, Cyrillic, ...): the common case. */
            cp = ((uint32_t)(b & 0x1F) << 6) | (text[i + 1] & 0x3Fu);
            i += 2;
            if (cp == 0x85 || cp == 0xA0) { /* the White_Space among them */
                pending = o != start;
                continue;
            }
            o = begin_char(o, start, &pending, &words, &chars);
            if (!spec->keep_case) cp = kh_lower_2byte[cp - 0x80];
            if (cp >= 0x80 && cp < 0x800) {
                o[0] = (uint8_t)(0xC0 | (cp >> 6));
                o[1] = (uint8_t)(0x80 | (cp & 0x3F));
                o += 2;
                ascii = false;
            } else {
                ascii &= cp < 0x80;
                o = encode_utf8(o, cp);
            }
            continue;
        }
        i += decode_utf8(text + i, len - i, &cp);
        if (kh_unicode_is_space(cp)) {
            pending = o != start;
            continue;
        }
        o = begin_char(o, start, &pending, &words, &chars);
        if (!spec->keep_case) cp = kh_unicode_lower(cp);
        if (cp >= 0x80) ascii = false;
        o = encode_utf8(o, cp);
    }
    t->len = (size_t)(o - start);
    t->words = words;
    t->chars = chars;
    t->ascii = ascii;
    return KNOWHERE_OK;
}

/* ---- shingle enumeration -------------------------------------------------------- */

/* Shingles queue up and are hashed in blocks: the hashes of a block are
 * independent, so they overlap in the CPU, and the sink gets whole blocks
 * (for signatures, the OPH kernel). The queue holds byte ranges; a ring
 * holds where the last n units (words or code points) start: starts[u % 64]
 * for unit u. Only arrays live here: the loops keep the queue length and
 * the unit count in registers (as fields of a struct whose address reaches
 * the sink they went through memory on every unit). */
typedef struct {
    kh_shingle_sink *sink;
    void *ctx;
    const uint8_t *bytes[KH_SHINGLE_BLOCK];
    size_t len[KH_SHINGLE_BLOCK];
    size_t starts[KH_MAX_SHINGLE];
} shingle_buffers;

/* Hashes the `queued` shingles and hands them on; the queue is then empty. */
static size_t flush(shingle_buffers *b, size_t queued) {
    uint64_t x[KH_SHINGLE_BLOCK];
    kh_xxh3_64_many(b->bytes, b->len, queued, x);
    if (queued) b->sink(b->ctx, x, queued);
    return 0;
}

static inline size_t queue_shingle(shingle_buffers *b, size_t queued, const uint8_t *bytes,
                                   size_t len) {
    b->bytes[queued] = bytes;
    b->len[queued] = len;
    return ++queued == KH_SHINGLE_BLOCK ? flush(b, queued) : queued;
}

/* Unit u, t[pos .. end - 1], ends: queues the n-unit shingle it completes
 * (from the start of its first unit to the end of this one). Returns the
 * queue length. */
static inline size_t unit_ends(shingle_buffers *b, size_t queued, size_t u, size_t n,
                               const uint8_t *t, size_t pos, size_t end) {
    b->starts[u % KH_MAX_SHINGLE] = pos;
    if (u + 1 < n) return queued;
    size_t first = b->starts[(u + 1 - n) % KH_MAX_SHINGLE];
    return queue_shingle(b, queued, t + first, end - first);
}

/* The bytes of the code point starting with lead byte b (valid UTF-8). */
static inline size_t utf8_length(uint8_t b) {
    return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}

/* Whether to stop after `units` units (polled every POLL_UNITS). */
static inline bool stop_after(size_t units, kh_job *job) {
    return (units & (POLL_UNITS - 1)) == 0 && job != NULL && kh_job_should_stop(job);
}

static inline unsigned count_trailing_zeros(uint64_t m) { /* m != 0 */
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(m);
#else
    unsigned z = 0;
    while (!(m & 1)) m >>= 1, z++;
    return z;
#endif
}

/* Bit i: t[i] is a space, for i < len <= 64. */
static inline uint64_t space_mask(const uint8_t *t, size_t len) {
    uint64_t m = 0;
#if KH_SIG_SSE2
    if (len == 64) {
        const __m128i sp = _mm_set1_epi8(' ');
        for (int q = 0; q < 4; ++q) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(t + 16 * q));
            m |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, sp)) << (16 * q);
        }
        return m;
    }
#endif
    for (size_t i = 0; i < len; ++i) m |= (uint64_t)(t[i] == ' ') << i;
    return m;
}


/* ---- shingles (docs/signatures.md, section 3) --------------------------------------- */

size_t kh_shingle_count(const kh_shingle_spec *spec, const kh_normalised *t) {
    size_t units = spec->kind == KNOWHERE_SHINGLE_WORDS ? t->words : t->chars;
    return units == 0 ? 0 : units < spec->n ? 1 : units - spec->n + 1;
}

int kh_shingles_hash(const kh_shingle_spec *spec, const kh_normalised *nt,
                     kh_shingle_sink *sink, void *ctx, kh_job *job) {
    const uint8_t *t = nt->bytes;
    const size_t n = spec->n, len = nt->len;
    size_t units = spec->kind == KNOWHERE_SHINGLE_WORDS ? nt->words : nt->chars;
    if (units == 0) return KNOWHERE_OK;
    shingle_buffers b = {.sink = sink, .ctx = ctx};
    size_t queued = 0, u = 0;
    if (units <= n) {
        queued = queue_shingle(&b, queued, t, len);
    } else if (spec->kind == KNOWHERE_SHINGLE_CHARS && nt->ascii) {
        for (size_t i = 0; i + n <= len; ++i) {
            queued = queue_shingle(&b, queued, t + i, n);
            if (stop_after(i + 1, job)) return KNOWHERE_ERR_INTERRUPTED;
        }
    } else if (spec->kind == KNOWHERE_SHINGLE_WORDS) {
        /* Word ends are the spaces; found 64 bytes at a time as a bit mask,
         * so word lengths cost no mispredicted branches. */
        size_t pos = 0;
        for (size_t base = 0; base < len; base += 64) {
            uint64_t m = space_mask(t + base, len - base < 64 ? len - base : 64);
            while (m) {
                size_t e = base + (size_t)count_trailing_zeros(m);
                m &= m - 1;
                queued = unit_ends(&b, queued, u, n, t, pos, e);
                if (stop_after(++u, job)) return KNOWHERE_ERR_INTERRUPTED;
                pos = e + 1;
            }
        }
        queued = unit_ends(&b, queued, u, n, t, pos, len);
    } else {
        for (size_t pos = 0; pos < len;) {
            size_t end = pos + utf8_length(t[pos]);
            queued = unit_ends(&b, queued, u, n, t, pos, end);
            if (stop_after(++u, job)) return KNOWHERE_ERR_INTERRUPTED;
            pos = end;
        }
    }
    flush(&b, queued);
    return KNOWHERE_OK;
}

/* ---- batches of texts ------------------------------------------------------------------- */

int kh_check_text_batch(const char *texts, size_t texts_len, const uint64_t *offsets,
                        size_t ndocs, knowhere_error **err) {
    if (texts == NULL && texts_len != 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "texts is NULL but texts_len is %zu",
                         texts_len);
    if (offsets == NULL)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "offsets is NULL (it needs ndocs + 1 = %llu entries)",
                         (unsigned long long)ndocs + 1);
    for (size_t d = 0; d < ndocs; ++d)
        if (offsets[d + 1] < offsets[d])
            return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                             "offsets[%zu] = %llu is less than offsets[%zu] = %llu "
                             "(document %zu would end before it starts)",
                             d + 1, (unsigned long long)offsets[d + 1], d,
                             (unsigned long long)offsets[d], d);
    if (offsets[ndocs] > texts_len)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "offsets[%zu] = %llu is beyond texts_len = %zu (document %zu ends "
                         "past the text)",
                         ndocs, (unsigned long long)offsets[ndocs], texts_len,
                         ndocs ? ndocs - 1 : 0);
    return KNOWHERE_OK;
}
