/* The candidates of one query: the part of a search that top-k search,
 * range search and self-join share.
 *
 * A query's candidates are the rows that share a band with it (for each
 * band, the run of table entries whose key matches the query's band key),
 * minus the filtered ones. With raw data a candidate must also have a band
 * equal to the query's byte for byte, and its score is the number of equal
 * values; without raw data its score is the number of bands that matched.
 * Candidates come out once each, in ascending id order. Every step is linear
 * and polls the job. */
#ifndef KNOWHERE_CANDIDATES_H
#define KNOWHERE_CANDIDATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deferred_free.h"
#include "minhash_lsh_internal.h"
#include "parallel.h"
#include "raw_codes.h"

typedef struct {
    uint32_t id;
    uint32_t score; /* equal values (raw data) or matching bands */
} kh_candidate;

/* Which rows a search leaves out: a bitset (NULL: none) read at bit
 * id + bitset_offset, whose set bits and whose end exclude, and a predicate
 * (NULL: none). A NULL kh_filter pointer filters nothing. */
typedef struct {
    const uint8_t *bitset;
    size_t bitset_bits;
    uint64_t bitset_offset;
    knowhere_row_filter_fn fn;
    void *user;
} kh_filter;

/* The filter of the plain search functions: a bitset alone. */
static inline kh_filter kh_filter_bitset(const uint8_t *bitset, size_t bitset_bits) {
    kh_filter f = {bitset, bitset_bits, 0, NULL, NULL};
    return f;
}

static inline bool kh_filter_excludes(const kh_filter *f, uint32_t id) {
    if (f == NULL) return false;
    if (f->bitset != NULL) {
        /* id + offset >= bits, written so that it cannot overflow */
        if (f->bitset_offset >= f->bitset_bits || id >= f->bitset_bits - f->bitset_offset)
            return true;
        uint64_t bit = id + f->bitset_offset;
        if ((f->bitset[bit >> 3] >> (bit & 7)) & 1) return true;
    }
    return f->fn != NULL && f->fn(f->user, (int64_t)id) != 0;
}

/* Per-thread memory reused from query to query. Zero-initialise it. */
typedef struct {
    uint32_t *ids, *ids_spare; /* share ids_capacity */
    size_t ids_capacity;
    kh_candidate *candidates;
    size_t candidates_capacity;
    size_t *runs;              /* per band: begin, end */
    size_t runs_capacity;
    uint32_t *delta_ids;       /* the matches in the bands' deltas */
    size_t delta_ids_capacity, delta_count;
    uint8_t *query_raw;        /* the query's codes (kh_raw_query) */
    size_t query_raw_capacity;
} kh_candidate_scratch;

/* Grows *buffer (of *capacity elements of `element` bytes) to hold at least
 * `needed`, at least doubling it; false (and nothing changed) when memory
 * cannot be had or the size overflows. */
bool kh_reserve(void **buffer, size_t *capacity, size_t needed, size_t element);

#define KH_RESERVE(owner, field, cap, n)                                       \
    kh_reserve((void **)&(owner)->field, &(owner)->cap, (n), sizeof *(owner)->field)

/* How many of the n values of `element_size` bytes are equal in a and b:
 * the score of a candidate with raw data. */
size_t kh_count_equal_values(const uint8_t *a, const uint8_t *b, size_t n, size_t element_size);

/* The score of an identical row: the denominator of the similarity. */
static inline size_t kh_max_score(const kh_lsh_state *s) {
    return s->raw ? s->length : s->bands;
}

/* The similarity every search reports for a score (larger is closer): the
 * fraction score / kh_max_score(s) rounded once to float, so an identical
 * row is exactly 1 (score * (1 / max) could be one step below: 41 * (1 /
 * 41) is 0.99999994 in float). With codes, the fraction of equal codes
 * corrected for their accidental equality (kh_code_similarity). */
static inline float kh_similarity(const kh_lsh_state *s, uint32_t score) {
    if (kh_has_codes(s)) return kh_code_similarity(score, s->length, s->raw_bits);
    return (float)score / (float)kh_max_score(s);
}

/* The query in the raw form the index keeps, for comparing it with raw
 * rows: `query` itself (full values, or no raw data), or its codes in
 * sc->query_raw. NULL when memory for those cannot be had. */
const uint8_t *kh_raw_query(const kh_lsh_state *s, const uint8_t *query,
                            kh_candidate_scratch *sc);

/* The smallest score whose similarity (as kh_similarity gives it) is at
 * least `threshold`; kh_max_score(s) + 1 when none is. */
uint32_t kh_min_score(const kh_lsh_state *s, float threshold);

/* The candidates of `query` (one signature) with id >= min_id that the
 * filter (NULL: none) does not exclude, into sc->candidates[0 .. *count -
 * 1], ascending by id. Returns KNOWHERE_OK, KNOWHERE_ERR_NO_MEMORY, or
 * KNOWHERE_ERR_INTERRUPTED when the job stopped. */
int kh_find_candidates(const kh_lsh_state *s, const uint8_t *query, const kh_filter *filter,
                       size_t min_id, kh_candidate_scratch *sc, size_t *count, kh_job *job);

/* Only the band lookups of kh_find_candidates: sc->runs[2b], sc->runs[2b +
 * 1] delimit band b's entries whose key matches the query's. Returns
 * KNOWHERE_OK or KNOWHERE_ERR_NO_MEMORY. */
int kh_find_runs(const kh_lsh_state *s, const uint8_t *query, kh_candidate_scratch *sc);

/* Sorts ids[0..n-1] ascending (LSD radix, one byte a pass, skipping bytes
 * that are the same everywhere), polling the job. *sorted is ids or spare
 * (room for n), whichever holds the result. KNOWHERE_OK or
 * KNOWHERE_ERR_INTERRUPTED. */
int kh_sort_ids(uint32_t *ids, uint32_t *spare, size_t n, uint32_t **sorted, kh_job *job);

/* The score kh_find_candidates gives row `id` (equal values, or codes,
 * with raw data, else the bands whose run in `runs` holds it). `query` is
 * the full signature, raw_query its raw form (kh_raw_query). */
uint32_t kh_row_score(const kh_lsh_state *s, const uint8_t *query, const uint8_t *raw_query,
                      const size_t *runs, uint32_t id);

/* The same from runs the caller already has: sc->runs[2b], sc->runs[2b + 1]
 * delimit band b's matching entries (reserve sc->runs for 2 * bands first).
 * `query` is in the raw form the index keeps (kh_raw_query: full values,
 * or codes) and only read with raw data (for the band check and the
 * score); it may be NULL without. For a state with deltas, the matches in
 * the deltas are sc->delta_ids[0 .. sc->delta_count - 1] (as
 * kh_find_candidates leaves them); callers that make runs themselves walk
 * a state without deltas (kh_lsh_flat_state). */
int kh_candidates_from_runs(const kh_lsh_state *s, const uint8_t *query,
                            const kh_filter *filter, size_t min_id, kh_candidate_scratch *sc,
                            size_t *count, kh_job *job);

/* Puts the scratch's memory in the bag (and zeroes it). */
void kh_candidate_scratch_discard(kh_garbage *bag, kh_candidate_scratch *sc);

#endif
