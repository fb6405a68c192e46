/* npugen/hub.h — the public C API, part: the Hugging Face Hub (`npugen pull`).
 * Not a header of its own: include "npugen.h", which includes every part in order inside its
 * extern "C" block, after the shared definitions (status codes, properties, NPG_API) they use. */
#ifndef NPUGEN_HUB_H
#define NPUGEN_HUB_H
#ifndef NPUGEN_H
#error "include npugen.h, not npugen/hub.h"
#endif

/* ---------------------------------------------------------------------------------------------- */
/* The Hugging Face Hub: `npugen pull`. Files land in the Hub's cache layout (HF_HUB_CACHE, default
 * ~/.cache/huggingface/hub; shared with huggingface_hub) or a plain folder; a cached "ORG/NAME" or
 * "ORG/NAME@REVISION" is then accepted wherever a model folder is (docs/hub.md). HF_ENDPOINT names a
 * mirror, HF_TOKEN (or the token file) is sent as a bearer token. */

/* "ORG/NAME" (or a legacy "NAME") spelled as the Hub allows: [A-Za-z0-9._-], no "--" or "..", no
 * leading or trailing '.' or '-', at most 96 characters per part. */
NPG_API bool npg_hub_valid_repo_id(const char *repo_id);
/* A revision (branch, tag, commit, "refs/pr/1") safe to use as a path below refs/: no "..", no
 * empty component, no leading '/', printable ASCII. */
NPG_API bool npg_hub_valid_revision(const char *revision);

typedef struct npg_hub_progress {
    uint64_t bytes_done;  /* of bytes_total, counting files already present */
    uint64_t bytes_total; /* every selected file */
    uint64_t bytes_fetched; /* received over the network by this pull (for the rate) */
    size_t files_done, files_total;
} npg_hub_progress;

/* Called from the pulling thread at most ~10 times a second, and once at the end. */
typedef void (*npg_hub_progress_fn)(void *user, const npg_hub_progress *p);

typedef struct npg_hub_pull_options {
    const char *repo_id;             /* "ORG/NAME" */
    const char *revision;            /* NULL: "main" */
    const char *const *includes;     /* fnmatch patterns; a file is pulled when one matches */
    size_t n_includes;               /* 0: every file */
    const char *out_dir;             /* a plain folder instead of the cache; NULL: the cache */
    const char *cache_dir;           /* NULL: HF_HUB_CACHE / HF_HOME / ~/.cache/huggingface/hub */
    const char *endpoint;            /* NULL: HF_ENDPOINT, default https://huggingface.co */
    const char *token;               /* NULL: HF_TOKEN, else the token file */
    int parallel;                    /* files at once; <= 0: 8 */
    npg_hub_progress_fn progress;    /* optional */
    void *user;
} npg_hub_pull_options;

typedef struct npg_hub_pull_result {
    char *folder; /* the snapshot folder, or out_dir; malloc'd */
    char commit[41];
    size_t files;            /* selected files */
    size_t files_downloaded; /* of which fetched now (the rest were present) */
    uint64_t bytes_fetched;
} npg_hub_pull_result;

/* Downloads the selected files of a repo revision. Each file lands under its final name only whole
 * and verified (size; sha256 for LFS files, git blob sha1 for the others); a partial download stays
 * as *.incomplete and the next pull resumes it; a file whose hash does not match is an
 * NPG_ERR_CHECKSUM and leaves nothing behind. In the cache, refs/REVISION is written last, so a
 * repo id resolves only once its pull completed. */
NPG_API npg_status npg_hub_pull(const npg_hub_pull_options *o, npg_hub_pull_result *out);
NPG_API void npg_hub_pull_result_free(npg_hub_pull_result *r);

#endif /* NPUGEN_HUB_H */
