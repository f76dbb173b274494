/* Eight threads hammer one flag: in every round exactly one test_and_set
 * wins; between rounds the threads churn clone/free/interrupt/reset on the
 * same flag. Built with ThreadSanitizer too (see test/CMakeLists.txt). */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "check.h"
#include "knowhere_rs.h"

enum { THREADS = 8, MAX_ROUNDS = 20000 };
static const double SECONDS = 2.0;

static CInterrupt shared_flag;
static pthread_barrier_t barrier;
static atomic_int winners;
static atomic_bool stop;
static int rounds_done;
static int bad_rounds;

static double now_seconds(void) { return test_now_ms() / 1e3; }

static void churn(CInterrupt mine, int id) {
    CInterrupt extra = knowhere_interrupt_clone(mine);
    if (extra == NULL) return;
    CInterrupt extra2 = knowhere_interrupt_clone(extra);
    (void)knowhere_interrupt_is_interrupted(extra);
    if (id % 2) knowhere_interrupt_interrupt(extra2);
    else knowhere_interrupt_reset(extra2);
    knowhere_interrupt_free(extra);
    knowhere_interrupt_free(extra2);
}

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    CInterrupt mine = knowhere_interrupt_clone(shared_flag);
    for (;;) {
        pthread_barrier_wait(&barrier); /* round starts: flag is clear */
        if (atomic_load(&stop)) break;
        if (!knowhere_interrupt_test_and_set(mine)) atomic_fetch_add(&winners, 1);
        pthread_barrier_wait(&barrier); /* race over: thread 0 counts */
        if (id == 0) {
            if (atomic_load(&winners) != 1) bad_rounds++;
            atomic_store(&winners, 0);
            rounds_done++;
        }
        churn(mine, id);
        pthread_barrier_wait(&barrier); /* churn over: thread 0 resets */
        if (id == 0) {
            knowhere_interrupt_reset(mine);
            static double start;
            if (start == 0) start = now_seconds();
            if (rounds_done >= MAX_ROUNDS || now_seconds() - start > SECONDS)
                atomic_store(&stop, true);
        }
    }
    knowhere_interrupt_free(mine);
    return NULL;
}

static void test_exactly_one_winner_per_round(void) {
    shared_flag = knowhere_interrupt_create();
    REQUIRE(shared_flag != NULL);
    REQUIRE(pthread_barrier_init(&barrier, NULL, THREADS) == 0);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; ++i)
        REQUIRE(pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < THREADS; ++i) pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&barrier);
    printf("rounds: %d, rounds without exactly one winner: %d\n", rounds_done,
           bad_rounds);
    CHECK(rounds_done > 100);
    CHECK_EQ(bad_rounds, 0);
    knowhere_interrupt_free(shared_flag);
}

/* Handles created and freed on different threads than the one that made the
 * flag: the last free, wherever it happens, releases the state. */
static void *free_later(void *arg) {
    CInterrupt h = arg;
    knowhere_interrupt_interrupt(h);
    knowhere_interrupt_free(h);
    return NULL;
}

static void test_clones_freed_on_other_threads(void) {
    for (int round = 0; round < 200; ++round) {
        CInterrupt origin = knowhere_interrupt_create();
        REQUIRE(origin != NULL);
        pthread_t threads[THREADS];
        for (int i = 0; i < THREADS; ++i) {
            CInterrupt clone = knowhere_interrupt_clone(origin);
            REQUIRE(clone != NULL);
            REQUIRE(pthread_create(&threads[i], NULL, free_later, clone) == 0);
        }
        knowhere_interrupt_free(origin); /* maybe not the last */
        for (int i = 0; i < THREADS; ++i) pthread_join(threads[i], NULL);
    }
}

/* Each thread links its own flag to a shared parent, churns links of its
 * own, and spins until the parent is set from this thread; the parent's
 * last handle is freed while the children still read it. */
static void *watch_parent(void *arg) {
    CInterrupt child = arg;
    while (!knowhere_interrupt_is_interrupted(child)) {
        CInterrupt extra = knowhere_interrupt_create_linked(&child, 1);
        if (extra != NULL) {
            (void)knowhere_interrupt_test_and_set(extra); /* never reaches the parent */
            knowhere_interrupt_free(extra);
        }
    }
    knowhere_interrupt_free(child);
    return NULL;
}

static void test_linked_flags_across_threads(void) {
    for (int round = 0; round < 200; ++round) {
        CInterrupt parent = knowhere_interrupt_create();
        REQUIRE(parent != NULL);
        pthread_t threads[THREADS];
        for (int i = 0; i < THREADS; ++i) {
            CInterrupt child = knowhere_interrupt_create_linked(&parent, 1);
            REQUIRE(child != NULL);
            REQUIRE(pthread_create(&threads[i], NULL, watch_parent, child) == 0);
        }
        CHECK(!knowhere_interrupt_is_interrupted(parent));
        knowhere_interrupt_interrupt(parent);
        knowhere_interrupt_free(parent); /* the children may still be reading it */
        for (int i = 0; i < THREADS; ++i) pthread_join(threads[i], NULL);
    }
}

int main(void) {
    RUN(test_exactly_one_winner_per_round);
    RUN(test_clones_freed_on_other_threads);
    RUN(test_linked_flags_across_threads);
    return CHECK_DONE();
}
