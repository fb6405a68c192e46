/* testutil.h — a tiny assertion harness for the ctest executables.
 *
 * CHECK(cond) records a failure with file:line and goes on; REQUIRE(cond) also returns from the test
 * function. Each test executable's main() calls RUN(test_fn) for each case and returns
 * npg_test_summary(). */
#ifndef NPG_TESTUTIL_H
#define NPG_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "npugen.h"

extern int npg_test_failures;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
            npg_test_failures++;                                                         \
        }                                                                                \
    } while (0)

#define REQUIRE(cond)                                                                    \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond);   \
            npg_test_failures++;                                                         \
            return;                                                                      \
        }                                                                                \
    } while (0)

/* A call that must succeed; prints npg_last_error() otherwise. */
#define REQUIRE_OK(expr)                                                                         \
    do {                                                                                         \
        npg_status st_ = (expr);                                                                 \
        if (st_ != NPG_OK) {                                                                     \
            fprintf(stderr, "%s:%d: %s returned %s: %s\n", __FILE__, __LINE__, #expr,            \
                    npg_status_name(st_), npg_last_error());                                     \
            npg_test_failures++;                                                                 \
            return;                                                                              \
        }                                                                                        \
    } while (0)

/* Exit code that tells ctest a test was skipped (SKIP_RETURN_CODE in tests/CMakeLists.txt). */
#define NPG_TEST_SKIP_CODE 77

extern int npg_test_skips;         /* cases that called npg_test_skip */
extern bool npg_test_case_skipped; /* set by npg_test_skip, cleared by RUN */

/* Marks the running case as skipped: it could not compare anything on this machine (e.g. a CPU
 * without the ISA it checks). The executable then exits NPG_TEST_SKIP_CODE unless a check failed,
 * so ctest reports it skipped rather than passed. */
void npg_test_skip(const char *why);

#define RUN(fn)                                                   \
    do {                                                          \
        int before_ = npg_test_failures;                          \
        npg_test_case_skipped = false;                            \
        fn();                                                     \
        fprintf(stderr, "%s %s\n",                                \
                npg_test_failures != before_ ? "FAIL" : npg_test_case_skipped ? "SKIP" : "PASS", #fn); \
    } while (0)

/* 1 when a check failed, else NPG_TEST_SKIP_CODE when a case was skipped, else 0. */
int npg_test_summary(void);

/* "<NPG_SHARED_DIR>/<rel>" in a static per-call rotating buffer (8 slots). */
const char *shared_path(const char *rel);
/* shared_path("models/<name>"): a model folder of the test material. */
const char *shared_model(const char *name);

/* index of the largest of x[0..n) (the first on ties): greedy decoding in model tests */
int32_t test_argmax(const float *x, int64_t n);
/* Reads a whole file; NULL on failure. *len optional. Caller frees. */
char *read_all(const char *path, size_t *len);
/* Reads raw little-endian f32; returns count via *n. Caller frees. */
float *read_f32(const char *path, size_t *n);
/* max |a - b| over n */
float max_abs_diff(const float *a, const float *b, size_t n);

/* Runs a shell command, captures stdout (and optionally stderr) as malloc'd strings, returns the exit
 * code (-1 on failure to run). */
int run_cmd(const char *cmd, char **out, char **err);
/* A fresh temporary directory (mkdtemp); caller frees the string; remove with rm_rf. */
char *make_temp_dir(void);
void rm_rf(const char *path);
/* Entries of `dir` other than . and .. whose name contains `part` (NULL = every entry): temporaries
 * left behind, an emptied folder. -1 when dir cannot be opened. */
int count_dir_entries(const char *dir, const char *part);
void write_file(const char *path, const void *data, size_t len);

#endif
