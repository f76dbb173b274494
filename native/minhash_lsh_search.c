/* MinHash-LSH search: single and batch, ranked, filtered, cancellable.
 *
 * One query: find its scored candidates (candidates.c: hash its bands, look
 * each up in its band's table, gather the ids that share a band, skipping
 * filtered ones, sort them so equal ids are adjacent, score each distinct
 * id), then place the best k by a counting sort on the score (scores are
 * small integers: equal positions, or matching bands). Every step is linear
 * and polls the interrupt; the result row is written only at the end, so an
 * interrupted row is left untouched. */
#include <stdlib.h>
#include <string.h>

#include "candidates.h"
#include "deferred_free.h"
#include "internal.h"
#include "minhash_lsh_internal.h"
#include "search_hits.h"
#include "search_options.h"

typedef kh_candidate candidate;

typedef struct {
    kh_candidate_scratch found;
    uint32_t *slots; /* per score: where its next candidate goes */
    size_t slots_capacity;
    kh_hit_scratch hits; /* hits mode and refine_k */
} search_scratch;

typedef struct {
    const kh_lsh_state *state;
    const uint8_t *queries;
    size_t nq, k, queries_per_task;
    const kh_search_params *params;
    int64_t *ids;
    float *distances;
    search_scratch *scratch; /* [threads] */
} search_work;

/* ---- one query ----------------------------------------------------------------- */

/* Counting sort on the score of n candidates in id order, keeping the
 * first k places. `slots` has room for max_score + 2 counters. */
static void place_by_counting(const kh_lsh_state *s, const candidate *c, size_t n,
                              size_t max_score, uint32_t *slots, size_t k, int64_t *ids,
                              float *distances) {
    memset(slots, 0, (max_score + 2) * sizeof *slots);
    for (size_t i = 0; i < n; ++i) slots[max_score - c[i].score + 1]++;
    for (size_t r = 0; r <= max_score; ++r) slots[r + 1] += slots[r];
    for (size_t i = 0; i < n; ++i) {
        size_t slot = slots[max_score - c[i].score]++;
        if (slot < k) {
            ids[slot] = c[i].id;
            distances[slot] = kh_similarity(s, c[i].score);
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
    size_t max_score = kh_max_score(s);
    if (n <= FEW_CANDIDATES) {
        sort_few_by_score(c, n);
        for (size_t slot = 0; slot < n && slot < k; ++slot) {
            ids[slot] = c[slot].id;
            distances[slot] = kh_similarity(s, c[slot].score);
        }
    } else {
        place_by_counting(s, c, n, max_score, slots, k, ids, distances);
    }
    for (size_t slot = n; slot < k; ++slot) {
        ids[slot] = -1;
        distances[slot] = 0.0f;
    }
}

/* Hits mode: the first k hits, distance 1. */
static void write_hit_flags(const uint32_t *hits, size_t n, size_t k, int64_t *ids,
                            float *distances) {
    for (size_t slot = 0; slot < k; ++slot) {
        ids[slot] = slot < n ? (int64_t)hits[slot] : -1;
        distances[slot] = slot < n ? 1.0f : 0.0f;
    }
}

/* refine_k: scores the n hits (sorted by id first, so that ties stay in id
 * order) into the candidates write_row ranks. */
static int score_hits(const kh_lsh_state *s, const uint8_t *query, search_scratch *sc,
                      size_t n, kh_job *job) {
    uint32_t *hits = NULL;
    if (!KH_RESERVE(&sc->found, candidates, candidates_capacity, n) ||
        !KH_RESERVE(&sc->hits, spare, spare_capacity, n))
        return KNOWHERE_ERR_NO_MEMORY;
    int status = kh_sort_ids(sc->hits.hits, sc->hits.spare, n, &hits, job);
    if (status != KNOWHERE_OK) return status;
    const uint8_t *raw_query = kh_raw_query(s, query, &sc->found);
    if (raw_query == NULL) return KNOWHERE_ERR_NO_MEMORY;
    for (size_t i = 0; i < n; ++i) {
        if ((i & 63) == 63 && kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        sc->found.candidates[i] =
            (candidate){hits[i], kh_row_score(s, query, raw_query, sc->found.runs, hits[i])};
    }
    return KNOWHERE_OK;
}

static int search_one(const search_work *w, size_t q, search_scratch *sc, kh_job *job) {
    const kh_lsh_state *s = w->state;
    const kh_search_params *p = w->params;
    const uint8_t *query = w->queries + q * s->signature_bytes;
    int64_t *ids = w->ids + q * w->k;
    float *distances = w->distances + q * w->k;
    size_t n = 0;
    int status;
    if (kh_search_uses_hits(p)) {
        bool flags = p->mode == KNOWHERE_SEARCH_HITS;
        size_t limit = flags || p->refine_k < w->k ? w->k : p->refine_k;
        status = kh_first_hits(s, query, &p->filter, limit, &sc->found, &sc->hits, &n, job);
        if (status == KNOWHERE_OK && flags) {
            write_hit_flags(sc->hits.hits, n, w->k, ids, distances);
            return KNOWHERE_OK;
        }
        if (status == KNOWHERE_OK) status = score_hits(s, query, sc, n, job);
    } else {
        status = kh_find_candidates(s, query, &p->filter, 0, &sc->found, &n, job);
    }
    size_t max_score = kh_max_score(s);
    if (status == KNOWHERE_OK && !KH_RESERVE(sc, slots, slots_capacity, max_score + 2))
        status = KNOWHERE_ERR_NO_MEMORY;
    if (status != KNOWHERE_OK) return status;
    write_row(s, sc->found.candidates, n, sc->slots, w->k, ids, distances);
    return KNOWHERE_OK;
}

/* ---- batches, threads, the public API ------------------------------------------- */

static int search_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    search_work *w = ctx;
    size_t begin, end;
    kh_task_items(task, w->queries_per_task, w->nq, &begin, &end);
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
        kh_candidate_scratch_discard(bag, &sc->found);
        kh_hit_scratch_discard(bag, &sc->hits);
        kh_garbage_add(bag, sc->slots, sc->slots_capacity * sizeof *sc->slots);
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

/* Shared by single (threads = 1) and batch search (threads = 0: the
 * options' or the index's count). */
static int run_search(const knowhere_minhash_lsh *const_index, const uint8_t *queries,
                      size_t queries_len, size_t nq, size_t k, const uint8_t *bitset,
                      size_t bitset_bits, const knowhere_search_options *options,
                      int64_t *ids, float *distances, size_t threads, const char *what,
                      CInterrupt interrupt, knowhere_error **err) {
    kh_clear_error(err);
    int status = check_search_args(const_index, queries, nq, k, ids, distances, err);
    kh_search_params params;
    if (status == KNOWHERE_OK)
        status = kh_search_params_resolve(options, bitset, bitset_bits, &params, err);
    if (status != KNOWHERE_OK) return status;
    if (threads == 0)
        threads = params.threads ? params.threads : kh_minhash_lsh_threads(const_index);
    status = knowhere_interrupt_check(interrupt, NULL, NULL);
    if (status != KNOWHERE_OK) return kh_stopped_error(err, status, what, "");
    /* The guard counters are the only thing a search writes in the index. */
    knowhere_minhash_lsh *index = (knowhere_minhash_lsh *)const_index;
    const kh_lsh_state *s = NULL;
    status = kh_minhash_lsh_enter_reader(index, &s, err);
    if (status != KNOWHERE_OK) return status;

    if (s == NULL) {
        fill_empty(ids, distances, nq * k);
    } else if (nq > SIZE_MAX / s->signature_bytes ||
               queries_len != nq * s->signature_bytes) {
        status = kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                           "query length %zu is not %zu queries * the signature size %zu",
                           queries_len, nq, s->signature_bytes);
    } else {
        if (threads > nq) threads = nq;
        search_work w = {
            .state = s, .queries = queries, .nq = nq, .k = k,
            .queries_per_task = kh_items_per_task(nq, threads, 8, 64),
            .params = &params, .ids = ids, .distances = distances,
            .scratch = calloc(threads, sizeof(search_scratch)),
        };
        if (w.scratch == NULL) {
            status = kh_errorf(err, KNOWHERE_ERR_NO_MEMORY, "out of memory in %s", what);
        } else {
            size_t tasks = kh_task_count(nq, w.queries_per_task);
            /* Batches report progress; a single search is too short to. */
            kh_progress progress;
            if (nq > 1) kh_progress_begin(&progress, interrupt, KNOWHERE_PHASE_SEARCH, nq);
            status = kh_run_parallel(threads, tasks, search_task, &w, interrupt,
                                     nq > 1 ? &progress : NULL);
            if (nq > 1) kh_progress_end(&progress, status);
            release_scratch(w.scratch, threads);
            if (status == KNOWHERE_ERR_INTERRUPTED || status == KNOWHERE_ERR_TIMEOUT)
                kh_stopped_error(err, status, what, "");
            else if (status != KNOWHERE_OK)
                kh_errorf(err, status, "%s failed: %s", what, knowhere_status_string(status));
        }
    }
    kh_minhash_lsh_leave_reader(index, s);
    return status;
}

int knowhere_minhash_lsh_search_with_interrupt(
    const knowhere_minhash_lsh *index, const uint8_t *query, size_t query_len, size_t k,
    const uint8_t *bitset, size_t bitset_bits, int64_t *ids, float *distances,
    CInterrupt interrupt, knowhere_error **err) {
    return run_search(index, query, query_len, 1, k, bitset, bitset_bits, NULL, ids, distances,
                      1, "search", interrupt, err);
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
    return run_search(index, queries, queries_len, nq, k, bitset, bitset_bits, NULL, ids,
                      distances, 0, "batch search", interrupt, err);
}

int knowhere_minhash_lsh_batch_search(const knowhere_minhash_lsh *index,
                                      const uint8_t *queries, size_t queries_len,
                                      size_t nq, size_t k, const uint8_t *bitset,
                                      size_t bitset_bits, int64_t *ids, float *distances,
                                      knowhere_error **err) {
    return knowhere_minhash_lsh_batch_search_with_interrupt(
        index, queries, queries_len, nq, k, bitset, bitset_bits, ids, distances, NULL, err);
}

int knowhere_minhash_lsh_search_with_options(
    const knowhere_minhash_lsh *index, const uint8_t *query, size_t query_len, size_t k,
    const uint8_t *bitset, size_t bitset_bits, const knowhere_search_options *options,
    int64_t *ids, float *distances, CInterrupt interrupt, knowhere_error **err) {
    return run_search(index, query, query_len, 1, k, bitset, bitset_bits, options, ids,
                      distances, 1, "search", interrupt, err);
}

int knowhere_minhash_lsh_batch_search_with_options(
    const knowhere_minhash_lsh *index, const uint8_t *queries, size_t queries_len, size_t nq,
    size_t k, const uint8_t *bitset, size_t bitset_bits, const knowhere_search_options *options,
    int64_t *ids, float *distances, CInterrupt interrupt, knowhere_error **err) {
    return run_search(index, queries, queries_len, nq, k, bitset, bitset_bits, options, ids,
                      distances, 0, "batch search", interrupt, err);
}
