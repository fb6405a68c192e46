/* hub_fs.c — folders, the Hub's content digests, snapshot symlinks and refs for `npugen pull`. */
#include "hub/hub_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "core/strbuf.h"

npg_status hub_mkdirs(const char *path) {
    char *p = strdup(path);
    NPG_CHECK_ALLOC(p);
    npg_status st = NPG_OK;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            st = npg_fail(NPG_ERR_IO, "%s: cannot create the folder: %s", p, strerror(errno));
            break;
        }
        if (c == '\0')
            break;
        *s = c;
    }
    if (st == NPG_OK && !npg_is_dir(path))
        st = npg_fail(NPG_ERR_IO, "%s: exists and is not a folder", path);
    free(p);
    return st;
}

npg_status hub_mkdirs_parent(const char *path) {
    char *p = strdup(path);
    NPG_CHECK_ALLOC(p);
    char *slash = strrchr(p, '/');
    npg_status st = NPG_OK;
    if (slash && slash != p) {
        *slash = '\0';
        st = hub_mkdirs(p);
    }
    free(p);
    return st;
}

npg_status hub_digest_begin(const npg_hub_file *f, EVP_MD_CTX **out) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, f->lfs ? EVP_sha256() : EVP_sha1(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return npg_fail(NPG_ERR_INTERNAL, "cannot start a %s digest (OpenSSL)", f->lfs ? "sha256" : "sha1");
    }
    if (!f->lfs) { /* git hashes a blob's header, then its bytes */
        char head[48];
        int n = snprintf(head, sizeof head, "blob %llu", (unsigned long long)f->size);
        EVP_DigestUpdate(md, head, (size_t)n + 1); /* with the NUL */
    }
    *out = md;
    return NPG_OK;
}

void hub_digest_hex(EVP_MD_CTX *md, char hex[65]) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(md, d, &n);
    EVP_MD_CTX_free(md);
    for (unsigned int i = 0; i < n && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    hex[2 * (n < 32 ? n : 32)] = '\0';
}

npg_status hub_file_matches(const char *path, const npg_hub_file *f, bool *matches) {
    *matches = false;
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != f->size)
        return NPG_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return npg_fail(NPG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    EVP_MD_CTX *md = NULL;
    npg_status st = hub_digest_begin(f, &md);
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = st == NPG_OK ? malloc(CHUNK) : NULL;
    if (st == NPG_OK && !buf)
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    while (st == NPG_OK) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            st = npg_fail(NPG_ERR_IO, "%s: read failed: %s", path, strerror(errno));
        if (n <= 0)
            break;
        EVP_DigestUpdate(md, buf, (size_t)n);
    }
    close(fd);
    free(buf);
    if (md) {
        char hex[65];
        hub_digest_hex(md, hex);
        *matches = st == NPG_OK && strcmp(hex, f->etag) == 0;
    }
    return st;
}

npg_status hub_link_snapshot(const char *repo_dir, const char *commit, const npg_hub_file *f) {
    npg_strbuf link = {0}, target = {0}, tmp = {0};
    npg_status st = npg_strbuf_printf(&link, "%s/snapshots/%s/%s", repo_dir, commit, f->name);
    for (const char *p = f->name; st == NPG_OK && *p; p++)
        if (*p == '/')
            st = npg_strbuf_append_str(&target, "../");
    if (st == NPG_OK)
        st = npg_strbuf_printf(&target, "../../blobs/%s", f->etag);
    if (st == NPG_OK)
        st = npg_strbuf_printf(&tmp, "%s.tmp.%ld", link.data, (long)getpid());
    if (st == NPG_OK)
        st = hub_mkdirs_parent(link.data);
    if (st == NPG_OK) {
        char cur[4096];
        ssize_t n = readlink(link.data, cur, sizeof cur - 1);
        bool same = n >= 0 && (size_t)n == target.len && memcmp(cur, target.data, target.len) == 0;
        if (!same) {
            unlink(tmp.data);
            if (symlink(target.data, tmp.data) != 0)
                st = npg_fail(NPG_ERR_IO, "%s: cannot create the link: %s", tmp.data, strerror(errno));
            else if (rename(tmp.data, link.data) != 0) {
                st = npg_fail(NPG_ERR_IO, "%s: cannot rename to %s: %s", tmp.data, link.data, strerror(errno));
                unlink(tmp.data);
            }
        }
    }
    npg_strbuf_free(&link);
    npg_strbuf_free(&target);
    npg_strbuf_free(&tmp);
    return st;
}

npg_status hub_write_ref(const char *repo_dir, const char *revision, const char *commit) {
    npg_strbuf path = {0};
    npg_status st = npg_strbuf_printf(&path, "%s/refs/%s", repo_dir, revision);
    if (st == NPG_OK)
        st = hub_mkdirs_parent(path.data);
    npg_atomic_file af;
    if (st == NPG_OK)
        st = npg_atomic_open(path.data, &af);
    if (st == NPG_OK) {
        st = npg_atomic_write(&af, commit, strlen(commit)); /* no newline, as huggingface_hub writes it */
        if (st == NPG_OK)
            st = npg_atomic_commit(&af);
        else
            npg_atomic_abort(&af);
    }
    npg_strbuf_free(&path);
    return st;
}
