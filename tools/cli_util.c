#include "cli_util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* "-n5": a single-dash option with its value attached (short options are one letter). */
static bool short_attached(const char *arg) { return arg[0] == '-' && arg[1] && arg[1] != '-' && arg[2]; }

bool cli_opt(const char *arg, const char *short_name, const char *long_name) {
    if (short_name && strncmp(arg, short_name, 2) == 0 && (arg[2] == '\0' || short_attached(arg)))
        return true;
    if (!long_name)
        return false;
    size_t n = strlen(long_name);
    return strncmp(arg, long_name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

bool cli_flag(const char *arg, const char *short_name, const char *long_name) {
    return (short_name && strcmp(arg, short_name) == 0) || (long_name && strcmp(arg, long_name) == 0);
}

bool cli_value(const char *cmd, int argc, char **argv, int *i, const char **out) {
    const char *a = argv[*i];
    if (a[0] == '-' && a[1] == '-' && strchr(a, '=')) {
        *out = strchr(a, '=') + 1;
        return true;
    }
    if (short_attached(a)) {
        *out = a + 2;
        return true;
    }
    if (*i + 1 >= argc) {
        cli_error(cmd, "option %s needs a value", a);
        return false;
    }
    *out = argv[++*i];
    return true;
}

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions), capped at 64 chars. */
static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

const char *cli_suggest(const char *word, const char *const *candidates, size_t n) {
    const char *core = word;
    while (*core == '-')
        core++;
    size_t len = strlen(core);
    /* a likely typo: at most one edit per three letters (one for short words), at most three */
    size_t limit = len / 3 < 1 ? 1 : len / 3 > 3 ? 3 : len / 3;
    const char *best = NULL, *prefix_of = NULL;
    size_t best_d = limit + 1, n_prefix = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(word, candidates[i]) == 0)
            continue;
        size_t d = edit_distance(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
        if (len >= 3 && strncmp(candidates[i], word, strlen(word)) == 0 &&
            (!prefix_of || strcmp(prefix_of, candidates[i]) != 0)) {
            prefix_of = candidates[i];
            n_prefix++;
        }
    }
    return best ? best : n_prefix == 1 ? prefix_of : NULL;
}

enum { MAX_OPTIONS = 96 };

/* The option names a usage text mentions ("-n", "--max-new-tokens", ...), as pointers into text
 * (each NUL-terminated in place). */
static size_t usage_options(char *text, const char **opts) {
    size_t n = 0;
    for (char *p = text; *p && n < MAX_OPTIONS; p++) {
        bool start = p == text || strchr(" \t\n[(|,", p[-1]);
        bool name = p[0] == '-' && (isalpha((unsigned char)p[1]) || (p[1] == '-' && isalpha((unsigned char)p[2])));
        if (!start || !name)
            continue;
        char *e = p + 1;
        while (isalnum((unsigned char)*e) || *e == '-')
            e++;
        char end = *e;
        *e = '\0';
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = strcmp(opts[i], p) == 0;
        if (!seen)
            opts[n++] = p;
        if (!end)
            break;
        p = e;
    }
    return n;
}

void cli_unknown_option(const char *cmd, const char *arg, void (*usage)(FILE *)) {
    char *text = NULL, name[128];
    size_t size = 0;
    const char *hint = NULL;
    /* "--max-new-token=5": the name part is what was misspelled */
    snprintf(name, sizeof name, "%.*s", (int)strcspn(arg, "="), arg);
    FILE *fp = usage ? open_memstream(&text, &size) : NULL;
    if (fp) {
        usage(fp);
        fclose(fp);
        const char *opts[MAX_OPTIONS];
        size_t n = text ? usage_options(text, opts) : 0;
        bool known = false;
        for (size_t i = 0; i < n && !known; i++)
            known = strcmp(opts[i], name) == 0;
        if (known && strchr(arg, '=')) {
            cli_error(cmd, "option %s takes no value ('%s'; see npugen %s --help)", name, arg, cmd);
            free(text);
            return;
        }
        hint = cli_suggest(name, opts, n);
    }
    if (hint)
        cli_error(cmd, "unknown option '%s' (did you mean %s?) (see npugen %s --help)", arg, hint, cmd);
    else
        cli_error(cmd, "unknown option '%s' (see npugen %s --help)", arg, cmd);
    free(text);
}

const char *cli_device_name(const char *name) {
    static const char *const devices[] = {"CPU", "NPU"};
    for (size_t i = 0; name && i < sizeof devices / sizeof devices[0]; i++)
        if (strcasecmp(name, devices[i]) == 0)
            return devices[i];
    return NULL;
}

/* "Org/name": one slash between two non-empty parts of the characters Hub repo ids use. */
/* "ORG/NAME" or "ORG/NAME@REV" as the Hub spells it: the library resolved such a path against the Hub
 * cache and its message already says what is missing there and the `npugen pull` to run. */
static bool is_repo_id(const char *s) {
    char id[256];
    const char *at = strchr(s, '@');
    size_t n = at ? (size_t)(at - s) : strlen(s);
    if (n == 0 || n >= sizeof id || !memchr(s, '/', n))
        return false;
    memcpy(id, s, n);
    id[n] = '\0';
    return npg_hub_valid_repo_id(id);
}

int cli_fail_model(const char *cmd, npg_status st, const char *model_dir) {
    struct stat sb;
    bool exists = stat(model_dir, &sb) == 0;
    if (exists && S_ISDIR(sb.st_mode))
        return cli_fail(cmd, st);
    if (!exists && is_repo_id(model_dir))
        return cli_fail(cmd, st);
    static const char accepted[] = "MODEL_DIR is a Hugging Face model folder (config.json, *.safetensors, "
                                   "tokenizer.json), an `npugen export` folder or a GGUF file";
    size_t len = strlen(model_dir);
    bool gguf = len > 5 && strcasecmp(model_dir + len - 5, ".gguf") == 0;
    if (gguf && exists) /* the library's message says what is wrong with the file */
        return cli_fail(cmd, st);
    if (gguf)
        cli_error(cmd, "%s: no such file; %s", model_dir, accepted);
    else if (exists)
        cli_error(cmd, "%s: a file, not a folder; %s", model_dir, accepted);
    else
        cli_error(cmd, "%s: no such folder; %s", model_dir, accepted);
    return 1;
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

/* Prompt and text files: a regular file or a pipe (`-f -`, `-f <(cmd)`), read up to CLI_MAX_TEXT_FILE
 * bytes; a directory, a device (`-f /dev/zero`) or a socket is refused before it is opened. */
bool cli_read_file_n(const char *cmd, const char *path, char **out, size_t *out_len) {
    bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "standard input" : path;
    struct stat sb;
    if (!is_stdin && stat(path, &sb) != 0) {
        cli_error(cmd, "%s: %s", path, strerror(errno));
        return false;
    }
    if (!is_stdin && !S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode)) {
        cli_error(cmd, "%s: %s (give a text file)", path,
                  S_ISDIR(sb.st_mode) ? "is a directory" : "is a device or socket, not a regular file");
        return false;
    }
    if (!is_stdin && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > CLI_MAX_TEXT_FILE) {
        cli_error(cmd, "%s: %lld bytes is more than the %d MiB limit for a text file", path, (long long)sb.st_size,
                  CLI_MAX_TEXT_FILE >> 20);
        return false;
    }
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error(cmd, "%s: %s", path, strerror(errno));
        return false;
    }
    if (fstat(fd, &sb) != 0 || (!is_stdin && !S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode))) {
        if (!is_stdin)
            close(fd);
        cli_error(cmd, "%s: not a regular file or pipe", name);
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
            cli_error(cmd, "%s: read error: %s", name, strerror(errno));
            problem = "";
            break;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (!is_stdin)
        close(fd);
    if (problem) {
        if (*problem)
            cli_error(cmd, "%s: %s (%d MiB)", name, problem, CLI_MAX_TEXT_FILE >> 20);
        free(buf);
        return false;
    }
    buf[len] = '\0';
    *out = buf;
    if (out_len)
        *out_len = len;
    return true;
}

/* The text is used as a C string, so a NUL byte is an error rather than a silent end. */
bool cli_read_file(const char *cmd, const char *path, char **out) {
    size_t len = 0;
    if (!cli_read_file_n(cmd, path, out, &len))
        return false;
    const char *nul = memchr(*out, '\0', len);
    if (nul) {
        cli_error(cmd, "%s: NUL byte at offset %zu (a text file cannot hold one)",
                  strcmp(path, "-") == 0 ? "standard input" : path, (size_t)(nul - *out));
        free(*out);
        *out = NULL;
        return false;
    }
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
