/* Progress and deadlines on the index: callbacks are monotonic and end at
 * the total, a non-zero return cancels, another thread can poll the
 * published counters, and a deadline ends a long build or batch search with
 * KNOWHERE_ERR_TIMEOUT (not INTERRUPTED) leaving the index as it was. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "knowhere_rs.h"
#include "progress_recorder.h"
#include "test_data.h"

/* Many narrow bands make a build slow enough (hundreds of ms on one core)
 * for the 50 ms callback interval and a 20 ms deadline to land inside it. */
enum { LENGTH = 128, ES = 4, SIG = LENGTH * ES, BANDS = 64, N = 120000 };

static uint8_t *data;

static knowhere_minhash_lsh *single_threaded_index(void) {
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    knowhere_minhash_lsh_set_num_threads(index, 1);
    return index;
}

static void test_build_progress_is_monotonic_and_complete(void) {
    knowhere_minhash_lsh *index = single_threaded_index();
    CInterrupt h = knowhere_interrupt_create();
    recorder r = recorder_new(0);
    knowhere_interrupt_set_progress(h, record, &r);
    CHECK_EQ(knowhere_minhash_lsh_build_with_interrupt(index, data, (size_t)N * SIG, LENGTH, ES,
                                                       BANDS, true, h, NULL),
             KNOWHERE_OK);
    /* Units: every band counts each row twice, the raw copy once. */
    uint64_t units = (uint64_t)N * (2 * BANDS + 1);
    CHECK(r.calls >= 1);
    CHECK(r.monotonic && r.total_stable);
    CHECK_EQ(r.total, units);
    CHECK_EQ(r.last_done, units);
    uint64_t done, total;
    int phase;
    knowhere_interrupt_progress(h, &done, &total, &phase);
    CHECK(done == units && total == units && phase == KNOWHERE_PHASE_BUILD);
    printf("  build: %d callbacks\n", r.calls);

    /* Add reports as its own phase. */
    r = recorder_new(0);
    CHECK_EQ(knowhere_minhash_lsh_add_with_interrupt(index, data, 1000 * SIG, h, NULL), KNOWHERE_OK);
    knowhere_interrupt_progress(h, &done, &total, &phase);
    CHECK(phase == KNOWHERE_PHASE_ADD && done == total && total == 1000u * (2 * BANDS + 1));
    CHECK_EQ(r.last_done, total);
    knowhere_interrupt_free(h);
    knowhere_minhash_lsh_free(index);
}

static void test_callback_returning_nonzero_cancels(void) {
    knowhere_minhash_lsh *index = single_threaded_index();
    REQUIRE(knowhere_minhash_lsh_build(index, data, 1000 * SIG, LENGTH, ES, BANDS, true, NULL) ==
            KNOWHERE_OK);
    CInterrupt h = knowhere_interrupt_create();
    recorder r = recorder_new(1);
    knowhere_interrupt_set_progress(h, record, &r);
    knowhere_error *err = NULL;
    CHECK_EQ(knowhere_minhash_lsh_build_with_interrupt(index, data, (size_t)N * SIG, LENGTH, ES,
                                                       BANDS, true, h, &err),
             KNOWHERE_ERR_INTERRUPTED);
    CHECK(err && strstr(knowhere_error_message(err), "interrupted"));
    knowhere_error_free(err);
    CHECK_EQ(r.calls, 1);
    CHECK(r.last_done < r.total);
    CHECK_EQ(knowhere_minhash_lsh_count(index), 1000); /* unchanged */
    CHECK(knowhere_interrupt_is_interrupted(h));        /* the callback set the flag */
    knowhere_interrupt_free(h);
    knowhere_minhash_lsh_free(index);
}

typedef struct {
    CInterrupt h;
    atomic_bool stop;
    int samples;
    bool monotonic, bounded;
} poller;

static void *poll_progress(void *arg) {
    poller *p = arg;
    uint64_t last = 0;
    while (!atomic_load(&p->stop)) {
        uint64_t done, total;
        int phase;
        knowhere_interrupt_progress(p->h, &done, &total, &phase);
        if (phase == KNOWHERE_PHASE_SEARCH) {
            p->monotonic &= done >= last;
            p->bounded &= done <= total;
            last = done;
            p->samples++;
        }
        struct timespec pause = {0, 200000};
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void test_polled_progress_of_a_batch_search(void) {
    enum { NQ = 60000, K = 3 };
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index && knowhere_minhash_lsh_build(index, data, (size_t)N * SIG, LENGTH, ES, 16,
                                                true, NULL) == KNOWHERE_OK);
    int64_t *ids = malloc(NQ * K * sizeof *ids);
    float *d = malloc(NQ * K * sizeof *d);
    REQUIRE(ids && d);
    poller p = {.h = knowhere_interrupt_create(), .monotonic = true, .bounded = true};
    atomic_init(&p.stop, false);
    pthread_t thread;
    REQUIRE(pthread_create(&thread, NULL, poll_progress, &p) == 0);
    CHECK_EQ(knowhere_minhash_lsh_batch_search_with_interrupt(index, data, (size_t)NQ * SIG, NQ,
                                                              K, NULL, 0, ids, d, p.h, NULL),
             KNOWHERE_OK);
    atomic_store(&p.stop, true);
    pthread_join(thread, NULL);
    uint64_t done, total;
    knowhere_interrupt_progress(p.h, &done, &total, NULL);
    CHECK(done == NQ && total == NQ);
    CHECK(p.monotonic && p.bounded);
    printf("  batch search: %d polled samples\n", p.samples);
    knowhere_interrupt_free(p.h);
    knowhere_minhash_lsh_free(index);
    free(ids);
    free(d);
}


static void test_deadline_ends_build_and_batch_with_timeout(void) {
    knowhere_minhash_lsh *index = single_threaded_index();
    REQUIRE(knowhere_minhash_lsh_build(index, data, 2000 * SIG, LENGTH, ES, BANDS, true, NULL) ==
            KNOWHERE_OK);
    CInterrupt h = knowhere_interrupt_create_with_timeout(20);
    double start = test_now_ms();
    knowhere_error *err = NULL;
    CHECK_EQ(knowhere_minhash_lsh_build_with_interrupt(index, data, (size_t)N * SIG, LENGTH, ES,
                                                       BANDS, false, h, &err),
             KNOWHERE_ERR_TIMEOUT);
    CHECK(err && strstr(knowhere_error_message(err), "timed out"));
    knowhere_error_free(err);
    printf("  build: timed out after %.1f ms (deadline 20 ms)\n", test_now_ms() - start);
    CHECK_EQ(knowhere_minhash_lsh_count(index), 2000);
    CHECK(knowhere_minhash_lsh_has_raw_data(index));

    enum { NQ = 100000, K = 2 };
    int64_t *ids = malloc(NQ * K * sizeof *ids);
    float *d = malloc(NQ * K * sizeof *d);
    REQUIRE(ids && d);
    knowhere_interrupt_set_deadline(h, 20);
    knowhere_interrupt_reset(h);
    start = test_now_ms();
    CHECK_EQ(knowhere_minhash_lsh_batch_search_with_interrupt(index, data, (size_t)NQ * SIG, NQ,
                                                              K, NULL, 0, ids, d, h, NULL),
             KNOWHERE_ERR_TIMEOUT);
    printf("  batch search: timed out after %.1f ms (deadline 20 ms)\n", test_now_ms() - start);
    knowhere_interrupt_free(h);
    knowhere_minhash_lsh_free(index);
    free(ids);
    free(d);
}

int main(void) {
    test_rng rng = {99};
    data = random_signatures(&rng, N, SIG);
    REQUIRE(data != NULL);
    RUN(test_build_progress_is_monotonic_and_complete);
    RUN(test_callback_returning_nonzero_cancels);
    RUN(test_polled_progress_of_a_batch_search);
    RUN(test_deadline_ends_build_and_batch_with_timeout);
    free(data);
    return CHECK_DONE();
}
