/* parser_stmt.c — statements: text, {{ output }}, and the tags for/if/set/macro/call/filter/with/
 * print/break/continue, plus transformers' {% generation %} (rendered as its body). Tags that need a
 * template loader (extends, block, include, import) are rejected with a clear message. */
#include <string.h>

#include "core/error.h"
#include "template/parser_internal.h"

static npg_status subparse(npg_tparser *p, const char *const *ends, const npg_ttoken *opener, npg_tnodes *out);

static bool name_is(const npg_ttoken *t, const char *word) {
    return t->kind == NPG_TK_NAME && t->s.n == strlen(word) && memcmp(t->s.p, word, t->s.n) == 0;
}

/* After a tag's header: '%}', the body up to one of `ends` (left as the current token), optionally
 * consuming that end name. */
static npg_status parse_body(npg_tparser *p, const char *const *ends, const npg_ttoken *opener, bool drop,
                             npg_tnodes *out) {
    npg_tp_skip_op(p, NPG_OP_COLON);
    if (npg_tp_cur(p)->kind != NPG_TK_BLOCK_END)
        return npg_tp_unexpected(p, "end of statement block");
    npg_tp_next(p);
    NPG_TRY(subparse(p, ends, opener, out));
    if (drop)
        npg_tp_next(p);
    return NPG_OK;
}

static npg_status check_assignable(const npg_ttoken *t) {
    static const char *const reserved[] = {"true", "false", "none", "True", "False", "None"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (name_is(t, reserved[i]))
            return npg_tp_fail_at(t, "can't assign to '%s'", reserved[i]);
    return NPG_OK;
}

static npg_status push_name(npg_tparser *p, npg_tnvec *v) {
    const npg_ttoken *t = npg_tp_cur(p);
    if (t->kind != NPG_TK_NAME)
        return npg_tp_unexpected(p, "a name");
    NPG_TRY(check_assignable(t));
    npg_tnode *n;
    NPG_TRY(npg_tp_new(p, NPG_E_NAME, t, &n));
    n->name = t->s;
    npg_tp_next(p);
    return npg_tp_push(p, v, n);
}

/* `a`, `a, b` or `(a, b)` (tuple targets unpack). */
static npg_status parse_targets(npg_tparser *p, const char *extra_end, npg_tnvec *v) {
    if (npg_tp_skip_op(p, NPG_OP_LPAREN)) {
        do {
            if (npg_tp_is_op(p, NPG_OP_RPAREN))
                break;
            NPG_TRY(push_name(p, v));
        } while (npg_tp_skip_op(p, NPG_OP_COMMA));
        return npg_tp_expect_op(p, NPG_OP_RPAREN);
    }
    NPG_TRY(push_name(p, v));
    while (npg_tp_is_op(p, NPG_OP_COMMA)) {
        npg_tp_next(p);
        if (npg_tp_cur(p)->kind != NPG_TK_NAME || (extra_end && npg_tp_is_name(p, extra_end)))
            break;
        NPG_TRY(push_name(p, v));
    }
    return NPG_OK;
}

static npg_status parse_for(npg_tparser *p, const npg_ttoken *at, npg_tnode **out) {
    npg_tnode *n;
    NPG_TRY(npg_tp_new(p, NPG_S_FOR, at, &n));
    npg_tnvec targets = {0};
    NPG_TRY(parse_targets(p, "in", &targets));
    n->targets = npg_tp_done(&targets);
    if (!npg_tp_skip_name(p, "in"))
        return npg_tp_unexpected(p, "'in'");
    NPG_TRY(npg_tp_tuple(p, false, false, "recursive", &n->a));
    if (npg_tp_skip_name(p, "if"))
        NPG_TRY(npg_tp_expression(p, true, &n->b));
    if (npg_tp_skip_name(p, "recursive"))
        n->flag = 1;
    static const char *const ends[] = {"endfor", "else", NULL};
    static const char *const end_only[] = {"endfor", NULL};
    p->loop_depth++;
    NPG_TRY(parse_body(p, ends, at, false, &n->body));
    p->loop_depth--;
    bool has_else = npg_tp_is_name(p, "else");
    npg_tp_next(p);
    if (has_else)
        NPG_TRY(parse_body(p, end_only, at, true, &n->orelse));
    *out = n;
    return NPG_OK;
}

static npg_status parse_if(npg_tparser *p, const npg_ttoken *at, npg_tnode **out) {
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    static const char *const end_only[] = {"endif", NULL};
    npg_tnode *n;
    NPG_TRY(npg_tp_new(p, NPG_S_IF, at, &n));
    *out = n;
    for (;;) {
        NPG_TRY(npg_tp_tuple(p, false, false, NULL, &n->a));
        NPG_TRY(parse_body(p, ends, at, false, &n->body));
        const npg_ttoken *t = npg_tp_cur(p);
        npg_tp_next(p);
        if (name_is(t, "elif")) {
            npg_tnode *e;
            NPG_TRY(npg_tp_new(p, NPG_S_IF, t, &e));
            npg_tnvec one = {0};
            NPG_TRY(npg_tp_push(p, &one, e));
            n->orelse = npg_tp_done(&one);
            n = e;
            continue;
        }
        if (name_is(t, "else"))
            NPG_TRY(parse_body(p, end_only, at, true, &n->orelse));
        return NPG_OK;
    }
}

/* `set ns.attr` (namespace target) or plain names. */
static npg_status parse_set_target(npg_tparser *p, npg_tnode *n) {
    const npg_ttoken *t = npg_tp_cur(p), *nx = npg_tp_peek(p, 1);
    if (t->kind == NPG_TK_NAME && nx->kind == NPG_TK_OP && nx->op == NPG_OP_DOT) {
        n->name = t->s;
        npg_tp_next(p);
        npg_tp_next(p);
        if (npg_tp_cur(p)->kind != NPG_TK_NAME)
            return npg_tp_unexpected(p, "an attribute name");
        n->attr = npg_tp_cur(p)->s;
        npg_tp_next(p);
        return NPG_OK;
    }
    npg_tnvec targets = {0};
    NPG_TRY(parse_targets(p, NULL, &targets));
    n->targets = npg_tp_done(&targets);
    return NPG_OK;
}

static npg_status parse_set(npg_tparser *p, const npg_ttoken *at, npg_tnode **out) {
    npg_tnode *n;
    NPG_TRY(npg_tp_new(p, NPG_S_SET, at, &n));
    NPG_TRY(parse_set_target(p, n));
    if (npg_tp_skip_op(p, NPG_OP_ASSIGN)) {
        NPG_TRY(npg_tp_tuple(p, true, false, NULL, &n->a));
        *out = n;
        return NPG_OK;
    }
    n->kind = NPG_S_SET_BLOCK;
    if (n->targets.n > 1)
        return npg_tp_fail_at(at, "%s", "a block set assigns one name");
    if (npg_tp_is_op(p, NPG_OP_PIPE))
        NPG_TRY(npg_tp_filters(p, NULL, false, &n->c));
    static const char *const ends[] = {"endset", NULL};
    NPG_TRY(parse_body(p, ends, at, true, &n->body));
    *out = n;
    return NPG_OK;
}

/* '(' name [= default], ... ')' into targets / list2. */
static npg_status parse_signature(npg_tparser *p, npg_tnode *n) {
    NPG_TRY(npg_tp_expect_op(p, NPG_OP_LPAREN));
    npg_tnvec names = {0}, defaults = {0};
    bool any_default = false;
    while (!npg_tp_is_op(p, NPG_OP_RPAREN)) {
        if (names.n)
            NPG_TRY(npg_tp_expect_op(p, NPG_OP_COMMA));
        if (npg_tp_is_op(p, NPG_OP_RPAREN))
            break;
        const npg_ttoken *t = npg_tp_cur(p);
        NPG_TRY(push_name(p, &names));
        npg_tnode *def = NULL;
        if (npg_tp_skip_op(p, NPG_OP_ASSIGN)) {
            NPG_TRY(npg_tp_expression(p, true, &def));
            any_default = true;
        } else if (any_default) {
            return npg_tp_fail_at(t, "%s", "non-default argument follows default argument");
        }
        NPG_TRY(npg_tp_push(p, &defaults, def));
    }
    npg_tp_next(p);
    n->targets = npg_tp_done(&names);
    n->list2 = npg_tp_done(&defaults);
    return NPG_OK;
}

static npg_status parse_macro(npg_tparser *p, const npg_ttoken *at, npg_tnode **out) {
    npg_tnode *n;
    NPG_TRY(npg_tp_new(p, NPG_S_MACRO, at, &n));
    const npg_ttoken *t = npg_tp_cur(p);
    if (t->kind != NPG_TK_NAME)
        return npg_tp_unexpected(p, "a macro name");
    NPG_TRY(check_assignable(t));
    n->name = t->s;
    npg_tp_next(p);
    NPG_TRY(parse_signature(p, n));
    static const char *const ends[] = {"endmacro", NULL};
    int saved = p->loop_depth;
    p->loop_depth = 0;
    NPG_TRY(parse_body(p, ends, at, true, &n->body));
    p->loop_depth = saved;
    *out = n;
    return NPG_OK;
}

static npg_status parse_call_block(npg_tparser *p, const npg_ttoken *at, npg_tnode **out) {
    npg_tnode *n;
    NPG_TRY(npg_tp_new(p, NPG_S_CALL_BLOCK, at, &n));
    if (npg_tp_is_op(p, NPG_OP_LPAREN))
        NPG_TRY(parse_signature(p, n));
    NPG_TRY(npg_tp_expression(p, true, &n->a));
    if (n->a->kind != NPG_E_CALL)
        return npg_tp_fail_at(at, "%s", "expected a macro call after 'call'");
    static const char *const ends[] = {"endcall", NULL};
    int saved = p->loop_depth;
    p->loop_depth = 0;
    NPG_TRY(parse_body(p, ends, at, true, &n->body));
    p->loop_depth = saved;
    *out = n;
    return NPG_OK;
}

static npg_status parse_with(npg_tparser *p, const npg_ttoken *at, npg_tnode **out) {
    npg_tnode *n;
    NPG_TRY(npg_tp_new(p, NPG_S_WITH, at, &n));
    npg_tnvec targets = {0}, values = {0};
    while (npg_tp_cur(p)->kind != NPG_TK_BLOCK_END) {
        if (targets.n)
            NPG_TRY(npg_tp_expect_op(p, NPG_OP_COMMA));
        NPG_TRY(push_name(p, &targets));
        NPG_TRY(npg_tp_expect_op(p, NPG_OP_ASSIGN));
        npg_tnode *v;
        NPG_TRY(npg_tp_expression(p, true, &v));
        NPG_TRY(npg_tp_push(p, &values, v));
    }
    n->targets = npg_tp_done(&targets);
    n->list = npg_tp_done(&values);
    static const char *const ends[] = {"endwith", NULL};
    NPG_TRY(parse_body(p, ends, at, true, &n->body));
    *out = n;
    return NPG_OK;
}

/* One tag (the current token is its name). Appends its node(s) to `v`; the caller expects '%}'. */
static npg_status parse_statement(npg_tparser *p, npg_tnvec *v) {
    const npg_ttoken *t = npg_tp_cur(p);
    if (t->kind != NPG_TK_NAME)
        return npg_tp_unexpected(p, "a tag name");
    npg_tp_next(p);
    npg_tnode *n = NULL;
    if (name_is(t, "for")) {
        NPG_TRY(parse_for(p, t, &n));
    } else if (name_is(t, "if")) {
        NPG_TRY(parse_if(p, t, &n));
    } else if (name_is(t, "set")) {
        NPG_TRY(parse_set(p, t, &n));
    } else if (name_is(t, "macro")) {
        NPG_TRY(parse_macro(p, t, &n));
    } else if (name_is(t, "call")) {
        NPG_TRY(parse_call_block(p, t, &n));
    } else if (name_is(t, "with")) {
        NPG_TRY(parse_with(p, t, &n));
    } else if (name_is(t, "filter")) {
        NPG_TRY(npg_tp_new(p, NPG_S_FILTER_BLOCK, t, &n));
        NPG_TRY(npg_tp_filters(p, NULL, true, &n->c));
        static const char *const ends[] = {"endfilter", NULL};
        NPG_TRY(parse_body(p, ends, t, true, &n->body));
    } else if (name_is(t, "print")) {
        while (npg_tp_cur(p)->kind != NPG_TK_BLOCK_END) {
            if (n)
                NPG_TRY(npg_tp_expect_op(p, NPG_OP_COMMA));
            NPG_TRY(npg_tp_new(p, NPG_S_PRINT, t, &n));
            NPG_TRY(npg_tp_expression(p, true, &n->a));
            NPG_TRY(npg_tp_push(p, v, n));
        }
        return NPG_OK;
    } else if (name_is(t, "break") || name_is(t, "continue")) {
        if (p->loop_depth == 0)
            return npg_tp_fail_at(t, "'%s' outside of a loop", name_is(t, "break") ? "break" : "continue");
        NPG_TRY(npg_tp_new(p, name_is(t, "break") ? NPG_S_BREAK : NPG_S_CONTINUE, t, &n));
    } else if (name_is(t, "generation")) {
        /* transformers' assistant-mask tag: renders its body unchanged */
        static const char *const ends[] = {"endgeneration", NULL};
        npg_tnodes body;
        NPG_TRY(parse_body(p, ends, t, true, &body));
        for (size_t i = 0; i < body.n; i++)
            NPG_TRY(npg_tp_push(p, v, body.v[i]));
        return NPG_OK;
    } else if (name_is(t, "extends") || name_is(t, "block") || name_is(t, "include") || name_is(t, "import") ||
               name_is(t, "from") || name_is(t, "autoescape")) {
        char word[32];
        snprintf(word, sizeof word, "%.*s", (int)t->s.n, t->s.p);
        return npg_tp_fail_at(t, "the '%s' tag is not supported in chat templates", word);
    } else {
        char word[48];
        snprintf(word, sizeof word, "%.*s", (int)(t->s.n > 40 ? 40 : t->s.n), t->s.p);
        return npg_tp_fail_at(t, "encountered unknown tag '%s'", word);
    }
    return npg_tp_push(p, v, n);
}

static bool in_ends(const npg_ttoken *t, const char *const *ends) {
    for (size_t i = 0; ends && ends[i]; i++)
        if (name_is(t, ends[i]))
            return true;
    return false;
}

static npg_status fail_ends(const npg_tparser *p, const npg_ttoken *at, const char *const *ends,
                            const npg_ttoken *opener) {
    char msg[256], got[64];
    size_t k = 0;
    npg_tp_describe(at, got, sizeof got);
    k += (size_t)snprintf(msg, sizeof msg, "unexpected %s; expected ", got);
    for (size_t i = 0; ends[i] && k < sizeof msg; i++)
        k += (size_t)snprintf(msg + k, sizeof msg - k, "%s'%s'", i ? " or " : "", ends[i]);
    if (opener && k < sizeof msg)
        snprintf(msg + k, sizeof msg - k, " to close the tag at line %d, column %d", opener->line, opener->col);
    (void)p;
    return npg_tp_fail_at(at, "%s", msg);
}

enum { MAX_BLOCK_DEPTH = 200 };

static npg_status subparse(npg_tparser *p, const char *const *ends, const npg_ttoken *opener, npg_tnodes *out) {
    npg_tnvec body = {0};
    if (++p->block_depth > MAX_BLOCK_DEPTH)
        return npg_tp_fail_at(npg_tp_cur(p), "%s", "blocks nested too deeply");
    for (;;) {
        const npg_ttoken *t = npg_tp_cur(p);
        if (t->kind == NPG_TK_EOF) {
            if (ends)
                return fail_ends(p, t, ends, opener);
            break;
        }
        if (t->kind == NPG_TK_DATA) {
            npg_tnode *n;
            NPG_TRY(npg_tp_new(p, NPG_S_TEXT, t, &n));
            n->value = npg_tv_str(t->s.p, t->s.n);
            NPG_TRY(npg_tp_push(p, &body, n));
            npg_tp_next(p);
        } else if (t->kind == NPG_TK_VAR_BEGIN) {
            npg_tp_next(p);
            npg_tnode *n;
            NPG_TRY(npg_tp_new(p, NPG_S_PRINT, t, &n));
            NPG_TRY(npg_tp_tuple(p, true, false, NULL, &n->a));
            if (npg_tp_cur(p)->kind != NPG_TK_VAR_END)
                return npg_tp_unexpected(p, "end of print statement '}}'");
            npg_tp_next(p);
            NPG_TRY(npg_tp_push(p, &body, n));
        } else if (t->kind == NPG_TK_BLOCK_BEGIN) {
            npg_tp_next(p);
            const npg_ttoken *name = npg_tp_cur(p);
            if (in_ends(name, ends))
                break;
            if (name->kind == NPG_TK_NAME && name->s.n > 3 && memcmp(name->s.p, "end", 3) == 0 && ends)
                return fail_ends(p, name, ends, opener);
            if (name->kind == NPG_TK_NAME && (name_is(name, "else") || name_is(name, "elif") ||
                                              (name->s.n > 3 && memcmp(name->s.p, "end", 3) == 0))) {
                char word[48];
                snprintf(word, sizeof word, "%.*s", (int)(name->s.n > 40 ? 40 : name->s.n), name->s.p);
                return npg_tp_fail_at(name, "unexpected '%s' with no open block", word);
            }
            NPG_TRY(parse_statement(p, &body));
            if (npg_tp_cur(p)->kind != NPG_TK_BLOCK_END)
                return npg_tp_unexpected(p, "end of statement block '%}'");
            npg_tp_next(p);
        } else {
            return npg_tp_unexpected(p, "template data or a tag");
        }
    }
    *out = npg_tp_done(&body);
    p->block_depth--;
    return NPG_OK;
}

npg_status npg_tparse(const npg_ttoken *tokens, size_t n_tokens, npg_tarena *arena, npg_tprogram *out) {
    npg_tparser p = {.toks = tokens, .n = n_tokens, .arena = arena};
    return subparse(&p, NULL, NULL, &out->body);
}
