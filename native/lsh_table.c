/* Band tables: built with one counting-sort pass on the key prefix, then
 * each small bucket sorted by fingerprint; merged bucket by bucket on add. */
#include <stdlib.h>
#include <string.h>

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

static void insertion_sort(kh_lsh_entry *e, size_t n) {
    for (size_t i = 1; i < n; ++i) {
        kh_lsh_entry x = e[i];
        size_t j = i;
        while (j > 0 && entry_less(x, e[j - 1])) {
            e[j] = e[j - 1];
            --j;
        }
        e[j] = x;
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

static int sort_buckets(kh_lsh_table *t, unsigned prefix_bits, kh_lsh_scratch *s,
                        kh_job *job) {
    size_t buckets = (size_t)1 << prefix_bits;
    for (size_t b = 0; b < buckets; ++b) {
        if (STOP_CHECK(b, job)) return KNOWHERE_ERR_INTERRUPTED;
        size_t n = t->dir[b + 1] - t->dir[b];
        kh_lsh_entry *e = t->entries + t->dir[b];
        if (n <= 48) {
            insertion_sort(e, n);
        } else {
            int status = radix_sort(e, n, s, job);
            if (status != KNOWHERE_OK) return status;
        }
    }
    return KNOWHERE_OK;
}

static int alloc_table(kh_lsh_table *t, size_t rows, unsigned prefix_bits) {
    t->dir = calloc(((size_t)1 << prefix_bits) + 1, sizeof *t->dir);
    t->entries = malloc((rows ? rows : 1) * sizeof *t->entries);
    return t->dir && t->entries ? KNOWHERE_OK : KNOWHERE_ERR_NO_MEMORY;
}

int kh_lsh_table_build(kh_lsh_table *out, const uint64_t *keys, size_t m,
                       uint32_t first_id, unsigned prefix_bits,
                       kh_lsh_scratch *scratch, kh_job *job) {
    memset(out, 0, sizeof *out);
    size_t buckets = (size_t)1 << prefix_bits;
    int status = alloc_table(out, m, prefix_bits);
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
        dir[kh_lsh_prefix(keys[i], prefix_bits) + 1]++;
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
        out->entries[cursor[kh_lsh_prefix(key, prefix_bits)]++] =
            (kh_lsh_entry){(uint32_t)key, first_id + (uint32_t)i};
    }
    return sort_buckets(out, prefix_bits, scratch, job);
}

int kh_lsh_table_merge(kh_lsh_table *out, const kh_lsh_table *old,
                       const kh_lsh_table *added, unsigned prefix_bits,
                       kh_job *job) {
    memset(out, 0, sizeof *out);
    size_t buckets = (size_t)1 << prefix_bits;
    size_t rows = kh_lsh_table_count(old, prefix_bits) + kh_lsh_table_count(added, prefix_bits);
    int status = alloc_table(out, rows, prefix_bits);
    if (status != KNOWHERE_OK) return status;

    size_t w = 0, polled = 0;
    for (size_t p = 0; p < buckets; ++p) {
        out->dir[p] = (uint32_t)w;
        size_t i = old->dir[p], i_end = old->dir[p + 1];
        size_t j = added->dir[p], j_end = added->dir[p + 1];
        while (i < i_end || j < j_end) {
            if (STOP_CHECK(++polled, job)) return KNOWHERE_ERR_INTERRUPTED;
            /* On equal fingerprints the old entry (smaller id) goes first. */
            if (j == j_end || (i < i_end && !entry_less(added->entries[j], old->entries[i])))
                out->entries[w++] = old->entries[i++];
            else
                out->entries[w++] = added->entries[j++];
        }
    }
    out->dir[buckets] = (uint32_t)w;
    return KNOWHERE_OK;
}

void kh_lsh_table_bucket(const kh_lsh_table *t, unsigned prefix_bits, uint64_t key,
                         size_t *lo, size_t *hi) {
    uint32_t p = kh_lsh_prefix(key, prefix_bits);
    *lo = t->dir[p];
    *hi = t->dir[p + 1];
#if defined(__GNUC__) || defined(__clang__)
    if (*lo < *hi) __builtin_prefetch(&t->entries[*lo + (*hi - *lo) / 2]);
#endif
}

void kh_lsh_table_find_in(const kh_lsh_table *t, uint64_t key, size_t lo, size_t hi,
                          size_t *begin, size_t *end) {
    uint32_t fp = (uint32_t)key;
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
    memset(s, 0, sizeof *s);
}
