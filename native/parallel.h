/* A parallel-for over numbered tasks, with cooperative cancellation. */
#ifndef KNOWHERE_PARALLEL_H
#define KNOWHERE_PARALLEL_H

#include <stdbool.h>
#include <stddef.h>

#include "knowhere_rs.h"
#include "progress.h"

typedef struct kh_job kh_job;

/* Runs one task; `worker` is in 0..threads-1 and no two tasks with the same
 * worker run at once (so per-worker scratch needs no lock). Returns
 * KNOWHERE_OK, or an error that stops the job (KNOWHERE_ERR_INTERRUPTED
 * when it stopped because kh_job_should_stop said so). */
typedef int (*kh_task_fn)(kh_job *job, size_t task, size_t worker, void *ctx);

/* Runs tasks 0..tasks-1 on up to `threads` threads, the calling thread
 * included (threads <= 1 runs inline, creating no thread). `threads` comes
 * from kh_threads(), so it is at most KNOWHERE_MAX_THREADS. Stops handing out
 * tasks once one fails or the interrupt is set. Returns KNOWHERE_OK, the
 * interrupt's status (knowhere_interrupt_check) if it was set, or the first
 * error a task returned. `progress` (may be NULL) receives what tasks
 * report with kh_job_advance. */
int kh_run_parallel(size_t threads, size_t tasks, kh_task_fn fn, void *ctx,
                    CInterrupt interrupt, kh_progress *progress);

/* Reports `units` of work done to the job's progress (if any). */
void kh_job_advance(kh_job *job, uint64_t units);

/* True once the interrupt is set or another task failed. Cheap (two relaxed
 * loads); call it every few thousand items of work. */
bool kh_job_should_stop(kh_job *job);

/* The thread count for a request: `requested`, or the number of online
 * processors for 0, capped at KNOWHERE_MAX_THREADS. The one place a count
 * from a caller becomes the count that runs: every operation sizes its
 * per-worker scratch with it and passes it to kh_run_parallel, so scratch
 * is never made for threads that cannot run. */
size_t kh_threads(size_t requested);

/* Items per task when `items` items are cut into about `tasks_per_thread`
 * tasks per thread (small tasks balance uneven items; each task costs a
 * hand-out and a progress report): at least 1, at most `most`. */
static inline size_t kh_items_per_task(size_t items, size_t threads, size_t tasks_per_thread,
                                       size_t most) {
    size_t per = items / ((threads ? threads : 1) * tasks_per_thread);
    return per < 1 ? 1 : per > most ? most : per;
}

/* The number of tasks for `items` items at `per` per task. */
static inline size_t kh_task_count(size_t items, size_t per) { return (items + per - 1) / per; }

/* The items [*begin, *end) of task `task` at `per` per task. */
static inline void kh_task_items(size_t task, size_t per, size_t items, size_t *begin,
                                 size_t *end) {
    *begin = task * per;
    *end = *begin + per < items ? *begin + per : items;
}

/* How often inner loops poll kh_job_should_stop: a power of two minus one,
 * used as `(i & KH_STOP_POLL_MASK) == 0`. */
#define KH_STOP_POLL_MASK 1023u

#endif
