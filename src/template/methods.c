/* methods.c — the Python methods templates call on values: str (strip, split, replace,
 * startswith, format, ...), dict (items, keys, values, get) and the read-only list methods
 * (index, count). Mutating methods (list.append, dict.update, ...) are absent, as in Hugging Face's
 * ImmutableSandboxedEnvironment, so looking them up gives Undefined and calling that is an error.
 *
 * Indices (find, index) count code points like Python, not UTF-8 bytes. */
#include <stdio.h>
#include <string.h>

#include "template/eval.h"
#include "template/text.h"

static const char *const str_methods[] = {
    "upper",   "lower",   "title",      "capitalize", "swapcase", "strip",        "lstrip",       "rstrip",
    "split",   "rsplit",  "replace",    "startswith", "endswith", "find",         "rfind",        "index",
    "rindex",  "count",   "join",       "format",     "isalpha",  "isdigit",      "isalnum",      "isupper",
    "islower", "isspace", "splitlines", "center",     "zfill",    "removeprefix", "removesuffix", NULL,
};
static const char *const dict_methods[] = {"items", "keys", "values", "get", NULL};
static const char *const list_methods[] = {"index", "count", NULL};

static bool is(npg_tstr s, const char *w) { return s.n == strlen(w) && memcmp(s.p, w, s.n) == 0; }

static bool in_table(const char *const *t, npg_tstr name) {
    for (size_t i = 0; t[i]; i++)
        if (is(name, t[i]))
            return true;
    return false;
}

bool npg_tmethod_lookup(npg_tval obj, npg_tstr name) {
    switch (obj.kind) {
    case NPG_TV_STRING: return in_table(str_methods, name);
    case NPG_TV_DICT: return in_table(dict_methods, name);
    case NPG_TV_LIST:
    case NPG_TV_TUPLE: return in_table(list_methods, name);
    default: return false;
    }
}

/* ---- helpers ---- */

typedef struct mcall {
    npg_trender *r;
    const char *name;
    const npg_targs *a;
} mcall;

static npg_status nargs(const mcall *m, size_t lo, size_t hi) {
    if (m->a->n_kw)
        return npg_tr_fail(m->r, NPG_ERR_INVALID_ARGUMENT, "%s() takes no keyword arguments", m->name);
    if (m->a->n_pos < lo || m->a->n_pos > hi)
        return npg_tr_fail(m->r, NPG_ERR_INVALID_ARGUMENT, "%s() takes %zu to %zu arguments (%zu given)", m->name, lo,
                           hi, m->a->n_pos);
    return NPG_OK;
}

static npg_status str_arg(const mcall *m, size_t i, npg_tstr *out) {
    npg_tval v = m->a->pos[i];
    if (v.kind == NPG_TV_UNDEFINED)
        return npg_tr_undefined_error(m->r, v);
    if (v.kind != NPG_TV_STRING)
        return npg_tr_fail(m->r, NPG_ERR_INVALID_ARGUMENT, "%s() argument %zu must be str, not %s", m->name, i + 1,
                           npg_tv_type_name(v));
    *out = v.u.s;
    return NPG_OK;
}

static npg_status int_arg(const mcall *m, size_t i, int64_t *out) {
    npg_tval v = m->a->pos[i];
    if (v.kind != NPG_TV_INT && v.kind != NPG_TV_BOOL)
        return npg_tr_fail(m->r, NPG_ERR_INVALID_ARGUMENT, "%s() argument %zu must be int, not %s", m->name, i + 1,
                           npg_tv_type_name(v));
    *out = v.kind == NPG_TV_BOOL ? v.u.b : v.u.i;
    return NPG_OK;
}

static npg_status push_str(npg_trender *r, npg_tval list, const char *p, size_t n) {
    return npg_tlist_push(r->arena, list.u.list, npg_tv_str(p, n));
}

/* str.split / str.rsplit (Python semantics, including sep=None whitespace runs). */
static npg_status do_split(const mcall *m, npg_tstr s, bool reverse, npg_tval *out) {
    NPG_TRY(nargs(m, 0, 2));
    npg_tstr sep = {NULL, 0};
    bool have_sep = m->a->n_pos >= 1 && m->a->pos[0].kind != NPG_TV_NONE;
    int64_t maxsplit = -1;
    if (have_sep) {
        NPG_TRY(str_arg(m, 0, &sep));
        if (sep.n == 0)
            return npg_tr_fail(m->r, NPG_ERR_INVALID_ARGUMENT, "%s(): empty separator", m->name);
    }
    if (m->a->n_pos == 2)
        NPG_TRY(int_arg(m, 1, &maxsplit));
    npg_tval parts;
    NPG_TRY(npg_tv_new_list(m->r->arena, NPG_TV_LIST, 0, &parts));
    /* collect pieces as (start,end) ranges in order of discovery, then reverse for rsplit */
    npg_tval ranges;
    NPG_TRY(npg_tv_new_list(m->r->arena, NPG_TV_LIST, 0, &ranges));
    int64_t splits = 0;
    if (have_sep) {
        size_t b = 0, e = s.n;
        while (maxsplit < 0 || splits < maxsplit) {
            int64_t at = npg_bytes_find(s, sep, b, e, reverse);
            if (at < 0)
                break;
            if (reverse) {
                NPG_TRY(push_str(m->r, ranges, s.p + at + sep.n, e - (size_t)at - sep.n));
                e = (size_t)at;
            } else {
                NPG_TRY(push_str(m->r, ranges, s.p + b, (size_t)at - b));
                b = (size_t)at + sep.n;
            }
            splits++;
        }
        NPG_TRY(push_str(m->r, ranges, s.p + b, e - b));
    } else {
        /* Python strips only the side the splitting starts from: a remainder keeps its far side */
        npg_tstr rest = npg_py_strip(s, NULL, !reverse, reverse);
        while (rest.n) {
            if (maxsplit >= 0 && splits >= maxsplit) {
                NPG_TRY(push_str(m->r, ranges, rest.p, rest.n));
                break;
            }
            /* find the first (or last) whitespace run */
            size_t i = 0;
            uint32_t cp;
            if (!reverse) {
                while (i < rest.n) {
                    size_t k = npg_utf8_next(rest.p + i, rest.n - i, &cp);
                    if (npg_py_isspace(cp))
                        break;
                    i += k;
                }
                NPG_TRY(push_str(m->r, ranges, rest.p, i));
                npg_tstr tail = {rest.p + i, rest.n - i};
                rest = npg_py_strip(tail, NULL, true, false);
            } else {
                npg_tstr head = rest;
                size_t e = rest.n;
                /* scan backwards by stripping non-space from the right */
                while (e > 0) {
                    size_t st = e - 1;
                    while (st > 0 && e - st < 4 && ((unsigned char)rest.p[st] & 0xC0) == 0x80)
                        st--;
                    /* a lead byte counts only if its sequence ends exactly at e; else one invalid byte */
                    if (npg_utf8_next(rest.p + st, e - st, &cp) != e - st) {
                        st = e - 1;
                        npg_utf8_next(rest.p + st, 1, &cp);
                    }
                    if (npg_py_isspace(cp))
                        break;
                    e = st;
                }
                NPG_TRY(push_str(m->r, ranges, rest.p + e, rest.n - e));
                head.n = e;
                rest = npg_py_strip(head, NULL, false, true);
            }
            splits++;
        }
    }
    const npg_tlist *l = ranges.u.list;
    for (size_t i = 0; i < l->n; i++)
        NPG_TRY(npg_tlist_push(m->r->arena, parts.u.list, l->v[reverse ? l->n - 1 - i : i]));
    *out = parts;
    return NPG_OK;
}

static npg_status do_replace(const mcall *m, npg_tstr s, npg_tval *out) {
    NPG_TRY(nargs(m, 2, 3));
    npg_tstr old, rep;
    int64_t count = -1;
    NPG_TRY(str_arg(m, 0, &old));
    NPG_TRY(str_arg(m, 1, &rep));
    if (m->a->n_pos == 3)
        NPG_TRY(int_arg(m, 2, &count));
    npg_strbuf sb = {0};
    npg_status st = NPG_OK;
    size_t i = 0;
    int64_t done = 0;
    if (old.n == 0) {
        /* Python inserts `rep` before every code point and at the end */
        uint32_t cp;
        while (st == NPG_OK && (count < 0 || done < count) && i <= s.n) {
            st = npg_strbuf_append(&sb, rep.p, rep.n);
            done++;
            if (i == s.n) {
                i++;
                break;
            }
            size_t k = npg_utf8_next(s.p + i, s.n - i, &cp);
            if (st == NPG_OK)
                st = npg_strbuf_append(&sb, s.p + i, k);
            i += k;
        }
        if (st == NPG_OK && i < s.n)
            st = npg_strbuf_append(&sb, s.p + i, s.n - i);
    } else {
        while (st == NPG_OK && (count < 0 || done < count)) {
            int64_t at = npg_bytes_find(s, old, i, s.n, false);
            if (at < 0)
                break;
            st = npg_strbuf_append(&sb, s.p + i, (size_t)at - i);
            if (st == NPG_OK)
                st = npg_strbuf_append(&sb, rep.p, rep.n);
            i = (size_t)at + old.n;
            done++;
        }
        if (st == NPG_OK)
            st = npg_strbuf_append(&sb, s.p + i, s.n - i);
    }
    if (st == NPG_OK)
        st = npg_tstr_from_sb(m->r, &sb, out);
    npg_strbuf_free(&sb);
    return st;
}

/* startswith / endswith: a string or a tuple of strings, optional start/end. */
static npg_status do_affix(const mcall *m, npg_tstr s, bool end, npg_tval *out) {
    NPG_TRY(nargs(m, 1, 3));
    int64_t lo = 0, hi = (int64_t)npg_utf8_len(s.p, s.n), n = hi;
    if (m->a->n_pos >= 2 && m->a->pos[1].kind != NPG_TV_NONE)
        NPG_TRY(int_arg(m, 1, &lo));
    if (m->a->n_pos >= 3 && m->a->pos[2].kind != NPG_TV_NONE)
        NPG_TRY(int_arg(m, 2, &hi));
    lo = lo < 0 ? (lo + n < 0 ? 0 : lo + n) : (lo > n ? n : lo);
    hi = hi < 0 ? (hi + n < 0 ? 0 : hi + n) : (hi > n ? n : hi);
    npg_tval what = m->a->pos[0];
    const npg_tval *cands = &what;
    size_t nc = 1;
    if (what.kind == NPG_TV_TUPLE) {
        cands = what.u.list->v;
        nc = what.u.list->n;
    }
    *out = npg_tv_bool(false);
    if (lo > hi)
        return NPG_OK;
    size_t bl = npg_utf8_offset(s.p, s.n, (size_t)lo), bh = npg_utf8_offset(s.p, s.n, (size_t)hi);
    for (size_t i = 0; i < nc; i++) {
        if (cands[i].kind != NPG_TV_STRING)
            return npg_tr_fail(m->r, NPG_ERR_INVALID_ARGUMENT, "%s first arg must be str or a tuple of str, not %s",
                               m->name, npg_tv_type_name(cands[i]));
        npg_tstr c = cands[i].u.s;
        if (c.n > bh - bl)
            continue;
        const char *at = end ? s.p + bh - c.n : s.p + bl;
        if (memcmp(at, c.p, c.n) == 0) {
            *out = npg_tv_bool(true);
            return NPG_OK;
        }
    }
    return NPG_OK;
}

/* find / rfind / index / rindex / count on [start, end) in code points. */
static npg_status do_find(const mcall *m, npg_tstr s, char mode, bool reverse, npg_tval *out) {
    NPG_TRY(nargs(m, 1, 3));
    npg_tstr sub;
    NPG_TRY(str_arg(m, 0, &sub));
    int64_t n = (int64_t)npg_utf8_len(s.p, s.n), lo = 0, hi = n;
    if (m->a->n_pos >= 2 && m->a->pos[1].kind != NPG_TV_NONE)
        NPG_TRY(int_arg(m, 1, &lo));
    if (m->a->n_pos >= 3 && m->a->pos[2].kind != NPG_TV_NONE)
        NPG_TRY(int_arg(m, 2, &hi));
    lo = lo < 0 ? (lo + n < 0 ? 0 : lo + n) : (lo > n ? n : lo);
    hi = hi < 0 ? (hi + n < 0 ? 0 : hi + n) : (hi > n ? n : hi);
    size_t bl = npg_utf8_offset(s.p, s.n, (size_t)(lo < hi ? lo : hi)), bh = npg_utf8_offset(s.p, s.n, (size_t)hi);
    if (mode == 'c') {
        int64_t c = 0;
        if (lo <= hi) {
            if (sub.n == 0) {
                c = hi - lo + 1;
            } else {
                for (int64_t at = npg_bytes_find(s, sub, bl, bh, false); at >= 0;
                     at = npg_bytes_find(s, sub, (size_t)at + sub.n, bh, false))
                    c++;
            }
        }
        *out = npg_tv_int(c);
        return NPG_OK;
    }
    int64_t at = lo <= hi ? npg_bytes_find(s, sub, bl, bh, reverse) : -1;
    if (at < 0 && mode == 'i')
        return npg_tr_fail(m->r, NPG_ERR_INVALID_ARGUMENT, "%s(): substring not found", m->name);
    *out = npg_tv_int(at < 0 ? -1 : (int64_t)npg_utf8_len(s.p, (size_t)at));
    return NPG_OK;
}

static npg_status do_join(const mcall *m, npg_tstr sep, npg_tval *out) {
    NPG_TRY(nargs(m, 1, 1));
    npg_tval items;
    NPG_TRY(npg_titerate(m->r, m->a->pos[0], "join()", &items));
    npg_strbuf sb = {0};
    npg_status st = NPG_OK;
    for (size_t i = 0; i < items.u.list->n && st == NPG_OK; i++) {
        npg_tval v = items.u.list->v[i];
        if (v.kind != NPG_TV_STRING) {
            st = npg_tr_fail(m->r, NPG_ERR_INVALID_ARGUMENT, "sequence item %zu: expected str instance, %s found", i,
                             npg_tv_type_name(v));
            break;
        }
        if (i)
            st = npg_strbuf_append(&sb, sep.p, sep.n);
        if (st == NPG_OK)
            st = npg_strbuf_append(&sb, v.u.s.p, v.u.s.n);
    }
    if (st == NPG_OK)
        st = npg_tstr_from_sb(m->r, &sb, out);
    npg_strbuf_free(&sb);
    return st;
}

/* str.format with {} / {0} / {name} fields ({{ and }} escape braces); format specs are refused. */
static npg_status do_format(const mcall *m, npg_tstr s, npg_tval *out) {
    npg_strbuf sb = {0};
    npg_status st = NPG_OK;
    size_t auto_idx = 0;
    for (size_t i = 0; i < s.n && st == NPG_OK;) {
        char c = s.p[i];
        if ((c == '{' || c == '}') && i + 1 < s.n && s.p[i + 1] == c) {
            st = npg_strbuf_append_char(&sb, c);
            i += 2;
            continue;
        }
        if (c == '}') {
            st = npg_tr_fail(m->r, NPG_ERR_INVALID_ARGUMENT, "format(): single '}' encountered in format string");
            break;
        }
        if (c != '{') {
            st = npg_strbuf_append_char(&sb, c);
            i++;
            continue;
        }
        const char *close = memchr(s.p + i, '}', s.n - i);
        if (!close) {
            st = npg_tr_fail(m->r, NPG_ERR_INVALID_ARGUMENT, "format(): single '{' encountered in format string");
            break;
        }
        npg_tstr field = {s.p + i + 1, (size_t)(close - (s.p + i + 1))};
        if (memchr(field.p, ':', field.n) || memchr(field.p, '!', field.n)) {
            st = npg_tr_fail(m->r, NPG_ERR_UNSUPPORTED, "format(): format specs and conversions are not supported");
            break;
        }
        npg_tval v = npg_tv_undef(field.p, field.n, NULL);
        bool found = false;
        if (field.n == 0 || (field.p[0] >= '0' && field.p[0] <= '9')) {
            size_t idx = auto_idx++;
            if (field.n) {
                idx = 0;
                for (size_t k = 0; k < field.n && field.p[k] >= '0' && field.p[k] <= '9' && idx < 1000000; k++)
                    idx = idx * 10 + (size_t)(field.p[k] - '0');
            }
            if (idx < m->a->n_pos) {
                v = m->a->pos[idx];
                found = true;
            }
        } else {
            for (size_t k = 0; k < m->a->n_kw; k++)
                if (m->a->kw_names[k].n == field.n && memcmp(m->a->kw_names[k].p, field.p, field.n) == 0) {
                    v = m->a->kw[k];
                    found = true;
                }
        }
        if (!found) {
            st = npg_tr_fail(m->r, NPG_ERR_INVALID_ARGUMENT, "format(): no argument for field '{%.*s}'", (int)field.n,
                             field.p);
            break;
        }
        st = npg_tv_append_str(&sb, v);
        i = (size_t)(close - s.p) + 1;
    }
    if (st == NPG_OK)
        st = npg_tstr_from_sb(m->r, &sb, out);
    npg_strbuf_free(&sb);
    return st;
}

static npg_status str_method(const mcall *m, npg_tstr s, npg_tstr name, npg_tval *out) {
    npg_trender *r = m->r;
    if (is(name, "upper") || is(name, "lower") || is(name, "title") || is(name, "capitalize") || is(name, "swapcase")) {
        NPG_TRY(nargs(m, 0, 0));
        npg_strbuf sb = {0};
        char mode = is(name, "upper")        ? 'u'
                    : is(name, "lower")      ? 'l'
                    : is(name, "title")      ? 't'
                    : is(name, "capitalize") ? 'c'
                                             : 's';
        npg_status st = npg_py_case(&sb, s, mode);
        if (st == NPG_OK)
            st = npg_tstr_from_sb(r, &sb, out);
        npg_strbuf_free(&sb);
        return st;
    }
    if (is(name, "strip") || is(name, "lstrip") || is(name, "rstrip")) {
        NPG_TRY(nargs(m, 0, 1));
        npg_tstr chars, *cp = NULL;
        if (m->a->n_pos == 1 && m->a->pos[0].kind != NPG_TV_NONE) {
            NPG_TRY(str_arg(m, 0, &chars));
            cp = &chars;
        }
        npg_tstr t = npg_py_strip(s, cp, name.p[0] != 'r', name.p[0] != 'l');
        *out = npg_tv_str(t.p, t.n);
        return NPG_OK;
    }
    if (is(name, "split") || is(name, "rsplit"))
        return do_split(m, s, name.p[0] == 'r', out);
    if (is(name, "splitlines")) {
        NPG_TRY(nargs(m, 0, 0));
        NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_LIST, 0, out));
        size_t b = 0;
        for (size_t i = 0; i < s.n; i++) {
            if (s.p[i] != '\n' && s.p[i] != '\r')
                continue;
            NPG_TRY(push_str(r, *out, s.p + b, i - b));
            if (s.p[i] == '\r' && i + 1 < s.n && s.p[i + 1] == '\n')
                i++;
            b = i + 1;
        }
        if (b < s.n)
            NPG_TRY(push_str(r, *out, s.p + b, s.n - b));
        return NPG_OK;
    }
    if (is(name, "replace"))
        return do_replace(m, s, out);
    if (is(name, "startswith") || is(name, "endswith"))
        return do_affix(m, s, name.p[0] == 'e', out);
    if (is(name, "find") || is(name, "rfind"))
        return do_find(m, s, 'f', name.p[0] == 'r', out);
    if (is(name, "index") || is(name, "rindex"))
        return do_find(m, s, 'i', name.p[0] == 'r', out);
    if (is(name, "count"))
        return do_find(m, s, 'c', false, out);
    if (is(name, "join"))
        return do_join(m, s, out);
    if (is(name, "format"))
        return do_format(m, s, out);
    if (is(name, "removeprefix") || is(name, "removesuffix")) {
        npg_tstr a;
        NPG_TRY(nargs(m, 1, 1));
        NPG_TRY(str_arg(m, 0, &a));
        bool pre = name.p[6] == 'p';
        *out = npg_tv_str(s.p, s.n);
        if (a.n <= s.n && memcmp(pre ? s.p : s.p + s.n - a.n, a.p, a.n) == 0)
            *out = npg_tv_str(pre ? s.p + a.n : s.p, s.n - a.n);
        return NPG_OK;
    }
    if (is(name, "center") || is(name, "zfill")) {
        int64_t width;
        NPG_TRY(nargs(m, 1, is(name, "center") ? 2 : 1));
        NPG_TRY(int_arg(m, 0, &width));
        npg_tstr fill = {" ", 1};
        if (m->a->n_pos == 2)
            NPG_TRY(str_arg(m, 1, &fill));
        int64_t len = (int64_t)npg_utf8_len(s.p, s.n);
        if (width > (1 << 20))
            return npg_tr_fail(r, NPG_ERR_LIMIT, "%s(): width too large", m->name);
        npg_strbuf sb = {0};
        npg_status st = NPG_OK;
        int64_t pad = width > len ? width - len : 0;
        /* CPython's center: left = pad/2 + (pad & width & 1) */
        int64_t left = is(name, "zfill") ? pad : pad / 2 + (pad & width & 1);
        for (int64_t i = 0; i < left && st == NPG_OK; i++)
            st = is(name, "zfill") ? npg_strbuf_append_char(&sb, '0') : npg_strbuf_append(&sb, fill.p, fill.n);
        if (st == NPG_OK)
            st = npg_strbuf_append(&sb, s.p, s.n);
        for (int64_t i = left; i < pad && st == NPG_OK; i++)
            st = npg_strbuf_append(&sb, fill.p, fill.n);
        if (st == NPG_OK)
            st = npg_tstr_from_sb(r, &sb, out);
        npg_strbuf_free(&sb);
        return st;
    }
    /* isalpha / isdigit / isalnum / isupper / islower / isspace */
    NPG_TRY(nargs(m, 0, 0));
    char mode = is(name, "isalpha")   ? 'a'
                : is(name, "isdigit") ? 'd'
                : is(name, "isalnum") ? 'n'
                : is(name, "isupper") ? 'u'
                : is(name, "islower") ? 'l'
                                      : 's';
    *out = npg_tv_bool(npg_py_is(s, mode));
    return NPG_OK;
}

static npg_status dict_method(const mcall *m, const npg_tdict *d, npg_tstr name, npg_tval *out) {
    npg_trender *r = m->r;
    if (is(name, "get")) {
        NPG_TRY(nargs(m, 1, 2));
        const npg_tval *v = npg_tdict_get(d, m->a->pos[0]);
        *out = v ? *v : m->a->n_pos == 2 ? m->a->pos[1] : npg_tv_none();
        return NPG_OK;
    }
    NPG_TRY(nargs(m, 0, 0));
    NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_LIST, d->n, out));
    for (size_t i = 0; i < d->n; i++) {
        npg_tval v = is(name, "keys") ? d->keys[i] : d->vals[i];
        if (is(name, "items")) {
            NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_TUPLE, 2, &v));
            NPG_TRY(npg_tlist_push(r->arena, v.u.list, d->keys[i]));
            NPG_TRY(npg_tlist_push(r->arena, v.u.list, d->vals[i]));
        }
        NPG_TRY(npg_tlist_push(r->arena, out->u.list, v));
    }
    return NPG_OK;
}

static npg_status list_method(const mcall *m, const npg_tlist *l, npg_tstr name, npg_tval *out) {
    NPG_TRY(nargs(m, 1, 1));
    int64_t count = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (!npg_tv_eq(l->v[i], m->a->pos[0]))
            continue;
        if (is(name, "index")) {
            *out = npg_tv_int((int64_t)i);
            return NPG_OK;
        }
        count++;
    }
    if (is(name, "index"))
        return npg_tr_fail(m->r, NPG_ERR_INVALID_ARGUMENT, "list.index(x): x not in list");
    *out = npg_tv_int(count);
    return NPG_OK;
}

npg_status npg_tmethod_call(npg_trender *r, const npg_tfunc *fn, const npg_targs *args, npg_tval *out) {
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)(fn->name.n > 24 ? 24 : fn->name.n), fn->name.p);
    mcall m = {r, name, args};
    switch (fn->self.kind) {
    case NPG_TV_STRING: return str_method(&m, fn->self.u.s, fn->name, out);
    case NPG_TV_DICT: return dict_method(&m, fn->self.u.dict, fn->name, out);
    case NPG_TV_LIST:
    case NPG_TV_TUPLE: return list_method(&m, fn->self.u.list, fn->name, out);
    default:
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "'%s' object has no method '%s'", npg_tv_type_name(fn->self),
                           name);
    }
}
