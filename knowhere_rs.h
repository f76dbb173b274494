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
 *    return KNOWHERE_ERR_INTERRUPTED soon after it is set (the library checks
 *    it at least every few hundred microseconds of work).
 *  - No global mutable state. Everything is safe to call from any thread;
 *    per-object rules are stated on each object.
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
#define KNOWHERE_RS_VERSION_MINOR 2
#define KNOWHERE_RS_VERSION_PATCH 0
#define KNOWHERE_RS_VERSION_STRING "0.2.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, as knowhere_version_number() returns. */
#define KNOWHERE_RS_VERSION_NUMBER                                             \
    (KNOWHERE_RS_VERSION_MAJOR * 10000 + KNOWHERE_RS_VERSION_MINOR * 100 +     \
     KNOWHERE_RS_VERSION_PATCH)
/* Bumped whenever a declaration in this header changes incompatibly. A
 * binding must refuse a library whose knowhere_abi_version() differs. */
#define KNOWHERE_RS_ABI_VERSION 1

/* The library's version string, e.g. "0.2.0" (static storage). Compare with
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
 * out-of-memory error (which knowhere_error_free accepts). */
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

/* KNOWHERE_OK if the flag is clear (or the handle is NULL), otherwise
 * KNOWHERE_ERR_INTERRUPTED. Sets *err when err is not NULL and the status is
 * not OK, with `message` (NULL: a default text). The building block of the
 * KNOWHERE_CHECK_INTERRUPT macros. */
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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KNOWHERE_RS_H */
