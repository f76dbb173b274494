/* The error object when memory for it cannot be had: *err must still carry
 * the status the function returns (it used to be a static error whose code
 * was always KNOWHERE_ERR_NO_MEMORY, whatever the function returned).
 *
 * Every error the library makes goes through knowhere_error_set (directly
 * or through kh_errorf), so this test compiles native/error.c itself with
 * its malloc replaced by one that fails on demand: no hook in the library. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool fail_allocations;

static void *failing_malloc(size_t size) { return fail_allocations ? NULL : malloc(size); }

/* <stdlib.h> is already in, so error.c's own include of it declares
 * nothing again and only its calls are renamed. */
#define malloc failing_malloc
#include "../../native/error.c"
#undef malloc

#include "check.h"

static const int defined[] = {KNOWHERE_OK,           KNOWHERE_ERR_INVALID_ARG,
                              KNOWHERE_ERR_EMPTY_INDEX, KNOWHERE_ERR_NOT_IMPLEMENTED,
                              KNOWHERE_ERR_NO_MEMORY, KNOWHERE_ERR_FILE,
                              KNOWHERE_ERR_OVERFLOW,  KNOWHERE_ERR_TIMEOUT,
                              KNOWHERE_ERR_INTERNAL,  KNOWHERE_ERR_INTERRUPTED,
                              KNOWHERE_ERR_BUSY,      KNOWHERE_ERR_CORRUPT};
enum { DEFINED = sizeof defined / sizeof defined[0] };

/* The error agrees with the status, says what it can, and frees (valgrind
 * and ASan would report freeing a static object). */
static void check_fallback(knowhere_error *err, int returned, int code) {
    CHECK_EQ(returned, code);
    REQUIRE(err != NULL);
    CHECK_EQ(knowhere_error_code(err), code);
    CHECK(strstr(knowhere_error_message(err), knowhere_status_string(code)) == knowhere_error_message(err));
    knowhere_error_free(err);
}

static void test_every_defined_code_keeps_its_status(void) {
    fail_allocations = true;
    for (size_t i = 0; i < DEFINED; ++i) {
        knowhere_error *err = NULL;
        check_fallback(err, knowhere_error_set(&err, defined[i], "the details"), defined[i]);
        err = NULL;
        check_fallback(err, knowhere_error_set(&err, defined[i], NULL), defined[i]);
        /* Through the formatter every library message uses. */
        err = NULL;
        int returned = kh_errorf(&err, defined[i], "section %d is %s", 3, "bad");
        check_fallback(err, returned, defined[i]);
        err = NULL;
        returned = kh_stopped_error(&err, defined[i], "build", "");
        check_fallback(err, returned, defined[i]);
    }
    fail_allocations = false;
}

static void test_static_errors_are_distinct_and_say_so(void) {
    fail_allocations = true;
    knowhere_error *errors[DEFINED];
    for (size_t i = 0; i < DEFINED; ++i) {
        knowhere_error_set(&errors[i], defined[i], "x");
        CHECK(strstr(knowhere_error_message(errors[i]), "out of memory") != NULL);
    }
    for (size_t i = 0; i < DEFINED; ++i)
        for (size_t j = i + 1; j < DEFINED; ++j) CHECK(errors[i] != errors[j]);
    for (size_t i = 0; i < DEFINED; ++i) knowhere_error_free(errors[i]);
    fail_allocations = false;
}

/* A code the header does not define (a caller's own) has no static twin:
 * documented as KNOWHERE_ERR_NO_MEMORY. */
static void test_undefined_code_falls_back_to_no_memory(void) {
    fail_allocations = true;
    knowhere_error *err = NULL;
    CHECK_EQ(knowhere_error_set(&err, 4242, "mine"), 4242);
    REQUIRE(err != NULL);
    CHECK_EQ(knowhere_error_code(err), KNOWHERE_ERR_NO_MEMORY);
    knowhere_error_free(err);
    fail_allocations = false;
}

static void test_allocated_errors_are_unchanged(void) {
    knowhere_error *err = NULL;
    CHECK_EQ(kh_errorf(&err, KNOWHERE_ERR_FILE, "cannot open '%s'", "x"), KNOWHERE_ERR_FILE);
    REQUIRE(err != NULL);
    CHECK_EQ(knowhere_error_code(err), KNOWHERE_ERR_FILE);
    CHECK(strcmp(knowhere_error_message(err), "cannot open 'x'") == 0);
    knowhere_error_free(err);
}

int main(void) {
    RUN(test_every_defined_code_keeps_its_status);
    RUN(test_static_errors_are_distinct_and_say_so);
    RUN(test_undefined_code_falls_back_to_no_memory);
    RUN(test_allocated_errors_are_unchanged);
    return CHECK_DONE();
}
