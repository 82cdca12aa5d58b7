/*
 * sim_clock — simulated time. Simulated time runs `speedup` times faster
 * than the wall clock from a start date (speedup 1 = real time, 1440 = a day
 * per minute, 0 = as fast as the CPU and the broker allow), and a token
 * bucket caps readings per second when asked.
 */
#ifndef SIM_CLOCK_H
#define SIM_CLOCK_H

/** Parse a start date: "2025-01-15", "2025-01-15T06:30:00Z" (also with a
 *  space, without Z = UTC, or with +hh:mm), Unix seconds ("1735689600"), or
 *  "now" (wall clock, whole seconds).
 *  Returns: 0 with *ts set, or -1 when the text is none of these. */
int sim_parse_time(const char *text, double *ts);

typedef struct {
    double sim0; /* simulated ts at mono0 */
    double mono0;
    double speedup; /* 0 = unpaced */
} sim_clock;

/** Start a clock at simulated time sim0, now. */
void sim_clock_start(sim_clock *c, double sim0, double speedup);

/** Current simulated time (INFINITY when unpaced: everything is due). */
double sim_clock_now(const sim_clock *c);

/** Wall seconds until simulated time reaches t (<= 0 when due). */
double sim_clock_wait_s(const sim_clock *c, double t);

typedef struct {
    double rate; /* tokens per second; 0 = unlimited */
    double tokens;
    double last; /* mono time of the last refill */
} sim_bucket;

/** Set up a bucket allowing `rate` per second with bursts of rate/10 (>= 1). */
void sim_bucket_init(sim_bucket *b, double rate);

/** Take one token. Returns 0 when allowed now, else the seconds to wait
 *  before trying again (the token is not taken). */
double sim_bucket_take(sim_bucket *b);

#endif
