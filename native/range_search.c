/* Range search: every candidate of a query whose similarity reaches a
 * threshold, in knowhere's lims layout.
 *
 * Two parallel passes over the same tasks (blocks of consecutive queries).
 * The first finds each query's candidates (candidates.c, as search does),
 * keeps those at or above the threshold, orders them by score descending
 * then id ascending, and appends them to its worker's growing buffer,
 * recording the query's count in lims[q + 1] and where the block starts.
 * Then the counts become offsets, and the second pass copies each block to
 * its place in the result. Both passes poll the interrupt; on any error
 * everything is freed and no result is made. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "candidates.h"
#include "deferred_free.h"
#include "internal.h"
#include "minhash_lsh_internal.h"
#include "search_options.h"

struct knowhere_range_result {
    size_t nq, count;
    uint64_t *lims;   /* [nq + 1] */
    int64_t *ids;     /* [count], at least one element allocated */
    float *distances; /* [count], likewise */
};

typedef struct {
    kh_candidate_scratch found;
    uint32_t *slots; /* per score: where its next candidate goes */
    size_t slots_capacity;
    kh_candidate *out; /* this worker's results, block after block */
    size_t out_count, out_capacity;
} range_worker;

typedef struct {
    size_t worker, offset; /* where a task's results are */
} range_block;

typedef struct {
    const kh_lsh_state *state;
    const uint8_t *queries;
    size_t nq, queries_per_task;
    const kh_filter *filter;
    uint32_t min_score; /* the smallest score whose similarity >= threshold */
    range_worker *workers;
    range_block *blocks; /* [tasks] */
    uint64_t *lims;      /* pass 1: lims[q + 1] = results of q; then offsets */
    int64_t *ids;        /* pass 2 */
    float *distances;
} range_work;

static size_t task_begin(const range_work *w, size_t task) {
    size_t begin, end;
    kh_task_items(task, w->queries_per_task, w->nq, &begin, &end);
    return begin;
}

static size_t task_end(const range_work *w, size_t task) {
    size_t begin, end;
    kh_task_items(task, w->queries_per_task, w->nq, &begin, &end);
    return end;
}

/* Orders c[0..n-1] (ascending ids) by score descending, id ascending, into
 * out: a stable insertion sort in place for few, a counting sort on the
 * score (scores lie in min_score..max_score) for many. */
static void order_by_score(kh_candidate *c, size_t n, size_t min_score, size_t max_score,
                           uint32_t *slots, kh_candidate *out) {
    if (n <= 48) {
        for (size_t i = 1; i < n; ++i) {
            kh_candidate x = c[i];
            size_t j = i;
            for (; j > 0 && c[j - 1].score < x.score; --j) c[j] = c[j - 1];
            c[j] = x;
        }
        memcpy(out, c, n * sizeof *c);
        return;
    }
    size_t span = max_score - min_score + 1; /* slot 0: max_score */
    memset(slots, 0, (span + 1) * sizeof *slots);
    for (size_t i = 0; i < n; ++i) slots[max_score - c[i].score + 1]++;
    for (size_t r = 0; r < span; ++r) slots[r + 1] += slots[r];
    for (size_t i = 0; i < n; ++i) out[slots[max_score - c[i].score]++] = c[i];
}

static int range_one(const range_work *w, size_t q, range_worker *wk, kh_job *job) {
    const kh_lsh_state *s = w->state;
    size_t n = 0;
    int status = kh_find_candidates(s, w->queries + q * s->signature_bytes, w->filter, 0,
                                    &wk->found, &n, job);
    if (status != KNOWHERE_OK) return status;
    kh_candidate *c = wk->found.candidates;
    size_t kept = 0;
    for (size_t i = 0; i < n; ++i)
        if (c[i].score >= w->min_score) c[kept++] = c[i];
    w->lims[q + 1] = kept;
    if (kept == 0) return KNOWHERE_OK;
    size_t max_score = kh_max_score(s);
    if (!KH_RESERVE(wk, slots, slots_capacity, max_score + 2) ||
        wk->out_count > SIZE_MAX - kept ||
        !KH_RESERVE(wk, out, out_capacity, wk->out_count + kept))
        return KNOWHERE_ERR_NO_MEMORY;
    order_by_score(c, kept, w->min_score, max_score, wk->slots, wk->out + wk->out_count);
    wk->out_count += kept;
    return KNOWHERE_OK;
}

static int find_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    range_work *w = ctx;
    range_worker *wk = &w->workers[worker];
    w->blocks[task] = (range_block){worker, wk->out_count};
    size_t begin = task_begin(w, task), end = task_end(w, task);
    for (size_t q = begin; q < end; ++q) {
        if (kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        int status = range_one(w, q, wk, job);
        if (status != KNOWHERE_OK) return status;
    }
    kh_job_advance(job, end - begin);
    return KNOWHERE_OK;
}

static int copy_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    (void)worker;
    range_work *w = ctx;
    size_t begin = task_begin(w, task), end = task_end(w, task);
    size_t at = (size_t)w->lims[begin], count = (size_t)w->lims[end] - at;
    if (count == 0) return KNOWHERE_OK;
    const kh_candidate *src = w->workers[w->blocks[task].worker].out + w->blocks[task].offset;
    for (size_t i = 0; i < count; ++i) {
        if ((i & 0xffff) == 0xffff && kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        w->ids[at + i] = src[i].id;
        w->distances[at + i] = kh_similarity(w->state, src[i].score);
    }
    return KNOWHERE_OK;
}

static void release_workers(range_worker *workers, size_t threads, kh_garbage *bag) {
    if (workers == NULL) return;
    for (size_t t = 0; t < threads; ++t) {
        kh_candidate_scratch_discard(bag, &workers[t].found);
        kh_garbage_add(bag, workers[t].slots, 0);
        kh_garbage_add(bag, workers[t].out, workers[t].out_capacity * sizeof(kh_candidate));
    }
    kh_garbage_add(bag, workers, 0);
}

static void discard_result(kh_garbage *bag, knowhere_range_result *r) {
    if (r == NULL) return;
    kh_garbage_add(bag, r->lims, (r->nq + 1) * sizeof *r->lims);
    kh_garbage_add(bag, r->ids, r->count * sizeof *r->ids);
    kh_garbage_add(bag, r->distances, r->count * sizeof *r->distances);
    kh_garbage_add(bag, r, 0);
}

/* A result of nq queries with room for `count` results (lims zeroed). */
static knowhere_range_result *new_result(size_t nq, size_t count) {
    knowhere_range_result *r = calloc(1, sizeof *r);
    if (r == NULL) return NULL;
    r->nq = nq;
    r->count = count;
    r->lims = calloc(nq + 1, sizeof *r->lims);
    if (count <= SIZE_MAX / sizeof(int64_t)) {
        r->ids = malloc((count ? count : 1) * sizeof *r->ids);
        r->distances = malloc((count ? count : 1) * sizeof *r->distances);
    }
    if (r->lims == NULL || r->ids == NULL || r->distances == NULL) {
        kh_garbage *bag = kh_garbage_new();
        discard_result(bag, r);
        kh_garbage_release(bag);
        return NULL;
    }
    return r;
}

/* Runs both passes on a built index; *out receives the result. */
static int run_range(range_work *w, size_t threads,
                     CInterrupt interrupt, knowhere_range_result **out) {
    size_t tasks = kh_task_count(w->nq, w->queries_per_task);
    knowhere_range_result *r = NULL;
    kh_garbage *bag = kh_garbage_new();
    w->workers = calloc(threads, sizeof *w->workers);
    w->blocks = calloc(tasks, sizeof *w->blocks);
    w->lims = calloc(w->nq + 1, sizeof *w->lims);
    int status = w->workers && w->blocks && w->lims ? KNOWHERE_OK : KNOWHERE_ERR_NO_MEMORY;
    if (status == KNOWHERE_OK) {
        /* Batches report progress; a single query is too short to. */
        kh_progress progress;
        if (w->nq > 1) kh_progress_begin(&progress, interrupt, KNOWHERE_PHASE_SEARCH, w->nq);
        status = kh_run_parallel(threads, tasks, find_task, w, interrupt,
                                 w->nq > 1 ? &progress : NULL);
        if (status == KNOWHERE_OK) {
            for (size_t q = 0; q < w->nq; ++q) w->lims[q + 1] += w->lims[q];
            r = new_result(w->nq, (size_t)w->lims[w->nq]);
            if (r == NULL) status = KNOWHERE_ERR_NO_MEMORY;
        }
        if (status == KNOWHERE_OK) {
            memcpy(r->lims, w->lims, (w->nq + 1) * sizeof *r->lims);
            w->ids = r->ids;
            w->distances = r->distances;
            status = kh_run_parallel(threads, tasks, copy_task, w, interrupt, NULL);
        }
        if (w->nq > 1) kh_progress_end(&progress, status);
    }
    release_workers(w->workers, threads, bag);
    kh_garbage_add(bag, w->blocks, 0);
    kh_garbage_add(bag, w->lims, (w->nq + 1) * sizeof *w->lims);
    if (status != KNOWHERE_OK) discard_result(bag, r);
    else *out = r;
    kh_garbage_release(bag);
    return status;
}

/* Range search ranks every candidate: hits mode and refine_k do not apply. */
static int resolve_range_options(const knowhere_search_options *options, const uint8_t *bitset,
                                 size_t bitset_bits, kh_search_params *p, knowhere_error **err) {
    int status = kh_search_params_resolve(options, bitset, bitset_bits, p, err);
    if (status == KNOWHERE_OK && kh_search_uses_hits(p))
        status = kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                           "range search takes neither KNOWHERE_SEARCH_HITS nor refine_k");
    return status;
}

int knowhere_minhash_lsh_range_search_with_options(
    const knowhere_minhash_lsh *const_index, const uint8_t *queries, size_t queries_len,
    size_t nq, float threshold, const uint8_t *bitset, size_t bitset_bits,
    const knowhere_search_options *options, knowhere_range_result **result,
    CInterrupt interrupt, knowhere_error **err) {
    kh_clear_error(err);
    if (result) *result = NULL;
    kh_search_params params;
    int status = resolve_range_options(options, bitset, bitset_bits, &params, err);
    if (status != KNOWHERE_OK) return status;
    if (const_index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    if (queries == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "query is NULL");
    if (result == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "result is NULL");
    if (nq == 0) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "nq must be at least 1");
    if (!(threshold >= 0.0f && threshold <= 1.0f))
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "threshold %g is not in 0..1",
                         (double)threshold);
    if (nq >= SIZE_MAX / sizeof(uint64_t))
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "nq %zu: the lims array overflows",
                         nq);
    status = knowhere_interrupt_check(interrupt, NULL, NULL);
    if (status != KNOWHERE_OK)
        return kh_stopped_error(err, status, "range search", "");
    /* The guard counters are the only thing a search writes in the index. */
    knowhere_minhash_lsh *index = (knowhere_minhash_lsh *)const_index;
    const kh_lsh_state *s = NULL;
    status = kh_minhash_lsh_enter_reader(index, &s, err);
    if (status != KNOWHERE_OK) return status;

    if (s == NULL) {
        *result = new_result(nq, 0); /* never built: every query has no result */
        if (*result == NULL)
            status = kh_errorf(err, KNOWHERE_ERR_NO_MEMORY, "out of memory in range search");
    } else if (nq > SIZE_MAX / s->signature_bytes || queries_len != nq * s->signature_bytes) {
        status = kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                           "query length %zu is not %zu queries * the signature size %zu",
                           queries_len, nq, s->signature_bytes);
    } else {
        size_t threads = params.threads ? params.threads : kh_minhash_lsh_threads(index);
        if (threads > nq) threads = nq;
        range_work w = {
            .state = s, .queries = queries, .nq = nq,
            .queries_per_task = kh_items_per_task(nq, threads, 8, 64),
            .filter = &params.filter,
            .min_score = kh_min_score(s, threshold),
        };
        status = run_range(&w, threads, interrupt, result);
        if (status == KNOWHERE_ERR_INTERRUPTED || status == KNOWHERE_ERR_TIMEOUT)
            kh_stopped_error(err, status, "range search", "");
        else if (status == KNOWHERE_ERR_NO_MEMORY)
            kh_errorf(err, status, "out of memory in range search");
        else if (status != KNOWHERE_OK)
            kh_errorf(err, status, "range search failed: %s", knowhere_status_string(status));
    }
    kh_minhash_lsh_leave_reader(index, s);
    return status;
}

int knowhere_minhash_lsh_range_search_with_interrupt(
    const knowhere_minhash_lsh *index, const uint8_t *queries, size_t queries_len, size_t nq,
    float threshold, const uint8_t *bitset, size_t bitset_bits, knowhere_range_result **result,
    CInterrupt interrupt, knowhere_error **err) {
    return knowhere_minhash_lsh_range_search_with_options(index, queries, queries_len, nq,
                                                          threshold, bitset, bitset_bits, NULL,
                                                          result, interrupt, err);
}

/* ---- the result object ----------------------------------------------------------- */

size_t knowhere_range_result_nq(const knowhere_range_result *result) {
    return result ? result->nq : 0;
}

const uint64_t *knowhere_range_result_lims(const knowhere_range_result *result) {
    return result ? result->lims : NULL;
}

const int64_t *knowhere_range_result_ids(const knowhere_range_result *result) {
    return result ? result->ids : NULL;
}

const float *knowhere_range_result_distances(const knowhere_range_result *result) {
    return result ? result->distances : NULL;
}

void knowhere_range_result_free(knowhere_range_result *result) {
    if (result == NULL) return;
    kh_garbage *bag = kh_garbage_new();
    discard_result(bag, result);
    kh_garbage_release(bag);
}
