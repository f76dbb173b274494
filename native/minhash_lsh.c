/* The MinHash-LSH index: creation, build, add, accessors. Searches are in
 * minhash_lsh_search.c.
 *
 * Build and add prepare a complete new state on the side (band tables in
 * parallel, one task per band, plus raw-data copy tasks) and swap it in only
 * when everything succeeded; what is discarded is freed off the calling
 * thread when it is large. */
#include <stdlib.h>
#include <string.h>

#include "deferred_free.h"
#include "internal.h"
#include "minhash_lsh_internal.h"
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
        if (last) kh_lsh_state_release(s, 0); /* replaced by a build or load meanwhile */
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
    return seg->data + (id - seg->first_id) * s->signature_bytes;
}

uint64_t kh_band_key(const kh_lsh_state *s, const uint8_t *signature, size_t band) {
    return kh_xxh3_64(signature + band * s->band_bytes, s->band_bytes);
}

/* Puts a state's memory in the bag. Raw segments listed in `keep_raw` (the
 * ones an add carries over into its new state) stay. */
static void discard_state(kh_garbage *bag, kh_lsh_state *s, size_t keep_raw) {
    if (s == NULL) return;
    if (s->tables) {
        for (size_t b = 0; b < s->bands; ++b) {
            size_t rows = kh_lsh_table_count(&s->tables[b], s->prefix_bits);
            kh_garbage_add(bag, s->tables[b].entries, rows * sizeof(kh_lsh_entry));
            kh_garbage_add(bag, s->tables[b].dir, ((size_t)4 << s->prefix_bits));
        }
        kh_garbage_add(bag, s->tables, 0);
    }
    for (size_t i = keep_raw; i < s->raw_segments; ++i)
        kh_garbage_add(bag, s->raw[i].data, s->raw[i].rows * s->signature_bytes);
    kh_garbage_add(bag, s->raw, 0);
    kh_garbage_add(bag, s->removed, s->removed ? (s->count + 7) / 8 : 0);
    kh_garbage_add(bag, s, 0);
}

void kh_lsh_state_release(kh_lsh_state *s, size_t keep_raw) {
    kh_garbage *bag = kh_garbage_new();
    discard_state(bag, s, keep_raw);
    kh_garbage_release(bag);
}

size_t kh_lsh_state_memory(const kh_lsh_state *s) {
    size_t bytes = sizeof *s + s->bands * (sizeof *s->tables +
                                           kh_lsh_table_bytes(s->count, s->prefix_bits));
    if (s->raw) bytes += s->raw_segments * sizeof *s->raw + s->count * s->signature_bytes;
    if (s->removed) bytes += (s->count + 7) / 8;
    return bytes;
}

/* ---- the parallel work of build and add ---------------------------------- */

typedef struct {
    kh_lsh_state *next;          /* the state being made */
    const kh_lsh_state *prev;    /* for add: the current state; NULL for build */
    const uint8_t *data;         /* the new signatures */
    size_t rows;                 /* how many */
    uint8_t *raw_copy;           /* where they are copied, or NULL */
    size_t raw_chunks;
    kh_lsh_scratch *scratch;     /* [threads] */
} table_work;

static size_t rows_per_poll(size_t bytes_per_row) {
    size_t rows = (256u << 10) / (bytes_per_row ? bytes_per_row : 1);
    return rows < 1 ? 1 : rows > 1024 ? 1024 : rows;
}

static int compute_band_keys(const table_work *w, size_t band, uint64_t *keys, kh_job *job) {
    const kh_lsh_state *s = w->next;
    const uint8_t *p = w->data + band * s->band_bytes;
    size_t poll = rows_per_poll(s->band_bytes), until_poll = 0;
    for (size_t i = 0; i < w->rows; ++i, p += s->signature_bytes) {
        if (until_poll-- == 0) {
            if (kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
            if (i) kh_job_advance(job, poll);
            until_poll = poll - 1;
        }
        keys[i] = kh_xxh3_64(p, s->band_bytes);
    }
    kh_job_advance(job, w->rows - (w->rows - 1) / poll * poll); /* the last stretch */
    return KNOWHERE_OK;
}

/* Progress units: each band counts its rows twice (hashing, then the table),
 * and the raw copy counts its rows once. */
static uint64_t total_units(const table_work *w) {
    return (uint64_t)w->rows * (2 * w->next->bands + (w->raw_copy ? 1 : 0));
}

static int build_band_table(table_work *w, size_t band, kh_lsh_scratch *scratch, kh_job *job) {
    kh_lsh_state *s = w->next;
    if (scratch->keys_capacity < w->rows) {
        free(scratch->keys);
        scratch->keys = malloc(w->rows * sizeof *scratch->keys);
        scratch->keys_capacity = scratch->keys ? w->rows : 0;
        if (scratch->keys == NULL) return KNOWHERE_ERR_NO_MEMORY;
    }
    int status = compute_band_keys(w, band, scratch->keys, job);
    if (status != KNOWHERE_OK) return status;
    size_t first_id = w->prev ? w->prev->count : 0;
    if (w->prev == NULL)
        return kh_lsh_table_build(&s->tables[band], scratch->keys, w->rows,
                                  (uint32_t)first_id, s->prefix_bits, scratch, job);

    kh_lsh_table added = {0};
    status = kh_lsh_table_build(&added, scratch->keys, w->rows, (uint32_t)first_id,
                                s->prefix_bits, scratch, job);
    if (status == KNOWHERE_OK)
        status = kh_lsh_table_merge(&s->tables[band], &w->prev->tables[band], &added,
                                    s->prefix_bits, job);
    kh_lsh_table_free(&added); /* at most the size of the added rows */
    return status;
}

static int build_band(table_work *w, size_t band, kh_lsh_scratch *scratch, kh_job *job) {
    int status = build_band_table(w, band, scratch, job);
    if (status == KNOWHERE_OK) kh_job_advance(job, w->rows);
    return status;
}

static int copy_raw_chunk(table_work *w, size_t chunk, kh_job *job) {
    size_t sig = w->next->signature_bytes, total = w->rows * sig;
    size_t begin = chunk * RAW_COPY_CHUNK;
    size_t end = begin + RAW_COPY_CHUNK < total ? begin + RAW_COPY_CHUNK : total;
    for (size_t at = begin; at < end; at += 256u << 10) { /* poll every 256 KiB */
        if (kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        size_t n = end - at < (256u << 10) ? end - at : 256u << 10;
        memcpy(w->raw_copy + at, w->data + at, n);
    }
    /* Rows whose last byte lies in this chunk. */
    kh_job_advance(job, end / sig - begin / sig);
    return KNOWHERE_OK;
}

static int table_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    table_work *w = ctx;
    if (task < w->next->bands) return build_band(w, task, &w->scratch[worker], job);
    return copy_raw_chunk(w, task - w->next->bands, job);
}

/* Runs the table and copy tasks for `w`; frees the scratch. */
static int run_table_work(knowhere_minhash_lsh *index, table_work *w, int phase,
                          CInterrupt interrupt) {
    size_t threads = kh_minhash_lsh_threads(index);
    w->scratch = calloc(threads, sizeof *w->scratch);
    if (w->scratch == NULL) return KNOWHERE_ERR_NO_MEMORY;
    size_t raw_bytes = w->raw_copy ? w->rows * w->next->signature_bytes : 0;
    w->raw_chunks = (raw_bytes + RAW_COPY_CHUNK - 1) / RAW_COPY_CHUNK;
    kh_progress progress;
    kh_progress_begin(&progress, interrupt, phase, total_units(w));
    int status = kh_run_parallel(threads, w->next->bands + w->raw_chunks, table_task, w,
                                 interrupt, &progress);
    kh_progress_end(&progress, status);
    kh_garbage *bag = kh_garbage_new();
    for (size_t t = 0; t < threads; ++t) {
        kh_garbage_add(bag, w->scratch[t].keys, w->scratch[t].keys_capacity * 8);
        kh_garbage_add(bag, w->scratch[t].cursor, w->scratch[t].cursor_capacity * 4);
        kh_garbage_add(bag, w->scratch[t].sort_buffer, w->scratch[t].sort_capacity * 8);
    }
    kh_garbage_add(bag, w->scratch, 0);
    kh_garbage_release(bag);
    return status;
}

void kh_minhash_lsh_publish(knowhere_minhash_lsh *index, kh_lsh_state *next,
                            size_t shared_raw) {
    next->memory_bytes = kh_lsh_state_memory(next);
    pthread_mutex_lock(&index->lock);
    kh_lsh_state *prev = index->state;
    index->state = next;
    bool in_use = prev != NULL && prev->refs > 0;
    if (in_use) prev->retired = true; /* the last reader frees it */
    pthread_mutex_unlock(&index->lock);
    kh_lsh_summary *sum = &index->summary;
    atomic_store(&sum->count, next->count);
    atomic_store(&sum->length, next->length);
    atomic_store(&sum->element_size, next->element_size);
    atomic_store(&sum->bands, next->bands);
    atomic_store(&sum->rows_per_band, next->rows_per_band);
    atomic_store(&sum->memory_bytes, next->memory_bytes);
    atomic_store(&sum->has_raw, next->raw != NULL);
    atomic_store(&sum->removed_count, next->removed_count);
    if (!in_use) kh_lsh_state_release(prev, shared_raw);
}

/* Finishes a build or add: swaps in `next` on success, or discards it.
 * The first `shared_raw` raw segments belong to both states (an add carries
 * the old segments over), so neither release frees them. */
static int finish(knowhere_minhash_lsh *index, kh_lsh_state *next, size_t shared_raw,
                  int status, const char *what, knowhere_error **err) {
    if (status == KNOWHERE_OK) kh_minhash_lsh_publish(index, next, shared_raw);
    else kh_lsh_state_release(next, shared_raw);
    kh_minhash_lsh_leave_writer(index);
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
    atomic_init(&sum->removed_count, 0);
    atomic_init(&index->threads, 0);
    atomic_init(&index->readers, 0);
    atomic_init(&index->writer, false);
    atomic_init(&index->exclusive, false);
    return index;
}

void knowhere_minhash_lsh_free(knowhere_minhash_lsh *index) {
    if (index == NULL) return;
    kh_lsh_state_release(index->state, 0);
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
        .prefix_bits = kh_lsh_prefix_bits(rows),
    };
    table_work work = {.next = next, .data = data, .rows = rows};
    next->tables = calloc(bands, sizeof *next->tables);
    status = next->tables ? KNOWHERE_OK : KNOWHERE_ERR_NO_MEMORY;
    if (status == KNOWHERE_OK && with_raw_data) {
        next->raw = calloc(1, sizeof *next->raw);
        work.raw_copy = malloc(rows * signature_bytes);
        if (next->raw && work.raw_copy) {
            next->raw[0] = (kh_raw_segment){work.raw_copy, 0, rows};
            next->raw_segments = 1;
        } else {
            free(work.raw_copy);
            status = KNOWHERE_ERR_NO_MEMORY;
        }
    }
    if (status == KNOWHERE_OK) status = run_table_work(index, &work, KNOWHERE_PHASE_BUILD, interrupt);
    return finish(index, next, 0, status, "build", err);
}

int knowhere_minhash_lsh_build(knowhere_minhash_lsh *index, const uint8_t *data,
                               size_t data_len, size_t mh_vec_length,
                               size_t mh_vec_element_size, size_t bands,
                               bool with_raw_data, knowhere_error **err) {
    return knowhere_minhash_lsh_build_with_interrupt(index, data, data_len, mh_vec_length,
                                                     mh_vec_element_size, bands,
                                                     with_raw_data, NULL, err);
}

int knowhere_minhash_lsh_add_with_interrupt(knowhere_minhash_lsh *index,
                                            const uint8_t *data, size_t data_len,
                                            CInterrupt interrupt, knowhere_error **err) {
    kh_clear_error(err);
    if (index == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "index is NULL");
    int status = kh_minhash_lsh_enter_writer(index, true, err);
    if (status != KNOWHERE_OK) return status;
    const kh_lsh_state *prev = index->state;
    size_t rows = 0;
    if (prev == NULL)
        status = kh_errorf(err, KNOWHERE_ERR_EMPTY_INDEX,
                           "add needs a built index: build it first");
    else
        status = check_rows(data, data_len, prev->signature_bytes, prev->count, &rows, err);
    if (status == KNOWHERE_OK) {
        status = knowhere_interrupt_check(interrupt, NULL, NULL);
        if (status != KNOWHERE_OK) kh_stopped_error(err, status, "add", "");
    }
    if (status != KNOWHERE_OK) {
        kh_minhash_lsh_leave_writer(index);
        return status;
    }

    kh_lsh_state *next = calloc(1, sizeof *next);
    if (next == NULL) {
        kh_minhash_lsh_leave_writer(index);
        return kh_errorf(err, KNOWHERE_ERR_NO_MEMORY, "out of memory during add");
    }
    *next = *prev;
    next->refs = 0;
    next->retired = false;
    next->count = prev->count + rows;
    next->tables = calloc(prev->bands, sizeof *next->tables);
    next->raw = NULL;
    next->raw_segments = 0;
    table_work work = {.next = next, .prev = prev, .data = data, .rows = rows};
    status = next->tables ? KNOWHERE_OK : KNOWHERE_ERR_NO_MEMORY;
    next->removed = NULL; /* prev's removals, for the longer id range */
    if (status == KNOWHERE_OK && prev->removed) {
        next->removed = calloc((next->count + 7) / 8, 1);
        if (next->removed) memcpy(next->removed, prev->removed, (prev->count + 7) / 8);
        else status = KNOWHERE_ERR_NO_MEMORY;
    }
    if (status == KNOWHERE_OK && prev->raw) {
        next->raw = malloc((prev->raw_segments + 1) * sizeof *next->raw);
        work.raw_copy = malloc(rows * prev->signature_bytes);
        if (next->raw && work.raw_copy) {
            memcpy(next->raw, prev->raw, prev->raw_segments * sizeof *next->raw);
            next->raw[prev->raw_segments] = (kh_raw_segment){work.raw_copy, prev->count, rows};
            next->raw_segments = prev->raw_segments + 1;
        } else {
            free(work.raw_copy);
            status = KNOWHERE_ERR_NO_MEMORY;
        }
    }
    if (status == KNOWHERE_OK) status = run_table_work(index, &work, KNOWHERE_PHASE_ADD, interrupt);
    return finish(index, next, next->raw ? prev->raw_segments : 0, status, "add", err);
}

int knowhere_minhash_lsh_add(knowhere_minhash_lsh *index, const uint8_t *data,
                             size_t data_len, knowhere_error **err) {
    return knowhere_minhash_lsh_add_with_interrupt(index, data, data_len, NULL, err);
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

/* ---- get_vector_by_ids ----------------------------------------------------------- */

/* The body of get_vector_by_ids, under the reader guard. */
static int copy_vectors(const kh_lsh_state *s, const int64_t *ids, size_t n, uint8_t *out,
                        size_t out_len, knowhere_error **err) {
    if (s == NULL)
        return kh_errorf(err, KNOWHERE_ERR_EMPTY_INDEX, "the index has not been built");
    if (s->raw == NULL)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "the index was built without raw data (with_raw_data = false)");
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
    size_t threads = atomic_load(&((knowhere_minhash_lsh *)index)->threads);
    return threads ? threads : kh_default_threads();
}

size_t knowhere_minhash_lsh_num_threads(const knowhere_minhash_lsh *index) {
    return index ? kh_minhash_lsh_threads(index) : 0;
}
