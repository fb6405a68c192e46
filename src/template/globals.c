/* globals.c — the global functions a chat template can call: jinja2's range, namespace, dict,
 * joiner, plus Hugging Face's raise_exception and strftime_now, and the loop helpers loop.cycle /
 * loop.changed (see eval.h). */
#include <string.h>
#include <time.h>

#include "template/eval.h"

/* Const descriptors: a global is a function value pointing at one of these. */
static const npg_tfunc globals[] = {
    {.kind = NPG_FN_RANGE, .name = {"range", 5}},
    {.kind = NPG_FN_NAMESPACE, .name = {"namespace", 9}},
    {.kind = NPG_FN_DICT, .name = {"dict", 4}},
    {.kind = NPG_FN_RAISE_EXCEPTION, .name = {"raise_exception", 15}},
    {.kind = NPG_FN_STRFTIME_NOW, .name = {"strftime_now", 12}},
    {.kind = NPG_FN_JOINER, .name = {"joiner", 6}},
};

const npg_tfunc *npg_tglobal_lookup(npg_tstr name) {
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++)
        if (globals[i].name.n == name.n && memcmp(globals[i].name.p, name.p, name.n) == 0)
            return &globals[i];
    return NULL;
}

static npg_status int_arg(const npg_trender *r, npg_tval v, const char *what, int64_t *out) {
    if (v.kind == NPG_TV_INT || v.kind == NPG_TV_BOOL) {
        *out = v.kind == NPG_TV_BOOL ? (int64_t)v.u.b : v.u.i;
        return NPG_OK;
    }
    if (v.kind == NPG_TV_UNDEFINED)
        return npg_tr_undefined_error(r, v);
    return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "%s: '%s' object cannot be interpreted as an integer", what,
                       npg_tv_type_name(v));
}

enum { MAX_RANGE = 1 << 20 }; /* jinja2's sandbox refuses ranges above MAX_RANGE = 100000; be a bit kinder */

static npg_status call_range(npg_trender *r, const npg_targs *a, npg_tval *out) {
    if (a->n_kw || a->n_pos < 1 || a->n_pos > 3)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "range() takes 1 to 3 positional arguments");
    int64_t v[3] = {0, 0, 1};
    for (size_t i = 0; i < a->n_pos; i++)
        NPG_TRY(int_arg(r, a->pos[i], "range()", &v[i]));
    int64_t start = a->n_pos == 1 ? 0 : v[0], stop = a->n_pos == 1 ? v[0] : v[1], step = a->n_pos == 3 ? v[2] : 1;
    if (step == 0)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "range() arg 3 must not be zero");
    NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_LIST, 0, out));
    for (int64_t i = start, k = 0; step > 0 ? i < stop : i > stop; i += step, k++) {
        if (k >= MAX_RANGE)
            return npg_tr_fail(r, NPG_ERR_LIMIT, "range() too big (more than %d items)", MAX_RANGE);
        NPG_TRY(npg_tlist_push(r->arena, out->u.list, npg_tv_int(i)));
        if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step))
            break;
    }
    return NPG_OK;
}

/* namespace(...) / dict(...): keyword arguments (and an optional mapping first) into a fresh dict. */
static npg_status call_dict(npg_trender *r, npg_tv_kind kind, const npg_targs *a, npg_tval *out) {
    NPG_TRY(npg_tv_new_dict(r->arena, kind, a->n_kw, out));
    if (a->n_pos > 1 || (a->n_pos == 1 && a->pos[0].kind != NPG_TV_DICT && a->pos[0].kind != NPG_TV_NAMESPACE))
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "%s() takes keyword arguments and at most one mapping",
                           kind == NPG_TV_NAMESPACE ? "namespace" : "dict");
    if (a->n_pos == 1) {
        const npg_tdict *d = a->pos[0].u.dict;
        for (size_t i = 0; i < d->n; i++)
            NPG_TRY(npg_tdict_set(r->arena, out->u.dict, d->keys[i], d->vals[i]));
    }
    for (size_t i = 0; i < a->n_kw; i++)
        NPG_TRY(npg_tdict_set(r->arena, out->u.dict, npg_tv_str(a->kw_names[i].p, a->kw_names[i].n), a->kw[i]));
    return NPG_OK;
}

static npg_status call_strftime(npg_trender *r, const npg_targs *a, npg_tval *out) {
    if (a->n_pos != 1 || a->n_kw || a->pos[0].kind != NPG_TV_STRING)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "strftime_now() takes one format string");
    /* datetime.now().strftime(fmt): local time, or the pinned instant of the render options */
    time_t t = r->has_now ? (time_t)r->now : time(NULL);
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return npg_tr_fail(r, NPG_ERR_INTERNAL, "strftime_now(): the current time cannot be converted");
    char fmt[256], buf[512];
    npg_tstr f = a->pos[0].u.s;
    if (f.n >= sizeof fmt)
        return npg_tr_fail(r, NPG_ERR_LIMIT, "strftime_now(): format longer than %zu bytes", sizeof fmt - 1);
    memcpy(fmt, f.p, f.n);
    fmt[f.n] = '\0';
    /* the format is the template's: strftime treats unknown directives as text, never as varargs */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    size_t n = f.n ? strftime(buf, sizeof buf, fmt, &tm) : 0;
#pragma GCC diagnostic pop
    return npg_tv_strdup(r->arena, buf, n, out);
}

static npg_status call_loop_cycle(npg_trender *r, const npg_tfunc *fn, const npg_targs *a, npg_tval *out) {
    if (a->n_pos == 0)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "loop.cycle() needs at least one item");
    *out = a->pos[fn->self.u.loop->index0 % a->n_pos];
    return NPG_OK;
}

static npg_status call_loop_changed(npg_trender *r, const npg_tfunc *fn, const npg_targs *a, npg_tval *out) {
    npg_tloop *l = fn->self.u.loop;
    npg_tval now;
    NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_LIST, a->n_pos, &now));
    for (size_t i = 0; i < a->n_pos; i++)
        NPG_TRY(npg_tlist_push(r->arena, now.u.list, a->pos[i]));
    bool changed = !l->changed_called || !npg_tv_eq(l->last_changed, now);
    l->changed_called = true;
    l->last_changed = now;
    *out = npg_tv_bool(changed);
    return NPG_OK;
}

npg_status npg_tglobal_call(npg_trender *r, const npg_tfunc *fn, const npg_targs *a, npg_tval *out) {
    switch (fn->kind) {
    case NPG_FN_RANGE: return call_range(r, a, out);
    case NPG_FN_NAMESPACE: return call_dict(r, NPG_TV_NAMESPACE, a, out);
    case NPG_FN_DICT: return call_dict(r, NPG_TV_DICT, a, out);
    case NPG_FN_RAISE_EXCEPTION: {
        /* transformers: raise TemplateError(message); the message is shown as it is */
        npg_tstr msg = {"", 0};
        if (a->n_pos >= 1)
            NPG_TRY(npg_tstring(r, a->pos[0], &msg));
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "%.*s", (int)(msg.n > 900 ? 900 : msg.n), msg.p);
    }
    case NPG_FN_STRFTIME_NOW: return call_strftime(r, a, out);
    case NPG_FN_JOINER: {
        npg_tfunc *j = npg_tarena_alloc(r->arena, sizeof *j);
        NPG_CHECK_ALLOC(j);
        j->state = npg_tarena_alloc(r->arena, sizeof *j->state);
        NPG_CHECK_ALLOC(j->state);
        j->kind = NPG_FN_JOINER_CALL;
        j->name = fn->name;
        j->self = a->n_pos ? a->pos[0] : npg_tv_str(", ", 2);
        out->kind = NPG_TV_FUNCTION;
        out->u.fn = j;
        return NPG_OK;
    }
    case NPG_FN_JOINER_CALL:
        if (*fn->state == 0) {
            *fn->state = 1;
            *out = npg_tv_str("", 0);
        } else {
            *out = fn->self;
        }
        return NPG_OK;
    case NPG_FN_LOOP_CYCLE: return call_loop_cycle(r, fn, a, out);
    case NPG_FN_LOOP_CHANGED: return call_loop_changed(r, fn, a, out);
    default: return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "'%.*s' is not callable", (int)fn->name.n, fn->name.p);
    }
}
