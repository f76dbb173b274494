/* kh_run_parallel: threads are started per call (no pool, no global state);
 * tasks are handed out through an atomic counter so uneven tasks balance. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"
#include "parallel.h"

struct kh_job {
    kh_task_fn fn;
    void *ctx;
    CInterrupt interrupt;
    kh_progress *progress;
    size_t tasks;
    atomic_size_t next_task;
    atomic_bool failed;
    atomic_int first_error;
};

struct worker_arg {
    kh_job *job;
    size_t worker;
};

bool kh_job_should_stop(kh_job *job) {
    return atomic_load_explicit(&job->failed, memory_order_relaxed) ||
           knowhere_interrupt_is_interrupted(job->interrupt);
}

void kh_job_advance(kh_job *job, uint64_t units) {
    if (job->progress) kh_progress_advance(job->progress, units);
}

static void record_error(kh_job *job, int status) {
    int expected = KNOWHERE_OK;
    atomic_compare_exchange_strong(&job->first_error, &expected, status);
    atomic_store_explicit(&job->failed, true, memory_order_relaxed);
}

static void run_tasks(kh_job *job, size_t worker) {
    for (;;) {
        if (kh_job_should_stop(job)) return;
        size_t task = atomic_fetch_add_explicit(&job->next_task, 1, memory_order_relaxed);
        if (task >= job->tasks) return;
        int status = job->fn(job, task, worker, job->ctx);
        if (status != KNOWHERE_OK) {
            record_error(job, status);
            return;
        }
    }
}

static void *worker_main(void *arg) {
    struct worker_arg *w = arg;
    run_tasks(w->job, w->worker);
    return NULL;
}

size_t kh_threads(size_t requested) {
    if (requested == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        requested = online > 0 ? (size_t)online : 1;
    }
    return requested < KNOWHERE_MAX_THREADS ? requested : KNOWHERE_MAX_THREADS;
}

int kh_run_parallel(size_t threads, size_t tasks, kh_task_fn fn, void *ctx,
                    CInterrupt interrupt, kh_progress *progress) {
    kh_job job = {.fn = fn, .ctx = ctx, .interrupt = interrupt, .progress = progress,
                  .tasks = tasks};
    atomic_init(&job.next_task, 0);
    atomic_init(&job.failed, false);
    atomic_init(&job.first_error, KNOWHERE_OK);

    if (threads > tasks) threads = tasks;
    /* Callers pass kh_threads(); this only keeps the arrays in bounds. */
    if (threads > KNOWHERE_MAX_THREADS) threads = KNOWHERE_MAX_THREADS;
    pthread_t handles[KNOWHERE_MAX_THREADS];
    struct worker_arg args[KNOWHERE_MAX_THREADS];
    size_t started = 0;
    for (size_t w = 1; w < threads; ++w) {
        args[started] = (struct worker_arg){&job, w};
        /* A thread that cannot be created just leaves more for the others. */
        if (pthread_create(&handles[started], NULL, worker_main, &args[started]) != 0)
            break;
        started++;
    }
    run_tasks(&job, 0);
    for (size_t i = 0; i < started; ++i) pthread_join(handles[i], NULL);

    int interrupted = knowhere_interrupt_check(interrupt, NULL, NULL);
    if (interrupted != KNOWHERE_OK) return interrupted;
    int error = atomic_load(&job.first_error);
    if (error == KNOWHERE_OK && atomic_load(&job.next_task) < tasks)
        error = KNOWHERE_ERR_INTERNAL; /* cannot happen: every task ran */
    return error;
}
