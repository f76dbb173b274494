/* Progress of one operation: counts units of work from any thread,
 * publishes them on the operation's interrupt for pollers, and calls the
 * interrupt's progress callback at a bounded rate. */
#ifndef KNOWHERE_PROGRESS_H
#define KNOWHERE_PROGRESS_H

#include <stdatomic.h>
#include <stdint.h>

#include "knowhere_rs.h"

typedef struct {
    CInterrupt interrupt;
    knowhere_progress_fn fn;     /* read once, at begin */
    void *user;
    uint64_t total;
    atomic_uint_least64_t done;
    atomic_uint_least64_t next_done; /* no callback before done reaches this */
    atomic_uint_least64_t next_ns;   /* ... nor before this time */
    uint64_t reported;               /* the last done given to fn (read and written while reporting) */
} kh_progress;

/* Starts an operation of `total` units (publishes 0 / total and the phase). */
void kh_progress_begin(kh_progress *p, CInterrupt interrupt, int phase, uint64_t total);
/* Adds `units` of work done; thread-safe; may call the callback (unless it
 * is running already, for this or another operation on the flag), and sets
 * the interrupt if the callback asks to stop. */
void kh_progress_advance(kh_progress *p, uint64_t units);
/* Ends the operation: on success publishes done == total and makes the last
 * callback with it (waiting for a callback running for another operation). */
void kh_progress_end(kh_progress *p, int status);

#endif
