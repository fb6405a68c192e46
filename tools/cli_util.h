/* cli_util.h — argument parsing helpers shared by the CLI commands. Every failure prints one line
 * "npugen CMD: problem" on stderr and returns false. */
#ifndef NPG_TOOLS_CLI_UTIL_H
#define NPG_TOOLS_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npugen.h"

/* Prints "npugen CMD: " + formatted message + newline on stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints the library's last error for a failed call. Returns 1 (the runtime-failure exit code). */
int cli_fail(const char *cmd, npg_status st);

/* The value after option argv[*i] (advances *i); prints an error when missing. */
bool cli_value(const char *cmd, int argc, char **argv, int *i, const char **out);
bool cli_parse_long(const char *cmd, const char *opt, const char *s, long long lo, long long hi, long long *out);
bool cli_parse_float(const char *cmd, const char *opt, const char *s, float *out);
/* "KEY=VALUE" into props. */
bool cli_parse_property(const char *cmd, const char *kv, npg_properties *props);
/* "1,403,407" into a malloc'd array. */
bool cli_parse_ids(const char *cmd, const char *s, int32_t **ids, size_t *n);
/* Prompt / text files larger than this are refused. */
#define CLI_MAX_TEXT_FILE (256 << 20)
/* Reads a whole text file (prompt files): a regular file or a pipe, at most CLI_MAX_TEXT_FILE bytes,
 * no NUL byte; directories and devices are refused. malloc'd, NUL-terminated. */
bool cli_read_file(const char *cmd, const char *path, char **out);
bool cli_is_help(const char *arg);
/* A log callback (user_data: the command name) printing the library's warnings and errors on stderr
 * ("npugen CMD: warning: ..."), so that e.g. a CACHE_DIR that cannot be written is not silent. */
void cli_log_warnings(void *user_data, npg_log_level level, const char *message);
/* A number for JSON output: "%.<decimals>f" in buf, or "null" for nan / inf (not JSON numbers). */
const char *cli_json_num(char buf[40], double v, int decimals);

#endif
