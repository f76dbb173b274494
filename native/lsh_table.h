/* One band's table: band keys to ids, as a sorted array with a bucket
 * directory, plus a delta for the rows added since the table was made.
 *
 * Layout. A 64-bit band key has a fingerprint (its low 32 bits) and a
 * bucket number of `prefix_bits` bits: the key's top `key_bits` bits
 * followed by the fingerprint's top `prefix_bits - key_bits` bits.
 * `entries` holds (fingerprint, id) for every row of the table, sorted by
 * (bucket, fingerprint, id); `dir[b]` is the index of the first entry of
 * bucket b, and dir[1 << prefix_bits] the count. With 2^prefix_bits about
 * count / 8 that is 8.5 bytes per row and band, and a lookup is one
 * directory read plus a binary search over about eight entries (one or two
 * cache lines). Keys are compared on 32 + key_bits bits.
 *
 * A build sets key_bits = prefix_bits. When adds have grown the rows enough
 * that the directory must widen, the merge takes the new bucket bits from
 * the fingerprints (which the entries keep), so the bucket order of the old
 * entries does not change and the merge is one linear pass; key_bits stays
 * what the first build chose (the key's other bits are not kept).
 *
 * The delta holds the rows added since: an open-addressing hash (linear
 * probing, at most half full) over their full 64-bit keys, in which each
 * distinct key has one slot holding its latest row, and each row links to
 * the previous row with its key. So many rows with one key (a hot bucket:
 * thousands of identical documents) take one slot, not a probe run that
 * every insert and every lookup near it would walk. An add inserts in
 * O(1); a search probes it after the table. */
#ifndef KNOWHERE_LSH_TABLE_H
#define KNOWHERE_LSH_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parallel.h"

typedef struct {
    uint32_t fingerprint;
    uint32_t id;
} kh_lsh_entry;

typedef struct {
    unsigned prefix_bits; /* directory width: 2^prefix_bits buckets */
    unsigned key_bits;    /* of which the key's top bits (<= prefix_bits) */
} kh_lsh_layout;

/* Each band's table has its own layout and row count, so that the bands
 * can be merged with their deltas one at a time (a merge interrupted
 * half-way leaves some bands merged and the others not, both valid). */
typedef struct {
    uint32_t *dir;           /* (1 << layout.prefix_bits) + 1 offsets */
    kh_lsh_entry *entries;   /* dir[1 << layout.prefix_bits] entries */
    kh_lsh_layout layout;
} kh_lsh_table;

/* Rows added since the table was made: ids first_id .. first_id + count - 1
 * (consecutive: every add appends, every merge takes the whole delta). */
typedef struct {
    uint64_t *keys;          /* [count]: the band key of row first_id + i */
    size_t keys_capacity;
    uint32_t *same;          /* [count]: row i's previous id with its key, or
                                KH_DELTA_EMPTY */
    size_t same_capacity;
    uint32_t *slots;         /* [capacity]: a key's latest id, or KH_DELTA_EMPTY */
    size_t capacity;         /* even (or 0), at least 2 * count */
    size_t count;
    uint32_t first_id;
} kh_lsh_delta;

#define KH_DELTA_EMPTY UINT32_MAX

/* Reusable per-thread memory for building tables. */
typedef struct {
    uint64_t *keys;
    size_t keys_capacity;
    uint32_t *cursor;
    size_t cursor_capacity;
    kh_lsh_entry *sort_buffer;
    size_t sort_capacity;
    /* A build's: the keys of the last band this thread made a table of
     * (their `rows`), to hold the entries of its next table. */
    uint64_t *spare;
} kh_lsh_scratch;

/* The prefix width for a table of `rows` rows: about rows / 8 buckets. */
unsigned kh_lsh_prefix_bits(size_t rows);

/* The layout a build of `rows` rows uses. */
static inline kh_lsh_layout kh_lsh_build_layout(size_t rows) {
    unsigned bits = kh_lsh_prefix_bits(rows);
    return (kh_lsh_layout){bits, bits};
}

/* The bucket of `key` (see the layout above). */
static inline uint32_t kh_lsh_bucket(uint64_t key, kh_lsh_layout l) {
    unsigned from_fingerprint = l.prefix_bits - l.key_bits;
    uint32_t top = l.key_bits ? (uint32_t)(key >> (64 - l.key_bits)) : 0;
    uint32_t low = from_fingerprint ? (uint32_t)key >> (32 - from_fingerprint) : 0;
    return (top << from_fingerprint) | low;
}

static inline size_t kh_lsh_table_rows(const kh_lsh_table *t) {
    return t->dir ? t->dir[(size_t)1 << t->layout.prefix_bits] : 0;
}

/* Fills `out` with the table of m rows whose keys are keys[0..m-1] (row i
 * has id first_id + i). Its entries go to `entries` (room for m, owned by
 * `out` from then on) when not NULL, else to new memory: a build puts a
 * table in the memory of the keys of the band it built before, which
 * spares the first touch of new pages (keys and entries are both 8 bytes
 * per row). Returns KNOWHERE_OK, KNOWHERE_ERR_NO_MEMORY, or
 * KNOWHERE_ERR_INTERRUPTED when the job was stopped. Whatever the status,
 * `out` may own memory afterwards: the caller frees it (so that big partial
 * tables can be released off the calling thread). */
int kh_lsh_table_build(kh_lsh_table *out, const uint64_t *keys, size_t m,
                       uint32_t first_id, kh_lsh_layout layout, kh_lsh_entry *entries,
                       kh_lsh_scratch *scratch, kh_job *job);

/* Fills `out` (layout `to`) with the rows of `old` (`to` has the same
 * key_bits as old's layout and at least as many prefix bits) and those of
 * `delta`, whose ids are all larger. Same statuses as kh_lsh_table_build. */
int kh_lsh_table_merge(kh_lsh_table *out, const kh_lsh_table *old,
                       const kh_lsh_delta *delta, kh_lsh_layout to,
                       kh_lsh_scratch *scratch, kh_job *job);

/* The delta. reserve makes room for `more` inserts (growing, and rehashing
 * into new memory, only when it must; on failure nothing changed), and
 * reserve_keys for `more` keys past count (a merge appends the keys of the
 * rows it adds there, without inserting them). insert needs that room. undo_last takes back the last insert (inserts are undone
 * in the reverse order, which restores the table exactly). */
bool kh_lsh_delta_reserve(kh_lsh_delta *d, size_t more);
bool kh_lsh_delta_reserve_keys(kh_lsh_delta *d, size_t more);
void kh_lsh_delta_insert(kh_lsh_delta *d, uint64_t key);
void kh_lsh_delta_undo_last(kh_lsh_delta *d);
/* A key's first slot: its hash scaled to the capacity, which need not be
 * a power of two (so the arrays grow by half, not double: at 10^7 rows
 * the deltas are the largest transient memory). */
static inline size_t kh_lsh_delta_home(const kh_lsh_delta *d, uint64_t key) {
    uint64_t hash = (uint32_t)(key ^ (key >> 32));
    return (size_t)((hash * (d->capacity >> 1)) >> 31);
}
static inline size_t kh_lsh_delta_step(const kh_lsh_delta *d, size_t slot) {
    return slot + 1 == d->capacity ? 0 : slot + 1;
}
static inline void kh_lsh_delta_prefetch(const kh_lsh_delta *d, uint64_t key) {
#if defined(__GNUC__) || defined(__clang__)
    if (d->count) __builtin_prefetch(&d->slots[kh_lsh_delta_home(d, key)]);
#else
    (void)d, (void)key;
#endif
}
/* The ids whose key is `key`, latest first, one per call: start with *slot
 * = kh_lsh_delta_home(d, key) (and only when d->count > 0); false at the
 * end. Once the key's slot is found, *slot is capacity + the row of the
 * last id given, and the next one is its link. */
static inline bool kh_lsh_delta_next(const kh_lsh_delta *d, uint64_t key, size_t *slot,
                                     uint32_t *id) {
    if (*slot >= d->capacity) {
        uint32_t previous = d->same[*slot - d->capacity];
        if (previous == KH_DELTA_EMPTY) return false;
        *id = previous;
        *slot = d->capacity + (previous - d->first_id);
        return true;
    }
    for (size_t i = *slot;; i = kh_lsh_delta_step(d, i)) {
        uint32_t found = d->slots[i];
        if (found == KH_DELTA_EMPTY) return false;
        if (d->keys[found - d->first_id] == key) {
            *id = found;
            *slot = d->capacity + (found - d->first_id);
            return true;
        }
    }
}
size_t kh_lsh_delta_bytes(const kh_lsh_delta *d);
void kh_lsh_delta_free(kh_lsh_delta *d);

/* Finding the entries whose key matches `key` on 32 + prefix_bits bits, in
 * steps, so that a caller looking up many bands can overlap their cache
 * misses: kh_lsh_table_prefetch_dir as soon as the key is known;
 * kh_lsh_table_bucket reads the directory (and prefetches the bucket);
 * kh_lsh_table_find_in searches the bucket: entries[*begin .. *end - 1]. */
static inline void kh_lsh_table_prefetch_dir(const kh_lsh_table *t, uint64_t key) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(&t->dir[kh_lsh_bucket(key, t->layout)]);
#else
    (void)t, (void)key;
#endif
}
void kh_lsh_table_bucket(const kh_lsh_table *t, uint64_t key, size_t *lo, size_t *hi);
void kh_lsh_table_find_in(const kh_lsh_table *t, uint64_t key, size_t lo, size_t hi,
                          size_t *begin, size_t *end);

/* Bytes held by a table of `rows` rows. */
size_t kh_lsh_table_bytes(size_t rows, unsigned prefix_bits);

void kh_lsh_table_free(kh_lsh_table *t);
void kh_lsh_scratch_free(kh_lsh_scratch *s);

#endif
