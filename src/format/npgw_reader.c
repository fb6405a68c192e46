/* npgw_reader.c — memory-mapped reader of the weight container, every field checked before use. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "format/npgw.h"
#include "core/hash.h"

struct npgw_file {
    char *path;
    npg_mapped_file map;
    npgw_tensor *tensors; /* [n] */
    char *names;          /* n NUL-terminated copies back to back */
    size_t n;
    char *meta;
    const npgw_entry *entries; /* copies, aligned */
    npgw_entry *entry_copy;
};

size_t npgw_float_size(npg_wtype t) {
    switch (t) {
    case NPG_W_F32: return 4;
    case NPG_W_F16:
    case NPG_W_BF16: return 2;
    default: return 0;
    }
}

npg_status npgw_tensor_sizes(const char *what, npg_wtype wtype, int n_dims, const int64_t *shape, int64_t group_size,
                             uint64_t *data_size, uint64_t *scales_size) {
    if ((int)wtype < 0 || wtype >= NPG_W_COUNT)
        return npg_fail(NPG_ERR_FORMAT, "tensor '%s': unknown weight type %d", what, (int)wtype);
    size_t fs = npgw_float_size(wtype);
    if (fs ? (n_dims < 1 || n_dims > NPGW_MAX_DIMS) : n_dims != 2)
        return npg_fail(NPG_ERR_FORMAT, "tensor '%s': %d dimensions for type %s (float types take 1..%d, quantized 2)",
                        what, n_dims, npg_wtype_name(wtype), NPGW_MAX_DIMS);
    uint64_t elems = 1;
    for (int d = 0; d < n_dims; d++) {
        /* 2^40 per dimension keeps every product below 2^63 for the sizes that matter */
        if (shape[d] < 1 || shape[d] > ((int64_t)1 << 40))
            return npg_fail(NPG_ERR_FORMAT, "tensor '%s': dimension %d is %lld", what, d, (long long)shape[d]);
        if (elems > (UINT64_MAX >> 2) / (uint64_t)shape[d])
            return npg_fail(NPG_ERR_FORMAT, "tensor '%s': shape too large", what);
        elems *= (uint64_t)shape[d];
    }
    if (fs) {
        if (group_size != 0)
            return npg_fail(NPG_ERR_FORMAT, "tensor '%s': group_size %lld on a %s tensor", what, (long long)group_size,
                            npg_wtype_name(wtype));
        *data_size = elems * fs;
        *scales_size = 0;
        return NPG_OK;
    }
    int64_t n = shape[0], k = shape[1];
    if (wtype == NPG_W_Q4_G ? (group_size < 1 || k % group_size != 0) : group_size != 0)
        return npg_fail(NPG_ERR_FORMAT, "tensor '%s': group_size %lld is invalid for %s [%lld, %lld]", what,
                        (long long)group_size, npg_wtype_name(wtype), (long long)n, (long long)k);
    *data_size = npg_quant_data_bytes(wtype, n, k);
    *scales_size = 4u * (uint64_t)npg_quant_scale_count(wtype, n, k, group_size);
    return NPG_OK;
}

void npgw_close(npgw_file *f) {
    if (!f)
        return;
    npg_unmap_file(&f->map);
    free(f->tensors);
    free(f->names);
    free(f->meta);
    free(f->entry_copy);
    free(f->path);
    free(f);
}

static bool in_file(uint64_t off, uint64_t size, uint64_t lo, uint64_t hi) {
    return off >= lo && off <= hi && size <= hi - off;
}

static int cmp_region(const void *a, const void *b) {
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

static npg_status check_header(const char *path, const npgw_header *h, uint64_t fsize) {
    if (memcmp(h->magic, NPGW_MAGIC, 8) != 0)
        return npg_fail(NPG_ERR_FORMAT, "%s: not an npugen weight container (bad magic)", path);
    if (h->header_hash != npg_xxh64(h, offsetof(npgw_header, header_hash), 0))
        return npg_fail(NPG_ERR_CHECKSUM, "%s: header checksum mismatch (file damaged)", path);
    if (h->version != NPGW_VERSION)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: container version %u, this npugen reads version %d (re-export the model)",
                        path, h->version, NPGW_VERSION);
    if (h->quant_version != NPG_QUANT_VERSION)
        return npg_fail(NPG_ERR_UNSUPPORTED, "%s: quantized layout version %u, this npugen reads version %d (re-export)",
                        path, h->quant_version, NPG_QUANT_VERSION);
    if (h->header_size != sizeof(npgw_header) || h->entry_size != sizeof(npgw_entry))
        return npg_fail(NPG_ERR_FORMAT, "%s: header_size %u / entry_size %u (expected %zu / %zu)", path,
                        h->header_size, h->entry_size, sizeof(npgw_header), sizeof(npgw_entry));
    if (h->file_size != fsize)
        return npg_fail(NPG_ERR_FORMAT, "%s: file is %llu bytes but its header says %llu (truncated?)", path,
                        (unsigned long long)fsize, (unsigned long long)h->file_size);
    if (h->table_offset != sizeof(npgw_header) || h->n_tensors > fsize / sizeof(npgw_entry) ||
        h->names_offset != h->table_offset + h->n_tensors * sizeof(npgw_entry) ||
        !in_file(h->names_offset, h->names_size, 0, fsize) || h->meta_offset != h->names_offset + h->names_size ||
        !in_file(h->meta_offset, h->meta_size, 0, fsize) || h->data_offset < h->meta_offset + h->meta_size ||
        h->data_offset % NPGW_ALIGN != 0 || h->data_offset > fsize || h->data_size != fsize - h->data_offset)
        return npg_fail(NPG_ERR_FORMAT, "%s: inconsistent section offsets in the header", path);
    return NPG_OK;
}

/* `names_used` is the total length of the names before entry i: the copies go back to back into a
 * buffer of names_size + n + 1 bytes, so each window being inside the names section is not enough
 * (windows may overlap and sum past the buffer); names are stored back to back and never shared. */
static npg_status check_entry(npgw_file *f, const npgw_header *h, size_t i, uint64_t names_used, char *name_out) {
    const npgw_entry *e = &f->entry_copy[i];
    if (e->name_len == 0 || e->name_len > NPGW_MAX_NAME || !in_file(e->name_offset, e->name_len, 0, h->names_size))
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor %zu has a bad name reference", f->path, i);
    if (names_used > h->names_size || e->name_len > h->names_size - names_used)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor %zu: the tensor names overlap or add up to more than the %llu-byte "
                        "names section", f->path, i, (unsigned long long)h->names_size);
    memcpy(name_out, f->map.data + h->names_offset + e->name_offset, e->name_len);
    name_out[e->name_len] = '\0';
    if (strlen(name_out) != e->name_len)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor %zu name contains a NUL byte", f->path, i);
    uint64_t ds = 0, ss = 0;
    if (e->n_dims > NPGW_MAX_DIMS)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' has %u dimensions", f->path, name_out, e->n_dims);
    if (npgw_tensor_sizes(name_out, (npg_wtype)e->wtype, (int)e->n_dims, e->shape, e->group_size, &ds, &ss) != NPG_OK)
        return npg_fail_context(NPG_ERR_FORMAT, "%s", f->path);
    for (uint32_t d = e->n_dims; d < NPGW_MAX_DIMS; d++)
        if (e->shape[d] != 0)
            return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' has a non-zero unused dimension", f->path, name_out);
    if (e->data_size != ds || e->scales_size != ss)
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' (%s) stores %llu + %llu bytes; its shape needs %llu + %llu",
                        f->path, name_out, npg_wtype_name((npg_wtype)e->wtype), (unsigned long long)e->data_size,
                        (unsigned long long)e->scales_size, (unsigned long long)ds, (unsigned long long)ss);
    if (e->data_offset % NPGW_ALIGN || !in_file(e->data_offset, ds, h->data_offset, h->file_size) ||
        (ss ? (e->scales_offset % NPGW_ALIGN || !in_file(e->scales_offset, ss, h->data_offset, h->file_size))
            : e->scales_offset != 0))
        return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' lies outside the data section or is misaligned", f->path,
                        name_out);
    return NPG_OK;
}

static npg_status load(npgw_file *f) {
    if (f->map.size < sizeof(npgw_header))
        return npg_fail(NPG_ERR_FORMAT, "%s: %zu bytes is too short for a container header", f->path, f->map.size);
    npgw_header h;
    memcpy(&h, f->map.data, sizeof h);
    NPG_TRY(check_header(f->path, &h, f->map.size));
    if (npg_xxh64(f->map.data + h.table_offset, (size_t)(h.data_offset - h.table_offset), 0) != h.index_hash)
        return npg_fail(NPG_ERR_CHECKSUM, "%s: tensor table checksum mismatch (file damaged)", f->path);
    f->n = (size_t)h.n_tensors;
    f->entry_copy = malloc(f->n ? f->n * sizeof(npgw_entry) : 1);
    f->tensors = calloc(f->n ? f->n : 1, sizeof(npgw_tensor));
    f->names = malloc((size_t)h.names_size + f->n + 1);
    f->meta = malloc((size_t)h.meta_size + 3);
    uint64_t *regions = malloc((2 * f->n + 1) * 2 * sizeof(uint64_t));
    if (!f->entry_copy || !f->tensors || !f->names || !f->meta || !regions) {
        free(regions);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory reading the tensor table", f->path);
    }
    memcpy(f->entry_copy, f->map.data + h.table_offset, f->n * sizeof(npgw_entry));
    if (h.meta_size == 0)
        strcpy(f->meta, "{}");
    else {
        memcpy(f->meta, f->map.data + h.meta_offset, (size_t)h.meta_size);
        f->meta[h.meta_size] = '\0';
    }
    size_t name_pos = 0, n_regions = 0;
    uint64_t names_used = 0;
    npg_status st = NPG_OK;
    for (size_t i = 0; i < f->n && st == NPG_OK; i++) {
        char *name = f->names + name_pos;
        st = check_entry(f, &h, i, names_used, name);
        if (st != NPG_OK)
            break;
        const npgw_entry *e = &f->entry_copy[i];
        names_used += e->name_len;
        npgw_tensor *t = &f->tensors[i];
        t->name = name;
        name_pos += e->name_len + 1;
        t->wtype = (npg_wtype)e->wtype;
        t->n_dims = (int)e->n_dims;
        memcpy(t->shape, e->shape, sizeof t->shape);
        t->group_size = e->group_size;
        t->data = f->map.data + e->data_offset;
        t->data_size = (size_t)e->data_size;
        t->scales = e->scales_size ? (const float *)(const void *)(f->map.data + e->scales_offset) : NULL;
        t->scales_size = (size_t)e->scales_size;
        regions[2 * n_regions] = e->data_offset;
        regions[2 * n_regions++ + 1] = e->data_size;
        if (e->scales_size) {
            regions[2 * n_regions] = e->scales_offset;
            regions[2 * n_regions++ + 1] = e->scales_size;
        }
        for (size_t j = 0; j < i && st == NPG_OK; j++)
            if (strcmp(f->tensors[j].name, name) == 0)
                st = npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' appears twice", f->path, name);
    }
    if (st == NPG_OK) {
        qsort(regions, n_regions, 2 * sizeof(uint64_t), cmp_region);
        for (size_t i = 1; i < n_regions && st == NPG_OK; i++)
            if (regions[2 * (i - 1)] + regions[2 * (i - 1) + 1] > regions[2 * i])
                st = npg_fail(NPG_ERR_FORMAT, "%s: two tensors' regions overlap at offset %llu", f->path,
                              (unsigned long long)regions[2 * i]);
    }
    free(regions);
    return st;
}

npg_status npgw_open(const char *path, npgw_file **out) {
    if (!path || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npgw_open: %s is NULL", !path ? "path" : "out");
    npgw_file *f = calloc(1, sizeof *f);
    NPG_CHECK_ALLOC(f);
    f->path = strdup(path);
    if (!f->path) {
        free(f);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    npg_status st = npg_map_file(path, &f->map);
    if (st == NPG_OK)
        st = load(f);
    if (st != NPG_OK) {
        npgw_close(f);
        return st;
    }
    f->entries = f->entry_copy;
    *out = f;
    return NPG_OK;
}

npg_status npgw_verify_data(const npgw_file *f) {
    for (size_t i = 0; i < f->n; i++) {
        const npgw_tensor *t = &f->tensors[i];
        npg_xxh64_state s;
        npg_xxh64_init(&s, 0);
        npg_xxh64_update(&s, t->data, t->data_size);
        if (t->scales_size)
            npg_xxh64_update(&s, t->scales, t->scales_size);
        if (npg_xxh64_digest(&s) != f->entries[i].hash)
            return npg_fail(NPG_ERR_CHECKSUM, "%s: tensor '%s' fails its checksum (file damaged; re-export)", f->path,
                            t->name);
    }
    return NPG_OK;
}

size_t npgw_count(const npgw_file *f) { return f ? f->n : 0; }
const npgw_tensor *npgw_at(const npgw_file *f, size_t i) { return f && i < f->n ? &f->tensors[i] : NULL; }

const npgw_tensor *npgw_find(const npgw_file *f, const char *name) {
    if (!f || !name)
        return NULL;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

const char *npgw_metadata(const npgw_file *f) { return f ? f->meta : "{}"; }
const char *npgw_path(const npgw_file *f) { return f ? f->path : ""; }

uint64_t npgw_data_bytes(const npgw_file *f) {
    uint64_t s = 0;
    for (size_t i = 0; f && i < f->n; i++)
        s += f->tensors[i].data_size + f->tensors[i].scales_size;
    return s;
}
