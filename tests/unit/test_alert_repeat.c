/* Folded alerts still count (issue #17): common/bus/alert_repeat (the
 * detector's detector/repeat/... summary: exact bytes, round trip, what
 * the decoder refuses), services/detector/det_repeat (summing per stream
 * and type, flush, a full table) and gw_alarms_on_repeat (the alarm's
 * count and peak grow, a redelivered summary is counted once, a summary
 * with no active alarm opens one, the anomaly list is left alone). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka.h needs the three above first */
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bus/alert_repeat.h"
#include "detector/det_repeat.h"
#include "gateway/gw_alarms.h"

static anomaly alert(const char *sensor, anomaly_type t, double value, double score, double ts)
{
    anomaly a;
    memset(&a, 0, sizeof a);
    snprintf(a.sensor_id, sizeof a.sensor_id, "%s", sensor);
    snprintf(a.metric, sizeof a.metric, "temperature");
    a.type = t;
    a.value = value;
    a.score = score;
    a.ts = ts;
    a.expected_low = 19;
    a.expected_high = 24;
    snprintf(a.explanation, sizeof a.explanation, "temperature is %g", value);
    anomaly_make_id(&a);
    return a;
}

static void test_codec(void **state)
{
    (void)state;
    anomaly a = alert("pump-3", ANOMALY_POINT, 41.5, 0.75, 1733580000.5);
    anomaly b = alert("pump-3", ANOMALY_POINT, 50, 0.5, 1733580060.5);
    alert_repeat r, back;
    alert_repeat_start(&r, &a);
    alert_repeat_add(&r, &b);
    /* the peak stays the higher score's; last_id and ts are the last alert's */
    assert_int_equal(r.count, 2);
    assert_true(r.peak_value == 41.5 && r.peak_score == 0.75 && r.ts == 1733580060.5);
    assert_string_equal(r.last_id, b.id);
    char buf[ALERT_REPEAT_MAX_PAYLOAD];
    int n = alert_repeat_to_json(&r, buf, sizeof buf);
    char want[512];
    snprintf(want, sizeof want,
             "{\"sensor_id\":\"pump-3\",\"metric\":\"temperature\",\"type\":\"point\",\"count\":2,"
             "\"peak_value\":41.5,\"peak_score\":0.75,\"expected_low\":19.0,\"expected_high\":24.0,"
             "\"last_id\":\"%s\",\"ts\":1733580060.5}",
             b.id);
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(buf, want);
    assert_int_equal(alert_repeat_from_json(buf, (size_t)n, &back, NULL, 0), 0);
    assert_string_equal(back.sensor_id, "pump-3");
    assert_int_equal(back.type, ANOMALY_POINT);
    assert_int_equal(back.count, 2);
    assert_true(back.peak_value == 41.5 && back.expected_high == 24);
    assert_string_equal(back.last_id, b.id);
    /* unknown range: omitted, decoded as NaN */
    r.expected_low = NAN;
    n = alert_repeat_to_json(&r, buf, sizeof buf);
    assert_null(strstr(buf, "expected_"));
    assert_int_equal(alert_repeat_from_json(buf, (size_t)n, &back, NULL, 0), 0);
    assert_true(isnan(back.expected_low) && isnan(back.expected_high));
    /* not finite, too small a buffer, no type name */
    r.peak_score = NAN;
    assert_int_equal(alert_repeat_to_json(&r, buf, sizeof buf), -1);
    r.peak_score = 0.75;
    assert_int_equal(alert_repeat_to_json(&r, buf, 40), -1);
    r.type = (anomaly_type)99;
    assert_int_equal(alert_repeat_to_json(&r, buf, sizeof buf), -1);
}

static void test_decode_refuses(void **state)
{
    (void)state;
    const char *bad[] = {
        "[]",
        "{\"sensor_id\":\"a/b\",\"metric\":\"t\",\"type\":\"point\",\"count\":1,\"peak_value\":1,"
        "\"peak_score\":0.9,\"last_id\":\"ab\",\"ts\":1}",
        "{\"sensor_id\":\"a\",\"metric\":\"\",\"type\":\"point\",\"count\":1,\"peak_value\":1,"
        "\"peak_score\":0.9,\"last_id\":\"ab\",\"ts\":1}",
        "{\"sensor_id\":\"a\",\"metric\":\"t\",\"type\":\"spike\",\"count\":1,\"peak_value\":1,"
        "\"peak_score\":0.9,\"last_id\":\"ab\",\"ts\":1}",
        "{\"sensor_id\":\"a\",\"metric\":\"t\",\"type\":\"point\",\"count\":0,\"peak_value\":1,"
        "\"peak_score\":0.9,\"last_id\":\"ab\",\"ts\":1}",
        "{\"sensor_id\":\"a\",\"metric\":\"t\",\"type\":\"point\",\"count\":1.5,\"peak_value\":1,"
        "\"peak_score\":0.9,\"last_id\":\"ab\",\"ts\":1}",
        "{\"sensor_id\":\"a\",\"metric\":\"t\",\"type\":\"point\",\"count\":1,\"peak_value\":\"1\","
        "\"peak_score\":0.9,\"last_id\":\"ab\",\"ts\":1}",
        "{\"sensor_id\":\"a\",\"metric\":\"t\",\"type\":\"point\",\"count\":1,\"peak_value\":1,"
        "\"peak_score\":0.9,\"last_id\":\"\",\"ts\":1}",
        "{\"sensor_id\":\"a\",\"metric\":\"t\",\"type\":\"point\",\"count\":1,\"peak_value\":1,"
        "\"peak_score\":0.9,\"last_id\":\"ab\"}",
        "{\"sensor_id\":\"a\",\"metric\":\"t\",\"type\":\"point\",\"count\":1,\"peak_value\":1,"
        "\"peak_score\":0.9,\"last_id\":\"ab\",\"ts\":1,\"expected_low\":null}",
        "{\"sensor_id\":\"a\",\"sensor_id\":\"b\",\"metric\":\"t\",\"type\":\"point\",\"count\":1,"
        "\"peak_value\":1,\"peak_score\":0.9,\"last_id\":\"ab\",\"ts\":1}",
        "{\"sensor_id\":\"a\",\"metric\":\"t\",\"type\":\"point\",\"count\":1,\"peak_value\":1e999,"
        "\"peak_score\":0.9,\"last_id\":\"ab\",\"ts\":1}",
    };
    alert_repeat r;
    char err[160];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_int_equal(alert_repeat_from_json(bad[i], strlen(bad[i]), &r, err, sizeof err), -1);
        assert_true(err[0] != 0);
    }
    char big[ALERT_REPEAT_MAX_PAYLOAD + 2];
    memset(big, ' ', sizeof big);
    assert_int_equal(alert_repeat_from_json(big, sizeof big, &r, NULL, 0), -1);
}

static alert_repeat got[16];
static size_t ngot;

static void take(void *ctx, const alert_repeat *s)
{
    (void)ctx;
    if (ngot < 16)
        got[ngot++] = *s;
}

static void test_det_repeat(void **state)
{
    (void)state;
    det_repeat *r;
    assert_int_equal(det_repeat_create(&r, 0), -1);
    assert_int_equal(det_repeat_create(&r, 2), 0);
    anomaly p1 = alert("s1", ANOMALY_POINT, 30, 0.7, 1),
            p2 = alert("s1", ANOMALY_POINT, 40, 0.9, 2);
    anomaly c1 = alert("s1", ANOMALY_CONTEXTUAL, 25, 0.6, 3),
            o1 = alert("s2", ANOMALY_POINT, 1, 0.6, 4);
    assert_int_equal(det_repeat_add(r, &p1), 0);
    assert_int_equal(det_repeat_add(r, &c1), 0);
    assert_int_equal(det_repeat_add(r, &p2), 0); /* same stream and type: summed */
    assert_int_equal(det_repeat_add(r, &o1), 1); /* a third entry: full */
    ngot = 0;
    assert_int_equal(det_repeat_flush(r, take, NULL), 2);
    assert_int_equal(got[0].count, 2);
    assert_true(got[0].peak_value == 40 && got[0].type == ANOMALY_POINT);
    assert_string_equal(got[0].last_id, p2.id);
    assert_int_equal(got[1].count, 1);
    assert_int_equal(got[1].type, ANOMALY_CONTEXTUAL);
    assert_int_equal(det_repeat_add(r, &o1), 0); /* room again */
    assert_int_equal(det_repeat_flush(r, take, NULL), 1);
    assert_int_equal(det_repeat_flush(r, take, NULL), 0); /* emptied */
    /* Swapped with an empty spare: the live table is empty at once, the
     * spare holds what was summed (published after the lock is released). */
    det_repeat *spare;
    assert_int_equal(det_repeat_create(&spare, 2), 0);
    assert_int_equal(det_repeat_add(r, &p1), 0);
    assert_int_equal(det_repeat_add(r, &p2), 0);
    det_repeat_swap(r, spare);
    assert_int_equal(det_repeat_add(r, &c1), 0); /* summing goes on meanwhile */
    ngot = 0;
    assert_int_equal(det_repeat_flush(spare, take, NULL), 1);
    assert_int_equal(got[0].count, 2);
    assert_int_equal(det_repeat_flush(r, take, NULL), 1);
    assert_int_equal(got[1].type, ANOMALY_CONTEXTUAL);
    det_repeat_destroy(spare);
    det_repeat_destroy(r);
}

#define MAX_EV 32
static alarm_event evs[MAX_EV];
static size_t nev;

static void capture(void *user, const alarm_event *ev, const alarm_obj *active, size_t n)
{
    (void)user;
    (void)active;
    (void)n;
    if (nev < MAX_EV)
        evs[nev++] = *ev;
}

static void test_gw_on_repeat(void **state)
{
    (void)state;
    gw_alarms_options o = {.max_alarms = 10,
                           .calm_s = 10,
                           .point_calm_s = 5,
                           .sev_major_score = 0.75,
                           .sev_minor_score = 0.65,
                           .sev_far = 3,
                           .sev_absurd = 10,
                           .sev_long_s = 3600,
                           .emit = capture};
    gw_alarms *a;
    nev = 0;
    assert_int_equal(gw_alarms_create(&a, &o), 0);
    const int64_t t0 = 1000000;
    anomaly x = alert("pump-3", ANOMALY_POINT, 30, 0.6, 100);
    assert_int_equal(gw_alarms_on_anomaly(a, &x, t0), 0);
    anomaly f1 = alert("pump-3", ANOMALY_POINT, 31, 0.8, 160),
            f2 = alert("pump-3", ANOMALY_POINT, 29, 0.7, 220);
    alert_repeat rp;
    alert_repeat_start(&rp, &f1);
    alert_repeat_add(&rp, &f2);
    assert_int_equal(gw_alarms_on_repeat(a, &rp, t0 + 1000), 0);
    assert_int_equal(nev, 2);
    alarm_obj al = evs[1].alarm;
    assert_int_equal(evs[1].event, ALARM_EV_UPDATED);
    assert_int_equal(al.count, 3);
    assert_true(al.peak_value == 31 && al.peak_score == 0.8);
    /* the last published anomaly stays the alarm's reference */
    assert_string_equal(al.last_anomaly_id, x.id);
    assert_true(al.last_at == t0 + 1000);
    /* redelivered: counted once */
    assert_int_equal(gw_alarms_on_repeat(a, &rp, t0 + 1500), 0);
    assert_int_equal(nev, 2);
    gw_alarms_stats s;
    gw_alarms_stats_get(a, &s);
    assert_int_equal(s.repeats, 2);
    assert_int_equal(s.duplicates, 1);
    /* its anomaly list holds the published one only */
    int found = 0;
    json_t *j = gw_alarms_get_json(a, al.id, &found);
    assert_true(found && j);
    assert_int_equal(json_array_size(json_object_get(j, "anomalies")), 1);
    json_decref(j);
    /* cleared by a person, the burst goes on: a new alarm, with the count */
    assert_int_equal(gw_alarms_act(a, al.id, GW_ALARM_CLEAR, "token", NULL, 0, t0 + 2000, NULL), 0);
    anomaly f3 = alert("pump-3", ANOMALY_POINT, 33, 0.9, 280);
    alert_repeat_start(&rp, &f3);
    rp.count = 5;
    nev = 0;
    assert_int_equal(gw_alarms_on_repeat(a, &rp, t0 + 3000), 0);
    assert_int_equal(nev, 1);
    assert_int_equal(evs[0].event, ALARM_EV_OPENED);
    assert_int_equal(evs[0].alarm.count, 5);
    assert_string_not_equal(evs[0].alarm.id, al.id);
    assert_true(evs[0].alarm.peak_value == 33);
    gw_alarms_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec),
        cmocka_unit_test(test_decode_refuses),
        cmocka_unit_test(test_det_repeat),
        cmocka_unit_test(test_gw_on_repeat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
