/* filters_seq.c — jinja2's filters over sequences: join, sort, unique, min, max, dictsort, map,
 * select / reject / selectattr / rejectattr, batch, sum. Semantics follow jinja2.filters:
 * string comparisons ignore case unless case_sensitive=true, sorting is stable, `attribute` may be
 * a dotted path ("function.name", "0"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/filters.h"
#include "template/text.h"

npg_status npg_tf_bind(npg_trender *r, const char *filter, const npg_targs *a, const char *const *params,
                       size_t n_params, npg_tval *out) {
    char what[64];
    snprintf(what, sizeof what, "filter '%s'", filter);
    return npg_targs_bind(r, what, a, params, n_params, out);
}

npg_status npg_tf_attr(npg_trender *r, npg_tval item, npg_tval attribute, npg_tval *out) {
    if (!npg_targ_given(attribute) || attribute.kind == NPG_TV_NONE) {
        *out = item;
        return NPG_OK;
    }
    if (attribute.kind == NPG_TV_INT)
        return npg_tgetitem(r, item, attribute, out);
    if (attribute.kind != NPG_TV_STRING)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "attribute must be a string or an integer, not %s",
                           npg_tv_type_name(attribute));
    npg_tstr path = attribute.u.s;
    size_t b = 0;
    for (;;) {
        const char *dot = memchr(path.p + b, '.', path.n - b);
        size_t e = dot ? (size_t)(dot - path.p) : path.n;
        npg_tval key = npg_tv_str(path.p + b, e - b);
        bool digits = e > b;
        int64_t idx = 0;
        for (size_t i = b; i < e && digits; i++) {
            digits = path.p[i] >= '0' && path.p[i] <= '9' && idx < (INT64_MAX / 10 - 10);
            idx = idx * 10 + (path.p[i] - '0');
        }
        if (digits)
            key = npg_tv_int(idx);
        NPG_TRY(npg_tgetitem(r, item, key, &item));
        if (!dot)
            break;
        b = e + 1;
    }
    *out = item;
    return NPG_OK;
}

/* The value used for comparisons: attribute lookup, then lower-casing of strings unless
 * case_sensitive. */
static npg_status sort_key(npg_trender *r, npg_tval item, npg_tval attribute, bool case_sensitive, npg_tval *out) {
    NPG_TRY(npg_tf_attr(r, item, attribute, out));
    if (!case_sensitive && out->kind == NPG_TV_STRING) {
        npg_strbuf sb = {0};
        npg_status st = npg_py_case(&sb, out->u.s, 'l');
        if (st == NPG_OK)
            st = npg_tstr_from_sb(r, &sb, out);
        npg_strbuf_free(&sb);
        return st;
    }
    return NPG_OK;
}

/* Stable merge sort of idx[0..n) by keys[idx[i]]; descending when reverse (still stable, as
 * Python's sorted(reverse=True)). */
static npg_status merge_sort(npg_trender *r, const npg_tval *keys, size_t *idx, size_t *tmp, size_t n, bool reverse) {
    if (n < 2)
        return NPG_OK;
    size_t h = n / 2;
    NPG_TRY(merge_sort(r, keys, idx, tmp, h, reverse));
    NPG_TRY(merge_sort(r, keys, idx + h, tmp, n - h, reverse));
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        int c;
        /* take the right element only when it must come strictly first */
        if (reverse)
            NPG_TRY(npg_tcompare_order(r, keys[idx[i]], keys[idx[j]], &c));
        else
            NPG_TRY(npg_tcompare_order(r, keys[idx[j]], keys[idx[i]], &c));
        tmp[k++] = c < 0 ? idx[j++] : idx[i++];
    }
    while (i < h)
        tmp[k++] = idx[i++];
    while (j < n)
        tmp[k++] = idx[j++];
    memcpy(idx, tmp, n * sizeof *idx);
    return NPG_OK;
}

/* Sorts `items` into a new list by their keys. */
static npg_status sorted(npg_trender *r, const npg_tlist *items, const npg_tval *keys, bool reverse, npg_tval *out) {
    size_t n = items->n;
    size_t *idx = npg_tarena_alloc(r->arena, (n + 1) * sizeof *idx);
    size_t *tmp = npg_tarena_alloc(r->arena, (n + 1) * sizeof *tmp);
    NPG_CHECK_ALLOC(idx && tmp);
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    NPG_TRY(merge_sort(r, keys, idx, tmp, n, reverse));
    NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_LIST, n, out));
    for (size_t i = 0; i < n; i++)
        NPG_TRY(npg_tlist_push(r->arena, out->u.list, items->v[idx[i]]));
    return NPG_OK;
}

static npg_status keys_of(npg_trender *r, const npg_tlist *items, npg_tval attribute, bool case_sensitive,
                          npg_tval **keys) {
    *keys = npg_tarena_alloc(r->arena, (items->n + 1) * sizeof **keys);
    NPG_CHECK_ALLOC(*keys);
    for (size_t i = 0; i < items->n; i++)
        NPG_TRY(sort_key(r, items->v[i], attribute, case_sensitive, &(*keys)[i]));
    return NPG_OK;
}

npg_status npg_tf_sort(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"reverse", "case_sensitive", "attribute"};
    npg_tval p[3], items, *keys;
    NPG_TRY(npg_tf_bind(r, "sort", a, params, 3, p));
    NPG_TRY(npg_titerate(r, in, "sort", &items));
    NPG_TRY(keys_of(r, items.u.list, p[2], npg_tv_truthy(p[1]), &keys));
    return sorted(r, items.u.list, keys, npg_tv_truthy(p[0]), out);
}

npg_status npg_tf_dictsort(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"case_sensitive", "by", "reverse"};
    npg_tval p[3];
    NPG_TRY(npg_tf_bind(r, "dictsort", a, params, 3, p));
    if (in.kind != NPG_TV_DICT)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "filter 'dictsort' needs a mapping, got '%s'",
                           npg_tv_type_name(in));
    bool by_value = false;
    if (npg_targ_given(p[1])) {
        if (p[1].kind == NPG_TV_STRING && p[1].u.s.n == 5 && memcmp(p[1].u.s.p, "value", 5) == 0)
            by_value = true;
        else if (!(p[1].kind == NPG_TV_STRING && p[1].u.s.n == 3 && memcmp(p[1].u.s.p, "key", 3) == 0))
            return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT,
                               "filter 'dictsort': you can only sort by either 'key' or 'value'");
    }
    const npg_tdict *d = in.u.dict;
    npg_tval items;
    NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_LIST, d->n, &items));
    npg_tval *keys = npg_tarena_alloc(r->arena, (d->n + 1) * sizeof *keys);
    NPG_CHECK_ALLOC(keys);
    npg_tval none = npg_tv_undef(NULL, 0, NULL);
    for (size_t i = 0; i < d->n; i++) {
        npg_tval t;
        NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_TUPLE, 2, &t));
        NPG_TRY(npg_tlist_push(r->arena, t.u.list, d->keys[i]));
        NPG_TRY(npg_tlist_push(r->arena, t.u.list, d->vals[i]));
        NPG_TRY(npg_tlist_push(r->arena, items.u.list, t));
        NPG_TRY(sort_key(r, by_value ? d->vals[i] : d->keys[i], none, npg_tv_truthy(p[0]), &keys[i]));
    }
    return sorted(r, items.u.list, keys, npg_tv_truthy(p[2]), out);
}

npg_status npg_tf_unique(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"case_sensitive", "attribute"};
    npg_tval p[2], items, *keys;
    NPG_TRY(npg_tf_bind(r, "unique", a, params, 2, p));
    NPG_TRY(npg_titerate(r, in, "unique", &items));
    NPG_TRY(keys_of(r, items.u.list, p[1], npg_tv_truthy(p[0]), &keys));
    NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_LIST, 0, out));
    for (size_t i = 0; i < items.u.list->n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = npg_tv_eq(keys[j], keys[i]);
        if (!seen)
            NPG_TRY(npg_tlist_push(r->arena, out->u.list, items.u.list->v[i]));
    }
    return NPG_OK;
}

static npg_status min_max(npg_trender *r, const char *name, npg_tval in, const npg_targs *a, int sign, npg_tval *out) {
    static const char *const params[] = {"case_sensitive", "attribute"};
    npg_tval p[2], items, *keys;
    NPG_TRY(npg_tf_bind(r, name, a, params, 2, p));
    NPG_TRY(npg_titerate(r, in, name, &items));
    if (items.u.list->n == 0) {
        *out = npg_tv_undef("", 0, NULL);
        return NPG_OK;
    }
    NPG_TRY(keys_of(r, items.u.list, p[1], npg_tv_truthy(p[0]), &keys));
    size_t best = 0;
    for (size_t i = 1; i < items.u.list->n; i++) {
        int c;
        NPG_TRY(npg_tcompare_order(r, keys[i], keys[best], &c));
        if (c * sign > 0)
            best = i;
    }
    *out = items.u.list->v[best];
    return NPG_OK;
}

npg_status npg_tf_min(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    return min_max(r, "min", in, a, -1, out);
}

npg_status npg_tf_max(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    return min_max(r, "max", in, a, 1, out);
}

npg_status npg_tf_join(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"d", "attribute"};
    npg_tval p[2], items;
    NPG_TRY(npg_tf_bind(r, "join", a, params, 2, p));
    npg_tstr sep = {"", 0};
    if (npg_targ_given(p[0]))
        NPG_TRY(npg_tstring(r, p[0], &sep));
    NPG_TRY(npg_titerate(r, in, "join", &items));
    npg_strbuf sb = {0};
    npg_status st = NPG_OK;
    for (size_t i = 0; i < items.u.list->n && st == NPG_OK; i++) {
        npg_tval v;
        st = npg_tf_attr(r, items.u.list->v[i], p[1], &v);
        if (st == NPG_OK && i)
            st = npg_strbuf_append(&sb, sep.p, sep.n);
        if (st == NPG_OK)
            st = npg_tv_append_str(&sb, v);
    }
    if (st == NPG_OK)
        st = npg_tstr_from_sb(r, &sb, out);
    npg_strbuf_free(&sb);
    return st;
}

npg_status npg_tf_map(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    npg_tval items;
    NPG_TRY(npg_titerate(r, in, "map", &items));
    NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_LIST, items.u.list->n, out));
    if (a->n_pos == 0) {
        /* map(attribute='x', default=d) */
        static const char *const params[] = {"attribute", "default"};
        npg_tval p[2];
        NPG_TRY(npg_tf_bind(r, "map", a, params, 2, p));
        if (!npg_targ_given(p[0]))
            return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "filter 'map' needs a filter name or attribute=");
        for (size_t i = 0; i < items.u.list->n; i++) {
            npg_tval v;
            NPG_TRY(npg_tf_attr(r, items.u.list->v[i], p[0], &v));
            if (v.kind == NPG_TV_UNDEFINED && npg_targ_given(p[1]))
                v = p[1];
            NPG_TRY(npg_tlist_push(r->arena, out->u.list, v));
        }
        return NPG_OK;
    }
    if (a->pos[0].kind != NPG_TV_STRING)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "filter 'map': the filter name must be a string");
    npg_tstr fname = a->pos[0].u.s;
    int fid = npg_tfilter_lookup(fname.p, fname.n);
    if (fid < 0)
        return npg_tr_fail(r, NPG_ERR_FORMAT, "no filter named '%.*s'", (int)fname.n, fname.p);
    npg_targs rest = *a;
    rest.pos++;
    rest.n_pos--;
    for (size_t i = 0; i < items.u.list->n; i++) {
        npg_tval v;
        NPG_TRY(npg_tfilter_apply(r, fid, items.u.list->v[i], &rest, &v));
        NPG_TRY(npg_tlist_push(r->arena, out->u.list, v));
    }
    return NPG_OK;
}

/* select / reject / selectattr / rejectattr: keep items whose (attribute's) test result equals
 * `keep`. With no test name the value's truthiness decides. */
static npg_status select_common(npg_trender *r, const char *name, npg_tval in, const npg_targs *a, bool with_attr,
                                bool keep, npg_tval *out) {
    npg_tval items, attribute = npg_tv_undef(NULL, 0, NULL);
    npg_targs rest = *a;
    if (a->n_kw)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "filter '%s' takes no keyword arguments", name);
    if (with_attr) {
        if (rest.n_pos == 0)
            return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "filter '%s' needs an attribute name", name);
        attribute = rest.pos[0];
        rest.pos++;
        rest.n_pos--;
    }
    int tid = -1;
    if (rest.n_pos) {
        if (rest.pos[0].kind != NPG_TV_STRING)
            return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "filter '%s': the test name must be a string", name);
        npg_tstr tname = rest.pos[0].u.s;
        tid = npg_ttest_lookup(tname.p, tname.n);
        if (tid < 0)
            return npg_tr_fail(r, NPG_ERR_FORMAT, "no test named '%.*s'", (int)tname.n, tname.p);
        rest.pos++;
        rest.n_pos--;
    }
    NPG_TRY(npg_titerate(r, in, name, &items));
    NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_LIST, 0, out));
    for (size_t i = 0; i < items.u.list->n; i++) {
        npg_tval v;
        NPG_TRY(npg_tf_attr(r, items.u.list->v[i], attribute, &v));
        bool ok;
        if (tid >= 0)
            NPG_TRY(npg_ttest_apply(r, tid, v, &rest, &ok));
        else
            ok = npg_tv_truthy(v);
        if (ok == keep)
            NPG_TRY(npg_tlist_push(r->arena, out->u.list, items.u.list->v[i]));
    }
    return NPG_OK;
}

npg_status npg_tf_select(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    return select_common(r, "select", in, a, false, true, out);
}
npg_status npg_tf_reject(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    return select_common(r, "reject", in, a, false, false, out);
}
npg_status npg_tf_selectattr(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    return select_common(r, "selectattr", in, a, true, true, out);
}
npg_status npg_tf_rejectattr(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    return select_common(r, "rejectattr", in, a, true, false, out);
}

npg_status npg_tf_batch(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"linecount", "fill_with"};
    npg_tval p[2], items;
    NPG_TRY(npg_tf_bind(r, "batch", a, params, 2, p));
    if (p[0].kind != NPG_TV_INT || p[0].u.i <= 0)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "filter 'batch' needs a positive integer line count");
    size_t per = (size_t)p[0].u.i;
    NPG_TRY(npg_titerate(r, in, "batch", &items));
    NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_LIST, 0, out));
    npg_tval cur = {0};
    for (size_t i = 0; i < items.u.list->n; i++) {
        if (i % per == 0) {
            NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_LIST, 0, &cur));
            NPG_TRY(npg_tlist_push(r->arena, out->u.list, cur));
        }
        NPG_TRY(npg_tlist_push(r->arena, cur.u.list, items.u.list->v[i]));
    }
    if (npg_targ_given(p[1]) && p[1].kind != NPG_TV_NONE && cur.u.list)
        while (cur.u.list->n < per)
            NPG_TRY(npg_tlist_push(r->arena, cur.u.list, p[1]));
    return NPG_OK;
}

npg_status npg_tf_sum(npg_trender *r, npg_tval in, const npg_targs *a, npg_tval *out) {
    static const char *const params[] = {"attribute", "start"};
    npg_tval p[2], items;
    NPG_TRY(npg_tf_bind(r, "sum", a, params, 2, p));
    NPG_TRY(npg_titerate(r, in, "sum", &items));
    npg_tval acc = npg_targ_given(p[1]) ? p[1] : npg_tv_int(0);
    if (acc.kind == NPG_TV_STRING)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "sum() can't sum strings [use ''.join(seq) instead]");
    for (size_t i = 0; i < items.u.list->n; i++) {
        npg_tval v;
        NPG_TRY(npg_tf_attr(r, items.u.list->v[i], p[0], &v));
        NPG_TRY(npg_tbinary(r, NPG_BOP_ADD, acc, v, &acc));
    }
    *out = acc;
    return NPG_OK;
}
