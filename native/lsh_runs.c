/* The run map and pair scores of lsh_runs.h. */
#include "lsh_runs.h"

#include <stdlib.h>
#include <string.h>

#include "candidates.h"
#include "deferred_free.h"
#include "internal.h"
#include "parallel.h"

int kh_table_reader_error(int status, const char *what, knowhere_error **err) {
    switch (status) {
    case KNOWHERE_OK: return KNOWHERE_OK;
    case KNOWHERE_ERR_INTERRUPTED:
    case KNOWHERE_ERR_TIMEOUT: return kh_stopped_error(err, status, what, "");
    case KNOWHERE_ERR_NO_MEMORY: return kh_errorf(err, status, "out of memory in the %s", what);
    default: return kh_errorf(err, status, "%s failed: %s", what, knowhere_status_string(status));
    }
}

int kh_enter_table_reader(const knowhere_minhash_lsh *const_index, CInterrupt interrupt,
                          const char *what, const kh_lsh_state **s, const kh_lsh_state **flat,
                          size_t *threads, knowhere_error **err) {
    *s = *flat = NULL;
    int status = knowhere_interrupt_check(interrupt, NULL, NULL);
    if (status != KNOWHERE_OK) return kh_table_reader_error(status, what, err);
    /* The guard counters are the only thing a reader writes in the index. */
    knowhere_minhash_lsh *index = (knowhere_minhash_lsh *)const_index;
    status = kh_minhash_lsh_enter_reader(index, s, err);
    if (status != KNOWHERE_OK) return status;
    *threads = kh_minhash_lsh_threads(index);
    if (*s == NULL) return KNOWHERE_OK;
    status = kh_lsh_flat_state(*s, *threads, interrupt, flat);
    if (status == KNOWHERE_OK) return KNOWHERE_OK;
    kh_minhash_lsh_leave_reader(index, *s);
    *s = *flat = NULL;
    return kh_table_reader_error(status, what, err);
}

void kh_leave_table_reader(const knowhere_minhash_lsh *index, const kh_lsh_state *s,
                           const kh_lsh_state *flat) {
    if (s != NULL) kh_lsh_flat_state_free(s, flat);
    kh_minhash_lsh_leave_reader((knowhere_minhash_lsh *)index, s);
}

typedef struct {
    const kh_lsh_state *s;
    kh_run_map *map;
    uint8_t *shared;  /* [bands][count / 8 + 1] bits: the row is in a shared run */
    size_t *runs;     /* [bands] or NULL */
} map_work;

static size_t bitmap_bytes(size_t count) { return count / 8 + 1; }

/* Calls visit(w, band, id, run) for each row of each shared run of the
 * band, run numbered from 0; polls the job. Returns the runs. */
typedef void run_visit(map_work *w, size_t band, uint32_t id, uint32_t run);

static int walk_shared_runs(map_work *w, size_t band, run_visit *visit, kh_job *job) {
    const kh_lsh_table *t = &w->s->tables[band];
    kh_run_walk walk;
    kh_run_walk_init(&walk, t);
    size_t begin, end, polled = 0;
    uint32_t shared = 0;
    while (kh_run_walk_next(&walk, &begin, &end)) {
        if (end - begin > 1) {
            for (size_t e = begin; e < end; ++e) visit(w, band, t->entries[e].id, shared);
            shared++;
        }
        polled += end - begin;
        if (polled > 65536) {
            polled = 0;
            if (kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        }
    }
    if (w->runs) w->runs[band] = shared;
    return KNOWHERE_OK;
}

static void mark_row(map_work *w, size_t band, uint32_t id, uint32_t run) {
    (void)run;
    uint8_t *bits = w->shared + band * bitmap_bytes(w->s->count);
    bits[id >> 3] |= (uint8_t)(1u << (id & 7));
}

static void set_run(map_work *w, size_t band, uint32_t id, uint32_t run) {
    w->map->runs[(size_t)w->map->index[id] * w->map->bands + band] = run;
}

static int mark_band(kh_job *job, size_t band, size_t worker, void *ctx) {
    (void)worker;
    return walk_shared_runs(ctx, band, mark_row, job);
}

static int map_band(kh_job *job, size_t band, size_t worker, void *ctx) {
    (void)worker;
    return walk_shared_runs(ctx, band, set_run, job);
}

/* index[v] = 1 + the rank of row v among the rows in some shared run, or
 * 0; returns how many rows are. */
static size_t index_rows(map_work *w) {
    size_t count = w->s->count, bytes = bitmap_bytes(count), rows = 0;
    for (size_t band = 1; band < w->s->bands; ++band)
        for (size_t i = 0; i < bytes; ++i) w->shared[i] |= w->shared[band * bytes + i];
    for (size_t v = 0; v < count; ++v)
        w->map->index[v] = (w->shared[v >> 3] >> (v & 7)) & 1 ? (uint32_t)++rows : 0;
    return rows;
}

int kh_run_map_make(const kh_lsh_state *s, size_t threads, CInterrupt interrupt, kh_run_map *map,
                    size_t *runs) {
    memset(map, 0, sizeof *map);
    map->bands = s->bands;
    map->count = s->count;
    if (s->count > SIZE_MAX / sizeof(uint32_t) / s->bands) return KNOWHERE_ERR_NO_MEMORY;
    map_work w = {s, map, calloc(s->bands, bitmap_bytes(s->count)), runs};
    map->index = malloc((s->count ? s->count : 1) * sizeof *map->index);
    int status = w.shared && map->index ? KNOWHERE_OK : KNOWHERE_ERR_NO_MEMORY;
    if (status == KNOWHERE_OK) status = kh_run_parallel(threads, s->bands, mark_band, &w, interrupt, NULL);
    if (status == KNOWHERE_OK) {
        map->rows = index_rows(&w) + 1; /* row 0: no shared run in any band */
        map->runs = malloc(map->rows * s->bands * sizeof *map->runs);
        if (map->runs == NULL) status = KNOWHERE_ERR_NO_MEMORY;
    }
    free(w.shared);
    if (status == KNOWHERE_OK) {
        memset(map->runs, 0xff, map->rows * s->bands * sizeof *map->runs); /* KH_NO_RUN */
        status = kh_run_parallel(threads, s->bands, map_band, &w, interrupt, NULL);
    }
    if (status != KNOWHERE_OK) kh_run_map_free(map);
    return status;
}

void kh_run_map_free(kh_run_map *map) {
    kh_free_deferred(map->index, map->count * sizeof *map->index);
    kh_free_deferred(map->runs, map->rows * map->bands * sizeof *map->runs);
    memset(map, 0, sizeof *map);
}

uint32_t kh_rows_score(const kh_lsh_state *s, const kh_run_map *map, uint32_t a, uint32_t b) {
    if (s->raw)
        return (uint32_t)kh_count_equal_values(kh_raw_row(s, a), kh_raw_row(s, b), s->length,
                                               s->raw_value_bytes);
    const uint32_t *ra = kh_run_map_row(map, a), *rb = kh_run_map_row(map, b);
    uint32_t shared = 0;
    for (size_t band = 0; band < s->bands; ++band)
        shared += ra[band] != KH_NO_RUN && ra[band] == rb[band];
    return shared;
}
