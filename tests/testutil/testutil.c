#include "testutil.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int npg_test_failures = 0;
int npg_test_skips = 0;
bool npg_test_case_skipped = false;

void npg_test_skip(const char *why) {
    fprintf(stderr, "  skipped: %s\n", why);
    if (!npg_test_case_skipped)
        npg_test_skips++;
    npg_test_case_skipped = true;
}

int npg_test_summary(void) {
    if (npg_test_failures) {
        fprintf(stderr, "%d check(s) failed\n", npg_test_failures);
        return 1;
    }
    if (npg_test_skips) {
        fprintf(stderr, "%d case(s) skipped: reported to ctest as skipped\n", npg_test_skips);
        return NPG_TEST_SKIP_CODE;
    }
    return 0;
}

const char *shared_path(const char *rel) {
    static _Thread_local char bufs[8][1024];
    static _Thread_local int slot = 0;
    char *b = bufs[slot++ & 7];
    snprintf(b, 1024, "%s/%s", NPG_SHARED_DIR, rel);
    return b;
}

const char *shared_model(const char *name) {
    char rel[1024];
    snprintf(rel, sizeof rel, "models/%s", name);
    return shared_path(rel);
}

char *read_all(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    if (!buf || fread(buf, 1, (size_t)sz, fp) != (size_t)sz) {
        free(buf);
        fclose(fp);
        return NULL;
    }
    buf[sz] = '\0';
    fclose(fp);
    if (len)
        *len = (size_t)sz;
    return buf;
}

float *read_f32(const char *path, size_t *n) {
    size_t len = 0;
    char *buf = read_all(path, &len);
    if (!buf)
        return NULL;
    *n = len / 4;
    return (float *)buf;
}

float max_abs_diff(const float *a, const float *b, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = a[i] - b[i];
        if (d < 0)
            d = -d;
        if (d > m || d != d)
            m = (d != d) ? 1e30f : d;
    }
    return m;
}

static char *slurp_fd(int fd) {
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1024 > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    return buf;
}

int run_cmd(const char *cmd, char **out, char **err) {
    char errpath[] = "/tmp/npg_test_stderr_XXXXXX";
    int errfd = mkstemp(errpath);
    if (errfd < 0)
        return -1;
    char *full = malloc(strlen(cmd) + 64 + strlen(errpath));
    sprintf(full, "%s 2>%s", cmd, errpath);
    FILE *p = popen(full, "r");
    free(full);
    if (!p) {
        close(errfd);
        unlink(errpath);
        return -1;
    }
    char *o = slurp_fd(fileno(p));
    int rc = pclose(p);
    char *e = slurp_fd(errfd);
    close(errfd);
    unlink(errpath);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

char *make_temp_dir(void) {
    char tmpl[] = "/tmp/npg_test_XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

int count_dir_entries(const char *dir, const char *part) {
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && (!part || strstr(e->d_name, part));
    closedir(d);
    return n;
}

void rm_rf(const char *path) {
    if (!path)
        return;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "rm_rf %s failed\n", path);
}

void write_file(const char *path, const void *data, size_t len) {
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return;
    fwrite(data, 1, len, fp);
    fclose(fp);
}

int32_t test_argmax(const float *x, int64_t n) {
    int64_t b = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    return (int32_t)b;
}
