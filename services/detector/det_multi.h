/*
 * det_multi — a per-sensor multivariate state over the metrics one sensor
 * reports together (a pump's 8 quantities, a weather station's 3).
 * Experimental, off by default (det_config.multi, MULTI_DETECT); figures
 * in docs/detector.md, "Multivariate state".
 *
 * The vector of a row: each stream's standardised residual (tsfeatures
 * z_context) once every stream has a daily profile; before that (a
 * stream's first day, when its expectation is a plain running mean of the
 * half hour that a fault soon joins) the values themselves, in fixed units
 * of each stream's spread (T² is the same in any units). A switch between
 * the two restarts the state.
 *
 * Per sensor: a level and slope per metric (Brown's double smoothing over
 * DET_MULTI_TREND rows: a warming motor may drift), the MEWMA vector ew =
 * exponentially weighted (DET_MULTI_LAMBDA) deviation of the rows from
 * that level (Lowry et al. 1992: small shifts of several metrics add up
 * over ~2/lambda rows), and the covariance of ew itself (so its
 * autocorrelation is learned, not assumed). Hotelling's T² = ew' S^-1 ew.
 *
 * Limits are scale-free chi-square quantiles of k degrees of freedom
 * (Wilson–Hilferty):
 *   enter: T² > chi2_k(DET_MULTI_P_ENTER) on DET_MULTI_PERSIST rows in a row
 *   leave: T² < chi2_k(DET_MULTI_P_LEAVE) on DET_MULTI_PERSIST rows in a row
 * Learning: the first `warm` rows plainly, then exponentially weighted
 * over DET_MULTI_HORIZON rows, only from rows outside any alarm, each
 * weighted down (Huber) by how far above the exit limit its T² is; while
 * not learning the level follows its slope. A small ridge
 * (DET_MULTI_RIDGE, in residual spreads squared) keeps a constant metric
 * from making the matrix singular.
 *
 * Memory: ~330 bytes per sensor, inline in the sensor; no allocation. Not
 * persisted: after a restart the state re-learns. Sensors with one metric,
 * or more than DET_MULTI_MAX, have no multivariate state (k = 0).
 *
 * Thread-safety: functions touch only the state they are given.
 */
#ifndef DET_MULTI_H
#define DET_MULTI_H

#include <stdint.h>

#define DET_MULTI_MAX 8
#define DET_MULTI_TRI (DET_MULTI_MAX * (DET_MULTI_MAX + 1) / 2)
#define DET_MULTI_PERSIST 10     /* rows above (below) the limit to enter (leave) */
#define DET_MULTI_P_ENTER 0.9999 /* chi-square quantile of the entry limit */
#define DET_MULTI_P_LEAVE 0.99   /* chi-square quantile of the exit limit */
#define DET_MULTI_HORIZON 2000   /* rows of the exponentially weighted update */
#define DET_MULTI_RIDGE 0.01     /* added to the covariance diagonal */
#define DET_MULTI_TREND 300      /* rows of the level and slope smoothing */
#define DET_MULTI_LAMBDA 0.1     /* weight of a row in the MEWMA vector */

typedef struct {
    uint8_t k;            /* metrics in the vector; 0 = not set up */
    uint8_t alarm;        /* 1 while in a multivariate alarm */
    uint8_t above, below; /* consecutive rows above the entry / below the exit limit */
    uint32_t n;           /* rows learned */
    uint8_t
        mode; /* input: 0 = values against ref/scale (a stream in its first day), 1 = z_context */
    double start_ts;         /* first row of the current alarm */
    float ew[DET_MULTI_MAX]; /* EWMA (DET_MULTI_LAMBDA) of the deviation from the mean */
    float ref[DET_MULTI_MAX], scale[DET_MULTI_MAX]; /* mode 0: fixed at the first row learned */
    float mean[DET_MULTI_MAX];                      /* Brown's double smoothing: level 2 s1 - s2 */
    float s2[DET_MULTI_MAX];
    float cov[DET_MULTI_TRI]; /* lower triangle, row-major: (i, j<=i) at i*(i+1)/2 + j */
} det_multi;

enum { DET_MULTI_NONE = 0, DET_MULTI_ENTER = 1, DET_MULTI_LEAVE = 2 };

/** Start a state over k metrics (2..DET_MULTI_MAX; any other k sets it off). */
void det_multi_init(det_multi *m, int k);

/** The p-quantile of chi-square with k degrees of freedom (Wilson–Hilferty,
 *  p in {0.9, 0.95, 0.99, 0.995, 0.999, 0.9999}, others use the nearest below). */
double det_multi_chi2(int k, double p);

/** Hotelling's T² of z (m->k values) against the learned level (m->mean)
 *  and covariance; z NULL: of the MEWMA deviation m->ew.
 *  Out: contrib (may be NULL), per metric its share z_i' * (S^-1 z')_i of T²
 *  (they sum to T²; a share may be negative). Returns T², or -1 when the
 *  covariance cannot be factorised (then contrib is untouched). */
double det_multi_t2(const det_multi *m, const double *z, double *contrib);

/** Learn one row with weight w in (0, 1]: the level and slope from z, the
 *  covariance from the current m->ew. */
void det_multi_learn(det_multi *m, const double *z, double w);

/** One row: T² (returned in *t2, -1 while warming up), the alarm
 *  transition, and learning when `may_learn` (no stream of the sensor in
 *  alarm) and the state is not in alarm. warm = rows to learn before
 *  scoring. Returns DET_MULTI_ENTER, DET_MULTI_LEAVE or DET_MULTI_NONE;
 *  m->alarm is the state after this row. */
int det_multi_step(det_multi *m, const double *z, int may_learn, uint32_t warm, double *t2,
                   double *contrib);

#endif
