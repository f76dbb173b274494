/* The first candidates of a query in hit order: band by band, each band's
 * matching rows by ascending id (as its table keeps them, then its delta,
 * whose rows were added later), each row once.
 *
 * A row is remembered in a small open-addressing set that grows with the
 * hits (so a large limit costs nothing until it is reached) and is emptied
 * after the query, when it holds few hits, by removing them in reverse order
 * of insertion: when a row is removed, the rows inserted before it, which
 * are all that its probe sequence can pass over, are still there. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "search_hits.h"

#define NO_HIT UINT32_MAX /* ids are below KH_MAX_SIGNATURES */

static size_t slot_of(uint32_t id, size_t mask) {
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    return (size_t)(h ^ (h >> 32)) & mask;
}

/* The slot holding id, or the empty slot where it would go. */
static size_t probe(const kh_hit_scratch *sc, uint32_t id) {
    size_t mask = sc->seen_capacity - 1, i = slot_of(id, mask);
    while (sc->seen[i] != id && sc->seen[i] != NO_HIT) i = (i + 1) & mask;
    return i;
}

/* Makes room for one more id beside the n in sc->hits: the set stays at
 * most half full. False when memory cannot be had. */
static bool reserve_one_more(kh_hit_scratch *sc, size_t n) {
    if (!KH_RESERVE(sc, hits, hits_capacity, n + 1)) return false;
    if ((n + 1) * 2 <= sc->seen_capacity) return true;
    size_t capacity = sc->seen_capacity ? sc->seen_capacity * 2 : 64;
    if (capacity > SIZE_MAX / sizeof *sc->seen) return false;
    uint32_t *seen = malloc(capacity * sizeof *seen);
    if (seen == NULL) return false;
    free(sc->seen);
    sc->seen = seen;
    sc->seen_capacity = capacity;
    memset(seen, 0xff, capacity * sizeof *seen);
    for (size_t i = 0; i < n; ++i) seen[probe(sc, sc->hits[i])] = sc->hits[i];
    return true;
}

/* Many hits: clearing the whole set is faster than finding each. */
static void forget_hits(kh_hit_scratch *sc, size_t n) {
    if (n >= sc->seen_capacity / 8) {
        memset(sc->seen, 0xff, sc->seen_capacity * sizeof *sc->seen);
        return;
    }
    while (n > 0) sc->seen[probe(sc, sc->hits[--n])] = NO_HIT;
}

/* With raw data a row matches in band b only when that band equals the
 * query's byte for byte (`raw_query`: in the raw form, kh_raw_query): a
 * band-key collision never makes a hit (with codes, only when the band's
 * codes collide too). */
static bool band_matches(const kh_lsh_state *s, const uint8_t *raw_query, uint32_t id,
                         size_t b) {
    if (s->raw == NULL) return true;
    size_t at = b * s->raw_band_bytes;
    return memcmp(raw_query + at, kh_raw_row(s, id) + at, s->raw_band_bytes) == 0;
}

/* Row `id`, found in band b, becomes the next hit unless it is removed,
 * a hit already, filtered, or (with raw data) unequal in that band. */
static int consider(const kh_lsh_state *s, const uint8_t *raw_query, const kh_filter *filter,
                    size_t b, uint32_t id, kh_hit_scratch *sc, size_t *n) {
    if (kh_is_removed(s, id)) return KNOWHERE_OK;
    if (sc->seen_capacity > 0 && sc->seen[probe(sc, id)] == id) return KNOWHERE_OK;
    if (kh_filter_excludes(filter, id) || !band_matches(s, raw_query, id, b)) return KNOWHERE_OK;
    if (!reserve_one_more(sc, *n)) return KNOWHERE_ERR_NO_MEMORY;
    sc->seen[probe(sc, id)] = id;
    sc->hits[(*n)++] = id;
    return KNOWHERE_OK;
}

/* Band b's hits: its table's run, then the rows added since (its delta,
 * which yields a key's rows latest first: they are gathered, then taken in
 * id order). */
static int band_hits(const kh_lsh_state *s, const uint8_t *query, const uint8_t *raw_query,
                     const kh_filter *filter,
                     size_t b, const size_t *runs, size_t limit, kh_hit_scratch *sc, size_t *n,
                     size_t *polled, kh_job *job) {
    int status = KNOWHERE_OK;
    const kh_lsh_entry *entries = s->tables[b].entries;
    for (size_t e = runs[2 * b]; e < runs[2 * b + 1] && *n < limit && !status; ++e) {
        if ((++*polled & KH_STOP_POLL_MASK) == 0 && kh_job_should_stop(job))
            return KNOWHERE_ERR_INTERRUPTED;
        status = consider(s, raw_query, filter, b, entries[e].id, sc, n);
    }
    const kh_lsh_delta *d = kh_lsh_band_delta(s, b);
    if (status || *n >= limit || d == NULL) return status;
    uint64_t key = kh_band_key(s, query, b);
    size_t slot = kh_lsh_delta_home(d, key), chained = 0;
    uint32_t id;
    while (kh_lsh_delta_next(d, key, &slot, &id)) {
        if ((++*polled & KH_STOP_POLL_MASK) == 0 && kh_job_should_stop(job))
            return KNOWHERE_ERR_INTERRUPTED;
        if (!KH_RESERVE(sc, chain, chain_capacity, chained + 1)) return KNOWHERE_ERR_NO_MEMORY;
        sc->chain[chained++] = id;
    }
    while (chained > 0 && *n < limit && !status) /* latest first: the lowest id is last */
        status = consider(s, raw_query, filter, b, sc->chain[--chained], sc, n);
    return status;
}

int kh_first_hits(const kh_lsh_state *s, const uint8_t *query, const kh_filter *filter,
                  size_t limit, kh_candidate_scratch *found, kh_hit_scratch *sc,
                  size_t *count, kh_job *job) {
    *count = 0;
    int status = kh_find_runs(s, query, found);
    if (status != KNOWHERE_OK) return status;
    const uint8_t *raw_query = kh_raw_query(s, query, found);
    if (raw_query == NULL) return KNOWHERE_ERR_NO_MEMORY;
    if (limit > s->count) limit = s->count;
    size_t n = 0, polled = 0;
    for (size_t b = 0; b < s->bands && n < limit && status == KNOWHERE_OK; ++b)
        status = band_hits(s, query, raw_query, filter, b, found->runs, limit, sc, &n, &polled,
                           job);
    if (sc->seen_capacity > 0) forget_hits(sc, n);
    if (status == KNOWHERE_OK) *count = n;
    return status;
}

void kh_hit_scratch_discard(kh_garbage *bag, kh_hit_scratch *sc) {
    kh_garbage_add(bag, sc->seen, sc->seen_capacity * sizeof *sc->seen);
    kh_garbage_add(bag, sc->hits, sc->hits_capacity * sizeof *sc->hits);
    kh_garbage_add(bag, sc->spare, sc->spare_capacity * sizeof *sc->spare);
    kh_garbage_add(bag, sc->chain, sc->chain_capacity * sizeof *sc->chain);
    memset(sc, 0, sizeof *sc);
}
