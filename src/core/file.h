/* file.h — whole-file reads, read-only memory maps, atomic writes and path helpers. */
#ifndef NPG_CORE_FILE_H
#define NPG_CORE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "npugen.h"

struct stat;

/* Files read whole (JSON, templates, messages) larger than this are refused with NPG_ERR_LIMIT. */
#define NPG_MAX_READ_FILE (1024 << 20)

/* Opens `path` read-only after checking, without blocking, that it is a regular file: a FIFO, a
 * device or a directory gets NPG_ERR_IO saying which, before open() could block. *st_out optional. */
npg_status npg_open_regular(const char *path, int *fd_out, struct stat *st_out);

/* Reads a whole regular file (at most NPG_MAX_READ_FILE bytes) into a NUL-terminated malloc'd buffer
 * (*len excludes the NUL). */
npg_status npg_read_file(const char *path, char **data, size_t *len);

/* A read-only private memory map of a whole file. Zero-length files map to data == NULL, size 0. */
typedef struct npg_mapped_file {
    const uint8_t *data;
    size_t size;
} npg_mapped_file;

npg_status npg_map_file(const char *path, npg_mapped_file *out);
/* The same without reading the file in at once: pages come in as they are touched (a reader that
 * streams through a large file once, e.g. export, keeps its resident size near what it touches). */
npg_status npg_map_file_lazy(const char *path, npg_mapped_file *out);
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
    void *buf; /* fp's 2 MiB stdio buffer (NULL: stdio's own) */
} npg_atomic_file;

npg_status npg_atomic_open(const char *path, npg_atomic_file *out);

/* Removes "<final_path><marker><pid>[-.]..." files and folders beside final_path whose writer process
 * <pid> no longer exists (killed mid-write): the atomic writer's "<path>.tmp.<pid>" and the export's
 * "<out>.tmp-<pid>-XXXXXX". Live writers' temporaries are kept. Best effort, never fails. */
void npg_clean_stale_temps(const char *final_path, const char *marker);
/* Removes a file or a folder tree (not following links); best effort. */
void npg_remove_tree(const char *path);
npg_status npg_atomic_write(npg_atomic_file *af, const void *data, size_t size);
/* fflush + fsync + rename; frees the struct's resources either way. */
npg_status npg_atomic_commit(npg_atomic_file *af);
/* Removes the temporary file; safe on a zeroed struct. */
void npg_atomic_abort(npg_atomic_file *af);

#endif
