/* Band tables: built with one counting-sort pass on the bucket, then each
 * small bucket sorted by fingerprint; merged with their delta in one pass
 * when adds have made the delta large. */
#include <stdlib.h>
#include <string.h>

#include "deferred_free.h"
#include "internal.h"
#include "lsh_table.h"

#define STOP_CHECK(i, job)                                                    \
    (((i) & KH_STOP_POLL_MASK) == 0 && kh_job_should_stop(job))

unsigned kh_lsh_prefix_bits(size_t rows) {
    unsigned bits = 0;
    while (bits < 28 && ((size_t)16 << bits) <= rows) bits++;
    return bits; /* 2^bits <= rows / 8 once rows >= 16 */
}

size_t kh_lsh_table_bytes(size_t rows, unsigned prefix_bits) {
    return rows * sizeof(kh_lsh_entry) + (((size_t)1 << prefix_bits) + 1) * sizeof(uint32_t);
}

static bool entry_less(kh_lsh_entry a, kh_lsh_entry b) {
    return a.fingerprint < b.fingerprint ||
           (a.fingerprint == b.fingerprint && a.id < b.id);
}

/* Buckets up to this size are sorted by rank_sort, larger ones (many equal
 * band keys) by radix_sort. A build's buckets hold 16 rows on average.
 * At most 64 (rank_sort marks the places taken in a 64-bit mask). */
enum { RANK_SORTED_BUCKET = 48, RANK_LANES = 8 };

/* Sorts a small bucket whose entries are in ascending id order (as the
 * build's scatter leaves them) by (fingerprint, id): each entry goes to
 * its rank, the number of entries with a smaller fingerprint, counted
 * without a data-dependent branch over a padded array (the loop
 * vectorizes, with signed compares of biased values, which SSE2 has);
 * entries of equal fingerprints take the next free places in id order.
 * An insertion sort mispredicted about once per entry: it took 70 % of a
 * table build at 100k rows; this takes 3.5 ns per entry against 9-11
 * (16-row buckets, measured alone). */
static void rank_sort(kh_lsh_entry *e, size_t n) {
    int32_t biased[RANK_SORTED_BUCKET + RANK_LANES];
    kh_lsh_entry copy[RANK_SORTED_BUCKET];
    size_t padded = (n + RANK_LANES - 1) / RANK_LANES * RANK_LANES;
    for (size_t i = 0; i < n; ++i) {
        biased[i] = (int32_t)(e[i].fingerprint ^ 0x80000000u);
        copy[i] = e[i];
    }
    for (size_t i = n; i < padded; ++i) biased[i] = INT32_MAX; /* never smaller */
    uint64_t taken = 0;
    for (size_t i = 0; i < n; ++i) {
        int32_t x = biased[i], rank = 0;
        for (size_t j = 0; j < padded; ++j) rank -= biased[j] < x ? -1 : 0;
        while ((taken >> rank) & 1) rank++; /* after an equal fingerprint's entry */
        taken |= (uint64_t)1 << rank;
        e[rank] = copy[i];
    }
}

/* Stable LSD radix sort on the fingerprint, for the rare big bucket (many
 * equal band keys): linear time, and it polls the job. Ids stay ascending
 * among equal fingerprints because the input has them ascending. */
static int radix_sort(kh_lsh_entry *e, size_t n, kh_lsh_scratch *s, kh_job *job) {
    if (s->sort_capacity < n) {
        kh_lsh_entry *grown = realloc(s->sort_buffer, n * sizeof *grown);
        if (grown == NULL) return KNOWHERE_ERR_NO_MEMORY;
        s->sort_buffer = grown;
        s->sort_capacity = n;
    }
    kh_lsh_entry *src = e, *dst = s->sort_buffer;
    for (unsigned shift = 0; shift < 32; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; ++i) count[((src[i].fingerprint >> shift) & 0xff) + 1]++;
        if (count[((src[0].fingerprint >> shift) & 0xff) + 1] == n) continue; /* one digit */
        for (size_t d = 0; d < 256; ++d) count[d + 1] += count[d];
        for (size_t i = 0; i < n; ++i) {
            if (STOP_CHECK(i, job)) return KNOWHERE_ERR_INTERRUPTED;
            dst[count[(src[i].fingerprint >> shift) & 0xff]++] = src[i];
        }
        kh_lsh_entry *t = src;
        src = dst;
        dst = t;
    }
    if (src != e) memcpy(e, src, n * sizeof *e);
    return KNOWHERE_OK;
}

/* Each bucket comes in ascending id order (the scatter of kh_lsh_table_build). */
static int sort_buckets(kh_lsh_table *t, unsigned prefix_bits, kh_lsh_scratch *s,
                        kh_job *job) {
    size_t buckets = (size_t)1 << prefix_bits;
    for (size_t b = 0; b < buckets; ++b) {
        if (STOP_CHECK(b, job)) return KNOWHERE_ERR_INTERRUPTED;
        size_t n = t->dir[b + 1] - t->dir[b];
        kh_lsh_entry *e = t->entries + t->dir[b];
        if (n <= RANK_SORTED_BUCKET) {
            rank_sort(e, n);
        } else {
            int status = radix_sort(e, n, s, job);
            if (status != KNOWHERE_OK) return status;
        }
    }
    return KNOWHERE_OK;
}

/* A table's memory; its entries are `entries` (room for `rows`) when given. */
static int alloc_table(kh_lsh_table *t, size_t rows, unsigned prefix_bits,
                       kh_lsh_entry *entries) {
    t->dir = calloc(((size_t)1 << prefix_bits) + 1, sizeof *t->dir);
    t->entries = entries;
    if (entries == NULL) {
        t->entries = malloc((rows ? rows : 1) * sizeof *t->entries);
        kh_advise_huge_pages(t->entries, rows * sizeof *t->entries);
    }
    return t->dir && t->entries ? KNOWHERE_OK : KNOWHERE_ERR_NO_MEMORY;
}

int kh_lsh_table_build(kh_lsh_table *out, const uint64_t *keys, size_t m,
                       uint32_t first_id, kh_lsh_layout layout, kh_lsh_entry *entries,
                       kh_lsh_scratch *scratch, kh_job *job) {
    memset(out, 0, sizeof *out);
    out->layout = layout;
    unsigned prefix_bits = layout.prefix_bits;
    size_t buckets = (size_t)1 << prefix_bits;
    int status = alloc_table(out, m, prefix_bits, entries);
    if (status != KNOWHERE_OK) return status;
    if (scratch->cursor_capacity < buckets) {
        uint32_t *grown = realloc(scratch->cursor, buckets * sizeof *grown);
        if (grown == NULL) return KNOWHERE_ERR_NO_MEMORY;
        scratch->cursor = grown;
        scratch->cursor_capacity = buckets;
    }

    /* Count rows per prefix into dir[p + 1], then prefix sums. */
    uint32_t *dir = out->dir;
    for (size_t i = 0; i < m; ++i) {
        if (STOP_CHECK(i, job)) return KNOWHERE_ERR_INTERRUPTED;
        dir[kh_lsh_bucket(keys[i], layout) + 1]++;
    }
    for (size_t p = 0; p < buckets; ++p) {
        if (STOP_CHECK(p, job)) return KNOWHERE_ERR_INTERRUPTED;
        dir[p + 1] += dir[p];
    }

    /* Scatter in id order: each bucket comes out sorted by id. */
    uint32_t *cursor = scratch->cursor;
    memcpy(cursor, dir, buckets * sizeof *cursor);
    for (size_t i = 0; i < m; ++i) {
        if (STOP_CHECK(i, job)) return KNOWHERE_ERR_INTERRUPTED;
        uint64_t key = keys[i];
        out->entries[cursor[kh_lsh_bucket(key, layout)]++] =
            (kh_lsh_entry){(uint32_t)key, first_id + (uint32_t)i};
    }
    return sort_buckets(out, prefix_bits, scratch, job);
}

/* The bucket, in layout `to`, of an entry of bucket `bucket` in layout
 * `from` (same key_bits, `to` no narrower): the key's top bits stay in
 * front, and the new bits come from the fingerprint. */
static uint32_t relayout(uint32_t bucket, uint32_t fingerprint, kh_lsh_layout from,
                         kh_lsh_layout to) {
    unsigned from_fp = from.prefix_bits - from.key_bits, to_fp = to.prefix_bits - to.key_bits;
    uint32_t top = from_fp < 32 ? bucket >> from_fp : 0;
    uint32_t low = to_fp ? fingerprint >> (32 - to_fp) : 0;
    return (top << to_fp) | low;
}

static bool placed_before(uint32_t bucket_a, kh_lsh_entry a, uint32_t bucket_b, kh_lsh_entry b) {
    return bucket_a < bucket_b || (bucket_a == bucket_b && entry_less(a, b));
}

int kh_lsh_table_merge(kh_lsh_table *out, const kh_lsh_table *old,
                       const kh_lsh_delta *delta, kh_lsh_layout to,
                       kh_lsh_scratch *scratch, kh_job *job) {
    memset(out, 0, sizeof *out);
    out->layout = to;
    kh_lsh_layout from = old->layout;
    kh_lsh_table added = {0};
    int status = kh_lsh_table_build(&added, delta->keys, delta->count, delta->first_id, to,
                                    NULL, scratch, job);
    size_t old_rows = kh_lsh_table_rows(old);
    if (status == KNOWHERE_OK) status = alloc_table(out, old_rows + delta->count, to.prefix_bits, NULL);
    if (status != KNOWHERE_OK) {
        kh_lsh_table_free(&added);
        return status;
    }

    /* Both streams come in (bucket, fingerprint, id) order of layout `to`:
     * the added table by construction, the old one because its entries keep
     * their order under relayout. Count each bucket, then prefix sums. */
    size_t old_buckets = (size_t)1 << from.prefix_bits, new_buckets = (size_t)1 << to.prefix_bits;
    size_t w = 0, j = 0, added_rows = delta->count;
    uint32_t added_bucket = 0; /* the bucket of added.entries[j] */
    while (j < added_rows && added.dir[added_bucket + 1] <= j) added_bucket++;
    for (size_t b = 0; b < old_buckets && status == KNOWHERE_OK; ++b) {
        for (size_t i = old->dir[b]; i < old->dir[b + 1]; ++i) {
            if (STOP_CHECK(w, job)) {
                status = KNOWHERE_ERR_INTERRUPTED;
                break;
            }
            kh_lsh_entry x = old->entries[i];
            uint32_t bucket = relayout((uint32_t)b, x.fingerprint, from, to);
            while (j < added_rows && placed_before(added_bucket, added.entries[j], bucket, x)) {
                out->dir[added_bucket + 1]++;
                out->entries[w++] = added.entries[j++];
                while (j < added_rows && added.dir[added_bucket + 1] <= j) added_bucket++;
            }
            out->dir[bucket + 1]++;
            out->entries[w++] = x;
        }
    }
    for (; j < added_rows && status == KNOWHERE_OK; ++j) {
        while (added.dir[added_bucket + 1] <= j) added_bucket++;
        out->dir[added_bucket + 1]++;
        out->entries[w++] = added.entries[j];
    }
    kh_lsh_table_free(&added);
    if (status != KNOWHERE_OK) return status;
    for (size_t p = 0; p < new_buckets; ++p) out->dir[p + 1] += out->dir[p];
    return KNOWHERE_OK;
}

/* ---- the delta ------------------------------------------------------------------- */

static void place(const kh_lsh_delta *d, uint64_t key, uint32_t id) {
    size_t i = kh_lsh_delta_home(d, key);
    while (d->slots[i] != KH_DELTA_EMPTY) i = kh_lsh_delta_step(d, i);
    d->slots[i] = id;
}

/* Grows an array of rows to hold `needed`: by half at least, so that
 * adds of one row cost O(1) amortized, and no more (glibc moves large
 * blocks with mremap, copying nothing). */
static bool grow_rows(void **array, size_t *capacity, size_t needed, size_t size) {
    if (needed <= *capacity) return true;
    size_t grown = *capacity + *capacity / 2 > needed ? *capacity + *capacity / 2 : needed;
    if (grown < 64) grown = 64;
    void *p = realloc(*array, grown * size);
    if (p == NULL) return false;
    *array = p;
    *capacity = grown;
    return true;
}

/* The slot of `key` (holding its latest row), or the empty slot where it
 * goes: the probe passes only slots of other keys, one per key. */
static size_t find_slot(const kh_lsh_delta *d, uint64_t key) {
    size_t i = kh_lsh_delta_home(d, key);
    while (d->slots[i] != KH_DELTA_EMPTY && d->keys[d->slots[i] - d->first_id] != key)
        i = kh_lsh_delta_step(d, i);
    return i;
}

bool kh_lsh_delta_reserve_keys(kh_lsh_delta *d, size_t more) {
    if (more > SIZE_MAX / 16 - d->count) return false;
    void *keys = d->keys;
    bool grown = grow_rows(&keys, &d->keys_capacity, d->count + more, sizeof *d->keys);
    d->keys = keys;
    return grown;
}

bool kh_lsh_delta_reserve(kh_lsh_delta *d, size_t more) {
    if (!kh_lsh_delta_reserve_keys(d, more)) return false;
    size_t needed = d->count + more;
    void *same = d->same;
    bool grown = grow_rows(&same, &d->same_capacity, needed, sizeof *d->same);
    d->same = same;
    if (!grown) return false;
    if (2 * needed <= d->capacity) return true; /* at most half full */
    size_t capacity = d->capacity + d->capacity / 2 > 2 * needed ? d->capacity + d->capacity / 2
                                                                 : 2 * needed;
    capacity = capacity < 64 ? 64 : (capacity + 1) & ~(size_t)1;
    kh_lsh_delta next = *d;
    next.slots = malloc(capacity * sizeof *next.slots);
    /* Row i is its key's latest unless a later row links to it. */
    uint8_t *linked = calloc(d->count / 8 + 1, 1);
    if (next.slots == NULL || linked == NULL) {
        free(next.slots);
        free(linked);
        return false;
    }
    next.capacity = capacity;
    memset(next.slots, 0xff, capacity * sizeof *next.slots); /* KH_DELTA_EMPTY */
    for (size_t i = 0; i < d->count; ++i)
        if (d->same[i] != KH_DELTA_EMPTY) {
            size_t row = d->same[i] - d->first_id;
            linked[row >> 3] |= (uint8_t)(1u << (row & 7));
        }
    /* Each key's slot moves (the links between its rows stay), placed in
     * row order: the keys are read in sequence, not through the slots. */
    for (size_t i = 0; i < d->count; ++i)
        if (!((linked[i >> 3] >> (i & 7)) & 1)) place(&next, d->keys[i], d->first_id + (uint32_t)i);
    free(linked);
    free(d->slots);
    d->slots = next.slots;
    d->capacity = capacity;
    return true;
}

void kh_lsh_delta_insert(kh_lsh_delta *d, uint64_t key) {
    uint32_t id = d->first_id + (uint32_t)d->count;
    size_t i = find_slot(d, key);
    d->keys[d->count] = key;
    d->same[d->count++] = d->slots[i]; /* the key's previous row, or none */
    d->slots[i] = id;
}

void kh_lsh_delta_undo_last(kh_lsh_delta *d) {
    size_t row = --d->count;
    /* The row is its key's latest. When it was the key's only row, its slot
     * empties: every later insert was undone before, so no probe sequence
     * runs through this slot to an entry behind it. */
    d->slots[find_slot(d, d->keys[row])] = d->same[row];
}

size_t kh_lsh_delta_bytes(const kh_lsh_delta *d) {
    return d->keys_capacity * sizeof *d->keys + d->same_capacity * sizeof *d->same +
           d->capacity * sizeof *d->slots;
}

void kh_lsh_delta_free(kh_lsh_delta *d) {
    free(d->keys);
    free(d->same);
    free(d->slots);
    memset(d, 0, sizeof *d);
}

void kh_lsh_table_bucket(const kh_lsh_table *t, uint64_t key, size_t *lo, size_t *hi) {
    uint32_t p = kh_lsh_bucket(key, t->layout);
    *lo = t->dir[p];
    *hi = t->dir[p + 1];
#if defined(__GNUC__) || defined(__clang__)
    /* A bucket of about eight 8-byte entries spans one or two cache lines. */
    if (*lo < *hi) {
        __builtin_prefetch(&t->entries[*lo]);
        __builtin_prefetch(&t->entries[*hi - 1]);
    }
#endif
}

/* Buckets up to this size are scanned, not searched: counting the entries
 * below and up to the fingerprint has no branch to mispredict (a binary
 * search over eight entries mispredicts about half of its six branches,
 * which perf showed as most of a search's time at 100k rows). */
enum { SCANNED_BUCKET = 32 };

void kh_lsh_table_find_in(const kh_lsh_table *t, uint64_t key, size_t lo, size_t hi,
                          size_t *begin, size_t *end) {
    uint32_t fp = (uint32_t)key;
    if (hi - lo <= SCANNED_BUCKET) {
        size_t below = 0, up_to = 0;
        for (size_t i = lo; i < hi; ++i) {
            below += t->entries[i].fingerprint < fp;
            up_to += t->entries[i].fingerprint <= fp;
        }
        *begin = lo + below;
        *end = lo + up_to;
        return;
    }
    size_t stop = hi;
    while (lo < hi) { /* first entry with fingerprint >= fp */
        size_t mid = lo + (hi - lo) / 2;
        if (t->entries[mid].fingerprint < fp) lo = mid + 1;
        else hi = mid;
    }
    *begin = lo;
    hi = stop;
    while (lo < hi) { /* first entry with fingerprint > fp */
        size_t mid = lo + (hi - lo) / 2;
        if (t->entries[mid].fingerprint <= fp) lo = mid + 1;
        else hi = mid;
    }
    *end = lo;
}

void kh_lsh_table_free(kh_lsh_table *t) {
    free(t->dir);
    free(t->entries);
    t->dir = NULL;
    t->entries = NULL;
}

void kh_lsh_scratch_free(kh_lsh_scratch *s) {
    free(s->keys);
    free(s->cursor);
    free(s->sort_buffer);
    free(s->spare);
    memset(s, 0, sizeof *s);
}
