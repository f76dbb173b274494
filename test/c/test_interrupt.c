/* The interrupt handle: every function, every NULL case, clone sharing,
 * linked flags and reference counting (leaks are caught by the ASan/valgrind
 * runs). */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "knowhere_rs.h"

static void test_create_is_clear(void) {
    CInterrupt h = knowhere_interrupt_create();
    REQUIRE(h != NULL);
    CHECK(!knowhere_interrupt_is_interrupted(h));
    knowhere_interrupt_free(h);
}

static void test_create_with_state(void) {
    CInterrupt set = knowhere_interrupt_create_with_state(true);
    CInterrupt clear = knowhere_interrupt_create_with_state(false);
    REQUIRE(set != NULL && clear != NULL);
    CHECK(knowhere_interrupt_is_interrupted(set));
    CHECK(!knowhere_interrupt_is_interrupted(clear));
    knowhere_interrupt_free(set);
    knowhere_interrupt_free(clear);
}

static void test_interrupt_and_reset(void) {
    CInterrupt h = knowhere_interrupt_create();
    REQUIRE(h != NULL);
    CHECK_EQ(knowhere_interrupt_interrupt(h), KNOWHERE_OK);
    CHECK(knowhere_interrupt_is_interrupted(h));
    CHECK_EQ(knowhere_interrupt_interrupt(h), KNOWHERE_OK); /* idempotent */
    CHECK(knowhere_interrupt_is_interrupted(h));
    CHECK_EQ(knowhere_interrupt_reset(h), KNOWHERE_OK);
    CHECK(!knowhere_interrupt_is_interrupted(h));
    CHECK_EQ(knowhere_interrupt_reset(h), KNOWHERE_OK);
    CHECK(!knowhere_interrupt_is_interrupted(h));
    knowhere_interrupt_free(h);
}

static void test_test_and_set_returns_previous(void) {
    CInterrupt h = knowhere_interrupt_create();
    REQUIRE(h != NULL);
    CHECK(knowhere_interrupt_test_and_set(h) == false);
    CHECK(knowhere_interrupt_is_interrupted(h));
    CHECK(knowhere_interrupt_test_and_set(h) == true);
    CHECK(knowhere_interrupt_is_interrupted(h));
    knowhere_interrupt_reset(h);
    CHECK(knowhere_interrupt_test_and_set(h) == false);
    knowhere_interrupt_free(h);
}

static void test_clone_shares_flag(void) {
    CInterrupt a = knowhere_interrupt_create();
    REQUIRE(a != NULL);
    CInterrupt b = knowhere_interrupt_clone(a);
    REQUIRE(b != NULL);
    CHECK(a != b); /* a new handle, not the same pointer */
    knowhere_interrupt_interrupt(a);
    CHECK(knowhere_interrupt_is_interrupted(b));
    knowhere_interrupt_reset(b);
    CHECK(!knowhere_interrupt_is_interrupted(a));
    CHECK(knowhere_interrupt_test_and_set(b) == false);
    CHECK(knowhere_interrupt_test_and_set(a) == true);
    knowhere_interrupt_free(a);
    knowhere_interrupt_free(b);
}

static void test_clone_outlives_original(void) {
    CInterrupt a = knowhere_interrupt_create();
    REQUIRE(a != NULL);
    CInterrupt b = knowhere_interrupt_clone(a);
    CInterrupt c = knowhere_interrupt_clone(b);
    REQUIRE(b != NULL && c != NULL);
    knowhere_interrupt_free(a); /* the flag must survive its first handle */
    knowhere_interrupt_interrupt(c);
    CHECK(knowhere_interrupt_is_interrupted(b));
    knowhere_interrupt_free(b);
    CHECK(knowhere_interrupt_is_interrupted(c));
    knowhere_interrupt_free(c); /* last one frees the flag: ASan checks */
}

static void test_clones_of_different_flags_are_independent(void) {
    CInterrupt a = knowhere_interrupt_create();
    CInterrupt b = knowhere_interrupt_create();
    REQUIRE(a != NULL && b != NULL);
    knowhere_interrupt_interrupt(a);
    CHECK(!knowhere_interrupt_is_interrupted(b));
    knowhere_interrupt_free(a);
    knowhere_interrupt_free(b);
}

static void test_null_handle(void) {
    CHECK(knowhere_interrupt_is_interrupted(NULL) == false);
    CHECK_EQ(knowhere_interrupt_interrupt(NULL), KNOWHERE_ERR_INVALID_ARG);
    CHECK_EQ(knowhere_interrupt_reset(NULL), KNOWHERE_ERR_INVALID_ARG);
    CHECK(knowhere_interrupt_test_and_set(NULL) == false);
    CHECK(knowhere_interrupt_clone(NULL) == NULL);
    knowhere_interrupt_free(NULL); /* no-op, must not crash */
    CHECK_EQ(knowhere_interrupt_check(NULL, NULL, NULL), KNOWHERE_OK);
}

static void test_check_sets_error(void) {
    CInterrupt h = knowhere_interrupt_create();
    REQUIRE(h != NULL);
    knowhere_error *err = (knowhere_error *)&err; /* garbage: must be cleared */
    CHECK_EQ(knowhere_interrupt_check(h, &err, "custom"), KNOWHERE_OK);
    CHECK(err == NULL);
    knowhere_interrupt_interrupt(h);
    CHECK_EQ(knowhere_interrupt_check(h, NULL, NULL), KNOWHERE_ERR_INTERRUPTED);
    CHECK_EQ(knowhere_interrupt_check(h, &err, "custom"), KNOWHERE_ERR_INTERRUPTED);
    REQUIRE(err != NULL);
    CHECK_EQ(knowhere_error_code(err), KNOWHERE_ERR_INTERRUPTED);
    CHECK(strcmp(knowhere_error_message(err), "custom") == 0);
    knowhere_error_free(err);
    err = NULL;
    CHECK_EQ(knowhere_interrupt_check(h, &err, NULL), KNOWHERE_ERR_INTERRUPTED);
    REQUIRE(err != NULL);
    CHECK(strcmp(knowhere_error_message(err), "operation interrupted") == 0);
    knowhere_error_free(err);
    knowhere_interrupt_free(h);
}

/* A function written with the macros, as a C caller would. */
static int counted_work(CInterrupt h, int *steps) {
    for (*steps = 0; *steps < 100; ++*steps) {
        if (*steps == 42) knowhere_interrupt_interrupt(h);
        KNOWHERE_CHECK_INTERRUPT(h);
    }
    return KNOWHERE_OK;
}

static int counted_work_msg(CInterrupt h, knowhere_error **err) {
    for (int i = 0; i < 100; ++i) {
        if (i == 7) knowhere_interrupt_interrupt(h);
        KNOWHERE_CHECK_INTERRUPT_MSG(h, err, "stopped by the test");
    }
    return KNOWHERE_OK;
}

static void test_check_interrupt_macros(void) {
    CInterrupt h = knowhere_interrupt_create();
    REQUIRE(h != NULL);
    int steps = -1;
    CHECK_EQ(counted_work(h, &steps), KNOWHERE_ERR_INTERRUPTED);
    CHECK_EQ(steps, 42);
    CHECK_EQ(counted_work(NULL, &steps), KNOWHERE_OK); /* NULL: never stops */
    CHECK_EQ(steps, 100);

    knowhere_interrupt_reset(h);
    knowhere_error *err = NULL;
    CHECK_EQ(counted_work_msg(h, &err), KNOWHERE_ERR_INTERRUPTED);
    REQUIRE(err != NULL);
    CHECK(strcmp(knowhere_error_message(err), "stopped by the test") == 0);
    knowhere_error_free(err);
    knowhere_interrupt_reset(h);
    CHECK_EQ(counted_work_msg(h, NULL), KNOWHERE_ERR_INTERRUPTED);
    knowhere_interrupt_free(h);
}

static void test_many_clones_freed_in_any_order(void) {
    enum { N = 64 };
    CInterrupt handles[N];
    handles[0] = knowhere_interrupt_create();
    REQUIRE(handles[0] != NULL);
    for (int i = 1; i < N; ++i) {
        handles[i] = knowhere_interrupt_clone(handles[(i * 7) % i]);
        REQUIRE(handles[i] != NULL);
    }
    knowhere_interrupt_interrupt(handles[N - 1]);
    for (int i = 0; i < N; ++i) CHECK(knowhere_interrupt_is_interrupted(handles[i]));
    for (int i = 0; i < N; i += 2) knowhere_interrupt_free(handles[i]);
    for (int i = 1; i < N; i += 2) CHECK(knowhere_interrupt_is_interrupted(handles[i]));
    for (int i = 1; i < N; i += 2) knowhere_interrupt_free(handles[i]);
}

static void sleep_ms(long ms) {
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

static void test_deadline_fires_for_every_clone(void) {
    CInterrupt h = knowhere_interrupt_create_with_timeout(2);
    REQUIRE(h != NULL);
    CInterrupt clone = knowhere_interrupt_clone(h);
    REQUIRE(clone != NULL);
    CHECK(knowhere_interrupt_remaining_ms(h) <= 2);
    sleep_ms(10);
    CHECK(knowhere_interrupt_is_interrupted(clone));
    CHECK(knowhere_interrupt_is_interrupted(h));
    CHECK_EQ(knowhere_interrupt_remaining_ms(h), 0);
    knowhere_error *err = NULL;
    CHECK_EQ(knowhere_interrupt_check(h, &err, NULL), KNOWHERE_ERR_TIMEOUT);
    CHECK(err && strcmp(knowhere_error_message(err), "operation timed out") == 0);
    knowhere_error_free(err);
    CHECK(knowhere_interrupt_test_and_set(h) == true);
    /* An interrupt() after the deadline does not turn it into a cancel. */
    knowhere_interrupt_interrupt(h);
    CHECK_EQ(knowhere_interrupt_check(clone, NULL, NULL), KNOWHERE_ERR_TIMEOUT);
    /* reset() clears the flag, but the passed deadline sets it again. */
    knowhere_interrupt_reset(h);
    CHECK_EQ(knowhere_interrupt_check(h, NULL, NULL), KNOWHERE_ERR_TIMEOUT);
    /* Clearing the deadline, then the flag, makes it usable again. */
    CHECK_EQ(knowhere_interrupt_set_deadline(h, 0), KNOWHERE_OK);
    knowhere_interrupt_reset(h);
    CHECK(!knowhere_interrupt_is_interrupted(clone));
    CHECK_EQ(knowhere_interrupt_remaining_ms(h), UINT64_MAX);
    knowhere_interrupt_free(h);
    knowhere_interrupt_free(clone);
}

static void test_interrupt_before_deadline_reads_as_interrupted(void) {
    CInterrupt h = knowhere_interrupt_create_with_timeout(50);
    REQUIRE(h != NULL);
    knowhere_interrupt_interrupt(h);
    sleep_ms(80);
    CHECK_EQ(knowhere_interrupt_check(h, NULL, NULL), KNOWHERE_ERR_INTERRUPTED);
    knowhere_interrupt_free(h);
}

static void test_deadline_not_yet_and_moved(void) {
    CInterrupt h = knowhere_interrupt_create_with_timeout(3600 * 1000);
    CInterrupt none = knowhere_interrupt_create_with_timeout(0);
    REQUIRE(h != NULL && none != NULL);
    CHECK(!knowhere_interrupt_is_interrupted(h));
    uint64_t left = knowhere_interrupt_remaining_ms(h);
    CHECK(left > 3500 * 1000 && left <= 3600 * 1000);
    CHECK_EQ(knowhere_interrupt_remaining_ms(none), UINT64_MAX);
    CHECK(knowhere_interrupt_test_and_set(h) == false); /* a plain interrupt works */
    CHECK_EQ(knowhere_interrupt_check(h, NULL, NULL), KNOWHERE_ERR_INTERRUPTED);
    knowhere_interrupt_reset(h);
    CHECK_EQ(knowhere_interrupt_set_deadline(none, 1), KNOWHERE_OK); /* add one later */
    sleep_ms(5);
    CHECK_EQ(knowhere_interrupt_check(none, NULL, NULL), KNOWHERE_ERR_TIMEOUT);
    CHECK_EQ(knowhere_interrupt_set_deadline(h, UINT64_MAX), KNOWHERE_OK); /* saturates */
    CHECK(!knowhere_interrupt_is_interrupted(h));
    knowhere_interrupt_free(h);
    knowhere_interrupt_free(none);
}

static int count_calls(void *user, uint64_t done, uint64_t total) {
    (void)done;
    (void)total;
    ++*(int *)user;
    return 0;
}

static void test_progress_null_and_idle(void) {
    CHECK_EQ(knowhere_interrupt_set_deadline(NULL, 5), KNOWHERE_ERR_INVALID_ARG);
    CHECK_EQ(knowhere_interrupt_remaining_ms(NULL), UINT64_MAX);
    CHECK_EQ(knowhere_interrupt_set_progress(NULL, count_calls, NULL), KNOWHERE_ERR_INVALID_ARG);
    CHECK_EQ(knowhere_interrupt_progress(NULL, NULL, NULL, NULL), KNOWHERE_ERR_INVALID_ARG);
    CInterrupt h = knowhere_interrupt_create();
    REQUIRE(h != NULL);
    uint64_t done = 9, total = 9;
    int phase = 9;
    CHECK_EQ(knowhere_interrupt_progress(h, &done, &total, &phase), KNOWHERE_OK);
    CHECK(done == 0 && total == 0 && phase == KNOWHERE_PHASE_IDLE);
    CHECK_EQ(knowhere_interrupt_progress(h, NULL, NULL, NULL), KNOWHERE_OK);
    int calls = 0;
    CHECK_EQ(knowhere_interrupt_set_progress(h, count_calls, &calls), KNOWHERE_OK);
    CHECK_EQ(knowhere_interrupt_set_progress(h, NULL, &calls), KNOWHERE_OK);
    knowhere_interrupt_free(h);
}

/* A deadline that passed before a build or add starts is reported as a
 * timeout in the message too, as everywhere else ("build timed out"). */
static void test_passed_deadline_names_the_timeout(void) {
    CInterrupt late = knowhere_interrupt_create_with_timeout(1);
    REQUIRE(late != NULL);
    sleep_ms(5);
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    uint8_t data[64] = {0};
    knowhere_error *err = NULL;
    CHECK_EQ(knowhere_minhash_lsh_build_with_interrupt(index, data, sizeof data, 4, 4, 2, true, late,
                                                       &err),
             KNOWHERE_ERR_TIMEOUT);
    CHECK(err && strcmp(knowhere_error_message(err), "build timed out") == 0);
    knowhere_error_free(err);
    CHECK_EQ(knowhere_minhash_lsh_build(index, data, sizeof data, 4, 4, 2, true, NULL), KNOWHERE_OK);
    err = NULL;
    CHECK_EQ(knowhere_minhash_lsh_add_with_interrupt(index, data, sizeof data, late, &err),
             KNOWHERE_ERR_TIMEOUT);
    CHECK(err && strcmp(knowhere_error_message(err), "add timed out") == 0);
    knowhere_error_free(err);
    knowhere_interrupt_interrupt(late); /* an explicit interrupt after it: still the timeout */
    CHECK_EQ(knowhere_minhash_lsh_count(index), 4); /* the add changed nothing */
    knowhere_minhash_lsh_free(index);
    knowhere_interrupt_free(late);
}

/* ---- linked flags ------------------------------------------------------- */

static void test_linked_reads_its_parents(void) {
    CInterrupt a = knowhere_interrupt_create();
    CInterrupt b = knowhere_interrupt_create();
    REQUIRE(a != NULL && b != NULL);
    CInterrupt parents[] = {a, NULL, b};
    CInterrupt child = knowhere_interrupt_create_linked(parents, 3);
    REQUIRE(child != NULL);
    CHECK(!knowhere_interrupt_is_interrupted(child));
    knowhere_interrupt_interrupt(b); /* any parent */
    CHECK(knowhere_interrupt_is_interrupted(child));
    CHECK_EQ(knowhere_interrupt_check(child, NULL, NULL), KNOWHERE_ERR_INTERRUPTED);
    CHECK(knowhere_interrupt_test_and_set(child) == true);
    knowhere_interrupt_reset(child); /* resets only the child's own flag */
    CHECK(knowhere_interrupt_is_interrupted(child));
    CHECK(knowhere_interrupt_is_interrupted(b));
    knowhere_interrupt_reset(b);
    CHECK(!knowhere_interrupt_is_interrupted(child));
    knowhere_interrupt_interrupt(a);
    CHECK(knowhere_interrupt_is_interrupted(child));
    knowhere_interrupt_reset(a);
    knowhere_interrupt_free(a);
    knowhere_interrupt_free(b);
    knowhere_interrupt_free(child);
}

static void test_linked_never_sets_its_parents(void) {
    CInterrupt parent = knowhere_interrupt_create();
    REQUIRE(parent != NULL);
    CInterrupt first = knowhere_interrupt_create_linked(&parent, 1);
    CInterrupt second = knowhere_interrupt_create_linked(&parent, 1);
    REQUIRE(first != NULL && second != NULL);
    CHECK(knowhere_interrupt_test_and_set(first) == false);
    CHECK(knowhere_interrupt_is_interrupted(first));
    CHECK(!knowhere_interrupt_is_interrupted(parent)); /* the shared flag is untouched */
    CHECK(!knowhere_interrupt_is_interrupted(second)); /* and so is a sibling */
    CHECK_EQ(knowhere_interrupt_set_deadline(second, 1), KNOWHERE_OK);
    sleep_ms(5);
    CHECK_EQ(knowhere_interrupt_check(second, NULL, NULL), KNOWHERE_ERR_TIMEOUT);
    CHECK(!knowhere_interrupt_is_interrupted(parent));
    CHECK_EQ(knowhere_interrupt_remaining_ms(parent), UINT64_MAX);
    knowhere_interrupt_free(first);
    knowhere_interrupt_free(second);
    knowhere_interrupt_free(parent);
}

static void test_linked_ancestors_and_deadlines(void) {
    CInterrupt timed = knowhere_interrupt_create_with_timeout(3600 * 1000);
    REQUIRE(timed != NULL);
    CInterrupt middle = knowhere_interrupt_create_linked(&timed, 1);
    REQUIRE(middle != NULL);
    CInterrupt grandchild = knowhere_interrupt_create_linked(&middle, 1);
    REQUIRE(grandchild != NULL);
    uint64_t left = knowhere_interrupt_remaining_ms(grandchild); /* the ancestor's deadline */
    CHECK(left > 3500 * 1000 && left <= 3600 * 1000);
    CHECK_EQ(knowhere_interrupt_set_deadline(middle, 1000), KNOWHERE_OK); /* an earlier one */
    CHECK(knowhere_interrupt_remaining_ms(grandchild) <= 1000);
    CHECK_EQ(knowhere_interrupt_set_deadline(timed, 1), KNOWHERE_OK);
    sleep_ms(5);
    knowhere_error *err = NULL;
    CHECK_EQ(knowhere_interrupt_check(grandchild, &err, NULL), KNOWHERE_ERR_TIMEOUT);
    CHECK(err && strcmp(knowhere_error_message(err), "operation timed out") == 0);
    knowhere_error_free(err);
    CHECK_EQ(knowhere_interrupt_remaining_ms(grandchild), 0);
    /* An operation run with the grandchild stops as its ancestor says. */
    knowhere_minhash_lsh *index = knowhere_minhash_lsh_create();
    REQUIRE(index != NULL);
    uint8_t data[64] = {0};
    CHECK_EQ(knowhere_minhash_lsh_build_with_interrupt(index, data, sizeof data, 4, 4, 2, true,
                                                       grandchild, NULL),
             KNOWHERE_ERR_TIMEOUT);
    CHECK_EQ(knowhere_interrupt_set_deadline(timed, 0), KNOWHERE_OK);
    CHECK_EQ(knowhere_interrupt_set_deadline(middle, 0), KNOWHERE_OK);
    knowhere_interrupt_reset(timed);
    CHECK(!knowhere_interrupt_is_interrupted(grandchild));
    knowhere_interrupt_interrupt(middle);
    CHECK_EQ(knowhere_minhash_lsh_build_with_interrupt(index, data, sizeof data, 4, 4, 2, true,
                                                       grandchild, NULL),
             KNOWHERE_ERR_INTERRUPTED);
    knowhere_interrupt_reset(middle);
    CHECK_EQ(knowhere_minhash_lsh_build_with_interrupt(index, data, sizeof data, 4, 4, 2, true,
                                                       grandchild, NULL),
             KNOWHERE_OK);
    /* Progress belongs to the linked flag, not to its ancestors. */
    uint64_t done = 9, total = 9;
    int phase = 9;
    CHECK_EQ(knowhere_interrupt_progress(timed, &done, &total, &phase), KNOWHERE_OK);
    CHECK(phase == KNOWHERE_PHASE_IDLE && total == 0);
    CHECK_EQ(knowhere_interrupt_progress(grandchild, &done, &total, &phase), KNOWHERE_OK);
    CHECK(phase == KNOWHERE_PHASE_BUILD && done == total && total > 0);
    knowhere_minhash_lsh_free(index);
    knowhere_interrupt_free(grandchild);
    knowhere_interrupt_free(middle);
    knowhere_interrupt_free(timed);
}

static void test_linked_outlives_its_parents_handles(void) {
    CInterrupt parent = knowhere_interrupt_create();
    REQUIRE(parent != NULL);
    CInterrupt setter = knowhere_interrupt_clone(parent);
    CInterrupt child = knowhere_interrupt_create_linked(&parent, 1);
    REQUIRE(setter != NULL && child != NULL);
    knowhere_interrupt_free(parent); /* the parent flag lives on for the child */
    knowhere_interrupt_interrupt(setter);
    CHECK(knowhere_interrupt_is_interrupted(child));
    knowhere_interrupt_free(setter);
    CHECK(knowhere_interrupt_is_interrupted(child));
    knowhere_interrupt_free(child); /* frees both flags: ASan / valgrind check */

    /* No parents: a plain flag. */
    CInterrupt alone = knowhere_interrupt_create_linked(NULL, 0);
    REQUIRE(alone != NULL);
    CHECK(!knowhere_interrupt_is_interrupted(alone));
    knowhere_interrupt_interrupt(alone);
    CHECK(knowhere_interrupt_is_interrupted(alone));
    knowhere_interrupt_free(alone);
    CInterrupt nulls[] = {NULL, NULL};
    alone = knowhere_interrupt_create_linked(nulls, 2);
    REQUIRE(alone != NULL);
    CHECK(!knowhere_interrupt_is_interrupted(alone));
    knowhere_interrupt_free(alone);
}

/* A chain of links, each flag linked to the previous one (and a repeated
 * parent), freed from the root down and from the leaf up: every flag is
 * freed once (ASan / valgrind), by a work list rather than recursion. */
static void test_linked_chain_freed_in_any_order(void) {
    enum { DEPTH = 300 };
    for (int order = 0; order < 2; ++order) {
        CInterrupt chain[DEPTH];
        chain[0] = knowhere_interrupt_create();
        REQUIRE(chain[0] != NULL);
        for (int i = 1; i < DEPTH; ++i) {
            CInterrupt parents[] = {chain[i - 1], chain[i - 1], chain[0]};
            chain[i] = knowhere_interrupt_create_linked(parents, 3);
            REQUIRE(chain[i] != NULL);
        }
        CHECK(!knowhere_interrupt_is_interrupted(chain[DEPTH - 1]));
        knowhere_interrupt_interrupt(chain[DEPTH / 2]);
        CHECK(knowhere_interrupt_is_interrupted(chain[DEPTH - 1]));
        CHECK(!knowhere_interrupt_is_interrupted(chain[DEPTH / 2 - 1]));
        for (int i = 0; i < DEPTH; ++i)
            knowhere_interrupt_free(chain[order == 0 ? i : DEPTH - 1 - i]);
    }
}

int main(void) {
    RUN(test_create_is_clear);
    RUN(test_create_with_state);
    RUN(test_interrupt_and_reset);
    RUN(test_test_and_set_returns_previous);
    RUN(test_clone_shares_flag);
    RUN(test_clone_outlives_original);
    RUN(test_clones_of_different_flags_are_independent);
    RUN(test_null_handle);
    RUN(test_check_sets_error);
    RUN(test_check_interrupt_macros);
    RUN(test_many_clones_freed_in_any_order);
    RUN(test_deadline_fires_for_every_clone);
    RUN(test_interrupt_before_deadline_reads_as_interrupted);
    RUN(test_deadline_not_yet_and_moved);
    RUN(test_progress_null_and_idle);
    RUN(test_passed_deadline_names_the_timeout);
    RUN(test_linked_reads_its_parents);
    RUN(test_linked_never_sets_its_parents);
    RUN(test_linked_ancestors_and_deadlines);
    RUN(test_linked_outlives_its_parents_handles);
    RUN(test_linked_chain_freed_in_any_order);
    return CHECK_DONE();
}
