/* Runs of the band tables, for the readers that work on whole runs rather
 * than on one query's candidates (the clustering join, the join estimate).
 *
 * A run is a maximal range of a band table's entries with the same bucket
 * and fingerprint: the rows whose band keys agree on the bits the table
 * compares, listed by ascending id. Two rows share a band key only if they
 * are in one run; with raw data the band's bytes decide (a run may, with
 * probability about 2^-(32 + prefix bits), hold two different keys).
 *
 * The run map gives every (row, band) its run as a number: the runs of
 * two rows or more of each band are numbered 0, 1, ... in table order, and
 * a row alone in its run (it shares that band with no row) has KH_NO_RUN.
 * Numbering only the shared runs lets a reader keep something per run in
 * an array as small as the runs are few (the cover's kept lists: at 10^7
 * rows, tens of megabytes instead of 4 bytes per row and band). It is
 * row-major, so a row's runs are one cache line or two, and only the rows
 * in some shared run have their own: the others (most rows of a corpus:
 * those with no near-duplicate) share one row of KH_NO_RUN, so the map
 * takes 4 bytes per row plus 4 per band and row with a near-duplicate
 * (at 10^7 rows, 0.2 GiB instead of 0.7). Both work on a state whose
 * tables hold every row (kh_lsh_flat_state). */
#ifndef KNOWHERE_LSH_RUNS_H
#define KNOWHERE_LSH_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "minhash_lsh_internal.h"
#include "raw_codes.h"

#define KH_NO_RUN UINT32_MAX

typedef struct {
    const kh_lsh_table *t;
    size_t bucket, buckets;
    size_t at, end; /* the next entry, and the end of its bucket */
} kh_run_walk;

static inline void kh_run_walk_init(kh_run_walk *w, const kh_lsh_table *t) {
    w->t = t;
    w->bucket = 0;
    w->buckets = (size_t)1 << t->layout.prefix_bits;
    w->at = 0;
    w->end = t->dir ? t->dir[1] : 0;
}

/* The next run, entries [*begin, *end); false after the last. */
static inline bool kh_run_walk_next(kh_run_walk *w, size_t *begin, size_t *end) {
    while (w->at >= w->end) {
        if (w->t->dir == NULL || ++w->bucket >= w->buckets) return false;
        w->end = w->t->dir[w->bucket + 1];
    }
    const kh_lsh_entry *e = w->t->entries;
    size_t f = w->at + 1;
    while (f < w->end && e[f].fingerprint == e[w->at].fingerprint) f++;
    *begin = w->at;
    *end = f;
    w->at = f;
    return true;
}

/* For the readers that walk whole tables: checks the interrupt, enters the
 * index's reader guard and gives the state (*s, NULL when never built) and
 * the state to walk (*flat: tables holding every row, kh_lsh_flat_state;
 * NULL when *s is NULL) on *threads threads. On KNOWHERE_OK, pair with
 * kh_leave_table_reader. Errors carry their message, naming `what`. */
int kh_enter_table_reader(const knowhere_minhash_lsh *index, CInterrupt interrupt,
                          const char *what, const kh_lsh_state **s, const kh_lsh_state **flat,
                          size_t *threads, knowhere_error **err);
void kh_leave_table_reader(const knowhere_minhash_lsh *index, const kh_lsh_state *s,
                           const kh_lsh_state *flat);

/* The message of a whole-table reader's failure (interrupted, out of
 * memory, other); returns status. */
int kh_table_reader_error(int status, const char *what, knowhere_error **err);

typedef struct {
    uint32_t *index; /* [count]: row v's runs are runs[index[v] * bands ...] */
    uint32_t *runs;  /* [rows * bands]; row 0 all KH_NO_RUN */
    size_t count, rows, bands;
} kh_run_map;

/* Row v's runs, one per band. */
static inline const uint32_t *kh_run_map_row(const kh_run_map *map, size_t v) {
    return map->runs + (size_t)map->index[v] * map->bands;
}

/* Makes the run map of `s` on `threads` threads, and (when runs is not
 * NULL) runs[b] = the number of band b's shared runs. KNOWHERE_OK,
 * KNOWHERE_ERR_NO_MEMORY, or the interrupt's status (then *map is empty). */
int kh_run_map_make(const kh_lsh_state *s, size_t threads, CInterrupt interrupt, kh_run_map *map,
                    size_t *runs);
/* Frees the map's arrays (an empty map is a no-op). */
void kh_run_map_free(kh_run_map *map);

/* Whether rows a and b share band `band`: with full values, that band
 * byte for byte; else the same run of that band (map: kh_run_map_make;
 * NULL when the caller knows they are in one run) and, with codes, the
 * band's codes equal too, as a search verifies (equal codes alone may come
 * from different values, in different runs). */
static inline bool kh_rows_share_band(const kh_lsh_state *s, const kh_run_map *map, uint32_t a,
                                      uint32_t b, size_t band) {
    if (map != NULL && !kh_has_full_raw(s)) {
        uint32_t run = kh_run_map_row(map, a)[band];
        if (run == KH_NO_RUN || run != kh_run_map_row(map, b)[band]) return false;
    }
    if (s->raw == NULL) return true;
    return memcmp(kh_raw_row(s, a) + band * s->raw_band_bytes,
                  kh_raw_row(s, b) + band * s->raw_band_bytes, s->raw_band_bytes) == 0;
}

/* The score of rows a and b as a search reports it (equal values with raw
 * data, else bands in which they share a run), whether or not they share a
 * band. */
uint32_t kh_rows_score(const kh_lsh_state *s, const kh_run_map *map, uint32_t a, uint32_t b);

#endif
