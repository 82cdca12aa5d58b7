/*
 * tsfeatures — see features.h. All statistics are exponentially weighted so
 * the state has a fixed size; early on each EWMA uses 1/n instead of its
 * nominal rate, so the first readings give plain averages rather than a
 * mean biased towards the initial zero.
 */
#include "model/tsfeatures.h"

#include <math.h>
#include <string.h>
#include <time.h>

#define DAY 86400.0
#define BIN_S (DAY / TSFEATURES_BINS)
#define TSFEATURE_CLAMP 1e4f
/* One reading moves the short shift/spread averages by at most this many
 * residual sds (squared for the spread): a single spike must not look
 * like a sustained change for the next twenty readings. */
#define SHORT_CLIP_Z 10.0
#define SHORT_CLIP_R2 20.25 /* (4.5 sd)^2 */

void tsfeatures_params_default(tsfeatures_params *p)
{
    p->lags = 3;
    p->recent_n = 60;
    p->recent_s = 300;
    p->hold_z = 3.0;
    p->short_n = 6;
    p->level_days = 1;
    p->profile_days = 7;
}

int tsfeatures_dim(const tsfeatures_params *p)
{
    return TSFEATURES_FIXED + p->lags;
}

const char *tsfeatures_name(int j)
{
    static const char *const fixed[TSFEATURES_FIXED] = {"z_recent", "z_context", "shift", "spread"};
    static const char *const deltas[TSFEATURES_MAX_LAGS] = {"delta1", "delta2", "delta3",
                                                            "delta4", "delta5", "delta6"};
    if (j >= 0 && j < TSFEATURES_FIXED)
        return fixed[j];
    if (j >= TSFEATURES_FIXED && j < TSFEATURES_MAX_DIM)
        return deltas[j - TSFEATURES_FIXED];
    return "?";
}

void tsfeatures_init(tsfeatures_state *s)
{
    memset(s, 0, sizeof(*s));
}

/* A spread never below a small share of the level, so a flat or quantised
 * signal does not turn its first tiny change into an infinite z-score. */
static double sd_floor(const tsfeatures_state *s)
{
    double f = 1e-6 + 1e-4 * fabs(s->level);
    /* A quantised sensor cannot resolve less than one step. */
    return s->quantum > f ? s->quantum : f;
}

static double sqrt_floor(const tsfeatures_state *s, double v)
{
    double f = sd_floor(s), r = v > 0 ? sqrt(v) : 0.0;
    return r > f ? r : f;
}

/* A bin's shape is trusted once the first day is over and it has data. */
static int bin_ready(const tsfeatures_state *s, int b)
{
    return s->phase == 1 && s->prof_n[b] > 0;
}

static double tod(double ts)
{
    double t = fmod(ts, DAY);
    return t < 0 ? t + DAY : t;
}

/* Day type of ts: 1 on Saturday and Sunday (UTC), else 0. Day 0 of the
 * epoch was a Thursday. */
static int day_type(double ts)
{
    long d = (long)floor(ts / DAY);
    int dow = (int)(((d + 4) % 7 + 7) % 7); /* 0 = Sunday */
    return dow == 0 || dow == 6;
}

/* The week's offset of bin b on day type t from the daily profile, which
 * averages five weekdays and two weekend days. */
static double week_off(const tsfeatures_state *s, int b, int t)
{
    return (t ? 5.0 / 7.0 : -2.0 / 7.0) * s->wk[b / 2];
}

/* Shape of bin b on day type t: the daily profile, plus the week's offset
 * while the weekly rhythm is on. */
static double shape_of(const tsfeatures_state *s, int b, int t)
{
    return s->wk_on ? s->prof[b] + week_off(s, b, t) : s->prof[b];
}

/* Profile deviation at ts interpolated between the two nearest bin centres.
 * Returns 1 and sets *dev when both (or the single relevant) bins are ready. */
static int profile_at(const tsfeatures_state *s, double ts, double *dev)
{
    double u = tod(ts) / BIN_S - 0.5; /* position relative to bin centres */
    double j = floor(u), frac = u - j;
    int b0 = ((int)j + TSFEATURES_BINS) % TSFEATURES_BINS, b1 = (b0 + 1) % TSFEATURES_BINS;
    int r0 = bin_ready(s, b0), r1 = bin_ready(s, b1), t = day_type(ts);
    if (r0 && r1)
        *dev = (1.0 - frac) * shape_of(s, b0, t) + frac * shape_of(s, b1, t);
    else if (r0 && frac < 0.5)
        *dev = shape_of(s, b0, t);
    else if (r1 && frac >= 0.5)
        *dev = shape_of(s, b1, t);
    else
        return 0;
    return 1;
}

/* Day of the UTC year (1..366) of tt, as gmtime_r's tm_yday + 1 (0 when
 * gmtime_r fails), from the civil calendar's arithmetic for 1970..9999
 * (no time-zone machinery per reading); gmtime_r outside that range. */
static int day_of_year(time_t tt)
{
    if (tt < 0 || tt > (time_t)253402300799) { /* 9999-12-31T23:59:59Z */
        struct tm tm;
        return gmtime_r(&tt, &tm) ? tm.tm_yday + 1 : 0;
    }
    /* days since 0000-03-01, 400-year eras (H. Hinnant's civil_from_days) */
    long z = (long)(tt / 86400) + 719468;
    long era = z / 146097, doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100); /* 0 = March 1st */
    if (doy >= 306)                                     /* January, February */
        return (int)(doy - 306) + 1;
    long y = yoe + era * 400; /* the calendar year of March..December */
    int leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    return (int)doy + 59 + leap + 1;
}

/* Expected value and its spread at ts, before this reading. */
static int expected_at(const tsfeatures_state *s, double ts, double *exp_v, double *exp_sd)
{
    double dev;
    if (s->n > 0 && profile_at(s, ts, &dev)) {
        *exp_v = s->level + dev;
        *exp_sd = sqrt_floor(s, s->rvar);
        return 1;
    }
    *exp_v = s->mean;
    *exp_sd = sqrt_floor(s, s->var);
    return 0;
}

static float clampf(double v)
{
    if (!(v == v))
        return 0.0f;
    if (v > TSFEATURE_CLAMP)
        return TSFEATURE_CLAMP;
    if (v < -TSFEATURE_CLAMP)
        return -TSFEATURE_CLAMP;
    return (float)v;
}

static double clip_z(double z)
{
    return z > SHORT_CLIP_Z ? SHORT_CLIP_Z : z < -SHORT_CLIP_Z ? -SHORT_CLIP_Z : z;
}

static double clip_r2(double r2, double var)
{
    return r2 > SHORT_CLIP_R2 * var ? SHORT_CLIP_R2 * var : r2;
}

static double short_alpha(const tsfeatures_params *p)
{
    return 2.0 / (p->short_n + 1.0);
}

int tsfeatures_compute(const tsfeatures_params *p, const tsfeatures_state *s, double ts, double x,
                       float *out, tsfeatures_info *info)
{
    if (!isfinite(x) || !isfinite(ts))
        return -1;
    const int dim = tsfeatures_dim(p);
    double ev, esd;
    int ready = expected_at(s, ts, &ev, &esd);
    double rsd = sqrt_floor(s, s->var);
    for (int j = 0; j < dim; j++)
        out[j] = 0.0f;
    if (s->n > 0) {
        double zc = (x - ev) / esd;
        double as = short_alpha(p);
        out[TSFEATURE_Z_RECENT] = clampf((x - s->mean) / rsd);
        out[TSFEATURE_Z_CONTEXT] = clampf(zc);
        double vl = esd * esd;
        out[TSFEATURE_SHIFT] = clampf(s->rshort + as * (clip_z(zc) - s->rshort));
        double r = x - ev;
        double vs = s->rvshort + as * (clip_r2(r * r, vl) - s->rvshort);
        /* log2 of the smoothed ratio: 0 when the noise is as usual, -1 for
         * a perfectly quiet stretch, +k when the variance grew 2^(k+1)-fold. */
        out[TSFEATURE_SPREAD] = clampf(log2((vs + vl) / (2.0 * vl)));
        double dsd = sqrt_floor(s, s->dvar);
        for (int k = 1; k <= p->lags; k++)
            if ((uint32_t)k <= s->nlag)
                out[TSFEATURE_DELTA1 + k - 1] =
                    clampf((x - s->lag[k - 1]) / (sqrt((double)k) * dsd));
    }
    if (info) {
        double dv = s->dvar > 0 ? s->dvar : 0, dfl = sd_floor(s);
        if (dv < dfl * dfl)
            dv = dfl * dfl;
        double d = s->nlag > 0 ? x - s->lag[0] : 0.0;
        double dvs = s->dvshort + short_alpha(p) * (clip_r2(d * d, dv) - s->dvshort);
        info->step_noise = log2((dvs + dv) / (2.0 * dv));
        info->expected = s->n > 0 ? ev : x;
        info->expected_sd = esd;
        info->recent_mean = s->n > 0 ? s->mean : x;
        info->recent_sd = rsd;
        info->profile_ready = ready;
        info->hour = tod(ts) / 3600.0;
        info->day_of_year = day_of_year((time_t)ts);
        info->seen_lo = s->n > 0 ? s->lo : x;
        info->seen_hi = s->n > 0 ? s->hi : x;
    }
    return 0;
}

/* Learn from one reading: the recent mean and variance, the smallest step
 * between readings (the sensor's quantum) and the usual step. */
static void learn_moments(const tsfeatures_params *p, tsfeatures_state *s, double x, double prev,
                          int had_prev, int prev_ok)
{
    s->n++;
    double n = s->n;
    /* At least recent_s seconds of readings: at 1 Hz, 60 readings are a
     * minute, and a fault that ramps over a minute would soon be its
     * own expectation (before the daily profile exists, the recent mean
     * is what a reading is judged against). */
    double rn = p->recent_n;
    if (s->interval > 0 && p->recent_s / s->interval > rn)
        rn = p->recent_s / s->interval;
    double ar = 1.0 / n > 2.0 / (rn + 1.0) ? 1.0 / n : 2.0 / (rn + 1.0);
    double d = x - s->mean;
    if (s->n == 1) {
        s->mean = x;
        s->var = 0;
        s->level = 0;
        s->lo = s->hi = x;
    } else {
        s->mean += ar * d;
        s->var = (1.0 - ar) * (s->var + ar * d * d);
    }
    if (had_prev && x != prev) {
        double step = fabs(x - prev);
        if (s->quantum == 0 || step < s->quantum)
            s->quantum = step;
    }
    /* The usual reading-to-reading step: only between two learned
     * readings (the step back from a flagged spike is not a usual step),
     * and winsorised, so one unflagged outlier does not inflate it for
     * the next hundred readings and hide the next spike. */
    if (had_prev && prev_ok) {
        double dd = x - prev, d2 = dd * dd;
        double ad = s->n <= 2 ? 1.0 : ar;
        if (s->n > 20 && d2 > 25.0 * s->dvar)
            d2 = 25.0 * s->dvar;
        s->dvar += ad * (d2 - s->dvar);
    }
}

/* Residual spread against the profile: decays with time, not readings. */
static void learn_residual(tsfeatures_state *s, double r, double dt)
{
    double ares = 1.0 - exp(-dt / DAY);
    s->nres++;
    if (ares < 1.0 / s->nres)
        ares = 1.0 / s->nres;
    if (s->n > 1)
        s->rvar += ares * (r * r - s->rvar);
}

/* End of the first day: split the plain bin means into a level and a
 * zero-mean daily shape. */
static void split_profile(tsfeatures_state *s)
{
    double sum = 0;
    int cnt = 0;
    for (int k = 0; k < TSFEATURES_BINS; k++)
        if (s->prof_n[k] > 0) {
            sum += s->prof[k];
            cnt++;
        }
    if (cnt > 0) {
        s->level = sum / cnt;
        for (int k = 0; k < TSFEATURES_BINS; k++)
            s->prof[k] = s->prof_n[k] > 0 ? (float)(s->prof[k] - s->level) : 0.0f;
    }
    s->phase = 1;
    /* Residuals against the running mean overstate those against the
     * profile: start from the recent variance as a prior worth 30
     * readings, and restart the short averages. */
    s->rvar = s->var;
    s->nres = 30;
    s->rshort = 0;
    s->rvshort = s->rvar;
}

/* The week, on a weekend day: r is the reading's residual against the
 * daily model without the week; the weekend's difference from weekdays is
 * 7/5 of it (the profile averages 5 weekdays and 2 weekend days),
 * remembered over profile_days weekend days. */
static void learn_week(const tsfeatures_params *p, tsfeatures_state *s, int b, double r,
                       double per_bin_day)
{
    int h = b / 2;
    /* Weekend readings in this hour so far, from the profile's counts. */
    double n = (s->prof_n[2 * h] + s->prof_n[2 * h + 1]) * (2.0 / 7.0);
    double a = 1.0 / (n + 1.0), amin = 1.0 / (2.0 * per_bin_day * p->profile_days);
    if (a < amin)
        a = amin;
    s->wk[h] = (float)(s->wk[h] + a * (r * 7.0 / 5.0 - s->wk[h]));
}

/* Once a day: is there a weekly rhythm? On when, after two weeks, the
 * weekend's difference from weekdays exceeds WEEK_ON residual sds in mean
 * square over the hours the profile has learned (most of the day); off
 * again below a quarter of that. */
#define WEEK_ON 1.0
static void judge_week(tsfeatures_state *s, double ts)
{
    if (s->phase != 1 || ts - s->first_ts < 14 * DAY || !(s->rvar > 0))
        return;
    double sum = 0;
    int nb = 0;
    for (int h = 0; h < TSFEATURES_WEEK_BINS; h++)
        if (s->prof_n[2 * h] > 0 && s->prof_n[2 * h + 1] > 0) {
            sum += (double)s->wk[h] * s->wk[h];
            nb++;
        }
    if (nb < TSFEATURES_WEEK_BINS * 3 / 4)
        return;
    double ratio = sum / nb / s->rvar;
    if (!s->wk_on && ratio >= WEEK_ON)
        s->wk_on = 1;
    else if (s->wk_on && ratio < WEEK_ON / 4)
        s->wk_on = 0;
}

/* Learn the daily profile's bin for ts and the slow baseline level. */
static void learn_profile(const tsfeatures_params *p, tsfeatures_state *s, double ts, double x,
                          double dt)
{
    double n = s->n;
    /* The slow baseline decays with time, not readings. */
    double al = 1.0 - exp(-dt / (p->level_days * DAY));
    if (al < 1.0 / n)
        al = 1.0 / n;
    int b = (int)(tod(ts) / BIN_S);
    if (b >= TSFEATURES_BINS)
        b = TSFEATURES_BINS - 1;
    double per_bin_day = s->interval > 0 ? BIN_S / s->interval : 1.0;
    double ap = 1.0 / (s->prof_n[b] + 1.0), amin = 1.0 / (per_bin_day * p->profile_days);
    if (ap < amin)
        ap = amin;
    if (s->n == 1)
        s->first_ts = ts;
    if (s->phase == 0) {
        /* First day: plain per-bin means and a running-mean level. */
        s->level += (x - s->level) / n;
        s->prof[b] = (float)(s->prof[b] + ap * (x - s->prof[b]));
        if (ts - s->first_ts >= DAY)
            split_profile(s);
    } else {
        int t = day_type(ts);
        double off = s->wk_on ? week_off(s, b, t) : 0.0;
        double shape = s->prof_n[b] > 0 ? s->prof[b] : 0.0;
        if (t)
            learn_week(p, s, b, x - s->level - shape, per_bin_day);
        s->level += al * ((x - shape - off) - s->level);
        s->prof[b] = (float)(s->prof[b] + ap * ((x - s->level - off) - s->prof[b]));
    }
    if (s->prof_n[b] < UINT16_MAX)
        s->prof_n[b]++;
}

/* Range seen: widened at once, relaxed towards the mean over a week. */
static void learn_range(tsfeatures_state *s, double x, double dt)
{
    if (x < s->lo)
        s->lo = x;
    if (x > s->hi)
        s->hi = x;
    double aw = 1.0 - exp(-dt / (7 * DAY));
    s->lo += aw * (s->mean - s->lo);
    s->hi += aw * (s->mean - s->hi);
}

void tsfeatures_update(const tsfeatures_params *p, tsfeatures_state *s, double ts, double x,
                       int learn)
{
    if (!isfinite(x) || !isfinite(ts))
        return;
    double dt = (s->last_ts > 0 && ts > s->last_ts) ? ts - s->last_ts : 0.0;
    double prev = s->nlag > 0 ? s->lag[0] : x;
    int had_prev = s->nlag > 0, prev_ok = s->prev_learned;

    for (int k = TSFEATURES_MAX_LAGS - 1; k > 0; k--)
        s->lag[k] = s->lag[k - 1];
    s->lag[0] = (float)x;
    if (s->nlag < TSFEATURES_MAX_LAGS)
        s->nlag++;
    if (dt > 0)
        s->interval = s->interval > 0 ? s->interval + 0.05 * (dt - s->interval) : dt;
    if (s->last_ts > 0 && floor(ts / DAY) > floor(s->last_ts / DAY))
        judge_week(s, ts);
    if (ts > s->last_ts)
        s->last_ts = ts;

    double ev, esd;
    expected_at(s, ts, &ev, &esd);
    double zc = s->n > 0 ? (x - ev) / esd : 0.0;
    double r = s->n > 0 ? x - ev : 0.0;
    /* The short statistics describe what is happening now, flagged or
     * not: that is how a sustained shift builds up while it is flagged. */
    double as = short_alpha(p);
    s->rshort += as * (clip_z(zc) - s->rshort);
    s->rvshort += as * (clip_r2(r * r, esd * esd) - s->rvshort);
    if (had_prev) {
        double dv = s->dvar, dfl = sd_floor(s), d = x - prev;
        if (dv < dfl * dfl)
            dv = dfl * dfl;
        s->dvshort += as * (clip_r2(d * d, dv) - s->dvshort);
    }
    s->prev_learned = (uint16_t)(learn != 0);
    if (!learn)
        return;

    learn_moments(p, s, x, prev, had_prev, prev_ok);
    /* A sustained excursion to values outside the range seen (a machine
     * cooling down over hours) would otherwise teach the residual spread
     * its own size within the hour and never stand out: while the short
     * shift is at least hold_z sds and the value is beyond the range seen,
     * the spread is not learned (the level and profile still are). */
    if (!(p->hold_z > 0 && s->phase == 1 && fabs(s->rshort) >= p->hold_z &&
          (x < s->lo || x > s->hi)))
        learn_residual(s, r, dt);
    learn_profile(p, s, ts, x, dt);
    learn_range(s, x, dt);
}

int tsfeatures_state_valid(const tsfeatures_state *s)
{
    const double v[] = {s->last_ts, s->interval, s->mean, s->var,     s->dvar,
                        s->level,   s->rvar,     s->rshort, s->rvshort, s->dvshort,
                        s->lo,      s->hi,       s->first_ts};
    for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
        if (!isfinite(v[k]))
            return 0;
    if (s->var < 0 || s->dvar < 0 || s->rvar < 0 || s->rvshort < 0 || s->interval < 0 ||
        s->nlag > TSFEATURES_MAX_LAGS || s->phase > 1 || s->wk_on > 1)
        return 0;
    for (int k = 0; k < TSFEATURES_MAX_LAGS; k++)
        if (!isfinite(s->lag[k]))
            return 0;
    for (int b = 0; b < TSFEATURES_BINS; b++)
        if (!isfinite(s->prof[b]) || !isfinite(s->wk[b / 2]))
            return 0;
    return 1;
}

int tsfeatures_expected(const tsfeatures_state *s, double ts, double *expected, double *sd)
{
    return expected_at(s, ts, expected, sd);
}

void tsfeatures_day_range(const tsfeatures_state *s, double *lo_out, double *hi_out)
{
    double lo = INFINITY, hi = -INFINITY, esd;
    for (int b = 0; b < TSFEATURES_BINS; b++) {
        if (!bin_ready(s, b))
            continue;
        for (int t = 0; t <= (int)s->wk_on; t++) { /* both day types while the week is on */
            double v = s->level + shape_of(s, b, t);
            if (v < lo)
                lo = v;
            if (v > hi)
                hi = v;
        }
    }
    if (lo > hi) { /* no profile yet: recent mean +- 2 sd */
        lo = hi = s->mean;
        esd = sqrt_floor(s, s->var);
    } else {
        esd = sqrt_floor(s, s->rvar);
    }
    *lo_out = lo - 2.0 * esd;
    *hi_out = hi + 2.0 * esd;
}

int tsfeatures_bin(double ts)
{
    int b = (int)(tod(ts) / BIN_S);
    return b >= TSFEATURES_BINS ? TSFEATURES_BINS - 1 : b < 0 ? 0 : b;
}

void tsfeatures_relearn_bin(tsfeatures_state *s, double ts)
{
    int b = tsfeatures_bin(ts);
    if (s->prof_n[b] > 1)
        s->prof_n[b] = 1;
}
