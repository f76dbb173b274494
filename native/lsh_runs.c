/* The run map and pair scores of lsh_runs.h. */
#include "lsh_runs.h"

#include <stdlib.h>

#include "candidates.h"
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
    uint32_t *map;
    size_t *runs; /* [bands] or NULL */
} map_work;

static int map_band(kh_job *job, size_t band, size_t worker, void *ctx) {
    (void)worker;
    const map_work *w = ctx;
    const kh_lsh_state *s = w->s;
    const kh_lsh_entry *entries = s->tables[band].entries;
    kh_run_walk walk;
    kh_run_walk_init(&walk, &s->tables[band]);
    size_t begin, end, polled = 0;
    uint32_t shared = 0;
    while (kh_run_walk_next(&walk, &begin, &end)) {
        uint32_t run = end - begin > 1 ? shared++ : KH_NO_RUN;
        for (size_t e = begin; e < end; ++e)
            w->map[(size_t)entries[e].id * s->bands + band] = run;
        polled += end - begin;
        if (polled > 65536) {
            polled = 0;
            if (kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        }
    }
    if (w->runs) w->runs[band] = shared;
    return KNOWHERE_OK;
}

int kh_run_map_make(const kh_lsh_state *s, size_t threads, CInterrupt interrupt, uint32_t **map,
                    size_t *runs) {
    *map = NULL;
    if (s->count > SIZE_MAX / sizeof(uint32_t) / s->bands) return KNOWHERE_ERR_NO_MEMORY;
    map_work w = {s, malloc(s->count * s->bands * sizeof(uint32_t)), runs};
    if (w.map == NULL) return KNOWHERE_ERR_NO_MEMORY;
    int status = kh_run_parallel(threads, s->bands, map_band, &w, interrupt, NULL);
    if (status != KNOWHERE_OK) {
        free(w.map);
        return status;
    }
    *map = w.map;
    return KNOWHERE_OK;
}

uint32_t kh_rows_score(const kh_lsh_state *s, const uint32_t *map, uint32_t a, uint32_t b) {
    if (s->raw)
        return (uint32_t)kh_count_equal_values(kh_raw_row(s, a), kh_raw_row(s, b), s->length,
                                               s->element_size);
    const uint32_t *ra = map + (size_t)a * s->bands, *rb = map + (size_t)b * s->bands;
    uint32_t shared = 0;
    for (size_t band = 0; band < s->bands; ++band)
        shared += ra[band] != KH_NO_RUN && ra[band] == rb[band];
    return shared;
}
