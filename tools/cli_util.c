#include "cli_util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "npugen %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_fail(const char *cmd, npg_status st) {
    const char *msg = npg_last_error();
    cli_error(cmd, "%s", *msg ? msg : npg_status_name(st));
    return 1;
}

bool cli_value(const char *cmd, int argc, char **argv, int *i, const char **out) {
    if (*i + 1 >= argc) {
        cli_error(cmd, "option %s needs a value", argv[*i]);
        return false;
    }
    *out = argv[++*i];
    return true;
}

bool cli_parse_long(const char *cmd, const char *opt, const char *s, long long lo, long long hi, long long *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        cli_error(cmd, "%s: '%s' is not an integer in [%lld, %lld]", opt, s, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_float(const char *cmd, const char *opt, const char *s, float *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v)) {
        cli_error(cmd, "%s: '%s' is not a number", opt, s);
        return false;
    }
    *out = (float)v;
    return true;
}

bool cli_parse_property(const char *cmd, const char *kv, npg_properties *props) {
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        cli_error(cmd, "-c: '%s' is not KEY=VALUE", kv);
        return false;
    }
    char key[256];
    size_t n = (size_t)(eq - kv);
    if (n >= sizeof key) {
        cli_error(cmd, "-c: key too long in '%s'", kv);
        return false;
    }
    memcpy(key, kv, n);
    key[n] = '\0';
    if (npg_properties_set(props, key, eq + 1) != NPG_OK) {
        cli_error(cmd, "-c: %s", npg_last_error());
        return false;
    }
    return true;
}

bool cli_parse_ids(const char *cmd, const char *s, int32_t **ids, size_t *n) {
    size_t cap = 16, count = 0;
    int32_t *v = malloc(cap * sizeof *v);
    if (!v)
        return false;
    const char *p = s;
    while (*p) {
        char *end = NULL;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < 0 || x > INT32_MAX || (*end && *end != ',')) {
            cli_error(cmd, "--prompt-ids: '%s' is not a comma-separated list of token ids", s);
            free(v);
            return false;
        }
        if (count == cap) {
            cap *= 2;
            int32_t *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(v);
                return false;
            }
            v = nv;
        }
        v[count++] = (int32_t)x;
        p = *end ? end + 1 : end;
    }
    if (count == 0) {
        cli_error(cmd, "--prompt-ids: the list is empty (give at least one token id)");
        free(v);
        return false;
    }
    *ids = v;
    *n = count;
    return true;
}

bool cli_read_file(const char *cmd, const char *path, char **out) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        cli_error(cmd, "%s: %s", path, strerror(errno));
        return false;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + len, 1, cap - len - 1, fp)) > 0) {
        len += r;
        if (len + 1 == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(fp);
    if (!buf) {
        cli_error(cmd, "%s: out of memory", path);
        return false;
    }
    buf[len] = '\0';
    *out = buf;
    return true;
}

bool cli_is_help(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }
