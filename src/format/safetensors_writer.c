#include "format/safetensors_writer.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/strbuf.h"

/* A declared tensor: its bytes are [begin, end) of the data section. */
typedef struct declared_tensor {
    char *name;
    npg_dtype dtype;
    int n_dims;
    int64_t shape[NPG_MAX_DIMS];
    uint64_t begin, end;
} declared_tensor;

typedef enum writer_state {
    STATE_DECLARING, /* create .. write_header */
    STATE_WRITING,   /* header written, data streaming */
    STATE_FINISHED,  /* renamed into place */
    STATE_FAILED,    /* a call failed; only _free is allowed */
} writer_state;

/* Invariants while STATE_WRITING: written <= total; tensors[i].end <= written for every i < current;
 * tensors[current] is the first tensor that still expects bytes, or a zero-byte tensor sitting at
 * `written` that no call has passed yet. */
struct npg_safetensors_writer {
    char *path; /* final path, for messages */
    npg_atomic_file file;
    declared_tensor *tensors; /* [n_tensors] in declaration (= data) order */
    size_t n_tensors, cap_tensors;
    char **meta; /* [2 * n_meta]: key, value, key, value ... */
    size_t n_meta, cap_meta;
    uint64_t total;   /* bytes of tensor data declared */
    uint64_t written; /* bytes of tensor data written */
    size_t current;
    writer_state state;
};

npg_status npg_safetensors_writer_create(const char *path, npg_safetensors_writer **out) {
    if (!path || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "safetensors writer: %s is NULL", !path ? "path" : "out");
    npg_safetensors_writer *w = calloc(1, sizeof *w);
    NPG_CHECK_ALLOC(w);
    w->path = strdup(path);
    if (!w->path) {
        free(w);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    npg_status st = npg_atomic_open(path, &w->file);
    if (st != NPG_OK) {
        free(w->path);
        free(w);
        return st;
    }
    w->state = STATE_DECLARING;
    *out = w;
    return NPG_OK;
}

void npg_safetensors_writer_free(npg_safetensors_writer *w) {
    if (!w)
        return;
    if (w->state != STATE_FINISHED)
        npg_atomic_abort(&w->file);
    for (size_t i = 0; i < w->n_tensors; i++)
        free(w->tensors[i].name);
    free(w->tensors);
    for (size_t i = 0; i < 2 * w->n_meta; i++)
        free(w->meta[i]);
    free(w->meta);
    free(w->path);
    free(w);
}

/* Common entry check: a live writer in the expected state. */
static npg_status expect_state(const npg_safetensors_writer *w, writer_state want, const char *call) {
    if (!w)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "safetensors writer: %s on a NULL writer", call);
    if (w->state == want)
        return NPG_OK;
    static const char *const names[] = {"before the header is written", "after the header is written",
                                        "after the file is finished", "after an earlier failure"};
    return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: %s called %s", w->path, call, names[w->state]);
}

static npg_status fail_writer(npg_safetensors_writer *w, npg_status st) {
    w->state = STATE_FAILED;
    return st;
}

npg_status npg_safetensors_writer_add_metadata(npg_safetensors_writer *w, const char *key, const char *value) {
    NPG_TRY(expect_state(w, STATE_DECLARING, "add_metadata"));
    if (!key || !value)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: metadata %s is NULL", w->path, !key ? "key" : "value");
    for (size_t i = 0; i < w->n_meta; i++)
        if (strcmp(w->meta[2 * i], key) == 0)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: metadata key '%s' given twice", w->path, key);
    if (w->n_meta == w->cap_meta) {
        size_t cap = w->cap_meta ? 2 * w->cap_meta : 8;
        char **p = realloc(w->meta, 2 * cap * sizeof *p);
        NPG_CHECK_ALLOC(p);
        w->meta = p;
        w->cap_meta = cap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory", w->path);
    }
    w->meta[2 * w->n_meta] = k;
    w->meta[2 * w->n_meta + 1] = v;
    w->n_meta++;
    return NPG_OK;
}

npg_status npg_safetensors_writer_declare(npg_safetensors_writer *w, const char *name, npg_dtype dtype, int n_dims,
                                          const int64_t *shape) {
    NPG_TRY(expect_state(w, STATE_DECLARING, "declare"));
    if (!name || !*name || strcmp(name, "__metadata__") == 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: invalid tensor name '%s'", w->path, name ? name : "(null)");
    if ((int)dtype < 0 || dtype >= NPG_DT_COUNT)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: tensor '%s' has unknown dtype %d", w->path, name, (int)dtype);
    if (n_dims < 0 || n_dims > NPG_MAX_DIMS || (n_dims > 0 && !shape))
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: tensor '%s' has %d dimensions (0..%d with a shape)", w->path,
                        name, n_dims, NPG_MAX_DIMS);
    /* bytes = product(shape) * element size, refusing anything that overflows 64 bits */
    uint64_t bytes = npg_dtype_size(dtype);
    for (int d = 0; d < n_dims; d++) {
        if (shape[d] < 0)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: tensor '%s' dimension %d is negative (%" PRId64 ")", w->path,
                            name, d, shape[d]);
        if (shape[d] > 0 && bytes > UINT64_MAX / (uint64_t)shape[d])
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: tensor '%s' byte size overflows", w->path, name);
        bytes *= (uint64_t)shape[d];
    }
    if (bytes > UINT64_MAX - w->total)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: tensor '%s' makes the data section overflow", w->path, name);
    if (w->n_tensors == w->cap_tensors) {
        size_t cap = w->cap_tensors ? 2 * w->cap_tensors : 64;
        declared_tensor *p = realloc(w->tensors, cap * sizeof *p);
        NPG_CHECK_ALLOC(p);
        w->tensors = p;
        w->cap_tensors = cap;
    }
    declared_tensor *t = &w->tensors[w->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    NPG_CHECK_ALLOC(t->name);
    t->dtype = dtype;
    t->n_dims = n_dims;
    for (int d = 0; d < n_dims; d++)
        t->shape[d] = shape[d];
    t->begin = w->total;
    t->end = w->total + bytes;
    w->total = t->end;
    w->n_tensors++;
    return NPG_OK;
}

/* Appends s as a JSON string literal. Bytes >= 0x80 pass through (names are expected to be UTF-8). */
static npg_status append_json_string(npg_strbuf *sb, const char *s) {
    NPG_TRY(npg_strbuf_append_char(sb, '"'));
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            NPG_TRY(npg_strbuf_append(sb, esc, 2));
        } else if (*p < 0x20) {
            NPG_TRY(npg_strbuf_printf(sb, "\\u%04x", (unsigned)*p));
        } else {
            NPG_TRY(npg_strbuf_append_char(sb, (char)*p));
        }
    }
    return npg_strbuf_append_char(sb, '"');
}

/* {"__metadata__":{..},"name":{"dtype":"BF16","shape":[..],"data_offsets":[b,e]},...} + space padding */
static npg_status build_header(const npg_safetensors_writer *w, npg_strbuf *sb) {
    NPG_TRY(npg_strbuf_append_char(sb, '{'));
    bool first = true;
    if (w->n_meta) {
        NPG_TRY(npg_strbuf_append_str(sb, "\"__metadata__\":{"));
        for (size_t i = 0; i < w->n_meta; i++) {
            if (i)
                NPG_TRY(npg_strbuf_append_char(sb, ','));
            NPG_TRY(append_json_string(sb, w->meta[2 * i]));
            NPG_TRY(npg_strbuf_append_char(sb, ':'));
            NPG_TRY(append_json_string(sb, w->meta[2 * i + 1]));
        }
        NPG_TRY(npg_strbuf_append_char(sb, '}'));
        first = false;
    }
    for (size_t i = 0; i < w->n_tensors; i++) {
        const declared_tensor *t = &w->tensors[i];
        if (!first)
            NPG_TRY(npg_strbuf_append_char(sb, ','));
        first = false;
        NPG_TRY(append_json_string(sb, t->name));
        NPG_TRY(npg_strbuf_printf(sb, ":{\"dtype\":\"%s\",\"shape\":[", npg_dtype_name(t->dtype)));
        for (int d = 0; d < t->n_dims; d++)
            NPG_TRY(npg_strbuf_printf(sb, d ? ",%" PRId64 : "%" PRId64, t->shape[d]));
        NPG_TRY(npg_strbuf_printf(sb, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", t->begin, t->end));
    }
    NPG_TRY(npg_strbuf_append_char(sb, '}'));
    while (sb->len % 8 != 0)
        NPG_TRY(npg_strbuf_append_char(sb, ' '));
    return NPG_OK;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted copy of the names, so duplicates are neighbours: O(n log n) for any tensor count. */
static npg_status check_unique_names(const npg_safetensors_writer *w) {
    if (w->n_tensors < 2)
        return NPG_OK;
    const char **names = malloc(w->n_tensors * sizeof *names);
    NPG_CHECK_ALLOC(names);
    for (size_t i = 0; i < w->n_tensors; i++)
        names[i] = w->tensors[i].name;
    qsort(names, w->n_tensors, sizeof *names, compare_names);
    npg_status st = NPG_OK;
    for (size_t i = 1; i < w->n_tensors && st == NPG_OK; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            st = npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: tensor '%s' declared twice", w->path, names[i]);
    free(names);
    return st;
}

npg_status npg_safetensors_writer_write_header(npg_safetensors_writer *w) {
    NPG_TRY(expect_state(w, STATE_DECLARING, "write_header"));
    npg_status st = check_unique_names(w);
    if (st != NPG_OK)
        return fail_writer(w, st);
    npg_strbuf sb = {0};
    st = build_header(w, &sb);
    if (st == NPG_OK) {
        uint8_t len[8];
        for (int i = 0; i < 8; i++)
            len[i] = (uint8_t)((uint64_t)sb.len >> (8 * i)); /* little-endian u64 */
        st = npg_atomic_write(&w->file, len, sizeof len);
        if (st == NPG_OK)
            st = npg_atomic_write(&w->file, sb.data, sb.len);
    }
    npg_strbuf_free(&sb);
    if (st != NPG_OK)
        return fail_writer(w, st);
    w->state = STATE_WRITING;
    return NPG_OK;
}

/* Moves `current` past finished tensors; zero-byte tensors at `written` too when skip_empty. */
static void advance(npg_safetensors_writer *w, bool skip_empty) {
    while (w->current < w->n_tensors) {
        const declared_tensor *t = &w->tensors[w->current];
        if (t->end > w->written || (t->end == t->begin && !skip_empty))
            break;
        w->current++;
    }
}

npg_status npg_safetensors_writer_write(npg_safetensors_writer *w, const void *data, size_t n) {
    NPG_TRY(expect_state(w, STATE_WRITING, "write"));
    if (n == 0)
        return NPG_OK;
    if (!data)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: write of %zu bytes from NULL", w->path, n);
    if ((uint64_t)n > w->total - w->written) {
        const char *last = w->n_tensors ? w->tensors[w->n_tensors - 1].name : "(none)";
        return fail_writer(w, npg_fail(NPG_ERR_INVALID_ARGUMENT,
                                       "%s: write of %zu bytes runs %" PRIu64 " bytes past the last tensor '%s'",
                                       w->path, n, (uint64_t)n - (w->total - w->written), last));
    }
    advance(w, true);
    npg_status st = npg_atomic_write(&w->file, data, n);
    if (st != NPG_OK)
        return fail_writer(w, npg_fail_context(st, "tensor '%s'", w->tensors[w->current].name));
    w->written += n;
    advance(w, false);
    return NPG_OK;
}

npg_status npg_safetensors_writer_write_tensor(npg_safetensors_writer *w, const char *name, const void *data,
                                               size_t n) {
    NPG_TRY(expect_state(w, STATE_WRITING, "write_tensor"));
    if (!name)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: write_tensor with a NULL name", w->path);
    if (w->current >= w->n_tensors)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: tensor '%s' written after all declared tensors", w->path, name);
    const declared_tensor *t = &w->tensors[w->current];
    if (w->written != t->begin)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                        "%s: tensor '%s' written while '%s' is incomplete (%" PRIu64 " of %" PRIu64 " bytes)", w->path,
                        name, t->name, w->written - t->begin, t->end - t->begin);
    if (strcmp(t->name, name) != 0)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: tensor '%s' written out of order (expected '%s' next)", w->path,
                        name, t->name);
    if ((uint64_t)n != t->end - t->begin)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: tensor '%s' given %zu bytes, declared %" PRIu64, w->path, name,
                        n, t->end - t->begin);
    if (n == 0) {
        w->current++;
        return NPG_OK;
    }
    return npg_safetensors_writer_write(w, data, n);
}

npg_status npg_safetensors_writer_finish(npg_safetensors_writer *w) {
    NPG_TRY(expect_state(w, STATE_WRITING, "finish"));
    if (w->written != w->total) {
        advance(w, true);
        const declared_tensor *t = &w->tensors[w->current];
        return fail_writer(w, npg_fail(NPG_ERR_INVALID_ARGUMENT,
                                       "%s: tensor '%s' is incomplete (%" PRIu64 " of %" PRIu64
                                       " bytes written) at finish",
                                       w->path, t->name, w->written - t->begin, t->end - t->begin));
    }
    npg_status st = npg_atomic_commit(&w->file);
    if (st != NPG_OK)
        return fail_writer(w, st);
    w->state = STATE_FINISHED;
    return NPG_OK;
}

size_t npg_safetensors_writer_tensor_count(const npg_safetensors_writer *w) { return w ? w->n_tensors : 0; }

size_t npg_safetensors_writer_current_tensor(const npg_safetensors_writer *w) { return w ? w->current : 0; }

uint64_t npg_safetensors_writer_data_bytes(const npg_safetensors_writer *w) { return w ? w->total : 0; }

uint64_t npg_safetensors_writer_bytes_written(const npg_safetensors_writer *w) { return w ? w->written : 0; }

uint64_t npg_safetensors_writer_tensor_bytes(const npg_safetensors_writer *w, size_t i) {
    return (w && i < w->n_tensors) ? w->tensors[i].end - w->tensors[i].begin : 0;
}
