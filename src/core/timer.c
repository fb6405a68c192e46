#include "core/timer.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

double npg_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

size_t npg_peak_rss_bytes(void) {
    FILE *fp = fopen("/proc/self/status", "r");
    if (!fp)
        return 0;
    char line[256];
    size_t kb = 0;
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            sscanf(line + 6, "%zu", &kb);
            break;
        }
    }
    fclose(fp);
    return kb * 1024;
}
