/*
 * sim_gen — see sim_gen.h for the model. The hot path (sim_sensor_next)
 * only does arithmetic on the sensor's own state: no allocation, no locks,
 * so the publisher can drive 10,000 sensors at 100k readings/s on one core.
 */
#include "sim_gen.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errbuf.h"
#include "base/jsonbuf.h"

#define TWO_PI 6.283185307179586
#define DAY_S 86400.0
#define YEAR_DAYS 365.2425
/* Day of year (fractional, from 1 January) at which the seasonal
 * temperature peaks in the northern hemisphere: about four weeks after the
 * solstice, as measured climatologies show. */
#define SEASON_PEAK_DOY 199.5

static const char *const sub_names[SIM_NSUB] = {
    "spike", "drop", "absurd", "stuck", "dropout", "contextual", "level_shift", "drift", "spread"};
static const char *const sub_types[SIM_NSUB] = {"point",        "point",        "point",
                                                "point",        "point",        "contextual",
                                                "change_point", "change_point", "change_point"};

const char *sim_subtype_name(int sub)
{
    return (sub >= 0 && sub < SIM_NSUB) ? sub_names[sub] : "?";
}

const char *sim_subtype_type(int sub)
{
    return (sub >= 0 && sub < SIM_NSUB) ? sub_types[sub] : "?";
}

void sim_anomaly_defaults(sim_anomaly_cfg *cfg)
{
    static const double w[SIM_NSUB] = {3, 2, 1, 1, 1, 2, 2, 1, 1};
    memset(cfg, 0, sizeof *cfg);
    cfg->rate_per_day = 2;
    memcpy(cfg->weights, w, sizeof w);
    cfg->magnitude = 1;
    cfg->warmup_readings = 500;
}

int sim_anomaly_mix_parse(const char *spec, sim_anomaly_cfg *cfg, char *err, size_t errlen)
{
    double w[SIM_NSUB] = {0};
    const char *p = spec;
    int any = 0;
    while (p && *p) {
        while (*p == ',' || *p == ' ')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[64];
        if (len >= sizeof item) {
            errbuf_set(err, errlen, "anomaly mix entry '%.*s' is too long", (int)len, p);
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        double weight = 1;
        char *colon = strchr(item, ':');
        if (colon) {
            *colon = '\0';
            char *e;
            weight = strtod(colon + 1, &e);
            if (e == colon + 1 || *e || !isfinite(weight) || weight < 0) {
                errbuf_set(err, errlen, "anomaly mix entry '%s': weight '%s' is not >= 0", item,
                           colon + 1);
                return -1;
            }
        }
        int matched = 0;
        for (int s = 0; s < SIM_NSUB; s++)
            if (strcmp(item, sub_names[s]) == 0) {
                w[s] += weight;
                matched = 1;
            }
        if (!matched) {
            int nsub = 0;
            for (int s = 0; s < SIM_NSUB; s++)
                nsub += strcmp(item, sub_types[s]) == 0;
            for (int s = 0; s < SIM_NSUB && nsub; s++)
                if (strcmp(item, sub_types[s]) == 0) {
                    w[s] += weight / nsub;
                    matched = 1;
                }
        }
        if (!matched) {
            errbuf_set(err, errlen,
                       "anomaly mix: unknown '%s' (subtypes: spike drop absurd stuck dropout "
                       "contextual level_shift drift spread; types: point contextual change_point)",
                       item);
            return -1;
        }
        any = 1;
        p += len;
    }
    double sum = 0;
    for (int s = 0; s < SIM_NSUB; s++)
        sum += w[s];
    if (!any || sum <= 0) {
        errbuf_set(err, errlen, "anomaly mix '%s' has no positive weight", spec ? spec : "");
        return -1;
    }
    memcpy(cfg->weights, w, sizeof w);
    return 0;
}

int sim_label_encode_json(const sim_label *l, char *buf, size_t cap)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:i, s:f}", "id", l->id, "sensor_id",
                          l->sensor_id, "type", sim_subtype_type(l->subtype), "subtype",
                          sim_subtype_name(l->subtype), "metric", sim_metric_name(l->metric),
                          "start_ts", l->start_ts, "end_ts", l->end_ts, "nsamples", l->nsamples,
                          "magnitude", l->magnitude);
    int rc = jsonbuf_dump(o, buf, cap);
    json_decref(o);
    return rc;
}

double sim_magnus(double t)
{
    /* Alduchov & Eskridge (1996) coefficients, good to 0.4 % for -40..50 degC. */
    return 6.1094 * exp(17.625 * t / (t + 243.04));
}

static double dew_point(double t, double rh)
{
    double g = log(rh / 100.0) + 17.625 * t / (243.04 + t);
    return 243.04 * g / (17.625 - g);
}

/* A site's weather: a few slow sinusoids with random periods of 2.5..12 days
 * and random phases, scaled to unit variance. Deterministic in (seed, site),
 * and evaluable at any t without state, so every sensor of a site agrees on
 * the weather without sharing memory. */
static void weather_init(sim_weather *w, uint64_t seed, const char *site, const char *what)
{
    sim_rng r;
    sim_rng_seed(&r, sim_hash_str(what, sim_hash_str(site, seed)));
    double sum2 = 0;
    for (int k = 0; k < SIM_WEATHER_K; k++) {
        double period_days = sim_rng_range(&r, 2.5, 12.0);
        w->omega[k] = TWO_PI / (period_days * DAY_S);
        w->phase[k] = sim_rng_range(&r, 0, TWO_PI);
        w->amp[k] = sim_rng_range(&r, 0.5, 1.0);
        sum2 += w->amp[k] * w->amp[k] / 2.0;
    }
    double norm = 1.0 / sqrt(sum2);
    for (int k = 0; k < SIM_WEATHER_K; k++)
        w->amp[k] *= norm;
}

static double weather_at(const sim_weather *w, double t)
{
    double v = 0;
    for (int k = 0; k < SIM_WEATHER_K; k++)
        v += w->amp[k] * sin(w->omega[k] * t + w->phase[k]);
    return v;
}

void sim_sensor_init(sim_sensor *s, const sim_profile *p, int index, uint64_t seed, double start_ts,
                     double stop_ts, const sim_anomaly_cfg *acfg)
{
    memset(s, 0, sizeof *s);
    s->p = p;
    s->acfg = acfg;
    snprintf(s->id, sizeof s->id, "%s-%04d", p->id_prefix, index);
    sim_rng_seed(&s->rng, sim_hash_str(s->id, seed));
    sim_rng_seed(&s->erng, sim_hash_str(s->id, seed ^ 0x5a17a5a17a5a17a5ULL));
    double interval = p->interval_s;
    s->t0 = start_ts + floor(sim_rng_uniform(&s->rng) * interval);
    s->stop_ts = stop_ts;
    /* Unit-to-unit calibration spread: two sensors of one model never agree exactly. */
    static const double offset_std[SIM_NMETRICS] = {0.2, 1.0, 0.3};
    for (int m = 0; m < SIM_NMETRICS; m++) {
        const sim_metric_params *mp = &p->m[m];
        /* Exact discretisation of an OU process with stationary std `noise`:
         * x' = phi x + noise sqrt(1 - phi^2) N(0,1), phi = exp(-dt / tau). */
        s->phi[m] = exp(-interval / mp->noise_tau_s);
        s->innov[m] = mp->noise * sqrt(1.0 - s->phi[m] * s->phi[m]);
        s->ou[m] = mp->noise * sim_rng_normal(&s->rng);
        s->offset[m] = offset_std[m] * sim_rng_normal(&s->rng);
    }
    s->cycle_phase =
        sim_rng_uniform(&s->rng) *
        (p->m[SIM_TEMPERATURE].cycle_period_s > 0 ? p->m[SIM_TEMPERATURE].cycle_period_s : 1.0);
    s->dew0 = dew_point(p->m[SIM_TEMPERATURE].base, p->m[SIM_HUMIDITY].base);
    weather_init(&s->wx_temp, seed, p->site, "temperature");
    weather_init(&s->wx_pres, seed, p->site, "pressure");
    if (acfg && acfg->rate_per_day > 0)
        s->next_event_ts = s->t0 + (double)acfg->warmup_readings * interval +
                           sim_rng_exp(&s->erng, DAY_S / acfg->rate_per_day);
    else
        s->next_event_ts = INFINITY;
}

void sim_sensor_clean(const sim_sensor *s, double t, double out[SIM_NMETRICS])
{
    const sim_profile *p = s->p;
    const sim_metric_params *mt = &p->m[SIM_TEMPERATURE], *mh = &p->m[SIM_HUMIDITY],
                            *mp = &p->m[SIM_PRESSURE];
    double local_h = fmod(t / 3600.0 + p->utc_offset_h + 48.0, 24.0);
    double season = cos(TWO_PI * (t / DAY_S - SEASON_PEAK_DOY) / YEAR_DAYS);
    if (p->latitude < 0)
        season = -season;
    double daily = cos(TWO_PI * (local_h - mt->peak_hour) / 24.0);

    double slow = mt->seasonal_amp * season;
    if (mt->weather_std > 0)
        slow += mt->weather_std * weather_at(&s->wx_temp, t);
    double temp = mt->base + slow + mt->daily_amp * daily;
    if (mt->cycle_amp > 0 && mt->cycle_period_s > 0) {
        /* Control cycle: the temperature creeps up for 80 % of the period,
         * then the compressor/HVAC pulls it down in the remaining 20 %. */
        double f = fmod(t + s->cycle_phase, mt->cycle_period_s) / mt->cycle_period_s;
        double saw = f < 0.8 ? -1.0 + 2.0 * f / 0.8 : 1.0 - 2.0 * (f - 0.8) / 0.2;
        temp += mt->cycle_amp * saw;
    }
    /* The dew point (absolute moisture) follows slow temperature changes
     * partly (`follow`) and has its own seasonal swing, but not the daily
     * cycle: hence RH falls in the afternoon as the air warms. */
    double dew = s->dew0 + mh->follow * slow + mh->seasonal_amp * season;
    if (dew > temp)
        dew = temp;
    double rh = 100.0 * sim_magnus(dew) / sim_magnus(temp);

    double pres = mp->base + mp->daily_amp * cos(TWO_PI * (local_h - 10.0) / 12.0);
    if (mp->weather_std > 0)
        pres += mp->weather_std * weather_at(&s->wx_pres, t);

    out[SIM_TEMPERATURE] = temp + s->offset[SIM_TEMPERATURE];
    out[SIM_HUMIDITY] = rh + s->offset[SIM_HUMIDITY];
    out[SIM_PRESSURE] = pres + s->offset[SIM_PRESSURE];
}

static double quantise(double v, double res)
{
    return res > 0 ? round(v / res) * res : v;
}

static double clamp_metric(int m, double v)
{
    if (m == SIM_HUMIDITY)
        return v < 0 ? 0 : v > 100 ? 100 : v;
    return v;
}

static int pick_subtype(sim_sensor *s)
{
    double sum = 0;
    for (int i = 0; i < SIM_NSUB; i++)
        sum += s->acfg->weights[i];
    double u = sim_rng_uniform(&s->erng) * sum;
    for (int i = 0; i < SIM_NSUB; i++) {
        if (u < s->acfg->weights[i])
            return i;
        u -= s->acfg->weights[i];
    }
    return SIM_SUB_SPIKE;
}

/* Number of readings in `dur_s` seconds, at least `min`, cut at the run's end. */
static long span_samples(const sim_sensor *s, double t, double dur_s, long min)
{
    double interval = s->p->interval_s;
    long n = (long)llround(dur_s / interval);
    if (n < min)
        n = min;
    if (isfinite(s->stop_ts)) {
        long left = (long)ceil((s->stop_ts - t) / interval);
        if (left < 1)
            left = 1;
        if (n > left)
            n = left;
    }
    return n;
}

static void event_start(sim_sensor *s, double t, const double normal[SIM_NMETRICS])
{
    sim_label *ev = &s->ev;
    int sub = pick_subtype(s);
    double u = sim_rng_uniform(&s->erng);
    int m = u < 0.5 ? SIM_TEMPERATURE : u < 0.75 ? SIM_HUMIDITY : SIM_PRESSURE;
    double scale = s->p->m[m].anomaly_scale * s->acfg->magnitude;
    double sign = sim_rng_uniform(&s->erng) < 0.5 ? -1.0 : 1.0;
    long n = 1;
    double mag = 0;

    if (sub == SIM_SUB_CONTEXTUAL) {
        /* Another hour (12 h away) or another season (half a year away):
         * whichever differs more from now for this metric. Pressure has
         * no useful context, so it borrows temperature. */
        if (m == SIM_PRESSURE)
            m = SIM_TEMPERATURE;
        scale = s->p->m[m].anomaly_scale * s->acfg->magnitude;
        n = span_samples(s, t, sim_rng_range(&s->erng, 1, 6) * 3600.0, 3);
        double mid = t + (double)(n - 1) / 2.0 * s->p->interval_s;
        double now[SIM_NMETRICS], a[SIM_NMETRICS], b[SIM_NMETRICS];
        double shift_a = 12 * 3600.0, shift_b = YEAR_DAYS / 2 * DAY_S;
        sim_sensor_clean(s, mid, now);
        sim_sensor_clean(s, mid + shift_a, a);
        sim_sensor_clean(s, mid + shift_b, b);
        double da = a[m] - now[m], db = b[m] - now[m];
        s->ev_shift = fabs(da) >= fabs(db) ? shift_a : shift_b;
        mag = fabs(da) >= fabs(db) ? da : db;
        if (fabs(mag) < 0.5 * scale) /* this sensor's context barely changes */
            sub = SIM_SUB_LEVEL_SHIFT;
    }
    switch (sub) {
    case SIM_SUB_SPIKE:
    case SIM_SUB_DROP:
        mag = sim_rng_range(&s->erng, 1.0, 2.0) * scale * (sub == SIM_SUB_SPIKE ? 1 : -1);
        if (m == SIM_HUMIDITY && (normal[m] + mag > 100 || normal[m] + mag < 0)) {
            mag = -mag; /* RH cannot leave 0..100 except for "absurd" */
            sub = sub == SIM_SUB_SPIKE ? SIM_SUB_DROP : SIM_SUB_SPIKE;
        }
        break;
    case SIM_SUB_ABSURD: {
        static const double hi[SIM_NMETRICS] = {1000.0, 150.0, 3000.0};
        static const double lo[SIM_NMETRICS] = {-200.0, -20.0, 0.0};
        s->ev_hold = sign > 0 ? hi[m] : lo[m];
        mag = s->ev_hold - normal[m];
        break;
    }
    case SIM_SUB_STUCK:
        n = span_samples(s, t, (10 + (double)(sim_rng_next(&s->erng) % 51)) * s->p->interval_s, 2);
        s->ev_hold = normal[m];
        break;
    case SIM_SUB_DROPOUT:
        break;
    case SIM_SUB_CONTEXTUAL:
        break; /* n and mag set above */
    case SIM_SUB_LEVEL_SHIFT:
    case SIM_SUB_DRIFT:
        if (sub == SIM_SUB_LEVEL_SHIFT) {
            n = span_samples(s, t, sim_rng_range(&s->erng, 2, 8) * 3600.0, 2);
            mag = sign * sim_rng_range(&s->erng, 0.8, 1.5) * scale;
        } else {
            n = span_samples(s, t, sim_rng_range(&s->erng, 3, 12) * 3600.0, 2);
            mag = sign * sim_rng_range(&s->erng, 1.0, 2.0) * scale;
        }
        if (m == SIM_HUMIDITY && (normal[m] + mag > 100 || normal[m] + mag < 0))
            mag = -mag;
        break;
    case SIM_SUB_SPREAD:
        n = span_samples(s, t, sim_rng_range(&s->erng, 2, 8) * 3600.0, 2);
        mag = sim_rng_range(&s->erng, 0.3, 0.6) * scale;
        break;
    }
    memset(ev, 0, sizeof *ev);
    snprintf(ev->id, sizeof ev->id, "%s-e%05u", s->id, ++s->seq);
    memcpy(ev->sensor_id, s->id, sizeof ev->sensor_id);
    ev->subtype = sub;
    ev->metric = m;
    ev->start_ts = t;
    ev->end_ts = t + (double)(n - 1) * s->p->interval_s;
    ev->nsamples = (int)n;
    ev->magnitude = mag;
    s->ev_active = 1;
    s->ev_i = 0;
}

/* Value of the event's metric at reading ev_i; returns 0 for a dropout. */
static int event_apply(sim_sensor *s, double t, const double normal[SIM_NMETRICS], double *v)
{
    const sim_label *ev = &s->ev;
    int m = ev->metric;
    long i = s->ev_i, n = ev->nsamples;
    double res = s->p->m[m].resolution;
    switch (ev->subtype) {
    case SIM_SUB_SPIKE:
    case SIM_SUB_DROP:
    case SIM_SUB_LEVEL_SHIFT:
        *v = clamp_metric(m, quantise(normal[m] + ev->magnitude, res));
        return 1;
    case SIM_SUB_ABSURD:
    case SIM_SUB_STUCK:
        *v = s->ev_hold;
        return 1;
    case SIM_SUB_DROPOUT:
        return 0;
    case SIM_SUB_DRIFT:
        *v =
            clamp_metric(m, quantise(normal[m] + ev->magnitude * (double)(i + 1) / (double)n, res));
        return 1;
    case SIM_SUB_SPREAD:
        *v = clamp_metric(m, quantise(normal[m] + ev->magnitude * sim_rng_normal(&s->erng), res));
        return 1;
    case SIM_SUB_CONTEXTUAL: {
        /* Blend in and out over a quarter of the span each (smoothstep), so
         * the value never jumps: only its timing is wrong. */
        double ramp = (double)n / 4.0 < 1.0 ? 1.0 : (double)n / 4.0;
        double x = fmin(fmin((double)(i + 1) / ramp, (double)(n - i) / ramp), 1.0);
        double w = x * x * (3.0 - 2.0 * x);
        double now[SIM_NMETRICS], other[SIM_NMETRICS];
        sim_sensor_clean(s, t, now);
        sim_sensor_clean(s, t + s->ev_shift, other);
        *v = clamp_metric(m, quantise(normal[m] + w * (other[m] - now[m]), res));
        return 1;
    }
    }
    *v = normal[m];
    return 1;
}

int sim_sensor_next(sim_sensor *s, sim_sample *out)
{
    double t = sim_sensor_next_ts(s);
    if (t >= s->stop_ts)
        return 1;
    double c[SIM_NMETRICS], v[SIM_NMETRICS];
    int present[SIM_NMETRICS] = {1, 1, 1};
    sim_sensor_clean(s, t, c);
    for (int m = 0; m < SIM_NMETRICS; m++) {
        s->ou[m] = s->phi[m] * s->ou[m] + s->innov[m] * sim_rng_normal(&s->rng);
        out->normal[m] = clamp_metric(m, quantise(c[m] + s->ou[m], s->p->m[m].resolution));
        v[m] = out->normal[m];
    }
    out->new_label = 0;
    out->event_metric = -1;
    if (!s->ev_active && t >= s->next_event_ts && s->acfg) {
        event_start(s, t, out->normal);
        out->new_label = 1;
    }
    if (s->ev_active) {
        int m = s->ev.metric;
        present[m] = event_apply(s, t, out->normal, &v[m]);
        out->event_metric = m;
        out->label = s->ev;
        if (++s->ev_i >= s->ev.nsamples) {
            s->ev_active = 0;
            s->next_event_ts = s->ev.end_ts + s->p->interval_s +
                               sim_rng_exp(&s->erng, DAY_S / s->acfg->rate_per_day);
        }
    }
    reading *r = &out->r;
    memcpy(r->sensor_id, s->id, sizeof r->sensor_id);
    r->ts = t;
    r->n = 0;
    for (int m = 0; m < SIM_NMETRICS; m++) {
        if (!present[m])
            continue;
        const char *name = sim_metric_name(m);
        memcpy(r->m[r->n].name, name, strlen(name) + 1);
        r->m[r->n].value = v[m];
        r->n++;
    }
    s->count++;
    return 0;
}
