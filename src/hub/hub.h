/* hub.h — the Hugging Face Hub, internal API: where its cache lives, resolving a cached repo id to
 * a snapshot folder (no network), the repo listing, and `npugen pull` (libcurl).
 *
 * Conventions follow huggingface_hub (constants.py, file_download.py, _snapshot_download.py) so the
 * two share one cache:
 *   listing   GET {endpoint}/api/models/{repo_id}/revision/{quote(revision)}?blobs=true
 *             -> {"sha": commit, "siblings": [{"rfilename", "blobId", "size", "lfs": {"sha256", "size"}}]}
 *   file      GET {endpoint}/{repo_id}/resolve/{commit}/{quote(filename)}  (LFS files redirect to a CDN)
 *   cache     {HF_HUB_CACHE}/models--ORG--NAME/blobs/{etag}           the bytes; etag = the LFS sha256,
 *                                                                     else the git blob sha1
 *             .../snapshots/{commit}/{filename} -> ../../blobs/{etag}  relative symlinks
 *             .../refs/{revision}                                   the commit the revision named
 *   partial   blobs/{etag}.incomplete, resumed with "Range: bytes=N-". */
#ifndef NPG_HUB_HUB_H
#define NPG_HUB_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npugen.h"

#define NPG_HUB_DEFAULT_ENDPOINT "https://huggingface.co"

/* ---- environment (hub_env.c) -------------------------------------------------------------------- */

/* The cache folder: HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub, else $HOME/.cache/huggingface/hub. malloc'd. */
npg_status npg_hub_cache_dir(char **out);
/* HF_ENDPOINT (default https://huggingface.co) without trailing slashes. malloc'd. */
npg_status npg_hub_endpoint(char **out);
/* HF_TOKEN, else the first line of HF_TOKEN_PATH (default $HF_HOME/token). *out is NULL when there
 * is none. malloc'd. */
npg_status npg_hub_token(char **out);

/* npg_hub_valid_repo_id and npg_hub_valid_revision: include/npugen.h. */
/* A 40-hex-digit commit id. */
bool npg_hub_is_commit(const char *s);
/* Whether s is exactly `len` lowercase hex digits (a commit id, a sha256). */
bool npg_hub_lower_hex(const char *s, size_t len);
/* Whether s's '/'-separated components are all there and none is "." or ".." (a revision, a file
 * name in a repo: they become paths on this machine). The callers check the characters. */
bool npg_hub_safe_components(const char *s);
/* "{cache_dir}/models--ORG--NAME", malloc'd (NULL on out of memory). */
char *npg_hub_repo_dir(const char *cache_dir, const char *repo_id);

/* ---- cached repo ids (hub_cache.c) --------------------------------------------------------------- */

/* What the library opens for a model path: `path` itself when it exists; else, when `path` is a
 * repo id "ORG/NAME" or "ORG/NAME@REVISION" (default revision main) found in the cache, its
 * snapshot folder (refs/REVISION names the commit; a commit id names the snapshot directly).
 * NPG_ERR_NOT_FOUND for an "ORG/NAME" that is neither a folder nor cached, suggesting
 * `npugen pull ORG/NAME`. Anything else comes back unchanged so callers report it their way.
 * *out is malloc'd. No network. */
npg_status npg_hub_resolve_model_dir(const char *path, char **out);

/* ---- the repo listing (hub_listing.c) ------------------------------------------------------------ */

typedef struct npg_hub_file {
    char *name;    /* rfilename: relative, '/'-separated, checked (no "..", no leading '/') */
    char *etag;    /* the blob's name in the cache: lfs.sha256 for LFS files, else blobId */
    uint64_t size; /* bytes of the real file (lfs.size for LFS files) */
    bool lfs;      /* etag is the file's sha256; otherwise the git blob sha1 of its bytes */
} npg_hub_file;

typedef struct npg_hub_listing {
    char *commit; /* 40 hex digits */
    npg_hub_file *files;
    size_t n_files;
} npg_hub_listing;

/* Parses the JSON of the listing endpoint (with ?blobs=true). `what` names the source in messages. */
npg_status npg_hub_parse_listing(const char *json, size_t len, const char *what, npg_hub_listing *out);
void npg_hub_listing_free(npg_hub_listing *l);
/* Python's fnmatch (no special '/'), and a pattern ending in '/' matches everything below it. */
bool npg_hub_match(const char *pattern, const char *name);

/* ---- pull (hub_http.c, hub_pull.c) ----------------------------------------------------------------- */

/* npg_hub_pull and its options and result are public: include/npugen.h. */

#endif
