/*
 * cl_time — the chain logger's monotonic clock and interruptible sleep
 * (they lived in eth_client.c, which moved to common/eth/client.c).
 */
#include <time.h>

#include "cl.h"

double cl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cl_sleep_ms(int ms, volatile int *stop)
{
    while (ms > 0 && !(stop && *stop)) {
        int step = ms > 50 ? 50 : ms;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}
