/* How many pairs a self-join would return, without making them
 * (knowhere_minhash_lsh_self_join_estimate_with_interrupt): so that a
 * caller can refuse a join whose output would not fit, before it runs.
 *
 * The candidate pairs counted once per band they share are the pairs of
 * each run: the sum over every band's runs of size * (size - 1) / 2, an
 * upper bound U of the join's pairs found by walking the tables. Each pair
 * of the join is exactly one of these counted at its first shared band
 * whose score reaches the threshold's. So the pairs are counted exactly by
 * visiting the U run pairs and keeping those (when U is at most
 * EXACT_LIMIT), or estimated as U times the fraction of SAMPLES run pairs,
 * drawn uniformly with a fixed seed, that are kept (a relative standard
 * error of about sqrt((1 - p) / (SAMPLES p)) for a kept fraction p: 1.6 %
 * when every pair shares all of 17 bands). */
#include <stdlib.h>

#include "candidates.h"
#include "internal.h"
#include "lsh_runs.h"
#include "minhash_lsh_internal.h"
#include "parallel.h"

#define EXACT_LIMIT ((uint64_t)1 << 22)
#define SAMPLES 65536u

typedef struct {
    const kh_lsh_state *s;
    kh_run_map map; /* without raw data */
    uint32_t min_score;
    uint64_t *band_pairs; /* [bands]: sum of size * (size - 1) / 2 */
    uint64_t state;       /* the sampler's generator */
    size_t work, next_poll;
} estimate_work;

static uint64_t saturating_add(uint64_t a, uint64_t b) {
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* size * (size - 1) / 2 (size >= 1), halving the even factor first. */
static uint64_t run_pairs(uint64_t size) {
    uint64_t a = size, b = size - 1;
    if (a % 2 == 0) a /= 2;
    else b /= 2;
    return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static int count_band(kh_job *job, size_t band, size_t worker, void *ctx) {
    (void)worker;
    estimate_work *w = ctx;
    kh_run_walk walk;
    kh_run_walk_init(&walk, &w->s->tables[band]);
    size_t begin, end, polled = 0;
    uint64_t sum = 0;
    while (kh_run_walk_next(&walk, &begin, &end)) {
        sum = saturating_add(sum, run_pairs(end - begin));
        polled += end - begin;
        if (polled > 65536) {
            polled = 0;
            if (kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        }
    }
    w->band_pairs[band] = sum;
    return KNOWHERE_OK;
}

/* Whether run pair (a, b) of band `band` is a pair of the join, counted
 * here: they share that band, no earlier one, and their score reaches the
 * threshold's. */
static bool counted(const estimate_work *w, uint32_t a, uint32_t b, size_t band) {
    const kh_lsh_state *s = w->s;
    if (kh_is_removed(s, a) || kh_is_removed(s, b)) return false;
    if (!kh_rows_share_band(s, &w->map, a, b, band)) return false;
    for (size_t earlier = 0; earlier < band; ++earlier)
        if (kh_rows_share_band(s, &w->map, a, b, earlier)) return false;
    return kh_rows_score(s, &w->map, a, b) >= w->min_score;
}

static bool should_stop(estimate_work *w, size_t steps, kh_job *job) {
    w->work += steps;
    if (w->work < w->next_poll) return false;
    w->next_poll = w->work + 1024;
    return kh_job_should_stop(job);
}

/* Every run pair of every band. */
static int count_all(estimate_work *w, kh_job *job, uint64_t *pairs) {
    const kh_lsh_state *s = w->s;
    *pairs = 0;
    for (size_t band = 0; band < s->bands; ++band) {
        const kh_lsh_entry *e = s->tables[band].entries;
        kh_run_walk walk;
        kh_run_walk_init(&walk, &s->tables[band]);
        size_t begin, end;
        while (kh_run_walk_next(&walk, &begin, &end))
            for (size_t i = begin; i < end; ++i) {
                if (should_stop(w, end - i, job)) return KNOWHERE_ERR_INTERRUPTED;
                for (size_t j = i + 1; j < end; ++j) *pairs += counted(w, e[i].id, e[j].id, band);
            }
    }
    return KNOWHERE_OK;
}

static uint64_t next_random(estimate_work *w) {
    uint64_t z = (w->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* SAMPLES run pairs drawn uniformly (targets in 0..U-1, sorted, found by
 * walking the runs in order); *hits of them are counted. */
static int count_sample(estimate_work *w, uint64_t total, kh_job *job, uint64_t *hits) {
    const kh_lsh_state *s = w->s;
    uint64_t *targets = malloc(SAMPLES * sizeof *targets);
    if (targets == NULL) return KNOWHERE_ERR_NO_MEMORY;
    for (size_t k = 0; k < SAMPLES; ++k) targets[k] = next_random(w) % total;
    qsort(targets, SAMPLES, sizeof *targets, compare_u64);
    *hits = 0;
    size_t next = 0;
    uint64_t before = 0; /* run pairs of the runs walked */
    for (size_t band = 0; band < s->bands && next < SAMPLES; ++band) {
        const kh_lsh_entry *e = s->tables[band].entries;
        kh_run_walk walk;
        kh_run_walk_init(&walk, &s->tables[band]);
        size_t begin, end;
        while (next < SAMPLES && kh_run_walk_next(&walk, &begin, &end)) {
            if (should_stop(w, end - begin, job)) {
                free(targets);
                return KNOWHERE_ERR_INTERRUPTED;
            }
            uint64_t size = end - begin, after = saturating_add(before, run_pairs(size));
            for (; next < SAMPLES && targets[next] < after; ++next) {
                size_t x = (size_t)(next_random(w) % size);
                size_t y = (size_t)(next_random(w) % (size - 1));
                y += y >= x; /* uniform over the pairs x != y */
                *hits += counted(w, e[begin + x].id, e[begin + y].id, band);
            }
            before = after;
        }
    }
    free(targets);
    return KNOWHERE_OK;
}

typedef struct {
    estimate_work *w;
    uint64_t candidates, pairs;
} estimate_task_ctx;

static int estimate_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    (void)task, (void)worker;
    estimate_task_ctx *c = ctx;
    if (c->candidates <= EXACT_LIMIT) return count_all(c->w, job, &c->pairs);
    uint64_t hits = 0;
    int status = count_sample(c->w, c->candidates, job, &hits);
    c->pairs = (uint64_t)((double)c->candidates * ((double)hits / SAMPLES) + 0.5);
    return status;
}

static int estimate(const kh_lsh_state *s, float threshold, size_t threads, CInterrupt interrupt,
                    uint64_t *pairs, uint64_t *candidates) {
    estimate_work w = {.s = s, .min_score = kh_min_score(s, threshold),
                       .state = 0x6b6e6f7768657265ull, .next_poll = 1024};
    w.band_pairs = calloc(s->bands, sizeof *w.band_pairs);
    if (w.band_pairs == NULL) return KNOWHERE_ERR_NO_MEMORY;
    int status = kh_run_parallel(threads, s->bands, count_band, &w, interrupt, NULL);
    estimate_task_ctx c = {&w, 0, 0};
    for (size_t b = 0; b < s->bands; ++b)
        c.candidates = saturating_add(c.candidates, w.band_pairs[b]);
    if (status == KNOWHERE_OK && c.candidates > 0 && !kh_has_full_raw(s))
        status = kh_run_map_make(s, threads, interrupt, &w.map, NULL);
    if (status == KNOWHERE_OK && c.candidates > 0)
        status = kh_run_parallel(1, 1, estimate_task, &c, interrupt, NULL);
    free(w.band_pairs);
    kh_run_map_free(&w.map);
    *pairs = c.pairs;
    *candidates = c.candidates;
    return status;
}

int knowhere_minhash_lsh_self_join_estimate_with_interrupt(
    const knowhere_minhash_lsh *const_index, float threshold, uint64_t *pairs,
    uint64_t *candidates, CInterrupt interrupt, knowhere_error **err) {
    kh_clear_error(err);
    if (pairs) *pairs = 0;
    if (candidates) *candidates = 0;
    if (const_index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    if (pairs == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "pairs is NULL");
    if (!(threshold >= 0.0f && threshold <= 1.0f))
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "threshold %g is not in 0..1",
                         (double)threshold);
    const kh_lsh_state *s = NULL, *flat = NULL;
    size_t threads = 0;
    int status = kh_enter_table_reader(const_index, interrupt, "join estimate", &s, &flat,
                                       &threads, err);
    if (status != KNOWHERE_OK) return status;
    uint64_t p = 0, c = 0;
    if (s != NULL && s->count > 0) status = estimate(flat, threshold, threads, interrupt, &p, &c);
    kh_leave_table_reader(const_index, s, flat);
    if (status != KNOWHERE_OK) return kh_table_reader_error(status, "join estimate", err);
    *pairs = p;
    if (candidates) *candidates = c;
    return KNOWHERE_OK;
}
