/* Declarations shared by the library's C files; not part of the public API. */
#ifndef KNOWHERE_INTERNAL_H
#define KNOWHERE_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>

#include "knowhere_rs.h"

#if defined(__GNUC__) || defined(__clang__)
#define KH_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define KH_LIKELY(x) __builtin_expect(!!(x), 1)
#define KH_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define KH_PRINTF(fmt, args)
#define KH_LIKELY(x) (x)
#define KH_UNLIKELY(x) (x)
#endif

/* knowhere_error_set with a printf-style message. Returns `code`. */
int kh_errorf(knowhere_error **err, int code, const char *format, ...)
    KH_PRINTF(3, 4);

/* The error of an operation its interrupt stopped: "<what> interrupted<detail>"
 * or, for KNOWHERE_ERR_TIMEOUT, "<what> timed out<detail>". Returns status. */
int kh_stopped_error(knowhere_error **err, int status, const char *what, const char *detail);

/* Sets *err to NULL (when err is not NULL): the start of every fallible call. */
void kh_clear_error(knowhere_error **err);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t kh_monotonic_ns(void);

/* The progress callback attached to an interrupt (NULL, NULL if none). */
void kh_interrupt_progress_callback(CInterrupt interrupt, knowhere_progress_fn *fn,
                                    void **user);
/* Serialise the calls of an interrupt's progress callback across every
 * operation using the flag: try_begin (false: the callback is running on
 * another thread, skip this report) or begin (waits for it), then end. */
bool kh_interrupt_try_begin_report(CInterrupt interrupt);
void kh_interrupt_begin_report(CInterrupt interrupt);
void kh_interrupt_end_report(CInterrupt interrupt);
/* Publish an operation's progress on its interrupt, for pollers (no-op for NULL). */
void kh_interrupt_publish_start(CInterrupt interrupt, int phase, uint64_t total);
void kh_interrupt_publish_done(CInterrupt interrupt, uint64_t done);

#endif
