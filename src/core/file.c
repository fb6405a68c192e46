#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

npg_status npg_read_file(const char *path, char **data, size_t *len) {
    if (!path)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "path is NULL");
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return npg_fail(errno == ENOENT ? NPG_ERR_NOT_FOUND : NPG_ERR_IO, "%s: cannot open: %s", path,
                        strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return npg_fail(NPG_ERR_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        fclose(fp);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = size ? fread(buf, 1, size, fp) : 0;
    fclose(fp);
    if (got != size) {
        free(buf);
        return npg_fail(NPG_ERR_IO, "%s: short read (%zu of %zu bytes)", path, got, size);
    }
    buf[size] = '\0';
    *data = buf;
    *len = size;
    return NPG_OK;
}

npg_status npg_map_file(const char *path, npg_mapped_file *out) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return npg_fail(errno == ENOENT ? NPG_ERR_NOT_FOUND : NPG_ERR_IO, "%s: cannot open: %s", path,
                        strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return npg_fail(NPG_ERR_IO, "%s: not a regular file", path);
    }
    out->size = (size_t)st.st_size;
    out->data = NULL;
    if (out->size > 0) {
        /* MAP_POPULATE: every mapped file (weights, tokenizer.json, blobs) is read whole soon after,
         * and mapping its pages in one pass costs far less than one page fault at a time (on this
         * project's VMs: an int4 1.1B container loads and verifies in ~0.4 s instead of ~1 s). */
        void *p = mmap(NULL, out->size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return npg_fail(NPG_ERR_IO, "%s: mmap failed: %s", path, strerror(errno));
        }
        out->data = p;
    }
    close(fd);
    return NPG_OK;
}

void npg_unmap_file(npg_mapped_file *mf) {
    if (mf && mf->data)
        munmap((void *)mf->data, mf->size);
    if (mf) {
        mf->data = NULL;
        mf->size = 0;
    }
}

bool npg_path_exists(const char *path) {
    struct stat st;
    return path && stat(path, &st) == 0;
}

bool npg_is_dir(const char *path) {
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *npg_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    bool slash = a > 0 && dir[a - 1] == '/';
    char *s = malloc(a + b + 2);
    if (!s)
        return NULL;
    memcpy(s, dir, a);
    size_t o = a;
    if (!slash && a > 0)
        s[o++] = '/';
    memcpy(s + o, name, b + 1);
    return s;
}

npg_status npg_atomic_open(const char *path, npg_atomic_file *out) {
    memset(out, 0, sizeof *out);
    size_t n = strlen(path) + 32;
    out->final_path = strdup(path);
    out->tmp_path = malloc(n);
    if (!out->final_path || !out->tmp_path) {
        npg_atomic_abort(out);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    /* O_EXCL, and a suffix when the name is taken: two threads of one process writing the same path
     * (two pipelines filling one CACHE_DIR entry) must not share, truncate and publish one file while
     * the other still writes it (tests/test_concurrency.c) */
    int fd = -1;
    for (int i = 0; i < 100 && fd < 0; i++) {
        if (i == 0)
            snprintf(out->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
        else
            snprintf(out->tmp_path, n, "%s.tmp.%ld.%d", path, (long)getpid(), i);
        fd = open(out->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    out->fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!out->fp) {
        npg_status st = npg_fail(NPG_ERR_IO, "%s: cannot create: %s", out->tmp_path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        } else { /* not ours: abort must not unlink it */
            free(out->tmp_path);
            out->tmp_path = NULL;
        }
        npg_atomic_abort(out);
        return st;
    }
    return NPG_OK;
}

npg_status npg_atomic_write(npg_atomic_file *af, const void *data, size_t size) {
    if (size && fwrite(data, 1, size, af->fp) != size)
        return npg_fail(NPG_ERR_IO, "%s: write failed: %s", af->tmp_path, strerror(errno));
    return NPG_OK;
}

npg_status npg_atomic_commit(npg_atomic_file *af) {
    npg_status st = NPG_OK;
    if (fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0)
        st = npg_fail(NPG_ERR_IO, "%s: flush failed: %s", af->tmp_path, strerror(errno));
    if (fclose(af->fp) != 0 && st == NPG_OK)
        st = npg_fail(NPG_ERR_IO, "%s: close failed: %s", af->tmp_path, strerror(errno));
    af->fp = NULL;
    if (st == NPG_OK && rename(af->tmp_path, af->final_path) != 0)
        st = npg_fail(NPG_ERR_IO, "%s: rename to %s failed: %s", af->tmp_path, af->final_path, strerror(errno));
    if (st != NPG_OK)
        unlink(af->tmp_path);
    free(af->tmp_path);
    free(af->final_path);
    af->tmp_path = af->final_path = NULL;
    return st;
}

void npg_atomic_abort(npg_atomic_file *af) {
    if (!af)
        return;
    if (af->fp)
        fclose(af->fp);
    if (af->tmp_path)
        unlink(af->tmp_path);
    free(af->tmp_path);
    free(af->final_path);
    memset(af, 0, sizeof *af);
}
