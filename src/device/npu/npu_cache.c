/* npu_cache.c — CACHE_DIR keys and entry paths (see npu_cache.h). */
#include "device/npu/npu_cache.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/file.h"
#include "device/npu/npu_blob.h"
#include "core/hash.h"

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

npg_status npu_cache_key(const char *model_dir, const npu_config *cfg, bool encrypted, uint64_t *key) {
    npg_hash h;
    npg_hash_init(&h, NPU_BLOB_VERSION);
    uint64_t plan[10] = {NPU_BLOB_VERSION,
                         NPU_CONFIG_RECORD_VERSION,
                         (uint64_t)cfg->max_prompt,
                         (uint64_t)cfg->min_response,
                         (uint64_t)cfg->prefill_rows,
                         (uint64_t)cfg->static_prefill,
                         (uint64_t)cfg->best_perf,
                         (uint64_t)cfg->with_weights,
                         (uint64_t)encrypted,
                         (uint64_t)cfg->isa};
    npg_hash_update(&h, plan, sizeof plan);
    /* model files, order-independent: the sum of per-file hashes */
    uint64_t files = 0;
    struct stat fst;
    if (stat(model_dir, &fst) == 0 && S_ISREG(fst.st_mode)) { /* a GGUF file is the whole model */
        uint64_t rec[3] = {(uint64_t)fst.st_size, (uint64_t)fst.st_mtim.tv_sec, (uint64_t)fst.st_mtim.tv_nsec};
        npg_hash_update(&h, model_dir, strlen(model_dir));
        npg_hash_update(&h, rec, sizeof rec);
        *key = npg_hash_final(&h);
        return NPG_OK;
    }
    DIR *d = opendir(model_dir);
    if (!d)
        return npg_fail(NPG_ERR_IO, "%s: cannot list the model folder for the cache key: %s", model_dir,
                        strerror(errno));
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!ends_with(de->d_name, ".json") && !ends_with(de->d_name, ".safetensors") &&
            !ends_with(de->d_name, ".npgw") && !ends_with(de->d_name, ".gguf"))
            continue;
        char *path = npg_path_join(model_dir, de->d_name);
        struct stat st;
        if (!path) {
            closedir(d);
            return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
        }
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            uint64_t rec[3] = {(uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec};
            npg_hash fh;
            npg_hash_init(&fh, 1);
            npg_hash_update(&fh, de->d_name, strlen(de->d_name));
            npg_hash_update(&fh, rec, sizeof rec);
            files += npg_hash_final(&fh);
        }
        free(path);
    }
    closedir(d);
    npg_hash_update(&h, &files, sizeof files);
    *key = npg_hash_final(&h);
    return NPG_OK;
}

npg_status npu_cache_path(const char *cache_dir, uint64_t key, char **path) {
    if (!npg_is_dir(cache_dir) && mkdir(cache_dir, 0777) != 0 && errno != EEXIST)
        return npg_fail(NPG_ERR_IO, "CACHE_DIR: cannot create '%s': %s", cache_dir, strerror(errno));
    if (!npg_is_dir(cache_dir)) /* EEXIST for a file of that name: nothing could ever be cached */
        return npg_fail(NPG_ERR_IO, "CACHE_DIR: '%s' exists and is not a folder", cache_dir);
    char name[32];
    snprintf(name, sizeof name, "%016llx.npuplan", (unsigned long long)key);
    *path = npg_path_join(cache_dir, name);
    NPG_CHECK_ALLOC(*path);
    return NPG_OK;
}
