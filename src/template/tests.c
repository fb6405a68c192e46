/* tests.c — jinja2's tests (`x is defined`, `x is string`, `x is divisibleby 3`, ...), with the
 * Python semantics of jinja2.tests: `is number` counts bools, `is integer` does not, `is true` /
 * `is false` are identity checks, and Undefined is iterable and a sequence (it defines __iter__,
 * __len__ and __getitem__). */
#include <string.h>

#include "template/eval.h"
#include "template/text.h"

typedef npg_status (*test_fn)(npg_trender *r, npg_tval v, const npg_targs *a, bool *out);

static npg_status need_args(npg_trender *r, const char *name, const npg_targs *a, size_t n) {
    if (a->n_pos + a->n_kw != n)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "test '%s' takes %zu argument(s), got %zu", name, n,
                           a->n_pos + a->n_kw);
    return NPG_OK;
}

static npg_tval arg0(const npg_targs *a) { return a->n_pos ? a->pos[0] : a->kw[0]; }

#define KIND_TEST(fname, cond)                                                           \
    static npg_status fname(npg_trender *r, npg_tval v, const npg_targs *a, bool *out) { \
        NPG_TRY(need_args(r, &#fname[2], a, 0));                                         \
        *out = (cond);                                                                   \
        return NPG_OK;                                                                   \
    }

KIND_TEST(t_defined, v.kind != NPG_TV_UNDEFINED)
KIND_TEST(t_undefined, v.kind == NPG_TV_UNDEFINED)
KIND_TEST(t_none, v.kind == NPG_TV_NONE)
KIND_TEST(t_boolean, v.kind == NPG_TV_BOOL)
KIND_TEST(t_true, v.kind == NPG_TV_BOOL && v.u.b)
KIND_TEST(t_false, v.kind == NPG_TV_BOOL && !v.u.b)
KIND_TEST(t_integer, v.kind == NPG_TV_INT)
KIND_TEST(t_float, v.kind == NPG_TV_FLOAT)
KIND_TEST(t_number, npg_tv_is_number(v))
KIND_TEST(t_string, v.kind == NPG_TV_STRING)
KIND_TEST(t_mapping, v.kind == NPG_TV_DICT)
KIND_TEST(t_iterable, v.kind == NPG_TV_UNDEFINED || v.kind == NPG_TV_STRING || v.kind == NPG_TV_LIST ||
                          v.kind == NPG_TV_TUPLE || v.kind == NPG_TV_DICT)
KIND_TEST(t_sequence, v.kind == NPG_TV_UNDEFINED || v.kind == NPG_TV_STRING || v.kind == NPG_TV_LIST ||
                          v.kind == NPG_TV_TUPLE || v.kind == NPG_TV_DICT)
KIND_TEST(t_callable, v.kind == NPG_TV_MACRO || v.kind == NPG_TV_FUNCTION || v.kind == NPG_TV_LOOP)
KIND_TEST(t_escaped, false)
KIND_TEST(t_lower, v.kind == NPG_TV_STRING && (v.u.s.n == 0 ? false : npg_py_is(v.u.s, 'l')))
KIND_TEST(t_upper, v.kind == NPG_TV_STRING && (v.u.s.n == 0 ? false : npg_py_is(v.u.s, 'u')))

static npg_status int_of(npg_trender *r, npg_tval v, const char *test, int64_t *out) {
    if (v.kind == NPG_TV_INT || v.kind == NPG_TV_BOOL) {
        *out = v.kind == NPG_TV_BOOL ? (int64_t)v.u.b : v.u.i;
        return NPG_OK;
    }
    if (v.kind == NPG_TV_UNDEFINED)
        return npg_tr_undefined_error(r, v);
    return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "test '%s' needs an integer, got '%s'", test, npg_tv_type_name(v));
}

static npg_status t_odd(npg_trender *r, npg_tval v, const npg_targs *a, bool *out) {
    int64_t i;
    NPG_TRY(need_args(r, "odd", a, 0));
    NPG_TRY(int_of(r, v, "odd", &i));
    *out = (i % 2) != 0;
    return NPG_OK;
}

static npg_status t_even(npg_trender *r, npg_tval v, const npg_targs *a, bool *out) {
    int64_t i;
    NPG_TRY(need_args(r, "even", a, 0));
    NPG_TRY(int_of(r, v, "even", &i));
    *out = (i % 2) == 0;
    return NPG_OK;
}

static npg_status t_divisibleby(npg_trender *r, npg_tval v, const npg_targs *a, bool *out) {
    int64_t i, d;
    NPG_TRY(need_args(r, "divisibleby", a, 1));
    NPG_TRY(int_of(r, v, "divisibleby", &i));
    NPG_TRY(int_of(r, arg0(a), "divisibleby", &d));
    if (d == 0)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "integer division or modulo by zero");
    *out = d == -1 || i % d == 0;
    return NPG_OK;
}

static npg_status cmp_test(npg_trender *r, const char *name, int op, npg_tval v, const npg_targs *a, bool *out) {
    NPG_TRY(need_args(r, name, a, 1));
    return npg_tcompare(r, op, v, arg0(a), out);
}

#define CMP_TEST(fname, op)                                                              \
    static npg_status fname(npg_trender *r, npg_tval v, const npg_targs *a, bool *out) { \
        return cmp_test(r, &#fname[2], op, v, a, out);                                   \
    }
CMP_TEST(t_eq, NPG_CMP_EQ)
CMP_TEST(t_ne, NPG_CMP_NE)
CMP_TEST(t_lt, NPG_CMP_LT)
CMP_TEST(t_le, NPG_CMP_LE)
CMP_TEST(t_gt, NPG_CMP_GT)
CMP_TEST(t_ge, NPG_CMP_GE)

static npg_status t_in(npg_trender *r, npg_tval v, const npg_targs *a, bool *out) {
    NPG_TRY(need_args(r, "in", a, 1));
    return npg_tcontains(r, arg0(a), v, out);
}

static npg_status t_sameas(npg_trender *r, npg_tval v, const npg_targs *a, bool *out) {
    NPG_TRY(need_args(r, "sameas", a, 1));
    npg_tval o = arg0(a);
    /* identity: singletons compare by value, containers by pointer */
    if (v.kind != o.kind)
        *out = false;
    else if (v.kind == NPG_TV_LIST || v.kind == NPG_TV_TUPLE)
        *out = v.u.list == o.u.list;
    else if (v.kind == NPG_TV_DICT || v.kind == NPG_TV_NAMESPACE)
        *out = v.u.dict == o.u.dict;
    else
        *out = npg_tv_eq(v, o);
    return NPG_OK;
}

static const struct {
    const char *name;
    test_fn fn;
} tests[] = {
    {"defined", t_defined},
    {"undefined", t_undefined},
    {"none", t_none},
    {"boolean", t_boolean},
    {"true", t_true},
    {"false", t_false},
    {"integer", t_integer},
    {"float", t_float},
    {"number", t_number},
    {"string", t_string},
    {"mapping", t_mapping},
    {"iterable", t_iterable},
    {"sequence", t_sequence},
    {"callable", t_callable},
    {"escaped", t_escaped},
    {"lower", t_lower},
    {"upper", t_upper},
    {"odd", t_odd},
    {"even", t_even},
    {"divisibleby", t_divisibleby},
    {"eq", t_eq},
    {"equalto", t_eq},
    {"==", t_eq},
    {"ne", t_ne},
    {"!=", t_ne},
    {"lt", t_lt},
    {"lessthan", t_lt},
    {"<", t_lt},
    {"le", t_le},
    {"<=", t_le},
    {"gt", t_gt},
    {"greaterthan", t_gt},
    {">", t_gt},
    {"ge", t_ge},
    {">=", t_ge},
    {"in", t_in},
    {"sameas", t_sameas},
};

int npg_ttest_lookup(const char *name, size_t n) {
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        if (strlen(tests[i].name) == n && memcmp(tests[i].name, name, n) == 0)
            return (int)i;
    return -1;
}

npg_status npg_ttest_apply(npg_trender *r, int tid, npg_tval in, const npg_targs *args, bool *out) {
    if (tid < 0 || (size_t)tid >= sizeof tests / sizeof tests[0])
        return npg_tr_fail(r, NPG_ERR_INTERNAL, "bad test index %d", tid);
    return tests[tid].fn(r, in, args, out);
}
