/* filters.c — the filter table and jinja2's string and number filters (trim, upper, tojson,
 * length, default, int, round, indent, format, ...), with Hugging Face's `tojson`
 * (json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)).
 * Sequence filters live in filters_seq.c. Every filter converts its input with str() where jinja2
 * does (soft_str), so `undefined | trim` is "". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/filters.h"
#include "template/text.h"

static npg_status bind(npg_trender *r, const char *filter, const npg_targs *a, const char *const *params, size_t n,
                       npg_tval *out) {
    return npg_tf_bind(r, filter, a, params, n, out);
}

static npg_status no_args(npg_trender *r, const char *filter, const npg_targs *a) {
    return bind(r, filter, a, NULL, 0, NULL);
}

static npg_status case_filter(npg_trender *r, const char *name, char mode, npg_tval in, const npg_targs *a,
                              npg_tval *out) {
    npg_tstr s;
    NPG_TRY(no_args(r, name, a));
    NPG_TRY(npg_tstring(r, in, &s));
    npg_strbuf sb = {0};
    npg_status st = npg_py_case(&sb, s, mode);
    if (st == NPG_OK)
        st = npg_tstr_from_sb(r, &sb, out);
    npg_strbuf_free(&sb);
    return st;
}

static npg_status f_upper(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    return case_filter(r, "upper", 'u', in, a, out);
}
static npg_status f_lower(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    return case_filter(r, "lower", 'l', in, a, out);
}
static npg_status f_capitalize(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    return case_filter(r, "capitalize", 'c', in, a, out);
}

/* jinja2's title: upper-case the first character of each run after [-\s({[<], lower the rest. */
static npg_status f_title(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    npg_tstr s;
    NPG_TRY(no_args(r, "title", a));
    NPG_TRY(npg_tstring(r, in, &s));
    npg_strbuf sb = {0};
    npg_status st = NPG_OK;
    bool start = true;
    uint32_t cp;
    for (size_t i = 0; i < s.n && st == NPG_OK;) {
        size_t k = npg_utf8_next(s.p + i, s.n - i, &cp);
        bool sep = cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' || npg_py_isspace(cp);
        npg_tstr one = {s.p + i, k};
        st = sep ? npg_strbuf_append(&sb, one.p, one.n) : npg_py_case(&sb, one, start ? 'u' : 'l');
        start = sep;
        i += k;
    }
    if (st == NPG_OK)
        st = npg_tstr_from_sb(r, &sb, out);
    npg_strbuf_free(&sb);
    return st;
}

static npg_status f_trim(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"chars"};
    npg_tval p[1];
    npg_tstr s, chars;
    NPG_TRY(bind(r, "trim", a, params, 1, p));
    NPG_TRY(npg_tstring(r, in, &s));
    bool have = npg_targ_given(p[0]) && p[0].kind != NPG_TV_NONE;
    if (have)
        NPG_TRY(npg_tstring(r, p[0], &chars));
    npg_tstr t = npg_py_strip(s, have ? &chars : NULL, true, true);
    *out = npg_tv_str(t.p, t.n);
    return NPG_OK;
}

/* Calls the str method `name` on str(in) with the filter's arguments. */
static npg_status via_method(npg_trender *r, const char *name, npg_tval in, const npg_targs *a, npg_tval *out) {
    npg_tstr s;
    NPG_TRY(npg_tstring(r, in, &s));
    npg_tfunc fn = {.kind = NPG_FN_METHOD, .name = {name, strlen(name)}, .self = npg_tv_str(s.p, s.n)};
    return npg_tmethod_call(r, &fn, a, out);
}

static npg_status f_replace(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"old", "new", "count"};
    npg_tval p[3];
    NPG_TRY(bind(r, "replace", a, params, 3, p));
    npg_tval pos[3] = {p[0], p[1], p[2]};
    npg_targs b = {.pos = pos, .n_pos = npg_targ_given(p[2]) && p[2].kind != NPG_TV_NONE ? 3 : 2};
    for (size_t i = 0; i < 2; i++)
        if (!npg_targ_given(pos[i]))
            return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "filter 'replace' needs old and new strings");
    return via_method(r, "replace", in, &b, out);
}

static npg_status f_center(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"width"};
    npg_tval p[1];
    NPG_TRY(bind(r, "center", a, params, 1, p));
    npg_tval w = npg_targ_given(p[0]) ? p[0] : npg_tv_int(80);
    npg_targs b = {.pos = &w, .n_pos = 1};
    return via_method(r, "center", in, &b, out);
}

/* jinja2's truncate(s, length=255, killwords=False, end='...', leeway=5), lengths in code points. */
static npg_status f_truncate(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"length", "killwords", "end", "leeway"};
    npg_tval p[4];
    npg_tstr s, end = {"...", 3};
    NPG_TRY(bind(r, "truncate", a, params, 4, p));
    if (in.kind != NPG_TV_STRING && in.kind != NPG_TV_UNDEFINED) /* jinja2 takes len() of the value as it is */
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "filter 'truncate': object of type '%s' has no len()",
                           npg_tv_type_name(in));
    NPG_TRY(npg_tstring(r, in, &s));
    int64_t length = p[0].kind == NPG_TV_INT ? p[0].u.i : 255, leeway = p[3].kind == NPG_TV_INT ? p[3].u.i : 5;
    if (p[2].kind == NPG_TV_STRING)
        end = p[2].u.s;
    int64_t end_len = (int64_t)npg_utf8_len(end.p, end.n), n = (int64_t)npg_utf8_len(s.p, s.n);
    if (length < end_len || leeway < 0)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT,
                           "filter 'truncate': length must be at least len(end), leeway >= 0");
    if (n <= length + leeway) {
        *out = npg_tv_str(s.p, s.n);
        return NPG_OK;
    }
    npg_tstr head = {s.p, npg_utf8_offset(s.p, s.n, (size_t)(length - end_len))};
    if (!npg_tv_truthy(p[1])) { /* drop the last partial word: s[:k].rsplit(" ", 1)[0] */
        int64_t sp = npg_bytes_find(head, (npg_tstr){" ", 1}, 0, head.n, true);
        if (sp >= 0)
            head.n = (size_t)sp;
    }
    npg_strbuf sb = {0};
    npg_status st = npg_strbuf_append(&sb, head.p, head.n);
    if (st == NPG_OK)
        st = npg_strbuf_append(&sb, end.p, end.n);
    if (st == NPG_OK)
        st = npg_tstr_from_sb(r, &sb, out);
    npg_strbuf_free(&sb);
    return st;
}

static npg_status f_length(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    int64_t n;
    NPG_TRY(no_args(r, "length", a));
    NPG_TRY(npg_tlength(r, in, &n));
    *out = npg_tv_int(n);
    return NPG_OK;
}

static npg_status f_string(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    npg_tstr s;
    NPG_TRY(no_args(r, "string", a));
    NPG_TRY(npg_tstring(r, in, &s));
    *out = npg_tv_str(s.p, s.n);
    return NPG_OK;
}

static npg_status f_safe(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    NPG_TRY(no_args(r, "safe", a));
    *out = in;
    return NPG_OK;
}

static npg_status f_list(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    NPG_TRY(no_args(r, "list", a));
    npg_tval items;
    NPG_TRY(npg_titerate(r, in, "list", &items));
    /* a fresh list: the result must not alias the input's storage */
    NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_LIST, items.u.list->n, out));
    for (size_t i = 0; i < items.u.list->n; i++)
        NPG_TRY(npg_tlist_push(r->arena, out->u.list, items.u.list->v[i]));
    return NPG_OK;
}

static npg_status first_last(npg_trender *r, const char *name, bool last, npg_tval in, const npg_targs *a,
                             npg_tval *out) {
    NPG_TRY(no_args(r, name, a));
    npg_tval items;
    NPG_TRY(npg_titerate(r, in, name, &items));
    size_t n = items.u.list->n;
    *out = n ? items.u.list->v[last ? n - 1 : 0] : npg_tv_undef("", 0, NULL);
    return NPG_OK;
}

static npg_status f_first(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    return first_last(r, "first", false, in, a, out);
}
static npg_status f_last(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    return first_last(r, "last", true, in, a, out);
}

static npg_status f_reverse(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    NPG_TRY(no_args(r, "reverse", a));
    if (in.kind == NPG_TV_STRING) {
        npg_tval none = npg_tv_none();
        return npg_tslice(r, in, none, none, npg_tv_int(-1), out);
    }
    npg_tval items;
    NPG_TRY(npg_titerate(r, in, "reverse", &items));
    NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_LIST, items.u.list->n, out));
    for (size_t i = items.u.list->n; i-- > 0;)
        NPG_TRY(npg_tlist_push(r->arena, out->u.list, items.u.list->v[i]));
    return NPG_OK;
}

static npg_status f_items(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    NPG_TRY(no_args(r, "items", a));
    if (in.kind == NPG_TV_UNDEFINED)
        return npg_tv_new_list(r->arena, NPG_TV_LIST, 0, out);
    if (in.kind != NPG_TV_DICT && in.kind != NPG_TV_NAMESPACE)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT,
                           "filter 'items': can only get item pairs from a mapping, not %s", npg_tv_type_name(in));
    npg_tval d = in;
    d.kind = NPG_TV_DICT;
    npg_tfunc fn = {.kind = NPG_FN_METHOD, .name = {"items", 5}, .self = d};
    npg_targs none = {0};
    return npg_tmethod_call(r, &fn, &none, out);
}

static npg_status f_default(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"default_value", "boolean"};
    npg_tval p[2];
    NPG_TRY(bind(r, "default", a, params, 2, p));
    bool use = in.kind == NPG_TV_UNDEFINED || (npg_tv_truthy(p[1]) && !npg_tv_truthy(in));
    *out = use ? (npg_targ_given(p[0]) ? p[0] : npg_tv_str("", 0)) : in;
    return NPG_OK;
}

static npg_status f_attr(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"name"};
    npg_tval p[1];
    NPG_TRY(bind(r, "attr", a, params, 1, p));
    if (p[0].kind != NPG_TV_STRING)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "filter 'attr' needs an attribute name string");
    return npg_tgetattr(r, in, p[0].u.s, out);
}

static npg_status f_abs(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    NPG_TRY(no_args(r, "abs", a));
    switch (in.kind) {
    case NPG_TV_BOOL: *out = npg_tv_int(in.u.b); return NPG_OK;
    case NPG_TV_INT:
        if (in.u.i == INT64_MIN)
            return npg_tr_fail(r, NPG_ERR_LIMIT, "integer overflow in abs");
        *out = npg_tv_int(in.u.i < 0 ? -in.u.i : in.u.i);
        return NPG_OK;
    case NPG_TV_FLOAT: *out = npg_tv_float(fabs(in.u.f)); return NPG_OK;
    case NPG_TV_UNDEFINED: return npg_tr_undefined_error(r, in);
    default: return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "bad operand type for abs(): '%s'", npg_tv_type_name(in));
    }
}

/* Python float(str): surrounding whitespace allowed, underscores between digits, inf/nan. */
static bool parse_float(npg_tstr s, double *out) {
    npg_tstr t = npg_py_strip(s, NULL, true, true);
    char buf[128];
    size_t k = 0;
    if (t.n == 0 || t.n >= sizeof buf)
        return false;
    for (size_t i = 0; i < t.n; i++)
        if (t.p[i] != '_')
            buf[k++] = t.p[i];
    buf[k] = '\0';
    char *end;
    *out = strtod(buf, &end);
    return end == buf + k && (k == 0 || (buf[0] != '0' || k == 1 || (buf[1] != 'x' && buf[1] != 'X')));
}

static npg_status f_float(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"default"};
    npg_tval p[1];
    NPG_TRY(bind(r, "float", a, params, 1, p));
    double f;
    if (npg_tv_is_number(in))
        *out = npg_tv_float(npg_tv_to_double(in));
    else if (in.kind == NPG_TV_STRING && parse_float(in.u.s, &f))
        *out = npg_tv_float(f);
    else
        *out = npg_targ_given(p[0]) ? p[0] : npg_tv_float(0.0);
    return NPG_OK;
}

static npg_status f_int(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"default", "base"};
    npg_tval p[2];
    NPG_TRY(bind(r, "int", a, params, 2, p));
    npg_tval def = npg_targ_given(p[0]) ? p[0] : npg_tv_int(0);
    int base = p[1].kind == NPG_TV_INT ? (int)p[1].u.i : 10;
    if (in.kind == NPG_TV_INT || in.kind == NPG_TV_BOOL) {
        *out = npg_tv_int(in.kind == NPG_TV_BOOL ? in.u.b : in.u.i);
        return NPG_OK;
    }
    if (in.kind == NPG_TV_FLOAT) {
        *out = isfinite(in.u.f) && fabs(in.u.f) < 9.2e18 ? npg_tv_int((int64_t)in.u.f) : def;
        return NPG_OK;
    }
    *out = def;
    if (in.kind != NPG_TV_STRING)
        return NPG_OK;
    npg_tstr t = npg_py_strip(in.u.s, NULL, true, true);
    char buf[128];
    size_t k = 0;
    for (size_t i = 0; i < t.n && k + 1 < sizeof buf; i++)
        if (t.p[i] != '_')
            buf[k++] = t.p[i];
    buf[k] = '\0';
    if (k == 0 || base < 2 || base > 36)
        return NPG_OK;
    char *end;
    long long v = strtoll(buf, &end, base);
    if (end == buf + k) {
        *out = npg_tv_int(v);
        return NPG_OK;
    }
    double f; /* jinja2 falls back to int(float(value)) */
    if (base == 10 && parse_float(t, &f) && isfinite(f) && fabs(f) < 9.2e18)
        *out = npg_tv_int((int64_t)f);
    return NPG_OK;
}

static npg_status f_round(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"precision", "method"};
    npg_tval p[2];
    NPG_TRY(bind(r, "round", a, params, 2, p));
    int64_t prec = p[0].kind == NPG_TV_INT ? p[0].u.i : 0;
    char method = 'c';
    if (npg_targ_given(p[1])) {
        npg_tstr m = p[1].kind == NPG_TV_STRING ? p[1].u.s : (npg_tstr){"", 0};
        method = (m.n == 6 && memcmp(m.p, "common", 6) == 0)  ? 'c'
                 : (m.n == 4 && memcmp(m.p, "ceil", 4) == 0)  ? 'u'
                 : (m.n == 5 && memcmp(m.p, "floor", 5) == 0) ? 'd'
                                                              : 0;
        if (!method)
            return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "filter 'round': method must be common, ceil or floor");
    }
    if (!npg_tv_is_number(in))
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "filter 'round' needs a number, got '%s'",
                           npg_tv_type_name(in));
    if (method == 'c' && in.kind != NPG_TV_FLOAT && prec >= 0) { /* round(int, n) stays an int */
        *out = npg_tv_int(in.kind == NPG_TV_BOOL ? in.u.b : in.u.i);
        return NPG_OK;
    }
    if (prec > 300 || prec < -300)
        prec = prec > 0 ? 300 : -300;
    double x = npg_tv_to_double(in), scale = pow(10.0, (double)prec), y = x * scale;
    if (method == 'c' && prec >= 0 && isfinite(x)) {
        /* Python's round(): correctly rounded from the exact binary value, ties to even —
         * what printf's %.Nf does (round(2.675, 2) is 2.67, not 2.68) */
        char buf[512];
        snprintf(buf, sizeof buf, "%.*f", (int)(prec > 100 ? 100 : prec), x);
        *out = npg_tv_float(strtod(buf, NULL));
        return NPG_OK;
    }
    y = method == 'c' ? nearbyint(y) : method == 'u' ? ceil(y) : floor(y);
    *out = npg_tv_float(y / scale);
    return NPG_OK;
}

static npg_status f_escape(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    npg_tstr s;
    NPG_TRY(no_args(r, "escape", a));
    NPG_TRY(npg_tstring(r, in, &s));
    npg_strbuf sb = {0};
    npg_status st = NPG_OK;
    for (size_t i = 0; i < s.n && st == NPG_OK; i++) {
        const char *e = s.p[i] == '&'    ? "&amp;"
                        : s.p[i] == '<'  ? "&lt;"
                        : s.p[i] == '>'  ? "&gt;"
                        : s.p[i] == '"'  ? "&#34;"
                        : s.p[i] == '\'' ? "&#39;"
                                         : NULL;
        st = e ? npg_strbuf_append_str(&sb, e) : npg_strbuf_append_char(&sb, s.p[i]);
    }
    if (st == NPG_OK)
        st = npg_tstr_from_sb(r, &sb, out);
    npg_strbuf_free(&sb);
    return st;
}

static npg_status f_wordcount(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    npg_tstr s;
    NPG_TRY(no_args(r, "wordcount", a));
    NPG_TRY(npg_tstring(r, in, &s));
    int64_t n = 0;
    bool in_word = false;
    uint32_t cp;
    for (size_t i = 0; i < s.n;) {
        size_t k = npg_utf8_next(s.p + i, s.n - i, &cp);
        npg_tstr one = {s.p + i, k};
        bool w = cp == '_' || npg_py_is(one, 'n');
        n += w && !in_word;
        in_word = w;
        i += k;
    }
    *out = npg_tv_int(n);
    return NPG_OK;
}

static npg_status f_indent(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"width", "first", "blank"};
    npg_tval p[3];
    npg_tstr s, ind = {"    ", 4};
    NPG_TRY(bind(r, "indent", a, params, 3, p));
    NPG_TRY(npg_tstring(r, in, &s));
    npg_strbuf pad = {0}, sb = {0};
    npg_status st = NPG_OK;
    if (p[0].kind == NPG_TV_STRING) {
        ind = p[0].u.s;
    } else if (p[0].kind == NPG_TV_INT) {
        for (int64_t i = 0; i < p[0].u.i && i < 4096 && st == NPG_OK; i++)
            st = npg_strbuf_append_char(&pad, ' ');
        ind = (npg_tstr){pad.data ? pad.data : "", pad.len};
    }
    bool first = npg_tv_truthy(p[1]), blank = npg_tv_truthy(p[2]);
    if (first && st == NPG_OK)
        st = npg_strbuf_append(&sb, ind.p, ind.n);
    /* lines as str.splitlines() on s + "\n": the segments between line breaks of s, the last one
     * included even when empty (so a trailing newline survives) */
    size_t b = 0;
    for (bool line0 = true; st == NPG_OK; line0 = false) {
        size_t e = b;
        while (e < s.n && s.p[e] != '\n' && s.p[e] != '\r')
            e++;
        if (!line0) {
            st = npg_strbuf_append_char(&sb, '\n');
            if (st == NPG_OK && (blank || e > b))
                st = npg_strbuf_append(&sb, ind.p, ind.n);
        }
        if (st == NPG_OK)
            st = npg_strbuf_append(&sb, s.p + b, e - b);
        if (e >= s.n)
            break;
        b = e + 1 + (s.p[e] == '\r' && e + 1 < s.n && s.p[e + 1] == '\n');
    }
    if (st == NPG_OK)
        st = npg_tstr_from_sb(r, &sb, out);
    npg_strbuf_free(&sb);
    npg_strbuf_free(&pad);
    return st;
}

static npg_status f_tojson(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"ensure_ascii", "indent", "separators", "sort_keys"};
    npg_tval p[4];
    NPG_TRY(bind(r, "tojson", a, params, 4, p));
    if (npg_tv_truthy(p[0]))
        return npg_tr_fail(r, NPG_ERR_UNSUPPORTED, "filter 'tojson': ensure_ascii=true is not supported");
    npg_strbuf ind = {0}, sb = {0};
    npg_status st = NPG_OK;
    const char *indent = NULL;
    if (p[1].kind == NPG_TV_INT) {
        for (int64_t i = 0; i < p[1].u.i && i < 256 && st == NPG_OK; i++)
            st = npg_strbuf_append_char(&ind, ' ');
        indent = ind.data ? ind.data : "";
    } else if (p[1].kind == NPG_TV_STRING) {
        st = npg_strbuf_append(&ind, p[1].u.s.p, p[1].u.s.n);
        indent = ind.data ? ind.data : "";
    }
    npg_tstr item_sep = indent ? (npg_tstr){",", 1} : (npg_tstr){", ", 2}, key_sep = {": ", 2};
    if (p[2].kind == NPG_TV_LIST || p[2].kind == NPG_TV_TUPLE) {
        if (p[2].u.list->n != 2 || p[2].u.list->v[0].kind != NPG_TV_STRING || p[2].u.list->v[1].kind != NPG_TV_STRING)
            st = npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "filter 'tojson': separators must be two strings");
        else {
            item_sep = p[2].u.list->v[0].u.s;
            key_sep = p[2].u.list->v[1].u.s;
        }
    }
    if (st == NPG_OK) {
        st = npg_tv_append_json(&sb, in, indent, item_sep, key_sep, npg_tv_truthy(p[3]));
        if (st != NPG_OK)
            st = npg_tr_fail(r, st, "%s", npg_last_error());
    }
    if (st == NPG_OK)
        st = npg_tstr_from_sb(r, &sb, out);
    npg_strbuf_free(&sb);
    npg_strbuf_free(&ind);
    return st;
}

/* ---- Python %-formatting (the `format` filter and `'...' % x`) ---- */

static npg_status percent_format(npg_trender *r, npg_tstr f, const npg_targs *a, npg_tval *out) {
    npg_strbuf sb = {0};
    npg_status st = NPG_OK;
    size_t next = 0;
    const npg_tdict *named = (a->n_pos == 1 && a->pos[0].kind == NPG_TV_DICT) ? a->pos[0].u.dict : NULL;
    for (size_t i = 0; i < f.n && st == NPG_OK;) {
        if (f.p[i] != '%') {
            const char *pc = memchr(f.p + i, '%', f.n - i);
            size_t e = pc ? (size_t)(pc - f.p) : f.n;
            st = npg_strbuf_append(&sb, f.p + i, e - i);
            i = e;
            continue;
        }
        size_t j = i + 1;
        npg_tval v = npg_tv_undef(NULL, 0, NULL);
        bool have = false;
        if (j < f.n && f.p[j] == '(') { /* %(name)s */
            const char *close = memchr(f.p + j, ')', f.n - j);
            if (!close || !named) {
                st = npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "format requires a mapping");
                break;
            }
            const npg_tval *pv = npg_tdict_get_str(named, f.p + j + 1, (size_t)(close - f.p) - j - 1);
            if (!pv) {
                st = npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "format: key '%.*s' not found",
                                 (int)((size_t)(close - f.p) - j - 1), f.p + j + 1);
                break;
            }
            v = *pv;
            have = true;
            j = (size_t)(close - f.p) + 1;
        }
        char spec[32] = "%";
        size_t k = 1;
        long num = 0, widest = 0; /* a width or precision; bounded so '%999999999d' cannot allocate GBs */
        while (j < f.n && f.p[j] && strchr("-+ #0123456789.", f.p[j]) && k + 5 < sizeof spec) {
            num = (f.p[j] >= '0' && f.p[j] <= '9') ? num * 10 + (f.p[j] - '0') : 0;
            widest = num > widest ? num : widest;
            spec[k++] = f.p[j++];
        }
        if (widest > 4096) {
            st = npg_tr_fail(r, NPG_ERR_LIMIT, "format: width or precision above 4096");
            break;
        }
        if (j >= f.n) {
            st = npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "format: incomplete format");
            break;
        }
        char conv = f.p[j++];
        if (conv == '%') {
            st = npg_strbuf_append_char(&sb, '%');
            i = j;
            continue;
        }
        if (!have) {
            if (named || next >= a->n_pos) {
                st = npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "not enough arguments for format string");
                break;
            }
            v = a->pos[next++];
        }
        if (conv == 's' || conv == 'r') {
            npg_strbuf tmp = {0};
            st = conv == 's' ? npg_tv_append_str(&tmp, v) : npg_tv_append_repr(&tmp, v);
            spec[k++] = 's';
            spec[k] = '\0';
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
            if (st == NPG_OK)
                st = npg_strbuf_printf(&sb, spec, tmp.data ? tmp.data : "");
            npg_strbuf_free(&tmp);
        } else if (strchr("dixXo", conv) && npg_tv_is_number(v)) {
            spec[k++] = 'l';
            spec[k++] = 'l';
            spec[k++] = conv == 'i' ? 'd' : conv;
            spec[k] = '\0';
            st = npg_strbuf_printf(&sb, spec,
                                   (long long)(v.kind == NPG_TV_FLOAT  ? (int64_t)v.u.f
                                               : v.kind == NPG_TV_BOOL ? v.u.b
                                                                       : v.u.i));
        } else if (strchr("eEfFgG", conv) && npg_tv_is_number(v)) {
            spec[k++] = conv;
            spec[k] = '\0';
            st = npg_strbuf_printf(&sb, spec, npg_tv_to_double(v));
#pragma GCC diagnostic pop
        } else {
            st = npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "format: unsupported conversion '%%%c' for %s", conv,
                             npg_tv_type_name(v));
        }
        i = j;
    }
    if (st == NPG_OK && !named && next < a->n_pos)
        st = npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "not all arguments converted during string formatting");
    if (st == NPG_OK)
        st = npg_tstr_from_sb(r, &sb, out);
    npg_strbuf_free(&sb);
    return st;
}

static npg_status f_format(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    npg_tstr s;
    NPG_TRY(npg_tstring(r, in, &s));
    if (a->n_pos && a->n_kw)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT,
                           "filter 'format': can't handle positional and keyword arguments");
    if (a->n_kw) {
        npg_tval d;
        NPG_TRY(npg_tv_new_dict(r->arena, NPG_TV_DICT, a->n_kw, &d));
        for (size_t i = 0; i < a->n_kw; i++)
            NPG_TRY(npg_tdict_set(r->arena, d.u.dict, npg_tv_str(a->kw_names[i].p, a->kw_names[i].n), a->kw[i]));
        npg_targs b = {.pos = &d, .n_pos = 1};
        return percent_format(r, s, &b, out);
    }
    return percent_format(r, s, a, out);
}

static const struct {
    const char *name;
    npg_tfilter_fn fn;
} filters[] = {
    {"abs", f_abs},
    {"attr", f_attr},
    {"batch", npg_tf_batch},
    {"capitalize", f_capitalize},
    {"center", f_center},
    {"count", f_length},
    {"d", f_default},
    {"default", f_default},
    {"dictsort", npg_tf_dictsort},
    {"e", f_escape},
    {"escape", f_escape},
    {"first", f_first},
    {"float", f_float},
    {"format", f_format},
    {"indent", f_indent},
    {"int", f_int},
    {"items", f_items},
    {"join", npg_tf_join},
    {"last", f_last},
    {"length", f_length},
    {"list", f_list},
    {"lower", f_lower},
    {"map", npg_tf_map},
    {"max", npg_tf_max},
    {"min", npg_tf_min},
    {"reject", npg_tf_reject},
    {"rejectattr", npg_tf_rejectattr},
    {"replace", f_replace},
    {"reverse", f_reverse},
    {"round", f_round},
    {"safe", f_safe},
    {"select", npg_tf_select},
    {"selectattr", npg_tf_selectattr},
    {"sort", npg_tf_sort},
    {"string", f_string},
    {"sum", npg_tf_sum},
    {"title", f_title},
    {"tojson", f_tojson},
    {"trim", f_trim},
    {"truncate", f_truncate},
    {"unique", npg_tf_unique},
    {"upper", f_upper},
    {"wordcount", f_wordcount},
};

int npg_tfilter_lookup(const char *name, size_t n) {
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        if (strlen(filters[i].name) == n && memcmp(filters[i].name, name, n) == 0)
            return (int)i;
    return -1;
}

npg_status npg_tfilter_apply(npg_trender *r, int fid, npg_tval in, const npg_targs *args, npg_tval *out) {
    if (fid < 0 || (size_t)fid >= sizeof filters / sizeof filters[0])
        return npg_tr_fail(r, NPG_ERR_INTERNAL, "bad filter index %d", fid);
    return filters[fid].fn(r, in, args, out);
}
