/* eval.c — scopes, argument binding, and evaluation of expression nodes (see eval.h). */
#include "template/eval.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

npg_status npg_tr_fail(const npg_trender *r, npg_status status, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->at)
        return npg_fail(status, "line %d, column %d: %s", r->at->line, r->at->col, msg);
    return npg_fail(status, "%s", msg);
}

npg_status npg_tr_undefined_error(const npg_trender *r, npg_tval u) {
    int n = (int)(u.u.undef.name.n > 200 ? 200 : u.u.undef.name.n);
    if (!u.u.undef.name.p)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "a required value is undefined");
    if (u.u.undef.owner && n == 0) /* an index (messages[0] of an empty list) or a non-string key */
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "'%s' has no such %s", u.u.undef.owner,
                           strcmp(u.u.undef.owner, "dict object") == 0
                               ? "key"
                               : "element (index out of range: is the list empty?)");
    if (u.u.undef.owner)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "'%s' has no attribute '%.*s'", u.u.undef.owner, n,
                           u.u.undef.name.p);
    return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "'%.*s' is undefined", n, u.u.undef.name.p);
}

npg_status npg_targs_bind(const npg_trender *r, const char *what, const npg_targs *a, const char *const *params,
                          size_t n_params, npg_tval *out) {
    for (size_t i = 0; i < n_params; i++)
        out[i] = npg_tv_undef(NULL, 0, NULL);
    if (a->n_pos > n_params)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "%s takes at most %zu argument(s), got %zu", what, n_params,
                           a->n_pos);
    for (size_t i = 0; i < a->n_pos; i++)
        out[i] = a->pos[i];
    for (size_t k = 0; k < a->n_kw; k++) {
        size_t i = 0;
        while (i < n_params &&
               !(strlen(params[i]) == a->kw_names[k].n && memcmp(params[i], a->kw_names[k].p, a->kw_names[k].n) == 0))
            i++;
        if (i == n_params)
            return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "%s got an unexpected keyword argument '%.*s'", what,
                               (int)a->kw_names[k].n, a->kw_names[k].p);
        if (i < a->n_pos)
            return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "%s got multiple values for argument '%s'", what,
                               params[i]);
        out[i] = a->kw[k];
    }
    return NPG_OK;
}

/* ---- scopes ---- */

npg_status npg_tscope_push(npg_trender *r) {
    npg_tscope *s = npg_tarena_alloc(r->arena, sizeof *s);
    NPG_CHECK_ALLOC(s);
    s->parent = r->scope;
    r->scope = s;
    return NPG_OK;
}

void npg_tscope_pop(npg_trender *r) { r->scope = r->scope->parent; }

npg_status npg_tscope_set(npg_trender *r, npg_tscope *s, npg_tstr name, npg_tval v) {
    return npg_tdict_set(r->arena, &s->vars, npg_tv_str(name.p, name.n), v);
}

npg_tval npg_tscope_lookup(const npg_trender *r, npg_tstr name) {
    for (const npg_tscope *s = r->scope; s; s = s->parent) {
        const npg_tval *v = npg_tdict_get_str(&s->vars, name.p, name.n);
        if (v)
            return *v;
    }
    const npg_tfunc *fn = npg_tglobal_lookup(name);
    if (fn) {
        npg_tval v = {.kind = NPG_TV_FUNCTION, .u.fn = fn};
        return v;
    }
    return npg_tv_undef(name.p, name.n, NULL);
}

/* ---- expressions ---- */

static npg_status eval_list(npg_trender *r, const npg_tnodes *nodes, npg_tv_kind kind, npg_tval *out) {
    NPG_TRY(npg_tv_new_list(r->arena, kind, nodes->n, out));
    for (size_t i = 0; i < nodes->n; i++) {
        npg_tval v;
        NPG_TRY(npg_teval(r, nodes->v[i], &v));
        NPG_TRY(npg_tlist_push(r->arena, out->u.list, v));
    }
    return NPG_OK;
}

/* Evaluates a node's call arguments (list = positional, kw_names/list2 = keywords) into arena arrays. */
static npg_status eval_args(npg_trender *r, const npg_tnode *n, npg_targs *a) {
    memset(a, 0, sizeof *a);
    if (n->list.n) {
        npg_tval *pos = npg_tarena_alloc(r->arena, n->list.n * sizeof *pos);
        NPG_CHECK_ALLOC(pos);
        for (size_t i = 0; i < n->list.n; i++)
            NPG_TRY(npg_teval(r, n->list.v[i], &pos[i]));
        a->pos = pos;
        a->n_pos = n->list.n;
    }
    if (n->list2.n) {
        npg_tval *kw = npg_tarena_alloc(r->arena, n->list2.n * sizeof *kw);
        NPG_CHECK_ALLOC(kw);
        for (size_t i = 0; i < n->list2.n; i++)
            NPG_TRY(npg_teval(r, n->list2.v[i], &kw[i]));
        a->kw = kw;
        a->kw_names = n->kw_names;
        a->n_kw = n->list2.n;
    }
    return NPG_OK;
}

static npg_status apply_filter_node(npg_trender *r, const npg_tnode *n, npg_tval in, npg_tval *out) {
    npg_targs args;
    NPG_TRY(eval_args(r, n, &args));
    r->at = n;
    if (n->fid < 0)
        return npg_tr_fail(r, NPG_ERR_FORMAT, "no filter named '%.*s'", (int)n->name.n, n->name.p);
    return npg_tfilter_apply(r, n->fid, in, &args, out);
}

npg_status npg_teval_filter_chain(npg_trender *r, const npg_tnode *chain, npg_tval input, npg_tval *out) {
    npg_tval in = input;
    if (chain->a) {
        if (r->eval_depth >= NPG_MAX_EVAL_DEPTH)
            return npg_tr_fail(r, NPG_ERR_LIMIT, "filter chain too long (more than %d filters)", NPG_MAX_EVAL_DEPTH);
        r->eval_depth++;
        npg_status st = npg_teval_filter_chain(r, chain->a, input, &in);
        r->eval_depth--;
        NPG_TRY(st);
    }
    return apply_filter_node(r, chain, in, out);
}

npg_status npg_tcall(npg_trender *r, npg_tval callee, const npg_targs *args, npg_tval *out) {
    switch (callee.kind) {
    case NPG_TV_MACRO: return npg_tcall_macro(r, callee.u.macro, args, out);
    case NPG_TV_LOOP: return npg_tcall_loop(r, callee.u.loop, args, out);
    case NPG_TV_FUNCTION: {
        const npg_tfunc *fn = callee.u.fn;
        if (fn->kind == NPG_FN_METHOD)
            return npg_tmethod_call(r, fn, args, out);
        return npg_tglobal_call(r, fn, args, out);
    }
    case NPG_TV_UNDEFINED: return npg_tr_undefined_error(r, callee);
    default: return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "'%s' object is not callable", npg_tv_type_name(callee));
    }
}

static npg_status eval_unary(npg_trender *r, const npg_tnode *n, npg_tval *out) {
    npg_tval v;
    NPG_TRY(npg_teval(r, n->a, &v));
    r->at = n;
    if (n->op == NPG_UOP_NOT) {
        *out = npg_tv_bool(!npg_tv_truthy(v));
        return NPG_OK;
    }
    if (v.kind == NPG_TV_UNDEFINED)
        return npg_tr_undefined_error(r, v);
    bool neg = n->op == NPG_UOP_NEG;
    switch (v.kind) {
    case NPG_TV_BOOL: *out = npg_tv_int(neg ? -(int64_t)v.u.b : v.u.b); return NPG_OK;
    case NPG_TV_INT:
        if (neg && v.u.i == INT64_MIN)
            return npg_tr_fail(r, NPG_ERR_LIMIT, "integer overflow");
        *out = npg_tv_int(neg ? -v.u.i : v.u.i);
        return NPG_OK;
    case NPG_TV_FLOAT: *out = npg_tv_float(neg ? -v.u.f : v.u.f); return NPG_OK;
    default:
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "bad operand type for unary %c: '%s'", neg ? '-' : '+',
                           npg_tv_type_name(v));
    }
}

static npg_status eval_compare(npg_trender *r, const npg_tnode *n, npg_tval *out) {
    npg_tval left;
    NPG_TRY(npg_teval(r, n->a, &left));
    for (size_t i = 0; i < n->list.n; i++) {
        npg_tval right;
        NPG_TRY(npg_teval(r, n->list.v[i], &right));
        r->at = n;
        bool ok;
        NPG_TRY(npg_tcompare(r, n->cmp_ops[i], left, right, &ok));
        if (!ok) {
            *out = npg_tv_bool(false);
            return NPG_OK;
        }
        left = right;
    }
    *out = npg_tv_bool(true);
    return NPG_OK;
}

static npg_status eval_dict(npg_trender *r, const npg_tnode *n, npg_tval *out) {
    NPG_TRY(npg_tv_new_dict(r->arena, NPG_TV_DICT, n->list.n, out));
    for (size_t i = 0; i < n->list.n; i++) {
        npg_tval k, v;
        NPG_TRY(npg_teval(r, n->list.v[i], &k));
        NPG_TRY(npg_teval(r, n->list2.v[i], &v));
        if (k.kind != NPG_TV_NONE && k.kind != NPG_TV_BOOL && k.kind != NPG_TV_INT && k.kind != NPG_TV_FLOAT &&
            k.kind != NPG_TV_STRING && k.kind != NPG_TV_TUPLE) {
            r->at = n->list.v[i];
            return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "unhashable type: '%s'", npg_tv_type_name(k));
        }
        NPG_TRY(npg_tdict_set(r->arena, out->u.dict, k, v));
    }
    return NPG_OK;
}

static npg_status eval_node(npg_trender *r, const npg_tnode *n, npg_tval *out);

/* Every expression level is a C stack frame or more: the parser bounds one expression's chain, and
 * this bounds the sum over macro calls and recursive loops as well, so no template can overflow the
 * stack (a 25,000-link chain once did). */
npg_status npg_teval(npg_trender *r, const npg_tnode *n, npg_tval *out) {
    if (r->eval_depth >= NPG_MAX_EVAL_DEPTH) {
        r->at = n;
        return npg_tr_fail(r, NPG_ERR_LIMIT, "expression nested too deeply when evaluated (more than %d levels)",
                           NPG_MAX_EVAL_DEPTH);
    }
    r->eval_depth++;
    npg_status st = eval_node(r, n, out);
    r->eval_depth--;
    return st;
}

static npg_status eval_node(npg_trender *r, const npg_tnode *n, npg_tval *out) {
    r->at = n;
    switch (n->kind) {
    case NPG_E_CONST: *out = n->value; return NPG_OK;
    case NPG_E_NAME: *out = npg_tscope_lookup(r, n->name); return NPG_OK;
    case NPG_E_LIST: return eval_list(r, &n->list, NPG_TV_LIST, out);
    case NPG_E_TUPLE: return eval_list(r, &n->list, NPG_TV_TUPLE, out);
    case NPG_E_DICT: return eval_dict(r, n, out);
    case NPG_E_GETATTR: {
        npg_tval obj;
        NPG_TRY(npg_teval(r, n->a, &obj));
        r->at = n;
        return npg_tgetattr(r, obj, n->name, out);
    }
    case NPG_E_GETITEM: {
        npg_tval obj, key;
        NPG_TRY(npg_teval(r, n->a, &obj));
        NPG_TRY(npg_teval(r, n->b, &key));
        r->at = n;
        return npg_tgetitem(r, obj, key, out);
    }
    case NPG_E_SLICE: {
        npg_tval obj, parts[3];
        const npg_tnode *pn[3] = {n->b, n->c, n->d};
        NPG_TRY(npg_teval(r, n->a, &obj));
        for (int i = 0; i < 3; i++) {
            parts[i] = npg_tv_none();
            if (pn[i])
                NPG_TRY(npg_teval(r, pn[i], &parts[i]));
        }
        r->at = n;
        return npg_tslice(r, obj, parts[0], parts[1], parts[2], out);
    }
    case NPG_E_CALL: {
        npg_tval callee;
        npg_targs args;
        NPG_TRY(npg_teval(r, n->a, &callee));
        NPG_TRY(eval_args(r, n, &args));
        r->at = n;
        return npg_tcall(r, callee, &args, out);
    }
    case NPG_E_FILTER: {
        npg_tval in;
        NPG_TRY(npg_teval(r, n->a, &in));
        return apply_filter_node(r, n, in, out);
    }
    case NPG_E_TEST: {
        npg_tval in;
        npg_targs args;
        NPG_TRY(npg_teval(r, n->a, &in));
        NPG_TRY(eval_args(r, n, &args));
        r->at = n;
        if (n->fid < 0)
            return npg_tr_fail(r, NPG_ERR_FORMAT, "no test named '%.*s'", (int)n->name.n, n->name.p);
        bool b;
        NPG_TRY(npg_ttest_apply(r, n->fid, in, &args, &b));
        *out = npg_tv_bool(n->flag ? !b : b);
        return NPG_OK;
    }
    case NPG_E_UNARY: return eval_unary(r, n, out);
    case NPG_E_BINARY: {
        npg_tval a, b;
        NPG_TRY(npg_teval(r, n->a, &a));
        if (n->op == NPG_BOP_AND || n->op == NPG_BOP_OR) {
            /* Python's and/or: the deciding operand itself, not a bool */
            if (npg_tv_truthy(a) == (n->op == NPG_BOP_OR)) {
                *out = a;
                return NPG_OK;
            }
            return npg_teval(r, n->b, out);
        }
        NPG_TRY(npg_teval(r, n->b, &b));
        r->at = n;
        return npg_tbinary(r, n->op, a, b, out);
    }
    case NPG_E_COMPARE: return eval_compare(r, n, out);
    case NPG_E_COND: {
        npg_tval c;
        NPG_TRY(npg_teval(r, n->a, &c));
        if (npg_tv_truthy(c))
            return npg_teval(r, n->b, out);
        if (n->c)
            return npg_teval(r, n->c, out);
        *out = npg_tv_undef("", 0, NULL);
        return NPG_OK;
    }
    default: return npg_tr_fail(r, NPG_ERR_INTERNAL, "statement node evaluated as an expression");
    }
}
