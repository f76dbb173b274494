/* The MinHash-LSH index: creation, build, add, accessors. Searches are in
 * minhash_lsh_search.c.
 *
 * Build and add prepare a complete new state on the side (a build: every
 * band's keys hashed in parallel over rows, then the band tables, one task
 * per band; an add: one task per band plus raw-data copy tasks) and swap it
 * in only when everything succeeded; what is discarded is freed off the
 * calling thread when it is large. */
#include <stdlib.h>
#include <string.h>

#include "deferred_free.h"
#include "internal.h"
#include "minhash_lsh_internal.h"
#include "raw_codes.h"
#include "xxh3.h"

enum { RAW_COPY_CHUNK = 4u << 20 };

/* ---- guard -------------------------------------------------------------- */

int kh_minhash_lsh_enter_writer(knowhere_minhash_lsh *index, bool exclusive,
                                knowhere_error **err) {
    bool expected = false;
    if (!atomic_compare_exchange_strong(&index->writer, &expected, true))
        return kh_errorf(err, KNOWHERE_ERR_BUSY,
                         "index is busy: another build, add, remove or load is changing it");
    if (!exclusive) return KNOWHERE_OK;
    atomic_store(&index->exclusive, true);
    if (atomic_load(&index->readers) != 0) {
        atomic_store(&index->exclusive, false);
        atomic_store(&index->writer, false);
        return kh_errorf(err, KNOWHERE_ERR_BUSY,
                         "index is busy: a search or save is reading it");
    }
    return KNOWHERE_OK;
}

void kh_minhash_lsh_leave_writer(knowhere_minhash_lsh *index) {
    atomic_store(&index->exclusive, false);
    atomic_store(&index->writer, false);
}

int kh_minhash_lsh_enter_reader(knowhere_minhash_lsh *index, const kh_lsh_state **state,
                                knowhere_error **err) {
    *state = NULL;
    atomic_fetch_add(&index->readers, 1);
    if (atomic_load(&index->exclusive)) {
        atomic_fetch_sub(&index->readers, 1);
        return kh_errorf(err, KNOWHERE_ERR_BUSY,
                         "index is busy: an add or remove is changing it");
    }
    pthread_mutex_lock(&index->lock);
    kh_lsh_state *s = index->state;
    if (s) s->refs++;
    pthread_mutex_unlock(&index->lock);
    *state = s;
    return KNOWHERE_OK;
}

void kh_minhash_lsh_leave_reader(knowhere_minhash_lsh *index, const kh_lsh_state *state) {
    if (state) {
        kh_lsh_state *s = (kh_lsh_state *)state;
        pthread_mutex_lock(&index->lock);
        bool last = --s->refs == 0 && s->retired;
        pthread_mutex_unlock(&index->lock);
        if (last) kh_lsh_state_release(s); /* replaced by a build or load meanwhile */
    }
    atomic_fetch_sub(&index->readers, 1);
}

/* ---- state -------------------------------------------------------------- */

const uint8_t *kh_raw_row(const kh_lsh_state *s, size_t id) {
    size_t lo = 0, hi = s->raw_segments;
    while (hi - lo > 1) { /* last segment with first_id <= id */
        size_t mid = lo + (hi - lo) / 2;
        if (s->raw[mid].first_id <= id) lo = mid;
        else hi = mid;
    }
    const kh_raw_segment *seg = &s->raw[lo];
    return seg->data + (id - seg->first_id) * s->raw_row_bytes;
}

uint64_t kh_band_key(const kh_lsh_state *s, const uint8_t *signature, size_t band) {
    return kh_xxh3_64(signature + band * s->band_bytes, s->band_bytes);
}

static void discard_tables(kh_garbage *bag, kh_lsh_table *tables, size_t bands) {
    if (tables == NULL) return;
    for (size_t b = 0; b < bands; ++b) {
        kh_garbage_add(bag, tables[b].entries, kh_lsh_table_rows(&tables[b]) * sizeof(kh_lsh_entry));
        kh_garbage_add(bag, tables[b].dir, ((size_t)4 << tables[b].layout.prefix_bits));
    }
    kh_garbage_add(bag, tables, 0);
}

static void discard_deltas(kh_garbage *bag, kh_lsh_delta *deltas, size_t bands) {
    if (deltas == NULL) return;
    for (size_t b = 0; b < bands; ++b) {
        kh_garbage_add(bag, deltas[b].keys, deltas[b].keys_capacity * sizeof *deltas[b].keys);
        kh_garbage_add(bag, deltas[b].same, deltas[b].same_capacity * sizeof *deltas[b].same);
        kh_garbage_add(bag, deltas[b].slots, deltas[b].capacity * sizeof *deltas[b].slots);
    }
    kh_garbage_add(bag, deltas, 0);
}

/* Puts a state's memory in the bag. */
static void discard_state(kh_garbage *bag, kh_lsh_state *s) {
    if (s == NULL) return;
    discard_tables(bag, s->tables, s->bands);
    discard_deltas(bag, s->deltas, s->bands);
    for (size_t i = 0; i < s->raw_segments; ++i)
        kh_garbage_add(bag, s->raw[i].data, s->raw[i].capacity * s->raw_row_bytes);
    kh_garbage_add(bag, s->raw, 0);
    kh_garbage_add(bag, s->removed, s->removed_capacity);
    kh_garbage_add(bag, s->app_data, s->app_bytes);
    kh_garbage_add(bag, s, 0);
}

void kh_lsh_state_release(kh_lsh_state *s) {
    kh_garbage *bag = kh_garbage_new();
    discard_state(bag, s);
    kh_garbage_release(bag);
}

/* The layout every band's table takes when its delta is merged for
 * `count` rows: as wide as a build of them, and never narrower than a
 * band's table is already (the key bits stay the first build's). */
static kh_lsh_layout merged_layout(const kh_lsh_state *s, size_t count) {
    kh_lsh_layout to = {kh_lsh_prefix_bits(count), s->tables[0].layout.key_bits};
    for (size_t b = 0; b < s->bands; ++b)
        if (s->tables[b].layout.prefix_bits > to.prefix_bits)
            to.prefix_bits = s->tables[b].layout.prefix_bits;
    return to;
}

size_t kh_lsh_state_memory(const kh_lsh_state *s) {
    size_t bytes = sizeof *s;
    for (size_t b = 0; b < s->bands; ++b)
        bytes += sizeof *s->tables + kh_lsh_table_bytes(kh_lsh_table_rows(&s->tables[b]),
                                                        s->tables[b].layout.prefix_bits);
    if (s->deltas)
        for (size_t b = 0; b < s->bands; ++b)
            bytes += sizeof *s->deltas + kh_lsh_delta_bytes(&s->deltas[b]);
    for (size_t i = 0; i < s->raw_segments; ++i)
        bytes += sizeof *s->raw + s->raw[i].capacity * s->raw_row_bytes;
    return bytes + s->removed_capacity + s->app_bytes;
}

/* ---- the parallel work of build, merge and add ---------------------------- */

/* What a build, an add or a flattening does, one task per band plus tasks
 * copying the new raw rows:
 *  - BUILD: each band's table from the keys of the new rows (build_tables:
 *    tasks over rows, then over bands);
 *  - MERGE: each band's delta (after appending the new rows' keys) merged
 *    with its table into a new table of layout `to`;
 *  - COMPACT: each band's delta merged with its table into a table of
 *    layout `to` that replaces the band's table at once (no new rows);
 *  - DELTA: the new rows' keys inserted into each band's delta. */
typedef enum { WORK_BUILD, WORK_MERGE, WORK_COMPACT, WORK_DELTA } work_kind;

typedef struct {
    work_kind kind;
    const kh_lsh_state *s;       /* the state made or changed */
    kh_lsh_state *compacted;     /* COMPACT: the same state, changed in place */
    kh_lsh_table *tables;        /* [bands]: the tables made (BUILD, MERGE) */
    kh_lsh_layout to;            /* their layout */
    const uint8_t *data;         /* the new signatures (NULL: none) */
    size_t rows;                 /* how many */
    size_t first_id;             /* the id of the first */
    kh_raw_segment *raw_dest[2]; /* where they are copied (up to two segments), or NULL */
    size_t raw_chunks;
    kh_lsh_scratch *scratch;     /* [threads] */
    /* BUILD (build_tables): each band's keys ([bands][rows]; NULL once
     * made into its table), and which step runs: hashing rows_per_task
     * rows per task, or one table per task. */
    uint64_t **band_keys;
    size_t rows_per_task;
    bool hashing;
} table_work;

static size_t rows_per_poll(size_t bytes_per_row) {
    size_t rows = (256u << 10) / (bytes_per_row ? bytes_per_row : 1);
    return rows < 1 ? 1 : rows > 1024 ? 1024 : rows;
}

/* keys[i] = the key of band `band` of new row i. */
static int compute_band_keys(const table_work *w, size_t band, uint64_t *keys, kh_job *job) {
    const kh_lsh_state *s = w->s;
    const uint8_t *p = w->data + band * s->band_bytes;
    size_t poll = rows_per_poll(s->band_bytes);
    /* A stretch of rows per call: the hashes inline into one loop. */
    for (size_t i = 0; i < w->rows; i += poll) {
        if (kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        size_t n = w->rows - i < poll ? w->rows - i : poll;
        kh_xxh3_64_strided(p + i * s->signature_bytes, s->signature_bytes, s->band_bytes, n,
                           keys + i);
        kh_job_advance(job, n);
    }
    return KNOWHERE_OK;
}

/* Whether band `band` is merged already: no delta, and layout `to`. */
static bool band_is_compact(const kh_lsh_state *s, size_t band, kh_lsh_layout to) {
    return kh_lsh_band_delta(s, band) == NULL &&
           s->tables[band].layout.prefix_bits == to.prefix_bits;
}

/* Progress units: each band counts its new rows twice (hashing, then the
 * table or delta), and the raw copy counts them once; a compaction counts
 * the rows of the deltas it merges, plus one per band it rewrites. */
static uint64_t total_units(const table_work *w) {
    if (w->kind == WORK_COMPACT) {
        uint64_t units = 0;
        for (size_t b = 0; b < w->s->bands; ++b)
            if (!band_is_compact(w->s, b, w->to))
                units += 1 + (w->s->deltas ? w->s->deltas[b].count : 0);
        return units;
    }
    return (uint64_t)w->rows * (2 * w->s->bands + (w->raw_dest[0] ? 1 : 0));
}

static bool reserve_keys(kh_lsh_scratch *scratch, size_t rows) {
    if (scratch->keys_capacity >= rows) return true;
    free(scratch->keys);
    scratch->keys = malloc((rows ? rows : 1) * sizeof *scratch->keys);
    scratch->keys_capacity = scratch->keys ? rows : 0;
    return scratch->keys != NULL;
}

/* Merges band `band`'s delta into its table (layout `to`) and puts the
 * result in the band's place at once, freeing the old table and delta:
 * a compaction holds at most one new table per thread on top of the index.
 * The band answers as before; on failure it is unchanged. */
static int compact_band(kh_lsh_state *s, size_t band, kh_lsh_layout to, kh_lsh_scratch *scratch,
                        kh_job *job) {
    if (band_is_compact(s, band, to)) return KNOWHERE_OK;
    kh_lsh_delta none = {0};
    kh_lsh_delta *d = s->deltas ? &s->deltas[band] : &none;
    size_t merged_rows = d->count;
    kh_lsh_table merged;
    int status = kh_lsh_table_merge(&merged, &s->tables[band], d, to, scratch, job);
    if (status != KNOWHERE_OK) {
        kh_lsh_table_free(&merged);
        return status;
    }
    kh_lsh_table_free(&s->tables[band]);
    s->tables[band] = merged;
    kh_lsh_delta_free(d);
    d->first_id = (uint32_t)kh_lsh_table_rows(&merged);
    kh_job_advance(job, 1 + merged_rows);
    return KNOWHERE_OK;
}

static int band_task(table_work *w, size_t band, kh_lsh_scratch *scratch, kh_job *job) {
    const kh_lsh_state *s = w->s;
    int status = KNOWHERE_OK;
    switch (w->kind) {
    case WORK_BUILD: return KNOWHERE_ERR_INVALID_ARG; /* builds run build_task */
    case WORK_MERGE: {
        /* The delta's keys array has room (reserved up front); its count
         * only grows here, for this merge, and is put back by the caller. */
        kh_lsh_delta none = {0};
        kh_lsh_delta *d = s->deltas ? &s->deltas[band] : &none;
        if (w->rows) status = compute_band_keys(w, band, d->keys + d->count, job);
        if (status != KNOWHERE_OK) break;
        kh_lsh_delta all = *d;
        all.count += w->rows;
        status = kh_lsh_table_merge(&w->tables[band], &s->tables[band], &all, w->to, scratch, job);
        break;
    }
    case WORK_COMPACT: return compact_band(w->compacted, band, w->to, scratch, job);
    case WORK_DELTA: {
        if (!reserve_keys(scratch, w->rows)) return KNOWHERE_ERR_NO_MEMORY;
        status = compute_band_keys(w, band, scratch->keys, job);
        kh_lsh_delta *d = &s->deltas[band];
        for (size_t i = 0; i < w->rows && status == KNOWHERE_OK; ++i) {
            if ((i & KH_STOP_POLL_MASK) == KH_STOP_POLL_MASK && kh_job_should_stop(job))
                status = KNOWHERE_ERR_INTERRUPTED;
            else
                kh_lsh_delta_insert(d, scratch->keys[i]);
        }
        break;
    }
    }
    if (status == KNOWHERE_OK) kh_job_advance(job, w->rows);
    return status;
}

/* Stores the new rows [begin, end) in their segments, in the raw form
 * (kh_raw_store: a copy, or codes): the first segment's spare rows, then
 * the second segment. */
static void copy_raw_rows(const table_work *w, size_t begin, size_t end) {
    const kh_lsh_state *s = w->s;
    const kh_raw_segment *first = w->raw_dest[0];
    size_t room = first->capacity - first->rows;
    if (begin < room) {
        size_t n = (end < room ? end : room) - begin;
        kh_raw_store(s, w->data + begin * s->signature_bytes, n,
                     first->data + (first->rows + begin) * s->raw_row_bytes);
        begin += n;
    }
    if (begin < end)
        kh_raw_store(s, w->data + begin * s->signature_bytes, end - begin,
                     w->raw_dest[1]->data + (begin - room) * s->raw_row_bytes);
}

/* Rows of a copy task (RAW_COPY_CHUNK bytes of input), and of a stretch
 * between polls (256 KiB of input); at least one. */
static size_t raw_rows_per(size_t bytes, size_t signature_bytes) {
    size_t rows = bytes / signature_bytes;
    return rows ? rows : 1;
}

static int copy_raw_chunk(table_work *w, size_t chunk, kh_job *job) {
    size_t per_chunk = raw_rows_per(RAW_COPY_CHUNK, w->s->signature_bytes);
    size_t per_poll = raw_rows_per(256u << 10, w->s->signature_bytes);
    size_t begin = chunk * per_chunk;
    size_t end = w->rows - begin > per_chunk ? begin + per_chunk : w->rows;
    for (size_t at = begin; at < end; at += per_poll) {
        if (kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        copy_raw_rows(w, at, end - at < per_poll ? end : at + per_poll);
    }
    kh_job_advance(job, end - begin);
    return KNOWHERE_OK;
}

static int build_task(table_work *w, size_t task, kh_lsh_scratch *scratch, kh_job *job);

static int table_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    table_work *w = ctx;
    if (w->kind == WORK_BUILD) return build_task(w, task, &w->scratch[worker], job);
    if (task < w->s->bands) return band_task(w, task, &w->scratch[worker], job);
    return copy_raw_chunk(w, task - w->s->bands, job);
}

/* Frees the per-thread scratch of `w` (off the calling thread when large). */
static void discard_scratch(table_work *w, size_t threads) {
    if (w->scratch == NULL) return;
    kh_garbage *bag = kh_garbage_new();
    for (size_t t = 0; t < threads; ++t) {
        kh_garbage_add(bag, w->scratch[t].keys, w->scratch[t].keys_capacity * 8);
        kh_garbage_add(bag, w->scratch[t].cursor, w->scratch[t].cursor_capacity * 4);
        kh_garbage_add(bag, w->scratch[t].sort_buffer, w->scratch[t].sort_capacity * 8);
        kh_garbage_add(bag, w->scratch[t].spare, w->rows * 8);
    }
    kh_garbage_add(bag, w->scratch, 0);
    kh_garbage_release(bag);
    w->scratch = NULL;
}

/* Runs the band and copy tasks for `w` on up to `threads` threads. */
static int run_table_work(size_t threads, table_work *w, int phase, CInterrupt interrupt) {
    /* Few rows: one thread, no thread start-up (a single add costs a few
     * hundred nanoseconds per band). */
    if (w->kind == WORK_DELTA && w->rows < 4096) threads = 1;
    if (threads > w->s->bands + 1) threads = w->s->bands + 1;
    w->scratch = calloc(threads, sizeof *w->scratch);
    if (w->scratch == NULL) return KNOWHERE_ERR_NO_MEMORY;
    size_t per_chunk = raw_rows_per(RAW_COPY_CHUNK, w->s->signature_bytes);
    w->raw_chunks = w->raw_dest[0] ? (w->rows + per_chunk - 1) / per_chunk : 0;
    /* A flattening for a reader (phase IDLE) reports nothing: the reader
     * reports its own progress on the flag. */
    kh_progress progress;
    if (phase != KNOWHERE_PHASE_IDLE) kh_progress_begin(&progress, interrupt, phase, total_units(w));
    int status = kh_run_parallel(threads, w->s->bands + w->raw_chunks, table_task, w, interrupt,
                                 phase != KNOWHERE_PHASE_IDLE ? &progress : NULL);
    if (phase != KNOWHERE_PHASE_IDLE) kh_progress_end(&progress, status);
    discard_scratch(w, threads);
    return status;
}

/* ---- build: band keys hashed a row at a time ------------------------------- */

/* A build first hashes every band's key of every row, a row at a time
 * (its bands are adjacent bytes, read once), into one array per band, in
 * parallel over rows; then makes the tables, one task per band. Hashing
 * band by band, as adds do, read a new cache line per row and band: 9-30
 * ns per key, against 3.4-5.6 ns for a row's 16 keys at once (100k / 1M
 * rows of 512 bytes, measured alone).
 *
 * The keys take 8 bytes per row and band, as a table's entries do: each
 * band's table is made in the memory of the keys of the band its thread
 * did before (kh_lsh_scratch.spare), so a build holds the keys, the
 * tables made and one spare array per thread: (bands + threads) * 8 bytes
 * per row, the same peak as when each thread hashed one band into its own
 * array. And only `threads` tables' entries are new memory: the first
 * touch of a page costs about as much as the rest of a table. */
enum { MIN_ROWS_PER_TASK = 1024, KEY_STRETCH = 16, PREFETCH_ROWS = 8 };

/* Asks for row `row` (if there is one) ahead of its hashing. */
static void prefetch_row(const table_work *w, size_t row) {
#if defined(__GNUC__) || defined(__clang__)
    if (row >= w->rows) return;
    const uint8_t *p = w->data + row * w->s->signature_bytes;
    size_t bytes = w->s->signature_bytes < 1024 ? w->s->signature_bytes : 1024;
    for (size_t at = 0; at < bytes; at += 64) __builtin_prefetch(p + at);
#else
    (void)w, (void)row;
#endif
}

/* The keys of rows [begin, end), and their raw copy (while the rows are
 * in cache: a separate copy read them again from memory). */
static int hash_rows(table_work *w, size_t begin, size_t end, kh_job *job) {
    const kh_lsh_state *s = w->s;
    size_t sig = s->signature_bytes, poll = rows_per_poll(sig);
    bool copy = w->raw_dest[0] != NULL;
    uint64_t keys[KEY_STRETCH];
    for (size_t at = begin; at < end; at += poll) {
        if (kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        size_t stop = end - at < poll ? end : at + poll;
        for (size_t i = at; i < stop; ++i) {
            prefetch_row(w, i + PREFETCH_ROWS);
            for (size_t b = 0; b < s->bands; b += KEY_STRETCH) {
                size_t n = s->bands - b < KEY_STRETCH ? s->bands - b : KEY_STRETCH;
                kh_xxh3_64_strided(w->data + i * sig + b * s->band_bytes, s->band_bytes,
                                   s->band_bytes, n, keys);
                for (size_t j = 0; j < n; ++j) w->band_keys[b + j][i] = keys[j];
            }
        }
        if (copy) copy_raw_rows(w, at, stop);
        kh_job_advance(job, (stop - at) * (s->bands + (copy ? 1 : 0)));
    }
    return KNOWHERE_OK;
}

/* Band `band`'s table, in the thread's spare array (or new memory); the
 * band's keys become the spare. */
static int build_band_table(table_work *w, size_t band, kh_lsh_scratch *scratch, kh_job *job) {
    uint64_t *keys = w->band_keys[band];
    kh_lsh_entry *entries = (kh_lsh_entry *)scratch->spare;
    scratch->spare = NULL;
    int status = kh_lsh_table_build(&w->tables[band], keys, w->rows, (uint32_t)w->first_id,
                                    w->to, entries, scratch, job);
    w->band_keys[band] = NULL;
    scratch->spare = keys;
    if (status == KNOWHERE_OK) kh_job_advance(job, w->rows);
    return status;
}

static int build_task(table_work *w, size_t task, kh_lsh_scratch *scratch, kh_job *job) {
    if (!w->hashing) return build_band_table(w, task, scratch, job);
    size_t begin, end;
    kh_task_items(task, w->rows_per_task, w->rows, &begin, &end);
    return hash_rows(w, begin, end, job);
}

/* Frees the band key arrays not made into tables. */
static void discard_band_keys(table_work *w) {
    if (w->band_keys == NULL) return;
    kh_garbage *bag = kh_garbage_new();
    for (size_t b = 0; b < w->s->bands; ++b)
        kh_garbage_add(bag, w->band_keys[b], w->rows * sizeof(uint64_t));
    kh_garbage_add(bag, w->band_keys, 0);
    kh_garbage_release(bag);
    w->band_keys = NULL;
}

static bool alloc_band_keys(table_work *w) {
    size_t bands = w->s->bands, bytes = (w->rows ? w->rows : 1) * sizeof(uint64_t);
    w->band_keys = calloc(bands, sizeof *w->band_keys);
    for (size_t b = 0; w->band_keys != NULL && b < bands; ++b) {
        if ((w->band_keys[b] = malloc(bytes)) == NULL) return false;
        kh_advise_huge_pages(w->band_keys[b], bytes);
    }
    return w->band_keys != NULL;
}

/* A build's tables and raw copy: keys in parallel over rows, then tables
 * in parallel over bands. */
static int build_tables(size_t threads, table_work *w, CInterrupt interrupt) {
    _Static_assert(sizeof(kh_lsh_entry) == sizeof(uint64_t), "a key's array holds a table");
    w->scratch = calloc(threads, sizeof *w->scratch);
    int status = w->scratch != NULL && alloc_band_keys(w) ? KNOWHERE_OK : KNOWHERE_ERR_NO_MEMORY;
    w->rows_per_task = kh_items_per_task(w->rows, threads, 4, SIZE_MAX);
    if (w->rows_per_task < MIN_ROWS_PER_TASK) w->rows_per_task = MIN_ROWS_PER_TASK;
    kh_progress progress;
    kh_progress_begin(&progress, interrupt, KNOWHERE_PHASE_BUILD, total_units(w));
    if (status == KNOWHERE_OK) {
        w->hashing = true;
        status = kh_run_parallel(threads, kh_task_count(w->rows, w->rows_per_task), table_task,
                                 w, interrupt, &progress);
        w->hashing = false;
    }
    if (status == KNOWHERE_OK)
        status = kh_run_parallel(threads, w->s->bands, table_task, w, interrupt, &progress);
    kh_progress_end(&progress, status);
    discard_band_keys(w);
    discard_scratch(w, threads);
    return status;
}

void kh_minhash_lsh_publish(knowhere_minhash_lsh *index, kh_lsh_state *next) {
    next->memory_bytes = kh_lsh_state_memory(next);
    pthread_mutex_lock(&index->lock);
    kh_lsh_state *prev = index->state;
    index->state = next;
    bool in_use = prev != NULL && prev != next && prev->refs > 0;
    if (in_use) prev->retired = true; /* the last reader frees it */
    pthread_mutex_unlock(&index->lock);
    kh_lsh_summary *sum = &index->summary;
    atomic_store(&sum->count, next->count);
    atomic_store(&sum->length, next->length);
    atomic_store(&sum->element_size, next->element_size);
    atomic_store(&sum->bands, next->bands);
    atomic_store(&sum->rows_per_band, next->rows_per_band);
    atomic_store(&sum->memory_bytes, next->memory_bytes);
    atomic_store(&sum->has_raw, kh_has_full_raw(next));
    atomic_store(&sum->raw_bits, next->raw ? next->raw_bits : 0);
    atomic_store(&sum->removed_count, next->removed_count);
    if (!in_use && prev != next) kh_lsh_state_release(prev);
}

/* The message for a failed build or add. */
static int failure(int status, const char *what, knowhere_error **err) {
    switch (status) {
    case KNOWHERE_OK: return KNOWHERE_OK;
    case KNOWHERE_ERR_NO_MEMORY:
        return kh_errorf(err, status, "out of memory during %s", what);
    case KNOWHERE_ERR_INTERRUPTED:
    case KNOWHERE_ERR_TIMEOUT: return kh_stopped_error(err, status, what, "");
    default:
        return kh_errorf(err, status, "%s failed: %s", what, knowhere_status_string(status));
    }
}

/* Finishes a build: swaps in `next` on success, or discards it. */
static int finish_build(knowhere_minhash_lsh *index, kh_lsh_state *next, int status,
                        knowhere_error **err) {
    if (status == KNOWHERE_OK) kh_minhash_lsh_publish(index, next);
    else kh_lsh_state_release(next);
    kh_minhash_lsh_leave_writer(index);
    return failure(status, "build", err);
}

/* ---- flattening (for readers that walk whole tables) -------------------------- */

int kh_lsh_flat_state(const kh_lsh_state *s, size_t threads, CInterrupt interrupt,
                      const kh_lsh_state **flat) {
    *flat = s;
    if (kh_lsh_state_is_flat(s)) return KNOWHERE_OK;
    kh_lsh_state *copy = malloc(sizeof *copy);
    if (copy == NULL) return KNOWHERE_ERR_NO_MEMORY;
    *copy = *s;
    copy->deltas = NULL;
    copy->tables = calloc(s->bands, sizeof *copy->tables);
    table_work w = {.kind = WORK_MERGE, .s = s, .tables = copy->tables,
                    .to = merged_layout(s, s->count)};
    int status = copy->tables ? run_table_work(threads, &w, KNOWHERE_PHASE_IDLE, interrupt)
                              : KNOWHERE_ERR_NO_MEMORY;
    if (status != KNOWHERE_OK) {
        kh_lsh_flat_state_free(s, copy);
        return status;
    }
    *flat = copy;
    return KNOWHERE_OK;
}

void kh_lsh_flat_state_free(const kh_lsh_state *s, const kh_lsh_state *flat) {
    if (flat == NULL || flat == s) return;
    kh_lsh_state *copy = (kh_lsh_state *)flat;
    kh_garbage *bag = kh_garbage_new();
    discard_tables(bag, copy->tables, copy->bands);
    kh_garbage_add(bag, copy, 0);
    kh_garbage_release(bag);
}

/* ---- validation ------------------------------------------------------------ */

static int check_rows(const uint8_t *data, size_t data_len, size_t signature_bytes,
                      size_t existing, size_t *rows, knowhere_error **err) {
    /* The length first: an empty buffer often arrives as NULL (koffi passes
     * an empty TypedArray so), and its length is the better message. */
    if (data_len != 0 && data == NULL)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "data is NULL");
    if (data_len == 0 || data_len % signature_bytes != 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "data_len %zu is not a positive multiple of the signature "
                         "size %zu (mh_vec_length * mh_vec_element_size)",
                         data_len, signature_bytes);
    *rows = data_len / signature_bytes;
    if (*rows > KH_MAX_SIGNATURES - existing)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "too many signatures: %zu + %zu exceeds the limit of %zu",
                         existing, *rows, KH_MAX_SIGNATURES);
    return KNOWHERE_OK;
}

static int check_build_params(size_t length, size_t element_size, size_t bands,
                              size_t *signature_bytes, knowhere_error **err) {
    if (length == 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "mh_vec_length must be at least 1");
    if (element_size < 1 || element_size > 32)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "mh_vec_element_size %zu is not in 1..32", element_size);
    if (bands == 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "bands must be at least 1");
    if (length > SIZE_MAX / element_size)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "signature size overflows: mh_vec_length %zu * "
                         "mh_vec_element_size %zu", length, element_size);
    *signature_bytes = length * element_size;
    return KNOWHERE_OK;
}

/* ---- public API --------------------------------------------------------- */

knowhere_minhash_lsh *knowhere_minhash_lsh_create(void) {
    knowhere_minhash_lsh *index = calloc(1, sizeof *index);
    if (index == NULL) return NULL;
    if (pthread_mutex_init(&index->lock, NULL) != 0) {
        free(index);
        return NULL;
    }
    kh_lsh_summary *sum = &index->summary;
    atomic_init(&sum->count, 0);
    atomic_init(&sum->length, 0);
    atomic_init(&sum->element_size, 0);
    atomic_init(&sum->bands, 0);
    atomic_init(&sum->rows_per_band, 0);
    atomic_init(&sum->memory_bytes, 0);
    atomic_init(&sum->has_raw, false);
    atomic_init(&sum->raw_bits, 0);
    atomic_init(&index->raw_bits, 0);
    atomic_init(&sum->removed_count, 0);
    atomic_init(&index->threads, 0);
    atomic_init(&index->readers, 0);
    atomic_init(&index->writer, false);
    atomic_init(&index->exclusive, false);
    return index;
}

void knowhere_minhash_lsh_free(knowhere_minhash_lsh *index) {
    if (index == NULL) return;
    kh_lsh_state_release(index->state);
    pthread_mutex_destroy(&index->lock);
    free(index);
}

int knowhere_minhash_lsh_build_with_interrupt(
    knowhere_minhash_lsh *index, const uint8_t *data, size_t data_len,
    size_t mh_vec_length, size_t mh_vec_element_size, size_t bands,
    bool with_raw_data, CInterrupt interrupt, knowhere_error **err) {
    kh_clear_error(err);
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    size_t signature_bytes = 0, rows = 0;
    int status = check_build_params(mh_vec_length, mh_vec_element_size, bands,
                                    &signature_bytes, err);
    if (status == KNOWHERE_OK)
        status = check_rows(data, data_len, signature_bytes, 0, &rows, err);
    if (status != KNOWHERE_OK) return status;
    status = knowhere_interrupt_check(interrupt, NULL, NULL);
    if (status != KNOWHERE_OK) return kh_stopped_error(err, status, "build", "");
    uint32_t raw_bits = with_raw_data ? atomic_load(&index->raw_bits) : 0;
    if (raw_bits != 0 && raw_bits / 8 >= mh_vec_element_size)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "raw bits %u: codes of %u bytes need values wider than that, but "
                         "mh_vec_element_size is %zu (keep full values: raw bits 0)",
                         raw_bits, raw_bits / 8, mh_vec_element_size);
    status = kh_minhash_lsh_enter_writer(index, false, err);
    if (status != KNOWHERE_OK) return status;

    kh_lsh_state *next = calloc(1, sizeof *next);
    if (next == NULL) {
        kh_minhash_lsh_leave_writer(index);
        return kh_errorf(err, KNOWHERE_ERR_NO_MEMORY, "out of memory during build");
    }
    if (bands > mh_vec_length) bands = mh_vec_length; /* knowhere: bands of one value */
    *next = (kh_lsh_state){
        .count = rows, .length = mh_vec_length, .element_size = mh_vec_element_size,
        .bands = bands, .rows_per_band = mh_vec_length / bands,
        .signature_bytes = signature_bytes,
        .band_bytes = (mh_vec_length / bands) * mh_vec_element_size,
    };
    kh_raw_form_init(next, raw_bits);
    next->tables = calloc(bands, sizeof *next->tables);
    table_work work = {.kind = WORK_BUILD, .s = next, .tables = next->tables,
                       .to = kh_lsh_build_layout(rows), .data = data, .rows = rows};
    status = next->tables ? KNOWHERE_OK : KNOWHERE_ERR_NO_MEMORY;
    if (status == KNOWHERE_OK && with_raw_data) {
        next->raw = calloc(1, sizeof *next->raw);
        uint8_t *copy = malloc(rows * next->raw_row_bytes);
        kh_advise_huge_pages(copy, rows * next->raw_row_bytes);
        if (next->raw && copy) {
            next->raw[0] = (kh_raw_segment){copy, 0, 0, rows};
            next->raw_segments = next->raw_segments_capacity = 1;
            work.raw_dest[0] = &next->raw[0];
        } else {
            free(copy);
            status = KNOWHERE_ERR_NO_MEMORY;
        }
    }
    if (status == KNOWHERE_OK) status = build_tables(kh_minhash_lsh_threads(index), &work, interrupt);
    if (status == KNOWHERE_OK && next->raw) next->raw[0].rows = rows;
    return finish_build(index, next, status, err);
}

int knowhere_minhash_lsh_build(knowhere_minhash_lsh *index, const uint8_t *data,
                               size_t data_len, size_t mh_vec_length,
                               size_t mh_vec_element_size, size_t bands,
                               bool with_raw_data, knowhere_error **err) {
    return knowhere_minhash_lsh_build_with_interrupt(index, data, data_len, mh_vec_length,
                                                     mh_vec_element_size, bands,
                                                     with_raw_data, NULL, err);
}

/* ---- add ----------------------------------------------------------------------- */

/* Adds go to the deltas until these hold more than a quarter of the rows
 * (and more than a few thousand), or an eighth once they take more than
 * DELTA_LARGE_BYTES; then one add merges them into the tables (a
 * compaction, band by band). A merge costs about as much as building the
 * tables of the rows merged since the last one, so an add costs O(bands)
 * amortized, and searches probe a delta of at most a quarter of the rows.
 * The eighth bounds the memory of large indexes: a delta row costs 20 to
 * 30 bytes per band, a table row 8.5, and at 10^7 rows a quarter of them
 * in deltas was a gigabyte, most of the peak of a run. */
#define DELTA_MERGE_MIN 4096
#define DELTA_LARGE_BYTES ((size_t)256 << 20)

static bool should_merge(size_t table_rows, size_t delta_rows, size_t delta_bytes) {
    size_t rows = table_rows + delta_rows;
    return delta_rows > DELTA_MERGE_MIN &&
           (delta_rows > rows / 4 || (delta_bytes > DELTA_LARGE_BYTES && delta_rows > rows / 8));
}

/* The bytes of the deltas with `more` rows added to them (as they grow). */
static size_t delta_bytes_after(const kh_lsh_state *s, size_t more) {
    size_t bytes = 0;
    for (size_t b = 0; s->deltas != NULL && b < s->bands; ++b) {
        const kh_lsh_delta *d = &s->deltas[b];
        bytes += kh_lsh_delta_bytes(d) + more * (sizeof *d->keys + sizeof *d->same + 2 * sizeof *d->slots);
    }
    return bytes;
}


/* Makes room for `rows` more raw rows: the last segment's spare capacity
 * and, when that is too small, a new segment (*added_segment). */
static bool reserve_raw(kh_lsh_state *s, size_t rows, bool *added_segment) {
    *added_segment = false;
    kh_raw_segment *last = &s->raw[s->raw_segments - 1];
    size_t spare = last->capacity - last->rows;
    if (spare >= rows) return true;
    if (s->raw_segments == s->raw_segments_capacity) {
        size_t capacity = 2 * s->raw_segments_capacity;
        kh_raw_segment *grown = realloc(s->raw, capacity * sizeof *grown);
        if (grown == NULL) return false;
        s->raw = grown;
        s->raw_segments_capacity = capacity;
        last = &s->raw[s->raw_segments - 1];
    }
    size_t need = rows - spare, capacity = s->count / 2 > need ? s->count / 2 : need;
    if (capacity < 64) capacity = 64;
    uint8_t *data = malloc(capacity * s->raw_row_bytes);
    if (data == NULL) return false;
    kh_advise_huge_pages(data, capacity * s->raw_row_bytes);
    s->raw[s->raw_segments++] = (kh_raw_segment){data, last->first_id + last->capacity, 0, capacity};
    /* The last segment is full from now on: its spare rows are the first
     * of this add (first_id of the new one counts them). */
    *added_segment = true;
    return true;
}

/* Takes back reserve_raw's new segment. */
static void unreserve_raw(kh_lsh_state *s, bool added_segment) {
    if (!added_segment) return;
    kh_raw_segment *seg = &s->raw[--s->raw_segments];
    kh_free_deferred(seg->data, seg->capacity * s->raw_row_bytes);
}

/* Commits `rows` copied raw rows: the last full segment's spare, then the new one. */
static void commit_raw(kh_lsh_state *s, size_t rows, bool added_segment) {
    kh_raw_segment *last = &s->raw[s->raw_segments - 1 - (added_segment ? 1 : 0)];
    size_t take = last->capacity - last->rows < rows ? last->capacity - last->rows : rows;
    last->rows += take;
    if (added_segment) s->raw[s->raw_segments - 1].rows = rows - take;
}

/* Grows the removed-rows bitset (when there is one) to `count` rows. */
static bool reserve_removed(kh_lsh_state *s, size_t count) {
    size_t needed = (count + 7) / 8;
    if (s->removed == NULL || needed <= s->removed_capacity) return true;
    size_t capacity = 2 * s->removed_capacity > needed ? 2 * s->removed_capacity : needed;
    uint8_t *grown = realloc(s->removed, capacity);
    if (grown == NULL) return false;
    memset(grown + s->removed_capacity, 0, capacity - s->removed_capacity);
    s->removed = grown;
    s->removed_capacity = capacity;
    return true;
}

/* The deltas, made on first use (each starting at the first row after the
 * tables). They grow by doubling as rows come: reserving their final size
 * at once was measured slower (every insert then touches a fresh page of
 * a large zeroed array: 2.0 -> 3.0 us per single add at 1M rows). */
static bool ensure_deltas(kh_lsh_state *s) {
    if (s->deltas) return true;
    s->deltas = calloc(s->bands, sizeof *s->deltas);
    if (s->deltas == NULL) return false;
    for (size_t b = 0; b < s->bands; ++b)
        s->deltas[b].first_id = (uint32_t)kh_lsh_table_rows(&s->tables[b]);
    return true;
}

/* A few rows (a single add, typically): their keys hashed and inserted
 * here, a group of bands at a time with the slots prefetched so that the
 * cache misses overlap, and no task machinery. It takes microseconds, so
 * the interrupt checked on entry is checked often enough. */
enum { FEW_ROWS = 8, BAND_GROUP = 16 };

static void add_few_to_deltas(kh_lsh_state *s, const table_work *w) {
    uint64_t keys[BAND_GROUP][FEW_ROWS];
    for (size_t first = 0; first < s->bands; first += BAND_GROUP) {
        size_t bands = s->bands - first < BAND_GROUP ? s->bands - first : BAND_GROUP;
        for (size_t i = 0; i < w->rows; ++i) {
            /* A row's bands are consecutive: hashed in one strided loop. */
            uint64_t row_keys[BAND_GROUP];
            kh_xxh3_64_strided(w->data + i * s->signature_bytes + first * s->band_bytes,
                               s->band_bytes, s->band_bytes, bands, row_keys);
            for (size_t b = 0; b < bands; ++b) {
                keys[b][i] = row_keys[b];
                kh_lsh_delta_prefetch(&s->deltas[first + b], keys[b][i]);
            }
        }
        for (size_t b = 0; b < bands; ++b)
            for (size_t i = 0; i < w->rows; ++i) kh_lsh_delta_insert(&s->deltas[first + b], keys[b][i]);
    }
    if (w->raw_dest[0]) copy_raw_rows(w, 0, w->rows);
}

/* Inserts the new rows into the deltas; undoes every insert on failure. */
static int add_to_deltas(knowhere_minhash_lsh *index, kh_lsh_state *s, table_work *w,
                         CInterrupt interrupt) {
    for (size_t b = 0; b < s->bands; ++b)
        if (!kh_lsh_delta_reserve(&s->deltas[b], w->rows)) return KNOWHERE_ERR_NO_MEMORY;
    if (w->rows <= FEW_ROWS) {
        add_few_to_deltas(s, w);
        return KNOWHERE_OK;
    }
    int status = run_table_work(kh_minhash_lsh_threads(index), w, KNOWHERE_PHASE_ADD, interrupt);
    if (status != KNOWHERE_OK) /* every band's delta ended at row count - 1 before */
        for (size_t b = 0; b < s->bands; ++b)
            while (s->deltas[b].first_id + s->deltas[b].count > s->count)
                kh_lsh_delta_undo_last(&s->deltas[b]);
    return status;
}

/* Merges every band's delta into its table, band by band in place (see
 * compact_band): interrupted, the bands done stay merged and the others
 * keep their delta, and the index answers as before either way. */
static int compact_state(knowhere_minhash_lsh *index, kh_lsh_state *s, CInterrupt interrupt) {
    table_work w = {.kind = WORK_COMPACT, .s = s, .compacted = s,
                    .to = merged_layout(s, s->count)};
    if (kh_lsh_state_is_flat(s) && s->tables[0].layout.prefix_bits == w.to.prefix_bits)
        return KNOWHERE_OK;
    int status = run_table_work(kh_minhash_lsh_threads(index), &w, KNOWHERE_PHASE_ADD, interrupt);
    /* The deltas and merge buffers freed are mostly blocks of a few
     * megabytes: at 10^7 rows 0.6 GiB kept by the allocator otherwise. */
    kh_return_free_memory();
    return status;
}

/* Merges the (compacted, so empty) deltas and the new rows into new
 * tables, made on the side and swapped in on success: for an add of more
 * than a quarter of the rows, which a delta should not hold. */
static int merge_new_rows(knowhere_minhash_lsh *index, kh_lsh_state *s, table_work *w,
                          CInterrupt interrupt) {
    for (size_t b = 0; b < s->bands; ++b)
        if (!kh_lsh_delta_reserve_keys(&s->deltas[b], w->rows)) return KNOWHERE_ERR_NO_MEMORY;
    w->kind = WORK_MERGE;
    w->to = merged_layout(s, s->count + w->rows);
    w->tables = calloc(s->bands, sizeof *w->tables);
    int status = w->tables ? run_table_work(kh_minhash_lsh_threads(index), w, KNOWHERE_PHASE_ADD,
                                            interrupt)
                           : KNOWHERE_ERR_NO_MEMORY;
    kh_garbage *bag = kh_garbage_new();
    if (status == KNOWHERE_OK) {
        discard_tables(bag, s->tables, s->bands);
        discard_deltas(bag, s->deltas, s->bands);
        s->tables = w->tables;
        s->deltas = NULL;
    } else {
        discard_tables(bag, w->tables, s->bands);
    }
    kh_garbage_release(bag);
    return status;
}

/* Puts the new rows in: into the deltas, after merging these into the
 * tables when they are full; an add too large for a delta is merged at
 * once. Only the compaction, which changes no answer, may be left done
 * when a later step fails. */
static int add_rows(knowhere_minhash_lsh *index, kh_lsh_state *s, table_work *w,
                    CInterrupt interrupt) {
    size_t table_rows = kh_lsh_state_min_table_rows(s);
    int status = KNOWHERE_OK;
    if (should_merge(table_rows, s->count - table_rows + w->rows, delta_bytes_after(s, w->rows))) {
        status = compact_state(index, s, interrupt);
        if (status == KNOWHERE_OK && should_merge(s->count, w->rows, delta_bytes_after(s, w->rows)))
            return merge_new_rows(index, s, w, interrupt);
    }
    return status == KNOWHERE_OK ? add_to_deltas(index, s, w, interrupt) : status;
}

int knowhere_minhash_lsh_add_with_interrupt(knowhere_minhash_lsh *index,
                                            const uint8_t *data, size_t data_len,
                                            CInterrupt interrupt, knowhere_error **err) {
    kh_clear_error(err);
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    int status = kh_minhash_lsh_enter_writer(index, true, err);
    if (status != KNOWHERE_OK) return status;
    /* Exclusive: no reader holds the current state, so it changes in place. */
    kh_lsh_state *s = index->state;
    size_t rows = 0;
    if (s == NULL)
        status = kh_errorf(err, KNOWHERE_ERR_EMPTY_INDEX,
                           "add needs a built index: build it first");
    else
        status = check_rows(data, data_len, s->signature_bytes, s->count, &rows, err);
    if (status == KNOWHERE_OK) {
        status = knowhere_interrupt_check(interrupt, NULL, NULL);
        if (status != KNOWHERE_OK) kh_stopped_error(err, status, "add", "");
    }
    if (status != KNOWHERE_OK) {
        kh_minhash_lsh_leave_writer(index);
        return status;
    }

    table_work work = {.kind = WORK_DELTA, .s = s, .data = data, .rows = rows,
                       .first_id = s->count};
    bool added_segment = false;
    status = ensure_deltas(s) && reserve_removed(s, s->count + rows) ? KNOWHERE_OK
                                                                       : KNOWHERE_ERR_NO_MEMORY;
    if (status == KNOWHERE_OK && s->raw) {
        if (reserve_raw(s, rows, &added_segment)) {
            work.raw_dest[0] = &s->raw[s->raw_segments - 1 - (added_segment ? 1 : 0)];
            work.raw_dest[1] = added_segment ? &s->raw[s->raw_segments - 1] : NULL;
        } else {
            status = KNOWHERE_ERR_NO_MEMORY;
        }
    }
    if (status == KNOWHERE_OK) status = add_rows(index, s, &work, interrupt);
    if (status == KNOWHERE_OK) {
        if (s->raw) commit_raw(s, rows, added_segment);
        s->count += rows;
    } else if (s->raw) {
        unreserve_raw(s, added_segment);
    }
    kh_minhash_lsh_publish(index, s); /* a compaction may have changed its memory */
    kh_minhash_lsh_leave_writer(index);
    return failure(status, "add", err);
}

int knowhere_minhash_lsh_add(knowhere_minhash_lsh *index, const uint8_t *data,
                             size_t data_len, knowhere_error **err) {
    return knowhere_minhash_lsh_add_with_interrupt(index, data, data_len, NULL, err);
}

int knowhere_minhash_lsh_compact_with_interrupt(knowhere_minhash_lsh *index,
                                                CInterrupt interrupt, knowhere_error **err) {
    kh_clear_error(err);
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    int status = knowhere_interrupt_check(interrupt, NULL, NULL);
    if (status != KNOWHERE_OK) return kh_stopped_error(err, status, "compact", "");
    status = kh_minhash_lsh_enter_writer(index, true, err);
    if (status != KNOWHERE_OK) return status;
    kh_lsh_state *s = index->state; /* exclusive: no reader holds it */
    if (s == NULL) {
        status = kh_errorf(err, KNOWHERE_ERR_EMPTY_INDEX, "compact needs a built index");
    } else {
        status = compact_state(index, s, interrupt);
        kh_minhash_lsh_publish(index, s);
        status = failure(status, "compact", err);
    }
    kh_minhash_lsh_leave_writer(index);
    return status;
}

/* ---- remove ------------------------------------------------------------------ */

/* Checks every id before anything changes. */
static int check_ids(const kh_lsh_state *s, const int64_t *ids, size_t n, knowhere_error **err) {
    for (size_t i = 0; i < n; ++i)
        if (ids[i] < 0 || (uint64_t)ids[i] >= s->count)
            return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                             "id %lld (at position %zu) is not in 0..%zu",
                             (long long)ids[i], i, s->count - 1);
    return KNOWHERE_OK;
}

/* Sets the removed bits of ids (checked) in s, in place; *fresh receives
 * how many were not set. */
static int remove_ids(kh_lsh_state *s, const int64_t *ids, size_t n, size_t *fresh) {
    *fresh = 0;
    if (n == 0) return KNOWHERE_OK;
    if (s->removed == NULL) {
        s->removed = calloc((s->count + 7) / 8, 1);
        if (s->removed == NULL) return KNOWHERE_ERR_NO_MEMORY;
        s->removed_capacity = (s->count + 7) / 8;
    }
    for (size_t i = 0; i < n; ++i) {
        size_t id = (size_t)ids[i];
        uint8_t bit = (uint8_t)(1u << (id & 7));
        *fresh += (s->removed[id >> 3] & bit) == 0;
        s->removed[id >> 3] |= bit;
    }
    s->removed_count += *fresh;
    s->memory_bytes = kh_lsh_state_memory(s);
    return KNOWHERE_OK;
}

int knowhere_minhash_lsh_remove(knowhere_minhash_lsh *index, const int64_t *ids, size_t n,
                                size_t *removed, knowhere_error **err) {
    kh_clear_error(err);
    if (removed) *removed = 0;
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    if (ids == NULL && n != 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "ids is NULL but n is %zu", n);
    int status = kh_minhash_lsh_enter_writer(index, true, err);
    if (status != KNOWHERE_OK) return status;
    kh_lsh_state *s = index->state;
    size_t fresh = 0;
    if (s == NULL)
        status = kh_errorf(err, KNOWHERE_ERR_EMPTY_INDEX, "remove needs a built index");
    else
        status = check_ids(s, ids, n, err);
    if (status == KNOWHERE_OK && remove_ids(s, ids, n, &fresh) != KNOWHERE_OK)
        status = kh_errorf(err, KNOWHERE_ERR_NO_MEMORY, "out of memory during remove");
    if (status == KNOWHERE_OK) {
        atomic_store(&index->summary.removed_count, s->removed_count);
        atomic_store(&index->summary.memory_bytes, s->memory_bytes);
        if (removed) *removed = fresh;
    }
    kh_minhash_lsh_leave_writer(index);
    return status;
}

/* ---- application data ------------------------------------------------------------ */

int knowhere_minhash_lsh_set_app_data(knowhere_minhash_lsh *index, const uint8_t *data,
                                      size_t len, knowhere_error **err) {
    kh_clear_error(err);
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    if (data == NULL && len != 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "data is NULL but len is %zu", len);
    uint8_t *copy = NULL;
    if (len != 0 && (copy = malloc(len)) == NULL)
        return kh_errorf(err, KNOWHERE_ERR_NO_MEMORY, "out of memory for %zu bytes of "
                         "application data", len);
    if (len != 0) memcpy(copy, data, len);
    /* Exclusive, as remove: it changes the state readers (saves) read. */
    int status = kh_minhash_lsh_enter_writer(index, true, err);
    if (status != KNOWHERE_OK) {
        free(copy);
        return status;
    }
    kh_lsh_state *s = index->state;
    if (s == NULL) {
        free(copy);
        status = kh_errorf(err, KNOWHERE_ERR_EMPTY_INDEX,
                           "application data needs a built index: build it first");
    } else {
        kh_free_deferred(s->app_data, s->app_bytes);
        s->app_data = copy;
        s->app_bytes = len;
        kh_minhash_lsh_publish(index, s);
    }
    kh_minhash_lsh_leave_writer(index);
    return status;
}

int knowhere_minhash_lsh_get_app_data(const knowhere_minhash_lsh *index, uint8_t *out,
                                      size_t out_cap, size_t *len, knowhere_error **err) {
    kh_clear_error(err);
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    if (len == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "len is NULL");
    if (out == NULL && out_cap != 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "out is NULL but out_cap is %zu",
                         out_cap);
    *len = 0;
    knowhere_minhash_lsh *reading = (knowhere_minhash_lsh *)index;
    const kh_lsh_state *s = NULL;
    int status = kh_minhash_lsh_enter_reader(reading, &s, err);
    if (status != KNOWHERE_OK) return status;
    if (s != NULL) {
        *len = s->app_bytes;
        if (s->app_bytes > out_cap)
            status = kh_errorf(err, KNOWHERE_ERR_OVERFLOW,
                               "the application data is %zu bytes; out has room for %zu",
                               s->app_bytes, out_cap);
        else if (s->app_bytes)
            memcpy(out, s->app_data, s->app_bytes);
    }
    kh_minhash_lsh_leave_reader(reading, s);
    return status;
}

/* ---- get_vector_by_ids ----------------------------------------------------------- */

/* The body of get_vector_by_ids, under the reader guard. */
static int copy_vectors(const kh_lsh_state *s, const int64_t *ids, size_t n, uint8_t *out,
                        size_t out_len, knowhere_error **err) {
    if (s == NULL)
        return kh_errorf(err, KNOWHERE_ERR_EMPTY_INDEX, "the index has not been built");
    if (s->raw == NULL)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "the index was built without raw data (with_raw_data = false)");
    if (s->raw_bits != 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "the index keeps %u-bit codes of its values, not the values "
                         "(knowhere_minhash_lsh_set_raw_bits): they cannot be copied out",
                         s->raw_bits);
    if (n == 0) return KNOWHERE_OK;
    if (ids == NULL || out == NULL)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "ids or out is NULL");
    if (n > out_len / s->signature_bytes)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "out_len %zu is smaller than %zu ids * %zu bytes", out_len, n,
                         s->signature_bytes);
    int status = check_ids(s, ids, n, err);
    if (status != KNOWHERE_OK) return status;
    for (size_t i = 0; i < n; ++i)
        if (kh_is_removed(s, (size_t)ids[i]))
            return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "id %lld (at position %zu) was removed",
                             (long long)ids[i], i);
    for (size_t i = 0; i < n; ++i)
        memcpy(out + i * s->signature_bytes, kh_raw_row(s, (size_t)ids[i]),
               s->signature_bytes);
    return KNOWHERE_OK;
}

int knowhere_minhash_lsh_get_vector_by_ids(const knowhere_minhash_lsh *index,
                                           const int64_t *ids, size_t n, uint8_t *out,
                                           size_t out_len, knowhere_error **err) {
    kh_clear_error(err);
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    /* The guard counters are the only thing a reader writes in the index. */
    knowhere_minhash_lsh *reading = (knowhere_minhash_lsh *)index;
    const kh_lsh_state *s = NULL;
    int status = kh_minhash_lsh_enter_reader(reading, &s, err);
    if (status != KNOWHERE_OK) return status;
    status = copy_vectors(s, ids, n, out, out_len, err);
    kh_minhash_lsh_leave_reader(reading, s);
    return status;
}

/* Accessors read the summary, never the state: safe during a build. */
#define SUMMARY(index, field)                                                  \
    ((index) ? atomic_load(&((knowhere_minhash_lsh *)(index))->summary.field) : 0)

size_t knowhere_minhash_lsh_count(const knowhere_minhash_lsh *index) {
    return SUMMARY(index, count);
}
size_t knowhere_minhash_lsh_mh_vec_length(const knowhere_minhash_lsh *index) {
    return SUMMARY(index, length);
}
size_t knowhere_minhash_lsh_element_size(const knowhere_minhash_lsh *index) {
    return SUMMARY(index, element_size);
}
size_t knowhere_minhash_lsh_bands(const knowhere_minhash_lsh *index) {
    return SUMMARY(index, bands);
}
size_t knowhere_minhash_lsh_rows_per_band(const knowhere_minhash_lsh *index) {
    return SUMMARY(index, rows_per_band);
}
bool knowhere_minhash_lsh_has_raw_data(const knowhere_minhash_lsh *index) {
    return SUMMARY(index, has_raw);
}
uint32_t knowhere_minhash_lsh_raw_bits(const knowhere_minhash_lsh *index) {
    return (uint32_t)SUMMARY(index, raw_bits);
}

int knowhere_minhash_lsh_set_raw_bits(knowhere_minhash_lsh *index, uint32_t bits,
                                      knowhere_error **err) {
    kh_clear_error(err);
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    if (!kh_raw_bits_valid(bits))
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "raw bits %u is not 0 (full values), 8 or 16", bits);
    atomic_store(&index->raw_bits, bits);
    return KNOWHERE_OK;
}

size_t knowhere_minhash_lsh_removed_count(const knowhere_minhash_lsh *index) {
    return SUMMARY(index, removed_count);
}
size_t knowhere_minhash_lsh_memory_usage(const knowhere_minhash_lsh *index) {
    if (index == NULL) return 0;
    return sizeof *index + SUMMARY(index, memory_bytes);
}

int knowhere_minhash_lsh_set_num_threads(knowhere_minhash_lsh *index, size_t threads) {
    if (index == NULL) return KNOWHERE_ERR_INVALID_ARG;
    atomic_store(&index->threads, threads);
    return KNOWHERE_OK;
}

size_t kh_minhash_lsh_threads(const knowhere_minhash_lsh *index) {
    return kh_threads(atomic_load(&((knowhere_minhash_lsh *)index)->threads));
}

size_t knowhere_minhash_lsh_num_threads(const knowhere_minhash_lsh *index) {
    return index ? kh_minhash_lsh_threads(index) : 0;
}
