/* measure.h — what `npugen bench` and `npugen export` measure about the machine, outside the library:
 * a monotonic clock, the peak resident set, and the memory read bandwidth decode speed is judged
 * against (the roofline). */
#ifndef NPG_TOOLS_MEASURE_H
#define NPG_TOOLS_MEASURE_H

#include <stddef.h>

/* Milliseconds on a monotonic clock. */
double cli_now_ms(void);
/* Peak resident set size of this process in bytes (VmHWM; 0 when unknown). */
size_t cli_peak_rss_bytes(void);
/* The number of online CPUs (at least 1). */
int cli_cpu_count(void);
/* Streams a `bytes`-sized buffer (much larger than the caches; 512 MiB is a good default) with
 * `threads` threads (<= 0: one per online CPU), `reps` times, and returns the best read bandwidth in
 * GB/s (1e9 bytes/s). Returns 0 when the buffer or the threads cannot be had. */
double cli_measure_read_bandwidth(int threads, size_t bytes, int reps);

#endif
