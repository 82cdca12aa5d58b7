/*
 * det_explain — the detector's alerts in plain words: every explanation
 * text an anomaly carries is written here, from the reading the alert
 * refers to (det_pending) and what the stream has learned. Values are
 * printed in the metric's unit when one is known, else bare.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "det_internal.h"

/* The explanation text, cut at ANOMALY_EXPLANATION_MAX (a long metric
 * name or unit may cut it; the alert is still complete). */
__attribute__((format(printf, 2, 3))) static void say(anomaly *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->explanation, sizeof(a->explanation), fmt, ap);
    va_end(ap);
}

static const char *feature_words(int j)
{
    switch (j) {
    case TSFEATURE_Z_RECENT:
        return "its recent average";
    case TSFEATURE_Z_CONTEXT:
        return "its usual value for this time of day";
    case TSFEATURE_SHIFT:
        return "a sustained shift";
    case TSFEATURE_SPREAD:
        return "its usual noise";
    default:
        return "the previous readings";
    }
}

void det_num(char *buf, size_t n, double v)
{
    double a = fabs(v);
    if (a >= 100)
        snprintf(buf, n, "%.1f", v);
    else if (a >= 10)
        snprintf(buf, n, "%.1f", v);
    else if (a >= 1 || a == 0)
        snprintf(buf, n, "%.2f", v);
    else
        snprintf(buf, n, "%.3g", v);
}

static void hhmm(char *buf, size_t n, double ts)
{
    double t = fmod(ts, 86400.0);
    if (t < 0)
        t += 86400.0;
    int m = (int)(t / 60.0);
    snprintf(buf, n, "%02d:%02d UTC", m / 60, m % 60);
}

void det_alert_fill(anomaly *a, const char *sensor_id, const char *metric, anomaly_type type,
                    const det_pending *p)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->sensor_id, sizeof(a->sensor_id), "%s", sensor_id);
    snprintf(a->metric, sizeof(a->metric), "%s", metric);
    a->ts = p->ts;
    a->value = p->value;
    a->score = p->score < 0 ? 0 : p->score > 1 ? 1 : p->score;
    a->type = type;
    a->expected_low = p->expected - 3.0 * p->sd;
    a->expected_high = p->expected + 3.0 * p->sd;
    a->model_version = p->version;
}

/* Which feature isolated the reading and after how many splits. */
static void isolation_words(const det_engine *e, const det_model *md, const det_pending *p,
                            char *buf, size_t n)
{
    double contrib[IFOREST_MAX_DIM], splits = 0, normal = 0;
    if (!md->forest) {
        buf[0] = 0;
        return;
    }
    iforest_explain(md->forest, p->vec, contrib, &splits, &normal);
    int best = 0;
    for (int j = 1; j < e->dim; j++)
        if (contrib[j] > contrib[best])
            best = j;
    snprintf(buf, n, "; isolated after %.1f splits where normal readings need %.1f, mostly by %s",
             splits, normal, feature_words(best));
}

void det_explain_point(const det_engine *e, const det_model *md, anomaly *a, const det_pending *p,
                       const char *extra)
{
    const char *unit = md->unit;
    char v[32], lo[32], hi[32], at[32], iso[160];
    det_num(v, sizeof(v), p->value);
    det_num(lo, sizeof(lo), a->expected_low);
    det_num(hi, sizeof(hi), a->expected_high);
    hhmm(at, sizeof(at), p->ts);
    isolation_words(e, md, p, iso, sizeof(iso));
    const char *dir = p->value > p->expected ? "above" : "below";
    say(a, "%s %s%s%s is far %s this sensor's usual %s-%s%s%s at %s%s%s", a->metric, v,
        *unit ? " " : "", unit, dir, lo, hi, *unit ? " " : "", unit, at, iso, extra ? extra : "");
}

void det_explain_context(const det_engine *e, const det_model *md, anomaly *a, const det_pending *p)
{
    const char *unit = md->unit;
    const char *sp = *unit ? " " : "";
    char v[32], lo[32], hi[32], dlo[32], dhi[32], at[32], iso[160];
    det_num(v, sizeof(v), p->value);
    det_num(lo, sizeof(lo), a->expected_low);
    det_num(hi, sizeof(hi), a->expected_high);
    det_num(dlo, sizeof(dlo), p->day_lo);
    det_num(dhi, sizeof(dhi), p->day_hi);
    hhmm(at, sizeof(at), p->ts);
    isolation_words(e, md, p, iso, sizeof(iso));
    say(a,
        "%s %s%s%s would be ordinary at another time (this sensor ranges %s-%s%s%s over "
        "the day) but not at %s, when %s-%s%s%s is expected%s",
        a->metric, v, sp, unit, dlo, dhi, sp, unit, at, lo, hi, sp, unit, iso);
}

void det_explain_change_start(const det_engine *e, const det_model *md, anomaly *a,
                              const det_pending *p, int change)
{
    const char *unit = md->unit;
    const char *sp = *unit ? " " : "";
    char d[32], ex[32], at[32], iso[160];
    det_num(d, sizeof(d), fabs(p->value - p->expected));
    det_num(ex, sizeof(ex), p->expected);
    hhmm(at, sizeof(at), p->ts);
    isolation_words(e, md, p, iso, sizeof(iso));
    if (change == CH_SPREAD) {
        double ratio = exp2(p->vec[TSFEATURE_SPREAD] + 1.0);
        say(a,
            "%s became erratic at %s: its noise is about %.0fx the usual variance around "
            "the expected %s%s%s (change started)%s",
            a->metric, at, ratio, ex, sp, unit, iso);
    } else {
        say(a,
            "%s shifted %s by %s%s%s from the expected %s%s%s and stays there (change "
            "started at %s)%s",
            a->metric, p->value > p->expected ? "up" : "down", d, sp, unit, ex, sp, unit, at, iso);
    }
}

void det_explain_change_end(anomaly *a, const char *unit, const det_pending *p, double start_ts,
                            int settled)
{
    const char *sp = *unit ? " " : "";
    char lo[32], hi[32], at[32];
    det_num(lo, sizeof(lo), a->expected_low);
    det_num(hi, sizeof(hi), a->expected_high);
    hhmm(at, sizeof(at), start_ts);
    double hours = (p->ts - start_ts) / 3600.0;
    if (settled)
        say(a,
            "%s change that began at %s has lasted %.1f h: accepted as the new normal, "
            "this sensor is being re-learned " DET_END_MARK,
            a->metric, at, hours);
    else
        say(a,
            "%s change that began at %s ended after %.1f h: readings are back within the "
            "expected %s-%s%s%s " DET_END_MARK,
            a->metric, at, hours, lo, hi, sp, unit);
}

void det_explain_shape(anomaly *a, const char *unit, const det_shape_params *sp,
                       const det_shape_info *si)
{
    char v[32], at[32];
    det_num(v, sizeof(v), a->value);
    hhmm(at, sizeof(at), a->ts);
    say(a,
        "%s %s%s%s at %s ends a run of %d readings shaped like nothing in this sensor's "
        "previous %d: the nearest earlier run is %.1fx its usual spread away, %.1f sd "
        "beyond how far runs usually are",
        a->metric, v, *unit ? " " : "", unit, at, sp->window, sp->history, si->raw, si->z);
}

void det_explain_stuck(anomaly *a, const char *unit, unsigned run, unsigned usual)
{
    char v[32];
    det_num(v, sizeof(v), a->value);
    say(a,
        "%s has been stuck at %s%s%s for %u readings; this sensor's value "
        "normally changes at least every %u readings",
        a->metric, v, *unit ? " " : "", unit, run, usual);
}

void det_explain_dropout(anomaly *a, unsigned present)
{
    say(a,
        "%s is missing from this reading although the sensor sent it in each of "
        "its previous %u readings (value shown is the last one received)",
        a->metric, present);
}
