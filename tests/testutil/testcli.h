/* testcli.h — the process helpers of the CLI tests (test_cli*.c): run the built npugen (NPG_CLI) with
 * a shell fragment, capture its stdout and stderr, check an error's exit code and its one stderr line.
 * Apart from testutil.h so that tests with helpers of these names of their own (expect_error) keep
 * them. */
#ifndef NPG_TESTCLI_H
#define NPG_TESTCLI_H

#include <stddef.h>

/* Runs `NPG_CLI args` (args: a shell fragment) as run_cmd does: the exit code (-1 when it did not
 * run), stdout and stderr malloc'd into *out / *err (either may be NULL). */
int npugen(const char *args, char **out, char **err);

/* How many '\n' s holds (0 for NULL). */
size_t count_lines(const char *s);

/* An error: exit code `code`, nothing on stdout, exactly one line on stderr starting with "npugen"
 * that contains `needle` (when not NULL). A failure counts as a CHECK and prints the arguments. */
void expect_error(const char *args, int code, const char *needle);

#endif
