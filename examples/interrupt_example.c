/* The specification's C example, completed: create a flag, check it,
 * cancel, clean up; then a worker thread that the main thread cancels.
 *
 * Build and run: npm run example:interrupt (or build/examples/interrupt_example) */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "knowhere_rs.h"

/* A long operation written in the library's convention: it returns
 * KNOWHERE_ERR_INTERRUPTED once the flag is set. */
static int count_to_a_billion(CInterrupt interrupt, long *reached,
                              knowhere_error **err) {
    for (*reached = 0; *reached < 1000000000L; ++*reached) {
        if (*reached % 1024 == 0)
            KNOWHERE_CHECK_INTERRUPT_MSG(interrupt, err, "counting cancelled");
    }
    return KNOWHERE_OK;
}

struct job {
    CInterrupt interrupt; /* the worker's own clone, freed by the worker */
    long reached;
    int status;
    char message[128];
};

static void *worker(void *arg) {
    struct job *job = arg;
    knowhere_error *err = NULL;
    job->status = count_to_a_billion(job->interrupt, &job->reached, &err);
    snprintf(job->message, sizeof job->message, "%s", knowhere_error_message(err));
    knowhere_error_free(err);
    knowhere_interrupt_free(job->interrupt);
    return NULL;
}

int main(void) {
    /* The specification's example. */
    CInterrupt interrupt = knowhere_interrupt_create();
    if (interrupt == NULL) return 1;
    if (knowhere_interrupt_is_interrupted(interrupt)) printf("Already interrupted\n");
    knowhere_interrupt_interrupt(interrupt);
    printf("interrupted: %s\n",
           knowhere_interrupt_is_interrupted(interrupt) ? "yes" : "no");
    knowhere_interrupt_reset(interrupt);

    /* A worker thread cancelled from the main thread through a clone. */
    struct job job = {knowhere_interrupt_clone(interrupt), 0, -1, ""};
    if (job.interrupt == NULL) return 1;
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, &job) != 0) return 1;
    struct timespec pause = {0, 20 * 1000 * 1000}; /* 20 ms */
    nanosleep(&pause, NULL);
    knowhere_interrupt_interrupt(interrupt);
    pthread_join(thread, NULL);
    printf("worker stopped at %ld with status %d (%s): %s\n", job.reached,
           job.status, knowhere_status_string(job.status), job.message);

    knowhere_interrupt_free(interrupt);
    return job.status == KNOWHERE_ERR_INTERRUPTED ? 0 : 1;
}
