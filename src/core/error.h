/* error.h — per-thread last-error message and one-line failure helpers.
 *
 * Every failure point is one line: `return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' ...", path,
 * name);`. The message names the file, key or argument and the problem. It lives in a thread-local
 * buffer (the only per-thread state of the library), read back by npg_last_error(). */
#ifndef NPG_CORE_ERROR_H
#define NPG_CORE_ERROR_H

#include "npugen.h"

#if defined(__GNUC__)
#define NPG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define NPG_PRINTF(a, b)
#endif

/* Records the message for this thread and returns `status`. */
npg_status npg_fail(npg_status status, const char *fmt, ...) NPG_PRINTF(2, 3);
/* Prefixes the current message with "context: " (keeps the status); returns `status`. */
npg_status npg_fail_context(npg_status status, const char *fmt, ...) NPG_PRINTF(2, 3);
void npg_clear_error(void);

#define NPG_TRY(expr)                       \
    do {                                    \
        npg_status npg_try_s_ = (expr);     \
        if (npg_try_s_ != NPG_OK)           \
            return npg_try_s_;              \
    } while (0)

/* For allocation results: `NPG_CHECK_ALLOC(p = malloc(n));` */
#define NPG_CHECK_ALLOC(expr)                                                   \
    do {                                                                        \
        if (!(expr))                                                            \
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory in %s", __func__); \
    } while (0)

#endif
