/* A thread that sets an interrupt after a delay, noting when, for the tests
 * that measure how soon an operation stops (self-join, clustering). */
#ifndef KNOWHERE_TEST_INTERRUPTER_H
#define KNOWHERE_TEST_INTERRUPTER_H

#include <pthread.h>
#include <time.h>

#include "check.h"
#include "knowhere_rs.h"

typedef struct {
    CInterrupt interrupt;
    double delay_ms, fired_at_ms;
    pthread_t thread;
} interrupter;

/* The thread's body: waits delay_ms (in short sleeps), then interrupts. */
static void *fire(void *arg) {
    interrupter *it = (interrupter *)arg;
    double until = test_now_ms() + it->delay_ms;
    while (test_now_ms() < until) {
        struct timespec pause = {0, 20000};
        nanosleep(&pause, NULL);
    }
    it->fired_at_ms = test_now_ms();
    knowhere_interrupt_interrupt(it->interrupt);
    return NULL;
}

#endif
