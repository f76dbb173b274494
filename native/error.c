/* Status strings and the error object returned through `knowhere_error **`. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct knowhere_error {
    int code;
    char message[]; /* NUL-terminated, allocated with the struct */
};

/* Handed out when not even an error object can be allocated. Never freed:
 * knowhere_error_free recognises it by address. */
static struct {
    int code;
    char message[32];
} const out_of_memory_error = {KNOWHERE_ERR_NO_MEMORY, "out of memory"};

#define OUT_OF_MEMORY_ERROR ((knowhere_error *)(void *)&out_of_memory_error)

const char *knowhere_status_string(int status) {
    switch (status) {
    case KNOWHERE_OK: return "success";
    case KNOWHERE_ERR_INVALID_ARG: return "invalid argument";
    case KNOWHERE_ERR_EMPTY_INDEX: return "empty index";
    case KNOWHERE_ERR_NOT_IMPLEMENTED: return "not implemented";
    case KNOWHERE_ERR_NO_MEMORY: return "out of memory";
    case KNOWHERE_ERR_FILE: return "file error";
    case KNOWHERE_ERR_OVERFLOW: return "arithmetic overflow";
    case KNOWHERE_ERR_TIMEOUT: return "timed out";
    case KNOWHERE_ERR_INTERNAL: return "internal error";
    case KNOWHERE_ERR_INTERRUPTED: return "interrupted";
    case KNOWHERE_ERR_BUSY: return "object is busy";
    case KNOWHERE_ERR_CORRUPT: return "corrupt data";
    default: return "unknown status";
    }
}

int knowhere_error_code(const knowhere_error *error) {
    return error ? error->code : KNOWHERE_OK;
}

const char *knowhere_error_message(const knowhere_error *error) {
    return error ? error->message : "";
}

void knowhere_error_free(knowhere_error *error) {
    if (error != OUT_OF_MEMORY_ERROR) free(error);
}

int knowhere_error_set(knowhere_error **err, int code, const char *message) {
    if (err == NULL) return code;
    if (message == NULL) message = knowhere_status_string(code);
    size_t len = strlen(message);
    knowhere_error *error = malloc(sizeof *error + len + 1);
    if (error == NULL) {
        *err = OUT_OF_MEMORY_ERROR;
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
