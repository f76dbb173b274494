/* The MinHash-LSH index's private layout, shared by its build and search
 * files. */
#ifndef KNOWHERE_MINHASH_LSH_INTERNAL_H
#define KNOWHERE_MINHASH_LSH_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lsh_table.h"

/* Ids are stored in 32 bits; UINT32_MAX is kept free as "no id". */
#define KH_MAX_SIGNATURES ((size_t)UINT32_MAX - 1)

/* A block of raw signatures: rows first_id .. first_id + rows - 1. Each
 * build makes one; each add appends one, so adding never copies old data. */
typedef struct {
    uint8_t *data;
    size_t first_id, rows;
} kh_raw_segment;

/* Everything a search reads. Immutable once published in the index: build
 * and add make a new one and swap it in, so a failed or interrupted call
 * leaves the old one untouched. */
typedef struct {
    size_t count, length, element_size, bands, rows_per_band;
    size_t signature_bytes, band_bytes;
    unsigned prefix_bits;
    kh_lsh_table *tables;        /* [bands] */
    kh_raw_segment *raw;         /* [raw_segments]; NULL without raw data */
    size_t raw_segments;
    /* Bit id set: id was removed. NULL while none is; else (count + 7) / 8
     * bytes. The one part a writer changes in place (remove): the guard
     * keeps readers out meanwhile. */
    uint8_t *removed;
    size_t removed_count;
    size_t memory_bytes;
    /* Under the index's lock: the readers using this state, and whether a
     * build or load replaced it (then the last of them frees it). */
    size_t refs;
    bool retired;
} kh_lsh_state;

/* Whether row id was removed. */
static inline bool kh_is_removed(const kh_lsh_state *s, size_t id) {
    return s->removed != NULL && ((s->removed[id >> 3] >> (id & 7)) & 1);
}

/* What the accessors report, copied out of the state when it is published
 * so that reading them never touches a state a writer may be freeing. */
typedef struct {
    atomic_size_t count, length, element_size, bands, rows_per_band, memory_bytes;
    atomic_size_t removed_count;
    atomic_bool has_raw;
} kh_lsh_summary;

struct knowhere_minhash_lsh {
    kh_lsh_state *state;         /* NULL until the first successful build */
    /* Taken only for a few instructions (never while waiting or working):
     * guards `state` and the states' refs / retired. */
    pthread_mutex_t lock;
    kh_lsh_summary summary;
    atomic_size_t threads;       /* 0: one per online processor */
    /* A non-blocking guard. Readers (searches, saves) count themselves in
     * `readers` and hold a reference to the state they read. Writers raise
     * `writer` (one at a time). A build or load makes a new state on the
     * side and swaps it in while readers go on with the old one; add and
     * remove change what readers read (remove in place, add shares raw
     * segments with the old state), so they also raise `exclusive`, and
     * they and readers back off from each other with KNOWHERE_ERR_BUSY
     * (sequentially consistent, so one side always sees the other). */
    atomic_uint readers;
    atomic_bool writer;
    atomic_bool exclusive;
};

size_t kh_minhash_lsh_threads(const knowhere_minhash_lsh *index);

/* The guard. enter_* returns KNOWHERE_OK or KNOWHERE_ERR_BUSY (with a
 * message in *err); a successful enter_* is paired with its leave_*.
 * `exclusive`: the writer changes the current state (add, remove) rather
 * than replacing it (build, load). A reader gets the state to read (NULL:
 * never built), which stays valid until it leaves. */
int kh_minhash_lsh_enter_writer(knowhere_minhash_lsh *index, bool exclusive,
                                knowhere_error **err);
void kh_minhash_lsh_leave_writer(knowhere_minhash_lsh *index);
int kh_minhash_lsh_enter_reader(knowhere_minhash_lsh *index, const kh_lsh_state **state,
                                knowhere_error **err);
void kh_minhash_lsh_leave_reader(knowhere_minhash_lsh *index, const kh_lsh_state *state);

/* Under the writer guard: makes `next` the index's state (computing its
 * memory), updates the accessors' summary, and releases the previous state
 * except its first `shared_raw` raw segments (which `next` took over; only
 * an exclusive writer shares, so no reader holds the previous state then).
 * A previous state readers still hold is freed by the last of them. */
void kh_minhash_lsh_publish(knowhere_minhash_lsh *index, kh_lsh_state *next,
                            size_t shared_raw);

/* Frees a state (NULL is a no-op), off the calling thread when it is large.
 * Its first `keep_raw` raw segments are not freed (they are shared). */
void kh_lsh_state_release(kh_lsh_state *s, size_t keep_raw);
/* The bytes a state holds (for memory_bytes). */
size_t kh_lsh_state_memory(const kh_lsh_state *s);

/* The raw bytes of signature `id` (the state must keep raw data). */
const uint8_t *kh_raw_row(const kh_lsh_state *s, size_t id);

/* XXH3 band key of band `band` of one signature. */
uint64_t kh_band_key(const kh_lsh_state *s, const uint8_t *signature, size_t band);

#endif
