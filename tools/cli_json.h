/* cli_json.h — writing JSON values on a stream for the commands' --json outputs. */
#ifndef NPG_TOOLS_CLI_JSON_H
#define NPG_TOOLS_CLI_JSON_H

#include <stdio.h>

#include "npugen.h"

/* s as a JSON string literal: quotes, backslash and control characters escaped; other bytes
 * (UTF-8 included) written as they are. */
void cli_json_string(FILE *fp, const char *s);
/* The metrics as one JSON object (milliseconds, token counts, tokens/s). */
void cli_json_perf(FILE *fp, const npg_perf_metrics *m);

#endif
