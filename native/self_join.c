/* Self-join: every pair (i < j) of indexed signatures that share a band and
 * whose similarity reaches a threshold, sorted by (i, j).
 *
 * Row i's partners are its candidates with ids above i, exactly as a search
 * for row i's signature would find and score them, so a pair's similarity
 * is what search reports for it:
 *
 *  - With raw data, row i's stored signature is the query (candidates.c,
 *    with the exact byte-equal band check), skipping ids <= i inside each
 *    band's run (runs list ids in ascending order).
 *  - With b-bit codes, the run walk below finds row i's partners (codes
 *    give no band keys), and its codes verify and score them as a search
 *    with its signature would.
 *  - Without raw data the signatures are gone, but the tables still hold
 *    what a search would use: row i's band key run in band b is the run of
 *    entries around row i's own entry (equal prefix and fingerprint). A
 *    first pass maps every (band, row) to the position of its entry
 *    (count * bands * 4 bytes, freed at the end); row i's partners in band b
 *    are then the entries after its own within its run, and a pair's score
 *    is the number of bands in which the two share a run, the number of
 *    matching bands a search reports.
 *
 * Work is split in blocks of consecutive rows handed out to the threads;
 * each worker appends its pairs to a growing buffer (doubling, so memory
 * grows geometrically with the output; a failed allocation is
 * KNOWHERE_ERR_NO_MEMORY), then the blocks are copied in row order into
 * the result. Every loop polls the interrupt. */
#include <stdlib.h>
#include <string.h>

#include "candidates.h"
#include "deferred_free.h"
#include "internal.h"
#include "minhash_lsh_internal.h"

struct knowhere_pairs {
    size_t count;
    int64_t *left, *right; /* [count], at least one element allocated */
    float *similarity;
};

typedef struct {
    uint32_t left, right, score;
} join_pair;

typedef struct {
    kh_candidate_scratch found;
    join_pair *out; /* this worker's pairs, block after block */
    size_t out_count, out_capacity;
} join_worker;

typedef struct {
    size_t worker, offset, count; /* where a block's pairs are */
    size_t dest;                  /* where they go in the result */
} join_block;

typedef struct {
    const kh_lsh_state *state;
    size_t n, rows_per_task;
    uint32_t min_score; /* the smallest score whose similarity >= threshold */
    uint32_t *positions; /* without raw data: [band * n + id] = its entry */
    join_worker *workers;
    join_block *blocks;  /* [tasks] */
    knowhere_pairs *result;
} join_work;

static size_t task_begin(const join_work *w, size_t task) {
    size_t begin, end;
    kh_task_items(task, w->rows_per_task, w->n, &begin, &end);
    return begin;
}

static size_t task_end(const join_work *w, size_t task) {
    size_t begin, end;
    kh_task_items(task, w->rows_per_task, w->n, &begin, &end);
    return end;
}

/* ---- without raw data: runs from the tables ------------------------------------- */

static int map_task(kh_job *job, size_t band, size_t worker, void *ctx) {
    (void)worker;
    join_work *w = ctx;
    const kh_lsh_entry *entries = w->state->tables[band].entries;
    uint32_t *positions = w->positions + band * w->n;
    for (size_t e = 0; e < w->n; ++e) {
        if ((e & 0xffff) == 0xffff && kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        positions[entries[e].id] = (uint32_t)e;
    }
    return KNOWHERE_OK;
}

/* The entries after entry e in its run (same prefix bucket, same
 * fingerprint): [e + 1, *end). */
static size_t run_end_after(const kh_lsh_state *s, size_t band, size_t e) {
    const kh_lsh_table *t = &s->tables[band];
    size_t lo = 0, hi = (size_t)1 << t->layout.prefix_bits;
    while (lo < hi) { /* the first bucket boundary beyond e */
        size_t mid = lo + (hi - lo) / 2;
        if (t->dir[mid] <= e) lo = mid + 1;
        else hi = mid;
    }
    uint32_t fingerprint = t->entries[e].fingerprint;
    hi = t->dir[lo];
    lo = e + 1;
    while (lo < hi) { /* the first entry with a larger fingerprint */
        size_t mid = lo + (hi - lo) / 2;
        if (t->entries[mid].fingerprint <= fingerprint) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* ---- the join ---------------------------------------------------------------------- */

static int join_row(const join_work *w, size_t i, join_worker *wk, kh_job *job) {
    const kh_lsh_state *s = w->state;
    if (kh_is_removed(s, i)) return KNOWHERE_OK; /* its candidates skip removed rows too */
    kh_candidate_scratch *sc = &wk->found;
    size_t n = 0;
    int status;
    if (kh_has_full_raw(s)) {
        status = kh_find_candidates(s, kh_raw_row(s, i), NULL, i + 1, sc, &n, job);
    } else { /* no raw data, or codes (which give no band keys): the runs */
        if (!KH_RESERVE(sc, runs, runs_capacity, 2 * s->bands)) return KNOWHERE_ERR_NO_MEMORY;
        for (size_t b = 0; b < s->bands; ++b) {
            size_t e = w->positions[b * w->n + i];
            sc->runs[2 * b] = e + 1;
            sc->runs[2 * b + 1] = run_end_after(s, b, e);
        }
        /* With codes, row i's codes verify and score its run mates. */
        const uint8_t *codes = s->raw ? kh_raw_row(s, i) : NULL;
        status = kh_candidates_from_runs(s, codes, NULL, 0, sc, &n, job);
    }
    if (status != KNOWHERE_OK) return status;
    const kh_candidate *c = sc->candidates;
    size_t kept = 0;
    for (size_t k = 0; k < n; ++k) kept += c[k].score >= w->min_score;
    if (kept == 0) return KNOWHERE_OK;
    if (wk->out_count > SIZE_MAX - kept || !KH_RESERVE(wk, out, out_capacity, wk->out_count + kept))
        return KNOWHERE_ERR_NO_MEMORY;
    join_pair *out = wk->out + wk->out_count;
    for (size_t k = 0; k < n; ++k) /* ascending ids: sorted by j */
        if (c[k].score >= w->min_score) *out++ = (join_pair){(uint32_t)i, c[k].id, c[k].score};
    wk->out_count += kept;
    return KNOWHERE_OK;
}

static int join_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    join_work *w = ctx;
    join_worker *wk = &w->workers[worker];
    size_t offset = wk->out_count, begin = task_begin(w, task), end = task_end(w, task);
    for (size_t i = begin; i < end; ++i) {
        if (kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        int status = join_row(w, i, wk, job);
        if (status != KNOWHERE_OK) return status;
    }
    w->blocks[task] = (join_block){worker, offset, wk->out_count - offset, 0};
    kh_job_advance(job, end - begin);
    return KNOWHERE_OK;
}

static int copy_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    (void)worker;
    join_work *w = ctx;
    const join_block *block = &w->blocks[task];
    if (block->count == 0) return KNOWHERE_OK;
    const join_pair *src = w->workers[block->worker].out + block->offset;
    knowhere_pairs *r = w->result;
    for (size_t k = 0; k < block->count; ++k) {
        if ((k & 0xffff) == 0xffff && kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        r->left[block->dest + k] = src[k].left;
        r->right[block->dest + k] = src[k].right;
        r->similarity[block->dest + k] = kh_similarity(w->state, src[k].score);
    }
    return KNOWHERE_OK;
}

static void discard_pairs(kh_garbage *bag, knowhere_pairs *p) {
    if (p == NULL) return;
    kh_garbage_add(bag, p->left, p->count * sizeof *p->left);
    kh_garbage_add(bag, p->right, p->count * sizeof *p->right);
    kh_garbage_add(bag, p->similarity, p->count * sizeof *p->similarity);
    kh_garbage_add(bag, p, 0);
}

static knowhere_pairs *new_pairs(size_t count) {
    knowhere_pairs *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    p->count = count;
    if (count <= SIZE_MAX / sizeof(int64_t)) {
        size_t room = count ? count : 1;
        p->left = malloc(room * sizeof *p->left);
        p->right = malloc(room * sizeof *p->right);
        p->similarity = malloc(room * sizeof *p->similarity);
    }
    if (p->left == NULL || p->right == NULL || p->similarity == NULL) {
        kh_garbage *bag = kh_garbage_new();
        discard_pairs(bag, p);
        kh_garbage_release(bag);
        return NULL;
    }
    return p;
}

static int run_join(join_work *w, size_t threads, CInterrupt interrupt, knowhere_pairs **out) {
    const kh_lsh_state *s = w->state;
    size_t tasks = kh_task_count(w->n, w->rows_per_task);
    kh_garbage *bag = kh_garbage_new();
    w->workers = calloc(threads, sizeof *w->workers);
    w->blocks = calloc(tasks, sizeof *w->blocks);
    int status = w->workers && w->blocks ? KNOWHERE_OK : KNOWHERE_ERR_NO_MEMORY;
    if (status == KNOWHERE_OK && !kh_has_full_raw(s)) {
        w->positions = s->bands <= SIZE_MAX / sizeof(uint32_t) / w->n
                           ? malloc(s->bands * w->n * sizeof(uint32_t))
                           : NULL;
        if (w->positions == NULL) status = KNOWHERE_ERR_NO_MEMORY;
    }
    kh_progress progress;
    kh_progress_begin(&progress, interrupt, KNOWHERE_PHASE_JOIN, w->n);
    if (status == KNOWHERE_OK && !kh_has_full_raw(s))
        status = kh_run_parallel(threads, s->bands, map_task, w, interrupt, NULL);
    if (status == KNOWHERE_OK)
        status = kh_run_parallel(threads, tasks, join_task, w, interrupt, &progress);
    if (status == KNOWHERE_OK) {
        size_t total = 0;
        for (size_t t = 0; t < tasks; ++t) {
            w->blocks[t].dest = total;
            total += w->blocks[t].count;
        }
        w->result = new_pairs(total);
        if (w->result == NULL) status = KNOWHERE_ERR_NO_MEMORY;
    }
    if (status == KNOWHERE_OK) status = kh_run_parallel(threads, tasks, copy_task, w, interrupt, NULL);
    kh_progress_end(&progress, status);

    if (w->workers)
        for (size_t t = 0; t < threads; ++t) {
            kh_candidate_scratch_discard(bag, &w->workers[t].found);
            kh_garbage_add(bag, w->workers[t].out, w->workers[t].out_capacity * sizeof(join_pair));
        }
    kh_garbage_add(bag, w->workers, 0);
    kh_garbage_add(bag, w->blocks, 0);
    kh_garbage_add(bag, w->positions, w->positions ? s->bands * w->n * sizeof(uint32_t) : 0);
    if (status == KNOWHERE_OK) *out = w->result;
    else discard_pairs(bag, w->result);
    kh_garbage_release(bag);
    return status;
}

int knowhere_minhash_lsh_self_join_with_interrupt(const knowhere_minhash_lsh *const_index,
                                                  float threshold, knowhere_pairs **pairs,
                                                  CInterrupt interrupt, knowhere_error **err) {
    kh_clear_error(err);
    if (pairs) *pairs = NULL;
    if (const_index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    if (pairs == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "pairs is NULL");
    if (!(threshold >= 0.0f && threshold <= 1.0f))
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "threshold %g is not in 0..1",
                         (double)threshold);
    int status = knowhere_interrupt_check(interrupt, NULL, NULL);
    if (status != KNOWHERE_OK)
        return kh_stopped_error(err, status, "self-join", "");
    /* The guard counters are the only thing a reader writes in the index. */
    knowhere_minhash_lsh *index = (knowhere_minhash_lsh *)const_index;
    const kh_lsh_state *s = NULL;
    status = kh_minhash_lsh_enter_reader(index, &s, err);
    if (status != KNOWHERE_OK) return status;

    if (s == NULL || s->count == 0) {
        *pairs = new_pairs(0); /* never built: no pairs */
        if (*pairs == NULL)
            status = kh_errorf(err, KNOWHERE_ERR_NO_MEMORY, "out of memory in self-join");
    } else {
        size_t threads = kh_minhash_lsh_threads(index);
        /* Without full raw data the join walks the tables, which must hold
         * every row: rows added since they were made are merged into a copy. */
        const kh_lsh_state *walked = s;
        status = kh_has_full_raw(s) ? KNOWHERE_OK
                                     : kh_lsh_flat_state(s, threads, interrupt, &walked);
        join_work w = {
            .state = walked, .n = s->count,
            .rows_per_task = kh_items_per_task(s->count, threads, 32, 1024),
            .min_score = kh_min_score(s, threshold),
        };
        if (status == KNOWHERE_OK) status = run_join(&w, threads, interrupt, pairs);
        kh_lsh_flat_state_free(s, walked);
        if (status == KNOWHERE_ERR_INTERRUPTED || status == KNOWHERE_ERR_TIMEOUT)
            kh_stopped_error(err, status, "self-join", "");
        else if (status == KNOWHERE_ERR_NO_MEMORY)
            kh_errorf(err, status, "out of memory in self-join");
        else if (status != KNOWHERE_OK)
            kh_errorf(err, status, "self-join failed: %s", knowhere_status_string(status));
    }
    kh_minhash_lsh_leave_reader(index, s);
    return status;
}

/* ---- the result object ----------------------------------------------------------- */

size_t knowhere_pairs_count(const knowhere_pairs *pairs) { return pairs ? pairs->count : 0; }

const int64_t *knowhere_pairs_left(const knowhere_pairs *pairs) {
    return pairs ? pairs->left : NULL;
}

const int64_t *knowhere_pairs_right(const knowhere_pairs *pairs) {
    return pairs ? pairs->right : NULL;
}

const float *knowhere_pairs_similarity(const knowhere_pairs *pairs) {
    return pairs ? pairs->similarity : NULL;
}

void knowhere_pairs_free(knowhere_pairs *pairs) {
    if (pairs == NULL) return;
    kh_garbage *bag = kh_garbage_new();
    discard_pairs(bag, pairs);
    kh_garbage_release(bag);
}
