/* The MinHash-LSH index's private layout, shared by its build and search
 * files. */
#ifndef KNOWHERE_MINHASH_LSH_INTERNAL_H
#define KNOWHERE_MINHASH_LSH_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "knowhere_rs.h"
#include "lsh_table.h"

/* Ids are stored in 32 bits; UINT32_MAX is kept free as "no id". */
#define KH_MAX_SIGNATURES ((size_t)UINT32_MAX - 1)

/* A block of raw signatures: rows first_id .. first_id + rows - 1, with
 * room for `capacity` rows. A build or load makes one; adds fill the last
 * one and then start a new one at least half the size of the index, so
 * there are O(log count) segments and adding never moves old rows. */
typedef struct {
    uint8_t *data;
    size_t first_id, rows, capacity;
} kh_raw_segment;

/* Everything a search reads. A build or load makes a new one on the side
 * and swaps it in, so a failed or interrupted call leaves the old one
 * untouched. Add and remove change the current one in place, under the
 * guard's `exclusive` (no reader meanwhile), and undo what they did when
 * they fail. */
typedef struct {
    size_t count, length, element_size, bands, rows_per_band;
    size_t signature_bytes, band_bytes;
    /* The form of the raw data (raw_codes.h): raw_bits 0 keeps full values,
     * 8 or 16 keeps b-bit codes of them. A raw row is raw_row_bytes long
     * (length values of raw_value_bytes), a band of it raw_band_bytes;
     * with full values these are signature_bytes, element_size and
     * band_bytes. Meaningless without raw data. */
    uint32_t raw_bits;
    size_t raw_value_bytes, raw_row_bytes, raw_band_bytes;
    /* [bands]: band b's table holds rows 0 .. kh_lsh_table_rows(&tables[b])
     * - 1, in its own layout (every band has the same key_bits). */
    kh_lsh_table *tables;
    /* [bands], or NULL: band b's rows after its table's, up to count - 1,
     * added since the table was made (lsh_table.h). */
    kh_lsh_delta *deltas;
    kh_raw_segment *raw;         /* [raw_segments]; NULL without raw data */
    size_t raw_segments, raw_segments_capacity;
    /* Bit id set: id was removed. NULL while none is; else
     * removed_capacity >= (count + 7) / 8 bytes, zero past count. */
    uint8_t *removed;
    size_t removed_capacity;
    size_t removed_count;
    /* The application's bytes (knowhere_minhash_lsh_set_app_data), saved
     * with the index; NULL when none. */
    uint8_t *app_data;
    size_t app_bytes;
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
    atomic_bool has_raw;   /* full values kept */
    atomic_uint raw_bits;  /* 8 or 16: codes kept; else 0 */
} kh_lsh_summary;

/* The scheme of the signatures an index holds, as its owner declared it
 * (knowhere_minhash_lsh_set_signature_scheme) or a loaded file recorded
 * it: the library's scheme version and the options. */
typedef struct {
    uint32_t version;
    knowhere_signature_options options;
} kh_signature_scheme;

struct knowhere_minhash_lsh {
    kh_lsh_state *state;         /* NULL until the first successful build */
    /* Taken only for a few instructions (never while waiting or working):
     * guards `state` and the states' refs / retired. */
    pthread_mutex_t lock;
    kh_lsh_summary summary;
    /* Under `lock`: the signature scheme, when has_scheme. Build and add
     * keep it; load and deserialize replace it with the file's (or none). */
    kh_signature_scheme scheme;
    bool has_scheme;
    atomic_size_t threads;       /* 0: one per online processor */
    atomic_uint raw_bits;        /* the raw form the next build keeps (0, 8, 16) */
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
 * memory), updates the accessors' summary, and releases the previous
 * state; one that readers still hold is freed by the last of them. */
void kh_minhash_lsh_publish(knowhere_minhash_lsh *index, kh_lsh_state *next);

/* The index's signature scheme (false: none), read under its lock; and
 * replacing it (has = false: none), for load. */
bool kh_minhash_lsh_scheme(const knowhere_minhash_lsh *index, kh_signature_scheme *scheme);
void kh_minhash_lsh_set_scheme(knowhere_minhash_lsh *index, const kh_signature_scheme *scheme,
                               bool has);

/* Frees a state (NULL is a no-op), off the calling thread when it is large. */
void kh_lsh_state_release(kh_lsh_state *s);

/* Whether some band has rows in its delta (added since its table was made). */
static inline bool kh_lsh_state_has_delta(const kh_lsh_state *s) {
    for (size_t b = 0; s->deltas != NULL && b < s->bands; ++b)
        if (s->deltas[b].count) return true;
    return false;
}

/* Band b's delta when it holds rows, else NULL. */
static inline const kh_lsh_delta *kh_lsh_band_delta(const kh_lsh_state *s, size_t band) {
    return s->deltas != NULL && s->deltas[band].count ? &s->deltas[band] : NULL;
}

/* Whether every band's table holds every row, all in one layout: what
 * readers walking whole tables and saves need (kh_lsh_flat_state). */
static inline bool kh_lsh_state_is_flat(const kh_lsh_state *s) {
    if (kh_lsh_state_has_delta(s)) return false;
    for (size_t b = 1; b < s->bands; ++b)
        if (s->tables[b].layout.prefix_bits != s->tables[0].layout.prefix_bits) return false;
    return true;
}

/* The fewest rows a band's table holds (the others are in its delta). */
static inline size_t kh_lsh_state_min_table_rows(const kh_lsh_state *s) {
    size_t rows = s->count;
    for (size_t b = 0; b < s->bands; ++b)
        if (kh_lsh_table_rows(&s->tables[b]) < rows) rows = kh_lsh_table_rows(&s->tables[b]);
    return rows;
}

/* A state for readers that walk whole tables (self-join without raw data,
 * save): `s` itself when it is flat, else a copy whose tables hold every
 * row in one layout (made in parallel on `threads` threads) and which
 * shares everything else with `s`; free it with kh_lsh_flat_state_free. */
int kh_lsh_flat_state(const kh_lsh_state *s, size_t threads, CInterrupt interrupt,
                      const kh_lsh_state **flat);
void kh_lsh_flat_state_free(const kh_lsh_state *s, const kh_lsh_state *flat);
/* The bytes a state holds (for memory_bytes). */
size_t kh_lsh_state_memory(const kh_lsh_state *s);

/* The raw row of signature `id`, raw_row_bytes long: its values, or their
 * codes (the state must keep raw data). */
const uint8_t *kh_raw_row(const kh_lsh_state *s, size_t id);

/* XXH3 band key of band `band` of one signature. */
uint64_t kh_band_key(const kh_lsh_state *s, const uint8_t *signature, size_t band);

#endif
