/*
 * clock — see clock.h.
 */
#include "base/clock.h"

#include <time.h>

static double read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double clock_wall(void)
{
    return read_clock(CLOCK_REALTIME);
}

double clock_mono(void)
{
    return read_clock(CLOCK_MONOTONIC);
}

void clock_sleep_ms(int ms, volatile int *stop)
{
    while (ms > 0 && !(stop && *stop)) {
        int step = ms > 50 ? 50 : ms;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}
