/* tojson.c — Python's json.dumps over template values, as Hugging Face's `tojson` filter calls it
 * (ensure_ascii=False: non-ASCII text is written as it is; only '"', '\\' and control characters
 * are escaped). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "template/value.h"

typedef struct json_opts {
    const char *indent; /* NULL = one line */
    npg_tstr item_sep, key_sep;
    bool sort_keys;
} json_opts;

static npg_status append_json_string(npg_strbuf *sb, const char *p, size_t n) {
    NPG_TRY(npg_strbuf_append_char(sb, '"'));
    size_t run = 0; /* bytes copied verbatim in one append */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (c < 0x20) {
                static const char hex[] = "0123456789abcdef";
                memcpy(u, "\\u00", 4);
                u[4] = hex[c >> 4];
                u[5] = hex[c & 15];
                u[6] = '\0';
                esc = u;
            }
        }
        if (!esc) {
            run++;
            continue;
        }
        NPG_TRY(npg_strbuf_append(sb, p + i - run, run));
        run = 0;
        NPG_TRY(npg_strbuf_append_str(sb, esc));
    }
    NPG_TRY(npg_strbuf_append(sb, p + n - run, run));
    return npg_strbuf_append_char(sb, '"');
}

static npg_status append_newline(npg_strbuf *sb, const json_opts *o, int level) {
    NPG_TRY(npg_strbuf_append_char(sb, '\n'));
    for (int i = 0; i < level; i++)
        NPG_TRY(npg_strbuf_append_str(sb, o->indent));
    return NPG_OK;
}

static npg_status append_float_json(npg_strbuf *sb, double f) {
    if (isnan(f))
        return npg_strbuf_append_str(sb, "NaN");
    if (isinf(f))
        return npg_strbuf_append_str(sb, f < 0 ? "-Infinity" : "Infinity");
    return npg_tv_append_float(sb, f);
}

/* json.dumps turns non-string keys into strings: true/false/null, ints and float reprs. */
static npg_status append_key(npg_strbuf *sb, npg_tval k) {
    switch (k.kind) {
    case NPG_TV_STRING: return append_json_string(sb, k.u.s.p, k.u.s.n);
    case NPG_TV_BOOL: return npg_strbuf_append_str(sb, k.u.b ? "\"true\"" : "\"false\"");
    case NPG_TV_NONE: return npg_strbuf_append_str(sb, "\"null\"");
    case NPG_TV_INT: return npg_strbuf_printf(sb, "\"%lld\"", (long long)k.u.i);
    case NPG_TV_FLOAT:
        NPG_TRY(npg_strbuf_append_char(sb, '"'));
        NPG_TRY(append_float_json(sb, k.u.f));
        return npg_strbuf_append_char(sb, '"');
    default:
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "tojson: keys must be str, int, float, bool or None, not %s",
                        npg_tv_type_name(k));
    }
}

static int key_cmp(npg_tval a, npg_tval b) {
    if (a.kind == NPG_TV_STRING && b.kind == NPG_TV_STRING) {
        size_t n = a.u.s.n < b.u.s.n ? a.u.s.n : b.u.s.n;
        int c = memcmp(a.u.s.p, b.u.s.p, n);
        return c ? c : (a.u.s.n < b.u.s.n ? -1 : a.u.s.n > b.u.s.n);
    }
    double x = npg_tv_to_double(a), y = npg_tv_to_double(b);
    return x < y ? -1 : x > y;
}

static npg_status append_json(npg_strbuf *sb, npg_tval v, const json_opts *o, int level) {
    if (level > 256)
        return npg_fail(NPG_ERR_LIMIT, "tojson: nesting deeper than 256 levels");
    switch (v.kind) {
    case NPG_TV_NONE: return npg_strbuf_append_str(sb, "null");
    case NPG_TV_BOOL: return npg_strbuf_append_str(sb, v.u.b ? "true" : "false");
    case NPG_TV_INT: return npg_strbuf_printf(sb, "%lld", (long long)v.u.i);
    case NPG_TV_FLOAT: return append_float_json(sb, v.u.f);
    case NPG_TV_STRING: return append_json_string(sb, v.u.s.p, v.u.s.n);
    case NPG_TV_LIST:
    case NPG_TV_TUPLE: {
        const npg_tlist *l = v.u.list;
        if (l->n == 0)
            return npg_strbuf_append_str(sb, "[]");
        NPG_TRY(npg_strbuf_append_char(sb, '['));
        for (size_t i = 0; i < l->n; i++) {
            if (i)
                NPG_TRY(npg_strbuf_append(sb, o->item_sep.p, o->item_sep.n));
            if (o->indent)
                NPG_TRY(append_newline(sb, o, level + 1));
            NPG_TRY(append_json(sb, l->v[i], o, level + 1));
        }
        if (o->indent)
            NPG_TRY(append_newline(sb, o, level));
        return npg_strbuf_append_char(sb, ']');
    }
    case NPG_TV_DICT: {
        const npg_tdict *d = v.u.dict;
        if (d->n == 0)
            return npg_strbuf_append_str(sb, "{}");
        size_t *order = malloc(d->n * sizeof *order);
        NPG_CHECK_ALLOC(order);
        for (size_t i = 0; i < d->n; i++)
            order[i] = i;
        if (o->sort_keys) /* insertion sort keeps equal keys stable, as Python's sorted() */
            for (size_t i = 1; i < d->n; i++)
                for (size_t j = i; j > 0 && key_cmp(d->keys[order[j - 1]], d->keys[order[j]]) > 0; j--) {
                    size_t t = order[j];
                    order[j] = order[j - 1];
                    order[j - 1] = t;
                }
        npg_status st = npg_strbuf_append_char(sb, '{');
        for (size_t k = 0; k < d->n && st == NPG_OK; k++) {
            size_t i = order[k];
            if (k)
                st = npg_strbuf_append(sb, o->item_sep.p, o->item_sep.n);
            if (st == NPG_OK && o->indent)
                st = append_newline(sb, o, level + 1);
            if (st == NPG_OK)
                st = append_key(sb, d->keys[i]);
            if (st == NPG_OK)
                st = npg_strbuf_append(sb, o->key_sep.p, o->key_sep.n);
            if (st == NPG_OK)
                st = append_json(sb, d->vals[i], o, level + 1);
        }
        free(order);
        NPG_TRY(st);
        if (o->indent)
            NPG_TRY(append_newline(sb, o, level));
        return npg_strbuf_append_char(sb, '}');
    }
    default:
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "tojson: Object of type %s is not JSON serializable",
                        npg_tv_type_name(v));
    }
}

npg_status npg_tv_append_json(npg_strbuf *sb, npg_tval v, const char *indent, npg_tstr item_sep, npg_tstr key_sep,
                              bool sort_keys) {
    json_opts o = {indent, item_sep, key_sep, sort_keys};
    return append_json(sb, v, &o, 0);
}
