/* Clusters of an index's near-duplicates without their pairs (knowhere_rs.h,
 * knowhere_minhash_lsh_cluster_with_interrupt): the answer a self-join
 * followed by union-find (components) or by the greedy cover in id order
 * gives, in time and memory linear in the rows plus the comparisons the
 * answer needs, even when thousands of rows share a band.
 *
 * A pair is what the self-join reports: two rows that share a band (byte
 * for byte with raw data) and whose score reaches the threshold's; with the
 * exact check, also an exact Jaccard similarity of their documents at least
 * exact_threshold.
 *
 * 1. Collapse. Rows with identical signatures (identical runs in every band
 *    without raw data) and, with the exact check, identical shingle sets
 *    behave identically: they pair with each other (similarity 1) and with
 *    the same other rows at the same similarities. Each group's first row is
 *    its leader; only leaders take part in step 2. A hash table over the
 *    signatures' XXH3-64 finds the groups in one pass.
 *
 * 2a. Components: union-find, fed band by band, run by run. Within a run,
 *    the members (ids ascending) already in one component are a group; a
 *    new member is compared with the members of each other group until one
 *    pairs with it (then the groups merge), never with members of its own
 *    component. A run whose members are all in one component costs one find
 *    each: after the first band, a hot run of near-duplicates is that.
 *    Exact: every pair (x, y) of a run with x before y is either already
 *    connected when y comes, or x's group is searched until y joins it.
 *
 * 2b. Cover: rows in id order; a row is covered by the most similar kept
 *    row it pairs with (the smallest id on a tie), else kept. Each band's
 *    run keeps the list of its kept rows, so a row is compared only with the
 *    kept rows of its runs (once each), never with the covered ones: a hot
 *    run of near-duplicates keeps one row and costs one comparison a row.
 *    A row whose collapse leader is kept is covered by it (similarity 1,
 *    nothing earlier can be more similar or tie with a smaller id); one
 *    whose leader is covered is compared like any row, since kept rows that
 *    came between them may be more similar.
 *
 * 3. Similarities to the representative: the cover's comparisons give them;
 *    for components a parallel pass computes them, grouped by
 *    representative (whose shingle set is made once per worker).
 *
 * Steps 2a and 2b are sequential (their answer is defined by an order) and
 * poll the interrupt every POLL comparisons; step 1's hashing, the run map
 * and step 3 run on the index's threads. Comparisons that cannot change the
 * answer are never made, but rows of one run that do not pair (a run of
 * unrelated documents sharing a band) are compared pair by pair, as the
 * definition requires. */
#include <stdlib.h>
#include <string.h>

#include "candidates.h"
#include "deferred_free.h"
#include "internal.h"
#include "lsh_runs.h"
#include "minhash_lsh_internal.h"
#include "parallel.h"
#include "progress.h"
#include "raw_codes.h"
#include "shingle_set.h"
#include "xxh3.h"

#define NONE UINT32_MAX
/* Comparisons (or finds) between interrupt polls: well under a millisecond. */
#define POLL 1024u
/* The cached shingle sets are dropped when they exceed this. */
#define CACHE_BYTES ((size_t)64 << 20)

/* ---- the exact check: shingle sets of the documents compared, cached ------------- */

typedef struct {
    kh_shingle_spec spec;
    const uint8_t *texts;
    const uint64_t *offsets;
    double threshold;
    kh_shingle_set *sets; /* [n]: valid where cached[id] */
    uint8_t *cached;      /* [n] */
    uint32_t *order;      /* the cached ids */
    size_t norder, bytes;
    kh_shingler shingler;
} exact_check;

static void exact_clear(exact_check *x) {
    for (size_t i = 0; i < x->norder; ++i) {
        kh_shingle_set_free(&x->sets[x->order[i]]);
        x->cached[x->order[i]] = 0;
    }
    x->norder = 0;
    x->bytes = 0;
}

static int exact_set(exact_check *x, uint32_t id, const kh_shingle_set **out, kh_job *job) {
    if (!x->cached[id]) {
        size_t from = (size_t)x->offsets[id], to = (size_t)x->offsets[id + 1];
        int status = kh_shingle_set_make(&x->spec, x->texts + from, to - from, &x->shingler,
                                         &x->sets[id], job);
        if (status != KNOWHERE_OK) return status;
        x->cached[id] = 1;
        x->order[x->norder++] = id;
        x->bytes += x->sets[id].count * sizeof(uint64_t) + sizeof(kh_shingle_set);
    }
    *out = &x->sets[id];
    return KNOWHERE_OK;
}

/* The sets of a and b, both valid until the next call. */
static int exact_sets(exact_check *x, uint32_t a, uint32_t b, const kh_shingle_set **sa,
                      const kh_shingle_set **sb, kh_job *job) {
    if (x->bytes > CACHE_BYTES) exact_clear(x);
    int status = exact_set(x, a, sa, job);
    return status == KNOWHERE_OK ? exact_set(x, b, sb, job) : status;
}

static int exact_jaccard(exact_check *x, uint32_t a, uint32_t b, double *similarity,
                         kh_job *job) {
    const kh_shingle_set *sa, *sb;
    int status = exact_sets(x, a, b, &sa, &sb, job);
    return status == KNOWHERE_OK ? kh_shingle_set_jaccard(sa, sb, similarity, job) : status;
}

/* Whether documents a and b have the same shingle set: the same bytes, or
 * the same sorted hashes. */
static int exact_same_set(exact_check *x, uint32_t a, uint32_t b, bool *same, kh_job *job) {
    size_t la = (size_t)(x->offsets[a + 1] - x->offsets[a]);
    size_t lb = (size_t)(x->offsets[b + 1] - x->offsets[b]);
    if (la == lb && memcmp(x->texts + x->offsets[a], x->texts + x->offsets[b], la) == 0) {
        *same = true;
        return KNOWHERE_OK;
    }
    const kh_shingle_set *sa, *sb;
    int status = exact_sets(x, a, b, &sa, &sb, job);
    if (status != KNOWHERE_OK) return status;
    *same = sa->count == sb->count &&
            (sa->count == 0 || memcmp(sa->hashes, sb->hashes, sa->count * sizeof(uint64_t)) == 0);
    return KNOWHERE_OK;
}

static void exact_free(exact_check *x) {
    if (x->sets) exact_clear(x);
    kh_shingler_free(&x->shingler);
    kh_free_deferred(x->sets, 0);
    kh_free_deferred(x->cached, 0);
    kh_free_deferred(x->order, 0);
}

/* ---- the work ------------------------------------------------------------------- */

typedef struct {
    const kh_lsh_state *s;
    size_t n, bands, threads;
    uint32_t mode;
    uint32_t min_score;
    kh_run_map map;     /* the run map; empty for components with raw data */
    size_t *runs;       /* [bands]: each band's shared runs (lsh_runs.h) */
    uint32_t *leader;   /* [n]: the first row of the row's collapse group */
    uint64_t *keys;     /* [n]: collapse keys (step 1 only) */
    exact_check *exact; /* NULL: the signatures decide */
    int64_t *rep;
    double *sim;        /* NULL: not wanted */
    size_t work, next_poll; /* steps of sequential work, and when to poll next */
    kh_progress progress;
} cluster_work;

static bool skipped(const cluster_work *w, uint32_t id) { return kh_is_removed(w->s, id); }

/* Counts `steps` of sequential work; polls every POLL steps. */
static bool should_stop_after(cluster_work *w, size_t steps, kh_job *job) {
    w->work += steps;
    if (w->work < w->next_poll) return false;
    w->next_poll = w->work + POLL;
    return kh_job_should_stop(job);
}

static bool should_stop(cluster_work *w, kh_job *job) { return should_stop_after(w, 1, job); }

/* Whether rows a and b, which share a band, are a pair, and their
 * similarity (the estimate, or the exact one with the check). */
static int is_pair(cluster_work *w, uint32_t a, uint32_t b, bool *pair, double *similarity,
                   kh_job *job) {
    *pair = false;
    uint32_t score = kh_rows_score(w->s, &w->map, a, b);
    if (score < w->min_score) return KNOWHERE_OK;
    if (w->exact == NULL) {
        *pair = true;
        *similarity = kh_similarity(w->s, score);
        return KNOWHERE_OK;
    }
    int status = exact_jaccard(w->exact, a, b, similarity, job);
    *pair = status == KNOWHERE_OK && *similarity >= w->exact->threshold;
    return status;
}

/* ---- step 1: collapse ------------------------------------------------------------ */

static bool collapsible(const cluster_work *w, uint32_t id) {
    if (skipped(w, id)) return false;
    if (kh_has_full_raw(w->s)) return true;
    /* Without full values a row alone in some band's run has no twin. */
    const uint32_t *runs = kh_run_map_row(&w->map, id);
    for (size_t b = 0; b < w->bands; ++b)
        if (runs[b] == KH_NO_RUN) return false;
    return true;
}

static int key_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    (void)worker;
    cluster_work *w = ctx;
    size_t per = kh_items_per_task(w->n, w->threads, 8, 65536), begin, end;
    kh_task_items(task, per, w->n, &begin, &end);
    for (size_t i = begin; i < end; ++i) {
        if ((i & 0xfff) == 0 && kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        uint32_t id = (uint32_t)i;
        w->leader[i] = collapsible(w, id) ? NONE : id;
        if (w->leader[i] != NONE) continue;
        w->keys[i] = kh_has_full_raw(w->s)
                         ? kh_xxh3_64(kh_raw_row(w->s, i), w->s->signature_bytes)
                               : kh_xxh3_64(kh_run_map_row(&w->map, i), w->bands * sizeof(uint32_t));
    }
    kh_job_advance(job, end - begin);
    return KNOWHERE_OK;
}

/* Twins: identical values; without them, the same run in every band (so
 * they pair with the same rows) and, with codes, identical codes (so at
 * the same similarity): equal codes alone could come from values sharing
 * no band, which are no pair. */
static bool same_signature(const cluster_work *w, uint32_t a, uint32_t b) {
    if (kh_has_full_raw(w->s))
        return memcmp(kh_raw_row(w->s, a), kh_raw_row(w->s, b), w->s->signature_bytes) == 0;
    return memcmp(kh_run_map_row(&w->map, a), kh_run_map_row(&w->map, b),
                  w->bands * sizeof(uint32_t)) == 0 &&
           (w->s->raw == NULL ||
            memcmp(kh_raw_row(w->s, a), kh_raw_row(w->s, b), w->s->raw_row_bytes) == 0);
}

/* Whether row i is a twin of leader j. */
static int twins(cluster_work *w, uint32_t j, uint32_t i, bool *twin, kh_job *job) {
    *twin = w->keys[j] == w->keys[i] && same_signature(w, j, i);
    if (!*twin || w->exact == NULL) return KNOWHERE_OK;
    return exact_same_set(w->exact, j, i, twin, job);
}

/* Open addressing over the keys (slots hold id + 1), in id order, so each
 * group's leader is its smallest id. */
static int collapse_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    (void)task, (void)worker;
    cluster_work *w = ctx;
    size_t capacity = 16;
    while (capacity < 2 * w->n) capacity *= 2;
    uint32_t *slots = calloc(capacity, sizeof *slots);
    if (slots == NULL) return KNOWHERE_ERR_NO_MEMORY;
    int status = KNOWHERE_OK;
    for (uint32_t i = 0; i < w->n && status == KNOWHERE_OK; ++i) {
        if (should_stop(w, job)) {
            status = KNOWHERE_ERR_INTERRUPTED;
            break;
        }
        if (w->leader[i] != NONE) continue;
        for (size_t h = (size_t)w->keys[i] & (capacity - 1);; h = (h + 1) & (capacity - 1)) {
            if (slots[h] == 0) {
                slots[h] = i + 1;
                w->leader[i] = i;
                break;
            }
            bool twin = false;
            status = twins(w, slots[h] - 1, i, &twin, job);
            if (status != KNOWHERE_OK || twin) {
                w->leader[i] = slots[h] - 1;
                break;
            }
        }
        if ((i & 0xffff) == 0xffff) kh_job_advance(job, 0x10000);
    }
    kh_free_deferred(slots, capacity * sizeof *slots);
    return status;
}

/* ---- step 2a: components ----------------------------------------------------------- */

static uint32_t find_root(uint32_t *parent, uint32_t v) {
    while (parent[v] != v) {
        parent[v] = parent[parent[v]]; /* path halving */
        v = parent[v];
    }
    return v;
}

typedef struct {
    uint32_t *parent, *size; /* [n] */
} union_find;

static void unite(union_find *u, uint32_t a, uint32_t b) {
    a = find_root(u->parent, a);
    b = find_root(u->parent, b);
    if (a == b) return;
    if (u->size[a] < u->size[b]) {
        uint32_t t = a;
        a = b;
        b = t;
    }
    u->parent[b] = a;
    u->size[a] += u->size[b];
}

/* One run's members and their groups (a group: members in one component,
 * linked through `next`, by position in `ids`). */
typedef struct {
    uint32_t *block; /* one allocation: the six arrays below */
    size_t capacity;
    uint32_t *ids, *next, *head, *tail, *live, *joined;
} run_scratch;

static bool run_scratch_reserve(run_scratch *r, size_t m) {
    if (r->capacity >= m) return true;
    size_t capacity = r->capacity * 2 > m ? r->capacity * 2 : m;
    uint32_t *block = realloc(r->block, 6 * capacity * sizeof *block);
    if (block == NULL) return false;
    r->block = block;
    r->capacity = capacity;
    uint32_t **arrays[] = {&r->ids, &r->next, &r->head, &r->tail, &r->live, &r->joined};
    for (size_t k = 0; k < 6; ++k) *arrays[k] = block + k * capacity;
    return true;
}

typedef struct {
    cluster_work *w;
    union_find uf;
    run_scratch scratch;
    kh_job *job;
    size_t band;
} run_context;

/* Member k of the run against each group of other components, until it
 * pairs with one member of the group; the groups it joins are listed. */
static int join_member(run_context *c, size_t k, size_t nlive, size_t *njoined) {
    cluster_work *w = c->w;
    run_scratch *r = &c->scratch;
    uint32_t x = r->ids[k], rx = find_root(c->uf.parent, x);
    *njoined = 0;
    for (size_t li = 0; li < nlive; ++li) {
        uint32_t g = r->live[li];
        if (find_root(c->uf.parent, r->ids[r->head[g]]) == rx) {
            r->joined[(*njoined)++] = g;
            continue;
        }
        for (uint32_t t = r->head[g]; t != NONE; t = r->next[t]) {
            if (should_stop(w, c->job)) return KNOWHERE_ERR_INTERRUPTED;
            uint32_t y = r->ids[t];
            if (w->s->raw && !kh_rows_share_band(w->s, NULL, x, y, c->band)) continue;
            bool pair;
            double similarity;
            int status = is_pair(w, y, x, &pair, &similarity, c->job);
            if (status != KNOWHERE_OK) return status;
            if (pair) {
                unite(&c->uf, x, y);
                rx = find_root(c->uf.parent, x);
                r->joined[(*njoined)++] = g;
                break;
            }
        }
    }
    return KNOWHERE_OK;
}

/* Member k goes to the first group it joined, which takes the others. */
static size_t merge_groups(run_scratch *r, size_t k, size_t ngroups, size_t *nlive,
                           size_t njoined) {
    r->next[k] = NONE;
    if (njoined == 0) {
        r->head[ngroups] = r->tail[ngroups] = (uint32_t)k;
        r->live[(*nlive)++] = (uint32_t)ngroups;
        return ngroups + 1;
    }
    uint32_t g0 = r->joined[0];
    for (size_t j = 1; j < njoined; ++j) {
        uint32_t g = r->joined[j];
        r->next[r->tail[g0]] = r->head[g];
        r->tail[g0] = r->tail[g];
        r->head[g] = NONE;
    }
    r->next[r->tail[g0]] = (uint32_t)k;
    r->tail[g0] = (uint32_t)k;
    if (njoined > 1) {
        size_t kept = 0;
        for (size_t li = 0; li < *nlive; ++li)
            if (r->head[r->live[li]] != NONE) r->live[kept++] = r->live[li];
        *nlive = kept;
    }
    return ngroups;
}

static int process_run(run_context *c, const kh_lsh_entry *entries, size_t begin, size_t end) {
    cluster_work *w = c->w;
    run_scratch *r = &c->scratch;
    if (!run_scratch_reserve(r, end - begin)) return KNOWHERE_ERR_NO_MEMORY;
    size_t m = 0;
    for (size_t e = begin; e < end; ++e) {
        if ((e & (POLL - 1)) == 0 && should_stop_after(w, POLL, c->job))
            return KNOWHERE_ERR_INTERRUPTED;
        uint32_t id = entries[e].id;
        if (!skipped(w, id) && w->leader[id] == id) r->ids[m++] = id;
    }
    if (m < 2) return KNOWHERE_OK;
    uint32_t root = find_root(c->uf.parent, r->ids[0]);
    size_t k = 1;
    for (; k < m && find_root(c->uf.parent, r->ids[k]) == root; ++k)
        if (should_stop(w, c->job)) return KNOWHERE_ERR_INTERRUPTED;
    if (k == m) return KNOWHERE_OK; /* one component already */
    size_t ngroups = 0, nlive = 0;
    for (k = 0; k < m; ++k) {
        size_t njoined = 0;
        int status = join_member(c, k, nlive, &njoined);
        if (status != KNOWHERE_OK) return status;
        ngroups = merge_groups(r, k, ngroups, &nlive, njoined);
    }
    return KNOWHERE_OK;
}

static int walk_band(run_context *c) {
    const kh_lsh_state *s = c->w->s;
    const kh_lsh_table *t = &s->tables[c->band];
    kh_run_walk walk;
    kh_run_walk_init(&walk, t);
    size_t begin, end;
    while (kh_run_walk_next(&walk, &begin, &end)) {
        if (should_stop(c->w, c->job)) return KNOWHERE_ERR_INTERRUPTED;
        if (end - begin < 2) continue;
        int status = process_run(c, t->entries, begin, end);
        if (status != KNOWHERE_OK) return status;
    }
    return KNOWHERE_OK;
}

/* Each row's representative: the smallest id of its component. */
static void label_components(cluster_work *w, union_find *uf) {
    for (uint32_t v = 0; v < w->n; ++v)
        if (w->leader[v] != v) unite(uf, v, w->leader[v]);
    for (uint32_t v = 0; v < w->n; ++v) {
        uf->parent[v] = find_root(uf->parent, v);
        uf->size[v] = NONE; /* now: the label of root v */
    }
    for (uint32_t v = 0; v < w->n; ++v) {
        uint32_t root = uf->parent[v];
        if (uf->size[root] == NONE) uf->size[root] = v;
        w->rep[v] = uf->size[root];
    }
}

static int components_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    (void)task, (void)worker;
    run_context c = {.w = ctx, .job = job};
    cluster_work *w = c.w;
    c.uf.parent = malloc(w->n * sizeof(uint32_t));
    c.uf.size = malloc(w->n * sizeof(uint32_t));
    int status = c.uf.parent && c.uf.size ? KNOWHERE_OK : KNOWHERE_ERR_NO_MEMORY;
    for (uint32_t v = 0; status == KNOWHERE_OK && v < w->n; ++v) {
        c.uf.parent[v] = v;
        c.uf.size[v] = 1;
    }
    for (c.band = 0; status == KNOWHERE_OK && c.band < w->bands; ++c.band) {
        status = walk_band(&c);
        kh_job_advance(job, w->n);
    }
    if (status == KNOWHERE_OK) label_components(w, &c.uf);
    kh_free_deferred(c.uf.parent, w->n * sizeof(uint32_t));
    kh_free_deferred(c.uf.size, w->n * sizeof(uint32_t));
    free(c.scratch.block);
    return status;
}

/* ---- step 2b: cover -------------------------------------------------------------- */

typedef struct {
    uint32_t id, next; /* next: node index + 1, 0 at the end */
} kept_node;

typedef struct {
    uint32_t *heads;  /* by (band, run), the last kept node + 1 */
    size_t *first;    /* [bands]: band b's runs start at heads[first[b]] */
    kept_node *nodes;
    size_t nodes_count, nodes_capacity;
    uint32_t *stamp;  /* [n]: v + 1 once row v has compared it */
} kept_lists;

/* The most similar kept row that row v pairs with, among the kept rows of
 * v's runs, each compared once. */
static int best_kept(cluster_work *w, kept_lists *k, uint32_t v, uint32_t *best,
                     double *best_similarity, kh_job *job) {
    const uint32_t *runs = kh_run_map_row(&w->map, v);
    *best = NONE;
    *best_similarity = -1;
    for (size_t b = 0; b < w->bands; ++b) {
        if (runs[b] == KH_NO_RUN) continue;
        for (uint32_t node = k->heads[k->first[b] + runs[b]]; node != 0;
             node = k->nodes[node - 1].next) {
            if (should_stop(w, job)) return KNOWHERE_ERR_INTERRUPTED;
            uint32_t u = k->nodes[node - 1].id;
            if (k->stamp[u] == v + 1) continue;
            if (w->s->raw && !kh_rows_share_band(w->s, NULL, u, v, b)) continue;
            k->stamp[u] = v + 1;
            bool pair;
            double similarity;
            int status = is_pair(w, u, v, &pair, &similarity, job);
            if (status != KNOWHERE_OK) return status;
            if (pair && (similarity > *best_similarity ||
                         (similarity == *best_similarity && u < *best))) {
                *best = u;
                *best_similarity = similarity;
            }
        }
    }
    return KNOWHERE_OK;
}

static bool keep_row(cluster_work *w, kept_lists *k, uint32_t v) {
    const uint32_t *runs = kh_run_map_row(&w->map, v);
    for (size_t b = 0; b < w->bands; ++b) {
        if (runs[b] == KH_NO_RUN) continue; /* nobody else is in that run */
        if (!KH_RESERVE(k, nodes, nodes_capacity, k->nodes_count + 1)) return false;
        uint32_t *head = &k->heads[k->first[b] + runs[b]];
        k->nodes[k->nodes_count++] = (kept_node){v, *head};
        *head = (uint32_t)k->nodes_count;
    }
    return true;
}

static int cover_rows(cluster_work *w, kept_lists *k, kh_job *job) {
    for (uint32_t v = 0; v < w->n; ++v) {
        if ((v & 0xffff) == 0xffff) kh_job_advance(job, 0x10000);
        if (should_stop(w, job)) return KNOWHERE_ERR_INTERRUPTED;
        uint32_t leader = w->leader[v];
        double similarity = 1;
        if (skipped(w, v)) {
            w->rep[v] = v;
        } else if (leader != v && w->rep[leader] == leader) {
            w->rep[v] = leader; /* a twin of a kept row */
        } else {
            uint32_t best;
            int status = best_kept(w, k, v, &best, &similarity, job);
            if (status != KNOWHERE_OK) return status;
            if (best == NONE) {
                similarity = 1;
                if (!keep_row(w, k, v)) return KNOWHERE_ERR_NO_MEMORY;
            }
            w->rep[v] = best == NONE ? v : best;
        }
        if (w->sim) w->sim[v] = similarity;
    }
    return KNOWHERE_OK;
}

static int cover_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    (void)task, (void)worker;
    cluster_work *w = ctx;
    kept_lists k = {0};
    size_t heads = 0;
    k.first = malloc(w->bands * sizeof *k.first);
    for (size_t b = 0; k.first && b < w->bands; ++b) {
        k.first[b] = heads;
        heads += w->runs[b];
    }
    k.heads = calloc(heads ? heads : 1, sizeof *k.heads);
    k.stamp = calloc(w->n, sizeof *k.stamp);
    /* Room for every node there can be (a kept row in each of its shared
     * runs) at once: a large block's pages are only taken as nodes are
     * written, while growing by doubling would hold up to twice them and
     * copy. (Failing that, the nodes grow as they come.) */
    size_t most = (w->map.rows - 1) * w->bands;
    k.nodes = most ? malloc(most * sizeof *k.nodes) : NULL;
    k.nodes_capacity = k.nodes ? most : 0;
    int status = k.first && k.heads && k.stamp ? cover_rows(w, &k, job) : KNOWHERE_ERR_NO_MEMORY;
    free(k.first);
    kh_free_deferred(k.heads, heads * sizeof *k.heads);
    kh_free_deferred(k.stamp, w->n * sizeof *k.stamp);
    kh_free_deferred(k.nodes, k.nodes_capacity * sizeof *k.nodes);
    return status;
}

/* ---- step 3: similarities to the representatives (components) ---------------------- */

typedef struct {
    cluster_work *w;
    uint32_t *order; /* the rows with another representative, by representative */
    size_t count, per_task;
    kh_shingler *shinglers; /* [threads], exact check only */
} similarity_work;

/* The exact similarities of rows order[begin..end) to their
 * representatives, each representative's set made once per run of rows. */
static int exact_similarities(similarity_work *sw, size_t begin, size_t end, size_t worker,
                              kh_job *job) {
    cluster_work *w = sw->w;
    const exact_check *x = w->exact;
    kh_shingler *shingler = &sw->shinglers[worker];
    kh_shingle_set rep_set = {0}, set = {0};
    uint32_t rep_of_set = NONE;
    int status = KNOWHERE_OK;
    for (size_t i = begin; i < end && status == KNOWHERE_OK; ++i) {
        if (kh_job_should_stop(job)) {
            status = KNOWHERE_ERR_INTERRUPTED;
            break;
        }
        uint32_t v = sw->order[i], r = (uint32_t)w->rep[v];
        if (w->leader[v] == w->leader[r]) {
            w->sim[v] = 1;
            continue;
        }
        if (r != rep_of_set) {
            kh_shingle_set_free(&rep_set);
            status = kh_shingle_set_make(&x->spec, x->texts + x->offsets[r],
                                         (size_t)(x->offsets[r + 1] - x->offsets[r]), shingler,
                                         &rep_set, job);
            rep_of_set = status == KNOWHERE_OK ? r : NONE;
        }
        if (status == KNOWHERE_OK)
            status = kh_shingle_set_make(&x->spec, x->texts + x->offsets[v],
                                         (size_t)(x->offsets[v + 1] - x->offsets[v]), shingler,
                                         &set, job);
        if (status == KNOWHERE_OK) status = kh_shingle_set_jaccard(&rep_set, &set, &w->sim[v], job);
        kh_shingle_set_free(&set);
    }
    kh_shingle_set_free(&rep_set);
    return status;
}

static int similarity_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    similarity_work *sw = ctx;
    cluster_work *w = sw->w;
    size_t begin, end;
    kh_task_items(task, sw->per_task, sw->count, &begin, &end);
    if (kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
    int status = KNOWHERE_OK;
    if (w->exact) {
        status = exact_similarities(sw, begin, end, worker, job);
    } else {
        for (size_t i = begin; i < end; ++i) {
            uint32_t v = sw->order[i];
            w->sim[v] = w->leader[v] == w->leader[w->rep[v]]
                            ? 1.0
                            : kh_similarity(w->s, kh_rows_score(w->s, &w->map, v,
                                                                (uint32_t)w->rep[v]));
        }
    }
    kh_job_advance(job, end - begin);
    return status;
}

/* The rows that are not representatives, sorted by representative (a
 * counting sort), so that each worker makes a representative's set once. */
static uint32_t *rows_by_representative(const cluster_work *w, size_t *count) {
    uint32_t *start = calloc(w->n + 1, sizeof *start);
    uint32_t *order = malloc((w->n ? w->n : 1) * sizeof *order);
    if (start == NULL || order == NULL) {
        free(start);
        free(order);
        return NULL;
    }
    for (size_t v = 0; v < w->n; ++v)
        if ((size_t)w->rep[v] != v) start[w->rep[v] + 1]++;
    for (size_t r = 0; r < w->n; ++r) start[r + 1] += start[r];
    *count = start[w->n];
    for (size_t v = 0; v < w->n; ++v)
        if ((size_t)w->rep[v] != v) order[start[w->rep[v]]++] = (uint32_t)v;
    free(start);
    return order;
}

static int component_similarities(cluster_work *w, CInterrupt interrupt) {
    for (size_t v = 0; v < w->n; ++v)
        if ((size_t)w->rep[v] == v) w->sim[v] = 1;
    similarity_work sw = {.w = w};
    sw.order = rows_by_representative(w, &sw.count);
    if (w->exact) sw.shinglers = calloc(w->threads, sizeof *sw.shinglers);
    int status = sw.order && (!w->exact || sw.shinglers) ? KNOWHERE_OK : KNOWHERE_ERR_NO_MEMORY;
    sw.per_task = kh_items_per_task(sw.count, w->threads, 16, 4096);
    if (status == KNOWHERE_OK)
        status = kh_run_parallel(w->threads, kh_task_count(sw.count, sw.per_task),
                                 similarity_task, &sw, interrupt, &w->progress);
    for (size_t t = 0; sw.shinglers && t < w->threads; ++t) kh_shingler_free(&sw.shinglers[t]);
    free(sw.shinglers);
    kh_free_deferred(sw.order, w->n * sizeof *sw.order);
    return status;
}

/* ---- the call ------------------------------------------------------------------- */

static int run_cluster(cluster_work *w, CInterrupt interrupt) {
    bool cover = w->mode == KNOWHERE_CLUSTER_COVER;
    /* Units: rows hashed, rows collapsed, then rows covered, or rows of
     * each band walked plus similarities. */
    uint64_t total = (uint64_t)w->n * (cover ? 3 : 3 + w->bands);
    kh_progress_begin(&w->progress, interrupt, KNOWHERE_PHASE_CLUSTER, total);
    kh_return_free_memory(); /* the clustering is the peak of a large dedup */
    int status = KNOWHERE_OK;
    w->runs = calloc(w->bands, sizeof *w->runs);
    if (w->runs == NULL) status = KNOWHERE_ERR_NO_MEMORY;
    /* Without raw data the collapse compares runs: the map first. With raw
     * data only the cover needs it: after the collapse, whose hash table
     * and keys are freed by then (the larger of the two peaks is lower). */
    if (status == KNOWHERE_OK && !kh_has_full_raw(w->s))
        status = kh_run_map_make(w->s, w->threads, interrupt, &w->map, w->runs);
    w->leader = malloc(w->n * sizeof *w->leader);
    w->keys = malloc(w->n * sizeof *w->keys);
    if (status == KNOWHERE_OK && (w->leader == NULL || w->keys == NULL))
        status = KNOWHERE_ERR_NO_MEMORY;
    size_t per = kh_items_per_task(w->n, w->threads, 8, 65536);
    if (status == KNOWHERE_OK)
        status = kh_run_parallel(w->threads, kh_task_count(w->n, per), key_task, w, interrupt,
                                 &w->progress);
    if (status == KNOWHERE_OK)
        status = kh_run_parallel(1, 1, collapse_task, w, interrupt, &w->progress);
    kh_free_deferred(w->keys, w->n * sizeof *w->keys);
    w->keys = NULL;
    if (status == KNOWHERE_OK && cover && kh_has_full_raw(w->s))
        status = kh_run_map_make(w->s, w->threads, interrupt, &w->map, w->runs);
    if (status == KNOWHERE_OK)
        status = kh_run_parallel(1, 1, cover ? cover_task : components_task, w, interrupt,
                                 &w->progress);
    if (status == KNOWHERE_OK && !cover && w->sim) status = component_similarities(w, interrupt);
    kh_progress_end(&w->progress, status);
    kh_free_deferred(w->leader, w->n * sizeof *w->leader);
    kh_run_map_free(&w->map);
    free(w->runs);
    return status;
}

typedef struct {
    float threshold;
    uint32_t mode;
    int64_t *representatives;
    double *similarities;
    size_t n;
} cluster_request;

static int check_request(const knowhere_minhash_lsh *index, const cluster_request *q,
                         knowhere_error **err) {
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    if (!(q->threshold >= 0.0f && q->threshold <= 1.0f))
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "threshold %g is not in 0..1",
                         (double)q->threshold);
    if (q->mode != KNOWHERE_CLUSTER_COMPONENTS && q->mode != KNOWHERE_CLUSTER_COVER)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "mode %u is neither KNOWHERE_CLUSTER_COMPONENTS (0) nor "
                         "KNOWHERE_CLUSTER_COVER (1)", (unsigned)q->mode);
    size_t count = knowhere_minhash_lsh_count(index);
    if (q->n != count)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "n is %zu, but the index has %zu rows",
                         q->n, count);
    if (q->n > 0 && q->representatives == NULL)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "representatives is NULL");
    return KNOWHERE_OK;
}

static int cluster(const knowhere_minhash_lsh *index, const cluster_request *q,
                   exact_check *exact, CInterrupt interrupt, knowhere_error **err) {
    const kh_lsh_state *s = NULL, *flat = NULL;
    size_t threads = 0;
    int status = kh_enter_table_reader(index, interrupt, "clustering", &s, &flat, &threads, err);
    if (status != KNOWHERE_OK) return status;
    size_t count = s ? s->count : 0;
    if (count != q->n) { /* rebuilt since n was checked */
        kh_leave_table_reader(index, s, flat);
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "n is %zu, but the index has %zu rows",
                         q->n, count);
    }
    if (count > 0) {
        cluster_work w = {
            .s = flat, .n = count, .bands = s->bands, .threads = threads, .mode = q->mode,
            .min_score = kh_min_score(s, q->threshold), .exact = exact,
            .rep = q->representatives, .sim = q->similarities,
        };
        status = run_cluster(&w, interrupt);
    }
    kh_leave_table_reader(index, s, flat);
    if (status == KNOWHERE_ERR_NO_MEMORY)
        return kh_errorf(err, status, "out of memory while clustering %zu rows", q->n);
    return kh_table_reader_error(status, "clustering", err);
}

int knowhere_minhash_lsh_cluster_with_interrupt(const knowhere_minhash_lsh *index,
                                                float threshold, uint32_t mode,
                                                int64_t *representatives, double *similarities,
                                                size_t n, CInterrupt interrupt,
                                                knowhere_error **err) {
    kh_clear_error(err);
    cluster_request q = {threshold, mode, representatives, similarities, n};
    int status = check_request(index, &q, err);
    return status == KNOWHERE_OK ? cluster(index, &q, NULL, interrupt, err) : status;
}

int knowhere_minhash_lsh_cluster_exact_with_interrupt(
    const knowhere_minhash_lsh *index, float threshold, uint32_t mode,
    const knowhere_signature_options *options, const char *texts, size_t texts_len,
    const uint64_t *offsets, double exact_threshold, int64_t *representatives,
    double *similarities, size_t n, CInterrupt interrupt, knowhere_error **err) {
    kh_clear_error(err);
    cluster_request q = {threshold, mode, representatives, similarities, n};
    exact_check x = {.texts = (const uint8_t *)texts, .offsets = offsets,
                     .threshold = exact_threshold};
    int status = check_request(index, &q, err);
    if (status == KNOWHERE_OK) status = kh_signature_options_spec(options, &x.spec, err);
    if (status == KNOWHERE_OK) status = kh_check_text_batch(texts, texts_len, offsets, n, err);
    if (status == KNOWHERE_OK && !(exact_threshold >= 0.0 && exact_threshold <= 1.0))
        status = kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "exact_threshold %g is not in 0..1",
                           exact_threshold);
    if (status != KNOWHERE_OK) return status;
    x.sets = calloc(n ? n : 1, sizeof *x.sets);
    x.cached = calloc(n ? n : 1, 1);
    x.order = malloc((n ? n : 1) * sizeof *x.order);
    if (x.sets == NULL || x.cached == NULL || x.order == NULL)
        status = kh_errorf(err, KNOWHERE_ERR_NO_MEMORY, "out of memory while clustering %zu rows",
                           n);
    else
        status = cluster(index, &q, &x, interrupt, err);
    exact_free(&x);
    return status;
}
