/* strbuf.h — a growable byte string (always NUL-terminated). */
#ifndef NPG_CORE_STRBUF_H
#define NPG_CORE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

typedef struct npg_strbuf {
    char *data; /* NULL until the first append; then NUL-terminated */
    size_t len;
    size_t cap;
} npg_strbuf;

npg_status npg_strbuf_append(npg_strbuf *sb, const char *data, size_t len);
npg_status npg_strbuf_append_str(npg_strbuf *sb, const char *s);
npg_status npg_strbuf_append_char(npg_strbuf *sb, char c);
npg_status npg_strbuf_printf(npg_strbuf *sb, const char *fmt, ...) NPG_PRINTF(2, 3);
/* Hands the buffer to the caller (never NULL on success: "" for empty) and resets sb. */
npg_status npg_strbuf_detach(npg_strbuf *sb, char **out);
void npg_strbuf_clear(npg_strbuf *sb); /* keeps capacity */
void npg_strbuf_free(npg_strbuf *sb);

#endif
