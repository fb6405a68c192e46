/* gguf.c — the GGUF reader (gguf.h): a bounds-checked cursor over the mapped header, then the tensor
 * table checked against the data section. */
#include "format/gguf.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

#define GGUF_MAX_DIMS 4
#define GGUF_MAX_NAME 256 /* bytes of a tensor name (llama.cpp's GGML_MAX_NAME is 64) */
#define GGUF_MAX_KEY 65536

typedef struct cursor {
    const uint8_t *base;
    size_t size, pos;
    const char *what;
} cursor;

static size_t left(const cursor *c) { return c->size - c->pos; }

static npg_status need(cursor *c, uint64_t n, const char *field) {
    if (n > left(c))
        return npg_fail(NPG_ERR_FORMAT, "%s: truncated GGUF: %s needs %llu bytes at offset %zu, %zu left", c->what,
                        field, (unsigned long long)n, c->pos, left(c));
    return NPG_OK;
}

static npg_status rd_u32(cursor *c, const char *field, uint32_t *v) {
    NPG_TRY(need(c, 4, field));
    memcpy(v, c->base + c->pos, 4);
    c->pos += 4;
    return NPG_OK;
}

static npg_status rd_u64(cursor *c, const char *field, uint64_t *v) {
    NPG_TRY(need(c, 8, field));
    memcpy(v, c->base + c->pos, 8);
    c->pos += 8;
    return NPG_OK;
}

static npg_status rd_str(cursor *c, const char *field, npg_gguf_str *s) {
    NPG_TRY(rd_u64(c, field, &s->len));
    NPG_TRY(need(c, s->len, field));
    s->p = (const char *)c->base + c->pos;
    c->pos += (size_t)s->len;
    return NPG_OK;
}

static size_t scalar_size(uint32_t t) {
    switch (t) {
    case NPG_GGUF_U8: case NPG_GGUF_I8: case NPG_GGUF_BOOL: return 1;
    case NPG_GGUF_U16: case NPG_GGUF_I16: return 2;
    case NPG_GGUF_U32: case NPG_GGUF_I32: case NPG_GGUF_F32: return 4;
    case NPG_GGUF_U64: case NPG_GGUF_I64: case NPG_GGUF_F64: return 8;
    default: return 0;
    }
}

static char *dup_str(npg_gguf_str s) {
    char *d = malloc((size_t)s.len + 1);
    if (d) {
        memcpy(d, s.p, (size_t)s.len);
        d[s.len] = 0;
    }
    return d;
}

static npg_status read_value(cursor *c, npg_gguf_kv *kv) {
    const char *k = kv->key;
    if (kv->type == NPG_GGUF_STRING) {
        npg_gguf_str s;
        kv->val = c->base + c->pos;
        return rd_str(c, k, &s);
    }
    if (kv->type != NPG_GGUF_ARRAY) {
        size_t n = scalar_size(kv->type);
        if (!n)
            return npg_fail(NPG_ERR_FORMAT, "%s: key '%s' has unknown value type %u", c->what, k, kv->type);
        NPG_TRY(need(c, n, k));
        kv->val = c->base + c->pos;
        if (kv->type == NPG_GGUF_BOOL && kv->val[0] > 1)
            return npg_fail(NPG_ERR_FORMAT, "%s: key '%s': bool value %u is not 0 or 1", c->what, k, kv->val[0]);
        c->pos += n;
        return NPG_OK;
    }
    NPG_TRY(rd_u32(c, k, &kv->arr_type));
    NPG_TRY(rd_u64(c, k, &kv->arr_n));
    kv->val = c->base + c->pos;
    if (kv->arr_type == NPG_GGUF_STRING) {
        /* each string takes >= 8 bytes: a count larger than that cannot be, and bounds the allocation */
        if (kv->arr_n > left(c) / 8)
            return npg_fail(NPG_ERR_FORMAT, "%s: key '%s': array of %llu strings does not fit in the %zu bytes left",
                            c->what, k, (unsigned long long)kv->arr_n, left(c));
        kv->str_off = malloc((size_t)(kv->arr_n ? kv->arr_n : 1) * sizeof *kv->str_off);
        NPG_CHECK_ALLOC(kv->str_off);
        size_t start = c->pos;
        for (uint64_t i = 0; i < kv->arr_n; i++) {
            kv->str_off[i] = c->pos - start;
            npg_gguf_str s;
            NPG_TRY(rd_str(c, k, &s));
        }
        return NPG_OK;
    }
    size_t es = scalar_size(kv->arr_type);
    if (!es)
        return npg_fail(NPG_ERR_FORMAT, "%s: key '%s': array element type %u is not a scalar or string type (nested "
                        "arrays are not supported)", c->what, k, kv->arr_type);
    if (kv->arr_n > left(c) / es)
        return npg_fail(NPG_ERR_FORMAT, "%s: key '%s': array of %llu elements of %zu bytes exceeds the %zu bytes left",
                        c->what, k, (unsigned long long)kv->arr_n, es, left(c));
    if (kv->arr_type == NPG_GGUF_BOOL)
        for (uint64_t i = 0; i < kv->arr_n; i++)
            if (kv->val[i] > 1)
                return npg_fail(NPG_ERR_FORMAT, "%s: key '%s': bool element %llu is %u", c->what, k,
                                (unsigned long long)i, kv->val[i]);
    c->pos += (size_t)(kv->arr_n * es);
    return NPG_OK;
}

bool npg_ggml_type_block(uint32_t type, size_t *block_bytes, int64_t *block_values) {
    size_t b;
    int64_t v;
    switch (type) {
    case NPG_GGML_F32: b = 4, v = 1; break;
    case NPG_GGML_F16: case NPG_GGML_BF16: b = 2, v = 1; break;
    case NPG_GGML_Q4_0: b = 18, v = 32; break;
    case NPG_GGML_Q4_1: b = 20, v = 32; break;
    case NPG_GGML_Q8_0: b = 34, v = 32; break;
    case NPG_GGML_Q4_K: b = 144, v = 256; break;
    case NPG_GGML_Q5_K: b = 176, v = 256; break;
    case NPG_GGML_Q6_K: b = 210, v = 256; break;
    default: return false;
    }
    if (block_bytes)
        *block_bytes = b;
    if (block_values)
        *block_values = v;
    return true;
}

const char *npg_ggml_type_name(uint32_t type) {
    static const char *const names[] = {"F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1",
                                        "Q8_0", "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K",
                                        "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S",
                                        "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M", "BF16"};
    return type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

static npg_status read_tensor_info(cursor *c, npg_gguf_tensor *t) {
    npg_gguf_str name;
    NPG_TRY(rd_str(c, "tensor name", &name));
    if (name.len == 0 || name.len >= GGUF_MAX_NAME || memchr(name.p, 0, (size_t)name.len))
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor name at offset %zu is empty, contains NUL or is %llu bytes (max %d)",
                        c->what, c->pos, (unsigned long long)name.len, GGUF_MAX_NAME - 1);
    t->name = dup_str(name);
    NPG_CHECK_ALLOC(t->name);
    uint32_t nd;
    NPG_TRY(rd_u32(c, t->name, &nd));
    if (nd < 1 || nd > GGUF_MAX_DIMS)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' has %u dims (1 to %d supported)", c->what, t->name, nd,
                        GGUF_MAX_DIMS);
    t->n_dims = (int)nd;
    uint64_t elems = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) {
        uint64_t v = 1;
        if (d < t->n_dims)
            NPG_TRY(rd_u64(c, t->name, &v));
        if (v < 1 || v > ((uint64_t)1 << 40) || elems > ((uint64_t)1 << 50) / v)
            return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s': dimension %d is %llu (or the element count overflows)",
                            c->what, t->name, d, (unsigned long long)v);
        t->ne[d] = (int64_t)v;
        elems *= v;
    }
    NPG_TRY(rd_u32(c, t->name, &t->type));
    NPG_TRY(rd_u64(c, t->name, &t->offset));
    size_t bb;
    int64_t bv;
    if (!npg_ggml_type_block(t->type, &bb, &bv))
        return npg_fail(t->type < 42 ? NPG_ERR_UNSUPPORTED : NPG_ERR_FORMAT,
                        "%s: tensor '%s' has ggml type %u (%s); npugen reads F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, "
                        "Q5_K and Q6_K", c->what, t->name, t->type, npg_ggml_type_name(t->type));
    if (t->ne[0] % bv != 0)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s': row length %lld is not a multiple of the %s block (%lld)",
                        c->what, t->name, (long long)t->ne[0], npg_ggml_type_name(t->type), (long long)bv);
    t->bytes = (size_t)(elems / (uint64_t)bv * bb);
    return NPG_OK;
}

static int cmp_offset(const void *a, const void *b) {
    const npg_gguf_tensor *x = *(const npg_gguf_tensor *const *)a, *y = *(const npg_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static npg_status check_tensors(npg_gguf *g, const cursor *c) {
    uint64_t data_size = c->size - g->data_offset;
    for (size_t i = 0; i < g->n_tensors; i++) {
        npg_gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment != 0)
            return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s': offset %llu is not a multiple of the alignment %llu",
                            c->what, t->name, (unsigned long long)t->offset, (unsigned long long)g->alignment);
        if (t->offset > data_size || t->bytes > data_size - t->offset)
            return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s': %zu bytes at data offset %llu run past the end of the "
                            "file (data section %llu bytes)", c->what, t->name, t->bytes, (unsigned long long)t->offset,
                            (unsigned long long)data_size);
        t->data = c->base + g->data_offset + t->offset;
    }
    const npg_gguf_tensor **by = malloc((g->n_tensors ? g->n_tensors : 1) * sizeof *by);
    NPG_CHECK_ALLOC(by);
    for (size_t i = 0; i < g->n_tensors; i++)
        by[i] = &g->tensors[i];
    qsort(by, g->n_tensors, sizeof *by, cmp_offset);
    npg_status st = NPG_OK;
    for (size_t i = 1; i < g->n_tensors && st == NPG_OK; i++)
        if (by[i - 1]->offset + by[i - 1]->bytes > by[i]->offset)
            st = npg_fail(NPG_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap in the data section", c->what,
                          by[i - 1]->name, by[i]->name);
    free((void *)by);
    return st;
}

static npg_status parse(npg_gguf *g, cursor *c) {
    uint32_t magic;
    NPG_TRY(rd_u32(c, "magic", &magic));
    if (memcmp(c->base, "GGUF", 4) != 0)
        return npg_fail(NPG_ERR_FORMAT, "%s: not a GGUF file (magic %02x %02x %02x %02x, expected \"GGUF\")", c->what,
                        c->base[0], c->base[1], c->base[2], c->base[3]);
    NPG_TRY(rd_u32(c, "version", &g->version));
    if (g->version != 2 && g->version != 3)
        return npg_fail(g->version == 1 ? NPG_ERR_UNSUPPORTED : NPG_ERR_FORMAT,
                        "%s: GGUF version %u; npugen reads versions 2 and 3%s", c->what, g->version,
                        g->version > 0x00ffffffu ? " (a big-endian file?)" : "");
    uint64_t nt, nkv;
    NPG_TRY(rd_u64(c, "tensor count", &nt));
    NPG_TRY(rd_u64(c, "metadata count", &nkv));
    /* a key-value pair takes >= 13 bytes (key length, type, 1-byte value), a tensor info >= 32 */
    if (nkv > left(c) / 13)
        return npg_fail(NPG_ERR_FORMAT, "%s: metadata count %llu cannot fit in the %zu bytes left", c->what,
                        (unsigned long long)nkv, left(c));
    if (nt > left(c) / 32)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor count %llu cannot fit in the %zu bytes left", c->what,
                        (unsigned long long)nt, left(c));
    g->kv = calloc((size_t)(nkv ? nkv : 1), sizeof *g->kv);
    g->tensors = calloc((size_t)(nt ? nt : 1), sizeof *g->tensors);
    NPG_CHECK_ALLOC(g->kv && g->tensors);
    g->alignment = 32;
    for (uint64_t i = 0; i < nkv; i++) {
        npg_gguf_kv *kv = &g->kv[i];
        npg_gguf_str key;
        NPG_TRY(rd_str(c, "metadata key", &key));
        if (key.len == 0 || key.len > GGUF_MAX_KEY || memchr(key.p, 0, (size_t)key.len))
            return npg_fail(NPG_ERR_FORMAT, "%s: metadata key %llu is empty, contains NUL or is too long", c->what,
                            (unsigned long long)i);
        kv->key = dup_str(key);
        NPG_CHECK_ALLOC(kv->key);
        g->n_kv = (size_t)i + 1;
        if (npg_gguf_find(g, kv->key) != kv)
            return npg_fail(NPG_ERR_FORMAT, "%s: metadata key '%s' appears twice", c->what, kv->key);
        NPG_TRY(rd_u32(c, kv->key, &kv->type));
        NPG_TRY(read_value(c, kv));
    }
    const npg_gguf_kv *al = npg_gguf_find(g, "general.alignment");
    if (al) {
        int64_t a;
        if (!npg_gguf_get_int(g, "general.alignment", &a) || a < 1 || a > 65536 || (a & (a - 1)) != 0)
            return npg_fail(NPG_ERR_FORMAT, "%s: general.alignment must be a power of two from 1 to 65536", c->what);
        g->alignment = (uint64_t)a;
    }
    for (uint64_t i = 0; i < nt; i++) {
        g->n_tensors = (size_t)i + 1;
        NPG_TRY(read_tensor_info(c, &g->tensors[i]));
        for (uint64_t j = 0; j < i; j++)
            if (strcmp(g->tensors[j].name, g->tensors[i].name) == 0)
                return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' appears twice", c->what, g->tensors[i].name);
    }
    uint64_t off = (c->pos + g->alignment - 1) / g->alignment * g->alignment;
    if (nt > 0 && off > c->size)
        return npg_fail(NPG_ERR_FORMAT, "%s: truncated GGUF: the data section would start at %llu, past the end (%zu)",
                        c->what, (unsigned long long)off, c->size);
    g->data_offset = off > c->size ? c->size : off;
    return check_tensors(g, c);
}

static npg_status open_common(const uint8_t *data, size_t size, const char *what, npg_gguf *g) {
    g->path = strdup(what);
    NPG_CHECK_ALLOC(g->path);
    cursor c = {.base = data, .size = size, .what = what};
    if (size < 4)
        return npg_fail(NPG_ERR_FORMAT, "%s: not a GGUF file (%zu bytes)", what, size);
    return parse(g, &c);
}

npg_status npg_gguf_open_memory(const void *data, size_t size, const char *what, npg_gguf **out) {
    if (!out || (!data && size) || !what)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_gguf_open_memory: NULL argument");
    *out = NULL;
    npg_gguf *g = calloc(1, sizeof *g);
    NPG_CHECK_ALLOC(g);
    npg_status st = open_common(data, size, what, g);
    if (st != NPG_OK) {
        npg_gguf_close(g);
        return st;
    }
    *out = g;
    return NPG_OK;
}

/* A read-only map without MAP_POPULATE (npg_map_file's choice for files read whole): the tokenizer
 * reads only the metadata of a multi-GB file, and the model never reads the tensors it replaces
 * (npg_gguf_release), so pages are mapped as they are used. */
static npg_status map_lazy(const char *path, npg_mapped_file *out) {
    int fd = -1;
    struct stat st;
    NPG_TRY(npg_open_regular(path, &fd, &st));
    out->size = (size_t)st.st_size;
    out->data = NULL;
    if (out->size > 0) {
        void *p = mmap(NULL, out->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return npg_fail(NPG_ERR_IO, "%s: mmap failed: %s", path, strerror(errno));
        }
        out->data = p;
    }
    close(fd);
    return NPG_OK;
}

void npg_gguf_prefetch(const npg_gguf *g) {
    if (g && g->map.data && g->data_offset < g->map.size) {
        long page = sysconf(_SC_PAGESIZE);
        size_t start = (size_t)g->data_offset / (size_t)page * (size_t)page;
        (void)madvise((void *)(g->map.data + start), g->map.size - start, MADV_WILLNEED);
    }
}

void npg_gguf_release(const npg_gguf *g, const npg_gguf_tensor *t) {
    if (!g || !g->map.data || !t || t->data < g->map.data || t->data >= g->map.data + g->map.size)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)t->data + page - 1) / page * page, b = ((uintptr_t)t->data + t->bytes) / page * page;
    if (b > a)
        (void)madvise((void *)a, b - a, MADV_DONTNEED);
}

npg_status npg_gguf_open(const char *path, npg_gguf **out) {
    if (!path || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_gguf_open: NULL argument");
    *out = NULL;
    npg_gguf *g = calloc(1, sizeof *g);
    NPG_CHECK_ALLOC(g);
    npg_status st = map_lazy(path, &g->map);
    if (st == NPG_OK)
        st = open_common(g->map.data, g->map.size, path, g);
    if (st != NPG_OK) {
        npg_gguf_close(g);
        return st;
    }
    *out = g;
    return NPG_OK;
}

void npg_gguf_close(npg_gguf *g) {
    if (!g)
        return;
    for (size_t i = 0; i < g->n_kv; i++) {
        free(g->kv[i].key);
        free(g->kv[i].str_off);
    }
    for (size_t i = 0; i < g->n_tensors; i++)
        free(g->tensors[i].name);
    free(g->kv);
    free(g->tensors);
    npg_unmap_file(&g->map);
    free(g->path);
    free(g);
}

const npg_gguf_kv *npg_gguf_find(const npg_gguf *g, const char *key) {
    for (size_t i = 0; g && key && i < g->n_kv; i++)
        if (g->kv[i].key && strcmp(g->kv[i].key, key) == 0)
            return &g->kv[i];
    return NULL;
}

const npg_gguf_tensor *npg_gguf_tensor_find(const npg_gguf *g, const char *name) {
    for (size_t i = 0; g && name && i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0)
            return &g->tensors[i];
    return NULL;
}

static bool scalar_int(uint32_t type, const uint8_t *p, int64_t *out) {
    switch (type) {
    case NPG_GGUF_U8: *out = p[0]; return true;
    case NPG_GGUF_I8: *out = (int8_t)p[0]; return true;
    case NPG_GGUF_U16: { uint16_t v; memcpy(&v, p, 2); *out = v; return true; }
    case NPG_GGUF_I16: { int16_t v; memcpy(&v, p, 2); *out = v; return true; }
    case NPG_GGUF_U32: { uint32_t v; memcpy(&v, p, 4); *out = v; return true; }
    case NPG_GGUF_I32: { int32_t v; memcpy(&v, p, 4); *out = v; return true; }
    case NPG_GGUF_U64: { uint64_t v; memcpy(&v, p, 8); if (v > INT64_MAX) return false; *out = (int64_t)v; return true; }
    case NPG_GGUF_I64: { int64_t v; memcpy(&v, p, 8); *out = v; return true; }
    default: return false;
    }
}

static bool scalar_float(uint32_t type, const uint8_t *p, float *out) {
    if (type == NPG_GGUF_F32) {
        memcpy(out, p, 4);
        return true;
    }
    if (type == NPG_GGUF_F64) {
        double d;
        memcpy(&d, p, 8);
        *out = (float)d;
        return true;
    }
    return false;
}

bool npg_gguf_get_int(const npg_gguf *g, const char *key, int64_t *out) {
    const npg_gguf_kv *kv = npg_gguf_find(g, key);
    return kv && scalar_int(kv->type, kv->val, out);
}

bool npg_gguf_get_float(const npg_gguf *g, const char *key, float *out) {
    const npg_gguf_kv *kv = npg_gguf_find(g, key);
    return kv && scalar_float(kv->type, kv->val, out);
}

bool npg_gguf_get_bool(const npg_gguf *g, const char *key, bool *out) {
    const npg_gguf_kv *kv = npg_gguf_find(g, key);
    if (!kv || kv->type != NPG_GGUF_BOOL)
        return false;
    *out = kv->val[0] != 0;
    return true;
}

bool npg_gguf_get_str(const npg_gguf *g, const char *key, npg_gguf_str *out) {
    const npg_gguf_kv *kv = npg_gguf_find(g, key);
    if (!kv || kv->type != NPG_GGUF_STRING)
        return false;
    memcpy(&out->len, kv->val, 8);
    out->p = (const char *)kv->val + 8;
    return true;
}

npg_gguf_str npg_gguf_arr_str(const npg_gguf_kv *kv, uint64_t i) {
    npg_gguf_str s;
    const uint8_t *p = kv->val + kv->str_off[i];
    memcpy(&s.len, p, 8);
    s.p = (const char *)p + 8;
    return s;
}

bool npg_gguf_arr_int(const npg_gguf_kv *kv, uint64_t i, int64_t *out) {
    return kv->type == NPG_GGUF_ARRAY && i < kv->arr_n && scalar_int(kv->arr_type, kv->val + i * scalar_size(kv->arr_type), out);
}

bool npg_gguf_arr_float(const npg_gguf_kv *kv, uint64_t i, float *out) {
    return kv->type == NPG_GGUF_ARRAY && i < kv->arr_n &&
           scalar_float(kv->arr_type, kv->val + i * scalar_size(kv->arr_type), out);
}

static bool ends_with_gguf(const char *s) {
    size_t n = strlen(s);
    return n > 5 && strcmp(s + n - 5, ".gguf") == 0;
}

npg_status npg_gguf_locate(const char *path, char **gguf_path) {
    *gguf_path = NULL;
    if (!path)
        return NPG_OK;
    if (!npg_is_dir(path)) {
        if (ends_with_gguf(path) && npg_path_exists(path)) {
            *gguf_path = strdup(path);
            NPG_CHECK_ALLOC(*gguf_path);
        }
        return NPG_OK;
    }
    char *cfg = npg_path_join(path, "config.json");
    NPG_CHECK_ALLOC(cfg);
    bool has_cfg = npg_path_exists(cfg);
    free(cfg);
    if (has_cfg)
        return NPG_OK;
    DIR *d = opendir(path);
    if (!d)
        return NPG_OK;
    char first[512] = "";
    npg_status st = NPG_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && st == NPG_OK) {
        if (e->d_name[0] == '.' || !ends_with_gguf(e->d_name))
            continue;
        if (first[0])
            st = npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: holds several .gguf files (%s, %s, ...); name the one to use",
                          path, first, e->d_name);
        else
            snprintf(first, sizeof first, "%s", e->d_name);
    }
    closedir(d);
    NPG_TRY(st);
    if (first[0]) {
        *gguf_path = npg_path_join(path, first);
        NPG_CHECK_ALLOC(*gguf_path);
    }
    return NPG_OK;
}
