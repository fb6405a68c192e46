/* timer.h — monotonic time in milliseconds and process memory readings. */
#ifndef NPG_CORE_TIMER_H
#define NPG_CORE_TIMER_H

#include <stddef.h>

double npg_now_ms(void);
/* Peak resident set size of this process (VmHWM), in bytes; 0 if unknown. */
size_t npg_peak_rss_bytes(void);

#endif
