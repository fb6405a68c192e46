/* hub_cache.c — a cached repo id ("ORG/NAME", "ORG/NAME@REVISION") to its snapshot folder, read from
 * the Hugging Face cache layout that `npugen pull` and huggingface_hub write. No network: a repo
 * that is not cached is an error that says how to fetch it. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/strbuf.h"
#include "hub/hub.h"

/* "refs: main, v1.0" for the message when the asked revision is not cached ("" when none). */
static void list_refs(const char *repo_dir, char *buf, size_t cap) {
    buf[0] = '\0';
    char *refs = npg_path_join(repo_dir, "refs");
    DIR *d = refs ? opendir(refs) : NULL;
    free(refs);
    if (!d)
        return;
    size_t o = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int n = snprintf(buf + o, cap - o, "%s%s", o ? ", " : "cached revisions: ", e->d_name);
        if (n < 0 || (size_t)n >= cap - o) {
            buf[o] = '\0';
            break;
        }
        o += (size_t)n;
    }
    closedir(d);
}

/* snapshots/<commit> of repo_dir for `revision` (a ref name or a commit id). */
static npg_status snapshot_of(const char *spec, const char *repo_id, const char *repo_dir, const char *revision,
                              char **out) {
    char commit[64] = "";
    npg_strbuf ref = {0};
    npg_status st = npg_strbuf_printf(&ref, "%s/refs/%s", repo_dir, revision);
    if (st == NPG_OK && npg_path_exists(ref.data)) {
        char *text = NULL;
        size_t len = 0;
        st = npg_read_file(ref.data, &text, &len);
        if (st == NPG_OK) {
            while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
                text[--len] = '\0';
            if (!npg_hub_is_commit(text))
                st = npg_fail(NPG_ERR_FORMAT, "%s: does not hold a 40-hex-digit commit id", ref.data);
            else
                memcpy(commit, text, 41);
        }
        free(text);
    } else if (st == NPG_OK && npg_hub_is_commit(revision)) {
        memcpy(commit, revision, 41);
    }
    npg_strbuf_free(&ref);
    NPG_TRY(st);
    if (!commit[0]) {
        char refs[512];
        list_refs(repo_dir, refs, sizeof refs);
        return npg_fail(NPG_ERR_NOT_FOUND,
                        "%s: revision '%s' of the Hugging Face repo %s is not in the cache %s%s%s (fetch it with: "
                        "npugen pull %s --revision %s)",
                        spec, revision, repo_id, repo_dir, refs[0] ? "; " : "", refs, repo_id, revision);
    }
    npg_strbuf path = {0};
    NPG_TRY(npg_strbuf_printf(&path, "%s/snapshots/%s", repo_dir, commit));
    if (!npg_is_dir(path.data)) {
        st = npg_fail(NPG_ERR_NOT_FOUND, "%s: the cache names commit %s but %s is missing (fetch it again with: "
                                         "npugen pull %s --revision %s)",
                      spec, commit, path.data, repo_id, revision);
        npg_strbuf_free(&path);
        return st;
    }
    return npg_strbuf_detach(&path, out);
}

npg_status npg_hub_resolve_model_dir(const char *path, char **out) {
    if (!path || !out)
        return npg_fail(NPG_ERR_INVALID_ARGUMENT, "npg_hub_resolve_model_dir: %s is NULL", !path ? "path" : "out");
    *out = NULL;
    if (npg_path_exists(path) || !path[0]) {
        *out = strdup(path);
        NPG_CHECK_ALLOC(*out);
        return NPG_OK;
    }
    /* "ORG/NAME@REVISION": '@' is not allowed in repo ids, so the first one splits */
    char repo_id[256];
    const char *at = strchr(path, '@');
    size_t n = at ? (size_t)(at - path) : strlen(path);
    const char *revision = at ? at + 1 : "main";
    bool shaped = n < sizeof repo_id;
    if (shaped) {
        memcpy(repo_id, path, n);
        repo_id[n] = '\0';
        shaped = npg_hub_valid_repo_id(repo_id) && npg_hub_valid_revision(revision);
    }
    if (!shaped) { /* not a repo id: the caller reports the missing path its own way */
        *out = strdup(path);
        NPG_CHECK_ALLOC(*out);
        return NPG_OK;
    }
    char *cache = NULL;
    npg_status st = npg_hub_cache_dir(&cache);
    char *repo_dir = st == NPG_OK ? npg_hub_repo_dir(cache, repo_id) : NULL;
    if (st == NPG_OK && !repo_dir)
        st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
    if (st == NPG_OK && !npg_is_dir(repo_dir)) {
        /* a legacy one-part id that is not cached is more likely a mistyped folder */
        if (!strchr(repo_id, '/')) {
            *out = strdup(path);
            if (!*out)
                st = npg_fail(NPG_ERR_OUT_OF_MEMORY, "out of memory");
        } else {
            st = npg_fail(NPG_ERR_NOT_FOUND,
                          "%s: not a folder, and not a Hugging Face repo in the cache %s (fetch it with: npugen pull "
                          "%s%s%s)",
                          path, cache, repo_id, at ? " --revision " : "", at ? revision : "");
        }
    } else if (st == NPG_OK) {
        st = snapshot_of(path, repo_id, repo_dir, revision, out);
    }
    free(repo_dir);
    free(cache);
    return st;
}
