/* parser.c — expressions of the template language, following jinja2.parser's grammar and
 * precedence (lowest first):
 *
 *   condexpr   or_expr ('if' or_expr ('else' condexpr)?)*
 *   or/and/not
 *   compare    math1 (('=='|'!='|'<'|'<='|'>'|'>='|'in'|'not in') math1)*   (chained like Python)
 *   math1      concat (('+'|'-') concat)*
 *   concat     math2 ('~' math2)*
 *   math2      pow (('*'|'/'|'//'|'%') pow)*
 *   pow        unary ('**' unary)*          (left-associative, as in Jinja2)
 *   unary      ('-'|'+') unary  |  primary postfix* ; then filters '|f(args)', tests 'is [not] t args', calls
 *
 * so `-x | abs` is abs(-x), `a + b | trim` is a + (b|trim) and `not x is defined` is not (x is defined).
 * Statements are in parser_stmt.c. */
#include <string.h>

#include "core/error.h"
#include "template/lexer.h"
#include "template/parser_internal.h"

enum { MAX_DEPTH = 200, MAX_CHAIN = 1000 };

const npg_ttoken *npg_tp_cur(const npg_tparser *p) { return &p->toks[p->pos]; }

const npg_ttoken *npg_tp_peek(const npg_tparser *p, size_t k) {
    size_t i = p->pos + k;
    return &p->toks[i < p->n ? i : p->n - 1];
}

void npg_tp_next(npg_tparser *p) {
    if (p->pos + 1 < p->n)
        p->pos++;
}

bool npg_tp_is_op(const npg_tparser *p, npg_top op) {
    const npg_ttoken *t = npg_tp_cur(p);
    return t->kind == NPG_TK_OP && t->op == op;
}

bool npg_tp_is_name(const npg_tparser *p, const char *word) {
    const npg_ttoken *t = npg_tp_cur(p);
    return t->kind == NPG_TK_NAME && t->s.n == strlen(word) && memcmp(t->s.p, word, t->s.n) == 0;
}

bool npg_tp_skip_op(npg_tparser *p, npg_top op) {
    if (!npg_tp_is_op(p, op))
        return false;
    npg_tp_next(p);
    return true;
}

bool npg_tp_skip_name(npg_tparser *p, const char *word) {
    if (!npg_tp_is_name(p, word))
        return false;
    npg_tp_next(p);
    return true;
}

void npg_tp_describe(const npg_ttoken *t, char *buf, size_t size) {
    switch (t->kind) {
    case NPG_TK_EOF: snprintf(buf, size, "end of template"); break;
    case NPG_TK_DATA: snprintf(buf, size, "template data"); break;
    case NPG_TK_VAR_BEGIN: snprintf(buf, size, "'{{'"); break;
    case NPG_TK_VAR_END: snprintf(buf, size, "end of print statement"); break;
    case NPG_TK_BLOCK_BEGIN: snprintf(buf, size, "'{%%'"); break;
    case NPG_TK_BLOCK_END: snprintf(buf, size, "end of statement block"); break;
    case NPG_TK_NAME: snprintf(buf, size, "'%.*s'", (int)(t->s.n > 40 ? 40 : t->s.n), t->s.p); break;
    case NPG_TK_STRING: snprintf(buf, size, "string literal"); break;
    case NPG_TK_INT:
    case NPG_TK_FLOAT: snprintf(buf, size, "number"); break;
    case NPG_TK_OP: snprintf(buf, size, "'%s'", npg_top_name(t->op)); break;
    }
}

npg_status npg_tp_fail_at(const npg_ttoken *t, const char *fmt, const char *arg) {
    char msg[256];
    /* Every caller passes a literal format with exactly one %s (see parser_internal.h). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(msg, sizeof msg, fmt, arg);
#pragma GCC diagnostic pop
    return npg_fail(NPG_ERR_FORMAT, "line %d, column %d: %s", t->line, t->col, msg);
}

npg_status npg_tp_unexpected(const npg_tparser *p, const char *expected) {
    char got[64], msg[200];
    npg_tp_describe(npg_tp_cur(p), got, sizeof got);
    snprintf(msg, sizeof msg, "expected %s, got %s", expected, got);
    return npg_tp_fail_at(npg_tp_cur(p), "%s", msg);
}

npg_status npg_tp_expect_op(npg_tparser *p, npg_top op) {
    if (npg_tp_skip_op(p, op))
        return NPG_OK;
    char want[16];
    snprintf(want, sizeof want, "'%s'", npg_top_name(op));
    return npg_tp_unexpected(p, want);
}

npg_status npg_tp_new(npg_tparser *p, npg_tnode_kind kind, const npg_ttoken *at, npg_tnode **out) {
    npg_tnode *n = npg_tarena_alloc(p->arena, sizeof *n);
    NPG_CHECK_ALLOC(n);
    n->kind = kind;
    n->fid = -1;
    n->line = at->line;
    n->col = at->col;
    *out = n;
    return NPG_OK;
}

npg_status npg_tp_push(npg_tparser *p, npg_tnvec *v, npg_tnode *node) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4;
        npg_tnode **nv = npg_tarena_alloc(p->arena, cap * sizeof *nv);
        NPG_CHECK_ALLOC(nv);
        if (v->n)
            memcpy(nv, v->v, v->n * sizeof *nv);
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = node;
    return NPG_OK;
}

npg_tnodes npg_tp_done(const npg_tnvec *v) {
    npg_tnodes r = {v->v, v->n};
    return r;
}

/* ---- expressions ---- */

static npg_status parse_or(npg_tparser *p, npg_tnode **out);
static npg_status parse_unary(npg_tparser *p, bool with_filter, npg_tnode **out);

static npg_status enter(npg_tparser *p) {
    if (++p->depth > MAX_DEPTH)
        return npg_tp_fail_at(npg_tp_cur(p), "%s", "expression nested too deeply");
    return NPG_OK;
}

/* One more link in a left-deep chain (`a + b + ...`, `x|f|g`, `x[0][0]`, `x.a.b`): a 25,000-link
 * chain once overflowed the evaluator's stack. The count is per top-level expression. */
static npg_status link(npg_tparser *p, const npg_ttoken *at) {
    if (++p->chain > MAX_CHAIN)
        return npg_fail(NPG_ERR_LIMIT,
                        "line %d, column %d: expression too long (more than %d operators, filters, tests, calls, "
                        "subscripts and attributes)",
                        at->line, at->col, MAX_CHAIN);
    return NPG_OK;
}

npg_status npg_tp_expression(npg_tparser *p, bool with_condexpr, npg_tnode **out) {
    if (p->depth == 0)
        p->chain = 0;
    NPG_TRY(enter(p));
    npg_tnode *e1;
    NPG_TRY(parse_or(p, &e1));
    while (with_condexpr && npg_tp_is_name(p, "if")) {
        npg_tnode *n;
        NPG_TRY(npg_tp_new(p, NPG_E_COND, npg_tp_cur(p), &n));
        npg_tp_next(p);
        NPG_TRY(parse_or(p, &n->a));
        n->b = e1;
        if (npg_tp_skip_name(p, "else"))
            NPG_TRY(npg_tp_expression(p, true, &n->c));
        e1 = n;
    }
    p->depth--;
    *out = e1;
    return NPG_OK;
}

static npg_status binary(npg_tparser *p, const npg_ttoken *at, int op, npg_tnode *a, npg_tnode *b, npg_tnode **out) {
    NPG_TRY(link(p, at));
    npg_tnode *n;
    NPG_TRY(npg_tp_new(p, NPG_E_BINARY, at, &n));
    n->op = op;
    n->a = a;
    n->b = b;
    *out = n;
    return NPG_OK;
}

static npg_status parse_not(npg_tparser *p, npg_tnode **out);

static npg_status parse_and(npg_tparser *p, npg_tnode **out) {
    NPG_TRY(parse_not(p, out));
    while (npg_tp_is_name(p, "and")) {
        const npg_ttoken *at = npg_tp_cur(p);
        npg_tp_next(p);
        npg_tnode *r;
        NPG_TRY(parse_not(p, &r));
        NPG_TRY(binary(p, at, NPG_BOP_AND, *out, r, out));
    }
    return NPG_OK;
}

static npg_status parse_or(npg_tparser *p, npg_tnode **out) {
    NPG_TRY(parse_and(p, out));
    while (npg_tp_is_name(p, "or")) {
        const npg_ttoken *at = npg_tp_cur(p);
        npg_tp_next(p);
        npg_tnode *r;
        NPG_TRY(parse_and(p, &r));
        NPG_TRY(binary(p, at, NPG_BOP_OR, *out, r, out));
    }
    return NPG_OK;
}

static npg_status parse_math1(npg_tparser *p, npg_tnode **out);

static npg_status parse_compare(npg_tparser *p, npg_tnode **out) {
    npg_tnode *first;
    NPG_TRY(parse_math1(p, &first));
    npg_tnvec ops = {0};
    uint8_t kinds[64];
    const npg_ttoken *at = npg_tp_cur(p);
    for (;;) {
        const npg_ttoken *t = npg_tp_cur(p);
        int k = -1;
        if (t->kind == NPG_TK_OP) {
            switch (t->op) {
            case NPG_OP_EQ: k = NPG_CMP_EQ; break;
            case NPG_OP_NE: k = NPG_CMP_NE; break;
            case NPG_OP_LT: k = NPG_CMP_LT; break;
            case NPG_OP_LTEQ: k = NPG_CMP_LE; break;
            case NPG_OP_GT: k = NPG_CMP_GT; break;
            case NPG_OP_GTEQ: k = NPG_CMP_GE; break;
            default: break;
            }
            if (k >= 0)
                npg_tp_next(p);
        } else if (npg_tp_is_name(p, "in")) {
            k = NPG_CMP_IN;
            npg_tp_next(p);
        } else if (npg_tp_is_name(p, "not")) {
            const npg_ttoken *nx = npg_tp_peek(p, 1);
            if (nx->kind == NPG_TK_NAME && nx->s.n == 2 && memcmp(nx->s.p, "in", 2) == 0) {
                k = NPG_CMP_NOTIN;
                npg_tp_next(p);
                npg_tp_next(p);
            }
        }
        if (k < 0)
            break;
        NPG_TRY(link(p, t));
        if (ops.n >= sizeof kinds)
            return npg_tp_fail_at(t, "%s", "too many chained comparisons");
        kinds[ops.n] = (uint8_t)k;
        npg_tnode *r;
        NPG_TRY(parse_math1(p, &r));
        NPG_TRY(npg_tp_push(p, &ops, r));
    }
    if (ops.n == 0) {
        *out = first;
        return NPG_OK;
    }
    npg_tnode *n;
    NPG_TRY(npg_tp_new(p, NPG_E_COMPARE, at, &n));
    n->a = first;
    n->list = npg_tp_done(&ops);
    n->cmp_ops = npg_tarena_alloc(p->arena, ops.n);
    NPG_CHECK_ALLOC(n->cmp_ops);
    memcpy(n->cmp_ops, kinds, ops.n);
    *out = n;
    return NPG_OK;
}

static npg_status parse_not(npg_tparser *p, npg_tnode **out) {
    if (npg_tp_is_name(p, "not")) {
        NPG_TRY(enter(p));
        npg_tnode *n;
        NPG_TRY(npg_tp_new(p, NPG_E_UNARY, npg_tp_cur(p), &n));
        npg_tp_next(p);
        n->op = NPG_UOP_NOT;
        NPG_TRY(parse_not(p, &n->a));
        p->depth--;
        *out = n;
        return NPG_OK;
    }
    return parse_compare(p, out);
}

static npg_status parse_pow(npg_tparser *p, npg_tnode **out) {
    NPG_TRY(parse_unary(p, true, out));
    while (npg_tp_is_op(p, NPG_OP_POW)) {
        const npg_ttoken *at = npg_tp_cur(p);
        npg_tp_next(p);
        npg_tnode *r;
        NPG_TRY(parse_unary(p, true, &r));
        NPG_TRY(binary(p, at, NPG_BOP_POW, *out, r, out));
    }
    return NPG_OK;
}

static npg_status parse_math2(npg_tparser *p, npg_tnode **out) {
    NPG_TRY(parse_pow(p, out));
    for (;;) {
        const npg_ttoken *at = npg_tp_cur(p);
        int op;
        if (npg_tp_is_op(p, NPG_OP_MUL))
            op = NPG_BOP_MUL;
        else if (npg_tp_is_op(p, NPG_OP_DIV))
            op = NPG_BOP_DIV;
        else if (npg_tp_is_op(p, NPG_OP_FLOORDIV))
            op = NPG_BOP_FLOORDIV;
        else if (npg_tp_is_op(p, NPG_OP_MOD))
            op = NPG_BOP_MOD;
        else
            return NPG_OK;
        npg_tp_next(p);
        npg_tnode *r;
        NPG_TRY(parse_pow(p, &r));
        NPG_TRY(binary(p, at, op, *out, r, out));
    }
}

static npg_status parse_concat(npg_tparser *p, npg_tnode **out) {
    NPG_TRY(parse_math2(p, out));
    while (npg_tp_is_op(p, NPG_OP_TILDE)) {
        const npg_ttoken *at = npg_tp_cur(p);
        npg_tp_next(p);
        npg_tnode *r;
        NPG_TRY(parse_math2(p, &r));
        NPG_TRY(binary(p, at, NPG_BOP_CONCAT, *out, r, out));
    }
    return NPG_OK;
}

static npg_status parse_math1(npg_tparser *p, npg_tnode **out) {
    NPG_TRY(parse_concat(p, out));
    for (;;) {
        const npg_ttoken *at = npg_tp_cur(p);
        int op;
        if (npg_tp_is_op(p, NPG_OP_ADD))
            op = NPG_BOP_ADD;
        else if (npg_tp_is_op(p, NPG_OP_SUB))
            op = NPG_BOP_SUB;
        else
            return NPG_OK;
        npg_tp_next(p);
        npg_tnode *r;
        NPG_TRY(parse_concat(p, &r));
        NPG_TRY(binary(p, at, op, *out, r, out));
    }
}

static npg_status parse_const(npg_tparser *p, const npg_ttoken *t, npg_tval v, npg_tnode **out) {
    NPG_TRY(npg_tp_new(p, NPG_E_CONST, t, out));
    (*out)->value = v;
    return NPG_OK;
}

/* '[' items ']' or '{' key: value, ... '}' with optional trailing commas. */
static npg_status parse_list_or_dict(npg_tparser *p, bool dict, npg_tnode **out) {
    const npg_ttoken *at = npg_tp_cur(p);
    npg_tp_next(p);
    npg_top close = dict ? NPG_OP_RBRACE : NPG_OP_RBRACKET;
    npg_tnvec keys = {0}, vals = {0};
    while (!npg_tp_is_op(p, close)) {
        if (keys.n)
            NPG_TRY(npg_tp_expect_op(p, NPG_OP_COMMA));
        if (npg_tp_is_op(p, close))
            break;
        npg_tnode *k;
        NPG_TRY(npg_tp_expression(p, true, &k));
        NPG_TRY(npg_tp_push(p, &keys, k));
        if (dict) {
            npg_tnode *v;
            NPG_TRY(npg_tp_expect_op(p, NPG_OP_COLON));
            NPG_TRY(npg_tp_expression(p, true, &v));
            NPG_TRY(npg_tp_push(p, &vals, v));
        }
    }
    npg_tp_next(p);
    NPG_TRY(npg_tp_new(p, dict ? NPG_E_DICT : NPG_E_LIST, at, out));
    (*out)->list = npg_tp_done(&keys);
    (*out)->list2 = npg_tp_done(&vals);
    return NPG_OK;
}

static npg_status parse_primary(npg_tparser *p, npg_tnode **out) {
    const npg_ttoken *t = npg_tp_cur(p);
    switch (t->kind) {
    case NPG_TK_NAME: {
        npg_tp_next(p);
        if ((t->s.n == 4 && (memcmp(t->s.p, "true", 4) == 0 || memcmp(t->s.p, "True", 4) == 0)))
            return parse_const(p, t, npg_tv_bool(true), out);
        if ((t->s.n == 5 && (memcmp(t->s.p, "false", 5) == 0 || memcmp(t->s.p, "False", 5) == 0)))
            return parse_const(p, t, npg_tv_bool(false), out);
        if ((t->s.n == 4 && (memcmp(t->s.p, "none", 4) == 0 || memcmp(t->s.p, "None", 4) == 0)))
            return parse_const(p, t, npg_tv_none(), out);
        NPG_TRY(npg_tp_new(p, NPG_E_NAME, t, out));
        (*out)->name = t->s;
        return NPG_OK;
    }
    case NPG_TK_STRING: {
        /* adjacent literals concatenate: 'a' "b" == 'ab' */
        npg_tp_next(p);
        npg_tval v = npg_tv_str(t->s.p, t->s.n);
        if (npg_tp_cur(p)->kind == NPG_TK_STRING) {
            npg_strbuf sb = {0};
            npg_status st = npg_strbuf_append(&sb, t->s.p, t->s.n);
            while (st == NPG_OK && npg_tp_cur(p)->kind == NPG_TK_STRING) {
                st = npg_strbuf_append(&sb, npg_tp_cur(p)->s.p, npg_tp_cur(p)->s.n);
                npg_tp_next(p);
            }
            if (st == NPG_OK)
                st = npg_tv_strdup(p->arena, sb.data, sb.len, &v);
            npg_strbuf_free(&sb);
            NPG_TRY(st);
        }
        return parse_const(p, t, v, out);
    }
    case NPG_TK_INT: npg_tp_next(p); return parse_const(p, t, npg_tv_int(t->i), out);
    case NPG_TK_FLOAT: npg_tp_next(p); return parse_const(p, t, npg_tv_float(t->f), out);
    case NPG_TK_OP:
        if (t->op == NPG_OP_LPAREN) {
            npg_tp_next(p);
            NPG_TRY(npg_tp_tuple(p, true, true, NULL, out));
            return npg_tp_expect_op(p, NPG_OP_RPAREN);
        }
        if (t->op == NPG_OP_LBRACKET || t->op == NPG_OP_LBRACE)
            return parse_list_or_dict(p, t->op == NPG_OP_LBRACE, out);
        break;
    default: break;
    }
    return npg_tp_unexpected(p, "an expression");
}

npg_status npg_tp_tuple(npg_tparser *p, bool with_condexpr, bool explicit_parens, const char *extra_end,
                        npg_tnode **out) {
    const npg_ttoken *at = npg_tp_cur(p);
    npg_tnvec items = {0};
    bool is_tuple = false;
    for (;;) {
        if (items.n)
            NPG_TRY(npg_tp_expect_op(p, NPG_OP_COMMA));
        const npg_ttoken *t = npg_tp_cur(p);
        if (t->kind == NPG_TK_VAR_END || t->kind == NPG_TK_BLOCK_END || npg_tp_is_op(p, NPG_OP_RPAREN) ||
            (extra_end && npg_tp_is_name(p, extra_end)))
            break;
        npg_tnode *e;
        NPG_TRY(npg_tp_expression(p, with_condexpr, &e));
        NPG_TRY(npg_tp_push(p, &items, e));
        if (npg_tp_is_op(p, NPG_OP_COMMA))
            is_tuple = true;
        else
            break;
    }
    if (!is_tuple) {
        if (items.n) {
            *out = items.v[0];
            return NPG_OK;
        }
        if (!explicit_parens)
            return npg_tp_unexpected(p, "an expression");
    }
    NPG_TRY(npg_tp_new(p, NPG_E_TUPLE, at, out));
    (*out)->list = npg_tp_done(&items);
    return NPG_OK;
}

/* '(' args ')' into node->list / kw_names / list2. */
npg_status npg_tp_call_args(npg_tparser *p, npg_tnode *node) {
    NPG_TRY(npg_tp_expect_op(p, NPG_OP_LPAREN));
    npg_tnvec args = {0}, kwv = {0};
    npg_tstr kwn[64];
    while (!npg_tp_is_op(p, NPG_OP_RPAREN)) {
        if (args.n || kwv.n)
            NPG_TRY(npg_tp_expect_op(p, NPG_OP_COMMA));
        if (npg_tp_is_op(p, NPG_OP_RPAREN))
            break;
        if (npg_tp_is_op(p, NPG_OP_MUL) || npg_tp_is_op(p, NPG_OP_POW))
            return npg_tp_fail_at(npg_tp_cur(p), "%s", "*args and **kwargs in calls are not supported");
        const npg_ttoken *t = npg_tp_cur(p);
        const npg_ttoken *nx = npg_tp_peek(p, 1);
        npg_tnode *e;
        if (t->kind == NPG_TK_NAME && nx->kind == NPG_TK_OP && nx->op == NPG_OP_ASSIGN) {
            if (kwv.n >= sizeof kwn / sizeof kwn[0])
                return npg_tp_fail_at(t, "%s", "too many keyword arguments");
            npg_tp_next(p);
            npg_tp_next(p);
            NPG_TRY(npg_tp_expression(p, true, &e));
            kwn[kwv.n] = t->s;
            NPG_TRY(npg_tp_push(p, &kwv, e));
        } else {
            if (kwv.n)
                return npg_tp_fail_at(t, "%s", "positional argument follows keyword argument");
            NPG_TRY(npg_tp_expression(p, true, &e));
            NPG_TRY(npg_tp_push(p, &args, e));
        }
    }
    npg_tp_next(p);
    node->list = npg_tp_done(&args);
    node->list2 = npg_tp_done(&kwv);
    if (kwv.n) {
        node->kw_names = npg_tarena_alloc(p->arena, kwv.n * sizeof *node->kw_names);
        NPG_CHECK_ALLOC(node->kw_names);
        memcpy(node->kw_names, kwn, kwv.n * sizeof *kwn);
    }
    return NPG_OK;
}

static npg_status parse_call(npg_tparser *p, npg_tnode **node) {
    npg_tnode *n;
    NPG_TRY(npg_tp_new(p, NPG_E_CALL, npg_tp_cur(p), &n));
    /* errors inside the call point at the callee (`raise_exception(...)` at its name) */
    n->line = (*node)->line;
    n->col = (*node)->col;
    n->a = *node;
    NPG_TRY(npg_tp_call_args(p, n));
    *node = n;
    return NPG_OK;
}

/* One subscript: an expression, or a slice [start]:[stop][:[step]]. */
static npg_status parse_subscript(npg_tparser *p, npg_tnode *obj, npg_tnode **out) {
    const npg_ttoken *at = npg_tp_cur(p);
    npg_tnode *start = NULL;
    if (!npg_tp_is_op(p, NPG_OP_COLON)) {
        NPG_TRY(npg_tp_expression(p, true, &start));
        if (!npg_tp_is_op(p, NPG_OP_COLON)) {
            NPG_TRY(npg_tp_new(p, NPG_E_GETITEM, at, out));
            (*out)->a = obj;
            (*out)->b = start;
            return NPG_OK;
        }
    }
    npg_tp_next(p); /* ':' */
    npg_tnode *n;
    NPG_TRY(npg_tp_new(p, NPG_E_SLICE, at, &n));
    n->a = obj;
    n->b = start;
    if (!npg_tp_is_op(p, NPG_OP_COLON) && !npg_tp_is_op(p, NPG_OP_RBRACKET) && !npg_tp_is_op(p, NPG_OP_COMMA))
        NPG_TRY(npg_tp_expression(p, true, &n->c));
    if (npg_tp_skip_op(p, NPG_OP_COLON))
        if (!npg_tp_is_op(p, NPG_OP_RBRACKET) && !npg_tp_is_op(p, NPG_OP_COMMA))
            NPG_TRY(npg_tp_expression(p, true, &n->d));
    *out = n;
    return NPG_OK;
}

static npg_status parse_postfix(npg_tparser *p, npg_tnode **node) {
    for (;;) {
        const npg_ttoken *t = npg_tp_cur(p);
        if (npg_tp_is_op(p, NPG_OP_DOT) || npg_tp_is_op(p, NPG_OP_LBRACKET) || npg_tp_is_op(p, NPG_OP_LPAREN))
            NPG_TRY(link(p, t));
        if (npg_tp_is_op(p, NPG_OP_DOT)) {
            npg_tp_next(p);
            const npg_ttoken *a = npg_tp_cur(p);
            npg_tnode *n;
            if (a->kind == NPG_TK_NAME) {
                NPG_TRY(npg_tp_new(p, NPG_E_GETATTR, t, &n));
                n->a = *node;
                n->name = a->s;
            } else if (a->kind == NPG_TK_INT) {
                NPG_TRY(npg_tp_new(p, NPG_E_GETITEM, t, &n));
                n->a = *node;
                NPG_TRY(parse_const(p, a, npg_tv_int(a->i), &n->b));
            } else {
                return npg_tp_unexpected(p, "an attribute name");
            }
            npg_tp_next(p);
            *node = n;
        } else if (npg_tp_is_op(p, NPG_OP_LBRACKET)) {
            npg_tp_next(p);
            NPG_TRY(parse_subscript(p, *node, node));
            if (npg_tp_is_op(p, NPG_OP_COMMA))
                return npg_tp_fail_at(npg_tp_cur(p), "%s", "multiple subscripts are not supported");
            NPG_TRY(npg_tp_expect_op(p, NPG_OP_RBRACKET));
        } else if (npg_tp_is_op(p, NPG_OP_LPAREN)) {
            NPG_TRY(parse_call(p, node));
        } else {
            return NPG_OK;
        }
    }
}

static npg_status fail_unknown(const npg_ttoken *t, const char *fmt, npg_tstr name) {
    char word[64];
    snprintf(word, sizeof word, "%.*s", (int)(name.n > 48 ? 48 : name.n), name.p);
    return npg_tp_fail_at(t, fmt, word);
}

/* '|' name(.name)* [(args)] ... ; with inline, the first filter has no leading '|'. */
npg_status npg_tp_filters(npg_tparser *p, npg_tnode *operand, bool inline_first, npg_tnode **out) {
    npg_tnode *node = operand;
    while (inline_first || npg_tp_is_op(p, NPG_OP_PIPE)) {
        if (!inline_first)
            npg_tp_next(p);
        inline_first = false;
        const npg_ttoken *t = npg_tp_cur(p);
        NPG_TRY(link(p, t));
        if (t->kind != NPG_TK_NAME)
            return npg_tp_unexpected(p, "a filter name");
        npg_tnode *f;
        NPG_TRY(npg_tp_new(p, NPG_E_FILTER, t, &f));
        f->a = node;
        f->name = t->s;
        npg_tp_next(p);
        while (npg_tp_is_op(p, NPG_OP_DOT) && npg_tp_peek(p, 1)->kind == NPG_TK_NAME) {
            const npg_ttoken *part = npg_tp_peek(p, 1);
            f->name.n = (size_t)(part->s.p + part->s.n - f->name.p);
            npg_tp_next(p);
            npg_tp_next(p);
        }
        f->fid = npg_tfilter_lookup(f->name.p, f->name.n);
        if (f->fid < 0) /* jinja2 rejects unknown filters when compiling, even in dead branches */
            return fail_unknown(t, "no filter named '%s'", f->name);
        if (npg_tp_is_op(p, NPG_OP_LPAREN))
            NPG_TRY(npg_tp_call_args(p, f));
        node = f;
    }
    *out = node;
    return NPG_OK;
}

static npg_status parse_test(npg_tparser *p, npg_tnode **node) {
    const npg_ttoken *at = npg_tp_cur(p);
    NPG_TRY(link(p, at));
    npg_tp_next(p); /* 'is' */
    npg_tnode *n;
    NPG_TRY(npg_tp_new(p, NPG_E_TEST, at, &n));
    n->a = *node;
    if (npg_tp_skip_name(p, "not"))
        n->flag = 1;
    const npg_ttoken *t = npg_tp_cur(p);
    if (t->kind != NPG_TK_NAME)
        return npg_tp_unexpected(p, "a test name");
    n->name = t->s;
    n->line = t->line;
    n->col = t->col;
    npg_tp_next(p);
    n->fid = npg_ttest_lookup(n->name.p, n->name.n);
    if (n->fid < 0)
        return fail_unknown(t, "no test named '%s'", n->name);
    const npg_ttoken *c = npg_tp_cur(p);
    if (npg_tp_is_op(p, NPG_OP_LPAREN)) {
        NPG_TRY(npg_tp_call_args(p, n));
    } else if ((c->kind == NPG_TK_NAME || c->kind == NPG_TK_STRING || c->kind == NPG_TK_INT ||
                c->kind == NPG_TK_FLOAT || npg_tp_is_op(p, NPG_OP_LBRACKET) || npg_tp_is_op(p, NPG_OP_LBRACE)) &&
               !npg_tp_is_name(p, "else") && !npg_tp_is_name(p, "or") && !npg_tp_is_name(p, "and")) {
        /* one argument without parentheses: `is divisibleby 3`, `is equalto 'x'` */
        if (npg_tp_is_name(p, "is"))
            return npg_tp_fail_at(c, "%s", "you cannot chain multiple tests with is");
        npg_tnode *arg;
        NPG_TRY(parse_primary(p, &arg));
        NPG_TRY(parse_postfix(p, &arg));
        npg_tnvec args = {0};
        NPG_TRY(npg_tp_push(p, &args, arg));
        n->list = npg_tp_done(&args);
    }
    *node = n;
    return NPG_OK;
}

static npg_status parse_unary(npg_tparser *p, bool with_filter, npg_tnode **out) {
    NPG_TRY(enter(p));
    const npg_ttoken *t = npg_tp_cur(p);
    npg_tnode *node;
    if (npg_tp_is_op(p, NPG_OP_SUB) || npg_tp_is_op(p, NPG_OP_ADD)) {
        NPG_TRY(npg_tp_new(p, NPG_E_UNARY, t, &node));
        node->op = t->op == NPG_OP_SUB ? NPG_UOP_NEG : NPG_UOP_POS;
        npg_tp_next(p);
        NPG_TRY(parse_unary(p, false, &node->a));
    } else {
        NPG_TRY(parse_primary(p, &node));
    }
    NPG_TRY(parse_postfix(p, &node));
    while (with_filter) {
        if (npg_tp_is_op(p, NPG_OP_PIPE))
            NPG_TRY(npg_tp_filters(p, node, false, &node));
        else if (npg_tp_is_name(p, "is"))
            NPG_TRY(parse_test(p, &node));
        else if (npg_tp_is_op(p, NPG_OP_LPAREN)) {
            NPG_TRY(link(p, npg_tp_cur(p)));
            NPG_TRY(parse_call(p, &node));
        } else
            break;
    }
    p->depth--;
    *out = node;
    return NPG_OK;
}
