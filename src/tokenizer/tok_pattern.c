/* tok_pattern.c — literal and regex patterns (Split / Replace), iterated like Rust's find_iter.
 *
 * tokenizers compiles its regexes with Oniguruma. PCRE2 with UTF + UCP agrees on the syntax these
 * files use ((?i:...), \p{L}, \p{N}, lookahead), but its classes differ at the edges: PCRE2's \s
 * lacks U+0085 (Oniguruma's \s is Unicode White_Space) and its \w lacks marks. Before compiling,
 * \s, \S, \w and \W are rewritten to explicit Oniguruma-equivalent sets. The code is JIT-compiled;
 * a match that exhausts the JIT stack is retried by the interpreter. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizer/tok_internal.h"

#define SPACE_SET "\\s\\x{85}"
#define WORD_SET "\\p{L}\\p{Nl}\\p{Nd}\\p{M}\\p{Pc}\\x{200C}\\x{200D}"

/* Rewrites \s \S \w \W (outside and inside character classes) into Oniguruma's sets. \S and \W
 * inside a class have no simple equivalent and are left as they are. */
static npg_status translate_regex(const char *src, npg_strbuf *out) {
    size_t n = strlen(src);
    bool in_class = false;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '\\' && i + 1 < n) {
            char d = src[i + 1];
            i++;
            if (d == 's')
                NPG_TRY(npg_strbuf_append_str(out, in_class ? SPACE_SET : "[" SPACE_SET "]"));
            else if (d == 'S' && !in_class)
                NPG_TRY(npg_strbuf_append_str(out, "[^" SPACE_SET "]"));
            else if (d == 'w')
                NPG_TRY(npg_strbuf_append_str(out, in_class ? WORD_SET : "[" WORD_SET "]"));
            else if (d == 'W' && !in_class)
                NPG_TRY(npg_strbuf_append_str(out, "[^" WORD_SET "]"));
            else {
                NPG_TRY(npg_strbuf_append_char(out, c));
                NPG_TRY(npg_strbuf_append_char(out, d));
            }
            continue;
        }
        NPG_TRY(npg_strbuf_append_char(out, c));
        if (!in_class && c == '[') {
            in_class = true;
            /* a ']' right after '[' or '[^' is a literal member */
            if (i + 1 < n && src[i + 1] == '^')
                NPG_TRY(npg_strbuf_append_char(out, src[++i]));
            if (i + 1 < n && src[i + 1] == ']')
                NPG_TRY(npg_strbuf_append_char(out, src[++i]));
        } else if (in_class && c == '[' && i + 1 < n && src[i + 1] == ':') {
            /* POSIX class [:name:] inside a class */
            const char *end = strstr(src + i + 2, ":]");
            if (end) {
                size_t stop = (size_t)(end - src) + 2;
                NPG_TRY(npg_strbuf_append(out, src + i + 1, stop - i - 1));
                i = stop - 1;
            }
        } else if (in_class && c == ']') {
            in_class = false;
        }
    }
    return npg_strbuf_append(out, "", 0);
}

npg_status npg_tok_pattern_regex(const char *src, const char *what, npg_tok_pattern *out) {
    npg_strbuf tr = {0};
    npg_status st = translate_regex(src, &tr);
    if (st != NPG_OK) {
        npg_strbuf_free(&tr);
        return st;
    }
    int err = 0;
    PCRE2_SIZE err_off = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)tr.data, tr.len, PCRE2_UTF | PCRE2_UCP, &err, &err_off, NULL);
    npg_strbuf_free(&tr);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return npg_fail(NPG_ERR_FORMAT, "%s: regex '%s' does not compile: %s", what, src, (const char *)msg);
    }
    /* JIT is an optimisation: when it is unavailable the interpreter runs the same pattern. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    memset(out, 0, sizeof *out);
    out->re = re;
    return NPG_OK;
}

npg_status npg_tok_pattern_literal(const char *s, size_t len, npg_tok_pattern *out) {
    memset(out, 0, sizeof *out);
    out->literal = malloc(len + 1);
    NPG_CHECK_ALLOC(out->literal);
    memcpy(out->literal, s, len);
    out->literal[len] = '\0';
    out->literal_len = len;
    return NPG_OK;
}

npg_status npg_tok_pattern_from_json(const cJSON *pattern, const char *what, npg_tok_pattern *out) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(pattern, "String");
    if (cJSON_IsString(s))
        return npg_tok_pattern_literal(s->valuestring, strlen(s->valuestring), out);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(pattern, "Regex");
    if (cJSON_IsString(r))
        return npg_tok_pattern_regex(r->valuestring, what, out);
    return npg_fail(NPG_ERR_FORMAT, "%s: pattern must be {\"String\": ...} or {\"Regex\": ...}", what);
}

void npg_tok_pattern_free(npg_tok_pattern *p) {
    free(p->literal);
    if (p->re)
        pcre2_code_free(p->re);
    memset(p, 0, sizeof *p);
}

/* ---------------------------------------------------------------------------------------------- */

void npg_tok_matcher_init(npg_tok_matcher *m, const npg_tok_pattern *p, pcre2_match_data *md, const char *s,
                          size_t len) {
    m->pattern = p;
    m->s = s;
    m->len = len;
    m->pos = 0;
    m->last_end = SIZE_MAX;
    m->md = md;
}

/* First match at or after `from`; *found false when none. */
static npg_status search(const npg_tok_matcher *m, size_t from, bool *found, size_t *ms, size_t *me) {
    const npg_tok_pattern *p = m->pattern;
    if (p->literal) {
        *found = false;
        if (p->literal_len == 0 || from > m->len)
            return NPG_OK;
        const char *hit = memmem(m->s + from, m->len - from, p->literal, p->literal_len);
        if (hit) {
            *found = true;
            *ms = (size_t)(hit - m->s);
            *me = *ms + p->literal_len;
        }
        return NPG_OK;
    }
    int rc = pcre2_match(p->re, (PCRE2_SPTR)m->s, m->len, from, PCRE2_NO_UTF_CHECK, m->md, NULL);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(p->re, (PCRE2_SPTR)m->s, m->len, from, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, m->md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) {
        *found = false;
        return NPG_OK;
    }
    if (rc < 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof msg);
        return npg_fail(NPG_ERR_LIMIT, "tokenizer regex failed on a %zu-byte piece: %s", m->len, (const char *)msg);
    }
    /* rc == 0 only means the ovector is shorter than the capture groups; group 0 is still set */
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
    *found = true;
    *ms = ov[0];
    *me = ov[1];
    return NPG_OK;
}

npg_status npg_tok_matcher_next(npg_tok_matcher *m, bool *found, size_t *start, size_t *end) {
    for (;;) {
        if (m->pos > m->len) {
            *found = false;
            return NPG_OK;
        }
        size_t ms, me;
        bool hit;
        NPG_TRY(search(m, m->pos, &hit, &ms, &me));
        if (!hit) {
            m->pos = m->len + 1;
            *found = false;
            return NPG_OK;
        }
        if (ms == me && me == m->last_end) {
            /* an empty match touching the previous one: step over one character */
            if (m->pos >= m->len) {
                m->pos = m->len + 1;
            } else {
                uint32_t cp;
                m->pos += npg_utf8_decode(m->s + m->pos, m->len - m->pos, &cp);
            }
            continue;
        }
        m->pos = me;
        m->last_end = me;
        *found = true;
        *start = ms;
        *end = me;
        return NPG_OK;
    }
}

npg_status npg_tok_pattern_replace(const npg_tok_pattern *p, pcre2_match_data *md, const char *s, size_t len,
                                   const char *content, size_t content_len, npg_strbuf *out) {
    npg_tok_matcher m;
    npg_tok_matcher_init(&m, p, md, s, len);
    size_t last = 0;
    for (;;) {
        bool found;
        size_t ms, me;
        NPG_TRY(npg_tok_matcher_next(&m, &found, &ms, &me));
        if (!found)
            break;
        NPG_TRY(npg_strbuf_append(out, s + last, ms - last));
        NPG_TRY(npg_strbuf_append(out, content, content_len));
        last = me;
    }
    return npg_strbuf_append(out, s + last, len - last);
}
