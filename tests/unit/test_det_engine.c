/* Detector engine: quiet on normal data, a spike is one point alert, a
 * level shift is one change_point at its start and one at its end, a value
 * of another time of day is contextual, stuck values and dropouts are
 * points, explanations name the metric and the expected range, thresholds
 * per sensor prefix, and models survive save/load. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "detector/det_engine.h"

#define T0 1735689600.0 /* 2025-01-01 00:00 UTC */
#define STEP 300.0

static double base(double ts)
{
    double h = fmod(ts, 86400.0) / 3600.0;
    return 20.0 + 3.0 * cos((h - 15.0) / 24.0 * 2 * M_PI) + 0.08 * sin(ts * 0.37) +
           0.05 * sin(ts * 0.011);
}

typedef struct {
    anomaly a[64];
    int n;
} sink;

static void feed(det_engine *e, const char *id, double ts, double temp, double hum, sink *out)
{
    reading r;
    memset(&r, 0, sizeof(r));
    snprintf(r.sensor_id, sizeof(r.sensor_id), "%s", id);
    r.ts = ts;
    if (!isnan(temp))
        reading_add(&r, "temperature", temp);
    if (!isnan(hum))
        reading_add(&r, "humidity", hum);
    anomaly a[8];
    int n = det_engine_process(e, &r, NULL, a, 8);
    assert_true(n >= 0);
    for (int k = 0; k < n && out->n < 64; k++)
        out->a[out->n++] = a[k];
}

static double hum(double ts)
{
    return 40.0 + 2.0 * sin(ts / 7000.0) + 0.1 * sin(ts * 0.23);
}

/* Three normal days; returns the next ts. */
static double warm(det_engine *e, const char *id, sink *s)
{
    double ts = T0;
    for (; ts < T0 + 3 * 86400; ts += STEP)
        feed(e, id, ts, base(ts), hum(ts), s);
    return ts;
}

static det_engine *make(void)
{
    det_config c;
    det_config_default(&c);
    c.warmup = 100;
    /* These sensors declare their units (the physical limits come from
     * them, never from the metric's name). */
    assert_int_equal(det_config_set_units(&c, "temperature=degC,humidity=%RH"), 0);
    det_engine *e = NULL;
    assert_int_equal(det_engine_create(&e, &c), 0);
    return e;
}

static void test_quiet_then_spike(void **state)
{
    (void)state;
    det_engine *e = make();
    sink s = {0};
    double ts = warm(e, "u1", &s);
    assert_int_equal(s.n, 0); /* no false alert on normal data */
    assert_true(det_engine_is_scored(e, "u1", "temperature"));
    double spike_ts = ts + 10 * 3600;
    for (; ts < spike_ts; ts += STEP)
        feed(e, "u1", ts, base(ts), hum(ts), &s);
    feed(e, "u1", ts, base(ts) + 1.5, hum(ts), &s); /* ~15 sds: not absurd, pending */
    assert_int_equal(s.n, 0);
    for (int k = 1; k <= 20; k++)
        feed(e, "u1", ts + k * STEP, base(ts + k * STEP), hum(ts + k * STEP), &s);
    assert_int_equal(s.n, 1); /* one event, one alert */
    anomaly *a = &s.a[0];
    assert_int_equal(a->type, ANOMALY_POINT);
    assert_true(a->ts == spike_ts);
    assert_string_equal(a->metric, "temperature");
    assert_string_equal(a->sensor_id, "u1");
    assert_int_equal(strlen(a->id), 64);
    assert_true(a->score > 0 && a->score <= 1);
    assert_true(a->model_version >= 1);
    assert_true(a->expected_low < base(spike_ts) && base(spike_ts) < a->expected_high);
    assert_non_null(strstr(a->explanation, "temperature"));
    assert_non_null(strstr(a->explanation, "above"));
    assert_non_null(strstr(a->explanation, "isolated after"));
    det_engine_destroy(e);
}

static void test_level_shift_start_and_end(void **state)
{
    (void)state;
    det_engine *e = make();
    sink s = {0};
    double ts = warm(e, "u2", &s), start = ts + 6 * 3600;
    for (; ts < start; ts += STEP)
        feed(e, "u2", ts, base(ts), hum(ts), &s);
    for (; ts < start + 3 * 3600; ts += STEP)
        feed(e, "u2", ts, base(ts) - 2.0, hum(ts), &s); /* 3 h, stepped down */
    for (int k = 0; k < 40; k++, ts += STEP)
        feed(e, "u2", ts, base(ts), hum(ts), &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.a[0].type, ANOMALY_CHANGE_POINT);
    assert_true(s.a[0].ts == start);
    assert_non_null(strstr(s.a[0].explanation, "shifted down"));
    assert_int_equal(s.a[1].type, ANOMALY_CHANGE_POINT);
    assert_true(s.a[1].ts > start + 3 * 3600 - 1);
    assert_non_null(strstr(s.a[1].explanation, "ended"));
    assert_string_not_equal(s.a[0].id, s.a[1].id);
    det_engine_destroy(e);
}

static void test_contextual(void **state)
{
    (void)state;
    det_engine *e = make();
    sink s = {0};
    double ts = warm(e, "u3", &s);
    /* 03:00, the daily minimum (~17): blend smoothly towards the afternoon's
     * 23 over an hour, hold two hours, blend back. */
    double start = ts + 3 * 3600;
    for (; ts < start; ts += STEP)
        feed(e, "u3", ts, base(ts), hum(ts), &s);
    for (int k = 0; k < 48; k++, ts += STEP) {
        double w = k < 12 ? k / 12.0 : k < 36 ? 1.0 : (48 - k) / 12.0;
        feed(e, "u3", ts, (1 - w) * base(ts) + w * base(ts + 12 * 3600), hum(ts), &s);
    }
    for (int k = 0; k < 40; k++, ts += STEP)
        feed(e, "u3", ts, base(ts), hum(ts), &s);
    assert_true(s.n >= 1);
    assert_int_equal(s.a[0].type, ANOMALY_CONTEXTUAL);
    assert_non_null(strstr(s.a[0].explanation, "another time"));
    det_engine_destroy(e);
}

static void test_stuck_and_dropout(void **state)
{
    (void)state;
    det_engine *e = make();
    sink s = {0};
    double ts = warm(e, "u4", &s);
    double v = base(ts);
    for (int k = 0; k < 30; k++, ts += STEP)
        feed(e, "u4", ts, v, hum(ts), &s); /* frozen */
    assert_int_equal(s.n, 1);
    assert_int_equal(s.a[0].type, ANOMALY_POINT);
    assert_non_null(strstr(s.a[0].explanation, "stuck"));
    for (int k = 0; k < 120; k++, ts += STEP)
        feed(e, "u4", ts, base(ts), hum(ts), &s);
    int before = s.n;
    feed(e, "u4", ts, base(ts), NAN, &s); /* humidity missing */
    assert_int_equal(s.n, before + 1);
    assert_string_equal(s.a[before].metric, "humidity");
    assert_non_null(strstr(s.a[before].explanation, "missing"));
    det_engine_destroy(e);
}

static void test_absurd_is_immediate(void **state)
{
    (void)state;
    det_engine *e = make();
    sink s = {0};
    double ts = warm(e, "u5", &s);
    feed(e, "u5", ts, 1000.0, hum(ts), &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.a[0].type, ANOMALY_POINT);
    assert_true(s.a[0].value == 1000.0);
    det_engine_destroy(e);
}

/* An absurd value alerts even while a change is open, and the change
 * still ends with its own alert, dated when the readings came back. */
static void test_absurd_inside_change(void **state)
{
    (void)state;
    det_engine *e = make();
    sink s = {0};
    double ts = warm(e, "u6", &s), start = ts + 6 * 3600, back = start + 3 * 3600;
    for (; ts < start; ts += STEP)
        feed(e, "u6", ts, base(ts), hum(ts), &s);
    for (; ts < back; ts += STEP)
        feed(e, "u6", ts, ts == start + 3600 ? 1000.0 : base(ts) - 2.0, hum(ts), &s);
    for (int k = 0; k < 40; k++, ts += STEP)
        feed(e, "u6", ts, base(ts), hum(ts), &s);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.a[0].type, ANOMALY_CHANGE_POINT);
    assert_int_equal(s.a[1].type, ANOMALY_POINT);
    assert_true(s.a[1].value == 1000.0 && s.a[1].ts == start + 3600);
    assert_int_equal(s.a[2].type, ANOMALY_CHANGE_POINT);
    assert_non_null(strstr(s.a[2].explanation, "ended"));
    assert_true(s.a[2].ts == back); /* the first reading back */
    det_engine_destroy(e);
}

/* The same step at the same hour every day is reported on the first day
 * only: from the second day on it is a routine and learned. */
static void test_daily_routine_learned(void **state)
{
    (void)state;
    det_engine *e = make();
    sink s = {0};
    double ts = warm(e, "u7", &s);
    int first_day_alerts = -1;
    for (int day = 0; day < 4; day++) {
        double d0 = ts - fmod(ts - T0, 86400.0) + 86400.0 * (fmod(ts - T0, 86400.0) > 0);
        for (; ts < d0 + 86400.0; ts += STEP) {
            double h = fmod(ts, 86400.0) / 3600.0;
            feed(e, "u7", ts, base(ts) + (h >= 13.0 && h < 16.0 ? 1.5 : 0.0), hum(ts), &s);
        }
        if (day == 0)
            first_day_alerts = s.n;
    }
    assert_true(first_day_alerts >= 1);
    assert_int_equal(s.n, first_day_alerts); /* nothing after the first day */
    det_engine_destroy(e);
}

static void test_thresholds_and_persistence(void **state)
{
    (void)state;
    char dir[64], file[96];
    snprintf(dir, sizeof(dir), "/tmp/test_det_engine.%d", (int)getpid());
    snprintf(file, sizeof(file), "%s.json", dir);
    FILE *f = fopen(file, "w");
    fputs("{\"default\": 0.6, \"sensors\": {\"office-\": 0.5, \"office-0001\": 0.7}}", f);
    fclose(f);
    det_config c;
    det_config_default(&c);
    char err[200];
    assert_int_equal(det_config_load_thresholds(&c, file, err, sizeof(err)), 0);
    det_engine *e = NULL;
    assert_int_equal(det_engine_create(&e, &c), 0);
    assert_true(det_engine_threshold(e, "lab-1") == 0.6);
    assert_true(det_engine_threshold(e, "office-0002") == 0.5);
    assert_true(det_engine_threshold(e, "office-0001") == 0.7);
    det_engine_destroy(e);
    f = fopen(file, "w");
    fputs("{\"default\": 7}", f);
    fclose(f);
    assert_int_equal(det_config_load_thresholds(&c, file, err, sizeof(err)), -1);
    unlink(file);

    e = make();
    sink s = {0};
    double ts = warm(e, "u6", &s);
    long ver = det_engine_model_version(e, "temperature");
    assert_true(ver >= 1);
    assert_int_equal(det_engine_save(e, dir), 0);
    det_engine *g = make();
    assert_int_equal(det_engine_load(g, dir), 1);
    assert_true(det_engine_is_scored(g, "u6", "temperature"));
    assert_int_equal(det_engine_model_version(g, "temperature"), ver);
    /* Both score the next reading identically. */
    reading r;
    memset(&r, 0, sizeof(r));
    snprintf(r.sensor_id, sizeof(r.sensor_id), "u6");
    r.ts = ts;
    reading_add(&r, "temperature", base(ts) + 0.3);
    det_result ra[2], rb[2];
    anomaly a[4];
    det_engine_process(e, &r, ra, a, 4);
    det_engine_process(g, &r, rb, a, 4);
    assert_true(ra[0].scored && rb[0].scored);
    assert_true(ra[0].score == rb[0].score);
    /* A corrupted sensors file is rejected, not trusted. */
    char path[128];
    snprintf(path, sizeof(path), "%s/sensors.bin", dir);
    f = fopen(path, "r+b");
    fseek(f, 200, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    det_engine *h = make();
    assert_int_equal(det_engine_load(h, dir), 0); /* models load, sensors do not */
    assert_false(det_engine_is_scored(h, "u6", "temperature"));
    det_engine_destroy(h);
    det_engine_destroy(e);
    det_engine_destroy(g);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* One sensor whose learned state is not finite (a value of 1e39 reached
 * it before the ingest bound existed, issue #19) must not cost the sensors
 * saved after it their state: only its own stream warms up again. */
static void test_load_skips_one_bad_sensor(void **state)
{
    (void)state;
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/test_det_engine_bad.%d", (int)getpid());
    det_engine *e = make();
    sink s = {0};
    double ts = T0;
    for (int i = 0; i < 20; i++, ts += STEP)
        feed(e, "bad", ts, base(ts), NAN, &s);
    feed(e, "bad", ts, 1e300, NAN, &s); /* squared in the variance: inf */
    warm(e, "good", &s);
    assert_true(det_engine_is_scored(e, "good", "temperature"));
    assert_int_equal(det_engine_save(e, dir), 0);
    det_engine *g = make();
    int restored = det_engine_load(g, dir);
    assert_true(restored >= 1);
    assert_true(det_engine_is_scored(g, "good", "temperature"));
    assert_true(det_engine_is_scored(g, "good", "humidity"));
    det_engine_destroy(g);
    det_engine_destroy(e);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Units come from configuration only: 0.05 of a metric called "pressure"
 * is no absurd value when its unit is unknown or declared as bar (and the
 * explanation prints bar, never hPa); declared as hPa it is absurd. */
static int pressure_alerts(const char *units, char *expl, size_t n)
{
    det_config c;
    det_config_default(&c);
    c.warmup = 100;
    assert_int_equal(det_config_set_units(&c, units), 0);
    det_engine *e = NULL;
    assert_int_equal(det_engine_create(&e, &c), 0);
    int alerts = 0;
    expl[0] = 0;
    for (int i = 0; i < 600; i++) {
        reading r;
        memset(&r, 0, sizeof(r));
        snprintf(r.sensor_id, sizeof(r.sensor_id), "pump");
        r.ts = T0 + 60.0 * i;
        /* a pump's pressure in bar, with a jump to 0.9 at reading 500 */
        reading_add(&r, "pressure", (i == 500 ? 0.9 : 0.05) + 0.002 * sin(i * 0.7));
        anomaly a[8];
        int na = det_engine_process(e, &r, NULL, a, 8);
        assert_true(na >= 0);
        for (int k = 0; k < na; k++) {
            alerts++;
            if (!expl[0])
                snprintf(expl, n, "%s", a[k].explanation);
        }
    }
    det_engine_destroy(e);
    return alerts;
}

static void test_units_from_config(void **state)
{
    (void)state;
    char expl[ANOMALY_EXPLANATION_MAX];
    det_config c;
    det_config_default(&c);
    assert_int_equal(c.nunits, 0); /* nothing assumed by default */
    assert_int_equal(det_config_set_units(&c, "pressure"), -1);
    assert_int_equal(det_config_set_units(&c, "=bar"), -1);
    assert_int_equal(det_config_set_units(&c, "pressure=bar,temperature=degC"), 0);
    assert_int_equal(c.nunits, 2);

    int none = pressure_alerts("", expl, sizeof(expl));
    assert_true(none >= 1); /* the jump is found */
    assert_null(strstr(expl, "no working sensor"));
    assert_null(strstr(expl, "hPa"));
    int bar = pressure_alerts("pressure=bar", expl, sizeof(expl));
    assert_true(bar >= 1);
    assert_null(strstr(expl, "no working sensor"));
    assert_non_null(strstr(expl, "bar"));
    assert_null(strstr(expl, "hPa"));
    pressure_alerts("pressure=hPa", expl, sizeof(expl));
    assert_non_null(strstr(expl, "no working sensor"));
}

/* Alarm state and fleet-wide marking: three rooms of one group warm up;
 * the same step hits all three within minutes. Each stream is in alarm
 * from its change's start until it ends, and the second and third alerts
 * say how many peers alerted on the metric at the same time. */
static void test_alarm_state_and_fleet(void **state)
{
    (void)state;
    det_engine *e = make();
    const char *ids[3] = {"room-1", "room-2", "room-3"};
    sink s = {0};
    double ts = T0;
    for (; ts < T0 + 3 * 86400; ts += STEP)
        for (int k = 0; k < 3; k++)
            feed(e, ids[k], ts + k, base(ts) + 0.1 * k, hum(ts), &s);
    assert_int_equal(s.n, 0);
    double start = ts + 6 * 3600, end = start + 3 * 3600;
    for (; ts < start; ts += STEP)
        for (int k = 0; k < 3; k++)
            feed(e, ids[k], ts + k, base(ts) + 0.1 * k, hum(ts), &s);
    int alarm_rows = 0, calm_after = 0;
    for (; ts < end + 40 * STEP; ts += STEP) {
        for (int k = 0; k < 3; k++) {
            double v = base(ts) + 0.1 * k - (ts >= start && ts < end ? 2.0 : 0.0);
            reading r;
            memset(&r, 0, sizeof(r));
            snprintf(r.sensor_id, sizeof(r.sensor_id), "%s", ids[k]);
            r.ts = ts + k;
            reading_add(&r, "temperature", v);
            det_result res[1];
            anomaly a[8];
            int n = det_engine_process(e, &r, res, a, 8);
            assert_true(n >= 0);
            for (int j = 0; j < n && s.n < 64; j++)
                s.a[s.n++] = a[j];
            if (k == 0 && ts > start + STEP && ts < end - STEP)
                alarm_rows += res[0].in_alarm; /* inside the change */
            if (k == 0 && ts > end + 20 * STEP)
                calm_after += !res[0].in_alarm && !res[0].alarm_changed;
        }
    }
    /* every reading strictly inside the change (start + 2 steps .. end - 2 steps) */
    assert_int_equal(alarm_rows, (int)((end - start) / STEP) - 3);
    assert_true(calm_after > 10);
    int starts = 0, marked = 0;
    for (int k = 0; k < s.n; k++) {
        if (s.a[k].type == ANOMALY_CHANGE_POINT && strstr(s.a[k].explanation, "shifted down")) {
            starts++;
            if (strstr(s.a[k].explanation, "room- sensors alerted on temperature"))
                marked++;
        }
    }
    assert_int_equal(starts, 3);
    assert_int_equal(marked, 2); /* the first has no peer before it */
    det_engine_destroy(e);
}

/* A stream that keeps alerting is one disturbance: after about burst_k
 * alerts within burst_n readings, further ones are folded (counted, not
 * published), except a physically absurd value. */
static int spikes(int burst_n, uint64_t *folded, int *absurd_seen)
{
    det_config c;
    det_config_default(&c);
    c.warmup = 100;
    c.burst_n = burst_n;
    assert_int_equal(det_config_set_units(&c, "temperature=degC,humidity=%RH"), 0);
    det_engine *e = NULL;
    assert_int_equal(det_engine_create(&e, &c), 0);
    sink s = {0};
    double ts = warm(e, "b1", &s);
    assert_int_equal(s.n, 0);
    static const double size[] = {1.5, -2.2, 2.6, -1.4, 3.2, -2.9, 1.9, -3.5};
    for (int k = 0; k < 8; k++) { /* a spike every 2 h, each of another size */
        for (int j = 0; j < 24; j++, ts += STEP)
            feed(e, "b1", ts, base(ts), hum(ts), &s);
        feed(e, "b1", ts, base(ts) + size[k], hum(ts), &s);
        ts += STEP;
    }
    for (int j = 0; j < 5; j++, ts += STEP)
        feed(e, "b1", ts, base(ts), hum(ts), &s);
    feed(e, "b1", ts, 1000.0, hum(ts), &s); /* absurd: never folded */
    for (int j = 1; j <= 5; j++)
        feed(e, "b1", ts + j * STEP, base(ts + j * STEP), hum(ts + j * STEP), &s);
    det_stats st;
    det_engine_stats(e, &st);
    *folded = st.folded;
    *absurd_seen = 0;
    for (int k = 0; k < s.n; k++)
        if (s.a[k].value >= 999.0)
            *absurd_seen = 1;
    assert_int_equal(st.anomalies, (uint64_t)s.n); /* folded alerts are not counted as published */
    det_engine_destroy(e);
    return s.n;
}

static void test_burst_folded(void **state)
{
    (void)state;
    uint64_t folded_off, folded_on;
    int abs_off, abs_on;
    int off = spikes(0, &folded_off, &abs_off);
    int on = spikes(600, &folded_on, &abs_on);
    assert_true(off >= 7); /* every spike (and the absurd value) alerts without folding */
    assert_int_equal(folded_off, 0);
    assert_true(on <= 5);  /* about burst_k, plus the absurd value */
    assert_int_equal((uint64_t)(off - on), folded_on);
    assert_true(abs_off && abs_on);
}

/* After an alert, a stream stays in alarm while it stays away from the
 * level it left (disp_k), and leaves the alarm once back: a pump's flow
 * in its first hour (1 s readings, no daily profile yet) drops by a
 * ramp that alerts once, stays low for 300 s, then comes back. */
static double flow(int i)
{
    double noise = 0.4 * sin(i * 1.7) + 0.25 * sin(i * 0.61 + 1.0);
    if (i < 600)
        return 32.0 + noise;
    if (i < 620)
        return 32.0 - 0.4 * (i - 600) + noise; /* the valve closes: down 8 */
    if (i < 920)
        return 24.0 + noise;
    if (i < 940)
        return 24.0 + 0.4 * (i - 920) + noise; /* and opens again */
    return 32.0 + noise;
}

static int flow_alarm(double disp_k, int *alerts, int *held_low, int *after)
{
    det_config c;
    det_config_default(&c);
    c.disp_k = disp_k;
    /* A first-day expectation of 60 readings (one minute here): the flow's
     * own change then ends as soon as the mean has followed it, so what
     * holds the alarm is the displacement alone. */
    c.feat.recent_s = 0;
    det_engine *e = NULL;
    assert_int_equal(det_engine_create(&e, &c), 0);
    int rows = 0;
    *alerts = *held_low = *after = 0;
    for (int i = 0; i < 1200; i++) {
        reading r;
        memset(&r, 0, sizeof(r));
        snprintf(r.sensor_id, sizeof(r.sensor_id), "pump");
        r.ts = T0 + i;
        reading_add(&r, "flow", flow(i));
        det_result res[1];
        anomaly a[8];
        int n = det_engine_process(e, &r, res, a, 8);
        assert_true(n >= 0);
        *alerts += n;
        rows += res[0].in_alarm;
        if (i >= 700 && i < 900)
            *held_low += res[0].in_alarm;
        if (i >= 1000)
            *after += res[0].in_alarm;
    }
    det_engine_destroy(e);
    return rows;
}

static void test_displaced_stays_in_alarm(void **state)
{
    (void)state;
    int a_off, low_off, after_off, a_on, low_on, after_on;
    flow_alarm(0.0, &a_off, &low_off, &after_off);
    flow_alarm(1.5, &a_on, &low_on, &after_on);
    assert_true(a_on >= 1);
    assert_int_equal(a_on, a_off); /* the alerts are the same; only the state lasts */
    assert_int_equal(low_on, 200); /* in alarm all the time the flow stays low */
    assert_true(low_off < 50);
    assert_int_equal(after_on, 0); /* and out of it once back */
}

/* The live engine scores only readings that can alert (cfg.score_all 0);
 * replay scores every one. The decisions must be the same: the same
 * alerts, flags and alarm state on days of readings with events. */
static void test_lazy_scoring_same_decisions(void **state)
{
    (void)state;
    det_engine *e[2];
    for (int k = 0; k < 2; k++) {
        det_config c;
        det_config_default(&c);
        c.warmup = 100;
        c.score_all = k;
        assert_int_equal(det_config_set_units(&c, "temperature=degC,humidity=%RH"), 0);
        assert_int_equal(det_engine_create(&e[k], &c), 0);
    }
    int alerts = 0, scored_lazy = 0, scored_all = 0;
    for (int i = 0; i < 6 * 288; i++) {
        double ts = T0 + i * STEP;
        double t = base(ts), h = hum(ts);
        if (i % 397 == 200)
            t += 1.5 + (i % 3); /* spikes */
        if (i >= 1000 && i < 1040)
            h -= 4.0; /* a shift that ends */
        if (i >= 1300 && i < 1320)
            t = 21.0; /* stuck */
        reading r;
        memset(&r, 0, sizeof(r));
        snprintf(r.sensor_id, sizeof(r.sensor_id), "lazy");
        r.ts = ts;
        reading_add(&r, "temperature", t);
        reading_add(&r, "humidity", h);
        det_result res[2][2];
        anomaly a[2][8];
        int n[2];
        for (int k = 0; k < 2; k++) {
            n[k] = det_engine_process(e[k], &r, res[k], a[k], 8);
            assert_true(n[k] >= 0);
        }
        assert_int_equal(n[0], n[1]);
        for (int j = 0; j < n[0]; j++) {
            assert_string_equal(a[0][j].id, a[1][j].id);
            assert_string_equal(a[0][j].explanation, a[1][j].explanation);
            assert_true(a[0][j].score == a[1][j].score);
        }
        alerts += n[0];
        for (int m = 0; m < 2; m++) {
            assert_int_equal(res[0][m].flagged, res[1][m].flagged);
            assert_int_equal(res[0][m].in_alarm, res[1][m].in_alarm);
            scored_lazy += res[0][m].score > 0;
            scored_all += res[1][m].score > 0;
        }
    }
    assert_true(alerts >= 3);
    assert_true(scored_lazy < scored_all / 2); /* most readings needed no score */
    det_engine_destroy(e[0]);
    det_engine_destroy(e[1]);
}

int main(void)
{
    log_init("test", LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quiet_then_spike),
        cmocka_unit_test(test_level_shift_start_and_end),
        cmocka_unit_test(test_contextual),
        cmocka_unit_test(test_stuck_and_dropout),
        cmocka_unit_test(test_absurd_is_immediate),
        cmocka_unit_test(test_absurd_inside_change),
        cmocka_unit_test(test_daily_routine_learned),
        cmocka_unit_test(test_thresholds_and_persistence),
        cmocka_unit_test(test_load_skips_one_bad_sensor),
        cmocka_unit_test(test_units_from_config),
        cmocka_unit_test(test_alarm_state_and_fleet),
        cmocka_unit_test(test_burst_folded),
        cmocka_unit_test(test_displaced_stays_in_alarm),
        cmocka_unit_test(test_lazy_scoring_same_decisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
