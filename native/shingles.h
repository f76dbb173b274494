/* Text to shingles to 64-bit hashes (docs/signatures.md, sections 2 and 3):
 * what signatures (signature.c) and exact similarities (shingle_jaccard.c)
 * share, so that both see the same shingles. */
#ifndef KNOWHERE_SHINGLES_H
#define KNOWHERE_SHINGLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"
#include "parallel.h"

#define KH_MAX_SHINGLE 64u

/* What a shingle is. */
typedef struct {
    uint32_t kind; /* KNOWHERE_SHINGLE_WORDS or KNOWHERE_SHINGLE_CHARS */
    uint32_t n;    /* units per shingle, 1..KH_MAX_SHINGLE */
    bool keep_case;
    kh_cpu_level level; /* the SIMD the normaliser may use (scalar: none) */
} kh_shingle_spec;

/* A normalised text, in a buffer that grows as needed. It can start in a
 * caller's buffer (on its stack), which is never freed. */
typedef struct {
    uint8_t *bytes;
    size_t cap;
    const uint8_t *borrowed;
    size_t len;   /* bytes of normalised text */
    size_t words; /* words */
    size_t chars; /* code points, spaces included */
    bool ascii;   /* every byte < 0x80 */
} kh_normalised;

/* An empty text; buffer (may be NULL) of cap bytes is used first. */
void kh_normalised_init(kh_normalised *t, uint8_t *buffer, size_t cap);
void kh_normalised_free(kh_normalised *t);

/* Normalises text[0..len-1] into t. KNOWHERE_OK, KNOWHERE_ERR_INTERRUPTED
 * (job, which may be NULL, is polled every 64 KiB) or
 * KNOWHERE_ERR_NO_MEMORY. */
int kh_normalise(const kh_shingle_spec *spec, const uint8_t *text, size_t len,
                 kh_normalised *t, kh_job *job);

/* The shingles of a normalised text, repeats included (0 when empty). */
size_t kh_shingle_count(const kh_shingle_spec *spec, const kh_normalised *t);

/* Receives shingle hashes in document order, at most KH_SHINGLE_BLOCK at
 * a time. */
#define KH_SHINGLE_BLOCK 64
typedef void kh_shingle_sink(void *ctx, const uint64_t *hashes, size_t n);

/* Passes the XXH3-64 of every shingle of t, repeats included, to sink.
 * KNOWHERE_OK, or KNOWHERE_ERR_INTERRUPTED (job, which may be NULL, is
 * polled every 1024 units). */
int kh_shingles_hash(const kh_shingle_spec *spec, const kh_normalised *t,
                     kh_shingle_sink *sink, void *ctx, kh_job *job);

/* A document given as tokens (knowhere_signature_from_tokens and the
 * token batch): token i < count is either ptrs[i][0 .. lens[i] - 1] or,
 * when ptrs is NULL, base[offsets[i] .. offsets[i + 1] - 1]. */
typedef struct {
    const char *const *ptrs;
    const size_t *lens;
    const uint8_t *base;
    const uint64_t *offsets;
    size_t count;
} kh_token_list;

/* The shingles of a token list, repeats included (0 when it is empty). */
size_t kh_token_shingle_count(size_t n, const kh_token_list *tokens);

/* Passes the XXH3-64 of every shingle of the tokens to sink: n (spec->n) consecutive
 * tokens joined by one space (all of them when there are fewer), taken as
 * they are (docs/signatures.md, section 3, with the caller's words). For
 * n > 1 the tokens are joined in `joined` (grown as needed). KNOWHERE_OK,
 * KNOWHERE_ERR_INTERRUPTED (job, which may be NULL, is polled every 1024
 * tokens), KNOWHERE_ERR_NO_MEMORY, or KNOWHERE_ERR_INVALID_ARG when the
 * lengths add up beyond SIZE_MAX. */
int kh_token_shingles_hash(const kh_shingle_spec *spec, const kh_token_list *tokens,
                           kh_normalised *joined, kh_shingle_sink *sink, void *ctx, kh_job *job);

/* Checks ranges laid end to end in a buffer: item i < count is
 * bytes[offsets[i] .. offsets[i + 1] - 1]; bytes may be NULL only if
 * bytes_len is 0 (not checked when bytes_name is NULL); offsets has
 * count + 1 non-decreasing entries, the last <= bytes_len. KNOWHERE_OK or
 * KNOWHERE_ERR_INVALID_ARG naming the entry, with the caller's names for
 * the arguments ("texts", "texts_len", "offsets", "document"). */
int kh_check_ranges(const char *bytes_name, const void *bytes, const char *len_name,
                    size_t bytes_len, const char *offsets_name, const uint64_t *offsets,
                    size_t count, const char *item_name, knowhere_error **err);

/* Checks a batch of texts: document d < ndocs is texts[offsets[d] ..
 * offsets[d + 1] - 1]; texts may be NULL only if texts_len is 0; offsets
 * has ndocs + 1 non-decreasing entries, the last <= texts_len. KNOWHERE_OK
 * or KNOWHERE_ERR_INVALID_ARG naming the entry. */
int kh_check_text_batch(const char *texts, size_t texts_len, const uint64_t *offsets,
                        size_t ndocs, knowhere_error **err);

/* The shingle spec of signature options, checked as the signature calls
 * check them (signature.c; NULL options are the defaults). */
int kh_signature_options_spec(const knowhere_signature_options *options, kh_shingle_spec *spec,
                              knowhere_error **err);

#endif
