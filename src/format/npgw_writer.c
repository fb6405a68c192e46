/* npgw_writer.c — streaming writer of the weight container (see npgw_writer.h, npgw.h). */
#include "format/npgw_writer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"

typedef enum wstate { W_DECLARING, W_WRITING, W_FINISHED, W_FAILED } wstate;

/* Invariant while W_WRITING: bytes [0, pos) of the file are written; `cur` is the tensor receiving
 * bytes, `in_scales` whether its data region is complete, `done` how many bytes of the current
 * region arrived. Regions of size 0 are skipped as soon as they become current. */
struct npgw_writer {
    char *path;
    npg_atomic_file file;
    npgw_entry *entries;
    char **names;
    size_t n, cap;
    char *meta;
    uint64_t names_size;
    npgw_header header;
    uint64_t pos;
    size_t cur;
    bool in_scales;
    uint64_t done;
    npg_xxh64_state hash;
    uint64_t total, written;
    wstate state;
};

static uint64_t align_up(uint64_t v) { return (v + NPGW_ALIGN - 1) / NPGW_ALIGN * NPGW_ALIGN; }

npg_status npgw_writer_create(const char *path, npgw_writer **out) {
    if (!path || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npgw writer: %s is NULL", !path ? "path" : "out");
    npgw_writer *w = calloc(1, sizeof *w);
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
    *out = w;
    return NPG_OK;
}

void npgw_writer_free(npgw_writer *w) {
    if (!w)
        return;
    if (w->state != W_FINISHED)
        npg_atomic_abort(&w->file);
    for (size_t i = 0; i < w->n; i++)
        free(w->names[i]);
    free(w->names);
    free(w->entries);
    free(w->meta);
    free(w->path);
    free(w);
}

static npg_status expect(npgw_writer *w, wstate s, const char *fn) {
    if (!w)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npgw writer: NULL writer in %s", fn);
    if (w->state != s)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: %s called out of order (or after a failure)", w->path, fn);
    return NPG_OK;
}

npg_status npgw_writer_set_metadata(npgw_writer *w, const char *json) {
    NPG_TRY(expect(w, W_DECLARING, "npgw_writer_set_metadata"));
    if (!json)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: metadata is NULL", w->path);
    char *m = strdup(json);
    NPG_CHECK_ALLOC(m);
    free(w->meta);
    w->meta = m;
    return NPG_OK;
}

npg_status npgw_writer_declare(npgw_writer *w, const char *name, npg_wtype wtype, int n_dims, const int64_t *shape,
                               int64_t group_size) {
    NPG_TRY(expect(w, W_DECLARING, "npgw_writer_declare"));
    if (!name || !shape)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: declare: NULL name or shape", w->path);
    size_t len = strlen(name);
    if (len == 0 || len > NPGW_MAX_NAME)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: tensor name of %zu bytes (must be 1..%d)", w->path, len,
                        NPGW_MAX_NAME);
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->names[i], name) == 0)
            return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: tensor '%s' declared twice", w->path, name);
    npgw_entry e;
    memset(&e, 0, sizeof e);
    uint64_t ds = 0, ss = 0;
    npg_status st = npgw_tensor_sizes(name, wtype, n_dims, shape, group_size, &ds, &ss);
    if (st != NPG_OK)
        return npg_fail_context(NPG_ERR_INVALID_ARGUMENT, "%s", w->path);
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        npgw_entry *ne = realloc(w->entries, cap * sizeof *ne);
        NPG_CHECK_ALLOC(ne);
        w->entries = ne;
        char **nn = realloc(w->names, cap * sizeof *nn);
        NPG_CHECK_ALLOC(nn);
        w->names = nn;
        w->cap = cap;
    }
    char *copy = strdup(name);
    NPG_CHECK_ALLOC(copy);
    e.name_offset = (uint32_t)w->names_size;
    e.name_len = (uint32_t)len;
    e.wtype = (uint32_t)wtype;
    e.n_dims = (uint32_t)n_dims;
    for (int d = 0; d < n_dims; d++)
        e.shape[d] = shape[d];
    e.group_size = wtype == NPG_W_Q4_G ? group_size : 0;
    e.data_size = ds;
    e.scales_size = ss;
    w->names[w->n] = copy;
    w->entries[w->n++] = e;
    w->names_size += len;
    if (w->names_size > UINT32_MAX)
        return npg_fail(NPG_ERR_LIMIT, "%s: tensor names exceed 4 GiB", w->path);
    w->total += ds + ss;
    return NPG_OK;
}

static npg_status put_at(npgw_writer *w, uint64_t off, const void *p, size_t n) {
    if (fseeko(w->file.fp, (off_t)off, SEEK_SET) != 0 || (n && fwrite(p, 1, n, w->file.fp) != n))
        return npg_fail(NPG_ERR_IO, "%s: write failed: %s", w->file.tmp_path, strerror(errno));
    return NPG_OK;
}

static npg_status put_zeros(npgw_writer *w, uint64_t n) {
    static const uint8_t zeros[NPGW_ALIGN];
    while (n > 0) {
        size_t c = n < sizeof zeros ? (size_t)n : sizeof zeros;
        if (fwrite(zeros, 1, c, w->file.fp) != c)
            return npg_fail(NPG_ERR_IO, "%s: write failed: %s", w->file.tmp_path, strerror(errno));
        n -= c;
        w->pos += c;
    }
    return NPG_OK;
}

/* Moves past empty regions and pads up to the next region's offset. */
static npg_status settle(npgw_writer *w) {
    while (w->cur < w->n) {
        npgw_entry *e = &w->entries[w->cur];
        uint64_t size = w->in_scales ? e->scales_size : e->data_size;
        uint64_t off = w->in_scales ? e->scales_offset : e->data_offset;
        if (w->done == 0 && w->pos < off)
            NPG_TRY(put_zeros(w, off - w->pos));
        if (w->done < size)
            return NPG_OK;
        /* region complete */
        if (!w->in_scales && e->scales_size > 0) {
            w->in_scales = true;
        } else {
            e->hash = npg_xxh64_digest(&w->hash);
            npg_xxh64_init(&w->hash, 0);
            w->in_scales = false;
            w->cur++;
        }
        w->done = 0;
    }
    return NPG_OK;
}

npg_status npgw_writer_begin(npgw_writer *w) {
    NPG_TRY(expect(w, W_DECLARING, "npgw_writer_begin"));
    const char *meta = w->meta ? w->meta : "{}";
    npgw_header *h = &w->header;
    memset(h, 0, sizeof *h);
    memcpy(h->magic, NPGW_MAGIC, 8);
    h->version = NPGW_VERSION;
    h->quant_version = NPG_QUANT_VERSION;
    h->header_size = sizeof(npgw_header);
    h->entry_size = sizeof(npgw_entry);
    h->n_tensors = w->n;
    h->table_offset = sizeof(npgw_header);
    h->names_offset = h->table_offset + w->n * sizeof(npgw_entry);
    h->names_size = w->names_size;
    h->meta_offset = h->names_offset + w->names_size;
    h->meta_size = strlen(meta);
    h->data_offset = align_up(h->meta_offset + h->meta_size);
    uint64_t off = h->data_offset;
    for (size_t i = 0; i < w->n; i++) {
        npgw_entry *e = &w->entries[i];
        e->data_offset = off;
        off = align_up(off + e->data_size);
        e->scales_offset = e->scales_size ? off : 0;
        off = align_up(off + e->scales_size);
    }
    h->file_size = off;
    h->data_size = off - h->data_offset;
    w->state = W_FAILED; /* until the header part is on disk */
    NPG_TRY(put_at(w, 0, h, sizeof *h));
    NPG_TRY(put_at(w, h->table_offset, w->entries, w->n * sizeof(npgw_entry)));
    for (size_t i = 0; i < w->n; i++)
        NPG_TRY(put_at(w, h->names_offset + w->entries[i].name_offset, w->names[i], w->entries[i].name_len));
    NPG_TRY(put_at(w, h->meta_offset, meta, (size_t)h->meta_size));
    w->pos = h->meta_offset + h->meta_size;
    npg_xxh64_init(&w->hash, 0);
    w->state = W_WRITING;
    NPG_TRY(settle(w));
    return NPG_OK;
}

npg_status npgw_writer_write(npgw_writer *w, const void *data, size_t n) {
    NPG_TRY(expect(w, W_WRITING, "npgw_writer_write"));
    if (n && !data)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: write of %zu bytes from NULL", w->path, n);
    if (w->written + n > w->total)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: %zu more bytes would go past the last tensor (%llu of %llu written)",
                        w->path, n, (unsigned long long)w->written, (unsigned long long)w->total);
    const uint8_t *p = data;
    w->state = W_FAILED;
    while (n > 0) {
        NPG_TRY(settle(w));
        npgw_entry *e = &w->entries[w->cur];
        uint64_t size = w->in_scales ? e->scales_size : e->data_size;
        size_t c = (size_t)(size - w->done) < n ? (size_t)(size - w->done) : n;
        if (fwrite(p, 1, c, w->file.fp) != c)
            return npg_fail(NPG_ERR_IO, "%s: write failed: %s", w->file.tmp_path, strerror(errno));
        npg_xxh64_update(&w->hash, p, c);
        w->pos += c;
        w->done += c;
        w->written += c;
        p += c;
        n -= c;
    }
    NPG_TRY(settle(w));
    w->state = W_WRITING;
    return NPG_OK;
}

npg_status npgw_writer_finish(npgw_writer *w) {
    NPG_TRY(expect(w, W_WRITING, "npgw_writer_finish"));
    if (w->written != w->total || w->cur != w->n)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "%s: finish after %llu of %llu tensor bytes (tensor '%s' incomplete)",
                        w->path, (unsigned long long)w->written, (unsigned long long)w->total,
                        w->cur < w->n ? w->names[w->cur] : "?");
    w->state = W_FAILED;
    npgw_header *h = &w->header;
    if (w->pos < h->file_size)
        NPG_TRY(put_zeros(w, h->file_size - w->pos));
    NPG_TRY(put_at(w, h->table_offset, w->entries, w->n * sizeof(npgw_entry)));
    /* the index hash covers what is now on disk between the table and the data */
    uint64_t index_len = h->data_offset - h->table_offset;
    uint8_t *index = calloc(1, (size_t)index_len);
    NPG_CHECK_ALLOC(index);
    memcpy(index, w->entries, w->n * sizeof(npgw_entry));
    for (size_t i = 0; i < w->n; i++)
        memcpy(index + (h->names_offset - h->table_offset) + w->entries[i].name_offset, w->names[i],
               w->entries[i].name_len);
    memcpy(index + (h->meta_offset - h->table_offset), w->meta ? w->meta : "{}", (size_t)h->meta_size);
    h->index_hash = npg_xxh64(index, (size_t)index_len, 0);
    free(index);
    h->header_hash = npg_xxh64(h, offsetof(npgw_header, header_hash), 0);
    NPG_TRY(put_at(w, 0, h, sizeof *h));
    NPG_TRY(npg_atomic_commit(&w->file));
    w->state = W_FINISHED;
    return NPG_OK;
}

uint64_t npgw_writer_total_bytes(const npgw_writer *w) { return w ? w->total : 0; }
uint64_t npgw_writer_written_bytes(const npgw_writer *w) { return w ? w->written : 0; }
