/* value.h — the values a template computes with, and the arena that owns them.
 *
 * Values mirror the Python objects Jinja2 works on inside Hugging Face's sandbox: Undefined, None,
 * bool, int, float, str, list, tuple, dict, jinja2's Namespace, macros, callables (globals and bound
 * methods) and the `loop` object. An npg_tval is a small tagged struct passed by value; strings,
 * lists and dicts point into an arena.
 *
 * Ownership: everything a value points to lives in one npg_tarena (the render's arena, or the
 * template's arena for literals) and is released all at once when that arena is freed. Nothing is
 * reference counted and nothing is freed piecemeal. Lists and dicts are never mutated once built,
 * except a namespace's dict (which `{% set ns.x = ... %}` writes) and scope dicts, so sharing a
 * pointer between values is always safe.
 *
 * Strings are byte ranges of UTF-8 (not NUL-terminated in general; the arena helpers do add a NUL).
 */
#ifndef NPG_TEMPLATE_VALUE_H
#define NPG_TEMPLATE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/strbuf.h"
#include "npugen.h"

/* ---- arena ---- */

typedef struct npg_tarena npg_tarena;

npg_status npg_tarena_create(npg_tarena **out);
void npg_tarena_free(npg_tarena *a);
/* Zeroed, 16-byte aligned; NULL when out of memory. */
void *npg_tarena_alloc(npg_tarena *a, size_t n);
/* Copy of n bytes plus a NUL; NULL when out of memory. */
char *npg_tarena_strndup(npg_tarena *a, const char *s, size_t n);

/* ---- values ---- */

typedef struct npg_tstr {
    const char *p;
    size_t n;
} npg_tstr;

typedef enum npg_tv_kind {
    NPG_TV_UNDEFINED = 0, /* u.undef says what was looked up, for error messages */
    NPG_TV_NONE,
    NPG_TV_BOOL,
    NPG_TV_INT,
    NPG_TV_FLOAT,
    NPG_TV_STRING,
    NPG_TV_LIST,
    NPG_TV_TUPLE, /* same storage as a list; differs in repr and equality */
    NPG_TV_DICT,
    NPG_TV_NAMESPACE, /* jinja2's namespace(): a mutable dict of attributes */
    NPG_TV_MACRO,
    NPG_TV_FUNCTION, /* a global (range, namespace, ...) or a bound method ('abc'.upper) */
    NPG_TV_LOOP,
} npg_tv_kind;

typedef struct npg_tlist npg_tlist;
typedef struct npg_tdict npg_tdict;
typedef struct npg_tmacro npg_tmacro;
typedef struct npg_tfunc npg_tfunc;
typedef struct npg_tloop npg_tloop;

typedef struct npg_tval {
    npg_tv_kind kind;
    union {
        bool b;
        int64_t i;
        double f;
        npg_tstr s;
        npg_tlist *list;
        npg_tdict *dict;
        const npg_tmacro *macro;
        const npg_tfunc *fn;
        npg_tloop *loop;
        struct {
            npg_tstr name;     /* the missing name or attribute ("" when unknown) */
            const char *owner; /* "dict object" for a missing key, NULL for a missing variable */
        } undef;
    } u;
} npg_tval;

struct npg_tlist {
    npg_tval *v;
    size_t n, cap;
};

/* Insertion-ordered, like a Python dict; keys compared with npg_tv_eq (linear search: template
 * dicts hold a handful of keys). */
struct npg_tdict {
    npg_tval *keys;
    npg_tval *vals;
    size_t n, cap;
};

/* ---- constructors ---- */

static inline npg_tval npg_tv_none(void) {
    npg_tval v = {.kind = NPG_TV_NONE};
    return v;
}
static inline npg_tval npg_tv_bool(bool b) {
    npg_tval v = {.kind = NPG_TV_BOOL, .u.b = b};
    return v;
}
static inline npg_tval npg_tv_int(int64_t i) {
    npg_tval v = {.kind = NPG_TV_INT, .u.i = i};
    return v;
}
static inline npg_tval npg_tv_float(double f) {
    npg_tval v = {.kind = NPG_TV_FLOAT, .u.f = f};
    return v;
}
static inline npg_tval npg_tv_str(const char *p, size_t n) {
    npg_tval v = {.kind = NPG_TV_STRING, .u.s = {p, n}};
    return v;
}
static inline npg_tval npg_tv_undef(const char *name, size_t n, const char *owner) {
    npg_tval v = {.kind = NPG_TV_UNDEFINED};
    v.u.undef.name.p = name;
    v.u.undef.name.n = n;
    v.u.undef.owner = owner;
    return v;
}

/* A new empty list (kind LIST or TUPLE) / dict; NULL pointer inside on out of memory is reported
 * as NPG_ERR_OUT_OF_MEMORY. */
npg_status npg_tv_new_list(npg_tarena *a, npg_tv_kind kind, size_t reserve, npg_tval *out);
npg_status npg_tv_new_dict(npg_tarena *a, npg_tv_kind kind, size_t reserve, npg_tval *out);
npg_status npg_tlist_push(npg_tarena *a, npg_tlist *l, npg_tval v);
/* Replaces the value of an equal key or appends. */
npg_status npg_tdict_set(npg_tarena *a, npg_tdict *d, npg_tval key, npg_tval val);
/* NULL when absent. */
npg_tval *npg_tdict_get(const npg_tdict *d, npg_tval key);
npg_tval *npg_tdict_get_str(const npg_tdict *d, const char *key, size_t n);
/* A string value copied into the arena. */
npg_status npg_tv_strdup(npg_tarena *a, const char *p, size_t n, npg_tval *out);

/* ---- Python semantics ---- */

bool npg_tv_truthy(npg_tval v);
/* Python ==: numbers across int/float/bool, strings by bytes, lists/tuples/dicts structurally,
 * Undefined equals Undefined, everything else by identity. */
bool npg_tv_eq(npg_tval a, npg_tval b);
bool npg_tv_is_number(npg_tval v);   /* bool, int or float */
double npg_tv_to_double(npg_tval v); /* for numbers */
/* Python's type name of a value, as its error messages print it ('str', 'int', 'NoneType'). */
const char *npg_tv_type_name(npg_tval v);

/* str(v) / repr(v) appended to sb. str(Undefined) is "". */
npg_status npg_tv_append_str(npg_strbuf *sb, npg_tval v);
npg_status npg_tv_append_repr(npg_strbuf *sb, npg_tval v);
/* Python repr of a float ("1.0", "0.1", "1e-05", "inf"). */
npg_status npg_tv_append_float(npg_strbuf *sb, double f);
/* str(v) as a string value: strings are returned as they are, others are formatted into the arena. */
npg_status npg_tv_to_string(npg_tarena *a, npg_tval v, npg_tstr *out);

/* Python json.dumps(v, ensure_ascii=False, indent=indent, separators=(item_sep, key_sep),
 * sort_keys=sort_keys). indent NULL = single line. Fails (NPG_ERR_INVALID_ARGUMENT) on values JSON
 * cannot hold (Undefined, macros, ...). */
npg_status npg_tv_append_json(npg_strbuf *sb, npg_tval v, const char *indent, npg_tstr item_sep, npg_tstr key_sep,
                              bool sort_keys);

#endif
