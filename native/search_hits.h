/* The first candidates of a query in hit order (knowhere's MINHASH_LSH
 * order, see knowhere_search_options in knowhere_rs.h): what hits mode
 * returns and what refine_k ranks. */
#ifndef KNOWHERE_SEARCH_HITS_H
#define KNOWHERE_SEARCH_HITS_H

#include <stddef.h>
#include <stdint.h>

#include "candidates.h"

/* Per-thread memory reused from query to query. Zero-initialise it. */
typedef struct {
    uint32_t *seen;         /* open-addressing set of ids, KH_NO_HIT = empty */
    size_t seen_capacity;   /* a power of two, or 0 */
    uint32_t *hits;         /* the hits, in hit order */
    size_t hits_capacity;
    uint32_t *spare;        /* room to sort the hits by id */
    size_t spare_capacity;
    uint32_t *chain;        /* a band's delta rows with the query's key */
    size_t chain_capacity;
} kh_hit_scratch;

/* The first `limit` distinct rows found for `query` (at most count of them)
 * that the filter does not exclude, into sc->hits[0 .. *count - 1] in hit
 * order; `found` receives the band runs (kh_find_runs), which
 * kh_row_score can use afterwards. Returns KNOWHERE_OK,
 * KNOWHERE_ERR_NO_MEMORY, or KNOWHERE_ERR_INTERRUPTED when the job stopped. */
int kh_first_hits(const kh_lsh_state *s, const uint8_t *query, const kh_filter *filter,
                  size_t limit, kh_candidate_scratch *found, kh_hit_scratch *sc,
                  size_t *count, kh_job *job);

/* Puts the scratch's memory in the bag (and zeroes it). */
void kh_hit_scratch_discard(kh_garbage *bag, kh_hit_scratch *sc);

#endif
