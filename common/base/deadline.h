/*
 * deadline — absolute times for pthread_cond_timedwait(). A condition
 * variable created with default attributes measures its timeout against
 * CLOCK_REALTIME, so a relative wait of `ms` has to become "now on that
 * clock + ms" with the nanoseconds carried into the seconds. Several
 * modules wait like that (reconnect backoff, journal growth, gateway
 * naps); the arithmetic lives here once.
 */
#ifndef COMMON_DEADLINE_H
#define COMMON_DEADLINE_H

#include <time.h>

/** The CLOCK_REALTIME instant `ms` milliseconds from now.
 *  Returns: nothing.
 *  Out: out: the deadline, for pthread_cond_timedwait() on a condition
 *            variable with default attributes (caller-owned).
 *  In:  ms:  milliseconds from now; meant to be >= 0 (a negative value
 *            is not normalised: tv_nsec may come out negative, which
 *            pthread_cond_timedwait rejects with EINVAL).
 *  Thread-safe; does not block. */
void deadline_after_ms(struct timespec *out, long ms);

#endif
