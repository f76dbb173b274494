/* MinHash-LSH search: single and batch, ranked, filtered, cancellable.
 *
 * One query: hash its bands, look each up in its band's table, gather the
 * ids that share a band (skipping filtered ones), sort them so equal ids
 * are adjacent (the run length is the number of matching bands), score
 * each distinct id, then place the best k by a counting sort on the score
 * (scores are small integers: equal positions, or matching bands). Every
 * step is linear and polls the interrupt; the result row is written only at
 * the end, so an interrupted row is left untouched. */
#include <stdlib.h>
#include <string.h>

#include "deferred_free.h"
#include "internal.h"
#include "minhash_lsh_internal.h"

typedef struct {
    uint32_t id;
    uint32_t score;
} candidate;

typedef struct {
    uint32_t *ids, *ids_spare;
    size_t ids_capacity;
    candidate *candidates;
    size_t candidates_capacity;
    uint32_t *slots; /* per score: where its next candidate goes */
    size_t slots_capacity;
    size_t *runs;    /* per band: begin, end */
    size_t runs_capacity;
} search_scratch;

typedef struct {
    const kh_lsh_state *state;
    const uint8_t *queries;
    size_t nq, k, queries_per_task;
    const uint8_t *bitset;
    size_t bitset_bits;
    int64_t *ids;
    float *distances;
    search_scratch *scratch; /* [threads] */
} search_work;

static bool reserve(void **buffer, size_t *capacity, size_t needed, size_t element) {
    if (*capacity >= needed) return true;
    size_t grown = *capacity * 2 > needed ? *capacity * 2 : needed;
    void *p = realloc(*buffer, grown * element);
    if (p == NULL) return false;
    *buffer = p;
    *capacity = grown;
    return true;
}

#define RESERVE(scratch, field, cap, n)                                        \
    reserve((void **)&(scratch)->field, &(scratch)->cap, (n), sizeof *(scratch)->field)

/* ids and ids_spare (the radix sort's second buffer) share one capacity. */
static bool reserve_ids(search_scratch *sc, size_t needed) {
    if (sc->ids_capacity >= needed) return true;
    size_t capacity = sc->ids_capacity;
    if (!reserve((void **)&sc->ids_spare, &capacity, needed, sizeof *sc->ids_spare))
        return false;
    return RESERVE(sc, ids, ids_capacity, needed);
}

static bool excluded(const search_work *w, uint32_t id) {
    if (w->bitset == NULL) return false;
    return id >= w->bitset_bits || ((w->bitset[id >> 3] >> (id & 7)) & 1);
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

/* How many of the n values of `element_size` bytes are equal in a and b. */
static size_t count_equal_values(const uint8_t *a, const uint8_t *b, size_t n,
                                 size_t element_size) {
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

/* Whether some band of `row` equals the query's byte for byte: with raw
 * data this, not the band key, decides candidacy, so no hash collision can
 * make a candidate. */
static bool shares_a_band(const kh_lsh_state *s, const uint8_t *query, const uint8_t *row) {
    for (size_t b = 0; b < s->bands; ++b)
        if (memcmp(query + b * s->band_bytes, row + b * s->band_bytes, s->band_bytes) == 0)
            return true;
    return false;
}

/* ---- one query ----------------------------------------------------------------- */

/* Looks up every band; returns how many entries matched in all. */
static size_t find_runs(const kh_lsh_state *s, const uint8_t *query, size_t *runs) {
    size_t total = 0;
    for (size_t b = 0; b < s->bands; ++b) {
        kh_lsh_table_find(&s->tables[b], s->prefix_bits, kh_band_key(s, query, b),
                          &runs[2 * b], &runs[2 * b + 1]);
        total += runs[2 * b + 1] - runs[2 * b];
    }
    return total;
}

static int gather_ids(const search_work *w, const size_t *runs, uint32_t *ids,
                      size_t *count, kh_job *job) {
    const kh_lsh_state *s = w->state;
    size_t m = 0, polled = 0;
    for (size_t b = 0; b < s->bands; ++b) {
        const kh_lsh_entry *entries = s->tables[b].entries;
        for (size_t e = runs[2 * b]; e < runs[2 * b + 1]; ++e) {
            if ((++polled & KH_STOP_POLL_MASK) == 0 && kh_job_should_stop(job))
                return KNOWHERE_ERR_INTERRUPTED;
            uint32_t id = entries[e].id;
            if (!excluded(w, id)) ids[m++] = id;
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

/* Sorts ids[0..n-1] ascending (LSD radix, one byte a pass, skipping bytes
 * that are the same everywhere). *sorted is ids or spare, whichever holds
 * the result. */
static int sort_ids(uint32_t *ids, uint32_t *spare, size_t n, uint32_t **sorted,
                    kh_job *job) {
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
static int score_candidates(const search_work *w, const uint8_t *query,
                            const uint32_t *ids, size_t n, candidate *out,
                            size_t *count, kh_job *job) {
    const kh_lsh_state *s = w->state;
    size_t poll_every = s->raw ? (64u << 10) / s->signature_bytes + 1 : KH_STOP_POLL_MASK + 1;
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
                score = (uint32_t)count_equal_values(query, row, s->length, s->element_size);
                out[u++] = (candidate){id, score};
            }
        } else {
            out[u++] = (candidate){id, score};
        }
        i = j;
    }
    *count = u;
    return KNOWHERE_OK;
}

/* Counting sort on the score of n candidates in id order, keeping the
 * first k places. `slots` has room for max_score + 2 counters. */
static void place_by_counting(const candidate *c, size_t n, size_t max_score, float scale,
                              uint32_t *slots, size_t k, int64_t *ids, float *distances) {
    memset(slots, 0, (max_score + 2) * sizeof *slots);
    for (size_t i = 0; i < n; ++i) slots[max_score - c[i].score + 1]++;
    for (size_t r = 0; r <= max_score; ++r) slots[r + 1] += slots[r];
    for (size_t i = 0; i < n; ++i) {
        size_t slot = slots[max_score - c[i].score]++;
        if (slot < k) {
            ids[slot] = c[i].id;
            distances[slot] = (float)c[i].score * scale;
        }
    }
}

/* Few candidates (the common case): sorts them in place by score
 * descending; insertion sort is stable, so ids stay ascending among ties. */
static void sort_few_by_score(candidate *c, size_t n) {
    for (size_t i = 1; i < n; ++i) {
        candidate x = c[i];
        size_t j = i;
        for (; j > 0 && c[j - 1].score < x.score; --j) c[j] = c[j - 1];
        c[j] = x;
    }
}

enum { FEW_CANDIDATES = 48 };

/* Writes the best k of n candidates (in id order) into the result row:
 * score descending, id ascending, then empty slots. Many candidates go
 * through a counting sort on the score, which is linear. */
static void write_row(const kh_lsh_state *s, candidate *c, size_t n, uint32_t *slots,
                      size_t k, int64_t *ids, float *distances) {
    size_t max_score = s->raw ? s->length : s->bands;
    float scale = 1.0f / (float)max_score;
    if (n <= FEW_CANDIDATES) {
        sort_few_by_score(c, n);
        for (size_t slot = 0; slot < n && slot < k; ++slot) {
            ids[slot] = c[slot].id;
            distances[slot] = (float)c[slot].score * scale;
        }
    } else {
        place_by_counting(c, n, max_score, scale, slots, k, ids, distances);
    }
    for (size_t slot = n; slot < k; ++slot) {
        ids[slot] = -1;
        distances[slot] = 0.0f;
    }
}

static int search_one(const search_work *w, size_t q, search_scratch *sc, kh_job *job) {
    const kh_lsh_state *s = w->state;
    const uint8_t *query = w->queries + q * s->signature_bytes;
    if (!RESERVE(sc, runs, runs_capacity, 2 * s->bands)) return KNOWHERE_ERR_NO_MEMORY;
    size_t matched = find_runs(s, query, sc->runs);
    if (!reserve_ids(sc, matched)) return KNOWHERE_ERR_NO_MEMORY;

    size_t n = 0;
    int status = gather_ids(w, sc->runs, sc->ids, &n, job);
    uint32_t *sorted = sc->ids;
    if (status == KNOWHERE_OK) status = sort_ids(sc->ids, sc->ids_spare, n, &sorted, job);
    size_t distinct = 0;
    if (status == KNOWHERE_OK && !RESERVE(sc, candidates, candidates_capacity, n))
        status = KNOWHERE_ERR_NO_MEMORY;
    if (status == KNOWHERE_OK)
        status = score_candidates(w, query, sorted, n, sc->candidates, &distinct, job);
    size_t max_score = s->raw ? s->length : s->bands;
    if (status == KNOWHERE_OK && !RESERVE(sc, slots, slots_capacity, max_score + 2))
        status = KNOWHERE_ERR_NO_MEMORY;
    if (status != KNOWHERE_OK) return status;
    write_row(s, sc->candidates, distinct, sc->slots, w->k, w->ids + q * w->k,
              w->distances + q * w->k);
    return KNOWHERE_OK;
}

/* ---- batches, threads, the public API ------------------------------------------- */

static int search_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    search_work *w = ctx;
    size_t begin = task * w->queries_per_task;
    size_t end = begin + w->queries_per_task < w->nq ? begin + w->queries_per_task : w->nq;
    for (size_t q = begin; q < end; ++q) {
        if (kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        int status = search_one(w, q, &w->scratch[worker], job);
        if (status != KNOWHERE_OK) return status;
    }
    kh_job_advance(job, end - begin);
    return KNOWHERE_OK;
}

static void fill_empty(int64_t *ids, float *distances, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        ids[i] = -1;
        distances[i] = 0.0f;
    }
}

static void release_scratch(search_scratch *scratch, size_t threads) {
    kh_garbage *bag = kh_garbage_new();
    for (size_t t = 0; t < threads; ++t) {
        search_scratch *sc = &scratch[t];
        kh_garbage_add(bag, sc->ids, sc->ids_capacity * sizeof *sc->ids);
        kh_garbage_add(bag, sc->ids_spare, sc->ids_capacity * sizeof *sc->ids_spare);
        kh_garbage_add(bag, sc->candidates, sc->candidates_capacity * sizeof *sc->candidates);
        kh_garbage_add(bag, sc->slots, sc->slots_capacity * sizeof *sc->slots);
        kh_garbage_add(bag, sc->runs, 0);
    }
    kh_garbage_add(bag, scratch, 0);
    kh_garbage_release(bag);
}

static int check_search_args(const knowhere_minhash_lsh *index, const uint8_t *queries,
                             size_t nq, size_t k, const int64_t *ids,
                             const float *distances, knowhere_error **err) {
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    if (queries == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "query is NULL");
    if (nq == 0) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "nq must be at least 1");
    if (k == 0) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "k must be at least 1");
    if (ids == NULL || distances == NULL)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "ids or distances is NULL");
    if (nq > SIZE_MAX / sizeof(int64_t) / k)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "nq %zu * k %zu results overflow", nq, k);
    return KNOWHERE_OK;
}

/* Shared by single (threads = 1) and batch search. */
static int run_search(const knowhere_minhash_lsh *const_index, const uint8_t *queries,
                      size_t queries_len, size_t nq, size_t k, const uint8_t *bitset,
                      size_t bitset_bits, int64_t *ids, float *distances, size_t threads,
                      const char *what, CInterrupt interrupt, knowhere_error **err) {
    kh_clear_error(err);
    int status = check_search_args(const_index, queries, nq, k, ids, distances, err);
    if (status != KNOWHERE_OK) return status;
    status = knowhere_interrupt_check(interrupt, NULL, NULL);
    if (status != KNOWHERE_OK) return kh_errorf(err, status, "%s interrupted", what);
    /* The guard counters are the only thing a search writes in the index. */
    knowhere_minhash_lsh *index = (knowhere_minhash_lsh *)const_index;
    status = kh_minhash_lsh_enter_reader(index, err);
    if (status != KNOWHERE_OK) return status;

    const kh_lsh_state *s = index->state;
    if (s == NULL) {
        fill_empty(ids, distances, nq * k);
    } else if (nq > SIZE_MAX / s->signature_bytes ||
               queries_len != nq * s->signature_bytes) {
        status = kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                           "query length %zu is not %zu queries * the signature size %zu",
                           queries_len, nq, s->signature_bytes);
    } else {
        if (threads > nq) threads = nq;
        size_t per_task = nq / (threads * 8);
        search_work w = {
            .state = s, .queries = queries, .nq = nq, .k = k,
            .queries_per_task = per_task < 1 ? 1 : per_task > 64 ? 64 : per_task,
            .bitset = bitset, .bitset_bits = bitset_bits, .ids = ids, .distances = distances,
            .scratch = calloc(threads, sizeof(search_scratch)),
        };
        if (w.scratch == NULL) {
            status = kh_errorf(err, KNOWHERE_ERR_NO_MEMORY, "out of memory in %s", what);
        } else {
            size_t tasks = (nq + w.queries_per_task - 1) / w.queries_per_task;
            /* Batches report progress; a single search is too short to. */
            kh_progress progress;
            if (nq > 1) kh_progress_begin(&progress, interrupt, KNOWHERE_PHASE_SEARCH, nq);
            status = kh_run_parallel(threads, tasks, search_task, &w, interrupt,
                                     nq > 1 ? &progress : NULL);
            if (nq > 1) kh_progress_end(&progress, status);
            release_scratch(w.scratch, threads);
            if (status == KNOWHERE_ERR_INTERRUPTED || status == KNOWHERE_ERR_TIMEOUT)
                kh_errorf(err, status, "%s interrupted", what);
            else if (status != KNOWHERE_OK)
                kh_errorf(err, status, "%s failed: %s", what, knowhere_status_string(status));
        }
    }
    kh_minhash_lsh_leave_reader(index);
    return status;
}

int knowhere_minhash_lsh_search_with_interrupt(
    const knowhere_minhash_lsh *index, const uint8_t *query, size_t query_len, size_t k,
    const uint8_t *bitset, size_t bitset_bits, int64_t *ids, float *distances,
    CInterrupt interrupt, knowhere_error **err) {
    return run_search(index, query, query_len, 1, k, bitset, bitset_bits, ids, distances, 1,
                      "search", interrupt, err);
}

int knowhere_minhash_lsh_search(const knowhere_minhash_lsh *index, const uint8_t *query,
                                size_t query_len, size_t k, const uint8_t *bitset,
                                size_t bitset_bits, int64_t *ids, float *distances,
                                knowhere_error **err) {
    return knowhere_minhash_lsh_search_with_interrupt(index, query, query_len, k, bitset,
                                                      bitset_bits, ids, distances, NULL, err);
}

int knowhere_minhash_lsh_batch_search_with_interrupt(
    const knowhere_minhash_lsh *index, const uint8_t *queries, size_t queries_len,
    size_t nq, size_t k, const uint8_t *bitset, size_t bitset_bits, int64_t *ids,
    float *distances, CInterrupt interrupt, knowhere_error **err) {
    size_t threads = index ? kh_minhash_lsh_threads(index) : 1;
    return run_search(index, queries, queries_len, nq, k, bitset, bitset_bits, ids,
                      distances, threads, "batch search", interrupt, err);
}

int knowhere_minhash_lsh_batch_search(const knowhere_minhash_lsh *index,
                                      const uint8_t *queries, size_t queries_len,
                                      size_t nq, size_t k, const uint8_t *bitset,
                                      size_t bitset_bits, int64_t *ids, float *distances,
                                      knowhere_error **err) {
    return knowhere_minhash_lsh_batch_search_with_interrupt(
        index, queries, queries_len, nq, k, bitset, bitset_bits, ids, distances, NULL, err);
}
