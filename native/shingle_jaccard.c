/* Exact similarity of shingle sets (knowhere_rs.h, "Exact similarity"):
 * each document's shingles (shingles.c, the same as its signature's) as a
 * sorted list of distinct XXH3-64 values, and a pair's Jaccard similarity
 * by merging two lists.
 *
 * The pairs call shingles every document that appears in a pair once, in
 * parallel, then runs the pairs in parallel; one progress count covers both
 * (documents shingled, then pairs). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "parallel.h"
#include "shingle_set.h"

/* How many merge steps between interrupt polls. */
#define POLL_MERGE 65536u

/* ---- one document's shingle set ----------------------------------------------------- */

void kh_shingle_set_free(kh_shingle_set *l) {
    free(l->hashes);
    memset(l, 0, sizeof *l);
}

static void append_hashes(void *ctx, const uint64_t *x, size_t n) {
    kh_shingle_set *l = ctx; /* room for every shingle was reserved */
    memcpy(l->hashes + l->count, x, n * sizeof *x);
    l->count += n;
}

/* Sorts v[0..n-1] through tmp[n] by 8 passes of 8-bit counting sort,
 * least significant byte first (a pass where every value has the same byte
 * is skipped). Returns the buffer that holds the sorted values. */
static uint64_t *radix_sort(uint64_t *v, uint64_t *tmp, size_t n) {
    uint64_t *a = v, *b = tmp; /* a holds the values, b receives a pass */
    for (unsigned shift = 0; shift < 64 && n > 1; shift += 8) {
        size_t count[256] = {0};
        for (size_t i = 0; i < n; ++i) count[(a[i] >> shift) & 0xFF]++;
        if (count[(a[0] >> shift) & 0xFF] == n) continue;
        size_t at = 0;
        for (size_t d = 0; d < 256; ++d) {
            size_t c = count[d];
            count[d] = at;
            at += c;
        }
        for (size_t i = 0; i < n; ++i) b[count[(a[i] >> shift) & 0xFF]++] = a[i];
        uint64_t *swap = a;
        a = b;
        b = swap;
    }
    return a;
}

static void insertion_sort(uint64_t *v, size_t n) {
    for (size_t i = 1; i < n; ++i) {
        uint64_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; --j) v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Buckets of at most this many values are insertion-sorted; larger ones
 * (crafted inputs can crowd a bucket: XXH3 is not a cryptographic hash)
 * are radix-sorted, so the worst case stays linear. */
#define SMALL_BUCKET 48
#define MAX_BUCKET_BITS 12

/* Sorts v[0..n-1] (through tmp[n]) and removes repeats; returns the
 * distinct count. Shingle hashes are uniform, so one counting pass on the
 * top bits (about 4 values per bucket) and an insertion sort per bucket
 * sort them in about two passes; 8 radix passes took 4 times as long. */
static size_t sort_unique(uint64_t *v, uint64_t *tmp, size_t n) {
    if (n < 2) return n;
    unsigned bits = 1;
    while (bits < MAX_BUCKET_BITS && ((size_t)4 << bits) < n) bits++;
    const unsigned shift = 64 - bits;
    size_t start[(1u << MAX_BUCKET_BITS) + 1];
    memset(start, 0, ((size_t)(1u << bits) + 1) * sizeof *start);
    for (size_t i = 0; i < n; ++i) start[(v[i] >> shift) + 1]++;
    for (size_t d = 0; d < (1u << bits); ++d) start[d + 1] += start[d];
    for (size_t i = 0; i < n; ++i) tmp[start[v[i] >> shift]++] = v[i]; /* start[d]: end of d */
    size_t m = 0, begin = 0;
    for (size_t d = 0; d < (1u << bits); begin = start[d++]) {
        size_t size = start[d] - begin;
        const uint64_t *sorted = tmp + begin;
        if (size <= SMALL_BUCKET) insertion_sort(tmp + begin, size);
        else sorted = radix_sort(tmp + begin, v + begin, size); /* v[begin..]: free */
        for (size_t i = 0; i < size; ++i) /* m <= begin + i: v[m] is free */
            if (m == 0 || sorted[i] != v[m - 1]) v[m++] = sorted[i];
    }
    return m;
}

void kh_shingler_free(kh_shingler *s) {
    kh_normalised_free(&s->text);
    free(s->tmp);
    memset(s, 0, sizeof *s);
}

int kh_shingle_set_make(const kh_shingle_spec *spec, const uint8_t *text, size_t len,
                        kh_shingler *s, kh_shingle_set *out, kh_job *job) {
    memset(out, 0, sizeof *out);
    int status = kh_normalise(spec, text, len, &s->text, job);
    if (status != KNOWHERE_OK) return status;
    size_t n = kh_shingle_count(spec, &s->text);
    if (n == 0) return KNOWHERE_OK;
    if (n > SIZE_MAX / sizeof(uint64_t)) return KNOWHERE_ERR_NO_MEMORY;
    if (s->tmp_cap < n) {
        uint64_t *tmp = malloc(n * sizeof *tmp);
        if (tmp == NULL) return KNOWHERE_ERR_NO_MEMORY;
        free(s->tmp);
        s->tmp = tmp;
        s->tmp_cap = n;
    }
    out->hashes = malloc(n * sizeof *out->hashes);
    if (out->hashes == NULL) return KNOWHERE_ERR_NO_MEMORY;
    status = kh_shingles_hash(spec, &s->text, append_hashes, out, job);
    if (status != KNOWHERE_OK) {
        kh_shingle_set_free(out);
        return status;
    }
    out->count = sort_unique(out->hashes, s->tmp, out->count);
    return KNOWHERE_OK;
}

/* Values of each list compared at once by the block merge. */
#define MERGE_BLOCK 4u

int kh_shingle_set_jaccard(const kh_shingle_set *a, const kh_shingle_set *b,
                           double *similarity, kh_job *job) {
    size_t i = 0, j = 0, common = 0, next_poll = POLL_MERGE;
    /* A merge by blocks: the 16 comparisons of 4 values of each list are
     * independent, and the block whose last value is smaller (both when
     * equal) is passed. Every common value is counted once, when the blocks
     * holding it in each list are current: a block is passed only when all
     * its values are at most the other block's last, so none of them can
     * meet a later block of the other list. The one-value merge below,
     * which finishes the lists, takes one dependent step per value; by
     * blocks, the same sets of 100 shingles were compared 5-17 % faster
     * (docs/benchmarks.md, "Adds and the document-level index"). */
    const uint64_t *x = a->hashes, *y = b->hashes;
    while (i + MERGE_BLOCK <= a->count && j + MERGE_BLOCK <= b->count) {
        for (size_t p = 0; p < MERGE_BLOCK; ++p)
            for (size_t q = 0; q < MERGE_BLOCK; ++q) common += x[i + p] == y[j + q];
        uint64_t x_last = x[i + MERGE_BLOCK - 1], y_last = y[j + MERGE_BLOCK - 1];
        i += MERGE_BLOCK * (x_last <= y_last);
        j += MERGE_BLOCK * (y_last <= x_last);
        if (i + j >= next_poll) {
            next_poll = i + j + POLL_MERGE;
            if (job && kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        }
    }
    while (i < a->count && j < b->count) {
        uint64_t x = a->hashes[i], y = b->hashes[j];
        common += x == y;
        i += x <= y;
        j += y <= x;
        if (i + j >= next_poll) {
            next_poll = i + j + POLL_MERGE;
            if (job && kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        }
    }
    size_t all = a->count + b->count - common;
    *similarity = all == 0 ? 1.0 : (double)common / (double)all;
    return KNOWHERE_OK;
}

static int no_memory(knowhere_error **err) {
    return kh_errorf(err, KNOWHERE_ERR_NO_MEMORY, "out of memory while shingling");
}

/* ---- public: two documents ---------------------------------------------------------- */

int knowhere_shingle_jaccard(const knowhere_signature_options *options, const char *a,
                             size_t a_len, const char *b, size_t b_len, double *similarity,
                             knowhere_error **err) {
    kh_clear_error(err);
    kh_shingle_spec spec;
    int status = kh_signature_options_spec(options, &spec, err);
    if (status != KNOWHERE_OK) return status;
    if (a == NULL && a_len != 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "a is NULL but a_len is %zu", a_len);
    if (b == NULL && b_len != 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "b is NULL but b_len is %zu", b_len);
    if (similarity == NULL)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "similarity is NULL");
    kh_shingler s = {0};
    kh_shingle_set la, lb = {0};
    status = kh_shingle_set_make(&spec, (const uint8_t *)a, a_len, &s, &la, NULL);
    if (status == KNOWHERE_OK)
        status = kh_shingle_set_make(&spec, (const uint8_t *)b, b_len, &s, &lb, NULL);
    if (status == KNOWHERE_OK) status = kh_shingle_set_jaccard(&la, &lb, similarity, NULL);
    kh_shingle_set_free(&la);
    kh_shingle_set_free(&lb);
    kh_shingler_free(&s);
    return status == KNOWHERE_OK ? KNOWHERE_OK : no_memory(err);
}

/* ---- public: shingle sets, kept by the caller ------------------------------------------ */

/* The checks and the work of knowhere_shingle_set; with `signature`, also
 * the document's signature, made from the set (knowhere_signature_from_text
 * is knowhere_signature_from_hashes of the shingle hashes: docs/signatures.md),
 * so one pass over the text serves both. */
static int shingle_set_and_signature(const knowhere_signature_options *options, const char *text,
                                     size_t text_len, uint8_t *signature, size_t signature_len,
                                     uint64_t *out, size_t out_cap, size_t *count,
                                     knowhere_error **err) {
    kh_clear_error(err);
    kh_shingle_spec spec;
    int status = kh_signature_options_spec(options, &spec, err);
    if (status != KNOWHERE_OK) return status;
    if (text == NULL && text_len != 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "text is NULL but text_len is %zu",
                         text_len);
    if (count == NULL) return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "count is NULL");
    if (out == NULL && out_cap != 0)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "out is NULL but out_cap is %zu", out_cap);
    *count = 0;
    /* A typical document normalises within this buffer: no allocation. */
    uint8_t text_buffer[4096];
    kh_shingler sh = {0};
    kh_normalised_init(&sh.text, text_buffer, sizeof text_buffer);
    kh_shingle_set list;
    status = kh_shingle_set_make(&spec, (const uint8_t *)text, text_len, &sh, &list, NULL);
    if (status == KNOWHERE_OK) {
        *count = list.count;
        if (list.count > out_cap)
            status = kh_errorf(err, KNOWHERE_ERR_OVERFLOW,
                               "the text has %zu distinct shingles; out has room for %zu",
                               list.count, out_cap);
        else if (list.count)
            memcpy(out, list.hashes, list.count * sizeof *out);
    } else {
        status = no_memory(err);
    }
    if (status == KNOWHERE_OK && signature != NULL)
        status = knowhere_signature_from_hashes(options, list.hashes, list.count, signature,
                                                signature_len, err);
    kh_shingle_set_free(&list);
    kh_shingler_free(&sh);
    return status;
}

int knowhere_shingle_set(const knowhere_signature_options *options, const char *text,
                         size_t text_len, uint64_t *out, size_t out_cap, size_t *count,
                         knowhere_error **err) {
    return shingle_set_and_signature(options, text, text_len, NULL, 0, out, out_cap, count, err);
}

int knowhere_signature_and_shingle_set(const knowhere_signature_options *options,
                                       const char *text, size_t text_len, uint8_t *signature,
                                       size_t signature_len, uint64_t *out, size_t out_cap,
                                       size_t *count, knowhere_error **err) {
    if (signature == NULL) {
        kh_clear_error(err);
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "signature is NULL");
    }
    return shingle_set_and_signature(options, text, text_len, signature, signature_len, out,
                                     out_cap, count, err);
}

double knowhere_shingle_set_jaccard(const uint64_t *a, size_t a_count, const uint64_t *b,
                                    size_t b_count) {
    kh_shingle_set la = {(uint64_t *)a, a ? a_count : 0}, lb = {(uint64_t *)b, b ? b_count : 0};
    double similarity = 0;
    kh_shingle_set_jaccard(&la, &lb, &similarity, NULL);
    return similarity;
}

int knowhere_shingle_set_jaccard_rows(const uint64_t *query, size_t query_count,
                                      const uint64_t *arena, size_t arena_len,
                                      const uint64_t *row_start, const uint32_t *row_count,
                                      size_t rows, const int64_t *ids, size_t n,
                                      double *similarities, knowhere_error **err) {
    kh_clear_error(err);
    if (n == 0) return KNOWHERE_OK;
    if ((query == NULL && query_count != 0) || ids == NULL || similarities == NULL ||
        row_start == NULL || row_count == NULL || (arena == NULL && arena_len != 0))
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "query, arena, row_start, row_count, ids or similarities is NULL");
    for (size_t i = 0; i < n; ++i) { /* every row checked before any work */
        if (ids[i] < 0 || (uint64_t)ids[i] >= rows)
            return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "ids[%zu] is %lld; rows are 0..%zu", i,
                             (long long)ids[i], rows ? rows - 1 : 0);
        size_t row = (size_t)ids[i];
        if (row_start[row] > arena_len || row_count[row] > arena_len - row_start[row])
            return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                             "row %zu's set (%llu values at %llu) is past arena_len %zu", row,
                             (unsigned long long)row_count[row],
                             (unsigned long long)row_start[row], arena_len);
        /* The rows are scattered over the arena: ask for the start of each
         * now, so that their cache misses overlap instead of coming one row
         * at a time (the hardware follows each row once it is read). */
        __builtin_prefetch(arena + row_start[row]);
        __builtin_prefetch(arena + row_start[row] + 8);
    }
    kh_shingle_set q = {(uint64_t *)query, query_count};
    for (size_t i = 0; i < n; ++i) {
        size_t row = (size_t)ids[i];
        kh_shingle_set other = {(uint64_t *)arena + row_start[row], row_count[row]};
        kh_shingle_set_jaccard(&q, &other, &similarities[i], NULL);
    }
    return KNOWHERE_OK;
}

typedef struct {
    kh_shingle_spec spec;
    const uint8_t *texts;
    const uint64_t *offsets, *out_offsets;
    uint64_t *out;
    size_t ndocs, docs_per_task;
    kh_shingler *scratch; /* [threads] */
    size_t bad_doc;    /* the first document whose count did not fit, or SIZE_MAX */
} sets_work;

static int sets_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    sets_work *w = ctx;
    size_t begin, end;
    kh_task_items(task, w->docs_per_task, w->ndocs, &begin, &end);
    for (size_t d = begin; d < end; ++d) {
        if (kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        kh_shingle_set list;
        size_t from = (size_t)w->offsets[d];
        int status = kh_shingle_set_make(&w->spec, w->texts + from, (size_t)w->offsets[d + 1] - from,
                                  &w->scratch[worker], &list, job);
        if (status != KNOWHERE_OK) return status;
        size_t room = (size_t)(w->out_offsets[d + 1] - w->out_offsets[d]);
        if (list.count != room) {
            kh_shingle_set_free(&list);
            w->bad_doc = d; /* tasks stop at the first error: one writer */
            return KNOWHERE_ERR_INVALID_ARG;
        }
        if (room) memcpy(w->out + w->out_offsets[d], list.hashes, room * sizeof *w->out);
        kh_shingle_set_free(&list);
    }
    kh_job_advance(job, end - begin);
    return KNOWHERE_OK;
}

int knowhere_shingle_sets_with_interrupt(const knowhere_signature_options *options,
                                         const char *texts, size_t texts_len,
                                         const uint64_t *offsets, size_t ndocs, uint64_t *out,
                                         size_t out_len, const uint64_t *out_offsets,
                                         size_t threads, CInterrupt interrupt,
                                         knowhere_error **err) {
    kh_clear_error(err);
    sets_work w;
    memset(&w, 0, sizeof w);
    int status = kh_signature_options_spec(options, &w.spec, err);
    if (status != KNOWHERE_OK) return status;
    status = kh_check_text_batch(texts, texts_len, offsets, ndocs, err);
    if (status != KNOWHERE_OK) return status;
    if (ndocs == 0) return KNOWHERE_OK;
    if (out_offsets == NULL)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG, "out_offsets is NULL");
    for (size_t d = 0; d < ndocs; ++d)
        if (out_offsets[d + 1] < out_offsets[d] || (d == 0 && out_offsets[0] != 0))
            return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                             "out_offsets[%zu] does not start at 0 or decreases", d + 1);
    if (out_offsets[ndocs] > out_len || (out == NULL && out_offsets[ndocs] != 0))
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "out_offsets[ndocs] is %llu, past out_len %zu",
                         (unsigned long long)out_offsets[ndocs], out_len);
    status = knowhere_interrupt_check(interrupt, NULL, NULL);
    if (status != KNOWHERE_OK)
        return kh_stopped_error(err, status, "shingle sets", " before they started");

    w.texts = (const uint8_t *)texts;
    w.offsets = offsets;
    w.out_offsets = out_offsets;
    w.out = out;
    w.ndocs = ndocs;
    w.bad_doc = SIZE_MAX;
    threads = kh_threads(threads);
    w.scratch = calloc(threads, sizeof *w.scratch);
    if (w.scratch == NULL) return no_memory(err);
    w.docs_per_task = kh_items_per_task(ndocs, threads, 16, 256);
    kh_progress progress;
    kh_progress_begin(&progress, interrupt, KNOWHERE_PHASE_SIGN, ndocs);
    status = kh_run_parallel(threads, kh_task_count(ndocs, w.docs_per_task), sets_task, &w,
                             interrupt, &progress);
    kh_progress_end(&progress, status);
    for (size_t t = 0; t < threads; ++t) kh_shingler_free(&w.scratch[t]);
    free(w.scratch);
    switch (status) {
    case KNOWHERE_OK: return KNOWHERE_OK;
    case KNOWHERE_ERR_INTERRUPTED:
    case KNOWHERE_ERR_TIMEOUT: return kh_stopped_error(err, status, "shingle sets", "");
    case KNOWHERE_ERR_NO_MEMORY: return no_memory(err);
    case KNOWHERE_ERR_INVALID_ARG:
        return kh_errorf(err, status,
                         "document %zu has another number of distinct shingles than out_offsets "
                         "leaves room for", w.bad_doc);
    default: return kh_errorf(err, status, "shingle sets failed");
    }
}

/* ---- public: pairs of a batch ------------------------------------------------------- */

#define NOT_NEEDED UINT32_MAX

typedef struct {
    kh_shingle_spec spec;
    const uint8_t *texts;
    const uint64_t *offsets;
    const int64_t *left, *right;
    double *similarities;
    size_t npairs, pairs_per_task;
    /* the documents in some pair: needed[k] is a document, list[k] its set */
    size_t *needed;
    size_t nneeded, docs_per_task;
    uint32_t *slot; /* [ndocs]: k, or NOT_NEEDED */
    kh_shingle_set *list;
    kh_shingler *scratch; /* [threads] */
} pairs_work;

static int shingle_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    pairs_work *w = ctx;
    size_t begin, end;
    kh_task_items(task, w->docs_per_task, w->nneeded, &begin, &end);
    for (size_t k = begin; k < end; ++k) {
        if (kh_job_should_stop(job)) return KNOWHERE_ERR_INTERRUPTED;
        size_t d = w->needed[k], from = (size_t)w->offsets[d], to = (size_t)w->offsets[d + 1];
        int status = kh_shingle_set_make(&w->spec, w->texts + from, to - from, &w->scratch[worker],
                                  &w->list[k], job);
        if (status != KNOWHERE_OK) return status;
    }
    kh_job_advance(job, end - begin);
    return KNOWHERE_OK;
}

static int pair_task(kh_job *job, size_t task, size_t worker, void *ctx) {
    (void)worker;
    pairs_work *w = ctx;
    size_t begin, end;
    kh_task_items(task, w->pairs_per_task, w->npairs, &begin, &end);
    for (size_t i = begin; i < end; ++i) {
        if ((i & KH_STOP_POLL_MASK) == 0 && kh_job_should_stop(job))
            return KNOWHERE_ERR_INTERRUPTED;
        const kh_shingle_set *a = &w->list[w->slot[w->left[i]]];
        const kh_shingle_set *b = &w->list[w->slot[w->right[i]]];
        int status = kh_shingle_set_jaccard(a, b, &w->similarities[i], job);
        if (status != KNOWHERE_OK) return status;
    }
    kh_job_advance(job, end - begin);
    return KNOWHERE_OK;
}

/* Marks the documents of the pairs; false if out of memory. */
static bool find_needed(pairs_work *w, size_t ndocs) {
    w->slot = malloc((ndocs ? ndocs : 1) * sizeof *w->slot);
    if (w->slot == NULL) return false;
    for (size_t d = 0; d < ndocs; ++d) w->slot[d] = NOT_NEEDED;
    size_t n = 0;
    for (size_t i = 0; i < w->npairs; ++i) {
        n += w->slot[w->left[i]] == NOT_NEEDED;
        w->slot[w->left[i]] = 0;
        n += w->slot[w->right[i]] == NOT_NEEDED;
        w->slot[w->right[i]] = 0;
    }
    w->needed = malloc(n * sizeof *w->needed);
    w->list = calloc(n, sizeof *w->list);
    if (w->needed == NULL || w->list == NULL) return false;
    w->nneeded = 0;
    for (size_t d = 0; d < ndocs; ++d) {
        if (w->slot[d] == NOT_NEEDED) continue;
        w->slot[d] = (uint32_t)w->nneeded;
        w->needed[w->nneeded++] = d;
    }
    return true;
}

static void pairs_work_free(pairs_work *w, size_t threads) {
    for (size_t k = 0; w->list && k < w->nneeded; ++k) kh_shingle_set_free(&w->list[k]);
    for (size_t t = 0; w->scratch && t < threads; ++t) kh_shingler_free(&w->scratch[t]);
    free(w->list);
    free(w->needed);
    free(w->slot);
    free(w->scratch);
}

static int check_pairs(const int64_t *left, const int64_t *right, size_t npairs,
                       const double *similarities, size_t ndocs, knowhere_error **err) {
    if (npairs == 0) return KNOWHERE_OK;
    if (left == NULL || right == NULL || similarities == NULL)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "%s is NULL but npairs is %zu",
                         left == NULL ? "left" : right == NULL ? "right" : "similarities", npairs);
    if (ndocs >= NOT_NEEDED)
        return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                         "ndocs is %zu; pairs can refer to at most %u documents", ndocs,
                         (unsigned)NOT_NEEDED - 1);
    for (size_t i = 0; i < npairs; ++i)
        if (left[i] < 0 || (uint64_t)left[i] >= ndocs || right[i] < 0 ||
            (uint64_t)right[i] >= ndocs)
            return kh_errorf(err, KNOWHERE_ERR_INVALID_ARG,
                             "pair %zu is (%lld, %lld); documents are 0..%lld", i,
                             (long long)left[i], (long long)right[i], (long long)ndocs - 1);
    return KNOWHERE_OK;
}

int knowhere_shingle_jaccard_pairs_with_interrupt(
    const knowhere_signature_options *options, const char *texts, size_t texts_len,
    const uint64_t *offsets, size_t ndocs, const int64_t *left, const int64_t *right,
    size_t npairs, double *similarities, size_t threads, CInterrupt interrupt,
    knowhere_error **err) {
    kh_clear_error(err);
    pairs_work w;
    memset(&w, 0, sizeof w);
    int status = kh_signature_options_spec(options, &w.spec, err);
    if (status != KNOWHERE_OK) return status;
    status = kh_check_text_batch(texts, texts_len, offsets, ndocs, err);
    if (status != KNOWHERE_OK) return status;
    status = check_pairs(left, right, npairs, similarities, ndocs, err);
    if (status != KNOWHERE_OK) return status;
    status = knowhere_interrupt_check(interrupt, NULL, NULL);
    if (status != KNOWHERE_OK)
        return kh_stopped_error(err, status, "shingle similarities", " before they started");
    if (npairs == 0) return KNOWHERE_OK;

    w.texts = (const uint8_t *)texts;
    w.offsets = offsets;
    w.left = left;
    w.right = right;
    w.similarities = similarities;
    w.npairs = npairs;
    threads = kh_threads(threads);
    w.scratch = calloc(threads, sizeof *w.scratch);
    if (w.scratch == NULL || !find_needed(&w, ndocs)) {
        pairs_work_free(&w, threads);
        return no_memory(err);
    }
    w.docs_per_task = kh_items_per_task(w.nneeded, threads, 16, 256);
    w.pairs_per_task = kh_items_per_task(npairs, threads, 16, 256); /* progress after each */

    kh_progress progress;
    kh_progress_begin(&progress, interrupt, KNOWHERE_PHASE_VERIFY, w.nneeded + npairs);
    status = kh_run_parallel(threads, kh_task_count(w.nneeded, w.docs_per_task), shingle_task,
                             &w, interrupt, &progress);
    if (status == KNOWHERE_OK)
        status = kh_run_parallel(threads, kh_task_count(npairs, w.pairs_per_task), pair_task, &w,
                                 interrupt, &progress);
    kh_progress_end(&progress, status);
    pairs_work_free(&w, threads);
    switch (status) {
    case KNOWHERE_OK: return KNOWHERE_OK;
    case KNOWHERE_ERR_INTERRUPTED:
    case KNOWHERE_ERR_TIMEOUT: return kh_stopped_error(err, status, "shingle similarities", "");
    case KNOWHERE_ERR_NO_MEMORY: return no_memory(err);
    default: return kh_errorf(err, status, "shingle similarities failed");
    }
}
