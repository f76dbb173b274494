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

/* One callback shared by several operations through one flag (the same
 * handle or clones) runs on one thread at a time, as the header promises.
 * The callback stays inside for up to 200 ms waiting for a second caller,
 * so without serialisation another operation's report (every 50 ms) or
 * final call lands inside it; the fix skips a report while the callback is
 * busy and makes the final call wait its turn. */
typedef struct {
    atomic_int inside, most, calls, final_calls;
} overlap_probe;

static int detect_overlap(void *user, uint64_t done, uint64_t total) {
    overlap_probe *o = user;
    int now = atomic_fetch_add(&o->inside, 1) + 1;
    for (int most = atomic_load(&o->most); now > most;)
        if (atomic_compare_exchange_weak(&o->most, &most, now)) break;
    atomic_fetch_add(&o->calls, 1);
    if (done == total) atomic_fetch_add(&o->final_calls, 1);
    for (int ms = 0; ms < 200 && atomic_load(&o->most) < 2; ++ms) {
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    atomic_fetch_sub(&o->inside, 1);
    return 0;
}

enum { SHARED_OPS = 3, SHARED_ROWS = 40000 };

typedef struct {
    knowhere_minhash_lsh *index;
    CInterrupt h;
    int status;
} shared_build;

static void *run_shared_build(void *arg) {
    shared_build *b = arg;
    b->status = knowhere_minhash_lsh_build_with_interrupt(
        b->index, data, (size_t)SHARED_ROWS * SIG, LENGTH, ES, BANDS, false, b->h, NULL);
    return NULL;
}

static void test_callback_shared_by_operations_never_runs_twice_at_once(void) {
    overlap_probe probe;
    atomic_init(&probe.inside, 0);
    atomic_init(&probe.most, 0);
    atomic_init(&probe.calls, 0);
    atomic_init(&probe.final_calls, 0);
    CInterrupt h = knowhere_interrupt_create();
    REQUIRE(h != NULL);
    knowhere_interrupt_set_progress(h, detect_overlap, &probe);
    shared_build builds[SHARED_OPS];
    pthread_t threads[SHARED_OPS];
    for (int i = 0; i < SHARED_OPS; ++i) {
        builds[i] = (shared_build){knowhere_minhash_lsh_create(),
                                   i == 0 ? h : knowhere_interrupt_clone(h), -1};
        REQUIRE(builds[i].index != NULL && builds[i].h != NULL);
        knowhere_minhash_lsh_set_num_threads(builds[i].index, 2);
    }
    for (int i = 0; i < SHARED_OPS; ++i)
        REQUIRE(pthread_create(&threads[i], NULL, run_shared_build, &builds[i]) == 0);
    for (int i = 0; i < SHARED_OPS; ++i) {
        pthread_join(threads[i], NULL);
        CHECK_EQ(builds[i].status, KNOWHERE_OK);
        CHECK_EQ(knowhere_minhash_lsh_count(builds[i].index), SHARED_ROWS);
    }
    printf("  %d shared builds: %d callbacks, at most %d at once\n", SHARED_OPS,
           atomic_load(&probe.calls), atomic_load(&probe.most));
    CHECK_EQ(atomic_load(&probe.most), 1);
    CHECK(atomic_load(&probe.final_calls) >= SHARED_OPS); /* none skipped its last call */
    for (int i = 0; i < SHARED_OPS; ++i) {
        if (i > 0) knowhere_interrupt_free(builds[i].h);
        knowhere_minhash_lsh_free(builds[i].index);
    }
    knowhere_interrupt_free(h);
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
    RUN(test_callback_shared_by_operations_never_runs_twice_at_once);
    RUN(test_deadline_ends_build_and_batch_with_timeout);
    free(data);
    return CHECK_DONE();
}
