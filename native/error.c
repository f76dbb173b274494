/* Status strings and the error object returned through `knowhere_error **`. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct knowhere_error {
    int code;
    char message[]; /* NUL-terminated, allocated with the struct */
};

/* Every status the header defines, with its text: the one list both
 * knowhere_status_string and the static errors below are made from. */
#define KH_STATUSES(X)                                                         \
    X(KNOWHERE_OK, "success")                                                  \
    X(KNOWHERE_ERR_INVALID_ARG, "invalid argument")                            \
    X(KNOWHERE_ERR_EMPTY_INDEX, "empty index")                                 \
    X(KNOWHERE_ERR_NOT_IMPLEMENTED, "not implemented")                         \
    X(KNOWHERE_ERR_NO_MEMORY, "out of memory")                                 \
    X(KNOWHERE_ERR_FILE, "file error")                                         \
    X(KNOWHERE_ERR_OVERFLOW, "arithmetic overflow")                            \
    X(KNOWHERE_ERR_TIMEOUT, "timed out")                                       \
    X(KNOWHERE_ERR_INTERNAL, "internal error")                                 \
    X(KNOWHERE_ERR_INTERRUPTED, "interrupted")                                 \
    X(KNOWHERE_ERR_BUSY, "object is busy")                                     \
    X(KNOWHERE_ERR_CORRUPT, "corrupt data")

const char *knowhere_status_string(int status) {
#define KH_STATUS_CASE(code, text)                                             \
    case code: return text;
    switch (status) {
        KH_STATUSES(KH_STATUS_CASE)
    default: return "unknown status";
    }
#undef KH_STATUS_CASE
}

/* Handed out when not even an error object can be allocated: one per
 * status, so that the error still carries the status the function returns
 * (only the details are lost). Never freed: knowhere_error_free recognises
 * them by address. Same layout as struct knowhere_error. */
typedef struct {
    int code;
    char message[64];
} static_error;

static const static_error static_errors[] = {
#define KH_STATIC_ERROR(code, text) {code, text " (out of memory for the details)"},
    KH_STATUSES(KH_STATIC_ERROR)
#undef KH_STATIC_ERROR
};
enum { STATIC_ERRORS = sizeof static_errors / sizeof static_errors[0] };

static knowhere_error *as_error(const static_error *e) { return (knowhere_error *)(void *)e; }

/* The static error for `code`; a code the header does not define (a
 * caller's own) gets the out-of-memory one. */
static knowhere_error *static_error_for(int code) {
    for (size_t i = 0; i < STATIC_ERRORS; ++i)
        if (static_errors[i].code == code) return as_error(&static_errors[i]);
    return static_error_for(KNOWHERE_ERR_NO_MEMORY);
}

static bool is_static(const knowhere_error *error) {
    for (size_t i = 0; i < STATIC_ERRORS; ++i)
        if (error == as_error(&static_errors[i])) return true;
    return false;
}

int knowhere_error_code(const knowhere_error *error) {
    return error ? error->code : KNOWHERE_OK;
}

const char *knowhere_error_message(const knowhere_error *error) {
    return error ? error->message : "";
}

void knowhere_error_free(knowhere_error *error) {
    if (!is_static(error)) free(error);
}

int knowhere_error_set(knowhere_error **err, int code, const char *message) {
    if (err == NULL) return code;
    if (message == NULL) message = knowhere_status_string(code);
    size_t len = strlen(message);
    knowhere_error *error = malloc(sizeof *error + len + 1);
    if (error == NULL) {
        *err = static_error_for(code);
        return code;
    }
    error->code = code;
    memcpy(error->message, message, len + 1);
    *err = error;
    return code;
}

int kh_errorf(knowhere_error **err, int code, const char *format, ...) {
    if (err == NULL) return code;
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    return knowhere_error_set(err, code, message);
}

int kh_stopped_error(knowhere_error **err, int status, const char *what, const char *detail) {
    return kh_errorf(err, status, "%s %s%s", what,
                     status == KNOWHERE_ERR_TIMEOUT ? "timed out" : "interrupted", detail);
}

void kh_clear_error(knowhere_error **err) {
    if (err != NULL) *err = NULL;
}
