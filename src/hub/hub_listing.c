/* hub_listing.c — the Hub's answer to GET /api/models/{repo_id}/revision/{revision}?blobs=true: the
 * commit the revision points at and, per file, its name, size and content hash. Every name and hash
 * is checked here because they become paths on this machine. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "hub/hub.h"

/* Relative, '/'-separated, no empty, "." or ".." component, no control characters or '\\'. */
static bool safe_name(const char *s) {
    if (!s[0] || s[0] == '/' || strlen(s) > 1024)
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < ' ' || *p == '\\' || *p == 127)
            return false;
    return npg_hub_safe_components(s);
}

static bool get_size(const cJSON *obj, const char *key, uint64_t *out) {
    double d;
    if (!npg_json_get_number(obj, key, &d) || d < 0 || d > 9.0e15 || d != (double)(uint64_t)d)
        return false;
    *out = (uint64_t)d;
    return true;
}

static npg_status parse_sibling(const cJSON *s, size_t i, const char *what, npg_hub_file *f) {
    const char *name = npg_json_get_string(s, "rfilename");
    if (!name)
        return npg_fail(NPG_ERR_FORMAT, "%s: siblings[%zu] has no string \"rfilename\"", what, i);
    if (!safe_name(name))
        return npg_fail(NPG_ERR_FORMAT, "%s: file name '%s' is not a safe relative path", what, name);
    const cJSON *lfs = npg_json_get(s, "lfs");
    const char *etag;
    uint64_t size;
    if (lfs && cJSON_IsObject(lfs)) {
        etag = npg_json_get_string(lfs, "sha256");
        if (!npg_hub_lower_hex(etag, 64))
            return npg_fail(NPG_ERR_FORMAT, "%s: '%s' has no 64-hex-digit lfs.sha256", what, name);
        if (!get_size(lfs, "size", &size))
            return npg_fail(NPG_ERR_FORMAT, "%s: '%s' has no lfs.size", what, name);
    } else {
        etag = npg_json_get_string(s, "blobId");
        if (!npg_hub_lower_hex(etag, 40))
            return npg_fail(NPG_ERR_FORMAT,
                            "%s: '%s' has no 40-hex-digit \"blobId\" (the listing must be asked with ?blobs=true)",
                            what, name);
        if (!get_size(s, "size", &size))
            return npg_fail(NPG_ERR_FORMAT, "%s: '%s' has no \"size\"", what, name);
    }
    f->name = strdup(name);
    f->etag = strdup(etag);
    f->size = size;
    f->lfs = lfs && cJSON_IsObject(lfs);
    if (!f->name || !f->etag)
        return npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    return NPG_OK;
}

npg_status npg_hub_parse_listing(const char *json, size_t len, const char *what, npg_hub_listing *out) {
    memset(out, 0, sizeof *out);
    cJSON *root = NULL;
    NPG_TRY(npg_json_parse(json, len, what, &root));
    npg_status st = NPG_OK;
    const char *sha = npg_json_get_string(root, "sha");
    const cJSON *sib = npg_json_get(root, "siblings");
    if (!npg_hub_lower_hex(sha, 40))
        st = npg_fail(NPG_ERR_FORMAT, "%s: no 40-hex-digit commit \"sha\"", what);
    else if (!sib || !cJSON_IsArray(sib))
        st = npg_fail(NPG_ERR_FORMAT, "%s: no \"siblings\" array", what);
    if (st == NPG_OK) {
        out->commit = strdup(sha);
        size_t n = (size_t)cJSON_GetArraySize(sib);
        out->files = calloc(n ? n : 1, sizeof *out->files);
        if (!out->commit || !out->files)
            st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
        const cJSON *s;
        size_t i = 0;
        cJSON_ArrayForEach(s, sib) {
            if (st != NPG_OK)
                break;
            st = parse_sibling(s, i, what, &out->files[i]);
            out->n_files = ++i;
        }
    }
    for (size_t i = 0; st == NPG_OK && i < out->n_files; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(out->files[i].name, out->files[j].name) == 0) {
                st = npg_fail(NPG_ERR_FORMAT, "%s: file '%s' is listed twice", what, out->files[i].name);
                break;
            }
    cJSON_Delete(root);
    if (st != NPG_OK)
        npg_hub_listing_free(out);
    return st;
}

void npg_hub_listing_free(npg_hub_listing *l) {
    if (!l)
        return;
    for (size_t i = 0; i < l->n_files; i++) {
        free(l->files[i].name);
        free(l->files[i].etag);
    }
    free(l->files);
    free(l->commit);
    memset(l, 0, sizeof *l);
}

bool npg_hub_match(const char *pattern, const char *name) {
    size_t n = strlen(pattern);
    if (n > 0 && pattern[n - 1] == '/') { /* "folder/" means "folder/" + "*", as huggingface_hub reads it */
        char *p = malloc(n + 2);
        if (!p)
            return false;
        memcpy(p, pattern, n);
        memcpy(p + n, "*", 2);
        bool m = fnmatch(p, name, 0) == 0;
        free(p);
        return m;
    }
    return fnmatch(pattern, name, 0) == 0;
}
