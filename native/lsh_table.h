/* One band's table: band keys to ids, as a sorted array with a prefix
 * directory.
 *
 * Layout. A 64-bit band key splits into a prefix (its top `prefix_bits`
 * bits) and a fingerprint (its low 32 bits). `entries` holds (fingerprint,
 * id) for every row, sorted by (prefix, fingerprint, id); `dir[p]` is the
 * index of the first entry with prefix p, and dir[1 << prefix_bits] the
 * count. With 2^prefix_bits about count / 8 that is 8.5 bytes per row and
 * band, and a lookup is one directory read plus a binary search over about
 * eight entries (one or two cache lines). Keys are compared on
 * 32 + prefix_bits bits. */
#ifndef KNOWHERE_LSH_TABLE_H
#define KNOWHERE_LSH_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "parallel.h"

typedef struct {
    uint32_t fingerprint;
    uint32_t id;
} kh_lsh_entry;

typedef struct {
    uint32_t *dir;           /* (1 << prefix_bits) + 1 offsets */
    kh_lsh_entry *entries;   /* dir[1 << prefix_bits] entries */
} kh_lsh_table;

/* Reusable per-thread memory for building tables. */
typedef struct {
    uint64_t *keys;
    size_t keys_capacity;
    uint32_t *cursor;
    size_t cursor_capacity;
    kh_lsh_entry *sort_buffer;
    size_t sort_capacity;
} kh_lsh_scratch;

/* The prefix width for a table of `rows` rows: about rows / 8 buckets. */
unsigned kh_lsh_prefix_bits(size_t rows);

static inline uint32_t kh_lsh_prefix(uint64_t key, unsigned prefix_bits) {
    return prefix_bits ? (uint32_t)(key >> (64 - prefix_bits)) : 0;
}

static inline size_t kh_lsh_table_count(const kh_lsh_table *t, unsigned prefix_bits) {
    return t->dir ? t->dir[(size_t)1 << prefix_bits] : 0;
}

/* Fills `out` with the table of m rows whose keys are keys[0..m-1] (row i
 * has id first_id + i). Returns KNOWHERE_OK, KNOWHERE_ERR_NO_MEMORY, or
 * KNOWHERE_ERR_INTERRUPTED when the job was stopped. Whatever the status,
 * `out` may own memory afterwards: the caller frees it (so that big partial
 * tables can be released off the calling thread). */
int kh_lsh_table_build(kh_lsh_table *out, const uint64_t *keys, size_t m,
                       uint32_t first_id, unsigned prefix_bits,
                       kh_lsh_scratch *scratch, kh_job *job);

/* Fills `out` with the union of `old` and `added` (whose ids are all larger),
 * keeping the order. Same statuses as kh_lsh_table_build. */
int kh_lsh_table_merge(kh_lsh_table *out, const kh_lsh_table *old,
                       const kh_lsh_table *added, unsigned prefix_bits,
                       kh_job *job);

/* Finding the entries whose key matches `key` on 32 + prefix_bits bits, in
 * steps, so that a caller looking up many bands can overlap their cache
 * misses: kh_lsh_table_prefetch_dir as soon as the key is known;
 * kh_lsh_table_bucket reads the directory (and prefetches the bucket);
 * kh_lsh_table_find_in searches the bucket: entries[*begin .. *end - 1]. */
static inline void kh_lsh_table_prefetch_dir(const kh_lsh_table *t, unsigned prefix_bits,
                                             uint64_t key) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(&t->dir[kh_lsh_prefix(key, prefix_bits)]);
#else
    (void)t, (void)prefix_bits, (void)key;
#endif
}
void kh_lsh_table_bucket(const kh_lsh_table *t, unsigned prefix_bits, uint64_t key,
                         size_t *lo, size_t *hi);
void kh_lsh_table_find_in(const kh_lsh_table *t, uint64_t key, size_t lo, size_t hi,
                          size_t *begin, size_t *end);

/* Bytes held by a table of `rows` rows. */
size_t kh_lsh_table_bytes(size_t rows, unsigned prefix_bits);

void kh_lsh_table_free(kh_lsh_table *t);
void kh_lsh_scratch_free(kh_lsh_scratch *s);

#endif
