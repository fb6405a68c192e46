/* perf_print.h — the `--perf` report of generate and chat, on stderr. */
#ifndef NPG_TOOLS_PERF_PRINT_H
#define NPG_TOOLS_PERF_PRINT_H

#include <stdio.h>

#include "npugen.h"

void perf_print(FILE *fp, const npg_perf_metrics *m);
/* The metrics of one generation (nothing when it has none). */
void perf_print_results(FILE *fp, const npg_decoded_results *res);

#endif
