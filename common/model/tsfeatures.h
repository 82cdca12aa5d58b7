/*
 * tsfeatures — streaming time-series features of one metric of one sensor,
 * the context that makes isolation work on a stream.
 *
 * Per stream the state holds (fixed size, no allocation per reading):
 *   - the last TSFEATURES_MAX_LAGS values (lags, for lagged deltas);
 *   - the recent mean and spread (EWMA over `recent_n` readings, and over
 *     at least `recent_s` seconds of them);
 *   - a learned daily profile: TSFEATURES_BINS bins of the time of day, each
 *     an EWMA of the value's deviation from a slow baseline `level`; the
 *     baseline is an EWMA over `level_days` days of the deseasonalised
 *     value (x minus the daily shape, as in additive Holt-Winters) and
 *     carries the season and the weather, the profile the daily shape. The
 *     expected value at time t is level + profile interpolated between bin
 *     centres. During the first day the bins learn plain means; after a
 *     day they are split into level + shape;
 *   - the week: the mean residual per hour of weekdays and of weekend days.
 *     Once two weeks are seen and the two differ by more than the
 *     residual spread (a city's traffic, an office's load), the
 *     expectation adds the offset of the reading's day type; streams
 *     without a weekly rhythm never switch it on;
 *   - the spread of residuals against that expectation, and a short EWMA
 *     of the residual (a level-shift detector).
 *
 * Feature vector (all normalised by the stream's own spread, so one model
 * fits sensors of any unit and scale), TSFEATURES_FIXED + lags floats:
 *   [0] z_recent   (x - recent mean) / recent spread
 *   [1] z_context  (x - expected(time of day)) / residual spread
 *   [2] shift      short EWMA of z_context (sustained level change)
 *   [3] spread     log2 of short / long residual variance (noise change)
 *   [4..] delta_k  (x - x[t-k]) / (sqrt(k) * spread of 1-step deltas)
 *
 * Time is the reading's ts, never the wall clock: the time of day, the
 * day of year and every time-based decay come from ts, so a replayed or
 * accelerated stream behaves like a live one. Hours are UTC.
 *
 * Thread-safety: functions touch only the state they are given.
 */
#ifndef COMMON_TSFEATURES_H
#define COMMON_TSFEATURES_H

#include <stdint.h>

#define TSFEATURES_MAX_LAGS 6
#define TSFEATURES_BINS 48 /* 30-minute bins */
#define TSFEATURES_WEEK_BINS 24 /* hours, for the week's offsets */
#define TSFEATURES_FIXED 4
#define TSFEATURES_MAX_DIM (TSFEATURES_FIXED + TSFEATURES_MAX_LAGS)

enum {
    TSFEATURE_Z_RECENT = 0,
    TSFEATURE_Z_CONTEXT = 1,
    TSFEATURE_SHIFT = 2,
    TSFEATURE_SPREAD = 3,
    TSFEATURE_DELTA1 = 4,
};

typedef struct {
    int lags;            /* lagged deltas, 1..TSFEATURES_MAX_LAGS (default 3) */
    double recent_n;     /* readings in the recent mean/spread EWMA (default 60) */
    double recent_s;     /* ... but at least this many seconds of readings (default 300) */
    double hold_z;       /* the residual spread is not learned while the short shift is
                            at least this many sds and the value is outside the range
                            seen (default 3; 0: always learned) */
    double short_n;      /* readings in the short shift/spread EWMA (default 6) */
    double level_days;   /* time constant of the slow baseline, days (default 1) */
    double profile_days; /* memory of the daily profile, days (default 7) */
} tsfeatures_params;

/* One stream's state. Plain data: may be copied, saved and restored with
 * memcpy (see tsfeatures_state_valid before trusting a loaded one). */
typedef struct {
    double last_ts;                 /* ts of the last reading folded in (0 = none) */
    double interval;                /* EWMA of the sampling interval, s */
    double mean, var;               /* recent mean and variance */
    double dvar;                    /* EWMA of squared 1-step delta */
    double level;                   /* slow baseline */
    double rvar;                    /* long EWMA of squared residual vs expected */
    double rshort;                  /* short EWMA of the normalised residual */
    double rvshort;                 /* short EWMA of the squared residual */
    double dvshort;                 /* short EWMA of the squared 1-step delta */
    double lo, hi;                  /* slowly decaying min/max of the values seen */
    double first_ts;                /* ts of the first reading learned */
    uint32_t phase;                 /* 0: first day, prof[] holds raw bin means; 1: level + shape */
    uint32_t n;                     /* readings folded in */
    uint32_t nres;                  /* readings in rvar since the profile took over */
    double quantum;                 /* smallest non-zero step seen (the sensor's resolution) */
    uint16_t nlag;                  /* valid entries in lag[] */
    uint16_t prev_learned;          /* 1 when lag[0] was learned (not flagged) */
    float lag[TSFEATURES_MAX_LAGS]; /* lag[0] = previous value */
    float prof[TSFEATURES_BINS];    /* mean deviation from level per bin */
    uint16_t prof_n[TSFEATURES_BINS]; /* readings seen per bin (saturates) */
    /* The week: per hour of the day, how much weekend days (Saturday,
     * Sunday, UTC) differ from weekdays, learned on weekend days from
     * their residual against the daily profile. While wk_on (the
     * difference exceeds the residual spread, tested once a day after two
     * weeks) the expectation adds 5/7 of it on weekend days and takes
     * 2/7 of it away on weekdays. */
    float wk[TSFEATURES_WEEK_BINS];
    uint32_t wk_on;                 /* 1: the expectation includes the week */
} tsfeatures_state;

/* What the features mean in the metric's own units, for explanations and
 * classification. Filled by tsfeatures_compute. */
typedef struct {
    double expected;    /* expected value for this time of day */
    double expected_sd; /* spread of the residual around it */
    double recent_mean, recent_sd;
    double seen_lo, seen_hi; /* range of values seen recently */
    int profile_ready;       /* 1 when this time of day has been learned */
    double hour;             /* UTC hour of day of ts, 0..24 */
    int day_of_year;         /* 1..366, the season context */
    double step_noise;       /* log2 of recent over usual 1-step delta variance (0 = as
                              * usual): a noise change, unlike a level shift, raises it */
} tsfeatures_info;

/** Fill p with the defaults (lags 3, recent_n 60, recent_s 300, hold_z 3, short_n 6, level_days 1,
 *  profile_days 7).
 *  Out: p: caller-owned; every field is set. */
void tsfeatures_params_default(tsfeatures_params *p);

/** Feature vector length for these params: TSFEATURES_FIXED + lags. */
int tsfeatures_dim(const tsfeatures_params *p);

/** Name of feature j ("z_recent", "z_context", "shift", "spread",
 *  "delta1", ...). Returns a static string. */
const char *tsfeatures_name(int j);

/** Reset s to "nothing seen yet" (caller-owned; allocates nothing). */
void tsfeatures_init(tsfeatures_state *s);

/** Compute the feature vector of value x at time ts against the state
 *  before this reading (the state is not changed).
 *  Out: out[0..tsfeatures_dim-1]; info (may be NULL).
 *  Allocates nothing. Returns 0, or -1 when x or ts is not finite. */
int tsfeatures_compute(const tsfeatures_params *p, const tsfeatures_state *s, double ts, double x,
                       float *out, tsfeatures_info *info);

/** Fold the reading into the state. learn = 1 updates every statistic;
 *  learn = 0 (a flagged reading) only moves the lags, the clock and the
 *  short shift/spread averages, so an anomaly is not absorbed into what
 *  "normal" means while a sustained one still builds up. Readings older than
 *  the last one are folded in without moving the clock back. */
void tsfeatures_update(const tsfeatures_params *p, tsfeatures_state *s, double ts, double x,
                       int learn);

/** Expected value and residual spread at time ts from the state (not
 *  changed). Returns 1 when the learned daily profile covers ts, 0 when it
 *  falls back on the recent mean and spread. */
int tsfeatures_expected(const tsfeatures_state *s, double ts, double *expected, double *sd);

/** Range of expected values over the whole day, widened by 2 residual
 *  sds (the recent mean +- 2 sd before the profile is learned). Scans the
 *  48 bins: call it for candidates only, not for every reading. */
void tsfeatures_day_range(const tsfeatures_state *s, double *lo, double *hi);

/** Daily-profile bin (0..TSFEATURES_BINS-1) of time ts. */
int tsfeatures_bin(double ts);

/** Forget most of what the profile learned for the time of day of ts (the
 *  bin's count drops to 1, so the next readings there rewrite it quickly):
 *  used when the learned shape has proved wrong there, e.g. a routine that
 *  recurs daily at that hour. Returns nothing; touches only s. */
void tsfeatures_relearn_bin(tsfeatures_state *s, double ts);

/** 1 when a state read from disk is plausible (finite numbers, counts in
 *  range), else 0. */
int tsfeatures_state_valid(const tsfeatures_state *s);

#endif
