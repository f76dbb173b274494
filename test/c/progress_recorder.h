/* A progress callback for the tests: records what it is told (and whether
 * `done` only grew and `total` never changed), and stops the operation
 * part way (a non-zero return while done < total) at its stop_after-th
 * call when stop_after is set. */
#ifndef KNOWHERE_TEST_PROGRESS_RECORDER_H
#define KNOWHERE_TEST_PROGRESS_RECORDER_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint64_t last_done, total;
    int calls, stop_after;
    bool monotonic, total_stable, stopped_partway;
} recorder;

static inline recorder recorder_new(int stop_after) {
    recorder r = {.stop_after = stop_after, .monotonic = true, .total_stable = true};
    return r;
}

static inline int record(void *user, uint64_t done, uint64_t total) {
    recorder *r = (recorder *)user;
    if (r->calls > 0) {
        r->monotonic &= done >= r->last_done;
        r->total_stable &= total == r->total;
    }
    r->last_done = done;
    r->total = total;
    r->calls++;
    if (r->stop_after && r->calls >= r->stop_after && done < total) {
        r->stopped_partway = true;
        return 1;
    }
    return 0;
}

#endif
