/* eval.h — the render state and the evaluator's internal interface (shared by eval.c, ops.c,
 * exec.c, filters.c, tests.c, methods.c and globals.c; not used outside the template folder).
 *
 * Scoping follows Jinja2: the template's top level is one scope over the render context; each
 * for-loop iteration, macro call and `with` block pushes a fresh scope whose parent is the
 * enclosing one (a macro's parent is the scope it was defined in), so `{% set %}` inside a loop
 * is gone after the iteration while `if` blocks share their enclosing scope. Names not found in any
 * scope fall back to the globals (range, namespace, raise_exception, strftime_now, ...). */
#ifndef NPG_TEMPLATE_EVAL_H
#define NPG_TEMPLATE_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "core/strbuf.h"
#include "template/ast.h"
#include "template/value.h"

typedef struct npg_tscope {
    struct npg_tscope *parent;
    npg_tdict vars; /* string keys */
} npg_tscope;

struct npg_tmacro {
    const npg_tnode *def; /* S_MACRO, or S_CALL_BLOCK for `caller` */
    npg_tscope *closure;  /* the scope the macro was defined in */
    npg_tval caller;      /* for S_CALL_BLOCK invocations: UNDEFINED otherwise */
};

typedef enum npg_tfn_kind {
    NPG_FN_RANGE,
    NPG_FN_NAMESPACE,
    NPG_FN_DICT,
    NPG_FN_RAISE_EXCEPTION,
    NPG_FN_STRFTIME_NOW,
    NPG_FN_JOINER, /* joiner(sep): returns a callable giving "" the first time, sep after */
    NPG_FN_JOINER_CALL,
    NPG_FN_METHOD,     /* self.name(...) */
    NPG_FN_LOOP_CYCLE, /* loop.cycle(...) */
    NPG_FN_LOOP_CHANGED,
} npg_tfn_kind;

struct npg_tfunc {
    npg_tfn_kind kind;
    npg_tstr name;
    npg_tval self;  /* the receiver of a method, the loop, or the joiner/cycler state */
    int64_t *state; /* joiner / cycler position (arena) */
};

struct npg_tloop {
    const npg_tlist *items;
    size_t index0;
    int depth0;            /* 0 for the outermost loop of a recursive for */
    const npg_tnode *node; /* the S_FOR, for recursive loop(...) calls */
    npg_tval last_changed; /* loop.changed() memory */
    bool changed_called;
};

typedef struct npg_trender {
    npg_tarena *arena;
    npg_strbuf *out;     /* where text goes (swapped while capturing macro / block-set output) */
    npg_tscope *scope;   /* innermost scope */
    const npg_tnode *at; /* innermost node being evaluated (error positions) */
    bool has_now;
    int64_t now;       /* seconds since the epoch for strftime_now, when has_now */
    int depth;         /* macro / recursive-loop nesting */
    int eval_depth;    /* npg_teval recursion, bounded by NPG_MAX_EVAL_DEPTH */
    int ctl;           /* pending loop control: 0, NPG_CTL_BREAK or NPG_CTL_CONTINUE */
    int64_t steps;     /* statements, loop iterations and calls so far */
    int64_t max_steps; /* their bound (npg_template_options.max_steps or NPG_MAX_STEPS) */
} npg_trender;

/* A template is code from a model folder: bound its work and output so a hostile or broken one
 * fails with NPG_ERR_LIMIT instead of hanging or exhausting memory. */
enum {
    NPG_CTL_BREAK = 1,
    NPG_CTL_CONTINUE = 2,
    NPG_MAX_CALL_DEPTH = 128,
    NPG_MAX_STEPS = 1000 * 1000,
    NPG_MAX_OUTPUT = 64 << 20,
    NPG_MAX_EVAL_DEPTH = 3000, /* ~1 KB of stack per level with ASan: well inside 8 MB */
};

/* Positional and keyword arguments of a call. */
typedef struct npg_targs {
    const npg_tval *pos;
    size_t n_pos;
    const npg_tstr *kw_names;
    const npg_tval *kw;
    size_t n_kw;
} npg_targs;

/* Counts one unit of work; NPG_ERR_LIMIT past max_steps or NPG_MAX_OUTPUT bytes of output. */
npg_status npg_tr_step(npg_trender *r);

/* "line L, column C: <message>" at r->at. */
npg_status npg_tr_fail(const npg_trender *r, npg_status status, const char *fmt, ...) NPG_PRINTF(3, 4);
/* The error for using an undefined value (jinja2's UndefinedError text). */
npg_status npg_tr_undefined_error(const npg_trender *r, npg_tval undef);

/* Binds args to `params` by position then keyword. Unset slots are UNDEFINED with a NULL name.
 * Unknown keywords and surplus positionals are errors naming `what`. */
npg_status npg_targs_bind(const npg_trender *r, const char *what, const npg_targs *a, const char *const *params,
                          size_t n_params, npg_tval *out);
static inline bool npg_targ_given(npg_tval v) { return !(v.kind == NPG_TV_UNDEFINED && v.u.undef.name.p == NULL); }

/* ---- scopes (eval.c) ---- */
npg_status npg_tscope_push(npg_trender *r);
void npg_tscope_pop(npg_trender *r);
npg_status npg_tscope_set(npg_trender *r, npg_tscope *s, npg_tstr name, npg_tval v);
/* Looks a name up through the scopes, then the globals; UNDEFINED when absent. */
npg_tval npg_tscope_lookup(const npg_trender *r, npg_tstr name);

/* ---- expressions (eval.c) ---- */
npg_status npg_teval(npg_trender *r, const npg_tnode *n, npg_tval *out);
npg_status npg_tcall(npg_trender *r, npg_tval callee, const npg_targs *args, npg_tval *out);
/* Applies the filter chain `chain` (whose innermost operand is NULL) to `input`. */
npg_status npg_teval_filter_chain(npg_trender *r, const npg_tnode *chain, npg_tval input, npg_tval *out);

/* ---- operators and access (ops.c) ---- */
npg_status npg_tbinary(npg_trender *r, int op, npg_tval a, npg_tval b, npg_tval *out);
/* a <op> b for ==, !=, <, <=, >, >=, in, not in. */
npg_status npg_tcompare(npg_trender *r, int op, npg_tval a, npg_tval b, bool *out);
/* -1 / 0 / 1 for orderable pairs (numbers, strings, lists); an error otherwise. */
npg_status npg_tcompare_order(npg_trender *r, npg_tval a, npg_tval b, int *out);
npg_status npg_tcontains(npg_trender *r, npg_tval container, npg_tval item, bool *out);
/* obj.name (attribute first, then item) and obj[key] (item first, then attribute), sandboxed. */
npg_status npg_tgetattr(npg_trender *r, npg_tval obj, npg_tstr name, npg_tval *out);
npg_status npg_tgetitem(npg_trender *r, npg_tval obj, npg_tval key, npg_tval *out);
npg_status npg_tslice(npg_trender *r, npg_tval obj, npg_tval start, npg_tval stop, npg_tval step, npg_tval *out);
/* The items of an iterable as a list (dict: keys, string: characters); `what` names the use. */
npg_status npg_titerate(npg_trender *r, npg_tval v, const char *what, npg_tval *out_list);
/* len(v); an error for values without a length. Undefined has length 0. */
npg_status npg_tlength(npg_trender *r, npg_tval v, int64_t *out);
/* str(v) into the arena. */
npg_status npg_tstring(npg_trender *r, npg_tval v, npg_tstr *out);
/* A new string value from a strbuf's contents (copied into the arena). */
npg_status npg_tstr_from_sb(npg_trender *r, const npg_strbuf *sb, npg_tval *out);

/* ---- statements (exec.c) ---- */
npg_status npg_texec_body(npg_trender *r, const npg_tnodes *body);
/* Calls a macro (or a call block's caller) and returns its output as a string. */
npg_status npg_tcall_macro(npg_trender *r, const npg_tmacro *m, const npg_targs *args, npg_tval *out);
/* loop(iterable) inside a recursive for. */
npg_status npg_tcall_loop(npg_trender *r, npg_tloop *loop, const npg_targs *args, npg_tval *out);

/* ---- filters, tests, methods, globals ---- */
npg_status npg_tfilter_apply(npg_trender *r, int fid, npg_tval in, const npg_targs *args, npg_tval *out);
npg_status npg_ttest_apply(npg_trender *r, int tid, npg_tval in, const npg_targs *args, bool *out);
/* The bound method `name` of obj (strings, lists, dicts), or false when it has none. */
bool npg_tmethod_lookup(npg_tval obj, npg_tstr name);
npg_status npg_tmethod_call(npg_trender *r, const npg_tfunc *fn, const npg_targs *args, npg_tval *out);
/* The global function `name`, or NULL. */
const npg_tfunc *npg_tglobal_lookup(npg_tstr name);
npg_status npg_tglobal_call(npg_trender *r, const npg_tfunc *fn, const npg_targs *args, npg_tval *out);

#endif
