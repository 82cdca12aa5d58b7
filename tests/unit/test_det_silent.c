/* services/detector/det_silent and det_feedback, and the feedback message
 * (bus/alarm_feedback): a sensor that stops is silent at its learned
 * deadline (not before), once, and its next reading ends it; a stream
 * stuck far longer than usual is flagged and ends on a change; a
 * false_positive verdict tolerates the same event again but not a
 * stronger one or another kind, and survives a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka.h needs the three above first */
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/alarm_feedback.h"
#include "detector/det_feedback.h"
#include "detector/det_silent.h"

static reading rd(const char *id, double v)
{
    reading r;
    memset(&r, 0, sizeof r);
    snprintf(r.sensor_id, sizeof r.sensor_id, "%s", id);
    r.n = 1;
    strcpy(r.m[0].name, "temperature");
    r.m[0].value = v;
    return r;
}

static void test_silent(void **st)
{
    (void)st;
    det_silent *d;
    det_silent_params p = {.factor = 5, .min_s = 300, .stuck_factor = 0, .stuck_min_s = 0};
    det_silent_event ev[8];
    assert_int_equal(det_silent_create(&d, &p), 0);
    double t = 1000;
    /* one sensor every 120 s, another every 10 s */
    for (int i = 0; i < 10; i++) {
        reading a = rd("slow", 20 + i), b = rd("fast", 20 + i);
        assert_int_equal(det_silent_seen(d, &a, t + 120.0 * i, ev, 8), 0);
        for (int k = 0; k < 12; k++)
            det_silent_seen(d, &b, t + 120.0 * i + 10.0 * k, ev, 8);
    }
    double last = t + 120.0 * 9; /* slow's last reading */
    double fast_last = last + 110;
    /* fast: deadline max(5 x 10, 300) = 300 s; slow: 5 x 120 = 600 s */
    assert_int_equal(det_silent_check(d, fast_last + 299, ev, 8), 0);
    assert_int_equal(det_silent_check(d, fast_last + 301, ev, 8), 1);
    assert_string_equal(ev[0].sensor_id, "fast");
    assert_string_equal(ev[0].metric, DET_SILENT_METRIC);
    assert_int_equal(ev[0].in_alarm, 1);
    assert_true(fabs(ev[0].deadline_s - 300) < 1e-9);
    assert_non_null(strstr(ev[0].explanation, "silent for 301 s"));
    anomaly a;
    det_silent_to_anomaly(&ev[0], fast_last + 301, &a);
    assert_int_equal(a.type, ANOMALY_SILENT);
    assert_string_equal(anomaly_type_name(a.type), "silent");
    assert_true(a.score == 1 && isnan(a.expected_low));
    assert_false(ANOMALY_TYPE_ON_CHAIN(a.type));
    char js[2048], err[128];
    anomaly back;
    int n = anomaly_to_json(&a, js, sizeof js);
    assert_true(n > 0);
    assert_int_equal(anomaly_from_json(js, (size_t)n, &back, err, sizeof err), 0);
    assert_int_equal(back.type, ANOMALY_SILENT);
    /* once, not on every check */
    assert_int_equal(det_silent_check(d, fast_last + 400, ev, 8), 0);
    assert_int_equal(det_silent_check(d, last + 599, ev, 8), 0);
    assert_int_equal(det_silent_check(d, last + 601, ev, 8), 1);
    assert_string_equal(ev[0].sensor_id, "slow");
    det_silent_stats s;
    det_silent_stats_get(d, &s);
    assert_true(s.silent_now == 2 && s.silent_total == 2 && s.sensors == 2);
    /* the next reading ends it */
    reading b = rd("fast", 1);
    assert_int_equal(det_silent_seen(d, &b, last + 700, ev, 8), 1);
    assert_int_equal(ev[0].in_alarm, 0);
    assert_string_equal(ev[0].sensor_id, "fast");
    /* the outage was not learned as the usual interval: silent again at 300 s */
    det_silent_seen(d, &b, last + 710, ev, 8);
    assert_int_equal(det_silent_check(d, last + 710 + 301, ev, 8), 1);
    assert_string_equal(ev[0].sensor_id, "fast");
    /* a false positive doubles the sensor's deadline */
    det_silent_seen(d, &b, last + 2000, ev, 8);
    assert_int_equal(det_silent_tolerate(d, "fast", DET_SILENT_METRIC, DET_SILENT_KIND_SILENT), 0);
    assert_int_equal(det_silent_tolerate(d, "nobody", DET_SILENT_METRIC, DET_SILENT_KIND_SILENT),
                     -1);
    assert_int_equal(det_silent_check(d, last + 2000 + 301, ev, 8), 0);
    assert_int_equal(det_silent_check(d, last + 2000 + 601, ev, 8), 1);
    /* too few gaps: never judged ("slow" and "fast" are silent already) */
    reading c = rd("new", 1);
    det_silent_seen(d, &c, 0, ev, 8);
    assert_int_equal(det_silent_check(d, 1e9, ev, 8), 0);
    det_silent_destroy(d);
    assert_int_equal(det_silent_create(&d, &(det_silent_params){.factor = 0.5}), -1);
}

static void test_persist(void **st)
{
    (void)st;
    char dir[] = "/tmp/test_det_silent_XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/silent.txt", dir);
    det_silent *d;
    det_silent_params p = {.factor = 5, .min_s = 10, .stuck_factor = 0, .stuck_min_s = 0};
    det_silent_event ev[8];
    assert_int_equal(det_silent_create(&d, &p), 0);
    assert_int_equal(det_silent_load(d, path), 0); /* first start */
    reading a = rd("a", 1), b = rd("b", 1);
    for (int i = 0; i < 5; i++) {
        det_silent_seen(d, &a, 100 + i, ev, 8);
        det_silent_seen(d, &b, 100 + i, ev, 8);
    }
    assert_int_equal(det_silent_check(d, 104 + 11, ev, 8), 2); /* both silent */
    det_silent_seen(d, &b, 200, ev, 8);                        /* b is back */
    assert_int_equal(det_silent_save(d, path), 0);
    det_silent_destroy(d);
    /* a restarted detector: a stays silent (no second event), b, silent
     * while the detector was down, is found at once */
    assert_int_equal(det_silent_create(&d, &p), 0);
    assert_int_equal(det_silent_load(d, path), 2);
    assert_int_equal(det_silent_check(d, 300, ev, 8), 1);
    assert_string_equal(ev[0].sensor_id, "b");
    det_silent_stats s;
    det_silent_stats_get(d, &s);
    assert_int_equal(s.silent_now, 2);
    assert_int_equal(det_silent_seen(d, &a, 301, ev, 8), 1); /* a's return ends its silence */
    assert_int_equal(ev[0].in_alarm, 0);
    det_silent_destroy(d);
    /* not a det_silent file */
    FILE *f = fopen(path, "w");
    fputs("hello\n", f);
    fclose(f);
    assert_int_equal(det_silent_create(&d, &p), 0);
    assert_int_equal(det_silent_load(d, path), -1);
    det_silent_destroy(d);
    unlink(path);
    rmdir(dir);
}

static void test_metric_stopped(void **st)
{
    (void)st;
    det_silent *d;
    det_silent_params p = {.factor = 5, .min_s = 1e9, .stuck_factor = 0, .stuck_min_s = 0};
    det_silent_event ev[8];
    assert_int_equal(det_silent_create(&d, &p), 0);
    reading both = rd("s", 1), one = rd("s", 1);
    both.n = 2;
    strcpy(both.m[1].name, "humidity");
    double t = 0;
    for (int i = 0; i < 25; i++, t += 10) {
        both.m[0].value = i;
        assert_int_equal(det_silent_seen(d, &both, t, ev, 8), 0);
    }
    for (int i = 0; i < 9; i++, t += 10)
        assert_int_equal(det_silent_seen(d, &one, t, ev, 8), 0);
    assert_int_equal(det_silent_seen(d, &one, t, ev, 8), 1); /* the 10th without it */
    assert_int_equal(ev[0].kind, DET_SILENT_KIND_SILENT);
    assert_string_equal(ev[0].metric, "humidity");
    assert_int_equal(ev[0].in_alarm, 1);
    assert_int_equal(det_silent_seen(d, &one, t + 10, ev, 8), 0); /* once */
    assert_int_equal(det_silent_seen(d, &both, t + 20, ev, 8), 1);
    assert_string_equal(ev[0].metric, "humidity");
    assert_int_equal(ev[0].in_alarm, 0);
    /* told it was fine: humidity is optional from now on */
    assert_int_equal(det_silent_tolerate(d, "s", "humidity", DET_SILENT_KIND_SILENT), 0);
    assert_int_equal(det_silent_tolerate(d, "s", "pressure", DET_SILENT_KIND_SILENT), -1);
    double t2 = t + 30;
    for (int i = 0; i < 25; i++, t2 += 10)
        det_silent_seen(d, &both, t2, ev, 8);
    for (int i = 0; i < 15; i++, t2 += 10)
        assert_int_equal(det_silent_seen(d, &one, t2, ev, 8), 0);
    t = t2;
    /* a metric sent now and then is not "always sent" */
    for (int i = 0; i < 40; i++)
        assert_int_equal(det_silent_seen(d, i % 5 ? &one : &both, t + 30 + 10 * i, ev, 8), 0);
    det_silent_destroy(d);
}

static void test_stuck(void **st)
{
    (void)st;
    det_silent *d;
    det_silent_params p = {.factor = 5, .min_s = 1e9, .stuck_factor = 10, .stuck_min_s = 100};
    det_silent_event ev[8];
    assert_int_equal(det_silent_create(&d, &p), 0);
    /* a value that changes every 10 s, holding at most 20 s */
    double t = 0;
    for (int i = 0; i < 40; i++, t += 10) {
        reading r = rd("s", i % 7 == 0 ? (i - 1) % 5 : i % 5);
        assert_int_equal(det_silent_seen(d, &r, t, ev, 8), 0);
    }
    /* then stuck: 10 x 20 s = 200 s */
    reading r = rd("s", 42);
    det_silent_seen(d, &r, t, ev, 8);
    double start = t;
    for (t += 10; t < start + 200; t += 10)
        assert_int_equal(det_silent_seen(d, &r, t, ev, 8), 0);
    assert_int_equal(det_silent_seen(d, &r, start + 200, ev, 8), 1);
    assert_int_equal(ev[0].kind, DET_SILENT_KIND_STUCK);
    assert_int_equal(ev[0].in_alarm, 1);
    assert_string_equal(ev[0].metric, "temperature");
    assert_true(ev[0].value == 42);
    assert_int_equal(det_silent_seen(d, &r, start + 210, ev, 8), 0); /* once */
    reading r2 = rd("s", 43);
    assert_int_equal(det_silent_seen(d, &r2, start + 220, ev, 8), 1);
    assert_int_equal(ev[0].in_alarm, 0);
    /* a false positive doubles the stream's stuck limit: 400 s now */
    assert_int_equal(det_silent_tolerate(d, "s", "temperature", DET_SILENT_KIND_STUCK), 0);
    reading r3 = rd("s", 44);
    det_silent_seen(d, &r3, start + 230, ev, 8);
    assert_int_equal(det_silent_seen(d, &r3, start + 230 + 390, ev, 8), 0);
    assert_int_equal(det_silent_seen(d, &r3, start + 230 + 400, ev, 8), 1);
    assert_int_equal(ev[0].in_alarm, 1);
    det_silent_destroy(d);
}

static anomaly alert(const char *s, anomaly_type t, double score)
{
    anomaly a;
    memset(&a, 0, sizeof a);
    snprintf(a.sensor_id, sizeof a.sensor_id, "%s", s);
    strcpy(a.metric, "temperature");
    a.type = t;
    a.score = score;
    return a;
}

static void test_feedback(void **st)
{
    (void)st;
    char dir[] = "/tmp/test_det_feedback_XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/feedback.json", dir);
    det_feedback *f;
    assert_int_equal(det_feedback_create(&f, path, 0.05), 0);
    anomaly same = alert("room-1", ANOMALY_POINT, 0.80);
    assert_int_equal(det_feedback_suppress(f, &same), 0);

    /* the verdict travels as bus/alarm_feedback JSON */
    alarm_feedback fb = {.value = 1000, .score = 0.80, .at = 1733580000500};
    strcpy(fb.sensor_id, "room-1");
    strcpy(fb.metric, "temperature");
    strcpy(fb.kind, "point");
    strcpy(fb.by, "alice");
    char js[512], err[128];
    int n = alarm_feedback_to_json(&fb, js, sizeof js);
    assert_string_equal(js, "{\"sensor_id\":\"room-1\",\"metric\":\"temperature\",\"kind\":"
                            "\"point\",\"verdict\":\"false_positive\",\"value\":1000.0,\"score\":"
                            "0.8,\"at\":1733580000500,\"by\":\"alice\"}");
    alarm_feedback got;
    assert_int_equal(alarm_feedback_from_json(js, (size_t)n, &got, err, sizeof err), 0);
    assert_true(got.score == 0.8 && got.at == fb.at && got.value == 1000);
    assert_string_equal(got.by, "alice");
    const char *bad = "{\"sensor_id\":\"room-1\",\"metric\":\"t\",\"kind\":\"point\","
                      "\"verdict\":\"true_positive\",\"value\":1,\"score\":1,\"at\":1,\"by\":null}";
    alarm_feedback junk;
    assert_int_equal(alarm_feedback_from_json(bad, strlen(bad), &junk, err, sizeof err), -1);

    assert_true(fabs(det_feedback_add(f, &got) - 0.85) < 1e-9);
    /* the same event again is tolerated; a stronger one, another kind or
     * another stream still alerts */
    assert_int_equal(det_feedback_suppress(f, &same), 1);
    anomaly stronger = alert("room-1", ANOMALY_POINT, 0.9);
    anomaly other_kind = alert("room-1", ANOMALY_CHANGE_POINT, 0.8);
    anomaly other_sensor = alert("room-2", ANOMALY_POINT, 0.8);
    assert_int_equal(det_feedback_suppress(f, &stronger), 0);
    assert_int_equal(det_feedback_suppress(f, &other_kind), 0);
    assert_int_equal(det_feedback_suppress(f, &other_sensor), 0);
    det_feedback_destroy(f);

    /* a restart keeps it */
    assert_int_equal(det_feedback_create(&f, path, 0.05), 0);
    assert_int_equal(det_feedback_count(f), 1);
    assert_int_equal(det_feedback_suppress(f, &same), 1);
    /* a verdict at the top silences the kind on that stream */
    got.score = 0.99;
    assert_true(det_feedback_add(f, &got) == 1);
    assert_int_equal(det_feedback_suppress(f, &(anomaly){.sensor_id = "room-1",
                                                         .metric = "temperature",
                                                         .type = ANOMALY_POINT,
                                                         .score = 1}),
                     1);
    det_feedback_destroy(f);
    assert_int_equal(det_feedback_create(&f, NULL, 2), -1);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_silent),         cmocka_unit_test(test_persist),
        cmocka_unit_test(test_metric_stopped), cmocka_unit_test(test_stuck),
        cmocka_unit_test(test_feedback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
