/* hub_fs.h — the file side of a pull: folders, content hashes as the Hub names them, snapshot links
 * and refs. Internal to src/hub/. */
#ifndef NPG_HUB_FS_H
#define NPG_HUB_FS_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "hub/hub.h"

/* mkdir -p (mode 0777 & umask). */
npg_status hub_mkdirs(const char *path);
/* mkdir -p of the folder holding `path`. */
npg_status hub_mkdirs_parent(const char *path);

/* The digest the Hub names a file by: sha256 of the bytes for LFS files; for the others the git blob
 * sha1, sha1("blob <size>\0" + bytes). Started here, fed with EVP_DigestUpdate, read as lowercase
 * hex (65 bytes) by hub_digest_hex, which also frees the context. */
npg_status hub_digest_begin(const npg_hub_file *f, EVP_MD_CTX **out);
void hub_digest_hex(EVP_MD_CTX *md, char hex[65]);
/* Whether the file at `path` holds exactly f's bytes (size and digest); false when it is absent. */
npg_status hub_file_matches(const char *path, const npg_hub_file *f, bool *matches);

/* snapshots/<commit>/<name> -> ../../blobs/<etag> (one more "../" per folder in name), replaced
 * atomically when it points elsewhere. */
npg_status hub_link_snapshot(const char *repo_dir, const char *commit, const npg_hub_file *f);
/* refs/<revision> := commit, atomically. */
npg_status hub_write_ref(const char *repo_dir, const char *revision, const char *commit);

#endif
