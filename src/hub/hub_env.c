/* hub_env.c — where the Hugging Face cache, endpoint and token come from (the environment variables
 * huggingface_hub reads, with its defaults), and the spelling rules for repo ids and revisions. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "hub/hub.h"

static const char *env_nonempty(const char *name) {
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

static npg_status dup_out(const char *s, char **out) {
    *out = strdup(s);
    NPG_CHECK_ALLOC(*out);
    return NPG_OK;
}

/* $HF_HOME, else $XDG_CACHE_HOME/huggingface, else $HOME/.cache/huggingface. */
static npg_status hf_home(char **out) {
    const char *v = env_nonempty("HF_HOME");
    if (v)
        return dup_out(v, out);
    char buf[4096];
    const char *xdg = env_nonempty("XDG_CACHE_HOME"), *home = env_nonempty("HOME");
    int n;
    if (xdg)
        n = snprintf(buf, sizeof buf, "%s/huggingface", xdg);
    else if (home)
        n = snprintf(buf, sizeof buf, "%s/.cache/huggingface", home);
    else
        return npg_fail(NPG_ERR_NOT_FOUND,
                        "no Hugging Face cache folder: set HF_HUB_CACHE or HF_HOME (HOME is not set either)");
    if (n < 0 || (size_t)n >= sizeof buf)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "the Hugging Face home folder path is too long");
    return dup_out(buf, out);
}

npg_status npg_hub_cache_dir(char **out) {
    const char *v = env_nonempty("HF_HUB_CACHE");
    if (!v)
        v = env_nonempty("HUGGINGFACE_HUB_CACHE");
    if (v)
        return dup_out(v, out);
    char *home = NULL;
    NPG_TRY(hf_home(&home));
    *out = npg_path_join(home, "hub");
    free(home);
    NPG_CHECK_ALLOC(*out);
    return NPG_OK;
}

npg_status npg_hub_endpoint(char **out) {
    const char *v = env_nonempty("HF_ENDPOINT");
    NPG_TRY(dup_out(v ? v : NPG_HUB_DEFAULT_ENDPOINT, out));
    size_t n = strlen(*out);
    while (n > 0 && (*out)[n - 1] == '/')
        (*out)[--n] = '\0';
    if (strncmp(*out, "http://", 7) != 0 && strncmp(*out, "https://", 8) != 0) {
        npg_status st = npg_fail(NPG_ERR_INVALID_ARGUMENT, "HF_ENDPOINT '%s' is not an http:// or https:// URL", v);
        free(*out);
        *out = NULL;
        return st;
    }
    return NPG_OK;
}

/* The token with surrounding whitespace removed; NULL when nothing is left. */
static npg_status trimmed(const char *s, size_t len, char **out) {
    while (len > 0 && isspace((unsigned char)s[0])) {
        s++;
        len--;
    }
    size_t n = 0;
    while (n < len && s[n] != '\n' && s[n] != '\r')
        n++;
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    *out = NULL;
    if (n == 0)
        return NPG_OK;
    *out = strndup(s, n);
    NPG_CHECK_ALLOC(*out);
    return NPG_OK;
}

npg_status npg_hub_token(char **out) {
    *out = NULL;
    const char *v = env_nonempty("HF_TOKEN");
    if (v)
        return trimmed(v, strlen(v), out);
    char *path = NULL;
    const char *p = env_nonempty("HF_TOKEN_PATH");
    if (p) {
        NPG_TRY(dup_out(p, &path));
    } else {
        char *home = NULL;
        NPG_TRY(hf_home(&home));
        path = npg_path_join(home, "token");
        free(home);
        NPG_CHECK_ALLOC(path);
    }
    npg_status st = NPG_OK;
    if (npg_path_exists(path)) { /* no token file: an anonymous pull, as huggingface_hub does */
        char *text = NULL;
        size_t len = 0;
        st = npg_read_file(path, &text, &len);
        if (st == NPG_OK)
            st = trimmed(text, len, out);
        free(text);
    }
    free(path);
    return st;
}

static bool valid_part(const char *s, size_t n) {
    if (n == 0 || n > 96 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!isalnum((unsigned char)c) && c != '.' && c != '-' && c != '_')
            return false;
        if (i + 1 < n && ((c == '-' && s[i + 1] == '-') || (c == '.' && s[i + 1] == '.')))
            return false;
    }
    return true;
}

bool npg_hub_valid_repo_id(const char *repo_id) {
    if (!repo_id)
        return false;
    const char *slash = strchr(repo_id, '/');
    if (!slash)
        return valid_part(repo_id, strlen(repo_id));
    return !strchr(slash + 1, '/') && valid_part(repo_id, (size_t)(slash - repo_id)) &&
           valid_part(slash + 1, strlen(slash + 1));
}

bool npg_hub_valid_revision(const char *revision) {
    if (!revision || !revision[0] || strlen(revision) > 255 || revision[0] == '/')
        return false;
    for (const char *p = revision; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 127 || *p == '\\')
            return false;
    return npg_hub_safe_components(revision);
}

bool npg_hub_safe_components(const char *s) {
    const char *c = s;
    for (;;) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        if (!e)
            return true;
        c = e + 1;
    }
}

bool npg_hub_lower_hex(const char *s, size_t len) {
    if (!s || strlen(s) != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return false;
    return true;
}

bool npg_hub_is_commit(const char *s) { return npg_hub_lower_hex(s, 40); }

char *npg_hub_repo_dir(const char *cache_dir, const char *repo_id) {
    /* "models--" + repo_id with '/' -> "--" (huggingface_hub's repo_folder_name) */
    size_t n = strlen(repo_id);
    char *name = malloc(8 + 2 * n + 1);
    if (!name)
        return NULL;
    size_t o = 0;
    memcpy(name, "models--", 8);
    o = 8;
    for (size_t i = 0; i < n; i++) {
        if (repo_id[i] == '/') {
            name[o++] = '-';
            name[o++] = '-';
        } else {
            name[o++] = repo_id[i];
        }
    }
    name[o] = '\0';
    char *dir = npg_path_join(cache_dir, name);
    free(name);
    return dir;
}
