/* file.h — whole-file reads, read-only memory maps, atomic writes and path helpers. */
#ifndef NPG_CORE_FILE_H
#define NPG_CORE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "npugen.h"

/* Reads a whole file into a NUL-terminated malloc'd buffer (*len excludes the NUL). */
npg_status npg_read_file(const char *path, char **data, size_t *len);

/* A read-only private memory map of a whole file. Zero-length files map to data == NULL, size 0. */
typedef struct npg_mapped_file {
    const uint8_t *data;
    size_t size;
} npg_mapped_file;

npg_status npg_map_file(const char *path, npg_mapped_file *out);
void npg_unmap_file(npg_mapped_file *mf); /* safe on a zeroed struct */

bool npg_path_exists(const char *path);
bool npg_is_dir(const char *path);
/* malloc'd "dir/name" (dir may end with '/'); NULL on out of memory. */
char *npg_path_join(const char *dir, const char *name);

/* Atomic file writing: data goes to "<path>.tmp.<pid>" and is renamed over `path` on commit, so an
 * interrupted write never leaves a file that looks complete. */
typedef struct npg_atomic_file {
    FILE *fp;
    char *final_path;
    char *tmp_path;
} npg_atomic_file;

npg_status npg_atomic_open(const char *path, npg_atomic_file *out);
npg_status npg_atomic_write(npg_atomic_file *af, const void *data, size_t size);
/* fflush + fsync + rename; frees the struct's resources either way. */
npg_status npg_atomic_commit(npg_atomic_file *af);
/* Removes the temporary file; safe on a zeroed struct. */
void npg_atomic_abort(npg_atomic_file *af);

#endif
