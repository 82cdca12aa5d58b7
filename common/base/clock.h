/*
 * clock — the two clocks every module reads, as seconds in a double:
 * the wall clock (CLOCK_REALTIME, Unix time: timestamps that leave the
 * process) and the monotonic clock (CLOCK_MONOTONIC: intervals, rates,
 * timeouts; it never jumps when the wall clock is set). A double holds
 * microsecond resolution for Unix times well past 2100, which is all any
 * caller needs.
 */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

/** Wall-clock time.
 *  Returns: Unix seconds (CLOCK_REALTIME), with the fraction.
 *  Thread-safe; does not block. */
double clock_wall(void);

/** Monotonic time, for measuring intervals (the origin is arbitrary).
 *  Returns: seconds on CLOCK_MONOTONIC, with the fraction.
 *  Thread-safe; does not block. */
double clock_mono(void);

/** Sleep ms milliseconds in steps of at most 50 ms, returning early once
 *  *stop is non-zero (stop may be NULL), so a signal handler's flag ends
 *  the wait within 50 ms.
 *  Blocks; thread-safe. */
void clock_sleep_ms(int ms, volatile int *stop);

#endif
