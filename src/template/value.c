/* value.c — the arena, containers and Python semantics of template values (see value.h). */
#include "template/value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "template/text.h"

/* ---- arena: a list of chunks; small allocations bump inside the current chunk, large ones get a
 * chunk of their own (inserted behind the current one so the current chunk keeps filling). ---- */

enum { ARENA_CHUNK = 64 * 1024, ARENA_ALIGN = 16 };

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} arena_chunk;

/* One render may not hold more than this: a runaway template fails with "out of memory" long
 * before the machine does. */
enum { ARENA_MAX_BYTES = 512 << 20 };

struct npg_tarena {
    arena_chunk *head; /* current chunk (bump allocation happens here) */
    size_t total;      /* bytes of all chunks */
};

npg_status npg_tarena_create(npg_tarena **out) {
    npg_tarena *a = calloc(1, sizeof *a);
    NPG_CHECK_ALLOC(a);
    *out = a;
    return NPG_OK;
}

void npg_tarena_free(npg_tarena *a) {
    if (!a)
        return;
    for (arena_chunk *c = a->head; c;) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

void *npg_tarena_alloc(npg_tarena *a, size_t n) {
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - ARENA_ALIGN - sizeof(arena_chunk))
        return NULL;
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    arena_chunk *c = a->head;
    if (c && c->cap - c->used >= n) {
        void *p = c->data + c->used;
        c->used += n;
        return p;
    }
    size_t cap = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;
    if (cap > ARENA_MAX_BYTES - a->total)
        return NULL;
    arena_chunk *nc = calloc(1, sizeof *nc + cap);
    if (!nc)
        return NULL;
    a->total += cap;
    nc->cap = cap;
    nc->used = n;
    if (cap == n && c) {
        /* a dedicated chunk: keep bumping in the current one */
        nc->next = c->next;
        c->next = nc;
    } else {
        nc->next = c;
        a->head = nc;
    }
    return nc->data;
}

char *npg_tarena_strndup(npg_tarena *a, const char *s, size_t n) {
    char *p = npg_tarena_alloc(a, n + 1);
    if (p && n)
        memcpy(p, s, n);
    return p;
}

/* ---- containers ---- */

npg_status npg_tv_new_list(npg_tarena *a, npg_tv_kind kind, size_t reserve, npg_tval *out) {
    npg_tlist *l = npg_tarena_alloc(a, sizeof *l);
    NPG_CHECK_ALLOC(l);
    if (reserve) {
        l->v = npg_tarena_alloc(a, reserve * sizeof *l->v);
        NPG_CHECK_ALLOC(l->v);
        l->cap = reserve;
    }
    out->kind = kind;
    out->u.list = l;
    return NPG_OK;
}

npg_status npg_tv_new_dict(npg_tarena *a, npg_tv_kind kind, size_t reserve, npg_tval *out) {
    npg_tdict *d = npg_tarena_alloc(a, sizeof *d);
    NPG_CHECK_ALLOC(d);
    if (reserve) {
        d->keys = npg_tarena_alloc(a, reserve * sizeof *d->keys);
        d->vals = npg_tarena_alloc(a, reserve * sizeof *d->vals);
        NPG_CHECK_ALLOC(d->keys && d->vals);
        d->cap = reserve;
    }
    out->kind = kind;
    out->u.dict = d;
    return NPG_OK;
}

npg_status npg_tlist_push(npg_tarena *a, npg_tlist *l, npg_tval v) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        npg_tval *nv = npg_tarena_alloc(a, cap * sizeof *nv);
        NPG_CHECK_ALLOC(nv);
        if (l->n)
            memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = v;
    return NPG_OK;
}

npg_tval *npg_tdict_get(const npg_tdict *d, npg_tval key) {
    for (size_t i = 0; i < d->n; i++)
        if (npg_tv_eq(d->keys[i], key))
            return &d->vals[i];
    return NULL;
}

npg_tval *npg_tdict_get_str(const npg_tdict *d, const char *key, size_t n) {
    for (size_t i = 0; i < d->n; i++) {
        const npg_tval *k = &d->keys[i];
        if (k->kind == NPG_TV_STRING && k->u.s.n == n && memcmp(k->u.s.p, key, n) == 0)
            return &d->vals[i];
    }
    return NULL;
}

npg_status npg_tdict_set(npg_tarena *a, npg_tdict *d, npg_tval key, npg_tval val) {
    npg_tval *slot = npg_tdict_get(d, key);
    if (slot) {
        *slot = val;
        return NPG_OK;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 4;
        npg_tval *nk = npg_tarena_alloc(a, cap * sizeof *nk);
        npg_tval *nv = npg_tarena_alloc(a, cap * sizeof *nv);
        NPG_CHECK_ALLOC(nk && nv);
        if (d->n) {
            memcpy(nk, d->keys, d->n * sizeof *nk);
            memcpy(nv, d->vals, d->n * sizeof *nv);
        }
        d->keys = nk;
        d->vals = nv;
        d->cap = cap;
    }
    d->keys[d->n] = key;
    d->vals[d->n] = val;
    d->n++;
    return NPG_OK;
}

npg_status npg_tv_strdup(npg_tarena *a, const char *p, size_t n, npg_tval *out) {
    char *c = npg_tarena_strndup(a, p, n);
    NPG_CHECK_ALLOC(c);
    *out = npg_tv_str(c, n);
    return NPG_OK;
}

/* ---- Python semantics ---- */

bool npg_tv_truthy(npg_tval v) {
    switch (v.kind) {
    case NPG_TV_UNDEFINED:
    case NPG_TV_NONE: return false;
    case NPG_TV_BOOL: return v.u.b;
    case NPG_TV_INT: return v.u.i != 0;
    case NPG_TV_FLOAT: return v.u.f != 0.0;
    case NPG_TV_STRING: return v.u.s.n != 0;
    case NPG_TV_LIST:
    case NPG_TV_TUPLE: return v.u.list->n != 0;
    case NPG_TV_DICT: return v.u.dict->n != 0;
    default: return true;
    }
}

bool npg_tv_is_number(npg_tval v) { return v.kind == NPG_TV_BOOL || v.kind == NPG_TV_INT || v.kind == NPG_TV_FLOAT; }

double npg_tv_to_double(npg_tval v) {
    switch (v.kind) {
    case NPG_TV_BOOL: return v.u.b ? 1.0 : 0.0;
    case NPG_TV_INT: return (double)v.u.i;
    case NPG_TV_FLOAT: return v.u.f;
    default: return 0.0;
    }
}

bool npg_tv_eq(npg_tval a, npg_tval b) {
    if (npg_tv_is_number(a) && npg_tv_is_number(b)) {
        if (a.kind != NPG_TV_FLOAT && b.kind != NPG_TV_FLOAT) {
            int64_t x = a.kind == NPG_TV_BOOL ? a.u.b : a.u.i;
            int64_t y = b.kind == NPG_TV_BOOL ? b.u.b : b.u.i;
            return x == y;
        }
        return npg_tv_to_double(a) == npg_tv_to_double(b);
    }
    if (a.kind != b.kind)
        return false;
    switch (a.kind) {
    case NPG_TV_UNDEFINED:
    case NPG_TV_NONE: return true;
    case NPG_TV_STRING: return a.u.s.n == b.u.s.n && memcmp(a.u.s.p, b.u.s.p, a.u.s.n) == 0;
    case NPG_TV_LIST:
    case NPG_TV_TUPLE:
        if (a.u.list->n != b.u.list->n)
            return false;
        for (size_t i = 0; i < a.u.list->n; i++)
            if (!npg_tv_eq(a.u.list->v[i], b.u.list->v[i]))
                return false;
        return true;
    case NPG_TV_DICT:
        if (a.u.dict->n != b.u.dict->n)
            return false;
        for (size_t i = 0; i < a.u.dict->n; i++) {
            const npg_tval *o = npg_tdict_get(b.u.dict, a.u.dict->keys[i]);
            if (!o || !npg_tv_eq(a.u.dict->vals[i], *o))
                return false;
        }
        return true;
    case NPG_TV_NAMESPACE: return a.u.dict == b.u.dict;
    case NPG_TV_MACRO: return a.u.macro == b.u.macro;
    case NPG_TV_FUNCTION: return a.u.fn == b.u.fn;
    case NPG_TV_LOOP: return a.u.loop == b.u.loop;
    default: return false;
    }
}

const char *npg_tv_type_name(npg_tval v) {
    switch (v.kind) {
    case NPG_TV_UNDEFINED: return "Undefined";
    case NPG_TV_NONE: return "NoneType";
    case NPG_TV_BOOL: return "bool";
    case NPG_TV_INT: return "int";
    case NPG_TV_FLOAT: return "float";
    case NPG_TV_STRING: return "str";
    case NPG_TV_LIST: return "list";
    case NPG_TV_TUPLE: return "tuple";
    case NPG_TV_DICT: return "dict";
    case NPG_TV_NAMESPACE: return "Namespace";
    case NPG_TV_MACRO: return "Macro";
    case NPG_TV_FUNCTION: return "function";
    case NPG_TV_LOOP: return "LoopContext";
    }
    return "object";
}

/* ---- formatting ---- */

npg_status npg_tv_append_float(npg_strbuf *sb, double f) {
    if (isnan(f))
        return npg_strbuf_append_str(sb, "nan");
    if (isinf(f))
        return npg_strbuf_append_str(sb, f < 0 ? "-inf" : "inf");
    /* the shortest %e rendering that reads back to the same double, as Python's repr */
    char e[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, f);
        if (strtod(e, NULL) == f)
            break;
    }
    /* e = [-]d[.ddd]e[+-]XX */
    const char *p = e;
    bool neg = *p == '-';
    if (neg)
        p++;
    char digits[24];
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    int exp10 = atoi(p + 1);
    int decpt = exp10 + 1;
    if (neg)
        NPG_TRY(npg_strbuf_append_char(sb, '-'));
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            NPG_TRY(npg_strbuf_append_str(sb, "0."));
            for (int i = 0; i < -decpt; i++)
                NPG_TRY(npg_strbuf_append_char(sb, '0'));
            return npg_strbuf_append(sb, digits, nd);
        }
        if ((size_t)decpt >= nd) {
            NPG_TRY(npg_strbuf_append(sb, digits, nd));
            for (size_t i = nd; i < (size_t)decpt; i++)
                NPG_TRY(npg_strbuf_append_char(sb, '0'));
            return npg_strbuf_append_str(sb, ".0");
        }
        NPG_TRY(npg_strbuf_append(sb, digits, (size_t)decpt));
        NPG_TRY(npg_strbuf_append_char(sb, '.'));
        return npg_strbuf_append(sb, digits + decpt, nd - (size_t)decpt);
    }
    NPG_TRY(npg_strbuf_append(sb, digits, 1));
    if (nd > 1) {
        NPG_TRY(npg_strbuf_append_char(sb, '.'));
        NPG_TRY(npg_strbuf_append(sb, digits + 1, nd - 1));
    }
    return npg_strbuf_printf(sb, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
}

static bool py_printable(uint32_t cp) {
    if (cp < 0x20 || cp == 0x7F)
        return false;
    if (cp < 0x7F)
        return true;
    if (cp == 0xFFFFFFFFu)
        return false;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return !(c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CS ||
             c == UTF8PROC_CATEGORY_CO || c == UTF8PROC_CATEGORY_CN || c == UTF8PROC_CATEGORY_ZL ||
             c == UTF8PROC_CATEGORY_ZP || c == UTF8PROC_CATEGORY_ZS);
}

static npg_status append_str_repr(npg_strbuf *sb, npg_tstr s) {
    bool has_sq = memchr(s.p, '\'', s.n) != NULL, has_dq = memchr(s.p, '"', s.n) != NULL;
    char q = (has_sq && !has_dq) ? '"' : '\'';
    NPG_TRY(npg_strbuf_append_char(sb, q));
    uint32_t cp;
    for (size_t i = 0; i < s.n;) {
        size_t k = npg_utf8_next(s.p + i, s.n - i, &cp);
        if (cp == '\\' || cp == (uint32_t)q) {
            NPG_TRY(npg_strbuf_append_char(sb, '\\'));
            NPG_TRY(npg_strbuf_append_char(sb, (char)cp));
        } else if (cp == '\n') {
            NPG_TRY(npg_strbuf_append_str(sb, "\\n"));
        } else if (cp == '\r') {
            NPG_TRY(npg_strbuf_append_str(sb, "\\r"));
        } else if (cp == '\t') {
            NPG_TRY(npg_strbuf_append_str(sb, "\\t"));
        } else if (cp == 0xFFFFFFFFu) {
            NPG_TRY(npg_strbuf_printf(sb, "\\x%02x", (unsigned char)s.p[i]));
        } else if (!py_printable(cp)) {
            if (cp < 0x100)
                NPG_TRY(npg_strbuf_printf(sb, "\\x%02x", (unsigned)cp));
            else if (cp < 0x10000)
                NPG_TRY(npg_strbuf_printf(sb, "\\u%04x", (unsigned)cp));
            else
                NPG_TRY(npg_strbuf_printf(sb, "\\U%08x", (unsigned)cp));
        } else {
            NPG_TRY(npg_strbuf_append(sb, s.p + i, k));
        }
        i += k;
    }
    return npg_strbuf_append_char(sb, q);
}

static npg_status append_value(npg_strbuf *sb, npg_tval v, bool repr, int depth);

static npg_status append_dict_body(npg_strbuf *sb, const npg_tdict *d, int depth) {
    NPG_TRY(npg_strbuf_append_char(sb, '{'));
    for (size_t i = 0; i < d->n; i++) {
        if (i)
            NPG_TRY(npg_strbuf_append_str(sb, ", "));
        NPG_TRY(append_value(sb, d->keys[i], true, depth + 1));
        NPG_TRY(npg_strbuf_append_str(sb, ": "));
        NPG_TRY(append_value(sb, d->vals[i], true, depth + 1));
    }
    return npg_strbuf_append_char(sb, '}');
}

static npg_status append_value(npg_strbuf *sb, npg_tval v, bool repr, int depth) {
    if (depth > 64)
        return npg_strbuf_append_str(sb, "...");
    switch (v.kind) {
    case NPG_TV_UNDEFINED: return repr ? npg_strbuf_append_str(sb, "Undefined") : NPG_OK;
    case NPG_TV_NONE: return npg_strbuf_append_str(sb, "None");
    case NPG_TV_BOOL: return npg_strbuf_append_str(sb, v.u.b ? "True" : "False");
    case NPG_TV_INT: return npg_strbuf_printf(sb, "%lld", (long long)v.u.i);
    case NPG_TV_FLOAT: return npg_tv_append_float(sb, v.u.f);
    case NPG_TV_STRING: return repr ? append_str_repr(sb, v.u.s) : npg_strbuf_append(sb, v.u.s.p, v.u.s.n);
    case NPG_TV_LIST:
    case NPG_TV_TUPLE: {
        bool tuple = v.kind == NPG_TV_TUPLE;
        NPG_TRY(npg_strbuf_append_char(sb, tuple ? '(' : '['));
        for (size_t i = 0; i < v.u.list->n; i++) {
            if (i)
                NPG_TRY(npg_strbuf_append_str(sb, ", "));
            NPG_TRY(append_value(sb, v.u.list->v[i], true, depth + 1));
        }
        if (tuple && v.u.list->n == 1)
            NPG_TRY(npg_strbuf_append_char(sb, ','));
        return npg_strbuf_append_char(sb, tuple ? ')' : ']');
    }
    case NPG_TV_DICT: return append_dict_body(sb, v.u.dict, depth);
    case NPG_TV_NAMESPACE:
        NPG_TRY(npg_strbuf_append_str(sb, "<Namespace "));
        NPG_TRY(append_dict_body(sb, v.u.dict, depth));
        return npg_strbuf_append_char(sb, '>');
    case NPG_TV_MACRO: return npg_strbuf_append_str(sb, "<Macro>");
    case NPG_TV_FUNCTION: return npg_strbuf_append_str(sb, "<built-in function>");
    case NPG_TV_LOOP: return npg_strbuf_append_str(sb, "<LoopContext>");
    }
    return NPG_OK;
}

npg_status npg_tv_append_str(npg_strbuf *sb, npg_tval v) { return append_value(sb, v, false, 0); }

npg_status npg_tv_append_repr(npg_strbuf *sb, npg_tval v) { return append_value(sb, v, true, 0); }

npg_status npg_tv_to_string(npg_tarena *a, npg_tval v, npg_tstr *out) {
    if (v.kind == NPG_TV_STRING) {
        *out = v.u.s;
        return NPG_OK;
    }
    if (v.kind == NPG_TV_UNDEFINED) {
        out->p = "";
        out->n = 0;
        return NPG_OK;
    }
    npg_strbuf sb = {0};
    npg_status st = npg_tv_append_str(&sb, v);
    if (st == NPG_OK) {
        char *c = npg_tarena_strndup(a, sb.data ? sb.data : "", sb.len);
        if (!c)
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory formatting a template value");
        out->p = c;
        out->n = sb.len;
    }
    npg_strbuf_free(&sb);
    return st;
}
