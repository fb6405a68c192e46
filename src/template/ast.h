/* ast.h — the syntax tree of a compiled template.
 *
 * One node type for expressions and statements; which fields a kind uses:
 *
 *   kind           fields
 *   E_CONST        value (none/bool/int/float/string)
 *   E_NAME         name
 *   E_LIST/TUPLE   list
 *   E_DICT         list = keys, list2 = values
 *   E_GETATTR      a = object, name = attribute
 *   E_GETITEM      a = object, b = key
 *   E_SLICE        a = object, b = start, c = stop, d = step (each may be NULL)
 *   E_CALL         a = callee, list = positional args, kw_names/list2 = keyword args
 *   E_FILTER       a = operand (NULL inside `{% filter %}` / `{% set x | f %}`: the block's text),
 *                  name, fid, list / kw_names / list2 = arguments
 *   E_TEST         a = operand, name, fid, list / kw_names / list2 = arguments, flag = negated (`is not`)
 *   E_UNARY        op (NPG_UOP_*), a
 *   E_BINARY       op (NPG_BOP_*), a, b
 *   E_COMPARE      a = first operand, list = further operands, cmp_ops[i] compares list[i-1] (or a) with list[i]
 *   E_COND         a = condition, b = value when true, c = value when false (NULL: undefined)
 *
 *   S_TEXT         value (a string)
 *   S_PRINT        a
 *   S_IF           a = condition, body, orelse (`elif` is an S_IF alone in orelse)
 *   S_FOR          targets, a = iterable, b = `if` filter (NULL), body, orelse, flag = recursive
 *   S_SET          targets (names), or name + attr for `set ns.attr = ...`; a = value
 *   S_SET_BLOCK    targets (one name) or name + attr; c = filter chain applied to the captured text (NULL); body
 *   S_MACRO        name, targets = parameters, list2 = defaults (NULL entries where none), body
 *   S_CALL_BLOCK   a = the call (E_CALL), targets/list2 = caller parameters/defaults, body = caller body
 *   S_FILTER_BLOCK c = filter chain, body
 *   S_WITH         targets, list = values, body
 *   S_BREAK, S_CONTINUE
 *
 * All nodes and their arrays live in the template's arena. */
#ifndef NPG_TEMPLATE_AST_H
#define NPG_TEMPLATE_AST_H

#include <stddef.h>
#include <stdint.h>

#include "template/value.h"

typedef enum npg_tnode_kind {
    NPG_E_CONST,
    NPG_E_NAME,
    NPG_E_LIST,
    NPG_E_TUPLE,
    NPG_E_DICT,
    NPG_E_GETATTR,
    NPG_E_GETITEM,
    NPG_E_SLICE,
    NPG_E_CALL,
    NPG_E_FILTER,
    NPG_E_TEST,
    NPG_E_UNARY,
    NPG_E_BINARY,
    NPG_E_COMPARE,
    NPG_E_COND,
    NPG_S_TEXT,
    NPG_S_PRINT,
    NPG_S_IF,
    NPG_S_FOR,
    NPG_S_SET,
    NPG_S_SET_BLOCK,
    NPG_S_MACRO,
    NPG_S_CALL_BLOCK,
    NPG_S_FILTER_BLOCK,
    NPG_S_WITH,
    NPG_S_BREAK,
    NPG_S_CONTINUE,
} npg_tnode_kind;

typedef enum npg_tuop { NPG_UOP_NOT, NPG_UOP_NEG, NPG_UOP_POS } npg_tuop;

typedef enum npg_tbop {
    NPG_BOP_ADD,
    NPG_BOP_SUB,
    NPG_BOP_MUL,
    NPG_BOP_DIV,
    NPG_BOP_FLOORDIV,
    NPG_BOP_MOD,
    NPG_BOP_POW,
    NPG_BOP_CONCAT, /* ~ */
    NPG_BOP_AND,
    NPG_BOP_OR,
} npg_tbop;

typedef enum npg_tcmp {
    NPG_CMP_EQ,
    NPG_CMP_NE,
    NPG_CMP_LT,
    NPG_CMP_LE,
    NPG_CMP_GT,
    NPG_CMP_GE,
    NPG_CMP_IN,
    NPG_CMP_NOTIN,
} npg_tcmp;

typedef struct npg_tnode npg_tnode;

typedef struct npg_tnodes {
    npg_tnode **v;
    size_t n;
} npg_tnodes;

struct npg_tnode {
    npg_tnode_kind kind;
    int op;   /* npg_tuop / npg_tbop */
    int fid;  /* filter or test index; -1 when the name is unknown (an error when evaluated) */
    int flag; /* see the table above */
    int line, col;
    npg_tval value;
    npg_tstr name, attr;
    npg_tnode *a, *b, *c, *d;
    npg_tnodes list, list2, targets, body, orelse;
    npg_tstr *kw_names; /* parallel to list2 for E_CALL / E_FILTER / E_TEST */
    uint8_t *cmp_ops;   /* npg_tcmp per entry of list, for E_COMPARE */
};

/* A compiled template: the root statement list and the arena that holds the tree. */
typedef struct npg_tprogram {
    npg_tnodes body;
} npg_tprogram;

/* Parses tokens (from npg_tlex) into a tree allocated in `arena`. Errors: NPG_ERR_FORMAT
 * "line L, column C: ...". */
struct npg_ttoken;
npg_status npg_tparse(const struct npg_ttoken *tokens, size_t n_tokens, npg_tarena *arena, npg_tprogram *out);

/* Filter and test tables (filters.c / tests.c): index of a name, or -1. */
int npg_tfilter_lookup(const char *name, size_t n);
int npg_ttest_lookup(const char *name, size_t n);

#endif
