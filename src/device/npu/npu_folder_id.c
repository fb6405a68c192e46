/* npu_folder_id.c — model-folder identity for blobs (see npu_folder_id.h). */
#include "device/npu/npu_folder_id.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"

enum { WINDOW = 4096, N_WINDOWS = 16 };

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Hash of a whole regular file; 0 when it does not exist. */
static npg_status whole_file(const char *dir, const char *name, uint64_t *out) {
    *out = 0;
    char *path = npg_path_join(dir, name);
    NPG_CHECK_ALLOC(path);
    npg_status st = NPG_OK;
    if (npg_path_exists(path)) {
        npg_mapped_file mf = {0};
        st = npg_map_file(path, &mf);
        if (st == NPG_OK)
            *out = npg_hash64(mf.data, mf.size, 0) | 1; /* never 0: 0 means absent */
        npg_unmap_file(&mf);
    }
    free(path);
    return st;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Name, size and sampled windows of one weights file into h. */
static npg_status sample_file(const char *dir, const char *name, npg_hash *h) {
    char *path = npg_path_join(dir, name);
    NPG_CHECK_ALLOC(path);
    int fd = -1;
    struct stat st;
    npg_status rs = npg_open_regular(path, &fd, &st);
    free(path);
    NPG_TRY(rs);
    uint64_t size = (uint64_t)st.st_size;
    npg_hash_update(h, name, strlen(name) + 1);
    npg_hash_update(h, &size, sizeof size);
    uint8_t buf[WINDOW];
    for (int w = 0; w <= N_WINDOWS; w++) {
        /* the first window (headers), evenly spread ones, and the last */
        uint64_t at = w < N_WINDOWS ? size / N_WINDOWS * (uint64_t)w : (size > WINDOW ? size - WINDOW : 0);
        ssize_t got = pread(fd, buf, sizeof buf, (off_t)at);
        if (got < 0) {
            rs = npg_fail(NPG_ERR_IO, "%s/%s: read error: %s", dir, name, strerror(errno));
            break;
        }
        npg_hash_update(h, buf, (size_t)got);
    }
    close(fd);
    return rs;
}

static npg_status weights_id(const char *dir, uint64_t *out) {
    *out = 0;
    DIR *d = opendir(dir);
    if (!d)
        return npg_fail(NPG_ERR_IO, "%s: cannot list the model folder: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    npg_status st = NPG_OK;
    struct dirent *e;
    while (st == NPG_OK && (e = readdir(d)) != NULL) {
        if (!ends_with(e->d_name, ".safetensors") && !ends_with(e->d_name, ".npgw") && !ends_with(e->d_name, ".gguf"))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name)))
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
        else
            n++;
    }
    closedir(d);
    if (st == NPG_OK && n) {
        qsort(names, n, sizeof *names, cmp_names);
        npg_hash h;
        npg_hash_init(&h, 0x46494c45u);
        for (size_t i = 0; i < n && st == NPG_OK; i++)
            st = sample_file(dir, names[i], &h);
        if (st == NPG_OK)
            *out = npg_hash_final(&h) | 1;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return st;
}

/* A GGUF file as the model: config, tokenizer and weights all live in it, so its sampled windows are
 * the whole identity (config and tokenizer parts 0: not compared). */
static npg_status gguf_file_id(const char *path, uint64_t id[NPU_FOLDER_ID_PARTS]) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path + 1)) : strdup(".");
    NPG_CHECK_ALLOC(dir);
    npg_hash h;
    npg_hash_init(&h, 0x46494c45u);
    npg_status st = sample_file(dir, slash ? slash + 1 : path, &h);
    free(dir);
    id[0] = id[1] = 0;
    id[2] = st == NPG_OK ? npg_hash_final(&h) | 1 : 0;
    return st;
}

npg_status npu_folder_id(const char *model_dir, uint64_t id[NPU_FOLDER_ID_PARTS]) {
    if (!npg_is_dir(model_dir))
        return gguf_file_id(model_dir, id);
    NPG_TRY(whole_file(model_dir, "config.json", &id[0]));
    NPG_TRY(whole_file(model_dir, "tokenizer.json", &id[1]));
    return weights_id(model_dir, &id[2]);
}

npg_status npu_folder_id_check(const char *model_dir, const uint64_t recorded[NPU_FOLDER_ID_PARTS],
                               const char *blob_path) {
    static const char *const part[NPU_FOLDER_ID_PARTS] = {"config.json", "tokenizer.json",
                                                         "weights files (*.safetensors / *.npgw / *.gguf)"};
    uint64_t now[NPU_FOLDER_ID_PARTS];
    NPG_TRY(npu_folder_id(model_dir, now));
    for (int i = 0; i < NPU_FOLDER_ID_PARTS; i++)
        if (recorded[i] && now[i] && recorded[i] != now[i])
            return npg_fail(NPG_ERR_INVALID_ARGUMENT,
                            "%s: the blob was compiled from another model folder: the %s of %s differ from the "
                            "ones it was compiled with (use the blob with its own model folder, or compile again)",
                            blob_path, part[i], model_dir);
    return NPG_OK;
}
