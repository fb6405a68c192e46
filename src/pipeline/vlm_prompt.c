/* vlm_prompt.c — image placeholders of a VLM prompt: normalized to <ov_genai_image_N>, then expanded
 * to the model's image tokens (see vlm_prompt.h). */
#include "pipeline/vlm_prompt.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/strbuf.h"

/* At s: an <ov_genai_image_N> tag? *len = its length, *n = N. */
static bool ov_tag_at(const char *s, size_t *len, size_t *n) {
    size_t pl = strlen(NPG_VLM_TAG_PREFIX);
    if (strncmp(s, NPG_VLM_TAG_PREFIX, pl) != 0)
        return false;
    const char *d = s + pl;
    size_t v = 0, digits = 0;
    while (*d >= '0' && *d <= '9' && digits < 9) {
        v = v * 10 + (size_t)(*d - '0');
        d++;
        digits++;
    }
    if (digits == 0 || *d != '>')
        return false;
    *len = (size_t)(d + 1 - s);
    *n = v;
    return true;
}

npg_status npg_vlm_normalize_prompt(const npg_vlm_tokens *t, const char *text, size_t base, size_t n_new,
                                    size_t n_total, char **out) {
    *out = NULL;
    npg_strbuf sb = {0};
    npg_status st = NPG_OK;
    size_t native = 0, tags = 0, nl = strlen(t->native_tag);
    bool *used = calloc(n_new ? n_new : 1, sizeof *used);
    NPG_CHECK_ALLOC(used);
    /* a first pass counts tags: without any, the turn's images go first */
    for (const char *s = text; *s; s++) {
        size_t len, n;
        if (strncmp(s, t->native_tag, nl) == 0 || ov_tag_at(s, &len, &n))
            tags++;
    }
    for (size_t i = 0; tags == 0 && i < n_new && st == NPG_OK; i++) {
        st = npg_strbuf_printf(&sb, NPG_VLM_TAG_PREFIX "%zu>%s", base + i, t->lead);
        used[i] = true;
    }
    for (const char *s = text; *s && st == NPG_OK;) {
        size_t len, n;
        if (strncmp(s, t->native_tag, nl) == 0) {
            if (native >= n_new) {
                st = npg_fail(NPG_ERR_INVALID_ARGUMENT,
                              "the prompt has more %s tags than the %zu image%s given with it: each tag takes the next "
                              "image",
                              t->native_tag, n_new, n_new == 1 ? "" : "s");
                break;
            }
            used[native] = true;
            st = npg_strbuf_printf(&sb, NPG_VLM_TAG_PREFIX "%zu>", base + native++);
            s += nl;
        } else if (ov_tag_at(s, &len, &n)) {
            if (n >= n_total) {
                st = npg_fail(NPG_ERR_INVALID_ARGUMENT,
                              "the prompt's tag %.*s names image %zu, but the %s holds %zu image%s (numbered from 0)",
                              (int)len, s, n, base ? "conversation" : "request", n_total, n_total == 1 ? "" : "s");
                break;
            }
            if (n >= base)
                used[n - base] = true;
            st = npg_strbuf_append(&sb, s, len);
            s += len;
        } else {
            st = npg_strbuf_append_char(&sb, *s++);
        }
    }
    for (size_t i = 0; st == NPG_OK && i < n_new; i++)
        if (!used[i])
            st = npg_fail(NPG_ERR_INVALID_ARGUMENT,
                          "image %zu of the request is not placed by the prompt (it has %s or <ov_genai_image_N> tags, "
                          "but none for this image)",
                          base + i, t->native_tag);
    free(used);
    if (st == NPG_OK)
        st = npg_strbuf_detach(&sb, out);
    npg_strbuf_free(&sb);
    return st;
}

npg_status npg_vlm_expand_prompt(const npg_vlm_tokens *t, const char *text, size_t n_total, char **out,
                                 size_t **order, size_t *n_order) {
    *out = NULL;
    *order = NULL;
    *n_order = 0;
    npg_strbuf sb = {0};
    npg_status st = NPG_OK;
    size_t cap = 0;
    for (const char *s = text; *s && st == NPG_OK;) {
        size_t len, n;
        if (!ov_tag_at(s, &len, &n)) {
            st = npg_strbuf_append_char(&sb, *s++);
            continue;
        }
        if (n >= n_total) {
            st = npg_fail(NPG_ERR_INVALID_ARGUMENT, "the prompt's tag %.*s names image %zu of %zu", (int)len, s, n,
                          n_total);
            break;
        }
        if (*n_order == cap) {
            cap = cap ? cap * 2 : 4;
            size_t *o = realloc(*order, cap * sizeof *o);
            if (!o) {
                st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for the prompt's image list");
                break;
            }
            *order = o;
        }
        (*order)[(*n_order)++] = n;
        st = npg_strbuf_append_str(&sb, t->prefix);
        for (size_t i = 0; i < t->count && st == NPG_OK; i++)
            st = npg_strbuf_append_str(&sb, t->image_token);
        if (st == NPG_OK)
            st = npg_strbuf_append_str(&sb, t->suffix);
        s += len;
    }
    if (st == NPG_OK)
        st = npg_strbuf_detach(&sb, out);
    npg_strbuf_free(&sb);
    if (st != NPG_OK) {
        free(*order);
        *order = NULL;
        *n_order = 0;
    }
    return st;
}
