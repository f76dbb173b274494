/*
 * knowhere_rs.h: the public C API of knowhere-rs.
 *
 * A cancellable MinHash-LSH near-duplicate index. This header is the
 * reference manual: every function is documented where it is declared.
 *
 * Conventions (the same for every function):
 *
 *  - Fallible functions return an `int` status: KNOWHERE_OK (0) or one of the
 *    KNOWHERE_ERR_* codes below. Where Milvus knowhere's `knowhere::Status`
 *    has a meaning, its number is used.
 *  - Fallible functions take an optional trailing `knowhere_error **err`.
 *    Pass NULL if you only want the status. Otherwise *err is set to NULL on
 *    success, or to a new error object (code + message) on failure, which
 *    the caller frees with knowhere_error_free(). There is no thread-local
 *    "last error": the error travels with the call, so it is correct when
 *    the call runs on another thread (koffi async, thread pools).
 *  - Handles are opaque. Every `_free(NULL)` is a no-op.
 *  - Long operations take a CInterrupt (NULL allowed: not cancellable) and
 *    return KNOWHERE_ERR_INTERRUPTED soon after it is set, or
 *    KNOWHERE_ERR_TIMEOUT soon after its deadline (the library checks it at
 *    least every few hundred microseconds of work).
 *  - No global mutable state, except one cached value: the SIMD level of
 *    this CPU, detected on first use (thread-safe; the environment variable
 *    KNOWHERE_SIMD=avx512, =avx2 or =scalar caps it, for tests and
 *    measurements; the results are the same at every level). Everything is
 *    safe to call from any thread; per-object rules are stated on each
 *    object.
 *
 * Compiles as C11 and as C++11..C++20.
 */
#ifndef KNOWHERE_RS_H
#define KNOWHERE_RS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------- */
/* Export macro                                                              */
/* ------------------------------------------------------------------------- */

/* The library is built with hidden visibility by default; only functions
 * marked KNOWHERE_API are exported. Define KNOWHERE_API yourself to override
 * (for example empty, when compiling the sources into your own program). */
#ifndef KNOWHERE_API
#if defined(_WIN32)
#if defined(KNOWHERE_BUILDING_LIBRARY)
#define KNOWHERE_API __declspec(dllexport)
#else
#define KNOWHERE_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define KNOWHERE_API __attribute__((visibility("default")))
#else
#define KNOWHERE_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* Version                                                                   */
/* ------------------------------------------------------------------------- */

#define KNOWHERE_RS_VERSION_MAJOR 0
#define KNOWHERE_RS_VERSION_MINOR 3
#define KNOWHERE_RS_VERSION_PATCH 0
#define KNOWHERE_RS_VERSION_STRING "0.3.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, as knowhere_version_number() returns. */
#define KNOWHERE_RS_VERSION_NUMBER                                             \
    (KNOWHERE_RS_VERSION_MAJOR * 10000 + KNOWHERE_RS_VERSION_MINOR * 100 +     \
     KNOWHERE_RS_VERSION_PATCH)
/* Bumped whenever a declaration in this header changes incompatibly. A
 * binding must refuse a library whose knowhere_abi_version() differs. */
#define KNOWHERE_RS_ABI_VERSION 1

/* The library's version string, e.g. "0.3.0" (static storage). Compare with
 * KNOWHERE_RS_VERSION_STRING to detect a header/library mismatch. */
KNOWHERE_API const char *knowhere_version(void);
/* The library's KNOWHERE_RS_VERSION_NUMBER. */
KNOWHERE_API uint32_t knowhere_version_number(void);
/* The library's KNOWHERE_RS_ABI_VERSION. */
KNOWHERE_API uint32_t knowhere_abi_version(void);

/* ------------------------------------------------------------------------- */
/* Status codes                                                              */
/* ------------------------------------------------------------------------- */

#define KNOWHERE_OK 0
#define KNOWHERE_ERR_INVALID_ARG 1       /* knowhere::Status::invalid_args */
#define KNOWHERE_ERR_EMPTY_INDEX 6       /* knowhere::Status::empty_index */
#define KNOWHERE_ERR_NOT_IMPLEMENTED 7   /* knowhere::Status::not_implemented */
#define KNOWHERE_ERR_NO_MEMORY 13        /* knowhere::Status::malloc_error */
#define KNOWHERE_ERR_FILE 15             /* knowhere::Status::disk_file_error */
#define KNOWHERE_ERR_OVERFLOW 17         /* knowhere::Status::arithmetic_overflow */
#define KNOWHERE_ERR_TIMEOUT 26          /* knowhere::Status::timeout */
#define KNOWHERE_ERR_INTERNAL 27         /* knowhere::Status::internal_error */
/* Codes of our own, above knowhere's range. */
#define KNOWHERE_ERR_INTERRUPTED 100     /* a CInterrupt was set */
#define KNOWHERE_ERR_BUSY 101            /* the object is in use by another call */
#define KNOWHERE_ERR_CORRUPT 102         /* serialized data is truncated, damaged or not ours */

/* Static English text for any int (unknown codes give "unknown status").
 * Never NULL. Thread-safe. */
KNOWHERE_API const char *knowhere_status_string(int status);

/* ------------------------------------------------------------------------- */
/* Error object                                                              */
/* ------------------------------------------------------------------------- */

typedef struct knowhere_error knowhere_error;

/* The status code of an error; KNOWHERE_OK for NULL. */
KNOWHERE_API int knowhere_error_code(const knowhere_error *error);
/* The message of an error (owned by the error, valid until it is freed);
 * "" for NULL. Never NULL. */
KNOWHERE_API const char *knowhere_error_message(const knowhere_error *error);
/* Frees an error. NULL is a no-op. */
KNOWHERE_API void knowhere_error_free(knowhere_error *error);
/* For callers writing their own fallible functions in the same convention:
 * if err is not NULL, stores a new error with `code` and a copy of `message`
 * (NULL: knowhere_status_string(code)) in *err, freeing nothing that was
 * there. Returns `code`, so `return knowhere_error_set(err, code, "...");`
 * works. If memory for the error cannot be had, *err is set to a static
 * error (which knowhere_error_free accepts) with the same code, whose
 * message is the status string followed by " (out of memory for the
 * details)"; for a code this header does not define, the static error's
 * code is KNOWHERE_ERR_NO_MEMORY. Every error the library itself returns
 * is made this way, so its code always equals the status returned. */
KNOWHERE_API int knowhere_error_set(knowhere_error **err, int code,
                                    const char *message);

/* ------------------------------------------------------------------------- */
/* Interrupt handle                                                          */
/* ------------------------------------------------------------------------- */

/*
 * A thread-safe cancellation flag. A handle refers to a shared flag; clones
 * refer to the same flag. Each handle (the original and every clone) is
 * freed exactly once with knowhere_interrupt_free(); the flag itself is
 * freed with its last handle.
 *
 * Thread safety: every function may be called from any thread at any time
 * on handles that are still alive, including concurrently on the same
 * handle. The flag is a lock-free atomic accessed with relaxed ordering: a
 * store becomes visible to other threads promptly but orders no other
 * memory; use your own synchronisation to publish data with it. The
 * reference count uses acquire/release ordering, so freeing handles from
 * different threads is safe. Freeing a handle while another thread still
 * uses *that same handle* is the caller's error (as for any free).
 */
typedef struct knowhere_interrupt *CInterrupt;

/* A new handle on a new flag, not interrupted. NULL on out-of-memory. */
KNOWHERE_API CInterrupt knowhere_interrupt_create(void);
/* A new handle on a new flag in the given state. NULL on out-of-memory. */
KNOWHERE_API CInterrupt knowhere_interrupt_create_with_state(bool interrupted);
/* Whether the flag is set. NULL: false. */
KNOWHERE_API bool knowhere_interrupt_is_interrupted(CInterrupt interrupt);
/* Sets the flag. Returns KNOWHERE_OK, or KNOWHERE_ERR_INVALID_ARG for NULL.
 * Async-signal-safe (a SIGINT handler may call it). */
KNOWHERE_API int knowhere_interrupt_interrupt(CInterrupt interrupt);
/* Clears the flag. Returns KNOWHERE_OK, or KNOWHERE_ERR_INVALID_ARG for NULL. */
KNOWHERE_API int knowhere_interrupt_reset(CInterrupt interrupt);
/* Sets the flag and returns its previous value, atomically: of several
 * threads racing on a clear flag exactly one sees false. NULL: false. */
KNOWHERE_API bool knowhere_interrupt_test_and_set(CInterrupt interrupt);
/* A new handle on the same flag (to be freed on its own). NULL for NULL or
 * on out-of-memory. */
KNOWHERE_API CInterrupt knowhere_interrupt_clone(CInterrupt interrupt);
/* Frees this handle; the flag goes with its last handle. NULL is a no-op. */
KNOWHERE_API void knowhere_interrupt_free(CInterrupt interrupt);

/* A new handle on a new flag linked to the flags of `parents[0 .. count-1]`
 * (NULL entries are skipped; parents may be NULL when count is 0): it reads
 * as set when it is set itself or when any parent is, or any parent's
 * parent, and so on. So an operation can be cancelled on its own (set the
 * linked flag) while it still obeys a flag shared with other threads or
 * operations (the parent), which setting the linked flag never touches:
 * interrupt, reset, test_and_set and set_deadline act on the linked flag
 * alone. A parent's passed deadline reads as KNOWHERE_ERR_TIMEOUT, an
 * explicit interrupt of a parent as KNOWHERE_ERR_INTERRUPTED;
 * remaining_ms is that of the earliest deadline among the flag and its
 * ancestors. Progress, and a progress callback, belong to the linked flag
 * alone (a parent's callback is not called). The links are fixed at
 * creation; the new flag holds a reference to each ancestor's flag, so the
 * parents' handles may be freed first. NULL on out-of-memory.
 * Cost: a check reads one more flag per distinct ancestor while none is
 * set (about a nanosecond each: docs/benchmarks.md). */
KNOWHERE_API CInterrupt knowhere_interrupt_create_linked(const CInterrupt *parents, size_t count);

/* ---- deadlines -------------------------------------------------------------- */

/* A new handle on a new flag that becomes interrupted `timeout_ms`
 * milliseconds from now (CLOCK_MONOTONIC). 0 means no deadline. NULL on
 * out-of-memory. */
KNOWHERE_API CInterrupt knowhere_interrupt_create_with_timeout(uint64_t timeout_ms);

/* Sets the flag's deadline to `ms_from_now` milliseconds from now; 0 clears
 * it. The deadline belongs to the flag, so every clone sees it. Once it has
 * passed, is_interrupted() is true and operations fail with
 * KNOWHERE_ERR_TIMEOUT instead of KNOWHERE_ERR_INTERRUPTED; an explicit
 * interrupt() made before the deadline still reads as INTERRUPTED. reset()
 * clears the flag but not the deadline (a passed deadline sets it again at
 * the next check): clear or move the deadline to reuse a timed-out flag.
 * Returns KNOWHERE_OK, or KNOWHERE_ERR_INVALID_ARG for NULL. Thread-safe.
 * Cost: a handle without a deadline checks as fast as before; one with a
 * deadline reads the monotonic clock (a vDSO call, tens of nanoseconds) in
 * is_interrupted until it fires, and the library's loops call it at most
 * every thousand or so items. */
KNOWHERE_API int knowhere_interrupt_set_deadline(CInterrupt interrupt, uint64_t ms_from_now);

/* Milliseconds left until the deadline (0 if it has passed), or UINT64_MAX
 * when there is none or the handle is NULL. */
KNOWHERE_API uint64_t knowhere_interrupt_remaining_ms(CInterrupt interrupt);

/* ---- progress --------------------------------------------------------------- */

/* What an operation reporting progress is doing. */
#define KNOWHERE_PHASE_IDLE 0
#define KNOWHERE_PHASE_BUILD 1
#define KNOWHERE_PHASE_ADD 2
#define KNOWHERE_PHASE_SEARCH 3  /* batch search; single searches do not report */
#define KNOWHERE_PHASE_SAVE 4
#define KNOWHERE_PHASE_LOAD 5

/* A progress callback: `done` of `total` units of the current operation.
 * Return 0 to go on; any other value interrupts the operation (it sets the
 * flag, as knowhere_interrupt_interrupt does, and the operation returns
 * KNOWHERE_ERR_INTERRUPTED). Called on one of the threads doing the work
 * (the caller's thread or one of the operation's worker threads), at most
 * about every 1 % of the work or every 50 ms, whichever comes later, and
 * once more with done == total at the end of a successful operation.
 * Never on two threads at once, even when several operations run with the
 * same flag (or clones of it): a report due while the callback runs is
 * skipped, and the final call waits for it to return. So it must not wait
 * for another operation using the same flag, and must not call back into
 * the same index.
 * Bindings to languages with a single-threaded runtime (Node.js, Python's
 * GIL) should poll knowhere_interrupt_progress instead of relaying this
 * callback from worker threads. */
typedef int (*knowhere_progress_fn)(void *user, uint64_t done, uint64_t total);

/* Attaches a progress callback to the flag: every operation run with this
 * flag (or a clone of it) reports to it. NULL fn detaches. Set it before
 * starting the operation; an operation reads it once, when it starts.
 * Returns KNOWHERE_OK, or KNOWHERE_ERR_INVALID_ARG for a NULL handle. */
KNOWHERE_API int knowhere_interrupt_set_progress(CInterrupt interrupt,
                                                 knowhere_progress_fn fn, void *user);

/* The polled alternative to the callback, for bindings and UIs: the last
 * progress published by an operation running with this flag (or a clone).
 * Any thread may call it at any time; an operation publishes as it goes,
 * whether or not a callback is attached. Any out-pointer may be NULL.
 * Returns KNOWHERE_OK, or KNOWHERE_ERR_INVALID_ARG for a NULL handle. Done
 * and total are read separately: done may briefly belong to the next
 * operation when the same flag is reused. */
KNOWHERE_API int knowhere_interrupt_progress(CInterrupt interrupt, uint64_t *done,
                                             uint64_t *total, int *phase);

/* KNOWHERE_OK if the flag is clear (or the handle is NULL), otherwise
 * KNOWHERE_ERR_INTERRUPTED, or KNOWHERE_ERR_TIMEOUT when the deadline set
 * it. Like every fallible call, sets *err (when err is not NULL) to NULL on
 * success and to a new error with `message` (NULL: a default text)
 * otherwise. The building block of the KNOWHERE_CHECK_INTERRUPT macros. */
KNOWHERE_API int knowhere_interrupt_check(CInterrupt interrupt,
                                          knowhere_error **err,
                                          const char *message);

/* The spec's `check_interrupt!` for C functions returning a status: returns
 * from the enclosing function with KNOWHERE_ERR_INTERRUPTED when the flag is
 * set. The _MSG form also stores an error with `msg` in `err` (which may be
 * NULL). */
#define KNOWHERE_CHECK_INTERRUPT(h)                                            \
    do {                                                                       \
        int knowhere_check_status_ = knowhere_interrupt_check((h), NULL, NULL); \
        if (knowhere_check_status_ != KNOWHERE_OK)                            \
            return knowhere_check_status_;                                     \
    } while (0)

#define KNOWHERE_CHECK_INTERRUPT_MSG(h, err, msg)                              \
    do {                                                                       \
        int knowhere_check_status_ =                                           \
            knowhere_interrupt_check((h), (err), (msg));                       \
        if (knowhere_check_status_ != KNOWHERE_OK)                            \
            return knowhere_check_status_;                                     \
    } while (0)

/* ------------------------------------------------------------------------- */
/* MinHash-LSH index                                                         */
/* ------------------------------------------------------------------------- */

/*
 * An index of MinHash signatures for near-duplicate search (knowhere's
 * MINHASH_LSH, metric MHJACCARD).
 *
 * Data. A signature is `mh_vec_length` values of `mh_vec_element_size`
 * bytes each (1 to 32; two values are equal when their bytes are). Data is
 * signatures laid end to end; the id of a signature is its row number,
 * counting on across knowhere_minhash_lsh_add calls. At most 2^32 - 2
 * signatures (more is KNOWHERE_ERR_INVALID_ARG).
 *
 * Bands. The first `bands * r` values, r = floor(mh_vec_length / bands),
 * form `bands` bands of r values (trailing values are not banded but count
 * in the similarity). A band's key is XXH3-64 (seed 0) of its r *
 * element_size bytes, and each band has its own table. `bands` larger than
 * mh_vec_length is clamped to mh_vec_length (bands of one value); 0 is an
 * error. Tables compare band keys on at least 32 + log2(n / 8) of their 64
 * bits; with raw data, a candidate must also have a band that is equal byte
 * for byte, so no hash collision ever makes one (with b-bit codes, a band
 * whose codes are equal: knowhere_minhash_lsh_set_raw_bits).
 *
 * Search. Candidates are the rows that share at least one band with the
 * query. Their similarity (the "distance", larger is closer) is the fraction
 * of the mh_vec_length positions with equal values when the index keeps raw
 * data (with b-bit codes, the fraction of equal codes corrected for their
 * accidental equality: knowhere_minhash_lsh_set_raw_bits), otherwise the
 * fraction of bands that matched. Results are the k most
 * similar candidates, by similarity descending then id ascending; unused
 * slots hold id -1 and distance 0. Results are row-major: query q's k results
 * are ids[q * k .. q * k + k - 1] (and the same for distances).
 *
 * Filter. `bitset` (NULL: no filter, whatever bitset_bits says) holds
 * `bitset_bits` bits, LSB-first within each byte; a set bit EXCLUDES that
 * id, and ids at or beyond bitset_bits are excluded too (knowhere's
 * convention). It is read as ceil(bitset_bits / 8) bytes.
 *
 * Interrupts. Every operation taking a CInterrupt checks it on entry and at
 * least every few hundred microseconds of work on one core, in every phase,
 * and returns KNOWHERE_ERR_INTERRUPTED once it is set (KNOWHERE_ERR_TIMEOUT
 * once its deadline has passed). An interrupted or
 * failed build leaves the index exactly as it was (still searchable); an
 * interrupted or failed add or compact leaves it answering exactly as
 * before (it may have merged some of its hashes into its tables).
 * An interrupted batch search leaves every result row either complete (as a
 * single search would give it) or untouched: no row is half written.
 *
 * Threads. Searches (single, batch, range, self-join), get_vector_by_ids,
 * save and serialize read the index and may run concurrently from any
 * number of threads. Build, load and deserialize replace its contents:
 * they may run while readers do (a reader reads the contents it started
 * with to its end, and the replaced contents are freed by the last reader),
 * but not while another writer does. Add, compact and remove change the
 * contents readers read, so they overlap nothing. When calls would overlap in a way
 * not allowed, the later one returns KNOWHERE_ERR_BUSY and changes nothing
 * (a guard, not a lock: nothing waits). The accessors (count, bands,
 * memory_usage, ...) are safe at any time, during a writer too (they report
 * the contents before it).
 * Freeing an index while another call uses it is the caller's error.
 * Batch search, build, range search and self-join use up to
 * knowhere_minhash_lsh_num_threads() threads, the calling thread among them.
 */
typedef struct knowhere_minhash_lsh knowhere_minhash_lsh;

/* A new, empty index. NULL on out-of-memory. */
KNOWHERE_API knowhere_minhash_lsh *knowhere_minhash_lsh_create(void);
/* Frees an index and everything it owns. NULL is a no-op. */
KNOWHERE_API void knowhere_minhash_lsh_free(knowhere_minhash_lsh *index);

/* ---- compact raw data: b-bit codes -------------------------------------------- */

/*
 * The form of the raw data a build keeps when with_raw_data is true:
 * `bits` 0 (the default) keeps the full values; 8 or 16 keeps a b-bit code
 * of each value instead (b-bit MinHash, Li and König 2010): its first b / 8
 * bytes, which for signatures of this library (values stored
 * little-endian, docs/signatures.md) are its low b bits. A MinHash value is
 * a minimum of hashes, whose low bits are close to uniform (its high bits
 * lean towards 0), so no mixing is done; values from elsewhere should have
 * uniform low bytes too. The codes must be narrower than the values: a
 * build with codes of element_size bytes or more (bits 8 with 1-byte
 * values, bits 16 with values of 1 or 2) is KNOWHERE_ERR_INVALID_ARG.
 * Memory: mh_vec_length * b / 8 bytes per signature instead of
 * mh_vec_length * element_size (128 values of 4 bytes: 128 B with b = 8
 * instead of 512; docs/benchmarks.md has the totals with the band tables).
 *
 * With codes, every search, range search, self-join, clustering and join
 * estimate works as with full values, on codes:
 *  - Verification: a candidate must share a band whose r codes all equal
 *    the query's. A band key collision (tables compare keys on at least
 *    32 bits) then passes only when its r codes also collide by accident,
 *    with probability 2^-(b r) per colliding band (2^-56 for b = 8, r = 7),
 *    where full values make it impossible.
 *  - Similarity: with m of the K = mh_vec_length codes equal, J = (m / K -
 *    2^-b) / (1 - 2^-b), clamped to [0, 1] (all equal: exactly 1). Codes of
 *    unequal values are equal with probability 2^-b, so the fraction of
 *    equal codes overestimates; this corrects it (unbiased before the
 *    clamp). Its variance is about J (1 - J) / K plus (1 - J) 2^-b / K, so
 *    b = 8 ranks almost as full values do (test/c/test_raw_codes.c measures
 *    recall and rank agreement against full values).
 *  - Thresholds (range search, self-join, clustering) compare this J.
 * get_vector_by_ids is KNOWHERE_ERR_INVALID_ARG (the values are gone);
 * has_raw_data is false and knowhere_minhash_lsh_raw_bits says b. Add
 * stores the new rows' codes (the form is the contents', whatever the
 * setting now). Save writes the codes in their own section (flag bits 4
 * and 5 of docs/format.md) and load restores them.
 *
 * set_raw_bits: 0, 8 or 16, else KNOWHERE_ERR_INVALID_ARG naming it (and
 * the setting is unchanged); NULL index: KNOWHERE_ERR_INVALID_ARG. It takes
 * effect at the next build (a build reads it once, when it starts) and
 * changes nothing in the current contents; safe at any time, from any
 * thread. knowhere_minhash_lsh_raw_bits gives the form of the current
 * contents: 8 or 16 when they keep codes, otherwise 0 (full values, no raw
 * data, never built, NULL).
 */
KNOWHERE_API int knowhere_minhash_lsh_set_raw_bits(knowhere_minhash_lsh *index, uint32_t bits,
                                                   knowhere_error **err);
KNOWHERE_API uint32_t knowhere_minhash_lsh_raw_bits(const knowhere_minhash_lsh *index);

/* Replaces the contents of the index with the `data_len / (mh_vec_length *
 * mh_vec_element_size)` signatures of `data`. data_len must be a positive
 * multiple of mh_vec_length * mh_vec_element_size, mh_vec_length >= 1,
 * mh_vec_element_size in 1..32, bands >= 1; otherwise
 * KNOWHERE_ERR_INVALID_ARG with a message naming the numbers. with_raw_data
 * keeps a copy of the signatures (exact similarities, get_vector_by_ids),
 * or their b-bit codes (knowhere_minhash_lsh_set_raw_bits).
 * Returns KNOWHERE_OK, KNOWHERE_ERR_INVALID_ARG, KNOWHERE_ERR_NO_MEMORY,
 * KNOWHERE_ERR_INTERRUPTED, KNOWHERE_ERR_TIMEOUT or KNOWHERE_ERR_BUSY; on
 * any error the index is unchanged. */
KNOWHERE_API int knowhere_minhash_lsh_build_with_interrupt(
    knowhere_minhash_lsh *index, const uint8_t *data, size_t data_len,
    size_t mh_vec_length, size_t mh_vec_element_size, size_t bands,
    bool with_raw_data, CInterrupt interrupt, knowhere_error **err);
KNOWHERE_API int knowhere_minhash_lsh_build(
    knowhere_minhash_lsh *index, const uint8_t *data, size_t data_len,
    size_t mh_vec_length, size_t mh_vec_element_size, size_t bands,
    bool with_raw_data, knowhere_error **err);

/* Appends signatures (same layout as the build) to a built index; their ids
 * continue after the existing ones. On an index never built:
 * KNOWHERE_ERR_EMPTY_INDEX. Other statuses as for build; on any error the
 * index answers as before (none of the rows is in it).
 *
 * Cost: O(bands) per signature, amortized. Added rows go to a small hash
 * per band; when those hold more than a quarter of the rows (an eighth
 * once they take more than 256 MiB), one add merges them into the band
 * tables in a linear pass, band by band (that add takes about as long as
 * building the tables of the rows merged, on the index's threads, and
 * holds one new band table per thread on top of the index: see
 * knowhere_minhash_lsh_compact_with_interrupt). The add's own rows then go
 * to the emptied hashes (or, more than a quarter of the rows at once, into
 * new tables made on the side). An add that fails or is interrupted may
 * leave that merge done, which changes no answer. An index grown by adds
 * answers every search exactly as one built at once from the same rows,
 * with tables as wide. Without raw data, band keys are
 * compared on 32 + p bits, p being the directory width of the first build
 * (about log2(rows / 8)): build with the rows you have before adding. */
KNOWHERE_API int knowhere_minhash_lsh_add_with_interrupt(
    knowhere_minhash_lsh *index, const uint8_t *data, size_t data_len,
    CInterrupt interrupt, knowhere_error **err);
KNOWHERE_API int knowhere_minhash_lsh_add(knowhere_minhash_lsh *index,
                                          const uint8_t *data, size_t data_len,
                                          knowhere_error **err);

/* Merges the rows added since the band tables were made into the tables,
 * one band at a time: each band's new table replaces its old table and
 * hash as soon as it is made, so the memory needed on top of the index is
 * one band's table per thread (an add that merges does the same). Answers
 * do not change. Worth calling after the last of many adds and before a
 * self-join, clustering, join estimate or save, which otherwise make a
 * merged copy of every table for their own use. Interrupted or failed
 * (KNOWHERE_ERR_INTERRUPTED, KNOWHERE_ERR_TIMEOUT, KNOWHERE_ERR_NO_MEMORY),
 * the bands done stay merged and the index answers as before. Progress:
 * phase KNOWHERE_PHASE_ADD. Like add, it overlaps no other call on the
 * index (KNOWHERE_ERR_BUSY); on an index never built
 * KNOWHERE_ERR_EMPTY_INDEX. A compact index returns KNOWHERE_OK at once. */
KNOWHERE_API int knowhere_minhash_lsh_compact_with_interrupt(knowhere_minhash_lsh *index,
                                                             CInterrupt interrupt,
                                                             knowhere_error **err);

/* Removes signatures: ids[0..n-1] no longer appear in any search, batch,
 * range search or self-join result, and get_vector_by_ids refuses them.
 * The other ids do not change (ids are row numbers, as in knowhere), count
 * still counts removed rows (knowhere_minhash_lsh_removed_count says how
 * many are), and their memory stays until the next build. Repeated and
 * already removed ids are fine; *removed (may be NULL) receives how many
 * were newly removed. An id outside 0..count-1 is KNOWHERE_ERR_INVALID_ARG
 * naming it, and nothing changes; on an index never built:
 * KNOWHERE_ERR_EMPTY_INDEX. A writer, like add (KNOWHERE_ERR_BUSY while a
 * search, save or another writer runs); it takes O(n) time plus, at the
 * first removal, a bitset of count / 8 bytes. Save and load keep the
 * removals; add keeps them (the new rows are not removed); build clears
 * them. */
KNOWHERE_API int knowhere_minhash_lsh_remove(knowhere_minhash_lsh *index, const int64_t *ids,
                                             size_t n, size_t *removed, knowhere_error **err);

/* Application data: bytes of the caller's own (a key table, options, a
 * version) that travel with the index in save / serialize and come back
 * with load / deserialize, so that one file holds both. set copies
 * data[0..len-1] (len 0 removes it); it is a writer like remove
 * (KNOWHERE_ERR_BUSY while a search or save runs), and needs a built index
 * (KNOWHERE_ERR_EMPTY_INDEX). A build clears it; add and remove keep it.
 * get copies it into out: *len always receives its size (0: none); if
 * that is more than out_cap, nothing is written and the status is
 * KNOWHERE_ERR_OVERFLOW (call with out = NULL, out_cap = 0 to learn the
 * size). The library never reads it. Saved as an optional section
 * (docs/format.md), so an index without it saves as before. */
KNOWHERE_API int knowhere_minhash_lsh_set_app_data(knowhere_minhash_lsh *index,
                                                   const uint8_t *data, size_t len,
                                                   knowhere_error **err);
KNOWHERE_API int knowhere_minhash_lsh_get_app_data(const knowhere_minhash_lsh *index,
                                                   uint8_t *out, size_t out_cap, size_t *len,
                                                   knowhere_error **err);

/* The k best matches of one query (query_len bytes, one signature) into
 * ids[0..k-1] and distances[0..k-1]. k >= 1. On an index that is empty or
 * never built, fills -1 / 0 and returns KNOWHERE_OK. A query_len other than
 * the signature size of a built index is KNOWHERE_ERR_INVALID_ARG. */
KNOWHERE_API int knowhere_minhash_lsh_search_with_interrupt(
    const knowhere_minhash_lsh *index, const uint8_t *query, size_t query_len,
    size_t k, const uint8_t *bitset, size_t bitset_bits, int64_t *ids,
    float *distances, CInterrupt interrupt, knowhere_error **err);
KNOWHERE_API int knowhere_minhash_lsh_search(
    const knowhere_minhash_lsh *index, const uint8_t *query, size_t query_len,
    size_t k, const uint8_t *bitset, size_t bitset_bits, int64_t *ids,
    float *distances, knowhere_error **err);

/* nq queries laid end to end (queries_len = nq * signature size) into
 * ids[nq * k] and distances[nq * k], on a thread pool. Row q equals what
 * knowhere_minhash_lsh_search gives for query q. nq >= 1, k >= 1; an
 * nq * k (or nq * signature size) that overflows size_t is
 * KNOWHERE_ERR_INVALID_ARG. */
KNOWHERE_API int knowhere_minhash_lsh_batch_search_with_interrupt(
    const knowhere_minhash_lsh *index, const uint8_t *queries,
    size_t queries_len, size_t nq, size_t k, const uint8_t *bitset,
    size_t bitset_bits, int64_t *ids, float *distances, CInterrupt interrupt,
    knowhere_error **err);
KNOWHERE_API int knowhere_minhash_lsh_batch_search(
    const knowhere_minhash_lsh *index, const uint8_t *queries,
    size_t queries_len, size_t nq, size_t k, const uint8_t *bitset,
    size_t bitset_bits, int64_t *ids, float *distances, knowhere_error **err);

/* ---- search options ------------------------------------------------------------ */

/*
 * What a search returns and how it filters, for callers that need more than
 * the plain search above (knowhere's MINHASH_LSH node among them). Options
 * can grow: call knowhere_search_options_init first, which sets `size` and
 * the defaults, then set what you need. The defaults make the _with_options
 * functions behave exactly like the functions above.
 *
 * Hit order. "The first candidates found" means: band 0's matching rows by
 * ascending id, then band 1's rows not found yet, and so on, skipping
 * filtered and removed rows (with raw data, a row matches in band b when
 * its band b equals the query's byte for byte; without, when the band keys
 * match). This is the order knowhere's MINHASH_LSH collects hits in.
 */

/* The k most similar candidates (the default): as knowhere_minhash_lsh_search. */
#define KNOWHERE_SEARCH_RANKED 0u
/* The first k candidates found, in hit order, each with distance 1
 * (knowhere's hit flags: MINHASH_LSH with mh_search_with_jaccard false).
 * Unused slots hold id -1 and distance 0. */
#define KNOWHERE_SEARCH_HITS 1u

/* A row filter: returns non-zero to EXCLUDE row `id` (a row id of the
 * index, 0..count-1). It may be called from several of the search's threads
 * at once and more than once per row, so it must be thread-safe and cheap;
 * it must not call into the index. */
typedef int (*knowhere_row_filter_fn)(void *user, int64_t id);

typedef struct knowhere_search_options {
    uint32_t size; /* sizeof(knowhere_search_options), set by _init */
    uint32_t mode; /* KNOWHERE_SEARCH_RANKED (default) or KNOWHERE_SEARCH_HITS */
    /* Ranked mode: 0 (default) ranks every candidate; n > 0 ranks only the
     * first max(n, k) candidates found, in hit order (knowhere's refine_k
     * with mh_search_with_jaccard). Ignored in hits mode. */
    uint64_t refine_k;
    /* The bitset is read at bit `id + bitset_id_offset` for row id (knowhere's
     * BitsetView id_offset: an index holding a window of a larger id
     * space); rows whose bit lies at or beyond bitset_bits are excluded, as
     * always. Default 0. */
    uint64_t bitset_id_offset;
    /* Threads for a batch search: 0 (default) means
     * knowhere_minhash_lsh_num_threads(index); a single search uses one. */
    uint64_t threads;
    /* NULL (default): none. Applied on top of the bitset: a row either
     * excludes is left out. */
    knowhere_row_filter_fn filter;
    void *filter_user;
} knowhere_search_options;

/* Fills the defaults. NULL is a no-op. */
KNOWHERE_API void knowhere_search_options_init(knowhere_search_options *options);

/* knowhere_minhash_lsh_search with options (NULL: the defaults). An options
 * struct whose size is smaller than this version's fields, or an unknown
 * mode, is KNOWHERE_ERR_INVALID_ARG. Otherwise arguments, statuses and
 * thread rules as for knowhere_minhash_lsh_search. Ranked results are
 * ordered by similarity descending then id ascending (with refine_k too);
 * hits keep hit order. */
KNOWHERE_API int knowhere_minhash_lsh_search_with_options(
    const knowhere_minhash_lsh *index, const uint8_t *query, size_t query_len, size_t k,
    const uint8_t *bitset, size_t bitset_bits, const knowhere_search_options *options,
    int64_t *ids, float *distances, CInterrupt interrupt, knowhere_error **err);

/* knowhere_minhash_lsh_batch_search with options (NULL: the defaults): row
 * q equals what knowhere_minhash_lsh_search_with_options gives for query q
 * with the same options. */
KNOWHERE_API int knowhere_minhash_lsh_batch_search_with_options(
    const knowhere_minhash_lsh *index, const uint8_t *queries, size_t queries_len, size_t nq,
    size_t k, const uint8_t *bitset, size_t bitset_bits, const knowhere_search_options *options,
    int64_t *ids, float *distances, CInterrupt interrupt, knowhere_error **err);

/* Copies the raw signatures of ids[0..n-1] into out (out_len >= n *
 * signature size), in order. Needs an index built with raw data of full
 * values, else KNOWHERE_ERR_INVALID_ARG (also for an index keeping b-bit
 * codes, knowhere_minhash_lsh_set_raw_bits: the values cannot be had from
 * them; the message says so); an id outside 0..count-1, or removed, is
 * KNOWHERE_ERR_INVALID_ARG naming it, and nothing is copied. */
KNOWHERE_API int knowhere_minhash_lsh_get_vector_by_ids(
    const knowhere_minhash_lsh *index, const int64_t *ids, size_t n,
    uint8_t *out, size_t out_len, knowhere_error **err);

/* Accessors; all return 0 (false) for NULL or a never-built index. */
KNOWHERE_API size_t knowhere_minhash_lsh_count(const knowhere_minhash_lsh *index);
KNOWHERE_API size_t knowhere_minhash_lsh_mh_vec_length(const knowhere_minhash_lsh *index);
KNOWHERE_API size_t knowhere_minhash_lsh_element_size(const knowhere_minhash_lsh *index);
/* The number of bands in use (after clamping). */
KNOWHERE_API size_t knowhere_minhash_lsh_bands(const knowhere_minhash_lsh *index);
KNOWHERE_API size_t knowhere_minhash_lsh_rows_per_band(const knowhere_minhash_lsh *index);
/* Whether the index keeps its signatures' full values (so
 * get_vector_by_ids works): false without raw data and with b-bit codes
 * (then knowhere_minhash_lsh_raw_bits is 8 or 16). */
KNOWHERE_API bool knowhere_minhash_lsh_has_raw_data(const knowhere_minhash_lsh *index);
/* How many of the count signatures are removed (knowhere_minhash_lsh_remove). */
KNOWHERE_API size_t knowhere_minhash_lsh_removed_count(const knowhere_minhash_lsh *index);
/* Bytes of memory the index holds (tables, raw data, bookkeeping). */
KNOWHERE_API size_t knowhere_minhash_lsh_memory_usage(const knowhere_minhash_lsh *index);

/* The most threads any one call runs: every thread count the library takes
 * (knowhere_minhash_lsh_set_num_threads, the `threads` argument of the
 * signature batch and of knowhere_shingle_jaccard_pairs_with_interrupt) is
 * capped at this, so a huge count costs nothing more than this one. */
#define KNOWHERE_MAX_THREADS 256

/* Threads used by batch search, build, range search and self-join: 0 (the
 * default) means the number of online processors. Any count is accepted
 * and capped at KNOWHERE_MAX_THREADS (as the default is). Safe to call at
 * any time from any thread; takes effect for calls that start afterwards.
 * Returns KNOWHERE_ERR_INVALID_ARG for a NULL index. */
KNOWHERE_API int knowhere_minhash_lsh_set_num_threads(knowhere_minhash_lsh *index,
                                                      size_t threads);
/* The thread count calls will use (the default resolved, the cap applied):
 * 1..KNOWHERE_MAX_THREADS, or 0 for NULL. */
KNOWHERE_API size_t knowhere_minhash_lsh_num_threads(const knowhere_minhash_lsh *index);

/* ---- save and load ------------------------------------------------------------ */

/*
 * The serialized form (docs/format.md): a little-endian, versioned file
 * with a header (magic, format version, parameters, counts, section
 * lengths), the band tables, the raw signatures if kept, and XXH3-64
 * checksums over every byte. Loading verifies the checksums and every
 * length and offset before trusting any of them: truncated, damaged or
 * hostile input gives KNOWHERE_ERR_CORRUPT with a message, never a crash,
 * an over-read, or an allocation larger than the input can justify. It
 * stops at the first error it finds, and memory grows with the bytes
 * actually read, so an input declaring more than it holds (a sparse file
 * of 64 GiB with a few kilobytes of data) is rejected after reading about
 * as much as it holds.
 * A loaded index answers every search exactly as the saved one did.
 *
 * Save writes to a temporary file in the same directory and renames it over
 * `path` when complete, so a failed or interrupted save never leaves a
 * partial file at `path` (nor the temporary one). Load and deserialize
 * replace the index's contents only on success; on any error the index is
 * as it was. Load and deserialize are writers like build (they replace the
 * contents while searches go on), save and serialize readers like search
 * (see "Threads" above for KNOWHERE_ERR_BUSY).
 */

/* Writes the index to `path`. KNOWHERE_ERR_EMPTY_INDEX for an index never
 * built; KNOWHERE_ERR_FILE (with the path and the system's reason) when the
 * file cannot be written. Only a regular file is replaced: when `path` is a
 * directory, a FIFO, a device node or a socket, KNOWHERE_ERR_FILE naming
 * it, and nothing is written. A symbolic link is followed: the file it
 * leads to is replaced (the temporary file goes next to that file) and the
 * link stays a link; a link that leads nowhere, or to anything but a
 * regular file, is KNOWHERE_ERR_FILE. The check is made before writing and
 * again just before the rename. */
KNOWHERE_API int knowhere_minhash_lsh_save_with_interrupt(const knowhere_minhash_lsh *index,
                                                          const char *path,
                                                          CInterrupt interrupt,
                                                          knowhere_error **err);
KNOWHERE_API int knowhere_minhash_lsh_save(const knowhere_minhash_lsh *index, const char *path,
                                           knowhere_error **err);

/* Replaces the index's contents with the file at `path`. KNOWHERE_ERR_FILE
 * when it cannot be read (missing, a directory, unreadable),
 * KNOWHERE_ERR_CORRUPT when it is not a valid saved index. */
KNOWHERE_API int knowhere_minhash_lsh_load_with_interrupt(knowhere_minhash_lsh *index,
                                                          const char *path,
                                                          CInterrupt interrupt,
                                                          knowhere_error **err);
KNOWHERE_API int knowhere_minhash_lsh_load(knowhere_minhash_lsh *index, const char *path,
                                           knowhere_error **err);

/* The same bytes as save, into a new buffer: *out (free it with
 * knowhere_buffer_free) and *out_len. On error *out is NULL and *out_len 0. */
KNOWHERE_API int knowhere_minhash_lsh_serialize_with_interrupt(
    const knowhere_minhash_lsh *index, uint8_t **out, size_t *out_len, CInterrupt interrupt,
    knowhere_error **err);
KNOWHERE_API int knowhere_minhash_lsh_serialize(const knowhere_minhash_lsh *index,
                                                uint8_t **out, size_t *out_len,
                                                knowhere_error **err);

/* Replaces the index's contents with serialized bytes (as save or serialize
 * wrote them). The bytes are copied; the caller keeps them. */
KNOWHERE_API int knowhere_minhash_lsh_deserialize_with_interrupt(
    knowhere_minhash_lsh *index, const uint8_t *data, size_t data_len, CInterrupt interrupt,
    knowhere_error **err);
KNOWHERE_API int knowhere_minhash_lsh_deserialize(knowhere_minhash_lsh *index,
                                                  const uint8_t *data, size_t data_len,
                                                  knowhere_error **err);

/* Frees a buffer returned by the library. NULL is a no-op. */
KNOWHERE_API void knowhere_buffer_free(uint8_t *buffer);

/* ------------------------------------------------------------------------- */
/* Signatures: MinHash of text and token sets                                */
/* ------------------------------------------------------------------------- */

/*
 * Documents become signatures that feed knowhere_minhash_lsh_build directly.
 * The exact definition (normalisation, shingles, hashing, one-permutation
 * hashing with densification) is in docs/signatures.md; it is
 * deterministic for a seed and identical on every platform (test vectors
 * pin it). Two documents' signatures agree in each position with
 * probability equal to the Jaccard similarity of their shingle sets.
 */

#define KNOWHERE_SHINGLE_WORDS 0 /* n consecutive words */
#define KNOWHERE_SHINGLE_CHARS 1 /* n consecutive code points */

/* Skip lower-casing (normalisation of whitespace still happens). */
#define KNOWHERE_SIGNATURE_KEEP_CASE 0x1u

/* Options that can grow: call knowhere_signature_options_init first, which
 * sets `size` and the defaults; set what you need after it. */
typedef struct knowhere_signature_options {
    uint32_t size;         /* sizeof(knowhere_signature_options), set by _init */
    uint32_t num_hashes;   /* K, values per signature; default 128, 1..65536 */
    uint32_t shingle_kind; /* KNOWHERE_SHINGLE_WORDS (default) or _CHARS */
    uint32_t shingle_size; /* n; default 3 (words) - set 5 or so for chars */
    uint32_t value_bytes;  /* 4 (default) or 8 bytes per value */
    uint32_t flags;        /* KNOWHERE_SIGNATURE_* */
    uint64_t seed;         /* default 0 */
} knowhere_signature_options;

/* Fills the defaults. NULL is a no-op. */
KNOWHERE_API void knowhere_signature_options_init(knowhere_signature_options *options);

/* The signature of one UTF-8 document (invalid UTF-8 bytes are taken as
 * U+FFFD) into out[0 .. num_hashes * value_bytes - 1]; out_len must be at
 * least that. *shingles (may be NULL) receives the number of distinct
 * shingles; a document without any (empty, or only whitespace) gets the
 * "empty" signature, every byte 0xFF, and *shingles = 0. options may be
 * NULL for the defaults. */
KNOWHERE_API int knowhere_signature_from_text(const knowhere_signature_options *options,
                                              const char *text, size_t text_len,
                                              uint8_t *out, size_t out_len,
                                              size_t *shingles, knowhere_error **err);

/* The signature of a set of 64-bit token hashes (duplicates ignored), for
 * callers that tokenise themselves. Same output rules. */
KNOWHERE_API int knowhere_signature_from_hashes(const knowhere_signature_options *options,
                                                const uint64_t *hashes, size_t count,
                                                uint8_t *out, size_t out_len,
                                                knowhere_error **err);

/* The signature of a document its caller has already split into tokens
 * (normalised as the caller likes): token i is token_lens[i] bytes at
 * tokens[i] (any bytes; tokens[i] may be NULL when its length is 0). The
 * shingles are shingle_size consecutive tokens joined by one space (0x20),
 * or all of them joined when there are fewer, each hashed with XXH3-64 as
 * from_text hashes its shingles; the tokens are taken as they are (no
 * decoding, lower-casing or splitting: KNOWHERE_SIGNATURE_KEEP_CASE changes
 * nothing). So from_tokens of the words of a normalised text
 * (docs/signatures.md, section 2) gives from_text's signature of the text,
 * and with shingle_size = 1 each token is one shingle: the call for callers
 * that make their own shingle strings. shingle_kind must be
 * KNOWHERE_SHINGLE_WORDS. count = 0 gives the "empty" signature. *shingles
 * (may be NULL) as in from_text. */
KNOWHERE_API int knowhere_signature_from_tokens(const knowhere_signature_options *options,
                                                const char *const *tokens,
                                                const size_t *token_lens, size_t count,
                                                uint8_t *out, size_t out_len, size_t *shingles,
                                                knowhere_error **err);

/* Many documents at once, on `threads` threads (0: one per core; at most
 * KNOWHERE_MAX_THREADS): document i is texts[offsets[i] .. offsets[i + 1]
 * - 1] (so offsets has ndocs + 1
 * non-decreasing entries, offsets[ndocs] <= texts_len); its signature goes
 * to out + i * num_hashes * value_bytes. shingle_counts (may be NULL) gets
 * each document's shingle count. Interruptible, reports progress (phase
 * KNOWHERE_PHASE_SIGN, units = documents). On error nothing is promised
 * about out. */
#define KNOWHERE_PHASE_SIGN 6
KNOWHERE_API int knowhere_signature_batch_from_text_with_interrupt(
    const knowhere_signature_options *options, const char *texts, size_t texts_len,
    const uint64_t *offsets, size_t ndocs, uint8_t *out, size_t out_len,
    uint32_t *shingle_counts, size_t threads, CInterrupt interrupt, knowhere_error **err);

/* Many documents of tokens at once, as from_tokens: token t is
 * bytes[token_offsets[t] .. token_offsets[t + 1] - 1] (so token_offsets has
 * ntokens + 1 non-decreasing entries, token_offsets[ntokens] <= bytes_len),
 * and document d is tokens doc_offsets[d] .. doc_offsets[d + 1] - 1
 * (ndocs + 1 non-decreasing entries, doc_offsets[ndocs] <= ntokens). The
 * rest (out, shingle_counts, threads, interrupt, progress) as for
 * knowhere_signature_batch_from_text_with_interrupt. */
KNOWHERE_API int knowhere_signature_batch_from_tokens_with_interrupt(
    const knowhere_signature_options *options, const char *bytes, size_t bytes_len,
    const uint64_t *token_offsets, size_t ntokens, const uint64_t *doc_offsets, size_t ndocs,
    uint8_t *out, size_t out_len, uint32_t *shingle_counts, size_t threads,
    CInterrupt interrupt, knowhere_error **err);

/* ---- signature scheme ------------------------------------------------------ */

/* The version of the signature definition (docs/signatures.md: decoding,
 * case mapping, whitespace, shingles, hashing, densification, byte order).
 * Bumped by every change that makes some text's signature differ; the
 * golden vectors (test/golden) fail on any such change until they and
 * this number are updated together. */
#define KNOWHERE_SIGNATURE_SCHEME_VERSION 1

/* Records which signatures the index holds: this library's
 * KNOWHERE_SIGNATURE_SCHEME_VERSION and `options` (validated as the
 * signature calls validate them; NULL clears the record). Saves write it to
 * the file (docs/format.md, flag bit 2) and loads restore it, so a program
 * that loads an index can refuse queries made another way
 * (knowhere_minhash_lsh_check_signature_scheme) instead of silently
 * finding nothing. An index without a record saves the same bytes as
 * before records existed. On a built index, num_hashes and value_bytes must
 * be its mh_vec_length and element size (else KNOWHERE_ERR_INVALID_ARG).
 * Build and add keep the record; load and deserialize replace it with the
 * file's, or clear it. Safe at any time, from any thread. */
KNOWHERE_API int knowhere_minhash_lsh_set_signature_scheme(
    knowhere_minhash_lsh *index, const knowhere_signature_options *options, knowhere_error **err);

/* The recorded scheme: *version (may be NULL) is its scheme version, 0 when
 * the index records none; `options` (may be NULL; initialised with
 * knowhere_signature_options_init, its size is kept) receives the options
 * when there is a record and is untouched otherwise. */
KNOWHERE_API int knowhere_minhash_lsh_signature_scheme(const knowhere_minhash_lsh *index,
                                                       knowhere_signature_options *options,
                                                       uint32_t *version, knowhere_error **err);

/* KNOWHERE_OK when queries made with `options` (NULL: the defaults) match
 * the index's signatures: the index records no scheme (nothing to check),
 * or records this library's scheme version and the same options (number
 * of values, value bytes, shingle kind and size, flags, seed). Otherwise
 * KNOWHERE_ERR_INVALID_ARG naming both schemes, e.g. "the index holds
 * signatures of words:3, 128 values of 4 bytes, seed 0, lower-cased, and
 * the queries are chars:5, ...: they would not match". Invalid options are
 * KNOWHERE_ERR_INVALID_ARG as for the signature calls. */
KNOWHERE_API int knowhere_minhash_lsh_check_signature_scheme(
    const knowhere_minhash_lsh *index, const knowhere_signature_options *options,
    knowhere_error **err);

/* Exact similarity: the Jaccard similarity |A & B| / |A | B| of the
 * shingle sets A and B of two documents, the quantity a signature
 * comparison estimates, for verifying candidate pairs. The shingles are
 * those of knowhere_signature_from_text with the same options (shingle_kind,
 * shingle_size and flags are used; num_hashes, value_bytes and seed are
 * not), each taken as its XXH3-64, so two different shingles count as one
 * with probability about S^2 / 2^65 for S shingles. Two documents without
 * shingles (empty or only whitespace) have similarity 1, like their equal
 * "empty" signatures; one without against one with has 0. */
KNOWHERE_API int knowhere_shingle_jaccard(const knowhere_signature_options *options,
                                          const char *a, size_t a_len, const char *b,
                                          size_t b_len, double *similarity,
                                          knowhere_error **err);

/* The same for many pairs of documents of a batch laid out as for
 * knowhere_signature_batch_from_text_with_interrupt: similarities[i] is the
 * similarity of documents left[i] and right[i], i < npairs. Every document
 * that appears in a pair is shingled once (its sorted distinct hashes: 8
 * bytes per shingle while the call runs), then each pair is a merge. Runs
 * on `threads` threads (0: one per core; at most KNOWHERE_MAX_THREADS),
 * interruptible, reports progress (phase KNOWHERE_PHASE_VERIFY, units =
 * documents shingled plus pairs).
 * Document ids outside 0..ndocs-1 are KNOWHERE_ERR_INVALID_ARG (naming the
 * pair), checked before any work, like the batch's offsets; npairs = 0
 * (left, right, similarities may then be NULL) does nothing. On error
 * nothing is promised about similarities. */
#define KNOWHERE_PHASE_VERIFY 8
KNOWHERE_API int knowhere_shingle_jaccard_pairs_with_interrupt(
    const knowhere_signature_options *options, const char *texts, size_t texts_len,
    const uint64_t *offsets, size_t ndocs, const int64_t *left, const int64_t *right,
    size_t npairs, double *similarities, size_t threads, CInterrupt interrupt,
    knowhere_error **err);

/* Shingle sets kept by the caller, for verifying many comparisons against
 * the same documents without shingling them again (a document index that
 * keeps each document's set: 8 bytes per distinct shingle).
 *
 * knowhere_shingle_set: the sorted distinct shingle hashes of one document
 * (the shingles of knowhere_shingle_jaccard) into out[0 .. *count - 1].
 * *count always receives how many there are; if that is more than out_cap,
 * nothing is written and the status is KNOWHERE_ERR_OVERFLOW (call with
 * out = NULL, out_cap = 0 to learn the count). A document without shingles
 * has none.
 *
 * knowhere_shingle_set_jaccard: |A & B| / |A | B| of two such sets (1 when
 * both are empty, as knowhere_shingle_jaccard). NULL counts as empty.
 *
 * knowhere_shingle_sets_with_interrupt: the sets of a batch (laid out as
 * for knowhere_signature_batch_from_text_with_interrupt): document d's go
 * to out[out_offsets[d] .. out_offsets[d + 1] - 1], which must be exactly
 * its distinct shingle count (knowhere_signature_batch_from_text's
 * shingle_counts give it): out_offsets has ndocs + 1 entries, starts at 0,
 * never decreases, and out_offsets[ndocs] <= out_len; a document whose
 * count differs is KNOWHERE_ERR_INVALID_ARG naming it. Threads,
 * interrupt and progress (phase KNOWHERE_PHASE_SIGN, units = documents) as
 * for the signature batch. On error nothing is promised about out. */
KNOWHERE_API int knowhere_shingle_set(const knowhere_signature_options *options,
                                      const char *text, size_t text_len, uint64_t *out,
                                      size_t out_cap, size_t *count, knowhere_error **err);
KNOWHERE_API double knowhere_shingle_set_jaccard(const uint64_t *a, size_t a_count,
                                                 const uint64_t *b, size_t b_count);
/* knowhere_shingle_set_jaccard of a query set against many kept sets in
 * one call: the sets live end to end in arena[0 .. arena_len - 1], row r's
 * being arena[row_start[r] .. row_start[r] + row_count[r] - 1] (rows rows);
 * similarities[i] is the query's similarity with row ids[i], i < n. An id
 * outside 0..rows-1 or a set past the arena is KNOWHERE_ERR_INVALID_ARG
 * (checked before any work). For a caller that keeps the sets of an index's
 * rows, as the TypeScript NearDuplicateIndex does. */
KNOWHERE_API int knowhere_shingle_set_jaccard_rows(const uint64_t *query, size_t query_count,
                                                   const uint64_t *arena, size_t arena_len,
                                                   const uint64_t *row_start,
                                                   const uint32_t *row_count, size_t rows,
                                                   const int64_t *ids, size_t n,
                                                   double *similarities, knowhere_error **err);
/* knowhere_shingle_set and knowhere_signature_from_text of the same text
 * in one pass over it (the signature is made from the set: the same bytes
 * as knowhere_signature_from_text gives). Statuses of both; nothing is
 * written to signature when the set does not fit. */
KNOWHERE_API int knowhere_signature_and_shingle_set(const knowhere_signature_options *options,
                                                    const char *text, size_t text_len,
                                                    uint8_t *signature, size_t signature_len,
                                                    uint64_t *out, size_t out_cap, size_t *count,
                                                    knowhere_error **err);
KNOWHERE_API int knowhere_shingle_sets_with_interrupt(
    const knowhere_signature_options *options, const char *texts, size_t texts_len,
    const uint64_t *offsets, size_t ndocs, uint64_t *out, size_t out_len,
    const uint64_t *out_offsets, size_t threads, CInterrupt interrupt, knowhere_error **err);

/* ------------------------------------------------------------------------- */
/* Thresholds: choosing bands, range queries, self-join, clustering          */
/* ------------------------------------------------------------------------- */

/* P(candidate | similarity s) = 1 - (1 - s^rows)^bands, the LSH S-curve: the
 * probability that two signatures agreeing in each position independently
 * with probability s share at least one of `bands` bands of `rows` values.
 * s is clamped to [0, 1] (NaN counts as 0); 0 bands or 0 rows give 0.
 * Accurate for tiny probabilities (about bands * s^rows). */
KNOWHERE_API double knowhere_lsh_candidate_probability(double s, size_t bands, size_t rows);

/* Chooses bands * rows <= num_hashes for a similarity threshold (0 < t < 1)
 * so that a pair at the threshold is a candidate with probability at least
 * `target` (0 < target < 1, e.g. 0.95), taking the largest rows that
 * reaches it (fewest false candidates), then the fewest bands with those
 * rows; *probability receives P(candidate | threshold) (any out-pointer may
 * be NULL). Only configurations a build can make count: the index uses
 * rows = floor(num_hashes / bands), so the result always satisfies
 * rows == num_hashes / bands and `bands` is what to pass to build. Example:
 * num_hashes 128, t 0.8, target 0.95 gives 17 bands x 7 rows, P = 0.98
 * (16 x 8 reaches only 0.947; datasketch's 9 x 13 has P = 0.40); verify the
 * candidates (keep raw data, range search or self-join with threshold t).
 * KNOWHERE_ERR_INVALID_ARG for arguments out of range (outputs 0), or when
 * no choice reaches the target: then the outputs hold the best choice (the
 * highest probability, with the fewest bands) and the message names it.
 * Any num_hashes up to SIZE_MAX is fine: the search is a bisection over
 * the bands, O(log num_hashes) probabilities (microseconds). */
KNOWHERE_API int knowhere_lsh_choose_bands(size_t num_hashes, double threshold, double target,
                                           size_t *bands, size_t *rows, double *probability,
                                           knowhere_error **err);

/* The band keys of one signature (signature_len = mh_vec_length *
 * element_size bytes), as an index built with these parameters computes
 * them: keys[b] = XXH3-64 (seed 0) of band b's rows * element_size bytes,
 * rows = floor(mh_vec_length / bands), for b < bands (bands clamped to
 * mh_vec_length, as the build clamps it; keys_len must be at least that).
 * Two signatures are candidates of each other when some key is equal (and,
 * with raw data, the band's bytes). Pinned by the golden test vectors
 * (test/golden), so a change of the index's hashing cannot go unnoticed.
 * Parameters are checked as the build checks them. */
KNOWHERE_API int knowhere_lsh_band_keys(const uint8_t *signature, size_t signature_len,
                                        size_t mh_vec_length, size_t element_size, size_t bands,
                                        uint64_t *keys, size_t keys_len, knowhere_error **err);

/* Variable-length results in knowhere's `lims` layout: query q's results
 * are ids[lims[q] .. lims[q + 1] - 1] with their similarities in
 * distances[...] (same indices); lims has nq + 1 entries, lims[0] = 0 and
 * lims[nq] is the total. The object owns its arrays (ids and distances are
 * not NULL even when there is no result); they live until
 * knowhere_range_result_free. Accessors return 0 / NULL for NULL. */
typedef struct knowhere_range_result knowhere_range_result;
KNOWHERE_API size_t knowhere_range_result_nq(const knowhere_range_result *result);
KNOWHERE_API const uint64_t *knowhere_range_result_lims(const knowhere_range_result *result);
KNOWHERE_API const int64_t *knowhere_range_result_ids(const knowhere_range_result *result);
KNOWHERE_API const float *knowhere_range_result_distances(const knowhere_range_result *result);
KNOWHERE_API void knowhere_range_result_free(knowhere_range_result *result);

/* Every indexed signature sharing a band with the query whose similarity
 * (as in search) is >= threshold, sorted by similarity descending then id
 * ascending, for nq queries laid end to end; the filter as in search.
 * *result is a new object (NULL on error). Parallel like batch search.
 *
 * Candidates are exactly search's (with raw data, a band equal byte for
 * byte), so the first k results of a query are what search returns with k.
 * threshold is in 0..1 (NaN or outside: KNOWHERE_ERR_INVALID_ARG) and is
 * compared with the similarity as reported: the fraction score /
 * denominator rounded once to float, so an identical signature is exactly
 * 1 and threshold 1 selects exact duplicates. Arguments as
 * for batch search: nq >= 1, queries_len = nq * signature size, result not
 * NULL, an nq whose lims array overflows is KNOWHERE_ERR_INVALID_ARG. On an
 * index never built: nq empty result lists (lims all 0), KNOWHERE_OK.
 * Interruptible (TIMEOUT after a deadline); with nq > 1 reports progress
 * (KNOWHERE_PHASE_SEARCH, units = queries). A reader: runs concurrently with
 * searches and with a build or load (reading the contents it started with),
 * and makes a concurrent add or remove return KNOWHERE_ERR_BUSY (and vice
 * versa). Memory: 8 to 16 bytes per result
 * while searching (buffers grow by doubling) plus 12 in the result object,
 * both at the end; KNOWHERE_ERR_NO_MEMORY, everything freed, when that
 * cannot be had. */
KNOWHERE_API int knowhere_minhash_lsh_range_search_with_interrupt(
    const knowhere_minhash_lsh *index, const uint8_t *queries, size_t queries_len, size_t nq,
    float threshold, const uint8_t *bitset, size_t bitset_bits,
    knowhere_range_result **result, CInterrupt interrupt, knowhere_error **err);

/* Range search with search options (NULL: the defaults): their filter
 * (bitset_id_offset, filter) and threads apply; range search ranks every
 * candidate, so a mode other than KNOWHERE_SEARCH_RANKED or a refine_k is
 * KNOWHERE_ERR_INVALID_ARG. */
KNOWHERE_API int knowhere_minhash_lsh_range_search_with_options(
    const knowhere_minhash_lsh *index, const uint8_t *queries, size_t queries_len, size_t nq,
    float threshold, const uint8_t *bitset, size_t bitset_bits,
    const knowhere_search_options *options, knowhere_range_result **result,
    CInterrupt interrupt, knowhere_error **err);

/* Pairs of ids with a similarity: left[i], right[i], similarity[i] for i in
 * 0..count-1. The object owns its arrays (not NULL even when count is 0);
 * accessors return 0 / NULL for NULL. */
typedef struct knowhere_pairs knowhere_pairs;
KNOWHERE_API size_t knowhere_pairs_count(const knowhere_pairs *pairs);
KNOWHERE_API const int64_t *knowhere_pairs_left(const knowhere_pairs *pairs);
KNOWHERE_API const int64_t *knowhere_pairs_right(const knowhere_pairs *pairs);
KNOWHERE_API const float *knowhere_pairs_similarity(const knowhere_pairs *pairs);
KNOWHERE_API void knowhere_pairs_free(knowhere_pairs *pairs);

/* All pairs (i < j) of indexed signatures that share a band and have
 * similarity >= threshold, each once, sorted by (i, j); parallel,
 * interruptible, reports progress (phase KNOWHERE_PHASE_JOIN, units =
 * signatures). *pairs is a new object (NULL on error).
 *
 * A pair (i, j) and its similarity are exactly what a search with row i's
 * signature reports for row j (and the reverse: both are symmetric), with
 * threshold compared as in range search (0..1, NaN is
 * KNOWHERE_ERR_INVALID_ARG).
 *  - With raw data: candidates must share a band byte for byte, and the
 *    similarity is the fraction of equal values. With b-bit codes
 *    (knowhere_minhash_lsh_set_raw_bits) the pairs are found from the band
 *    tables as below (codes give no band keys; the same temporary map),
 *    verified and scored on codes as a search is.
 *  - Without raw data it works too, from the band tables alone: i and j
 *    pair when their band keys are in the same table run in some band, and
 *    the similarity is the fraction of bands in which they are (the
 *    fraction of matching bands search reports). This needs a temporary
 *    map of count * bands * 4 bytes.
 * Memory grows with the output: 12 to 24 bytes per pair while joining
 * (buffers grow by doubling) plus 20 in the result object, both at the
 * end; KNOWHERE_ERR_NO_MEMORY, with everything freed, when that cannot be
 * had. A low threshold on data with big clusters can make very many pairs
 * (m near-identical rows make m (m - 1) / 2): to group them, use
 * knowhere_minhash_lsh_cluster_with_interrupt, which gives the same clusters
 * without making the pairs; to know the count before joining, use
 * knowhere_minhash_lsh_self_join_estimate_with_interrupt. On an index never
 * built: no pairs, KNOWHERE_OK.
 * Uses knowhere_minhash_lsh_num_threads() threads; a reader, like range
 * search. */
#define KNOWHERE_PHASE_JOIN 7
KNOWHERE_API int knowhere_minhash_lsh_self_join_with_interrupt(
    const knowhere_minhash_lsh *index, float threshold, knowhere_pairs **pairs,
    CInterrupt interrupt, knowhere_error **err);

/* How many pairs knowhere_minhash_lsh_self_join_with_interrupt(index,
 * threshold) would return, without making them, so that a caller can
 * refuse a join whose output would not fit before it starts.
 * *candidates (may be NULL) receives the pairs of rows sharing a band key,
 * counted once per band they share: the sum over every band of
 * size * (size - 1) / 2 over its runs of equal keys, an upper bound of the
 * join's pairs (saturating at UINT64_MAX). *pairs receives the number of
 * pairs the join returns: counted exactly when *candidates is at most
 * 2^22 (each run pair is checked: it shares the band, no earlier band, and
 * reaches the threshold), otherwise estimated from 65536 run pairs drawn
 * with a fixed seed (the same answer on every run; relative error about
 * 1.6 % when every pair shares all of 17 bands, less when fewer share many
 * bands). Time: one walk over the band tables, plus at most 2^22 or 65536
 * checks; memory: without full values (no raw data, or codes), count *
 * bands * 4 bytes while it runs. threshold as for the self-join; an index
 * never built has 0 pairs.
 * Interruptible; a reader, like the self-join. */
KNOWHERE_API int knowhere_minhash_lsh_self_join_estimate_with_interrupt(
    const knowhere_minhash_lsh *index, float threshold, uint64_t *pairs, uint64_t *candidates,
    CInterrupt interrupt, knowhere_error **err);

/* Connected components of the graph on ids 0..n-1 whose edges are the
 * pairs (left[i], right[i]) (union-find): cluster_ids[v] receives the
 * smallest id of v's component, which is its representative. Ids outside
 * 0..n-1 are KNOWHERE_ERR_INVALID_ARG (naming the pair). Interruptible.
 *
 * Self-loops and repeated pairs are fine. Union by size with path halving:
 * O(n + npairs * alpha(n)) time, n * 8 bytes of temporary memory. All ids
 * are checked before cluster_ids is written; after an interrupt or timeout
 * its contents are unspecified. n = 0 (cluster_ids may then be NULL) and
 * npairs = 0 (left, right may then be NULL) are fine. Checks the interrupt
 * every 4096 pairs or ids. Feed it knowhere_pairs_left/right and
 * knowhere_minhash_lsh_count() to deduplicate an index. */
KNOWHERE_API int knowhere_cluster_pairs_with_interrupt(size_t n, const int64_t *left,
                                                       const int64_t *right, size_t npairs,
                                                       int64_t *cluster_ids,
                                                       CInterrupt interrupt,
                                                       knowhere_error **err);

/* ---- clusters without pairs ---------------------------------------------------- */

/* How knowhere_minhash_lsh_cluster_with_interrupt groups the pairs. */
#define KNOWHERE_CLUSTER_COMPONENTS 0 /* connected components (union-find) */
#define KNOWHERE_CLUSTER_COVER 1      /* greedy cover in id order */
/* The progress phase of the clustering calls. */
#define KNOWHERE_PHASE_CLUSTER 9

/* The clusters of an index's near-duplicates, as the pairs of
 * knowhere_minhash_lsh_self_join_with_interrupt(index, threshold) define
 * them, computed without making the pairs: time and memory grow with the
 * rows and the comparisons the answer needs, not with the pairs (a million
 * identical rows make 5 * 10^11 pairs, and one comparison).
 *
 * For each row v < n: representatives[v] is the row v belongs to, and
 * similarities[v] (similarities may be NULL) its similarity to it, as the
 * self-join reports similarities (widened from float; 1 for the
 * representative itself):
 *  - KNOWHERE_CLUSTER_COMPONENTS: the connected components of the pairs;
 *    representatives[v] is the smallest row of v's component, exactly what
 *    knowhere_cluster_pairs_with_interrupt gives for the self-join's pairs.
 *    similarities[v] is the similarity of v and its representative even
 *    when they are not a pair (they may be joined through others): with
 *    raw data the fraction of equal values (with codes, their corrected
 *    fraction), else the fraction of bands in
 *    whose runs both are.
 *  - KNOWHERE_CLUSTER_COVER: rows are taken in id order (for documents:
 *    input order); a row is kept (representatives[v] == v) unless it pairs
 *    with a row kept before it, and then it is covered by the most similar
 *    such kept row, the smallest id on a tie (similarities[v] is that
 *    pair's). So every row is within the threshold of its representative,
 *    and no row is dropped for a chain of pairs: the keep list of a
 *    deduplication.
 * Rows removed with knowhere_minhash_lsh_remove are their own
 * representatives, alone.
 *
 * How (native/cluster_join.c): rows with identical signatures collapse to
 * their first row first; components are fed band by band, a run of rows
 * sharing a band key being compared only across the components it holds,
 * and each new row against one member of each until one pairs; the cover
 * compares a row only with the kept rows of its runs. A run of rows that
 * share a band but do not pair (unrelated documents with a common band)
 * still costs a comparison per pair of them, as the definition needs.
 *
 * n must equal knowhere_minhash_lsh_count(index) (0 for an index never
 * built, which succeeds at once); representatives must not be NULL when n
 * > 0; threshold is in 0..1 (NaN: KNOWHERE_ERR_INVALID_ARG), compared with
 * similarities as range search compares them; mode is one of the two
 * above. Memory: with raw data and the cover, about 4 * bands + 16 bytes
 * per row (the run of each row in each band, the kept lists), plus 4 *
 * bands per row of index whose pages are touched only where runs keep a
 * row; components with raw data about 16 bytes per row. On error nothing
 * is promised about the outputs. Interruptible (checked every 1024
 * comparisons), reports progress (phase KNOWHERE_PHASE_CLUSTER, units:
 * rows, counted once per step), uses knowhere_minhash_lsh_num_threads()
 * threads for the parts that are not sequential by definition; a reader,
 * like the self-join. The answer is the same on every thread count and
 * every run. */
KNOWHERE_API int knowhere_minhash_lsh_cluster_with_interrupt(
    const knowhere_minhash_lsh *index, float threshold, uint32_t mode,
    int64_t *representatives, double *similarities, size_t n, CInterrupt interrupt,
    knowhere_error **err);

/* The same with the exact check deciding: a pair must also have an exact
 * Jaccard similarity of its documents' shingle sets (as
 * knowhere_shingle_jaccard computes it with `options`) of at least
 * exact_threshold (0..1). Row i's document is texts[offsets[i] ..
 * offsets[i + 1] - 1], laid out as for
 * knowhere_signature_batch_from_text_with_interrupt with n documents (the
 * index's rows). `threshold` still chooses the candidates by their
 * signatures: set it below exact_threshold (knowhere-rs dedup uses three
 * standard deviations of the estimate below) so that no pair is lost to a
 * low estimate. similarities[v] is the exact similarity of v to its
 * representative. Rows collapse only when their signatures and their
 * shingle sets are identical. Documents are shingled when first compared
 * (at most 64 MiB of shingle sets are cached), so the cost is about one
 * shingling per row compared plus one per component member for the
 * similarities. */
KNOWHERE_API int knowhere_minhash_lsh_cluster_exact_with_interrupt(
    const knowhere_minhash_lsh *index, float threshold, uint32_t mode,
    const knowhere_signature_options *options, const char *texts, size_t texts_len,
    const uint64_t *offsets, double exact_threshold, int64_t *representatives,
    double *similarities, size_t n, CInterrupt interrupt, knowhere_error **err);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KNOWHERE_RS_H */
