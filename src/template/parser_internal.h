/* parser_internal.h — the token cursor shared by the expression parser (parser.c) and the
 * statement parser (parser_stmt.c). Not used outside the template folder. */
#ifndef NPG_TEMPLATE_PARSER_INTERNAL_H
#define NPG_TEMPLATE_PARSER_INTERNAL_H

#include <stdbool.h>
#include <stdio.h>

#include "template/ast.h"
#include "template/lexer.h"

typedef struct npg_tparser {
    const npg_ttoken *toks;
    size_t n, pos; /* toks[n - 1] is NPG_TK_EOF; pos never passes it */
    npg_tarena *arena;
    int depth;       /* expression nesting, bounded so hostile input cannot exhaust the stack */
    int chain;       /* operators, filters, tests, calls, subscripts in the current expression: each
                      * adds a level to the tree the evaluator recurses over, so it is bounded too */
    int loop_depth;  /* enclosing for-loops (break/continue are only valid inside one) */
    int block_depth; /* nested block tags, bounded like `depth` */
} npg_tparser;

/* A growable node list in the arena (old arrays are abandoned in the arena when it grows). */
typedef struct npg_tnvec {
    npg_tnode **v;
    size_t n, cap;
} npg_tnvec;

const npg_ttoken *npg_tp_cur(const npg_tparser *p);
const npg_ttoken *npg_tp_peek(const npg_tparser *p, size_t k);
void npg_tp_next(npg_tparser *p);
bool npg_tp_is_op(const npg_tparser *p, npg_top op);
bool npg_tp_is_name(const npg_tparser *p, const char *word);
bool npg_tp_skip_op(npg_tparser *p, npg_top op);
bool npg_tp_skip_name(npg_tparser *p, const char *word);
npg_status npg_tp_expect_op(npg_tparser *p, npg_top op);

void npg_tp_describe(const npg_ttoken *t, char *buf, size_t size);
/* NPG_ERR_FORMAT "line L, column C: " + fmt (one %s argument) */
/* fmt is a printf format with one %s, filled from arg. */
npg_status npg_tp_fail_at(const npg_ttoken *t, const char *fmt, const char *arg);
/* "expected <what>, got <current token>" */
npg_status npg_tp_unexpected(const npg_tparser *p, const char *expected);

npg_status npg_tp_new(npg_tparser *p, npg_tnode_kind kind, const npg_ttoken *at, npg_tnode **out);
npg_status npg_tp_push(npg_tparser *p, npg_tnvec *v, npg_tnode *node);
npg_tnodes npg_tp_done(const npg_tnvec *v);

npg_status npg_tp_expression(npg_tparser *p, bool with_condexpr, npg_tnode **out);
/* Comma-separated expressions: one expression, or an E_TUPLE when a comma appears. Stops before
 * `%}`, `}}`, ')' and the name extra_end (may be NULL). */
npg_status npg_tp_tuple(npg_tparser *p, bool with_condexpr, bool explicit_parens, const char *extra_end,
                        npg_tnode **out);
npg_status npg_tp_call_args(npg_tparser *p, npg_tnode *node);
npg_status npg_tp_filters(npg_tparser *p, npg_tnode *operand, bool inline_first, npg_tnode **out);

#endif
