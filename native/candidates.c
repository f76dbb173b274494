/* Candidates of one query: hash its bands, look each up in its band's
 * table, gather the ids that share a band (skipping filtered ones), sort
 * them so equal ids are adjacent (the run length is the number of matching
 * bands), and score each distinct id. Shared by search, range search and
 * self-join. */
#include <stdlib.h>
#include <string.h>

#include "candidates.h"
#include "internal.h"
#include "xxh3.h"

bool kh_reserve(void **buffer, size_t *capacity, size_t needed, size_t element) {
    if (*capacity >= needed) return true;
    if (needed > SIZE_MAX / element) return false;
    size_t grown = *capacity <= SIZE_MAX / element / 2 && *capacity * 2 > needed
                       ? *capacity * 2
                       : needed;
    void *p = realloc(*buffer, grown * element);
    if (p == NULL) return false;
    *buffer = p;
    *capacity = grown;
    return true;
}

/* ids and ids_spare (the radix sort's second buffer) share one capacity. */
static bool reserve_ids(kh_candidate_scratch *sc, size_t needed) {
    if (sc->ids_capacity >= needed) return true;
    size_t capacity = sc->ids_capacity;
    if (!kh_reserve((void **)&sc->ids_spare, &capacity, needed, sizeof *sc->ids_spare))
        return false;
    return KH_RESERVE(sc, ids, ids_capacity, needed);
}

/* ---- scoring ---------------------------------------------------------------- */

#define COUNT_EQUAL_AS(type, a, b, n)                                          \
    do {                                                                       \
        for (size_t i_ = 0; i_ < (n); ++i_) {                                  \
            type x_, y_;                                                       \
            memcpy(&x_, (a) + i_ * sizeof(type), sizeof(type));                \
            memcpy(&y_, (b) + i_ * sizeof(type), sizeof(type));                \
            equal += x_ == y_;                                                 \
        }                                                                      \
    } while (0)

size_t kh_count_equal_values(const uint8_t *a, const uint8_t *b, size_t n, size_t element_size) {
    size_t equal = 0;
    switch (element_size) {
    case 1: COUNT_EQUAL_AS(uint8_t, a, b, n); break;
    case 2: COUNT_EQUAL_AS(uint16_t, a, b, n); break;
    case 4: COUNT_EQUAL_AS(uint32_t, a, b, n); break;
    case 8: COUNT_EQUAL_AS(uint64_t, a, b, n); break;
    default:
        for (size_t i = 0; i < n; ++i)
            equal += memcmp(a + i * element_size, b + i * element_size, element_size) == 0;
    }
    return equal;
}

/* Whether some band of `row` equals the query's byte for byte (both in
 * raw form): with full values this, not the band key, decides candidacy,
 * so no hash collision can make a candidate; with b-bit codes a band key
 * collision passes only when the band's r codes collide too (2^-(b r)). */
static bool shares_a_band(const kh_lsh_state *s, const uint8_t *query, const uint8_t *row) {
    size_t width = s->raw_band_bytes;
    for (size_t b = 0; b < s->bands; ++b)
        if (memcmp(query + b * width, row + b * width, width) == 0) return true;
    return false;
}

const uint8_t *kh_raw_query(const kh_lsh_state *s, const uint8_t *query,
                            kh_candidate_scratch *sc) {
    if (!kh_has_codes(s)) return query;
    if (!KH_RESERVE(sc, query_raw, query_raw_capacity, s->raw_row_bytes)) return NULL;
    kh_raw_store(s, query, 1, sc->query_raw);
    return sc->query_raw;
}

uint32_t kh_min_score(const kh_lsh_state *s, float threshold) {
    size_t lo = 0, hi = kh_max_score(s) + 1;
    while (lo < hi) { /* the similarity grows with the score */
        size_t mid = lo + (hi - lo) / 2;
        if (kh_similarity(s, (uint32_t)mid) >= threshold) hi = mid;
        else lo = mid + 1;
    }
    return (uint32_t)lo;
}

/* ---- one query ----------------------------------------------------------------- */

/* Looks up every band: its table's run of matching entries into sc->runs,
 * and the matches in its delta into sc->delta_ids. Bands are looked up in groups, each step done for the whole group
 * before the next (hash and prefetch the directory slots, read them and
 * prefetch the buckets, search the buckets), so that the cache misses of
 * different bands overlap instead of following one another. */
enum { LOOKUP_GROUP = 16 };

/* The ids in band b's delta whose key is `key`, appended to sc->delta_ids. */
static bool probe_delta(const kh_lsh_delta *d, uint64_t key, kh_candidate_scratch *sc) {
    size_t slot = kh_lsh_delta_home(d, key);
    uint32_t id;
    while (kh_lsh_delta_next(d, key, &slot, &id)) {
        if (!KH_RESERVE(sc, delta_ids, delta_ids_capacity, sc->delta_count + 1)) return false;
        sc->delta_ids[sc->delta_count++] = id;
    }
    return true;
}

static int find_runs(const kh_lsh_state *s, const uint8_t *query, kh_candidate_scratch *sc) {
    size_t *runs = sc->runs;
    bool deltas = kh_lsh_state_has_delta(s);
    sc->delta_count = 0;
    for (size_t first = 0; first < s->bands; first += LOOKUP_GROUP) {
        size_t count = s->bands - first < LOOKUP_GROUP ? s->bands - first : LOOKUP_GROUP;
        uint64_t keys[LOOKUP_GROUP];
        size_t lo[LOOKUP_GROUP], hi[LOOKUP_GROUP];
        kh_xxh3_64_strided(query + first * s->band_bytes, s->band_bytes, s->band_bytes, count, keys);
        for (size_t i = 0; i < count; ++i) {
            kh_lsh_table_prefetch_dir(&s->tables[first + i], keys[i]);
            if (deltas) kh_lsh_delta_prefetch(&s->deltas[first + i], keys[i]);
        }
        for (size_t i = 0; i < count; ++i)
            kh_lsh_table_bucket(&s->tables[first + i], keys[i], &lo[i], &hi[i]);
        for (size_t i = 0; i < count; ++i) {
            size_t b = first + i;
            kh_lsh_table_find_in(&s->tables[b], keys[i], lo[i], hi[i], &runs[2 * b],
                                 &runs[2 * b + 1]);
            if (deltas && s->deltas[b].count && !probe_delta(&s->deltas[b], keys[i], sc))
                return KNOWHERE_ERR_NO_MEMORY;
        }
    }
    return KNOWHERE_OK;
}

/* The first entry of entries[begin .. end - 1] (one run: ids ascending)
 * whose id is at least min_id. */
static size_t first_id_at_least(const kh_lsh_entry *entries, size_t begin, size_t end,
                                size_t min_id) {
    while (begin < end) {
        size_t mid = begin + (end - begin) / 2;
        if (entries[mid].id < min_id) begin = mid + 1;
        else end = mid;
    }
    return begin;
}

static int gather_ids(const kh_lsh_state *s, const size_t *runs, const uint32_t *delta_ids,
                      size_t delta_count, const kh_filter *filter, size_t min_id,
                      uint32_t *ids, size_t *count, kh_job *job) {
    size_t m = 0, polled = 0;
    for (size_t i = 0; i < delta_count; ++i) {
        uint32_t id = delta_ids[i];
        if (id >= min_id && !kh_filter_excludes(filter, id) && !kh_is_removed(s, id))
            ids[m++] = id;
    }
    for (size_t b = 0; b < s->bands; ++b) {
        const kh_lsh_entry *entries = s->tables[b].entries;
        size_t e = runs[2 * b], end = runs[2 * b + 1];
        if (min_id > 0) e = first_id_at_least(entries, e, end, min_id);
        for (; e < end; ++e) {
            if ((++polled & KH_STOP_POLL_MASK) == 0 && kh_job_should_stop(job))
                return KNOWHERE_ERR_INTERRUPTED;
            uint32_t id = entries[e].id;
            if (!kh_filter_excludes(filter, id) && !kh_is_removed(s, id)) ids[m++] = id;
        }
    }
    *count = m;
    return KNOWHERE_OK;
}

static void insertion_sort_ids(uint32_t *ids, size_t n) {
    for (size_t i = 1; i < n; ++i) {
        uint32_t x = ids[i];
        size_t j = i;
        for (; j > 0 && ids[j - 1] > x; --j) ids[j] = ids[j - 1];
        ids[j] = x;
    }
}

int kh_sort_ids(uint32_t *ids, uint32_t *spare, size_t n, uint32_t **sorted, kh_job *job) {
    *sorted = ids;
    if (n <= 32) {
        insertion_sort_ids(ids, n);
        return KNOWHERE_OK;
    }
    uint32_t *src = ids, *dst = spare;
    for (unsigned shift = 0; shift < 32; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; ++i) count[((src[i] >> shift) & 0xff) + 1]++;
        if (count[((src[0] >> shift) & 0xff) + 1] == n) continue;
        for (size_t d = 0; d < 256; ++d) count[d + 1] += count[d];
        for (size_t i = 0; i < n; ++i) {
            if ((i & KH_STOP_POLL_MASK) == 0 && kh_job_should_stop(job))
                return KNOWHERE_ERR_INTERRUPTED;
            dst[count[(src[i] >> shift) & 0xff]++] = src[i];
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    *sorted = src;
    return KNOWHERE_OK;
}

/* Turns sorted ids into scored candidates (one per distinct id). */
static int score_candidates(const kh_lsh_state *s, const uint8_t *query,
                            const uint32_t *ids, size_t n, kh_candidate *out,
                            size_t *count, kh_job *job) {
    size_t poll_every = s->raw ? (64u << 10) / s->raw_row_bytes + 1 : KH_STOP_POLL_MASK + 1;
    size_t u = 0, until_poll = poll_every;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && ids[j] == ids[i]) j++;
        if (--until_poll == 0) {
            if (kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
            until_poll = poll_every;
        }
        uint32_t id = ids[i], score = (uint32_t)(j - i); /* matching bands */
        if (s->raw) {
            const uint8_t *row = kh_raw_row(s, id);
            if (shares_a_band(s, query, row)) {
                score = (uint32_t)kh_count_equal_values(query, row, s->length,
                                                        s->raw_value_bytes);
                out[u++] = (kh_candidate){id, score};
            }
        } else {
            out[u++] = (kh_candidate){id, score};
        }
        i = j;
    }
    *count = u;
    return KNOWHERE_OK;
}

int kh_candidates_from_runs(const kh_lsh_state *s, const uint8_t *query,
                            const kh_filter *filter, size_t min_id, kh_candidate_scratch *sc,
                            size_t *count, kh_job *job) {
    *count = 0;
    size_t delta_count = kh_lsh_state_has_delta(s) ? sc->delta_count : 0;
    size_t matched = delta_count;
    for (size_t b = 0; b < s->bands; ++b) matched += sc->runs[2 * b + 1] - sc->runs[2 * b];
    if (!reserve_ids(sc, matched)) return KNOWHERE_ERR_NO_MEMORY;
    size_t n = 0;
    int status = gather_ids(s, sc->runs, sc->delta_ids, delta_count, filter, min_id, sc->ids,
                            &n, job);
    uint32_t *sorted = sc->ids;
    if (status == KNOWHERE_OK) status = kh_sort_ids(sc->ids, sc->ids_spare, n, &sorted, job);
    if (status == KNOWHERE_OK && !KH_RESERVE(sc, candidates, candidates_capacity, n))
        status = KNOWHERE_ERR_NO_MEMORY;
    if (status == KNOWHERE_OK)
        status = score_candidates(s, query, sorted, n, sc->candidates, count, job);
    return status;
}

int kh_find_runs(const kh_lsh_state *s, const uint8_t *query, kh_candidate_scratch *sc) {
    if (!KH_RESERVE(sc, runs, runs_capacity, 2 * s->bands)) return KNOWHERE_ERR_NO_MEMORY;
    return find_runs(s, query, sc);
}

int kh_find_candidates(const kh_lsh_state *s, const uint8_t *query, const kh_filter *filter,
                       size_t min_id, kh_candidate_scratch *sc, size_t *count, kh_job *job) {
    *count = 0;
    int status = kh_find_runs(s, query, sc);
    if (status != KNOWHERE_OK) return status;
    const uint8_t *raw_query = kh_raw_query(s, query, sc);
    if (raw_query == NULL) return KNOWHERE_ERR_NO_MEMORY;
    return kh_candidates_from_runs(s, raw_query, filter, min_id, sc, count, job);
}

uint32_t kh_row_score(const kh_lsh_state *s, const uint8_t *query, const uint8_t *raw_query,
                      const size_t *runs, uint32_t id) {
    if (s->raw)
        return (uint32_t)kh_count_equal_values(raw_query, kh_raw_row(s, id), s->length,
                                               s->raw_value_bytes);
    uint32_t bands = 0;
    for (size_t b = 0; b < s->bands; ++b) {
        if (id >= kh_lsh_table_rows(&s->tables[b])) { /* an added row, in the band's delta */
            const kh_lsh_delta *d = &s->deltas[b];
            bands += id - d->first_id < d->count &&
                     d->keys[id - d->first_id] == kh_band_key(s, query, b);
            continue;
        }
        size_t e = first_id_at_least(s->tables[b].entries, runs[2 * b], runs[2 * b + 1], id);
        bands += e < runs[2 * b + 1] && s->tables[b].entries[e].id == id;
    }
    return bands;
}

void kh_candidate_scratch_discard(kh_garbage *bag, kh_candidate_scratch *sc) {
    kh_garbage_add(bag, sc->ids, sc->ids_capacity * sizeof *sc->ids);
    kh_garbage_add(bag, sc->ids_spare, sc->ids_capacity * sizeof *sc->ids_spare);
    kh_garbage_add(bag, sc->candidates, sc->candidates_capacity * sizeof *sc->candidates);
    kh_garbage_add(bag, sc->runs, 0);
    kh_garbage_add(bag, sc->delta_ids, sc->delta_ids_capacity * sizeof *sc->delta_ids);
    kh_garbage_add(bag, sc->query_raw, sc->query_raw_capacity);
    memset(sc, 0, sizeof *sc);
}
