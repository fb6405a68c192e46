/* normalize.c — the normalizer chain: Unicode forms (utf8proc), Lowercase, Strip, StripAccents,
 * Prepend, Replace, and Sequence of those (flattened at load).
 *
 * A normalizer runs once per piece left between added tokens, never on the whole input at once, as
 * in tokenizers: Prepend("▁") therefore adds one "▁" to every such piece. Offsets are not tracked;
 * nothing downstream needs them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/error.h"
#include "core/json.h"
#include "tokenizer/tok_internal.h"

static npg_status add_norm(npg_tokenizer *tok, const cJSON *node, const char *where) {
    if (cJSON_IsNull(node))
        return NPG_OK;
    const char *type = npg_json_get_string(node, "type");
    if (!type)
        return npg_fail(NPG_ERR_FORMAT, "%s: %s has no \"type\"", tok->json_path, where);
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *list = npg_json_get(node, "normalizers");
        if (!cJSON_IsArray(list))
            return npg_fail(NPG_ERR_FORMAT, "%s: %s.normalizers must be a list", tok->json_path, where);
        const cJSON *child;
        cJSON_ArrayForEach(child, list) NPG_TRY(add_norm(tok, child, where));
        return NPG_OK;
    }
    if (tok->n_norm == NPG_TOK_MAX_STEPS)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: more than %d normalizers", tok->json_path, NPG_TOK_MAX_STEPS);
    npg_tok_norm *n = &tok->norm[tok->n_norm];
    memset(n, 0, sizeof *n);
    if (strcmp(type, "NFC") == 0) {
        n->kind = NPG_NORM_NFC;
    } else if (strcmp(type, "NFD") == 0) {
        n->kind = NPG_NORM_NFD;
    } else if (strcmp(type, "NFKC") == 0) {
        n->kind = NPG_NORM_NFKC;
    } else if (strcmp(type, "NFKD") == 0) {
        n->kind = NPG_NORM_NFKD;
    } else if (strcmp(type, "Lowercase") == 0) {
        n->kind = NPG_NORM_LOWERCASE;
    } else if (strcmp(type, "StripAccents") == 0) {
        n->kind = NPG_NORM_STRIP_ACCENTS;
    } else if (strcmp(type, "Strip") == 0) {
        n->kind = NPG_NORM_STRIP;
        n->left = n->right = true;
        npg_json_get_bool(node, "strip_left", &n->left);
        npg_json_get_bool(node, "strip_right", &n->right);
    } else if (strcmp(type, "Prepend") == 0) {
        const char *p = npg_json_get_string(node, "prepend");
        if (!p)
            return npg_fail(NPG_ERR_FORMAT, "%s: %s Prepend needs a string \"prepend\"", tok->json_path, where);
        n->kind = NPG_NORM_PREPEND;
        n->content = strdup(p);
        NPG_CHECK_ALLOC(n->content);
        n->content_len = strlen(p);
    } else if (strcmp(type, "Replace") == 0) {
        const char *content = npg_json_get_string(node, "content");
        const cJSON *pattern = npg_json_get(node, "pattern");
        if (!content || !pattern)
            return npg_fail(NPG_ERR_FORMAT, "%s: %s Replace needs \"pattern\" and \"content\"", tok->json_path,
                            where);
        char what[512];
        snprintf(what, sizeof what, "%s: %s Replace", tok->json_path, where);
        n->kind = NPG_NORM_REPLACE;
        NPG_TRY(npg_tok_pattern_from_json(pattern, what, &n->pattern));
        tok->n_norm++; /* owned from here on, freed with the tokenizer */
        n->content = strdup(content);
        NPG_CHECK_ALLOC(n->content);
        n->content_len = strlen(content);
        return NPG_OK;
    } else {
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: normalizer type '%s' is not supported", tok->json_path, type);
    }
    tok->n_norm++;
    return NPG_OK;
}

npg_status npg_tok_norm_load(npg_tokenizer *tok, const cJSON *normalizer) {
    if (!normalizer)
        return NPG_OK;
    return add_norm(tok, normalizer, "normalizer");
}

void npg_tok_norm_free(npg_tok_norm *n) {
    npg_tok_pattern_free(&n->pattern);
    free(n->content);
    memset(n, 0, sizeof *n);
}

/* ---------------------------------------------------------------------------------------------- */

static npg_status unicode_form(const char *s, size_t len, utf8proc_option_t opt, npg_strbuf *out) {
    if (len == 0)
        return npg_strbuf_append(out, "", 0);
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t n =
        utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &dst, opt | UTF8PROC_STABLE);
    if (n < 0)
        return npg_fail(n == UTF8PROC_ERROR_NOMEM ? NPG_ERR_OUT_OF_MEMORY : NPG_ERR_INVALID_ARGUMENT,
                        "Unicode normalization failed: %s", utf8proc_errmsg(n));
    npg_status st = npg_strbuf_append(out, (const char *)dst, (size_t)n);
    free(dst);
    return st;
}

/* Rust's char::to_lowercase, one character at a time: the simple mapping except U+0130, whose full
 * lowercase is "i\u0307" (the only unconditional multi-character lowercase in SpecialCasing). */
static npg_status lowercase(const char *s, size_t len, npg_strbuf *out) {
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += npg_utf8_decode(s + i, len - i, &cp);
        if (cp == 0x130) {
            NPG_TRY(npg_strbuf_append(out, "i\xCC\x87", 3));
            continue;
        }
        char buf[4];
        size_t n = npg_utf8_encode((uint32_t)utf8proc_tolower((utf8proc_int32_t)cp), buf);
        NPG_TRY(npg_strbuf_append(out, buf, n));
    }
    return NPG_OK;
}

static npg_status strip_accents(const char *s, size_t len, npg_strbuf *out) {
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = npg_utf8_decode(s + i, len - i, &cp);
        utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
        if (c != UTF8PROC_CATEGORY_MN && c != UTF8PROC_CATEGORY_MC && c != UTF8PROC_CATEGORY_ME)
            NPG_TRY(npg_strbuf_append(out, s + i, n));
        i += n;
    }
    return NPG_OK;
}

static npg_status strip_spaces(const char *s, size_t len, bool left, bool right, npg_strbuf *out) {
    size_t b = 0, e = len;
    if (left) {
        while (b < e) {
            uint32_t cp;
            size_t n = npg_utf8_decode(s + b, e - b, &cp);
            if (!npg_uni_is_whitespace(cp))
                break;
            b += n;
        }
    }
    if (right) {
        while (e > b) {
            size_t k = e - 1;
            while (k > b && ((unsigned char)s[k] & 0xC0) == 0x80)
                k--;
            uint32_t cp;
            npg_utf8_decode(s + k, e - k, &cp);
            if (!npg_uni_is_whitespace(cp))
                break;
            e = k;
        }
    }
    return npg_strbuf_append(out, s + b, e - b);
}

static npg_status norm_step(const npg_tok_norm *n, pcre2_match_data *md, const char *s, size_t len, npg_strbuf *out) {
    switch (n->kind) {
    case NPG_NORM_NFC:
        return unicode_form(s, len, UTF8PROC_COMPOSE, out);
    case NPG_NORM_NFD:
        return unicode_form(s, len, UTF8PROC_DECOMPOSE, out);
    case NPG_NORM_NFKC:
        return unicode_form(s, len, UTF8PROC_COMPOSE | UTF8PROC_COMPAT, out);
    case NPG_NORM_NFKD:
        return unicode_form(s, len, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, out);
    case NPG_NORM_LOWERCASE:
        return lowercase(s, len, out);
    case NPG_NORM_STRIP:
        return strip_spaces(s, len, n->left, n->right, out);
    case NPG_NORM_STRIP_ACCENTS:
        return strip_accents(s, len, out);
    case NPG_NORM_PREPEND:
        if (len)
            NPG_TRY(npg_strbuf_append(out, n->content, n->content_len));
        return npg_strbuf_append(out, s, len);
    case NPG_NORM_REPLACE:
        return npg_tok_pattern_replace(&n->pattern, md, s, len, n->content, n->content_len, out);
    }
    return npg_fail(NPG_ERR_INTERNAL, "unknown normalizer kind %d", (int)n->kind);
}

npg_status npg_tok_normalize(const npg_tokenizer *tok, pcre2_match_data *md, const char *s, size_t len,
                             npg_strbuf *out, npg_strbuf *tmp) {
    npg_strbuf_clear(out);
    if (tok->n_norm == 0)
        return npg_strbuf_append(out, s, len);
    /* Ping-pong between out and tmp so that the last step writes into out. */
    npg_strbuf *dst = (tok->n_norm % 2) ? out : tmp;
    npg_strbuf *other = (dst == out) ? tmp : out;
    const char *cur = s;
    size_t cur_len = len;
    for (size_t i = 0; i < tok->n_norm; i++) {
        npg_strbuf_clear(dst);
        NPG_TRY(norm_step(&tok->norm[i], md, cur, cur_len, dst));
        NPG_TRY(npg_strbuf_append(dst, "", 0)); /* never NULL data, even when empty */
        cur = dst->data;
        cur_len = dst->len;
        npg_strbuf *t = dst;
        dst = other;
        other = t;
    }
    return NPG_OK;
}
