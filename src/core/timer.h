/* timer.h — monotonic time in milliseconds and process memory readings: npg_now_ms and
 * npg_peak_rss_bytes, public (npugen.h) so that the CLI's timings use the library's clock. */
#ifndef NPG_CORE_TIMER_H
#define NPG_CORE_TIMER_H

#include "npugen.h"

#endif
