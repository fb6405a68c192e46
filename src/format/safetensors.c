#include "format/safetensors.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"

typedef struct shard_file {
    char *path;
    npg_mapped_file map;
} shard_file;

struct npg_tensor_store {
    shard_file *shards; /* [n_shards] */
    int n_shards;
    npg_tensor_info *tensors; /* [n_tensors] */
    size_t n_tensors;
    size_t cap_tensors;
    size_t *table; /* open-addressing hash over tensor names: [table_size] indices + 1, 0 = empty */
    size_t table_size;
    bool lazy; /* shards mapped without reading them in (npg_tensor_store_open_dir_streaming) */
};

static const struct {
    const char *name;
    npg_dtype dt;
    size_t size;
} dtype_table[] = {
    {"F32", NPG_DT_F32, 4}, {"F16", NPG_DT_F16, 2}, {"BF16", NPG_DT_BF16, 2}, {"F64", NPG_DT_F64, 8},
    {"I8", NPG_DT_I8, 1},   {"U8", NPG_DT_U8, 1},   {"I16", NPG_DT_I16, 2},   {"I32", NPG_DT_I32, 4},
    {"I64", NPG_DT_I64, 8}, {"BOOL", NPG_DT_BOOL, 1},
};

const char *npg_dtype_name(npg_dtype dt) {
    for (size_t i = 0; i < sizeof dtype_table / sizeof dtype_table[0]; i++)
        if (dtype_table[i].dt == dt)
            return dtype_table[i].name;
    return "?";
}

size_t npg_dtype_size(npg_dtype dt) {
    for (size_t i = 0; i < sizeof dtype_table / sizeof dtype_table[0]; i++)
        if (dtype_table[i].dt == dt)
            return dtype_table[i].size;
    return 0;
}

static uint64_t hash_name(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void npg_tensor_store_free(npg_tensor_store *ts) {
    if (!ts)
        return;
    for (size_t i = 0; i < ts->n_tensors; i++)
        free(ts->tensors[i].name);
    free(ts->tensors);
    for (int i = 0; i < ts->n_shards; i++) {
        npg_unmap_file(&ts->shards[i].map);
        free(ts->shards[i].path);
    }
    free(ts->shards);
    free(ts->table);
    free(ts);
}

/* An integral JSON number in [0, max] (fractions and strings are not offsets or sizes). */
static bool json_uint(const cJSON *v, double max, uint64_t *out) {
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= max) ||
        v->valuedouble != (double)(uint64_t)v->valuedouble)
        return false;
    *out = (uint64_t)v->valuedouble;
    return true;
}

static int cmp_range(const void *a, const void *b) {
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Tensors [first, ts->n_tensors) of one shard must not share bytes: each is its own data. */
static npg_status check_overlap(const npg_tensor_store *ts, size_t first, const uint8_t *base, const char *path) {
    size_t n = ts->n_tensors - first, k = 0;
    uint64_t *r = malloc((n ? n : 1) * 2 * sizeof *r);
    NPG_CHECK_ALLOC(r);
    for (size_t i = first; i < ts->n_tensors; i++)
        if (ts->tensors[i].n_bytes) {
            r[2 * k] = (uint64_t)(ts->tensors[i].data - base);
            r[2 * k++ + 1] = ts->tensors[i].n_bytes;
        }
    qsort(r, k, 2 * sizeof *r, cmp_range);
    npg_status st = NPG_OK;
    for (size_t i = 1; i < k && st == NPG_OK; i++)
        if (r[2 * (i - 1)] + r[2 * (i - 1) + 1] > r[2 * i])
            st = npg_fail(NPG_ERR_FORMAT, "%s: two tensors' data_offsets overlap", path);
    free(r);
    return st;
}

/* Parses one shard's header and appends its tensors. */
static npg_status load_shard(npg_tensor_store *ts, int index) {
    shard_file *sh = &ts->shards[index];
    const char *path = sh->path;
    NPG_TRY(ts->lazy ? npg_map_file_lazy(path, &sh->map) : npg_map_file(path, &sh->map));
    const uint8_t *base = sh->map.data;
    size_t size = sh->map.size;
    if (size < 8)
        return npg_fail(NPG_ERR_FORMAT, "%s: truncated safetensors file (%zu bytes, no header length)", path, size);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--)
        header_len = (header_len << 8) | base[i];
    if (header_len > size - 8)
        return npg_fail(NPG_ERR_FORMAT, "%s: header length %llu runs past the end of the file (%zu bytes)", path,
                        (unsigned long long)header_len, size);
    size_t data_start = 8 + (size_t)header_len;
    size_t data_size = size - data_start;
    cJSON *root = NULL;
    NPG_TRY(npg_json_parse((const char *)base + 8, (size_t)header_len, path, &root));
    npg_status st = NPG_OK;
    size_t first = ts->n_tensors;
    if (!cJSON_IsObject(root)) {
        st = npg_fail(NPG_ERR_FORMAT, "%s: header is not a JSON object", path);
        goto done;
    }
    for (const cJSON *it = root->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0)
            continue;
        const char *dtype = npg_json_get_string(it, "dtype");
        const cJSON *shape = npg_json_get(it, "shape");
        const cJSON *offs = npg_json_get(it, "data_offsets");
        if (!dtype || !cJSON_IsArray(shape) || !cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2) {
            st = npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' lacks dtype, shape or data_offsets", path, it->string);
            goto done;
        }
        npg_tensor_info ti;
        memset(&ti, 0, sizeof ti);
        size_t esize = 0;
        for (size_t i = 0; i < sizeof dtype_table / sizeof dtype_table[0]; i++)
            if (strcmp(dtype_table[i].name, dtype) == 0) {
                ti.dtype = dtype_table[i].dt;
                esize = dtype_table[i].size;
            }
        if (!esize) {
            st = npg_fail(NPG_ERR_UNSUPPORTED, "%s: tensor '%s' has unsupported dtype '%s'", path, it->string, dtype);
            goto done;
        }
        int nd = cJSON_GetArraySize(shape);
        if (nd > NPG_MAX_DIMS) {
            st = npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' has %d dimensions (max %d)", path, it->string, nd,
                          NPG_MAX_DIMS);
            goto done;
        }
        ti.n_dims = nd;
        int64_t count = 1;
        int d = 0;
        for (const cJSON *dim = shape->child; dim; dim = dim->next, d++) {
            uint64_t dv = 0;
            if (!json_uint(dim, 1e12, &dv)) {
                st = npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' has an invalid shape (dimensions are integers)", path,
                              it->string);
                goto done;
            }
            ti.shape[d] = (int64_t)dv;
            if (ti.shape[d] != 0 && count > INT64_MAX / 16 / ti.shape[d]) {
                st = npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' shape overflows", path, it->string);
                goto done;
            }
            count *= ti.shape[d];
        }
        ti.n_elements = count;
        uint64_t b = 0, e = 0;
        if (!json_uint(cJSON_GetArrayItem(offs, 0), 1e18, &b) || !json_uint(cJSON_GetArrayItem(offs, 1), 1e18, &e)) {
            st = npg_fail(NPG_ERR_FORMAT,
                          "%s: tensor '%s' data_offsets are out of range or not two non-negative integers", path,
                          it->string);
            goto done;
        }
        if (!(e >= b && e <= data_size)) {
            st = npg_fail(NPG_ERR_FORMAT,
                          "%s: tensor '%s' data offsets [%llu, %llu] are out of range (data section is %zu bytes)",
                          path, it->string, (unsigned long long)b, (unsigned long long)e, data_size);
            goto done;
        }
        ti.n_bytes = (size_t)(e - b);
        if (ti.n_bytes != (size_t)count * esize) {
            st = npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' holds %zu bytes but shape and dtype %s need %zu", path,
                          it->string, ti.n_bytes, dtype, (size_t)count * esize);
            goto done;
        }
        ti.data = base + data_start + (size_t)b;
        ti.shard = index;
        ti.name = strdup(it->string);
        if (!ti.name) {
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
            goto done;
        }
        if (ts->n_tensors == ts->cap_tensors) {
            size_t cap = ts->cap_tensors ? ts->cap_tensors * 2 : 64;
            npg_tensor_info *p = realloc(ts->tensors, cap * sizeof *p);
            if (!p) {
                free(ti.name);
                st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
                goto done;
            }
            ts->tensors = p;
            ts->cap_tensors = cap;
        }
        ts->tensors[ts->n_tensors++] = ti;
    }
    st = check_overlap(ts, first, base, path);
done:
    cJSON_Delete(root);
    return st;
}

static npg_status build_index(npg_tensor_store *ts) {
    size_t size = 16;
    while (size < ts->n_tensors * 2)
        size *= 2;
    ts->table = calloc(size, sizeof *ts->table);
    NPG_CHECK_ALLOC(ts->table);
    ts->table_size = size;
    for (size_t i = 0; i < ts->n_tensors; i++) {
        size_t h = (size_t)hash_name(ts->tensors[i].name) & (size - 1);
        while (ts->table[h]) {
            if (strcmp(ts->tensors[ts->table[h] - 1].name, ts->tensors[i].name) == 0)
                return npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' appears twice", ts->shards[ts->tensors[i].shard].path,
                                ts->tensors[i].name);
            h = (h + 1) & (size - 1);
        }
        ts->table[h] = i + 1;
    }
    return NPG_OK;
}

static npg_status open_paths(char **paths, int n, bool lazy, npg_tensor_store **out) {
    npg_tensor_store *ts = calloc(1, sizeof *ts);
    if (!ts) {
        for (int i = 0; i < n; i++)
            free(paths[i]);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory opening tensors");
    }
    ts->shards = calloc((size_t)n, sizeof *ts->shards);
    if (!ts->shards) {
        for (int i = 0; i < n; i++)
            free(paths[i]);
        free(ts);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory opening tensors");
    }
    ts->n_shards = n;
    ts->lazy = lazy;
    for (int i = 0; i < n; i++)
        ts->shards[i].path = paths[i]; /* ownership moves to the store */
    npg_status st = NPG_OK;
    for (int i = 0; i < n && st == NPG_OK; i++)
        st = load_shard(ts, i);
    if (st == NPG_OK)
        st = build_index(ts);
    if (st != NPG_OK) {
        npg_tensor_store_free(ts);
        return st;
    }
    *out = ts;
    return NPG_OK;
}

npg_status npg_tensor_store_open_file(const char *path, npg_tensor_store **out) {
    char *p = strdup(path);
    NPG_CHECK_ALLOC(p);
    return open_paths(&p, 1, false, out);
}

static npg_status open_dir(const char *dir, bool lazy, npg_tensor_store **out) {
    char *single = npg_path_join(dir, "model.safetensors");
    char *index = npg_path_join(dir, "model.safetensors.index.json");
    if (!single || !index) {
        free(single);
        free(index);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (npg_path_exists(single)) {
        free(index);
        return open_paths(&single, 1, lazy, out);
    }
    free(single);
    if (!npg_path_exists(index)) {
        npg_status st = npg_fail(NPG_ERR_NOT_FOUND, "%s: no model.safetensors or model.safetensors.index.json", dir);
        free(index);
        return st;
    }
    cJSON *root = NULL;
    npg_status st = npg_json_parse_file(index, &root);
    if (st != NPG_OK) {
        free(index);
        return st;
    }
    const cJSON *map = npg_json_get(root, "weight_map");
    char **paths = NULL;
    int n = 0;
    if (!cJSON_IsObject(map)) {
        st = npg_fail(NPG_ERR_FORMAT, "%s: missing object 'weight_map'", index);
        goto done;
    }
    /* unique shard file names, in first-seen order */
    int cap = cJSON_GetArraySize(map);
    paths = calloc((size_t)(cap ? cap : 1), sizeof *paths);
    if (!paths) {
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (const cJSON *it = map->child; it; it = it->next) {
        if (!cJSON_IsString(it) || strchr(it->valuestring, '/')) {
            st = npg_fail(NPG_ERR_FORMAT, "%s: weight_map entry '%s' is not a file name", index, it->string);
            goto done;
        }
        char *full = npg_path_join(dir, it->valuestring);
        if (!full) {
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        bool seen = false;
        for (int i = 0; i < n && !seen; i++)
            seen = strcmp(paths[i], full) == 0;
        if (seen)
            free(full);
        else
            paths[n++] = full;
    }
    if (n == 0) {
        st = npg_fail(NPG_ERR_FORMAT, "%s: 'weight_map' is empty", index);
        goto done;
    }
    st = open_paths(paths, n, lazy, out);
    n = 0; /* ownership moved */
    if (st == NPG_OK) {
        /* every tensor the index names must be in the shard it names */
        for (const cJSON *it = map->child; it && st == NPG_OK; it = it->next)
            if (!npg_tensor_store_find(*out, it->string)) {
                st = npg_fail(NPG_ERR_FORMAT, "%s: tensor '%s' is listed but missing from %s", index, it->string,
                              it->valuestring);
                npg_tensor_store_free(*out);
                *out = NULL;
            }
    }
done:
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    cJSON_Delete(root);
    free(index);
    return st;
}

const npg_tensor_info *npg_tensor_store_find(const npg_tensor_store *ts, const char *name) {
    if (!ts || !ts->table_size)
        return NULL;
    size_t h = (size_t)hash_name(name) & (ts->table_size - 1);
    while (ts->table[h]) {
        const npg_tensor_info *t = &ts->tensors[ts->table[h] - 1];
        if (strcmp(t->name, name) == 0)
            return t;
        h = (h + 1) & (ts->table_size - 1);
    }
    return NULL;
}

size_t npg_tensor_store_count(const npg_tensor_store *ts) { return ts ? ts->n_tensors : 0; }

const npg_tensor_info *npg_tensor_store_at(const npg_tensor_store *ts, size_t i) {
    return (ts && i < ts->n_tensors) ? &ts->tensors[i] : NULL;
}

size_t npg_tensor_store_data_bytes(const npg_tensor_store *ts) {
    size_t total = 0;
    for (size_t i = 0; ts && i < ts->n_tensors; i++)
        total += ts->tensors[i].n_bytes;
    return total;
}

const char *npg_tensor_store_shard_path(const npg_tensor_store *ts, int shard) {
    return (ts && shard >= 0 && shard < ts->n_shards) ? ts->shards[shard].path : "?";
}

npg_status npg_tensor_store_open_dir(const char *dir, npg_tensor_store **out) {
    return open_dir(dir, false, out);
}

npg_status npg_tensor_store_open_dir_streaming(const char *dir, npg_tensor_store **out) {
    return open_dir(dir, true, out);
}
