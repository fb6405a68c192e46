/* ops.c — operators, comparisons, membership, attribute/item access and slicing with the semantics
 * of Python under jinja2's ImmutableSandboxedEnvironment:
 *  - obj.name tries the attribute (a method such as dict.items) before the item; obj[key] the item
 *    before the attribute; a miss is Undefined, never an error;
 *  - any operation on Undefined other than printing, testing, iterating (empty) or `~` is an error;
 *  - methods that mutate (list.append, dict.update, ...) do not exist in the sandbox. */
#include <math.h>
#include <string.h>

#include "template/eval.h"
#include "template/text.h"

npg_status npg_tstring(npg_trender *r, npg_tval v, npg_tstr *out) { return npg_tv_to_string(r->arena, v, out); }

npg_status npg_tstr_from_sb(npg_trender *r, const npg_strbuf *sb, npg_tval *out) {
    return npg_tv_strdup(r->arena, sb->data ? sb->data : "", sb->len, out);
}

static const char *owner_name(npg_tval v) {
    switch (v.kind) {
    case NPG_TV_NONE: return "None";
    case NPG_TV_BOOL: return "bool object";
    case NPG_TV_INT: return "int object";
    case NPG_TV_FLOAT: return "float object";
    case NPG_TV_STRING: return "str object";
    case NPG_TV_LIST: return "list object";
    case NPG_TV_TUPLE: return "tuple object";
    case NPG_TV_DICT: return "dict object";
    case NPG_TV_NAMESPACE: return "jinja2.utils.Namespace object";
    case NPG_TV_MACRO: return "jinja2.runtime.Macro object";
    case NPG_TV_LOOP: return "jinja2.runtime.LoopContext object";
    default: return "object";
    }
}

/* ---- arithmetic ---- */

static bool is_intlike(npg_tval v) { return v.kind == NPG_TV_INT || v.kind == NPG_TV_BOOL; }
static int64_t as_int(npg_tval v) { return v.kind == NPG_TV_BOOL ? (int64_t)v.u.b : v.u.i; }

static npg_status type_error(npg_trender *r, const char *sym, npg_tval a, npg_tval b) {
    return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "unsupported operand type(s) for %s: '%s' and '%s'", sym,
                       npg_tv_type_name(a), npg_tv_type_name(b));
}

static npg_status concat_seq(npg_trender *r, npg_tval a, npg_tval b, npg_tval *out) {
    /* like repeat(): a doubling loop must stop with a clear error, not at the arena's limit */
    if (a.u.list->n + b.u.list->n > (NPG_MAX_OUTPUT >> 4))
        return npg_tr_fail(r, NPG_ERR_LIMIT, "list concatenation result too large (more than %d items)",
                           NPG_MAX_OUTPUT >> 4);
    NPG_TRY(npg_tv_new_list(r->arena, a.kind, a.u.list->n + b.u.list->n, out));
    for (size_t i = 0; i < a.u.list->n; i++)
        NPG_TRY(npg_tlist_push(r->arena, out->u.list, a.u.list->v[i]));
    for (size_t i = 0; i < b.u.list->n; i++)
        NPG_TRY(npg_tlist_push(r->arena, out->u.list, b.u.list->v[i]));
    return NPG_OK;
}

static npg_status repeat(npg_trender *r, npg_tval seq, int64_t times, npg_tval *out) {
    if (times < 0)
        times = 0;
    size_t unit = seq.kind == NPG_TV_STRING ? seq.u.s.n : seq.u.list->n;
    if (unit && (uint64_t)times > (64u << 20) / unit)
        return npg_tr_fail(r, NPG_ERR_LIMIT, "repetition result too large");
    if (seq.kind == NPG_TV_STRING) {
        char *p = npg_tarena_alloc(r->arena, unit * (size_t)times + 1);
        NPG_CHECK_ALLOC(p);
        for (int64_t i = 0; i < times; i++)
            memcpy(p + (size_t)i * unit, seq.u.s.p, unit);
        *out = npg_tv_str(p, unit * (size_t)times);
        return NPG_OK;
    }
    NPG_TRY(npg_tv_new_list(r->arena, seq.kind, unit * (size_t)times, out));
    for (int64_t i = 0; i < times; i++)
        for (size_t k = 0; k < unit; k++)
            NPG_TRY(npg_tlist_push(r->arena, out->u.list, seq.u.list->v[k]));
    return NPG_OK;
}

static npg_status arith(npg_trender *r, int op, npg_tval a, npg_tval b, npg_tval *out) {
    static const char *const syms[] = {"+", "-", "*", "/", "//", "%", "**"};
    if (!npg_tv_is_number(a) || !npg_tv_is_number(b))
        return type_error(r, syms[op], a, b);
    if (is_intlike(a) && is_intlike(b) && op != NPG_BOP_DIV) {
        int64_t x = as_int(a), y = as_int(b), z = 0;
        bool ovf = false;
        switch (op) {
        case NPG_BOP_ADD: ovf = __builtin_add_overflow(x, y, &z); break;
        case NPG_BOP_SUB: ovf = __builtin_sub_overflow(x, y, &z); break;
        case NPG_BOP_MUL: ovf = __builtin_mul_overflow(x, y, &z); break;
        case NPG_BOP_FLOORDIV:
        case NPG_BOP_MOD:
            if (y == 0)
                return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "integer division or modulo by zero");
            if (x == INT64_MIN && y == -1) {
                ovf = op == NPG_BOP_FLOORDIV;
                z = 0;
                break;
            }
            z = op == NPG_BOP_FLOORDIV ? x / y : x % y;
            if (op == NPG_BOP_FLOORDIV && (x % y != 0) && ((x < 0) != (y < 0)))
                z--;
            if (op == NPG_BOP_MOD && z != 0 && ((z < 0) != (y < 0)))
                z += y;
            break;
        case NPG_BOP_POW:
            if (y < 0) {
                *out = npg_tv_float(pow((double)x, (double)y));
                return NPG_OK;
            }
            z = 1;
            for (int64_t i = 0; i < y && !ovf; i++)
                ovf = __builtin_mul_overflow(z, x, &z);
            break;
        default: break;
        }
        if (ovf)
            return npg_tr_fail(r, NPG_ERR_LIMIT, "integer overflow in '%s'", syms[op]);
        *out = npg_tv_int(z);
        return NPG_OK;
    }
    double x = npg_tv_to_double(a), y = npg_tv_to_double(b), z = 0;
    switch (op) {
    case NPG_BOP_ADD: z = x + y; break;
    case NPG_BOP_SUB: z = x - y; break;
    case NPG_BOP_MUL: z = x * y; break;
    case NPG_BOP_DIV:
        if (y == 0)
            return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "division by zero");
        z = x / y;
        break;
    case NPG_BOP_FLOORDIV:
    case NPG_BOP_MOD: {
        if (y == 0)
            return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "float modulo");
        /* CPython's float_divmod */
        double m = fmod(x, y), d = (x - m) / y, fd;
        if (m != 0) {
            if ((y < 0) != (m < 0)) {
                m += y;
                d -= 1.0;
            }
        } else {
            m = copysign(0.0, y);
        }
        if (d != 0) {
            fd = floor(d);
            if (d - fd > 0.5)
                fd += 1.0;
        } else {
            fd = copysign(0.0, x / y);
        }
        z = op == NPG_BOP_MOD ? m : fd;
        break;
    }
    case NPG_BOP_POW: z = pow(x, y); break;
    default: break;
    }
    *out = npg_tv_float(z);
    return NPG_OK;
}

npg_status npg_tbinary(npg_trender *r, int op, npg_tval a, npg_tval b, npg_tval *out) {
    if (op == NPG_BOP_CONCAT) {
        npg_tstr x, y;
        NPG_TRY(npg_tstring(r, a, &x));
        NPG_TRY(npg_tstring(r, b, &y));
        if (x.n + y.n > NPG_MAX_OUTPUT)
            return npg_tr_fail(r, NPG_ERR_LIMIT, "string concatenation result larger than %d MiB",
                               NPG_MAX_OUTPUT >> 20);
        char *p = npg_tarena_alloc(r->arena, x.n + y.n + 1);
        NPG_CHECK_ALLOC(p);
        memcpy(p, x.p, x.n);
        memcpy(p + x.n, y.p, y.n);
        *out = npg_tv_str(p, x.n + y.n);
        return NPG_OK;
    }
    if (a.kind == NPG_TV_UNDEFINED)
        return npg_tr_undefined_error(r, a);
    if (b.kind == NPG_TV_UNDEFINED)
        return npg_tr_undefined_error(r, b);
    if (op == NPG_BOP_ADD) {
        if (a.kind == NPG_TV_STRING && b.kind == NPG_TV_STRING)
            return npg_tbinary(r, NPG_BOP_CONCAT, a, b, out);
        if ((a.kind == NPG_TV_LIST || a.kind == NPG_TV_TUPLE) && a.kind == b.kind)
            return concat_seq(r, a, b, out);
        if (a.kind == NPG_TV_STRING || a.kind == NPG_TV_LIST || a.kind == NPG_TV_TUPLE)
            return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "can only concatenate %s (not \"%s\") to %s",
                               npg_tv_type_name(a), npg_tv_type_name(b), npg_tv_type_name(a));
    }
    if (op == NPG_BOP_MUL) {
        bool seq_a = a.kind == NPG_TV_STRING || a.kind == NPG_TV_LIST || a.kind == NPG_TV_TUPLE;
        bool seq_b = b.kind == NPG_TV_STRING || b.kind == NPG_TV_LIST || b.kind == NPG_TV_TUPLE;
        if (seq_a && is_intlike(b))
            return repeat(r, a, as_int(b), out);
        if (seq_b && is_intlike(a))
            return repeat(r, b, as_int(a), out);
    }
    if (op == NPG_BOP_MOD && a.kind == NPG_TV_STRING) {
        npg_targs args = {0};
        if (b.kind == NPG_TV_TUPLE) {
            args.pos = b.u.list->v;
            args.n_pos = b.u.list->n;
        } else {
            args.pos = &b;
            args.n_pos = 1;
        }
        return npg_tfilter_apply(r, npg_tfilter_lookup("format", 6), a, &args, out);
    }
    return arith(r, op, a, b, out);
}

/* ---- comparisons ---- */

npg_status npg_tcompare_order(npg_trender *r, npg_tval a, npg_tval b, int *out) {
    if (a.kind == NPG_TV_UNDEFINED)
        return npg_tr_undefined_error(r, a);
    if (b.kind == NPG_TV_UNDEFINED)
        return npg_tr_undefined_error(r, b);
    if (npg_tv_is_number(a) && npg_tv_is_number(b)) {
        if (is_intlike(a) && is_intlike(b))
            *out = as_int(a) < as_int(b) ? -1 : as_int(a) > as_int(b);
        else {
            double x = npg_tv_to_double(a), y = npg_tv_to_double(b);
            *out = x < y ? -1 : x > y;
        }
        return NPG_OK;
    }
    if (a.kind == NPG_TV_STRING && b.kind == NPG_TV_STRING) {
        size_t n = a.u.s.n < b.u.s.n ? a.u.s.n : b.u.s.n;
        int c = memcmp(a.u.s.p, b.u.s.p, n);
        *out = c ? (c < 0 ? -1 : 1) : (a.u.s.n < b.u.s.n ? -1 : a.u.s.n > b.u.s.n);
        return NPG_OK;
    }
    if ((a.kind == NPG_TV_LIST || a.kind == NPG_TV_TUPLE) && a.kind == b.kind) {
        size_t n = a.u.list->n < b.u.list->n ? a.u.list->n : b.u.list->n;
        for (size_t i = 0; i < n; i++) {
            if (npg_tv_eq(a.u.list->v[i], b.u.list->v[i]))
                continue;
            return npg_tcompare_order(r, a.u.list->v[i], b.u.list->v[i], out);
        }
        *out = a.u.list->n < b.u.list->n ? -1 : a.u.list->n > b.u.list->n;
        return NPG_OK;
    }
    return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "'<' not supported between instances of '%s' and '%s'",
                       npg_tv_type_name(a), npg_tv_type_name(b));
}

npg_status npg_tcontains(npg_trender *r, npg_tval c, npg_tval item, bool *out) {
    switch (c.kind) {
    case NPG_TV_UNDEFINED: *out = false; return NPG_OK; /* iterating Undefined yields nothing */
    case NPG_TV_STRING:
        if (item.kind == NPG_TV_UNDEFINED)
            return npg_tr_undefined_error(r, item);
        if (item.kind != NPG_TV_STRING)
            return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "'in <string>' requires string as left operand, not %s",
                               npg_tv_type_name(item));
        *out = npg_bytes_find(c.u.s, item.u.s, 0, c.u.s.n, false) >= 0;
        return NPG_OK;
    case NPG_TV_LIST:
    case NPG_TV_TUPLE:
        *out = false;
        for (size_t i = 0; i < c.u.list->n && !*out; i++)
            *out = npg_tv_eq(c.u.list->v[i], item);
        return NPG_OK;
    case NPG_TV_DICT: *out = npg_tdict_get(c.u.dict, item) != NULL; return NPG_OK;
    default:
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "argument of type '%s' is not iterable", npg_tv_type_name(c));
    }
}

npg_status npg_tcompare(npg_trender *r, int op, npg_tval a, npg_tval b, bool *out) {
    int c;
    switch (op) {
    case NPG_CMP_EQ: *out = npg_tv_eq(a, b); return NPG_OK;
    case NPG_CMP_NE: *out = !npg_tv_eq(a, b); return NPG_OK;
    case NPG_CMP_IN: return npg_tcontains(r, b, a, out);
    case NPG_CMP_NOTIN:
        NPG_TRY(npg_tcontains(r, b, a, out));
        *out = !*out;
        return NPG_OK;
    default: break;
    }
    NPG_TRY(npg_tcompare_order(r, a, b, &c));
    switch (op) {
    case NPG_CMP_LT: *out = c < 0; break;
    case NPG_CMP_LE: *out = c <= 0; break;
    case NPG_CMP_GT: *out = c > 0; break;
    default: *out = c >= 0; break;
    }
    return NPG_OK;
}

/* ---- attribute and item access ---- */

static npg_status bound_method(npg_trender *r, npg_tval obj, npg_tstr name, npg_tval *out) {
    npg_tfunc *fn = npg_tarena_alloc(r->arena, sizeof *fn);
    NPG_CHECK_ALLOC(fn);
    fn->kind = NPG_FN_METHOD;
    fn->name = name;
    fn->self = obj;
    out->kind = NPG_TV_FUNCTION;
    out->u.fn = fn;
    return NPG_OK;
}

static npg_status loop_attr(npg_trender *r, npg_tloop *l, npg_tstr name, npg_tval *out) {
    size_t n = l->items->n, i = l->index0;
#define IS(s) (name.n == sizeof(s) - 1 && memcmp(name.p, s, name.n) == 0)
    if (IS("index"))
        *out = npg_tv_int((int64_t)i + 1);
    else if (IS("index0"))
        *out = npg_tv_int((int64_t)i);
    else if (IS("revindex"))
        *out = npg_tv_int((int64_t)(n - i));
    else if (IS("revindex0"))
        *out = npg_tv_int((int64_t)(n - i - 1));
    else if (IS("first"))
        *out = npg_tv_bool(i == 0);
    else if (IS("last"))
        *out = npg_tv_bool(i + 1 == n);
    else if (IS("length"))
        *out = npg_tv_int((int64_t)n);
    else if (IS("depth"))
        *out = npg_tv_int(l->depth0 + 1);
    else if (IS("depth0"))
        *out = npg_tv_int(l->depth0);
    else if (IS("previtem"))
        *out = i > 0 ? l->items->v[i - 1] : npg_tv_undef("previtem", 8, NULL);
    else if (IS("nextitem"))
        *out = i + 1 < n ? l->items->v[i + 1] : npg_tv_undef("nextitem", 8, NULL);
    else if (IS("cycle") || IS("changed")) {
        npg_tfunc *fn = npg_tarena_alloc(r->arena, sizeof *fn);
        NPG_CHECK_ALLOC(fn);
        fn->kind = IS("cycle") ? NPG_FN_LOOP_CYCLE : NPG_FN_LOOP_CHANGED;
        fn->name = name;
        fn->self.kind = NPG_TV_LOOP;
        fn->self.u.loop = l;
        out->kind = NPG_TV_FUNCTION;
        out->u.fn = fn;
    } else
        *out = npg_tv_undef(name.p, name.n, owner_name((npg_tval){.kind = NPG_TV_LOOP}));
#undef IS
    return NPG_OK;
}

npg_status npg_tgetattr(npg_trender *r, npg_tval obj, npg_tstr name, npg_tval *out) {
    switch (obj.kind) {
    case NPG_TV_UNDEFINED: return npg_tr_undefined_error(r, obj);
    case NPG_TV_LOOP: return loop_attr(r, obj.u.loop, name, out);
    case NPG_TV_NAMESPACE:
    case NPG_TV_DICT: {
        if (obj.kind == NPG_TV_DICT && npg_tmethod_lookup(obj, name))
            return bound_method(r, obj, name, out);
        const npg_tval *v = npg_tdict_get_str(obj.u.dict, name.p, name.n);
        if (v) {
            *out = *v;
            return NPG_OK;
        }
        break;
    }
    default:
        if (npg_tmethod_lookup(obj, name))
            return bound_method(r, obj, name, out);
        break;
    }
    *out = npg_tv_undef(name.p, name.n, owner_name(obj));
    return NPG_OK;
}

npg_status npg_tgetitem(npg_trender *r, npg_tval obj, npg_tval key, npg_tval *out) {
    switch (obj.kind) {
    case NPG_TV_UNDEFINED: return npg_tr_undefined_error(r, obj);
    case NPG_TV_DICT: {
        const npg_tval *v = npg_tdict_get(obj.u.dict, key);
        if (v) {
            *out = *v;
            return NPG_OK;
        }
        break;
    }
    case NPG_TV_LIST:
    case NPG_TV_TUPLE:
    case NPG_TV_STRING:
        if (is_intlike(key)) {
            int64_t i = as_int(key);
            bool str = obj.kind == NPG_TV_STRING;
            int64_t n = (int64_t)(str ? npg_utf8_len(obj.u.s.p, obj.u.s.n) : obj.u.list->n);
            if (i < 0)
                i += n;
            if (i < 0 || i >= n) {
                *out = npg_tv_undef("", 0, owner_name(obj));
                return NPG_OK;
            }
            if (!str) {
                *out = obj.u.list->v[i];
                return NPG_OK;
            }
            size_t b = npg_utf8_offset(obj.u.s.p, obj.u.s.n, (size_t)i);
            uint32_t cp;
            size_t k = npg_utf8_next(obj.u.s.p + b, obj.u.s.n - b, &cp);
            *out = npg_tv_str(obj.u.s.p + b, k);
            return NPG_OK;
        }
        break;
    default: break;
    }
    if (key.kind == NPG_TV_STRING)
        return npg_tgetattr(r, obj, key.u.s, out);
    *out = npg_tv_undef("", 0, owner_name(obj));
    return NPG_OK;
}

/* Python's slice.indices(): clamps start/stop for a sequence of length n. */
static void slice_bounds(int64_t n, npg_tval s0, npg_tval s1, int64_t step, int64_t *start, int64_t *stop) {
    int64_t lower = step < 0 ? -1 : 0, upper = step < 0 ? n - 1 : n;
    npg_tval in[2] = {s0, s1};
    int64_t *res[2] = {start, stop};
    for (int k = 0; k < 2; k++) {
        if (in[k].kind == NPG_TV_NONE) {
            *res[k] = (k == 0) == (step < 0) ? upper : lower;
            continue;
        }
        int64_t v = as_int(in[k]);
        if (v < 0) {
            v += n;
            if (v < lower)
                v = lower;
        } else if (v > upper) {
            v = upper;
        }
        *res[k] = v;
    }
}

npg_status npg_tslice(npg_trender *r, npg_tval obj, npg_tval start, npg_tval stop, npg_tval step, npg_tval *out) {
    if (obj.kind == NPG_TV_UNDEFINED)
        return npg_tr_undefined_error(r, obj);
    npg_tval idx[3] = {start, stop, step};
    bool seq = obj.kind == NPG_TV_LIST || obj.kind == NPG_TV_TUPLE || obj.kind == NPG_TV_STRING;
    for (int k = 0; k < 3; k++)
        if (!is_intlike(idx[k]) && idx[k].kind != NPG_TV_NONE)
            seq = false;
    if (!seq) { /* a TypeError, which the sandbox's getitem turns into Undefined */
        *out = npg_tv_undef("", 0, owner_name(obj));
        return NPG_OK;
    }
    int64_t st = step.kind == NPG_TV_NONE ? 1 : as_int(step);
    if (st == 0)
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "slice step cannot be zero");
    bool str = obj.kind == NPG_TV_STRING;
    size_t *offs = NULL; /* code point start offsets (+ end) of a string */
    int64_t n;
    if (str) {
        n = (int64_t)npg_utf8_len(obj.u.s.p, obj.u.s.n);
        offs = npg_tarena_alloc(r->arena, ((size_t)n + 1) * sizeof *offs);
        NPG_CHECK_ALLOC(offs);
        uint32_t cp;
        size_t b = 0;
        for (int64_t i = 0; i < n; i++) {
            offs[i] = b;
            b += npg_utf8_next(obj.u.s.p + b, obj.u.s.n - b, &cp);
        }
        offs[n] = b;
    } else {
        n = (int64_t)obj.u.list->n;
    }
    int64_t a, z;
    slice_bounds(n, start, stop, st, &a, &z);
    if (str && st == 1) {
        *out = a < z ? npg_tv_str(obj.u.s.p + offs[a], offs[z] - offs[a]) : npg_tv_str("", 0);
        return NPG_OK;
    }
    npg_strbuf sb = {0};
    if (!str)
        NPG_TRY(npg_tv_new_list(r->arena, obj.kind, 0, out));
    npg_status s = NPG_OK;
    for (int64_t i = a; s == NPG_OK && (st > 0 ? i < z : i > z); i += st) {
        if (str)
            s = npg_strbuf_append(&sb, obj.u.s.p + offs[i], offs[i + 1] - offs[i]);
        else
            s = npg_tlist_push(r->arena, out->u.list, obj.u.list->v[i]);
    }
    if (str && s == NPG_OK)
        s = npg_tstr_from_sb(r, &sb, out);
    npg_strbuf_free(&sb);
    return s;
}

npg_status npg_titerate(npg_trender *r, npg_tval v, const char *what, npg_tval *out) {
    switch (v.kind) {
    case NPG_TV_LIST:
    case NPG_TV_TUPLE:
        *out = v;
        out->kind = NPG_TV_LIST;
        return NPG_OK;
    case NPG_TV_UNDEFINED: return npg_tv_new_list(r->arena, NPG_TV_LIST, 0, out);
    case NPG_TV_DICT:
        NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_LIST, v.u.dict->n, out));
        for (size_t i = 0; i < v.u.dict->n; i++)
            NPG_TRY(npg_tlist_push(r->arena, out->u.list, v.u.dict->keys[i]));
        return NPG_OK;
    case NPG_TV_STRING: {
        NPG_TRY(npg_tv_new_list(r->arena, NPG_TV_LIST, v.u.s.n, out));
        uint32_t cp;
        for (size_t i = 0; i < v.u.s.n;) {
            size_t k = npg_utf8_next(v.u.s.p + i, v.u.s.n - i, &cp);
            NPG_TRY(npg_tlist_push(r->arena, out->u.list, npg_tv_str(v.u.s.p + i, k)));
            i += k;
        }
        return NPG_OK;
    }
    default:
        return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "%s: '%s' object is not iterable", what, npg_tv_type_name(v));
    }
}

npg_status npg_tlength(npg_trender *r, npg_tval v, int64_t *out) {
    switch (v.kind) {
    case NPG_TV_UNDEFINED: *out = 0; return NPG_OK;
    case NPG_TV_STRING: *out = (int64_t)npg_utf8_len(v.u.s.p, v.u.s.n); return NPG_OK;
    case NPG_TV_LIST:
    case NPG_TV_TUPLE: *out = (int64_t)v.u.list->n; return NPG_OK;
    case NPG_TV_DICT: *out = (int64_t)v.u.dict->n; return NPG_OK;
    default: return npg_tr_fail(r, NPG_ERR_INVALID_ARGUMENT, "object of type '%s' has no len()", npg_tv_type_name(v));
    }
}
