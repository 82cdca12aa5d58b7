/* Unit tests for the simulator's generators (services/simulator/sim_gen,
 * sim_fleet, sim_rng): reproducibility, the shape of the signals (daily
 * period and amplitude, seasons, humidity coupling, shared weather) and the
 * exactness of the injected anomalies' labels. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simulator/sim_fleet.h"
#include "simulator/sim_gen.h"
#include "simulator/sim_profile.h"
#include "simulator/sim_rng.h"

#define DAY 86400.0
#define T_2025_01_01 1735689600.0
#define T_2025_01_15 (T_2025_01_01 + 14 * DAY)
#define T_2025_07_15 (T_2025_01_01 + 195 * DAY)

/* A profile set from inline JSON; fails the test on a parse error. */
static void load(sim_profile_set *set, const char *json)
{
    char err[256] = "";
    int rc = sim_profiles_parse(json, strlen(json), set, err, sizeof err);
    if (rc != 0)
        fail_msg("profile parse failed: %s", err);
}

/* Pure daily cycle: no noise, no weather, no seasons, no rounding. */
static const char *clean_daily =
    "{\"profiles\":[{\"name\":\"lab\",\"interval_s\":60,\"utc_offset_h\":2,"
    "\"temperature\":{\"base\":20,\"daily_amp\":3,\"peak_hour\":15,\"noise\":0,\"resolution\":0},"
    "\"humidity\":{\"base\":50,\"follow\":0,\"noise\":0,\"resolution\":0},"
    "\"pressure\":{\"base\":1000,\"weather_std\":0,\"daily_amp\":0,\"noise\":0,\"resolution\":0}}]"
    "}";

static double metric(const reading *r, const char *name)
{
    int i = reading_find(r, name);
    return i < 0 ? NAN : r->m[i].value;
}

static void test_rng_deterministic(void **state)
{
    (void)state;
    sim_rng a, b;
    sim_rng_seed(&a, 42);
    sim_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++)
        assert_true(sim_rng_next(&a) == sim_rng_next(&b));
    /* Normal deviates: mean ~0, variance ~1 over 200k draws. */
    double s = 0, s2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = sim_rng_normal(&a);
        s += x;
        s2 += x * x;
    }
    assert_true(fabs(s / n) < 0.01);
    assert_true(fabs(s2 / n - 1.0) < 0.02);
    assert_true(sim_hash_str("office-0001", 1) != sim_hash_str("office-0002", 1));
    assert_true(sim_hash_str("office-0001", 1) != sim_hash_str("office-0001", 2));
}

/* Same seed: the same readings and labels, bit for bit; another seed differs. */
static void run_fleet(const sim_profile_set *set, const char *spec, uint64_t seed, int n,
                      const sim_anomaly_cfg *acfg, sim_sample *out)
{
    sim_fleet_entry e[8];
    char err[128];
    int ne = sim_fleet_parse(spec, set, e, 8, err, sizeof err);
    assert_true(ne > 0);
    sim_fleet f;
    assert_int_equal(sim_fleet_init(&f, set, e, ne, seed, T_2025_01_01, INFINITY, acfg), 0);
    for (int i = 0; i < n; i++)
        assert_true(sim_fleet_next(&f, &out[i]) >= 0);
    sim_fleet_free(&f);
}

static void test_seeded_reproducible(void **state)
{
    (void)state;
    sim_profile_set set;
    char err[256];
    assert_int_equal(sim_profiles_load("services/simulator/profiles.json", &set, err, sizeof err),
                     0);
    sim_anomaly_cfg acfg;
    sim_anomaly_defaults(&acfg);
    acfg.rate_per_day = 50;
    acfg.warmup_readings = 0;
    int n = 20000;
    sim_sample *a = calloc((size_t)n, sizeof *a), *b = calloc((size_t)n, sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    run_fleet(&set, set.fleet, 7, n, &acfg, a);
    run_fleet(&set, set.fleet, 7, n, &acfg, b);
    int labels = 0;
    for (int i = 0; i < n; i++) {
        assert_string_equal(a[i].r.sensor_id, b[i].r.sensor_id);
        assert_true(a[i].r.ts == b[i].r.ts);
        assert_int_equal(a[i].r.n, b[i].r.n);
        for (int k = 0; k < a[i].r.n; k++)
            assert_true(a[i].r.m[k].value == b[i].r.m[k].value);
        assert_int_equal(a[i].new_label, b[i].new_label);
        if (a[i].new_label) {
            labels++;
            assert_memory_equal(&a[i].label, &b[i].label, sizeof a[i].label);
        }
        if (i > 0) /* time order */
            assert_true(a[i].r.ts >= a[i - 1].r.ts);
    }
    assert_true(labels > 10);
    /* Another seed: other values. */
    run_fleet(&set, set.fleet, 8, n, &acfg, b);
    int diff = 0;
    for (int i = 0; i < n; i++)
        diff += a[i].r.ts != b[i].r.ts ||
                metric(&a[i].r, "temperature") != metric(&b[i].r, "temperature");
    assert_true(diff > n / 2);
    free(a);
    free(b);
    sim_profiles_free(&set);
}

/* A sensor's series depends on the seed and its id only, not on its fleet. */
static void test_sensor_independent_of_fleet(void **state)
{
    (void)state;
    sim_profile_set set;
    char err[256];
    assert_int_equal(sim_profiles_load("services/simulator/profiles.json", &set, err, sizeof err),
                     0);
    int po = sim_profiles_find(&set, "office");
    assert_true(po >= 0);
    sim_sensor alone;
    sim_sensor_init(&alone, &set.p[po], 2, 99, T_2025_01_01, INFINITY, NULL);
    assert_string_equal(alone.id, "office-0002");

    sim_fleet_entry e[2];
    int ne = sim_fleet_parse("server_room:3,office:5", &set, e, 2, err, sizeof err);
    assert_int_equal(ne, 2);
    sim_fleet f;
    assert_int_equal(sim_fleet_init(&f, &set, e, ne, 99, T_2025_01_01, INFINITY, NULL), 0);
    sim_sample s1, s2;
    int seen = 0;
    for (int i = 0; i < 8 * 500 && seen < 300; i++) {
        assert_true(sim_fleet_next(&f, &s2) >= 0);
        if (strcmp(s2.r.sensor_id, "office-0002") != 0)
            continue;
        assert_int_equal(sim_sensor_next(&alone, &s1), 0);
        assert_true(s1.r.ts == s2.r.ts);
        for (int k = 0; k < 3; k++)
            assert_true(s1.r.m[k].value == s2.r.m[k].value);
        seen++;
    }
    assert_int_equal(seen, 300);
    sim_fleet_free(&f);
    sim_profiles_free(&set);
}

/* Injecting anomalies does not change the normal signal: outside labelled
 * spans the readings equal those of an anomaly-free run. */
static void test_anomalies_leave_normal_stream(void **state)
{
    (void)state;
    sim_profile_set set;
    char err[256];
    assert_int_equal(sim_profiles_load("services/simulator/profiles.json", &set, err, sizeof err),
                     0);
    int pi = sim_profiles_find(&set, "outdoor_temperate");
    sim_anomaly_cfg acfg;
    sim_anomaly_defaults(&acfg);
    acfg.rate_per_day = 20;
    acfg.warmup_readings = 0;
    sim_sensor a, b;
    sim_sensor_init(&a, &set.p[pi], 1, 5, T_2025_01_01, INFINITY, &acfg);
    sim_sensor_init(&b, &set.p[pi], 1, 5, T_2025_01_01, INFINITY, NULL);
    int abnormal = 0;
    for (int i = 0; i < 20000; i++) {
        sim_sample sa, sb;
        assert_int_equal(sim_sensor_next(&a, &sa), 0);
        assert_int_equal(sim_sensor_next(&b, &sb), 0);
        assert_int_equal(sb.event_metric, -1);
        for (int m = 0; m < SIM_NMETRICS; m++) {
            assert_true(sa.normal[m] == sb.normal[m]);
            double va = metric(&sa.r, sim_metric_name(m));
            double vb = metric(&sb.r, sim_metric_name(m));
            if (m != sa.event_metric)
                assert_true(va == vb);
        }
        abnormal += sa.event_metric >= 0;
    }
    assert_true(abnormal > 100);
    sim_profiles_free(&set);
}

/* The daily cycle has period 24 h, the configured amplitude (half of
 * peak-to-peak) and its maximum at the configured local hour. */
static void test_daily_cycle_period_amplitude(void **state)
{
    (void)state;
    sim_profile_set set;
    load(&set, clean_daily);
    sim_sensor s;
    sim_sensor_init(&s, &set.p[0], 1, 3, T_2025_01_01, INFINITY, NULL);
    int n = 3 * 1440;
    double *v = malloc(sizeof *v * (size_t)n), *ts = malloc(sizeof *ts * (size_t)n);
    assert_non_null(v);
    assert_non_null(ts);
    for (int i = 0; i < n; i++) {
        sim_sample smp;
        assert_int_equal(sim_sensor_next(&s, &smp), 0);
        v[i] = metric(&smp.r, "temperature");
        ts[i] = smp.r.ts;
    }
    /* Period: one day later the same value. */
    for (int i = 0; i < n - 1440; i++)
        assert_true(fabs(v[i] - v[i + 1440]) < 1e-6);
    double lo = 1e9, hi = -1e9, tmax = 0;
    for (int i = 0; i < 1440; i++) {
        if (v[i] > hi) {
            hi = v[i];
            tmax = ts[i];
        }
        lo = fmin(lo, v[i]);
    }
    /* The calibration offset moves the level, not the amplitude. */
    assert_true(fabs((hi - lo) / 2.0 - 3.0) < 0.01);
    double local_h = fmod(tmax / 3600.0 + 2.0, 24.0);
    assert_true(fabs(local_h - 15.0) < 0.05);
    free(v);
    free(ts);
    sim_profiles_free(&set);
}

/* With realistic noise, a least-squares fit of a 24 h sinusoid still
 * recovers the configured amplitude and phase. */
static void test_daily_cycle_fit_with_noise(void **state)
{
    (void)state;
    sim_profile_set set;
    char err[256];
    assert_int_equal(sim_profiles_load("services/simulator/profiles.json", &set, err, sizeof err),
                     0);
    int pi = sim_profiles_find(&set, "office");
    sim_profile p = set.p[pi];
    p.m[SIM_TEMPERATURE].seasonal_amp = 0; /* isolate the daily cycle */
    p.m[SIM_TEMPERATURE].weather_std = 0;
    sim_sensor s;
    sim_sensor_init(&s, &p, 1, 11, T_2025_01_01, INFINITY, NULL);
    double sc = 0, ss = 0, mean = 0;
    int n = 10 * 1440; /* ten days of minutes */
    double *v = malloc(sizeof *v * (size_t)n), *w = malloc(sizeof *w * (size_t)n);
    assert_non_null(v);
    assert_non_null(w);
    for (int i = 0; i < n; i++) {
        sim_sample smp;
        assert_int_equal(sim_sensor_next(&s, &smp), 0);
        v[i] = metric(&smp.r, "temperature");
        w[i] = 2 * M_PI * fmod(smp.r.ts / 3600.0 + p.utc_offset_h, 24.0) / 24.0;
        mean += v[i] / n;
    }
    for (int i = 0; i < n; i++) {
        sc += (v[i] - mean) * cos(w[i]) * 2 / n;
        ss += (v[i] - mean) * sin(w[i]) * 2 / n;
    }
    double amp = hypot(sc, ss);
    double peak_h = fmod(atan2(ss, sc) / (2 * M_PI) * 24.0 + 24.0, 24.0);
    assert_true(fabs(amp - p.m[SIM_TEMPERATURE].daily_amp) < 0.05);
    assert_true(fabs(peak_h - p.m[SIM_TEMPERATURE].peak_hour) < 0.25);
    /* Noise is AR(1), not white: consecutive readings are correlated. */
    double c0 = 0, c1 = 0;
    for (int i = 1; i < n; i++) {
        double r0 = v[i] - mean - sc * cos(w[i]) - ss * sin(w[i]);
        double r1 = v[i - 1] - mean - sc * cos(w[i - 1]) - ss * sin(w[i - 1]);
        c0 += r0 * r0;
        c1 += r0 * r1;
    }
    assert_true(c1 / c0 > 0.8);
    free(v);
    free(w);
    sim_profiles_free(&set);
}

static double day_mean(const sim_profile *p, double start, const char *m)
{
    sim_sensor s;
    sim_sensor_init(&s, p, 1, 1, start, start + DAY, NULL);
    sim_sample smp;
    double sum = 0;
    int n = 0;
    while (sim_sensor_next(&s, &smp) == 0) {
        sum += metric(&smp.r, m);
        n++;
    }
    assert_true(n > 0);
    return sum / n;
}

/* Summer is warmer than winter in the north, colder in the south, by about
 * twice the seasonal amplitude (mid-January vs mid-July are near the extremes). */
static void test_seasons(void **state)
{
    (void)state;
    sim_profile_set set;
    char err[256];
    assert_int_equal(sim_profiles_load("services/simulator/profiles.json", &set, err, sizeof err),
                     0);
    sim_profile north = set.p[sim_profiles_find(&set, "outdoor_temperate")];
    north.m[SIM_TEMPERATURE].weather_std = 0; /* weather would blur a one-day mean */
    sim_profile south = north;
    south.latitude = -north.latitude;
    double amp = north.m[SIM_TEMPERATURE].seasonal_amp;
    double nw = day_mean(&north, T_2025_01_15, "temperature");
    double ns = day_mean(&north, T_2025_07_15, "temperature");
    double sw = day_mean(&south, T_2025_01_15, "temperature");
    double ss = day_mean(&south, T_2025_07_15, "temperature");
    assert_true(ns - nw > 1.8 * amp);
    assert_true(ns - nw < 2.05 * amp);
    assert_true(sw - ss > 1.8 * amp);
    /* The shipped southern profile too. */
    const sim_profile *syd = &set.p[sim_profiles_find(&set, "outdoor_southern")];
    assert_true(day_mean(syd, T_2025_01_15, "temperature") >
                day_mean(syd, T_2025_07_15, "temperature") + 3);
    sim_profiles_free(&set);
}

static double corr(const double *a, const double *b, int n)
{
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
        ma += a[i] / n;
        mb += b[i] / n;
    }
    for (int i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / sqrt(saa * sbb);
}

/* Relative humidity falls as temperature rises (through the dew point). */
static void test_humidity_anticorrelated(void **state)
{
    (void)state;
    sim_profile_set set;
    char err[256];
    assert_int_equal(sim_profiles_load("services/simulator/profiles.json", &set, err, sizeof err),
                     0);
    const char *names[] = {"office", "outdoor_temperate", "outdoor_tropical"};
    for (int k = 0; k < 3; k++) {
        sim_sensor s;
        sim_sensor_init(&s, &set.p[sim_profiles_find(&set, names[k])], 1, 2, T_2025_07_15, INFINITY,
                        NULL);
        int n = 1000;
        double t[1000], h[1000];
        for (int i = 0; i < n; i++) {
            sim_sample smp;
            assert_int_equal(sim_sensor_next(&s, &smp), 0);
            t[i] = metric(&smp.r, "temperature");
            h[i] = metric(&smp.r, "humidity");
            assert_true(h[i] >= 0 && h[i] <= 100);
        }
        double c = corr(t, h, n);
        if (c > -0.7)
            fail_msg("%s: corr(temperature, humidity) = %.3f, expected < -0.7", names[k], c);
    }
    sim_profiles_free(&set);
}

/* Sensors of one site see the same weather systems in pressure; another
 * site's pressure is unrelated. The weather also moves pressure by several
 * hPa over days, as configured. */
static void test_pressure_weather_shared(void **state)
{
    (void)state;
    sim_profile_set set;
    char err[256];
    assert_int_equal(sim_profiles_load("services/simulator/profiles.json", &set, err, sizeof err),
                     0);
    const sim_profile *office = &set.p[sim_profiles_find(&set, "office")];
    const sim_profile *outdoor = &set.p[sim_profiles_find(&set, "outdoor_temperate")];
    const sim_profile *tropical = &set.p[sim_profiles_find(&set, "outdoor_tropical")];
    sim_sensor a, b, c;
    /* Hourly samples over 30 days: copy profiles with interval 3600. */
    sim_profile pa = *office, pb = *outdoor, pc = *tropical;
    pa.interval_s = pb.interval_s = pc.interval_s = 3600;
    sim_sensor_init(&a, &pa, 1, 4, T_2025_01_01, INFINITY, NULL);
    sim_sensor_init(&b, &pb, 1, 4, T_2025_01_01, INFINITY, NULL);
    sim_sensor_init(&c, &pc, 1, 4, T_2025_01_01, INFINITY, NULL);
    int n = 720;
    double pa_v[720], pb_v[720], pc_v[720];
    double lo = 1e9, hi = -1e9;
    for (int i = 0; i < n; i++) {
        sim_sample s1, s2, s3;
        sim_sensor_next(&a, &s1);
        sim_sensor_next(&b, &s2);
        sim_sensor_next(&c, &s3);
        pa_v[i] = metric(&s1.r, "pressure");
        pb_v[i] = metric(&s2.r, "pressure");
        pc_v[i] = metric(&s3.r, "pressure");
        lo = fmin(lo, pa_v[i]);
        hi = fmax(hi, pa_v[i]);
    }
    assert_true(corr(pa_v, pb_v, n) > 0.95);
    assert_true(fabs(corr(pa_v, pc_v, n)) < 0.6);
    assert_true(hi - lo > 2 * office->m[SIM_PRESSURE].weather_std);
    sim_profiles_free(&set);
}

/* Every label matches exactly the readings the event changed, and those
 * readings are abnormal in the way the subtype says. */
static void check_subtype(const sim_profile_set *set, const char *mix, int expect_sub)
{
    sim_anomaly_cfg acfg;
    sim_anomaly_defaults(&acfg);
    char err[256];
    assert_int_equal(sim_anomaly_mix_parse(mix, &acfg, err, sizeof err), 0);
    acfg.rate_per_day = 6;
    acfg.warmup_readings = 100;
    const sim_profile *p = &set->p[sim_profiles_find(set, "outdoor_temperate")];
    sim_sensor s;
    double stop = T_2025_01_01 + 40 * DAY;
    sim_sensor_init(&s, p, 1, 21, T_2025_01_01, stop, &acfg);
    sim_sample smp;
    sim_label cur;
    int in_event = 0, idx = 0, events = 0, count = 0, substituted = 0;
    double first_dev = 0, prev_v = 0, max_step = 0, sum2 = 0, last_dev = 0;
    double prev_dev = 0;
    int monotone = 1, clamped = 0;
    long readings = 0;
    while (sim_sensor_next(&s, &smp) == 0) {
        readings++;
        int m = smp.event_metric;
        if (smp.new_label) {
            assert_false(in_event);      /* events never overlap */
            assert_true(readings > 100); /* warm-up respected */
            cur = smp.label;
            in_event = 1;
            idx = 0;
            sum2 = 0;
            max_step = 0;
            monotone = 1;
            clamped = 0;
            prev_dev = 0;
            events++;
            /* Documented substitutions: a humidity spike that would pass
             * 100 %RH becomes a drop (and vice versa); a contextual event
             * whose context barely differs becomes a level shift. */
            int ok = cur.subtype == expect_sub ||
                     (cur.metric == SIM_HUMIDITY &&
                      (expect_sub == SIM_SUB_SPIKE || expect_sub == SIM_SUB_DROP) &&
                      (cur.subtype == SIM_SUB_SPIKE || cur.subtype == SIM_SUB_DROP)) ||
                     (expect_sub == SIM_SUB_CONTEXTUAL && cur.subtype == SIM_SUB_LEVEL_SHIFT);
            if (!ok)
                fail_msg("%s: got subtype %s metric %s", mix, sim_subtype_name(cur.subtype),
                         sim_metric_name(cur.metric));
            substituted += cur.subtype != expect_sub;
            assert_string_equal(cur.sensor_id, "outdoor_temperate-0001");
            assert_true(cur.start_ts == smp.r.ts);
            assert_true(cur.end_ts == cur.start_ts + (cur.nsamples - 1) * p->interval_s);
        }
        if (!in_event) {
            assert_int_equal(m, -1);
            continue;
        }
        assert_int_equal(m, cur.metric);
        assert_memory_equal(&smp.label, &cur, sizeof cur);
        double scale = p->m[m].anomaly_scale;
        double nv = smp.normal[m];
        double v = metric(&smp.r, sim_metric_name(m));
        double dev = v - nv;
        if (m == SIM_HUMIDITY && (v == 0 || v == 100) && cur.subtype != SIM_SUB_ABSURD)
            clamped = 1; /* pushed against the physical range */
        switch (cur.subtype) {
        case SIM_SUB_SPIKE:
        case SIM_SUB_DROP:
        case SIM_SUB_LEVEL_SHIFT:
            if (m == SIM_HUMIDITY && (v == 0 || v == 100))
                break; /* clamped to the physical range */
            assert_true(fabs(dev - cur.magnitude) < 0.06);
            assert_true(fabs(dev) >= 0.8 * scale - 0.06);
            break;
        case SIM_SUB_ABSURD:
            assert_true(v == 1000 || v == -200 || v == 150 || v == -20 || v == 3000 || v == 0);
            assert_true(fabs(dev - cur.magnitude) < 1e-9);
            break;
        case SIM_SUB_STUCK:
            if (idx > 0)
                assert_true(v == prev_v);
            break;
        case SIM_SUB_DROPOUT:
            assert_true(isnan(v));
            assert_int_equal(smp.r.n, 2);
            break;
        case SIM_SUB_CONTEXTUAL:
            if (idx == 0)
                first_dev = fabs(dev);
            if (idx > 0)
                max_step = fmax(max_step, fabs(dev - prev_dev));
            if (idx == cur.nsamples / 2)
                assert_true(fabs(dev) > 0.5 * fabs(cur.magnitude) && fabs(dev) > 0.4 * scale);
            break;
        case SIM_SUB_DRIFT:
            if (m == SIM_HUMIDITY && (v == 0 || v == 100))
                clamped = 1;
            else if (fabs(dev) + 0.06 < fabs(prev_dev))
                monotone = 0;
            last_dev = dev;
            break;
        case SIM_SUB_SPREAD:
            sum2 += dev * dev;
            break;
        }
        prev_v = v;
        prev_dev = dev;
        idx++;
        if (idx == cur.nsamples) {
            /* The event ends exactly at its label's end_ts. */
            assert_true(smp.r.ts == cur.end_ts);
            if (cur.subtype == SIM_SUB_STUCK)
                assert_true(cur.nsamples >= 10 && cur.nsamples <= 60);
            if (cur.subtype == SIM_SUB_CONTEXTUAL && cur.nsamples >= 12) {
                /* entered smoothly: no jump at the start, small steps inside */
                assert_true(first_dev < 0.5 * fabs(cur.magnitude));
                assert_true(max_step < 0.5 * fabs(cur.magnitude));
            }
            if (cur.subtype == SIM_SUB_DRIFT) {
                assert_true(monotone || clamped);
                assert_true(fabs(last_dev - cur.magnitude) < 0.06 || clamped);
            }
            if (cur.subtype == SIM_SUB_SPREAD && cur.nsamples >= 40 && !clamped) {
                double sd = sqrt(sum2 / cur.nsamples);
                if (!(sd > 0.6 * cur.magnitude && sd < 1.5 * cur.magnitude))
                    fail_msg("spread: sd %.3f for magnitude %.3f (%s, n=%d)", sd, cur.magnitude,
                             sim_metric_name(m), cur.nsamples);
            }
            in_event = 0;
            count++;
        }
    }
    /* 40 days at 6 per day, minus time spent inside long events. */
    if (events < 15)
        fail_msg("%s: only %d events", mix, events);
    if (substituted > events / 2)
        fail_msg("%s: %d of %d events substituted", mix, substituted, events);
    assert_int_equal(count, events - in_event);
}

static void test_injected_events_labelled_exactly(void **state)
{
    (void)state;
    sim_profile_set set;
    char err[256];
    assert_int_equal(sim_profiles_load("services/simulator/profiles.json", &set, err, sizeof err),
                     0);
    check_subtype(&set, "spike", SIM_SUB_SPIKE);
    check_subtype(&set, "drop", SIM_SUB_DROP);
    check_subtype(&set, "absurd", SIM_SUB_ABSURD);
    check_subtype(&set, "stuck", SIM_SUB_STUCK);
    check_subtype(&set, "dropout", SIM_SUB_DROPOUT);
    check_subtype(&set, "contextual", SIM_SUB_CONTEXTUAL);
    check_subtype(&set, "level_shift", SIM_SUB_LEVEL_SHIFT);
    check_subtype(&set, "drift", SIM_SUB_DRIFT);
    check_subtype(&set, "spread", SIM_SUB_SPREAD);
    sim_profiles_free(&set);
}

/* The event rate follows --anomaly-rate (Poisson: within a wide margin). */
static void test_event_rate(void **state)
{
    (void)state;
    sim_profile_set set;
    char err[256];
    assert_int_equal(sim_profiles_load("services/simulator/profiles.json", &set, err, sizeof err),
                     0);
    sim_anomaly_cfg acfg;
    sim_anomaly_defaults(&acfg);
    assert_int_equal(sim_anomaly_mix_parse("spike:1,drop:1", &acfg, err, sizeof err), 0);
    acfg.rate_per_day = 4;
    acfg.warmup_readings = 0;
    const sim_profile *p = &set.p[sim_profiles_find(&set, "office")];
    int events = 0;
    for (int k = 1; k <= 20; k++) {
        sim_sensor s;
        sim_sensor_init(&s, p, k, 3, T_2025_01_01, T_2025_01_01 + 10 * DAY, &acfg);
        sim_sample smp;
        while (sim_sensor_next(&s, &smp) == 0)
            events += smp.new_label;
    }
    /* expected 20 sensors x 10 days x 4 = 800 */
    assert_true(events > 700 && events < 900);
    sim_profiles_free(&set);
}

static void test_mix_parse(void **state)
{
    (void)state;
    sim_anomaly_cfg c;
    char err[256];
    sim_anomaly_defaults(&c);
    assert_int_equal(sim_anomaly_mix_parse("point:5", &c, err, sizeof err), 0);
    for (int s = 0; s < SIM_NSUB; s++) {
        if (strcmp(sim_subtype_type(s), "point") == 0)
            assert_true(fabs(c.weights[s] - 1.0) < 1e-12);
        else
            assert_true(c.weights[s] == 0);
    }
    assert_int_equal(sim_anomaly_mix_parse("spike:2, drift", &c, err, sizeof err), 0);
    assert_true(c.weights[SIM_SUB_SPIKE] == 2 && c.weights[SIM_SUB_DRIFT] == 1);
    assert_int_equal(sim_anomaly_mix_parse("spikes:1", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "spikes"));
    assert_int_equal(sim_anomaly_mix_parse("spike:-1", &c, err, sizeof err), -1);
    assert_int_equal(sim_anomaly_mix_parse("spike:0", &c, err, sizeof err), -1);
    assert_int_equal(sim_anomaly_mix_parse("", &c, err, sizeof err), -1);
}

/* A run with a stop time ends there, and events are cut at the end. */
static void test_stop_time(void **state)
{
    (void)state;
    sim_profile_set set;
    load(&set, clean_daily);
    sim_anomaly_cfg acfg;
    sim_anomaly_defaults(&acfg);
    char err[128];
    assert_int_equal(sim_anomaly_mix_parse("level_shift", &acfg, err, sizeof err), 0);
    acfg.rate_per_day = 200;
    acfg.warmup_readings = 0;
    sim_sensor s;
    double stop = T_2025_01_01 + DAY;
    sim_sensor_init(&s, &set.p[0], 1, 1, T_2025_01_01, stop, &acfg);
    sim_sample smp;
    int n = 0;
    while (sim_sensor_next(&s, &smp) == 0) {
        assert_true(smp.r.ts < stop);
        if (smp.event_metric >= 0)
            assert_true(smp.label.end_ts < stop);
        n++;
    }
    assert_int_equal(n, 1440);
    assert_int_equal(sim_sensor_next(&s, &smp), 1);
    sim_profiles_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_deterministic),
        cmocka_unit_test(test_seeded_reproducible),
        cmocka_unit_test(test_sensor_independent_of_fleet),
        cmocka_unit_test(test_anomalies_leave_normal_stream),
        cmocka_unit_test(test_daily_cycle_period_amplitude),
        cmocka_unit_test(test_daily_cycle_fit_with_noise),
        cmocka_unit_test(test_seasons),
        cmocka_unit_test(test_humidity_anticorrelated),
        cmocka_unit_test(test_pressure_weather_shared),
        cmocka_unit_test(test_injected_events_labelled_exactly),
        cmocka_unit_test(test_event_rate),
        cmocka_unit_test(test_mix_parse),
        cmocka_unit_test(test_stop_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
