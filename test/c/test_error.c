/* Status strings, the error object and the version functions. */
#include <string.h>

#include "check.h"
#include "knowhere_rs.h"

static void test_status_strings(void) {
    CHECK(strcmp(knowhere_status_string(KNOWHERE_OK), "success") == 0);
    CHECK(strcmp(knowhere_status_string(KNOWHERE_ERR_INVALID_ARG), "invalid argument") == 0);
    CHECK(strcmp(knowhere_status_string(KNOWHERE_ERR_INTERRUPTED), "interrupted") == 0);
    CHECK(strcmp(knowhere_status_string(KNOWHERE_ERR_TIMEOUT), "timed out") == 0);
    CHECK(strcmp(knowhere_status_string(KNOWHERE_ERR_CORRUPT), "corrupt data") == 0);
    /* Every code the header defines has its own text. */
    const int defined[] = {KNOWHERE_OK, KNOWHERE_ERR_INVALID_ARG, KNOWHERE_ERR_EMPTY_INDEX,
                           KNOWHERE_ERR_NOT_IMPLEMENTED, KNOWHERE_ERR_NO_MEMORY,
                           KNOWHERE_ERR_FILE, KNOWHERE_ERR_OVERFLOW, KNOWHERE_ERR_TIMEOUT,
                           KNOWHERE_ERR_INTERNAL, KNOWHERE_ERR_INTERRUPTED, KNOWHERE_ERR_BUSY,
                           KNOWHERE_ERR_CORRUPT};
    for (size_t i = 0; i < sizeof defined / sizeof defined[0]; ++i)
        CHECK(strcmp(knowhere_status_string(defined[i]), "unknown status") != 0);
    const int unknown[] = {-1, 2, 99, 12345, -2147483647 - 1, 2147483647};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; ++i)
        CHECK(strcmp(knowhere_status_string(unknown[i]), "unknown status") == 0);
}

static void test_knowhere_status_numbers(void) {
    /* The numbers of knowhere::Status, which C++ knowhere callers rely on. */
    CHECK_EQ(KNOWHERE_OK, 0);
    CHECK_EQ(KNOWHERE_ERR_INVALID_ARG, 1);
    CHECK_EQ(KNOWHERE_ERR_EMPTY_INDEX, 6);
    CHECK_EQ(KNOWHERE_ERR_NOT_IMPLEMENTED, 7);
    CHECK_EQ(KNOWHERE_ERR_NO_MEMORY, 13);
    CHECK_EQ(KNOWHERE_ERR_FILE, 15);
    CHECK_EQ(KNOWHERE_ERR_TIMEOUT, 26);
    CHECK_EQ(KNOWHERE_ERR_INTERNAL, 27);
}

static void test_error_object(void) {
    knowhere_error *err = (knowhere_error *)1; /* must be overwritten */
    CHECK_EQ(knowhere_error_set(&err, KNOWHERE_ERR_FILE, "cannot open x"), KNOWHERE_ERR_FILE);
    REQUIRE(err != NULL);
    CHECK_EQ(knowhere_error_code(err), KNOWHERE_ERR_FILE);
    CHECK(strcmp(knowhere_error_message(err), "cannot open x") == 0);
    knowhere_error_free(err);

    CHECK_EQ(knowhere_error_set(&err, KNOWHERE_ERR_TIMEOUT, NULL), KNOWHERE_ERR_TIMEOUT);
    REQUIRE(err != NULL);
    CHECK(strcmp(knowhere_error_message(err), "timed out") == 0);
    knowhere_error_free(err);

    CHECK_EQ(knowhere_error_set(NULL, KNOWHERE_ERR_INTERNAL, "dropped"), KNOWHERE_ERR_INTERNAL);
}

static void test_null_error(void) {
    CHECK_EQ(knowhere_error_code(NULL), KNOWHERE_OK);
    CHECK(strcmp(knowhere_error_message(NULL), "") == 0);
    knowhere_error_free(NULL);
}

static void test_version(void) {
    CHECK(strcmp(knowhere_version(), KNOWHERE_RS_VERSION_STRING) == 0);
    CHECK_EQ(knowhere_version_number(), KNOWHERE_RS_VERSION_NUMBER);
    CHECK_EQ(knowhere_abi_version(), KNOWHERE_RS_ABI_VERSION);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", KNOWHERE_RS_VERSION_MAJOR,
             KNOWHERE_RS_VERSION_MINOR, KNOWHERE_RS_VERSION_PATCH);
    CHECK(strcmp(expected, KNOWHERE_RS_VERSION_STRING) == 0);
}

int main(void) {
    RUN(test_status_strings);
    RUN(test_knowhere_status_numbers);
    RUN(test_error_object);
    RUN(test_null_error);
    RUN(test_version);
    return CHECK_DONE();
}
