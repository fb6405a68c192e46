#include "core/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

/* Opens a regular file for reading without ever blocking: a FIFO named config.json (or a device)
 * would block open() or read() forever, so the type is checked by stat before opening, and again on
 * the descriptor (opened O_NONBLOCK, which only matters for what is not a regular file) in case the
 * name changed in between. */
npg_status npg_open_regular(const char *path, int *fd_out, struct stat *st_out) {
    struct stat st;
    if (stat(path, &st) != 0)
        return npg_fail(errno == ENOENT ? NPG_ERR_NOT_FOUND : NPG_ERR_IO, "%s: cannot open: %s", path,
                        strerror(errno));
    if (!S_ISREG(st.st_mode))
        return npg_fail(NPG_ERR_IO, "%s: %s, not a regular file", path,
                        S_ISDIR(st.st_mode)    ? "is a directory"
                        : S_ISFIFO(st.st_mode) ? "is a FIFO"
                                               : "is a device or socket");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return npg_fail(errno == ENOENT ? NPG_ERR_NOT_FOUND : NPG_ERR_IO, "%s: cannot open: %s", path,
                        strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return npg_fail(NPG_ERR_IO, "%s: not a regular file", path);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    *fd_out = fd;
    if (st_out)
        *st_out = st;
    return NPG_OK;
}

npg_status npg_read_file(const char *path, char **data, size_t *len) {
    if (!path)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "path is NULL");
    int fd = -1;
    struct stat st;
    NPG_TRY(npg_open_regular(path, &fd, &st));
    /* every file read whole is JSON or text (configs, templates, messages); memory for a larger one
     * would be an accident or an attack */
    if ((uint64_t)st.st_size > NPG_MAX_READ_FILE) {
        close(fd);
        return npg_fail(NPG_ERR_LIMIT, "%s: %lld bytes is more than the %d MiB a file read whole may have", path,
                        (long long)st.st_size, NPG_MAX_READ_FILE >> 20);
    }
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        close(fd);
        return npg_fail(NPG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        fclose(fp);
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = size ? fread(buf, 1, size, fp) : 0;
    bool err = ferror(fp) != 0;
    fclose(fp);
    if (got != size || err) {
        free(buf);
        return npg_fail(NPG_ERR_IO, "%s: %s (%zu of %zu bytes)", path, err ? "read error" : "short read", got, size);
    }
    buf[size] = '\0';
    *data = buf;
    *len = size;
    return NPG_OK;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14; older headers lack it */
#endif

/* Reads a fresh mapping's pages in at once, preferring 2 MiB mappings. The page cache of a large file
 * holds 2 MiB folios when the file was written in aligned 2 MiB pieces (npg_atomic_open) or read in
 * by a VM_HUGEPAGE fault (MADV_HUGEPAGE before populating); the kernel then maps each with one PMD
 * entry instead of 512 PTEs. On the development VM (a PVM guest) the first touch of every 4 KiB page
 * of a new mapping costs a hypervisor fault: hashing a 618 MB blob took ~270 ms of CPU on first touch
 * against ~25 ms once the same bytes were 2 MiB-mapped (docs/npu.md, "Start from a full blob"). */
static void populate_map(void *p, size_t size, int fd) {
    if (size >= ((size_t)2 << 20))
        (void)madvise(p, size, MADV_HUGEPAGE); /* a hint: refused where THP is off, harmless */
    if (madvise(p, size, MADV_POPULATE_READ) != 0 && errno == EINVAL) /* a kernel before 5.14 */
        (void)mmap(p, size, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd, 0);
}

static npg_status map_file(const char *path, bool populate, npg_mapped_file *out) {
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
        if (populate)
            populate_map(p, out->size, fd);
        out->data = p;
    }
    close(fd);
    return NPG_OK;
}

npg_status npg_map_file(const char *path, npg_mapped_file *out) {
    /* MAP_POPULATE: every mapped file (weights, tokenizer.json, blobs) is read whole soon after,
     * and mapping its pages in one pass costs far less than one page fault at a time (on this
     * project's VMs: an int4 1.1B container loads and verifies in ~0.4 s instead of ~1 s). */
    return map_file(path, true, out);
}

npg_status npg_map_file_lazy(const char *path, npg_mapped_file *out) {
    return map_file(path, false, out);
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

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void npg_remove_tree(const char *path) {
    struct stat st;
    if (path && lstat(path, &st) == 0)
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* True when `pid` names no process: kill(pid, 0) fails with ESRCH (EPERM means someone else's live
 * process, which is left alone). */
static bool pid_dead(long pid) {
    if (pid <= 0 || pid == (long)getpid() || pid > (long)INT32_MAX)
        return false;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

void npg_clean_stale_temps(const char *final_path, const char *marker) {
    const char *slash = strrchr(final_path, '/');
    size_t dlen = slash ? (size_t)(slash - final_path) : 0;
    char *dir = malloc(dlen + 2);
    if (!dir)
        return; /* cleaning is a courtesy: never an error */
    if (slash && dlen == 0)
        strcpy(dir, "/");
    else if (slash)
        snprintf(dir, dlen + 1, "%s", final_path);
    else
        strcpy(dir, ".");
    const char *base = slash ? slash + 1 : final_path;
    size_t blen = strlen(base), mlen = strlen(marker);
    DIR *d = blen ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strncmp(n, base, blen) != 0 || strncmp(n + blen, marker, mlen) != 0)
            continue;
        char *end = NULL;
        const char *num = n + blen + mlen;
        long pid = strtol(num, &end, 10);
        if (end == num || (*end && *end != '-' && *end != '.') || !pid_dead(pid))
            continue;
        char *full = npg_path_join(dir, n);
        if (full)
            npg_remove_tree(full);
        free(full);
    }
    if (d)
        closedir(d);
    free(dir);
}

npg_status npg_atomic_open(const char *path, npg_atomic_file *out) {
    memset(out, 0, sizeof *out);
    npg_clean_stale_temps(path, ".tmp."); /* a killed earlier writer's full-size leftover */
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
    /* A 2 MiB buffer: stdio then writes whole multiples of it at 2 MiB-aligned offsets, so the page
     * cache of a large output (weights, blobs) is left in 2 MiB folios that a later mmap maps with
     * huge entries (populate_map). Memory is only touched as far as a small file fills it. */
    out->buf = out->fp ? malloc((size_t)2 << 20) : NULL; /* without it: stdio's buffer, still correct */
    if (out->buf && setvbuf(out->fp, out->buf, _IOFBF, (size_t)2 << 20) != 0) {
        free(out->buf);
        out->buf = NULL;
    }
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
    free(af->buf);
    af->buf = NULL;
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
    free(af->buf);
    if (af->tmp_path)
        unlink(af->tmp_path);
    free(af->tmp_path);
    free(af->final_path);
    memset(af, 0, sizeof *af);
}
