/* measure.h — what `npugen bench` and `npugen export` measure about the machine, outside the library:
 * the CPU count and the memory read bandwidth decode speed is judged against (the roofline). The clock
 * and the peak resident set are the library's (npg_now_ms, npg_peak_rss_bytes in npugen.h). */
#ifndef NPG_TOOLS_MEASURE_H
#define NPG_TOOLS_MEASURE_H

#include <stddef.h>

/* The number of online CPUs (at least 1). */
int cli_cpu_count(void);
/* Streams a `bytes`-sized buffer (much larger than the caches; 512 MiB is a good default) with
 * `threads` threads (<= 0: one per online CPU), `reps` times, and returns the best read bandwidth in
 * GB/s (1e9 bytes/s). Returns 0 when the buffer or the threads cannot be had. */
double cli_measure_read_bandwidth(int threads, size_t bytes, int reps);

#endif
