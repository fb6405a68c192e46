/* membw.h — measured memory read bandwidth, the roofline that decode speed is judged against. */
#ifndef NPG_CORE_MEMBW_H
#define NPG_CORE_MEMBW_H

#include <stddef.h>

#include "core/threadpool.h"

/* Streams a `bytes`-sized buffer (much larger than the caches; 512 MiB is a good default) with every
 * thread of the pool, `reps` times, and returns the best read bandwidth in GB/s (1e9 bytes/s).
 * Returns 0 when the buffer cannot be allocated. */
double npg_measure_read_bandwidth(npg_threadpool *pool, size_t bytes, int reps);

#endif
