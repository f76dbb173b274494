/* A minimal assertion harness for the C tests: each failed check prints its
 * place and counts; a test program exits non-zero if any check failed. */
#ifndef KNOWHERE_TEST_CHECK_H
#define KNOWHERE_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int check_failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            check_failures++;                                                  \
        }                                                                      \
    } while (0)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);        \
        if (check_a_ != check_b_) {                                            \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n", \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_);           \
            check_failures++;                                                  \
        }                                                                      \
    } while (0)

/* Fatal: a test cannot go on without this (e.g. an allocation). */
#define REQUIRE(cond)                                                          \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                    \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

#define RUN(test)                                                              \
    do {                                                                       \
        int check_before_ = check_failures;                                    \
        test();                                                                \
        printf("%s %s\n", check_failures == check_before_ ? "ok  " : "FAIL",   \
               #test);                                                         \
    } while (0)

#define CHECK_DONE() (check_failures == 0 ? 0 : 1)

/* CLOCK_MONOTONIC in milliseconds, for reporting durations (tests never
 * assert on them: the machines are shared). */
static inline double test_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

#endif
