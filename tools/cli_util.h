/* cli_util.h — argument parsing helpers shared by the CLI commands. Every failure prints one line
 * "npugen CMD: problem" on stderr and returns false. */
#ifndef NPG_TOOLS_CLI_UTIL_H
#define NPG_TOOLS_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "npugen.h"

/* Prints "npugen CMD: " + formatted message + newline on stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints the library's last error for a failed call. Returns 1 (the runtime-failure exit code). */
int cli_fail(const char *cmd, npg_status st);

/* Whether arg names an option that takes a value: SHORT ("-n", may be NULL) or LONG
 * ("--max-new-tokens", may be NULL), also in the attached forms "-n5" and "--max-new-tokens=5". */
bool cli_opt(const char *arg, const char *short_name, const char *long_name);
/* Whether arg is exactly the flag SHORT or LONG (either may be NULL). */
bool cli_flag(const char *arg, const char *short_name, const char *long_name);
/* The value of option argv[*i]: the attached part of "-n5" / "--max-new-tokens=5", else the next
 * argument (advances *i); prints an error when missing. */
bool cli_value(const char *cmd, int argc, char **argv, int *i, const char **out);
/* An unknown option: "npugen CMD: unknown option '--max-new-token' (did you mean --max-new-tokens?)
 * (see npugen CMD --help)". The candidates are the options that `usage` prints. */
void cli_unknown_option(const char *cmd, const char *arg, void (*usage)(FILE *));
/* The candidate closest to word (edit distance, or the only candidate word is a prefix of), NULL when
 * none is close enough to be a likely typo. */
const char *cli_suggest(const char *word, const char *const *candidates, size_t n);
/* A failure to create a pipeline (or open a tokenizer) for MODEL_DIR: when the path is not a folder,
 * says what is accepted (a Hugging Face folder or an `npugen export` folder; not GGUF) and, for an
 * argument shaped like a Hub repo id, suggests `npugen pull`; otherwise as cli_fail. Returns 1. */
int cli_fail_model(const char *cmd, npg_status st, const char *model_dir);
/* "cpu", "Npu", ... as the canonical "CPU" / "NPU"; NULL for an unknown device. */
const char *cli_device_name(const char *name);
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
/* The same with the length: the content may hold NUL bytes (tokenize -f); "-" is stdin. */
bool cli_read_file_n(const char *cmd, const char *path, char **out, size_t *len);
bool cli_is_help(const char *arg);
/* A log callback (user_data: the command name) printing the library's warnings and errors on stderr
 * ("npugen CMD: warning: ..."), so that e.g. a CACHE_DIR that cannot be written is not silent. */
void cli_log_warnings(void *user_data, npg_log_level level, const char *message);
/* A number for JSON output: "%.<decimals>f" in buf, or "null" for nan / inf (not JSON numbers). */
const char *cli_json_num(char buf[40], double v, int decimals);

#endif
