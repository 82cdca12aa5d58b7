/*
 * det_multi — per-sensor multivariate state (det_multi.h): the T² math,
 * and the engine's per-row hook det_multi_row (det_internal.h), which
 * turns a multivariate alarm into in_alarm on the sensor's streams and one
 * change_point alert at its start and one at its end.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "det_internal.h"
#include "det_multi.h"

#define TRI(i, j) ((i) * ((i) + 1) / 2 + (j))

void det_multi_init(det_multi *m, int k)
{
    memset(m, 0, sizeof(*m));
    if (k >= 2 && k <= DET_MULTI_MAX)
        m->k = (uint8_t)k;
}

double det_multi_chi2(int k, double p)
{
    /* Standard normal quantiles of the supported p. */
    double zq = p >= 0.9999  ? 3.7190
                : p >= 0.999 ? 3.0902
                : p >= 0.995 ? 2.5758
                : p >= 0.99  ? 2.3263
                : p >= 0.95  ? 1.6449
                             : 1.2816;
    double a = 2.0 / (9.0 * k);
    double c = 1.0 - a + zq * sqrt(a);
    return k * c * c * c;
}

/* Cholesky factor L (lower, row-major k x k) of the covariance plus ridge.
 * Returns 0, or -1 when not positive definite. */
static int factor(const det_multi *m, double *L)
{
    int k = m->k;
    for (int i = 0; i < k; i++)
        for (int j = 0; j <= i; j++) {
            double s = m->cov[TRI(i, j)] + (i == j ? DET_MULTI_RIDGE : 0.0);
            for (int t = 0; t < j; t++)
                s -= L[i * k + t] * L[j * k + t];
            if (i == j) {
                if (!(s > 0))
                    return -1;
                L[i * k + i] = sqrt(s);
            } else {
                L[i * k + j] = s / L[j * k + j];
            }
        }
    return 0;
}

double det_multi_t2(const det_multi *m, const double *z, double *contrib)
{
    int k = m->k;
    double L[DET_MULTI_MAX * DET_MULTI_MAX], d[DET_MULTI_MAX], y[DET_MULTI_MAX], x[DET_MULTI_MAX];
    if (k < 2 || factor(m, L) != 0)
        return -1;
    for (int i = 0; i < k; i++)
        d[i] = z ? z[i] - m->mean[i] : m->ew[i];
    for (int i = 0; i < k; i++) { /* L y = d */
        double s = d[i];
        for (int t = 0; t < i; t++)
            s -= L[i * k + t] * y[t];
        y[i] = s / L[i * k + i];
    }
    for (int i = k - 1; i >= 0; i--) { /* L' x = y: x = S^-1 d */
        double s = y[i];
        for (int t = i + 1; t < k; t++)
            s -= L[t * k + i] * x[t];
        x[i] = s / L[i * k + i];
    }
    double t2 = 0;
    for (int i = 0; i < k; i++) {
        t2 += d[i] * x[i];
        if (contrib)
            contrib[i] = d[i] * x[i];
    }
    return t2;
}

/* The expected vector now: level + slope (Brown's double smoothing; the
 * slope lets a metric that drifts, a warming motor, drift). */
static double expect(const det_multi *m, int i, double a)
{
    double s1 = m->mean[i], s2 = m->s2[i];
    if (a >= 1.0)
        return s1;
    return 2 * s1 - s2 + a / (1 - a) * (s1 - s2);
}

static double rate(const det_multi *m, uint32_t horizon)
{
    uint32_t n = m->n + 1;
    return n < horizon ? 1.0 / n : 1.0 / horizon;
}

void det_multi_learn(det_multi *m, const double *z, double w)
{
    int k = m->k;
    if (k < 2)
        return;
    m->n++;
    double a = m->n < DET_MULTI_HORIZON ? 1.0 / m->n : 1.0 / DET_MULTI_HORIZON;
    double at = rate(m, DET_MULTI_TREND) * w;
    a *= w;
    for (int i = 0; i < k; i++) {
        double s1 = m->mean[i] + at * (z[i] - m->mean[i]);
        m->mean[i] = (float)s1;
        m->s2[i] = m->n == 1 ? (float)s1 : (float)(m->s2[i] + at * (s1 - m->s2[i]));
    }
    for (int i = 0; i < k; i++)
        for (int j = 0; j <= i; j++)
            m->cov[TRI(i, j)] =
                (float)(m->cov[TRI(i, j)] + a * ((double)m->ew[i] * m->ew[j] - m->cov[TRI(i, j)]));
}

/* A row not learned: the level follows its trend. */
static void coast(det_multi *m)
{
    double at = rate(m, DET_MULTI_TREND);
    for (int i = 0; i < m->k; i++) {
        double f = expect(m, i, at);
        double s1 = m->mean[i] + at * (f - m->mean[i]);
        m->mean[i] = (float)s1;
        m->s2[i] = (float)(m->s2[i] + at * (s1 - m->s2[i]));
    }
}

/* Move the smoothed deviation by one row. */
static void smooth(det_multi *m, const double *z)
{
    const double lam = DET_MULTI_LAMBDA;
    for (int i = 0; i < m->k; i++)
        m->ew[i] =
            (float)((1.0 - lam) * m->ew[i] + lam * (z[i] - expect(m, i, rate(m, DET_MULTI_TREND))));
}

int det_multi_step(det_multi *m, const double *z, int may_learn, uint32_t warm, double *t2,
                   double *contrib)
{
    *t2 = -1;
    if (m->k < 2)
        return DET_MULTI_NONE;
    smooth(m, z);
    if (m->n < warm) {
        if (may_learn)
            det_multi_learn(m, z, 1.0);
        return DET_MULTI_NONE;
    }
    int learned = 0;
    /* MEWMA (Lowry et al. 1992): T² of the exponentially weighted average
     * of the deviations, against that average's own learned covariance;
     * small shifts of several metrics add up over ~2/lambda rows. */
    double t = det_multi_t2(m, NULL, contrib);
    *t2 = t;
    if (t < 0)
        return DET_MULTI_NONE;
    double hi = det_multi_chi2(m->k, DET_MULTI_P_ENTER),
           lo = det_multi_chi2(m->k, DET_MULTI_P_LEAVE);
    int ev = DET_MULTI_NONE;
    if (!m->alarm) {
        m->above = t > hi ? (uint8_t)(m->above + 1) : 0;
        if (m->above >= DET_MULTI_PERSIST) {
            m->alarm = 1;
            m->above = m->below = 0;
            ev = DET_MULTI_ENTER;
        } else if (may_learn && m->above == 0) {
            det_multi_learn(m, z, t > lo ? lo / t : 1.0);
            learned = 1;
        }
    } else {
        m->below = t < lo ? (uint8_t)(m->below + 1) : 0;
        if (m->below >= DET_MULTI_PERSIST) {
            m->alarm = 0;
            m->above = m->below = 0;
            ev = DET_MULTI_LEAVE;
        }
    }
    if (!learned)
        coast(m);
    return ev;
}

/* ---- the engine's hook ------------------------------------------------- */

/* The two metrics contributing most to T² (b = -1 when one dominates). */
static void top_two(const double *contrib, int k, int *a, int *b)
{
    *a = 0;
    *b = -1;
    for (int i = 1; i < k; i++)
        if (contrib[i] > contrib[*a])
            *a = i;
    for (int i = 0; i < k; i++)
        if (i != *a && (*b < 0 || contrib[i] > contrib[*b]))
            *b = i;
    double tot = 0;
    for (int i = 0; i < k; i++)
        tot += contrib[i] > 0 ? contrib[i] : 0;
    if (*b >= 0 && (contrib[*b] <= 0 || contrib[*a] >= 0.7 * tot))
        *b = -1;
}

static void multi_alert(det_engine *e, det_sensor *s, const det_multi_obs *ob,
                        const double *contrib, double t2, int ev, double ts, det_sink *out)
{
    det_multi *m = &s->multi;
    int a, b;
    top_two(contrib, m->k, &a, &b);
    const det_model *ma = &e->models[s->streams[a].model];
    double hi = det_multi_chi2(m->k, DET_MULTI_P_ENTER);
    det_pending p = {.ts = ts,
                     .value = ob[a].x,
                     .score = t2 > hi ? 1.0 - 0.5 * hi / t2 : 0.5,
                     .expected = ob[a].expected,
                     .sd = ob[a].sd,
                     .version = ma->version};
    anomaly al;
    det_alert_fill(&al, s->id, ma->metric, ANOMALY_CHANGE_POINT, &p);
    char t2s[32], his[32];
    det_num(t2s, sizeof(t2s), t2);
    det_num(his, sizeof(his), hi);
    if (ev == DET_MULTI_LEAVE) {
        snprintf(al.explanation, sizeof(al.explanation),
                 "The %d metrics of this sensor are back in their usual relation to each "
                 "other (change ended)",
                 m->k);
    } else if (b >= 0) {
        snprintf(al.explanation, sizeof(al.explanation),
                 "%s and %s moved together away from their usual relation to this sensor's "
                 "other metrics for %d readings (multivariate distance T2 %s, usual below %s)",
                 ma->metric, e->models[s->streams[b].model].metric, DET_MULTI_PERSIST, t2s, his);
    } else {
        snprintf(al.explanation, sizeof(al.explanation),
                 "%s moved away from its usual relation to this sensor's other metrics for %d "
                 "readings (multivariate distance T2 %s, usual below %s)",
                 ma->metric, DET_MULTI_PERSIST, t2s, his);
    }
    det_emit(e, out, &al);
}

void det_multi_row(det_engine *e, det_sensor *s, const reading *r, const det_multi_obs *ob,
                   det_result *res, det_sink *out)
{
    det_multi *m = &s->multi;
    uint32_t ns = s->nstreams;
    if (ns < 2 || ns > DET_MULTI_MAX)
        return;
    if (m->k != ns)
        det_multi_init(m, (int)ns); /* a metric appeared: learn the relation anew */
    double z[DET_MULTI_MAX], contrib[DET_MULTI_MAX];
    int any_alarm = 0, mode = 1;
    uint32_t half = (uint32_t)e->cfg.warmup / 2;
    for (uint32_t k = 0; k < ns; k++) {
        if (!ob[k].have || s->streams[k].learned < half)
            return; /* a metric missing or still learning: no judgement */
        any_alarm |= s->streams[k].alarm;
        mode &= ob[k].phase;
    }
    /* In a stream's first day its expectation is a plain running mean of
     * the current half hour, which a fault soon joins: the vector is then
     * the values themselves (in fixed units of each stream's spread; T² is
     * the same in any units). With daily profiles: their residuals. */
    if (m->mode != mode && !m->alarm) {
        det_multi_init(m, (int)ns);
        m->mode = (uint8_t)mode;
    }
    if (m->n == 0 && !mode)
        for (uint32_t k = 0; k < ns; k++) {
            m->ref[k] = (float)ob[k].expected;
            m->scale[k] = ob[k].sd > 0 ? (float)ob[k].sd : 1.0f;
        }
    for (uint32_t k = 0; k < ns; k++)
        z[k] = m->mode ? ob[k].z : (ob[k].x - m->ref[k]) / m->scale[k];
    uint32_t warm = (uint32_t)e->cfg.warmup > 10u * ns ? (uint32_t)e->cfg.warmup : 10u * ns;
    if (any_alarm && !m->alarm) {
        /* A stream's own event is reported by it: one event, one alert.
         * The state neither learns nor judges, and its average restarts. */
        memset(m->ew, 0, sizeof(m->ew));
        m->above = 0;
        return;
    }
    double t2;
    int was = m->alarm;
    int ev = det_multi_step(m, z, !any_alarm, warm, &t2, contrib);
    if (ev == DET_MULTI_ENTER)
        m->start_ts = r->ts;
    if (m->alarm && r->ts - m->start_ts > e->cfg.change_max_s) {
        /* Lasting longer than a change may: the new relation is normal. */
        det_multi_init(m, (int)ns);
        ev = DET_MULTI_NONE;
        was = 0;
    }
    if (ev == DET_MULTI_ENTER) {
        multi_alert(e, s, ob, contrib, t2, ev, r->ts, out);
    } else if (ev == DET_MULTI_LEAVE) {
        multi_alert(e, s, ob, contrib, t2, ev, r->ts, out);
    }
    if (!m->alarm && !was)
        return;
    /* In alarm (or leaving it on this row): every stream of the sensor. */
    for (uint32_t k = 0; k < ns; k++) {
        det_stream *st = &s->streams[k];
        int a = st->alarm || m->alarm;
        if (res && ob[k].res >= 0) {
            det_result *rk = &res[ob[k].res];
            rk->in_alarm = a;
            rk->flagged |= m->alarm;
            rk->alarm_changed = a != ob[k].prev_alarm;
        }
        st->alarm = (uint8_t)a;
    }
}
