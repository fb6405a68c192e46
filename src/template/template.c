/* template.c — compile (normalize, lex, parse) and render (JSON context -> values, execute) a
 * chat template (see template.h).
 *
 * Ownership: the template owns one arena holding its normalized source, the syntax tree and the
 * literal values; each render creates a second arena for everything it computes and frees it
 * before returning, so the output string (malloc'd) is the only thing that outlives a render. */
#include "template/template.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "template/eval.h"
#include "template/lexer.h"

struct npg_template {
    npg_tarena *arena;
    npg_tprogram prog;
};

enum { MAX_JSON_DEPTH = 256 };

/* Bytes after a valid UTF-8 lead byte at s[0] (1..4), or 0 when the sequence is invalid (overlong,
 * surrogate, above U+10FFFF, truncated). */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t k = c < 0x80                  ? 1
               : (c >= 0xC2 && c <= 0xDF) ? 2
               : (c >= 0xE0 && c <= 0xEF) ? 3
               : (c >= 0xF0 && c <= 0xF4) ? 4
                                          : 0;
    if (k == 0 || k > n)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0;
    return k;
}

/* A template is text: a NUL byte would cut it short wherever it is handled as a C string, and
 * invalid UTF-8 would reach the tokenizer as an error that no longer names the template (or, inside
 * a tag, lex as a name). Both are refused here with their position. */
static npg_status check_text(const char *src, size_t len) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < len;) {
        size_t k = src[i] ? utf8_seq((const unsigned char *)src + i, len - i) : 0;
        if (k == 0)
            return npg_fail(NPG_ERR_FORMAT, "line %zu, column %zu: %s", line, col,
                            src[i] ? "the template is not valid UTF-8" : "NUL byte in the template");
        if (src[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
        i += k;
    }
    return NPG_OK;
}

npg_status npg_template_compile(const char *src, size_t len, npg_template **out) {
    if (!src || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_template_compile: %s is NULL", !src ? "src" : "out");
    NPG_TRY(check_text(src, len));
    npg_template *t = calloc(1, sizeof *t);
    NPG_CHECK_ALLOC(t);
    npg_status st = npg_tarena_create(&t->arena);
    char *norm = NULL;
    size_t n = 0;
    if (st == NPG_OK) {
        /* jinja2 splits the source on \r\n, \r and \n and joins with \n, dropping one final newline
         * (keep_trailing_newline=False) */
        norm = npg_tarena_alloc(t->arena, len + 1);
        if (!norm)
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory compiling a template");
        for (size_t i = 0; norm && i < len; i++) {
            if (src[i] == '\r') {
                norm[n++] = '\n';
                if (i + 1 < len && src[i + 1] == '\n')
                    i++;
            } else {
                norm[n++] = src[i];
            }
        }
        if (n && norm[n - 1] == '\n')
            n--;
    }
    npg_ttoken *toks = NULL;
    size_t n_toks = 0;
    if (st == NPG_OK)
        st = npg_tlex(norm, n, t->arena, &toks, &n_toks);
    if (st == NPG_OK)
        st = npg_tparse(toks, n_toks, t->arena, &t->prog);
    free(toks);
    if (st != NPG_OK) {
        npg_template_free(t);
        return st;
    }
    *out = t;
    return NPG_OK;
}

void npg_template_free(npg_template *t) {
    if (!t)
        return;
    npg_tarena_free(t->arena);
    free(t);
}

/* A JSON value as a template value, copied into the render's arena. */
static npg_status from_json(npg_tarena *a, const cJSON *j, int depth, npg_tval *out) {
    if (depth > MAX_JSON_DEPTH)
        return npg_fail(NPG_ERR_LIMIT, "template context: JSON nested deeper than %d levels", MAX_JSON_DEPTH);
    if (cJSON_IsNull(j)) {
        *out = npg_tv_none();
    } else if (cJSON_IsBool(j)) {
        *out = npg_tv_bool(cJSON_IsTrue(j));
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        bool integral = isfinite(d) && d == floor(d) && fabs(d) < 9007199254740992.0;
        *out = integral ? npg_tv_int((int64_t)d) : npg_tv_float(d);
    } else if (cJSON_IsString(j)) {
        const char *s = j->valuestring ? j->valuestring : "";
        NPG_TRY(npg_tv_strdup(a, s, strlen(s), out));
    } else if (cJSON_IsArray(j)) {
        NPG_TRY(npg_tv_new_list(a, NPG_TV_LIST, (size_t)cJSON_GetArraySize(j), out));
        for (const cJSON *c = j->child; c; c = c->next) {
            npg_tval v;
            NPG_TRY(from_json(a, c, depth + 1, &v));
            NPG_TRY(npg_tlist_push(a, out->u.list, v));
        }
    } else if (cJSON_IsObject(j)) {
        NPG_TRY(npg_tv_new_dict(a, NPG_TV_DICT, (size_t)cJSON_GetArraySize(j), out));
        for (const cJSON *c = j->child; c; c = c->next) {
            npg_tval k, v;
            const char *key = c->string ? c->string : "";
            NPG_TRY(npg_tv_strdup(a, key, strlen(key), &k));
            NPG_TRY(from_json(a, c, depth + 1, &v));
            NPG_TRY(npg_tdict_set(a, out->u.dict, k, v));
        }
    } else {
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "template context: unsupported JSON value");
    }
    return NPG_OK;
}

static npg_status render(const npg_template *t, const cJSON *context, const npg_template_options *opts,
                         npg_tarena *arena, npg_strbuf *sb) {
    npg_trender r = {.arena = arena, .out = sb, .max_steps = NPG_MAX_STEPS};
    if (opts && opts->max_steps > 0)
        r.max_steps = opts->max_steps;
    if (opts && opts->pin_time) {
        r.has_now = true;
        r.now = opts->now;
    }
    NPG_TRY(npg_tscope_push(&r));
    if (context) {
        if (!cJSON_IsObject(context))
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "template context must be a JSON object");
        for (const cJSON *c = context->child; c; c = c->next) {
            npg_tval v;
            const char *key = c->string ? c->string : "";
            char *k = npg_tarena_strndup(arena, key, strlen(key));
            NPG_CHECK_ALLOC(k);
            NPG_TRY(from_json(arena, c, 0, &v));
            NPG_TRY(npg_tscope_set(&r, r.scope, (npg_tstr){k, strlen(k)}, v));
        }
    }
    return npg_texec_body(&r, &t->prog.body);
}

npg_status npg_template_render(const npg_template *t, const cJSON *context, const npg_template_options *opts,
                               char **out) {
    if (!t || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_template_render: %s is NULL", !t ? "template" : "out");
    npg_tarena *arena;
    NPG_TRY(npg_tarena_create(&arena));
    npg_strbuf sb = {0};
    npg_status st = render(t, context, opts, arena, &sb);
    if (st == NPG_OK)
        st = npg_strbuf_detach(&sb, out);
    npg_strbuf_free(&sb);
    npg_tarena_free(arena);
    return st;
}
