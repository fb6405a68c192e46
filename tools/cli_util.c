#include "cli_util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Prompt and text files: a regular file or a pipe (`-f <(cmd)`, `-f /dev/stdin` fed by a pipe), read up
 * to CLI_MAX_TEXT_FILE bytes; a directory, a device (`-f /dev/zero`) or a socket is refused before it
 * is opened. The text is used as a C string, so a NUL byte is an error rather than a silent end. */
bool cli_read_file(const char *cmd, const char *path, char **out) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        cli_error(cmd, "%s: %s", path, strerror(errno));
        return false;
    }
    if (!S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode)) {
        cli_error(cmd, "%s: %s (give a text file)", path,
                  S_ISDIR(sb.st_mode) ? "is a directory" : "is a device or socket, not a regular file");
        return false;
    }
    if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > CLI_MAX_TEXT_FILE) {
        cli_error(cmd, "%s: %lld bytes is more than the %d MiB limit for a text file", path, (long long)sb.st_size,
                  CLI_MAX_TEXT_FILE >> 20);
        return false;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error(cmd, "%s: %s", path, strerror(errno));
        return false;
    }
    if (fstat(fd, &sb) != 0 || (!S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode))) {
        close(fd);
        cli_error(cmd, "%s: not a regular file or pipe", path);
        return false;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    const char *problem = buf ? NULL : "out of memory";
    while (!problem) {
        if (len + 1 == cap) {
            char *nb = cap >= CLI_MAX_TEXT_FILE ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                problem = cap >= CLI_MAX_TEXT_FILE ? "larger than the limit for a text file" : "out of memory";
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            cli_error(cmd, "%s: read error: %s", path, strerror(errno));
            problem = "";
            break;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    if (!problem && memchr(buf, '\0', len)) {
        cli_error(cmd, "%s: NUL byte at offset %zu (a text file cannot hold one)", path,
                  (size_t)((char *)memchr(buf, '\0', len) - buf));
        problem = "";
    }
    if (problem) {
        if (*problem)
            cli_error(cmd, "%s: %s (%d MiB)", path, problem, CLI_MAX_TEXT_FILE >> 20);
        free(buf);
        return false;
    }
    buf[len] = '\0';
    *out = buf;
    return true;
}

void cli_log_warnings(void *user_data, npg_log_level level, const char *message) {
    if (level > NPG_LOG_WARNING)
        return;
    fprintf(stderr, "npugen%s%s: %s: %s\n", user_data ? " " : "", user_data ? (const char *)user_data : "",
            level == NPG_LOG_ERROR ? "error" : "warning", message);
}

const char *cli_json_num(char buf[40], double v, int decimals) {
    if (!isfinite(v))
        return "null";
    snprintf(buf, 40, "%.*f", decimals, v);
    return buf;
}

bool cli_is_help(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }
