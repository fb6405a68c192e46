/* fuzz_util.h — shared by the fuzz targets in this folder (harness code, not the library).
 *
 * Each target defines LLVMFuzzerTestOneInput. Built with clang's -fsanitize=fuzzer it is a libFuzzer
 * binary (NPG_FUZZ, `make fuzz`); built with replay_main.c it is a plain program that runs every file
 * of a folder through the same function, which is how ctest replays fuzz/regressions/ under gcc and
 * ASan. Most parsers take a path, so the input is written to a per-process scratch file first. */
#ifndef NPG_FUZZ_UTIL_H
#define NPG_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npugen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failure must come with a message: the library's contract, checked on every input. */
static inline void fuzz_check_status(npg_status st) {
    if (st != NPG_OK && (npg_last_error()[0] == '\0' || (int)st < 0 || st > NPG_ERR_INTERNAL)) {
        fprintf(stderr, "fuzz: status %d without a message\n", (int)st);
        abort();
    }
    if (st == NPG_ERR_INTERNAL) {
        fprintf(stderr, "fuzz: NPG_ERR_INTERNAL: %s\n", npg_last_error());
        abort();
    }
}

/* A private scratch folder for this process, removed at exit (files in it are rewritten per input). */
static char fuzz_dir_buf[256];
static void fuzz_dir_cleanup(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir_buf);
    if (fuzz_dir_buf[0] && system(cmd) != 0)
        fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir_buf);
}
static inline const char *fuzz_dir(void) {
    if (!fuzz_dir_buf[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(fuzz_dir_buf, sizeof fuzz_dir_buf, "%s/npg-fuzz-%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
        if (mkdir(fuzz_dir_buf, 0700) != 0) {
            perror(fuzz_dir_buf);
            abort();
        }
        atexit(fuzz_dir_cleanup);
    }
    return fuzz_dir_buf;
}

/* Writes data to <fuzz_dir>/<name> and returns the path (static buffer, one per call site use). */
static inline const char *fuzz_write(const char *name, const void *data, size_t size, char *path, size_t cap) {
    snprintf(path, cap, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

static inline void fuzz_remove(const char *name) {
    char path[400];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    unlink(path);
}

#endif
