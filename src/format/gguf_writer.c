/* gguf_writer.c — GGUF v3 writer (gguf_writer.h). */
#include "format/gguf_writer.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/strbuf.h"
#include "format/gguf.h"

#define ALIGN 32

typedef struct wtensor {
    size_t bytes;
    uint64_t offset;
} wtensor;

struct npg_gguf_writer {
    npg_strbuf kv, info;
    uint64_t n_kv;
    wtensor *t;
    size_t n_t, cap_t;
    uint64_t data_size;
};

npg_status npg_gguf_writer_create(npg_gguf_writer **out) {
    *out = calloc(1, sizeof **out);
    NPG_CHECK_ALLOC(*out);
    return NPG_OK;
}

void npg_gguf_writer_free(npg_gguf_writer *w) {
    if (!w)
        return;
    npg_strbuf_free(&w->kv);
    npg_strbuf_free(&w->info);
    free(w->t);
    free(w);
}

static npg_status raw(npg_strbuf *sb, const void *p, size_t n) { return npg_strbuf_append(sb, p, n); }
static npg_status u32(npg_strbuf *sb, uint32_t v) { return raw(sb, &v, 4); }
static npg_status u64(npg_strbuf *sb, uint64_t v) { return raw(sb, &v, 8); }
static npg_status str(npg_strbuf *sb, const char *s, size_t n) {
    NPG_TRY(u64(sb, n));
    return raw(sb, s, n);
}

static npg_status key(npg_gguf_writer *w, const char *k, uint32_t type) {
    NPG_TRY(str(&w->kv, k, strlen(k)));
    w->n_kv++;
    return u32(&w->kv, type);
}

npg_status npg_gguf_put_str(npg_gguf_writer *w, const char *k, const char *s) {
    NPG_TRY(key(w, k, NPG_GGUF_STRING));
    return str(&w->kv, s, strlen(s));
}
npg_status npg_gguf_put_u32(npg_gguf_writer *w, const char *k, uint32_t v) {
    NPG_TRY(key(w, k, NPG_GGUF_U32));
    return u32(&w->kv, v);
}
npg_status npg_gguf_put_i32(npg_gguf_writer *w, const char *k, int32_t v) {
    NPG_TRY(key(w, k, NPG_GGUF_I32));
    return raw(&w->kv, &v, 4);
}
npg_status npg_gguf_put_f32(npg_gguf_writer *w, const char *k, float v) {
    NPG_TRY(key(w, k, NPG_GGUF_F32));
    return raw(&w->kv, &v, 4);
}
npg_status npg_gguf_put_bool(npg_gguf_writer *w, const char *k, bool v) {
    NPG_TRY(key(w, k, NPG_GGUF_BOOL));
    uint8_t b = v;
    return raw(&w->kv, &b, 1);
}

static npg_status arr(npg_gguf_writer *w, const char *k, uint32_t type, size_t n) {
    NPG_TRY(key(w, k, NPG_GGUF_ARRAY));
    NPG_TRY(u32(&w->kv, type));
    return u64(&w->kv, n);
}

npg_status npg_gguf_put_arr_str(npg_gguf_writer *w, const char *k, const char *const *s, const size_t *lens,
                                size_t n) {
    NPG_TRY(arr(w, k, NPG_GGUF_STRING, n));
    for (size_t i = 0; i < n; i++)
        NPG_TRY(str(&w->kv, s[i], lens[i]));
    return NPG_OK;
}
npg_status npg_gguf_put_arr_f32(npg_gguf_writer *w, const char *k, const float *v, size_t n) {
    NPG_TRY(arr(w, k, NPG_GGUF_F32, n));
    return raw(&w->kv, v, n * 4);
}
npg_status npg_gguf_put_arr_i32(npg_gguf_writer *w, const char *k, const int32_t *v, size_t n) {
    NPG_TRY(arr(w, k, NPG_GGUF_I32, n));
    return raw(&w->kv, v, n * 4);
}

npg_status npg_gguf_add_tensor(npg_gguf_writer *w, const char *name, uint32_t type, int n_dims, const int64_t *ne,
                               size_t bytes) {
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? 2 * w->cap_t : 64;
        wtensor *p = realloc(w->t, cap * sizeof *p);
        NPG_CHECK_ALLOC(p);
        w->t = p;
        w->cap_t = cap;
    }
    wtensor *t = &w->t[w->n_t++];
    t->bytes = bytes;
    t->offset = w->data_size;
    w->data_size += (bytes + ALIGN - 1) / ALIGN * ALIGN;
    NPG_TRY(str(&w->info, name, strlen(name)));
    NPG_TRY(u32(&w->info, (uint32_t)n_dims));
    for (int d = 0; d < n_dims; d++)
        NPG_TRY(u64(&w->info, (uint64_t)ne[d]));
    NPG_TRY(u32(&w->info, type));
    return u64(&w->info, t->offset);
}

npg_status npg_gguf_writer_save(npg_gguf_writer *w, const char *path, npg_gguf_produce_fn produce, void *ctx) {
    npg_strbuf head = {0};
    npg_status st = raw(&head, "GGUF", 4);
    if (st == NPG_OK)
        st = u32(&head, 3);
    if (st == NPG_OK)
        st = u64(&head, w->n_t);
    if (st == NPG_OK)
        st = u64(&head, w->n_kv);
    if (st == NPG_OK)
        st = raw(&head, w->kv.data, w->kv.len);
    if (st == NPG_OK)
        st = raw(&head, w->info.data, w->info.len);
    static const uint8_t zeros[ALIGN] = {0};
    if (st == NPG_OK && head.len % ALIGN)
        st = raw(&head, zeros, ALIGN - head.len % ALIGN);
    npg_atomic_file af = {0};
    if (st == NPG_OK)
        st = npg_atomic_open(path, &af);
    if (st != NPG_OK) {
        npg_strbuf_free(&head);
        return st;
    }
    st = npg_atomic_write(&af, head.data, head.len);
    npg_strbuf_free(&head);
    size_t cap = 0;
    uint8_t *buf = NULL;
    for (size_t i = 0; i < w->n_t && st == NPG_OK; i++) {
        size_t padded = (w->t[i].bytes + ALIGN - 1) / ALIGN * ALIGN;
        if (padded > cap) {
            free(buf);
            buf = malloc(padded ? padded : 1);
            cap = buf ? padded : 0;
            if (!buf)
                st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory for a %zu-byte tensor of %s", padded, path);
        }
        if (st == NPG_OK) {
            memset(buf + w->t[i].bytes, 0, padded - w->t[i].bytes);
            st = produce(ctx, i, buf, w->t[i].bytes);
        }
        if (st == NPG_OK)
            st = npg_atomic_write(&af, buf, padded);
    }
    free(buf);
    if (st != NPG_OK) {
        npg_atomic_abort(&af);
        return st;
    }
    return npg_atomic_commit(&af);
}
