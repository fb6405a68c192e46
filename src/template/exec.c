/* exec.c — statement execution: output, if, for (loop variables, `if` filtering, else, break /
 * continue, recursive loops), set (names, tuple unpacking, namespace attributes, block set),
 * macros and call blocks, filter blocks and with.
 *
 * Scoping (see eval.h): every loop iteration, macro call and `with` body runs in a fresh scope
 * whose parent is the enclosing one (for a macro: the scope it was defined in), so assignments
 * inside do not leak out, exactly as in jinja2. `if` bodies share the enclosing scope. Loop
 * controls travel in r->ctl until the innermost loop consumes them. */
#include <string.h>

#include "template/eval.h"

static npg_status exec_node(npg_trender *r, const npg_tnode *n);

npg_status npg_tr_step(npg_trender *r) {
    if (++r->steps > r->max_steps)
        return npg_tr_fail(r, NPG_ERR_LIMIT, "template runs more than %lld steps (statements, loop iterations, calls)",
                           (long long)r->max_steps);
    if (r->out->len > NPG_MAX_OUTPUT)
        return npg_tr_fail(r, NPG_ERR_LIMIT, "template output exceeds %d MiB", NPG_MAX_OUTPUT >> 20);
    return NPG_OK;
}

npg_status npg_texec_body(npg_trender *r, const npg_tnodes *body) {
    for (size_t i = 0; i < body->n; i++) {
        NPG_TRY(exec_node(r, body->v[i]));
        if (r->ctl)
            return NPG_OK;
    }
    return NPG_OK;
}

/* Runs `body` with output captured into a new string value. */
static npg_status capture(npg_trender *r, const npg_tnodes *body, npg_tval *out) {
    npg_strbuf sb = {0}, *saved = r->out;
    r->out = &sb;
    npg_status st = npg_texec_body(r, body);
    r->out = saved;
    if (st == NPG_OK)
        st = npg_tstr_from_sb(r, &sb, out);
    npg_strbuf_free(&sb);
    return st;
}

/* Assigns v to the names in `targets` (one name, or tuple unpacking) in the current scope. */
static npg_status assign(npg_trender *r, const npg_tnode *at, const npg_tnodes *targets, npg_tval v) {
    if (targets->n == 1)
        return npg_tscope_set(r, r->scope, targets->v[0]->name, v);
    npg_tval items;
    r->at = at;
    if (v.kind == NPG_TV_UNDEFINED)
        return npg_tr_undefined_error(r, v);
    NPG_TRY(npg_titerate(r, v, "unpacking", &items));
    if (items.u.list->n != targets->n)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "cannot unpack %zu value(s) into %zu name(s)", items.u.list->n,
                           targets->n);
    for (size_t i = 0; i < targets->n; i++)
        NPG_TRY(npg_tscope_set(r, r->scope, targets->v[i]->name, items.u.list->v[i]));
    return NPG_OK;
}

static npg_status set_namespace_attr(npg_trender *r, const npg_tnode *n, npg_tval v) {
    npg_tval ns = npg_tscope_lookup(r, n->name);
    r->at = n;
    if (ns.kind != NPG_TV_NAMESPACE)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "cannot assign attribute '%.*s' on non-namespace object '%.*s'",
                           (int)n->attr.n, n->attr.p, (int)n->name.n, n->name.p);
    return npg_tdict_set(r->arena, ns.u.dict, npg_tv_str(n->attr.p, n->attr.n), v);
}

static npg_status append_value(npg_trender *r, npg_tval v) {
    if (v.kind == NPG_TV_STRING)
        return npg_strbuf_append(r->out, v.u.s.p, v.u.s.n);
    return npg_tv_append_str(r->out, v);
}

/* ---- for ---- */

/* One run of a for-loop over `iterable` (the value, already evaluated). */
static npg_status run_for(npg_trender *r, const npg_tnode *n, npg_tval iterable, int depth0) {
    npg_tval all, items;
    r->at = n->a;
    NPG_TRY(npg_titerate(r, iterable, "for", &all));
    items = all;
    if (n->b) {
        /* `for x in xs if cond`: filter first, so loop.length / loop.last count kept items only */
        NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_LIST, 0, &items));
        for (size_t i = 0; i < all.u.list->n; i++) {
            r->at = n;
            NPG_TRY(npg_tr_step(r));
            NPG_TRY(npg_tscope_push(r));
            npg_status st = assign(r, n, &n->targets, all.u.list->v[i]);
            npg_tval c = npg_tv_none();
            if (st == NPG_OK)
                st = npg_teval(r, n->b, &c);
            npg_tscope_pop(r);
            NPG_TRY(st);
            if (npg_tv_truthy(c))
                NPG_TRY(npg_tlist_push(r->arena, items.u.list, all.u.list->v[i]));
        }
    }
    if (items.u.list->n == 0)
        return npg_texec_body(r, &n->orelse);
    npg_tloop *loop = npg_tarena_alloc(r->arena, sizeof *loop);
    NPG_CHECK_ALLOC(loop);
    loop->items = items.u.list;
    loop->depth0 = depth0;
    loop->node = n;
    npg_tval lv = {.kind = NPG_TV_LOOP, .u.loop = loop};
    for (size_t i = 0; i < items.u.list->n; i++) {
        loop->index0 = i;
        r->at = n;
        NPG_TRY(npg_tr_step(r));
        NPG_TRY(npg_tscope_push(r));
        npg_status st = npg_tscope_set(r, r->scope, (npg_tstr){"loop", 4}, lv);
        if (st == NPG_OK)
            st = assign(r, n, &n->targets, items.u.list->v[i]);
        if (st == NPG_OK)
            st = npg_texec_body(r, &n->body);
        npg_tscope_pop(r);
        NPG_TRY(st);
        if (r->ctl == NPG_CTL_BREAK) {
            r->ctl = 0;
            break;
        }
        r->ctl = 0;
    }
    return NPG_OK;
}

npg_status npg_tcall_loop(npg_trender *r, npg_tloop *loop, const npg_targs *args, npg_tval *out) {
    if (!loop->node->flag)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "loop() can only be called inside a recursive for-loop");
    if (args->n_pos != 1 || args->n_kw)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "loop() takes exactly one iterable");
    if (r->depth >= NPG_MAX_CALL_DEPTH)
        return npg_tr_fail(r, NPG_ERR_LIMIT, "recursion deeper than %d levels", NPG_MAX_CALL_DEPTH);
    npg_strbuf sb = {0}, *saved = r->out;
    int saved_ctl = r->ctl;
    r->out = &sb;
    r->depth++;
    r->ctl = 0;
    npg_status st = run_for(r, loop->node, args->pos[0], loop->depth0 + 1);
    r->depth--;
    r->ctl = saved_ctl;
    r->out = saved;
    if (st == NPG_OK)
        st = npg_tstr_from_sb(r, &sb, out);
    npg_strbuf_free(&sb);
    return st;
}

/* ---- macros ---- */

npg_status npg_tcall_macro(npg_trender *r, const npg_tmacro *m, const npg_targs *args, npg_tval *out) {
    const npg_tnode *def = m->def;
    const npg_tnodes *params = &def->targets;
    if (r->depth >= NPG_MAX_CALL_DEPTH)
        return npg_tr_fail(r, NPG_ERR_LIMIT, "macro calls nested deeper than %d levels", NPG_MAX_CALL_DEPTH);
    NPG_TRY(npg_tr_step(r));
    const npg_tnode *call_site = r->at;
    npg_tscope *saved_scope = r->scope;
    npg_tscope *s = npg_tarena_alloc(r->arena, sizeof *s);
    NPG_CHECK_ALLOC(s);
    s->parent = m->closure;
    r->scope = s;
    r->depth++;
    npg_status st = NPG_OK;
    /* positional, then keywords, then defaults (evaluated in the macro's scope, so they may use
     * earlier parameters); surplus arguments go to varargs / kwargs */
    bool *bound = npg_tarena_alloc(r->arena, params->n + 1);
    npg_tval varargs, kwargs;
    if (!bound)
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory calling a macro");
    if (st == NPG_OK)
        st = npg_tv_new_list(r->arena, NPG_TV_LIST, 0, &varargs);
    if (st == NPG_OK)
        st = npg_tv_new_dict(r->arena, NPG_TV_DICT, 0, &kwargs);
    for (size_t i = 0; i < args->n_pos && st == NPG_OK; i++) {
        if (i < params->n) {
            st = npg_tscope_set(r, s, params->v[i]->name, args->pos[i]);
            bound[i] = true;
        } else {
            st = npg_tlist_push(r->arena, varargs.u.list, args->pos[i]);
        }
    }
    for (size_t k = 0; k < args->n_kw && st == NPG_OK; k++) {
        npg_tstr kn = args->kw_names[k];
        size_t i = 0;
        while (i < params->n && !(params->v[i]->name.n == kn.n && memcmp(params->v[i]->name.p, kn.p, kn.n) == 0))
            i++;
        if (i < params->n && bound[i]) {
            r->at = call_site;
            st = npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "macro '%.*s' got multiple values for argument '%.*s'",
                             (int)def->name.n, def->name.p, (int)kn.n, kn.p);
        } else if (i < params->n) {
            st = npg_tscope_set(r, s, params->v[i]->name, args->kw[k]);
            bound[i] = true;
        } else {
            st = npg_tdict_set(r->arena, kwargs.u.dict, npg_tv_str(kn.p, kn.n), args->kw[k]);
        }
    }
    for (size_t i = 0; i < params->n && st == NPG_OK; i++) {
        if (bound[i])
            continue;
        npg_tval v = npg_tv_undef(params->v[i]->name.p, params->v[i]->name.n, NULL);
        if (def->list2.n > i && def->list2.v[i])
            st = npg_teval(r, def->list2.v[i], &v);
        if (st == NPG_OK)
            st = npg_tscope_set(r, s, params->v[i]->name, v);
    }
    if (st == NPG_OK)
        st = npg_tscope_set(r, s, (npg_tstr){"varargs", 7}, varargs);
    if (st == NPG_OK)
        st = npg_tscope_set(r, s, (npg_tstr){"kwargs", 6}, kwargs);
    if (st == NPG_OK && m->caller.kind != NPG_TV_UNDEFINED)
        st = npg_tscope_set(r, s, (npg_tstr){"caller", 6}, m->caller);
    int saved_ctl = r->ctl;
    r->ctl = 0;
    if (st == NPG_OK)
        st = capture(r, &def->body, out);
    r->ctl = saved_ctl;
    r->depth--;
    r->scope = saved_scope;
    return st;
}

static npg_status exec_macro(npg_trender *r, const npg_tnode *n) {
    npg_tmacro *m = npg_tarena_alloc(r->arena, sizeof *m);
    NPG_CHECK_ALLOC(m);
    m->def = n;
    m->closure = r->scope;
    m->caller = npg_tv_undef(NULL, 0, NULL);
    npg_tval v = {.kind = NPG_TV_MACRO, .u.macro = m};
    return npg_tscope_set(r, r->scope, n->name, v);
}

/* {% call(params) macro(args) %}body{% endcall %}: calls the macro with `caller` bound to the body. */
static npg_status exec_call_block(npg_trender *r, const npg_tnode *n) {
    const npg_tnode *call = n->a;
    npg_tval callee;
    NPG_TRY(npg_teval(r, call->a, &callee));
    r->at = n;
    if (callee.kind != NPG_TV_MACRO)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "{%% call %%} needs a macro, got '%s'",
                           npg_tv_type_name(callee));
    npg_tmacro *caller = npg_tarena_alloc(r->arena, sizeof *caller);
    npg_tmacro *with_caller = npg_tarena_alloc(r->arena, sizeof *with_caller);
    NPG_CHECK_ALLOC(caller && with_caller);
    caller->def = n; /* S_CALL_BLOCK: targets / list2 are the caller's parameters, body its body */
    caller->closure = r->scope;
    caller->caller = npg_tv_undef(NULL, 0, NULL);
    *with_caller = *callee.u.macro;
    with_caller->caller.kind = NPG_TV_MACRO;
    with_caller->caller.u.macro = caller;
    npg_targs args = {0};
    npg_tval *pos = npg_tarena_alloc(r->arena, (call->list.n + 1) * sizeof *pos);
    npg_tval *kw = npg_tarena_alloc(r->arena, (call->list2.n + 1) * sizeof *kw);
    NPG_CHECK_ALLOC(pos && kw);
    for (size_t i = 0; i < call->list.n; i++)
        NPG_TRY(npg_teval(r, call->list.v[i], &pos[i]));
    for (size_t i = 0; i < call->list2.n; i++)
        NPG_TRY(npg_teval(r, call->list2.v[i], &kw[i]));
    args.pos = pos;
    args.n_pos = call->list.n;
    args.kw = kw;
    args.kw_names = call->kw_names;
    args.n_kw = call->list2.n;
    npg_tval out;
    r->at = n;
    NPG_TRY(npg_tcall_macro(r, with_caller, &args, &out));
    return append_value(r, out);
}

/* ---- statements ---- */

static npg_status exec_node(npg_trender *r, const npg_tnode *n) {
    r->at = n;
    NPG_TRY(npg_tr_step(r));
    switch (n->kind) {
    case NPG_S_TEXT: return npg_strbuf_append(r->out, n->value.u.s.p, n->value.u.s.n);
    case NPG_S_PRINT: {
        npg_tval v;
        NPG_TRY(npg_teval(r, n->a, &v));
        return append_value(r, v);
    }
    case NPG_S_IF: {
        npg_tval c;
        NPG_TRY(npg_teval(r, n->a, &c));
        return npg_texec_body(r, npg_tv_truthy(c) ? &n->body : &n->orelse);
    }
    case NPG_S_FOR: {
        npg_tval it;
        NPG_TRY(npg_teval(r, n->a, &it));
        return run_for(r, n, it, 0);
    }
    case NPG_S_SET: {
        npg_tval v;
        NPG_TRY(npg_teval(r, n->a, &v));
        if (n->attr.p)
            return set_namespace_attr(r, n, v);
        return assign(r, n, &n->targets, v);
    }
    case NPG_S_SET_BLOCK: {
        npg_tval v;
        NPG_TRY(capture(r, &n->body, &v));
        if (n->c)
            NPG_TRY(npg_teval_filter_chain(r, n->c, v, &v));
        if (n->attr.p)
            return set_namespace_attr(r, n, v);
        return assign(r, n, &n->targets, v);
    }
    case NPG_S_MACRO: return exec_macro(r, n);
    case NPG_S_CALL_BLOCK: return exec_call_block(r, n);
    case NPG_S_FILTER_BLOCK: {
        npg_tval v;
        NPG_TRY(capture(r, &n->body, &v));
        NPG_TRY(npg_teval_filter_chain(r, n->c, v, &v));
        return append_value(r, v);
    }
    case NPG_S_WITH: {
        npg_tval *vals = npg_tarena_alloc(r->arena, (n->list.n + 1) * sizeof *vals);
        NPG_CHECK_ALLOC(vals);
        for (size_t i = 0; i < n->list.n; i++)
            NPG_TRY(npg_teval(r, n->list.v[i], &vals[i]));
        NPG_TRY(npg_tscope_push(r));
        npg_status st = NPG_OK;
        for (size_t i = 0; i < n->targets.n && st == NPG_OK; i++)
            st = npg_tscope_set(r, r->scope, n->targets.v[i]->name, vals[i]);
        if (st == NPG_OK)
            st = npg_texec_body(r, &n->body);
        npg_tscope_pop(r);
        return st;
    }
    case NPG_S_BREAK: r->ctl = NPG_CTL_BREAK; return NPG_OK;
    case NPG_S_CONTINUE: r->ctl = NPG_CTL_CONTINUE; return NPG_OK;
    default: return npg_tr_fail(r, NPG_ERR_INTERNAL, "expression node executed as a statement");
    }
}
