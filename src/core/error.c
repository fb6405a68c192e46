#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NPG_ERROR_CAPACITY = 2048 };

/* The single piece of per-thread state: the last failure message. */
static _Thread_local char npg_error_message[NPG_ERROR_CAPACITY];

npg_status npg_fail(npg_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(npg_error_message, sizeof npg_error_message, fmt, ap);
    va_end(ap);
    return status;
}

npg_status npg_fail_context(npg_status status, const char *fmt, ...) {
    char prefix[NPG_ERROR_CAPACITY];
    char old[NPG_ERROR_CAPACITY];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, npg_error_message, sizeof old);
    size_t n = strlen(prefix);
    if (n > NPG_ERROR_CAPACITY - 3)
        n = NPG_ERROR_CAPACITY - 3;
    memcpy(npg_error_message, prefix, n);
    memcpy(npg_error_message + n, ": ", 2);
    size_t rest = NPG_ERROR_CAPACITY - n - 3;
    size_t m = strnlen(old, rest);
    memcpy(npg_error_message + n + 2, old, m);
    npg_error_message[n + 2 + m] = '\0';
    return status;
}

void npg_clear_error(void) { npg_error_message[0] = '\0'; }

const char *npg_last_error(void) { return npg_error_message; }

const char *npg_status_name(npg_status status) {
    switch (status) {
    case NPG_OK: return "NPG_OK";
    case NPG_ERR_INVALID_ARGUMENT: return "NPG_ERR_INVALID_ARGUMENT";
    case NPG_ERR_IO: return "NPG_ERR_IO";
    case NPG_ERR_FORMAT: return "NPG_ERR_FORMAT";
    case NPG_ERR_UNSUPPORTED: return "NPG_ERR_UNSUPPORTED";
    case NPG_ERR_OUT_OF_MEMORY: return "NPG_ERR_OUT_OF_MEMORY";
    case NPG_ERR_LIMIT: return "NPG_ERR_LIMIT";
    case NPG_ERR_NOT_FOUND: return "NPG_ERR_NOT_FOUND";
    case NPG_ERR_CHECKSUM: return "NPG_ERR_CHECKSUM";
    case NPG_ERR_CANCELLED: return "NPG_ERR_CANCELLED";
    case NPG_ERR_INTERNAL: return "NPG_ERR_INTERNAL";
    case NPG_ERR_BUSY: return "NPG_ERR_BUSY";
    }
    return "NPG_ERR_UNKNOWN";
}

const char *npg_version(void) { return NPG_VERSION_STRING; }

void npg_free(void *ptr) { free(ptr); }
