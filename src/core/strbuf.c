#include "core/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static npg_status reserve(npg_strbuf *sb, size_t extra) {
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return NPG_OK;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(sb->data, cap);
    NPG_CHECK_ALLOC(p);
    sb->data = p;
    sb->cap = cap;
    return NPG_OK;
}

npg_status npg_strbuf_append(npg_strbuf *sb, const char *data, size_t len) {
    NPG_TRY(reserve(sb, len));
    if (len)
        memcpy(sb->data + sb->len, data, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
    return NPG_OK;
}

npg_status npg_strbuf_append_str(npg_strbuf *sb, const char *s) { return npg_strbuf_append(sb, s, strlen(s)); }

npg_status npg_strbuf_append_char(npg_strbuf *sb, char c) { return npg_strbuf_append(sb, &c, 1); }

npg_status npg_strbuf_printf(npg_strbuf *sb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return npg_fail(NPG_ERR_INTERNAL, "bad format string");
    NPG_TRY(reserve(sb, (size_t)n));
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
    return NPG_OK;
}

npg_status npg_strbuf_detach(npg_strbuf *sb, char **out) {
    NPG_TRY(reserve(sb, 0));
    sb->data[sb->len] = '\0'; /* a never-appended buffer was just allocated: terminate it */
    *out = sb->data;
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return NPG_OK;
}

void npg_strbuf_clear(npg_strbuf *sb) {
    sb->len = 0;
    if (sb->data)
        sb->data[0] = '\0';
}

void npg_strbuf_free(npg_strbuf *sb) {
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}
