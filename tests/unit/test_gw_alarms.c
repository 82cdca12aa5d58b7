/* services/gateway/gw_alarms (+ gw_alarms_api): the alarm lifecycle.
 * A fault's repeated anomalies make one alarm; it clears only after the
 * stream has been calm for the hysteresis; point and silent alarms follow
 * their own rules; people's actions change state once and say who acted;
 * the table survives a restart, stays bounded, and the REST routes answer
 * with the right codes and push {"type":"alarm"} on the WebSocket bus. */
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

#include "gateway/gw_alarms.h"
#include "eth/anomaly_log.h"
#include "gateway/gw_alarms_api.h"
#include "gateway/gw_api.h"

#define MAX_EV 256
static alarm_event evs[MAX_EV];
static size_t nev, last_active_n;

static void capture(void *user, const alarm_event *ev, const alarm_obj *active, size_t n)
{
    (void)user;
    (void)active;
    if (nev < MAX_EV)
        evs[nev++] = *ev;
    last_active_n = n;
}

static gw_alarms_options opts(void)
{
    gw_alarms_options o = {.max_alarms = 100,
                           .calm_s = 10,
                           .point_calm_s = 5,
                           .sev_major_score = 0.75,
                           .sev_minor_score = 0.65,
                           .sev_far = 3,
                           .sev_absurd = 10,
                           .sev_long_s = 3600,
                           .emit = capture};
    return o;
}

static anomaly an(const char *sensor, const char *metric, anomaly_type t, double value,
                  double score, double ts)
{
    anomaly a;
    memset(&a, 0, sizeof a);
    snprintf(a.sensor_id, sizeof a.sensor_id, "%s", sensor);
    snprintf(a.metric, sizeof a.metric, "%s", metric);
    a.type = t;
    a.value = value;
    a.score = score;
    a.ts = ts;
    a.expected_low = 19;
    a.expected_high = 24;
    snprintf(a.explanation, sizeof a.explanation, "%s is %g", metric, value);
    anomaly_make_id(&a);
    return a;
}

static alarm_state state(const char *sensor, const char *metric, int in)
{
    alarm_state s;
    memset(&s, 0, sizeof s);
    snprintf(s.sensor_id, sizeof s.sensor_id, "%s", sensor);
    snprintf(s.metric, sizeof s.metric, "%s", metric);
    s.in_alarm = in;
    s.ts = 1;
    return s;
}

static size_t count_events(alarm_event_type t)
{
    size_t k = 0;
    for (size_t i = 0; i < nev; i++)
        k += evs[i].event == t;
    return k;
}

static void test_one_alarm_per_fault(void **st)
{
    (void)st;
    gw_alarms *a;
    gw_alarms_options o = opts();
    nev = 0;
    assert_int_equal(gw_alarms_create(&a, &o), 0);
    const int64_t t0 = 1000000;
    gw_alarms_on_state(a, &(alarm_state){0}, t0); /* an empty state matches nothing */
    alarm_state s1 = state("room-1", "temperature", 1);
    gw_alarms_on_state(a, &s1, t0);
    for (int i = 0; i < 20; i++) {
        anomaly x =
            an("room-1", "temperature", ANOMALY_CHANGE_POINT, 30 + i, 0.6 + i * 0.01, 1000 + i);
        assert_int_equal(gw_alarms_on_anomaly(a, &x, t0 + i * 1000), 0);
        gw_alarms_tick(a, t0 + i * 1000 + 500);
    }
    /* a redelivered anomaly (same id) changes nothing */
    anomaly again = an("room-1", "temperature", ANOMALY_CHANGE_POINT, 49, 0.79, 1019);
    size_t before_dup = nev;
    gw_alarms_on_anomaly(a, &again, t0 + 20000);
    assert_int_equal(nev, before_dup);
    /* one alarm: opened once, updated 19 times, count 20, peak = highest score */
    assert_int_equal(count_events(ALARM_EV_OPENED), 1);
    assert_int_equal(count_events(ALARM_EV_UPDATED), 19);
    alarm_obj last = evs[nev - 1].alarm;
    assert_int_equal(last.count, 20);
    assert_true(last.peak_value == 49 && fabs(last.peak_score - 0.79) < 1e-9);
    assert_int_equal(last.state, ALARM_ACTIVE);
    assert_int_equal(last_active_n, 1);
    /* value 49 is (49-24)/5 = 5 ranges out: one step up from the score's grade */
    assert_int_equal(last.severity, ALARM_CRITICAL);
    /* still in alarm: time alone does not clear it */
    gw_alarms_tick(a, t0 + 100000);
    assert_int_equal(count_events(ALARM_EV_CLEARED), 0);
    /* calm, but not for calm_s yet */
    alarm_state s0 = state("room-1", "temperature", 0);
    gw_alarms_on_state(a, &s0, t0 + 100000);
    gw_alarms_tick(a, t0 + 105000);
    assert_int_equal(count_events(ALARM_EV_CLEARED), 0);
    gw_alarms_tick(a, t0 + 110000);
    assert_int_equal(count_events(ALARM_EV_CLEARED), 1);
    assert_int_equal(evs[nev - 1].alarm.state, ALARM_CLEARED);
    assert_true(evs[nev - 1].alarm.cleared_at == t0 + 110000);
    assert_int_equal(last_active_n, 0);
    /* the next fault is a new alarm with a new id */
    anomaly y = an("room-1", "temperature", ANOMALY_CHANGE_POINT, 31, 0.9, 2000);
    gw_alarms_on_anomaly(a, &y, t0 + 200000);
    assert_int_equal(count_events(ALARM_EV_OPENED), 2);
    assert_string_not_equal(evs[nev - 1].alarm.id, last.id);
    gw_alarms_stats_get(a, &(gw_alarms_stats){0});
    gw_alarms_destroy(a);
}

static void test_point_and_silent(void **st)
{
    (void)st;
    gw_alarms *a;
    gw_alarms_options o = opts();
    nev = 0;
    assert_int_equal(gw_alarms_create(&a, &o), 0);
    /* a point alert clears after point_calm_s without a repeat */
    anomaly p = an("s1", "t", ANOMALY_POINT, 22, 0.7, 1);
    gw_alarms_on_anomaly(a, &p, 10000);
    gw_alarms_tick(a, 14000);
    assert_int_equal(count_events(ALARM_EV_CLEARED), 0);
    p.ts = 2;
    anomaly_make_id(&p);
    gw_alarms_on_anomaly(a, &p, 14000); /* a repeat folds in and restarts the wait */
    gw_alarms_tick(a, 18000);
    assert_int_equal(count_events(ALARM_EV_CLEARED), 0);
    gw_alarms_tick(a, 19000);
    assert_int_equal(count_events(ALARM_EV_CLEARED), 1);
    assert_int_equal(evs[nev - 1].alarm.count, 2);
    assert_int_equal(evs[nev - 1].alarm.severity, ALARM_MINOR);
    gw_alarms_destroy(a);

    /* point_calm_s = 0: opens and clears at once */
    o.point_calm_s = 0;
    nev = 0;
    assert_int_equal(gw_alarms_create(&a, &o), 0);
    gw_alarms_on_anomaly(a, &p, 20000);
    assert_int_equal(nev, 2);
    assert_int_equal(evs[0].event, ALARM_EV_OPENED);
    assert_int_equal(evs[1].event, ALARM_EV_CLEARED);

    /* silent: critical, never cleared by time, cleared by a reading */
    nev = 0;
    anomaly s = an("s2", "all", ANOMALY_SILENT, 0, 1, 3);
    gw_alarms_on_anomaly(a, &s, 30000);
    assert_string_equal(evs[0].alarm.kind, "silent");
    assert_int_equal(evs[0].alarm.severity, ALARM_CRITICAL);
    gw_alarms_tick(a, 30000 + 86400000LL);
    assert_int_equal(count_events(ALARM_EV_CLEARED), 0);
    reading r1 = {.sensor_id = "s1", .n = 1, .m = {{"t", 1}}};
    reading r2 = {.sensor_id = "s2", .n = 1, .m = {{"t", 1}}};
    gw_alarms_on_reading(a, &r1, 40000); /* another sensor's reading */
    assert_int_equal(count_events(ALARM_EV_CLEARED), 0);
    gw_alarms_on_reading(a, &r2, 40000);
    assert_int_equal(count_events(ALARM_EV_CLEARED), 1);
    /* a metric that stopped: only a reading that carries it clears it */
    anomaly hm = an("s2", "humidity", ANOMALY_SILENT, 10, 1, 5);
    gw_alarms_on_anomaly(a, &hm, 41000);
    gw_alarms_on_reading(a, &r2, 42000);
    assert_int_equal(count_events(ALARM_EV_CLEARED), 1);
    reading r3 = {.sensor_id = "s2", .n = 2, .m = {{"t", 1}, {"humidity", 40}}};
    gw_alarms_on_reading(a, &r3, 43000);
    assert_int_equal(count_events(ALARM_EV_CLEARED), 2);
    /* and by the detector's in_alarm=false */
    s.ts = 4;
    anomaly_make_id(&s);
    gw_alarms_on_anomaly(a, &s, 50000);
    alarm_state calm = state("s2", "all", 0);
    gw_alarms_on_state(a, &calm, 51000);
    assert_int_equal(count_events(ALARM_EV_CLEARED), 3);
    gw_alarms_destroy(a);
}

static void test_actions(void **st)
{
    (void)st;
    gw_alarms *a;
    gw_alarms_options o = opts();
    alarm_obj x;
    nev = 0;
    assert_int_equal(gw_alarms_create(&a, &o), 0);
    anomaly c = an("s1", "t", ANOMALY_CONTEXTUAL, 22, 0.8, 1);
    gw_alarms_on_anomaly(a, &c, 1000);
    char id[ALARM_ID_MAX];
    strcpy(id, evs[0].alarm.id);
    assert_int_equal(evs[0].alarm.severity, ALARM_MAJOR);

    assert_int_equal(gw_alarms_act(a, id, GW_ALARM_ACK, "alice", NULL, 0, 2000, &x), 0);
    assert_true(x.acked);
    assert_string_equal(x.acked_by, "alice");
    assert_int_equal(evs[nev - 1].event, ALARM_EV_ACKNOWLEDGED);
    assert_string_equal(evs[nev - 1].by, "alice");
    size_t before = nev;
    assert_int_equal(gw_alarms_act(a, id, GW_ALARM_ACK, "bob", NULL, 0, 2500, &x), 0);
    assert_int_equal(nev, before); /* a second ack changes nothing */
    assert_string_equal(x.acked_by, "alice");

    assert_int_equal(gw_alarms_act(a, id, GW_ALARM_MUTE, "bob", NULL, 30, 3000, &x), 0);
    assert_true(x.muted_until == 3000 + 30 * 60000);
    assert_int_equal(evs[nev - 1].event, ALARM_EV_MUTED);

    assert_int_equal(
        gw_alarms_act(a, id, GW_ALARM_FALSE_POSITIVE, "carol", "door open", 0, 4000, &x), 0);
    assert_true(x.false_positive && x.state == ALARM_CLEARED);
    assert_int_equal(evs[nev - 2].event, ALARM_EV_FALSE_POSITIVE);
    assert_string_equal(evs[nev - 2].note, "door open");
    assert_int_equal(evs[nev - 1].event, ALARM_EV_CLEARED);
    assert_string_equal(evs[nev - 1].by, "carol");

    /* errors */
    assert_int_equal(gw_alarms_act(a, "nope", GW_ALARM_ACK, "x", NULL, 0, 1, NULL),
                     GW_ALARMS_ERR_NOT_FOUND);
    assert_int_equal(gw_alarms_act(a, id, GW_ALARM_ACK, "", NULL, 0, 1, NULL), GW_ALARMS_ERR_ARG);
    assert_int_equal(gw_alarms_act(a, id, GW_ALARM_MUTE, "x", NULL, -1, 1, NULL),
                     GW_ALARMS_ERR_ARG);

    /* history: the anomaly and every action but updates, with who */
    int found;
    json_t *j = gw_alarms_get_json(a, id, &found);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "anomalies")), 1);
    json_t *acts = json_object_get(j, "actions");
    assert_int_equal(json_array_size(acts), 5); /* opened ack muted fp cleared */
    assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 3), "note")),
                        "door open");
    json_decref(j);
    assert_null(gw_alarms_get_json(a, "nope", &found));
    assert_int_equal(found, 0);

    /* mute a sensor for maintenance: active alarms muted, new ones open muted */
    nev = 0;
    anomaly d = an("s9", "h", ANOMALY_CHANGE_POINT, 22, 0.5, 1);
    gw_alarms_on_anomaly(a, &d, 5000);
    assert_int_equal(evs[0].alarm.severity, ALARM_WARNING);
    assert_int_equal(gw_alarms_mute_scope(a, "s9", NULL, 60, "ops", 6000), 1);
    assert_int_equal(evs[nev - 1].event, ALARM_EV_MUTED);
    anomaly e = an("s9", "t", ANOMALY_CHANGE_POINT, 22, 0.5, 2);
    gw_alarms_on_anomaly(a, &e, 7000);
    assert_true(evs[nev - 1].alarm.muted_until == 6000 + 3600000);
    anomaly f = an("s8", "t", ANOMALY_CHANGE_POINT, 22, 0.5, 2);
    gw_alarms_on_anomaly(a, &f, 7000);
    assert_true(evs[nev - 1].alarm.muted_until == 0);
    assert_int_equal(gw_alarms_mute_scope(a, "bad id", NULL, 60, "ops", 6000), GW_ALARMS_ERR_ARG);
    gw_alarms_destroy(a);
}

static void test_persist_and_bound(void **st)
{
    (void)st;
    char dir[] = "/tmp/test_gw_alarms_XXXXXX", path[128], bad[160];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/alarms.json", dir);
    snprintf(bad, sizeof bad, "%s.bad", path);
    gw_alarms *a;
    gw_alarms_options o = opts();
    o.path = path;
    o.max_alarms = 16;
    nev = 0;
    assert_int_equal(gw_alarms_create(&a, &o), 0);
    char sensor[16];
    for (int i = 0; i < 16; i++) {
        snprintf(sensor, sizeof sensor, "s%d", i);
        anomaly x = an(sensor, "t", ANOMALY_CHANGE_POINT, 22, 0.7, i);
        assert_int_equal(gw_alarms_on_anomaly(a, &x, 1000 + i), 0);
    }
    /* every slot active: the 17th is refused and counted */
    anomaly y = an("s99", "t", ANOMALY_CHANGE_POINT, 22, 0.7, 1);
    assert_int_equal(gw_alarms_on_anomaly(a, &y, 2000), GW_ALARMS_ERR_FULL);
    char id0[ALARM_ID_MAX];
    strcpy(id0, evs[0].alarm.id);
    assert_int_equal(gw_alarms_act(a, id0, GW_ALARM_ACK, "alice", NULL, 0, 2100, NULL), 0);
    assert_int_equal(gw_alarms_mute_scope(a, "s3", "t", 10, "ops", 2200), 1);
    assert_int_equal(gw_alarms_save(a), 0);
    gw_alarms_destroy(a);

    /* a restart finds the same table */
    assert_int_equal(gw_alarms_create(&a, &o), 0);
    gw_alarms_stats s;
    gw_alarms_stats_get(a, &s);
    assert_int_equal(s.total, 16);
    assert_int_equal(s.active, 16);
    assert_int_equal(s.mutes, 1);
    int found;
    json_t *j = gw_alarms_get_json(a, id0, &found);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(json_object_get(j, "alarm"), "acked")));
    json_decref(j);
    /* still folding into the restored alarm, not a new one */
    nev = 0;
    anomaly z = an("s0", "t", ANOMALY_CHANGE_POINT, 22, 0.7, 50);
    gw_alarms_on_anomaly(a, &z, 3000);
    assert_int_equal(evs[0].event, ALARM_EV_UPDATED);
    assert_string_equal(evs[0].alarm.id, id0);
    assert_int_equal(evs[0].alarm.count, 2);
    /* clear one: the next new alarm evicts it */
    assert_int_equal(gw_alarms_act(a, id0, GW_ALARM_CLEAR, "alice", NULL, 0, 3100, NULL), 0);
    assert_int_equal(gw_alarms_on_anomaly(a, &y, 3200), 0);
    gw_alarms_stats_get(a, &s);
    assert_int_equal(s.total, 16);
    assert_int_equal(s.evicted, 1);
    assert_null(gw_alarms_get_json(a, id0, &found));
    /* pages: newest first, cursor continues, no duplicates */
    gw_alarms_query q = {.state = -1, .severity = -1, .limit = 10};
    json_t *p1 = gw_alarms_list_json(a, &q);
    assert_int_equal(json_array_size(json_object_get(p1, "alarms")), 10);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(p1, "alarms"), 0), "sensor_id")),
                        "s99");
    const char *cur = json_string_value(json_object_get(p1, "next_cursor"));
    assert_non_null(cur);
    q.cursor = strtoull(cur, NULL, 10);
    json_t *p2 = gw_alarms_list_json(a, &q);
    assert_int_equal(json_array_size(json_object_get(p2, "alarms")), 6);
    assert_true(json_is_null(json_object_get(p2, "next_cursor")));
    json_decref(p1);
    json_decref(p2);
    q = (gw_alarms_query){.state = ALARM_ACTIVE, .sensor_id = "s5", .severity = -1, .limit = 10};
    p1 = gw_alarms_list_json(a, &q);
    assert_int_equal(json_array_size(json_object_get(p1, "alarms")), 1);
    json_decref(p1);
    /* a time range: opened before until (s1..s4 at 1001..1004; s0 was evicted) */
    q = (gw_alarms_query){.state = -1, .severity = -1, .limit = 100, .until = 1005};
    p1 = gw_alarms_list_json(a, &q);
    assert_int_equal(json_array_size(json_object_get(p1, "alarms")), 4);
    json_decref(p1);
    gw_alarms_destroy(a);

    /* GATEWAY_ALARMS_MAX lowered below what was saved: what fits is kept */
    o.max_alarms = 8;
    assert_int_equal(gw_alarms_create(&a, &o), 0);
    gw_alarms_stats_get(a, &s);
    assert_int_equal(s.total, 8);
    assert_int_equal(s.load_errors, 0);
    gw_alarms_destroy(a);
    o.max_alarms = 16;

    /* a damaged file: kept as .bad, the gateway starts empty */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"version\":1,\"alarms\":[{\"seq\":1", f);
    fclose(f);
    assert_int_equal(gw_alarms_create(&a, &o), 0);
    gw_alarms_stats_get(a, &s);
    assert_int_equal(s.total, 0);
    assert_int_equal(s.load_errors, 1);
    assert_int_equal(access(bad, F_OK), 0);
    gw_alarms_destroy(a);
    unlink(bad);
    unlink(path);
    rmdir(dir);
}

static void test_calm_rules(void **st)
{
    (void)st;
    char err[200];
    assert_int_equal(gw_alarms_calm_rules_check(NULL, err, sizeof err), 0);
    assert_int_equal(gw_alarms_calm_rules_check("", err, sizeof err), 0);
    assert_int_equal(
        gw_alarms_calm_rules_check("change_point=900,pump-/*=60,pump-7/point=0", err, sizeof err),
        0);
    const char *bad[] = {"point",       "point=-1", "point=x", "Point=1",
                         "a b/point=1", ",point=1", "=1",      "pump/=1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        if (gw_alarms_calm_rules_check(bad[i], err, sizeof err) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(strstr(err, "ALARM_CALM_RULES"));
    }
    gw_alarms *a;
    gw_alarms_options o = opts(); /* calm 10 s, point 5 s */
    o.calm_rules = "pump-/*=100,pump-7/change_point=2,contextual=30";
    nev = 0;
    assert_int_equal(gw_alarms_create(&a, &o), 0);
    anomaly p1 = an("pump-1", "p", ANOMALY_POINT, 22, 0.7, 1);        /* 100: prefix, any kind */
    anomaly p7 = an("pump-7", "p", ANOMALY_CHANGE_POINT, 22, 0.7, 1); /* 2: longest prefix */
    anomaly f1 = an("fan-1", "p", ANOMALY_CONTEXTUAL, 22, 0.7, 1);    /* 30: kind, any sensor */
    anomaly f2 = an("fan-2", "p", ANOMALY_POINT, 22, 0.7, 1);         /* 5: no rule */
    gw_alarms_on_anomaly(a, &p1, 0);
    gw_alarms_on_anomaly(a, &p7, 0);
    gw_alarms_on_anomaly(a, &f1, 0);
    gw_alarms_on_anomaly(a, &f2, 0);
    int64_t when[4];
    const char *who[4];
    size_t k = 0;
    for (int64_t t = 1000; t <= 101000 && k < 4; t += 1000) {
        size_t before = nev;
        gw_alarms_tick(a, t);
        for (size_t i = before; i < nev && k < 4; i++)
            if (evs[i].event == ALARM_EV_CLEARED) {
                when[k] = t;
                who[k++] = evs[i].alarm.sensor_id;
            }
    }
    assert_int_equal(k, 4);
    assert_string_equal(who[0], "pump-7");
    assert_true(when[0] == 2000);
    assert_string_equal(who[1], "fan-2");
    assert_true(when[1] == 5000);
    assert_string_equal(who[2], "fan-1");
    assert_true(when[2] == 30000);
    assert_string_equal(who[3], "pump-1");
    assert_true(when[3] == 100000);
    gw_alarms_destroy(a);
    o.calm_rules = "nope";
    assert_int_equal(gw_alarms_create(&a, &o), -1);
}

static void test_severity_rule(void **st)
{
    (void)st;
    gw_alarms_options o = opts();
    assert_int_equal(gw_alarms_severity(&o, "silent", 0, 0, NAN, NAN, 0), ALARM_CRITICAL);
    assert_int_equal(gw_alarms_severity(&o, "point", 0.5, 22, 19, 24, 0), ALARM_WARNING);
    assert_int_equal(gw_alarms_severity(&o, "point", 0.7, 22, 19, 24, 0), ALARM_MINOR);
    assert_int_equal(gw_alarms_severity(&o, "point", 0.8, 22, 19, 24, 0), ALARM_MAJOR);
    /* 3 ranges out: one up; 10 ranges out: critical; long: one up */
    assert_int_equal(gw_alarms_severity(&o, "point", 0.5, 24 + 15, 19, 24, 0), ALARM_MINOR);
    assert_int_equal(gw_alarms_severity(&o, "point", 0.5, 19 - 50, 19, 24, 0), ALARM_CRITICAL);
    assert_int_equal(gw_alarms_severity(&o, "point", 0.8, 22, 19, 24, 3600), ALARM_CRITICAL);
    assert_int_equal(gw_alarms_severity(&o, "point", 0.8, 22, NAN, NAN, 0), ALARM_MAJOR);
}

/* ---- REST -------------------------------------------------------------- */

static gw_config cfg;
static gw G;

static gw_response call(int method, const char *path, const char *body, const char *auth)
{
    gw_request rq;
    memset(&rq, 0, sizeof rq);
    rq.method = method;
    rq.path = path;
    rq.body = body;
    rq.body_len = body ? strlen(body) : 0;
    rq.authorization = auth;
    static char pathbuf[256], args[256];
    const char *q = strchr(path, '?');
    if (q) {
        snprintf(pathbuf, sizeof pathbuf, "%.*s", (int)(q - path), path);
        rq.path = pathbuf;
        snprintf(args, sizeof args, "%s", q + 1);
        for (char *tok = strtok(args, "&"); tok; tok = strtok(NULL, "&")) {
            char *eq = strchr(tok, '=');
            gw_arg *a = &rq.args[rq.nargs++];
            snprintf(a->name, sizeof a->name, "%.*s", (int)(eq ? eq - tok : (long)strlen(tok)),
                     tok);
            snprintf(a->value, sizeof a->value, "%s", eq ? eq + 1 : "");
        }
    }
    gw_response rs;
    memset(&rs, 0, sizeof rs);
    gw_api_handle(&G, &rq, &rs);
    return rs;
}

static json_t *call_json(int method, const char *path, const char *body, int status)
{
    gw_response rs = call(method, path, body, "Bearer sekrit");
    if (rs.status != status)
        fail_msg("%s: status %d, want %d: %.*s", path, rs.status, status, (int)rs.len, rs.body);
    json_t *j = json_loadb(rs.body, rs.len, 0, NULL);
    assert_non_null(j);
    gw_api_response_free(&rs);
    return j;
}

static const char *code_of(int method, const char *path, const char *body, const char *auth,
                           int status)
{
    static char code[64];
    gw_response rs = call(method, path, body, auth);
    if (rs.status != status)
        fail_msg("%s: status %d, want %d: %.*s", path, rs.status, status, (int)rs.len, rs.body);
    json_t *j = json_loadb(rs.body, rs.len, 0, NULL);
    snprintf(code, sizeof code, "%s", json_string_value(json_object_get(j, "code")));
    json_decref(j);
    gw_api_response_free(&rs);
    return code;
}

static void test_rest(void **st)
{
    (void)st;
    char dir[] = "/tmp/test_gw_alarms_rest_XXXXXX";
    assert_non_null(mkdtemp(dir));
    memset(&cfg, 0, sizeof cfg);
    memset(&G, 0, sizeof G);
    cfg.token = "sekrit";
    cfg.max_body = 65536;
    cfg.state_dir = dir;
    cfg.alarms = opts();
    cfg.alarms_max = 100;
    G.cfg = &cfg;
    gw_metrics_init(&G.metrics);
    assert_int_equal(gw_bus_create(&G.bus, 1000, NULL, NULL), 0);
    assert_int_equal(gw_alarms_api_create(&G), 0);

    anomaly x = an("room-1", "temperature", ANOMALY_CONTEXTUAL, 22, 0.8, 1);
    gw_alarms_on_anomaly(G.alarms, &x, 1000);
    json_t *j = call_json(GW_M_GET, "/api/alarms?state=active", NULL, 200);
    json_t *first = json_array_get(json_object_get(j, "alarms"), 0);
    char id[ALARM_ID_MAX], path[128];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(first, "id")));
    assert_int_equal(json_integer_value(json_object_get(j, "active")), 1);
    json_decref(j);

    /* ack with a user name */
    snprintf(path, sizeof path, "/api/alarms/%s/ack", id);
    j = call_json(GW_M_POST, path, "{\"by\":\"alice\"}", 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "alarm"), "acked_by")),
                        "alice");
    json_decref(j);
    /* mute without a name: the token holder */
    snprintf(path, sizeof path, "/api/alarms/%s/mute", id);
    j = call_json(GW_M_POST, path, "{\"minutes\":15}", 200);
    assert_true(json_integer_value(json_object_get(json_object_get(j, "alarm"), "muted_until")) >
                0);
    json_decref(j);
    snprintf(path, sizeof path, "/api/alarms/%s/false_positive", id);
    j = call_json(GW_M_POST, path, "{\"note\":\"calibration\"}", 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "alarm"), "state")),
                        "cleared");
    json_decref(j);
    snprintf(path, sizeof path, "/api/alarms/%s", id);
    j = call_json(GW_M_GET, path, NULL, 200);
    json_t *acts = json_object_get(j, "actions");
    assert_string_equal(json_string_value(json_object_get(json_array_get(acts, 2), "by")), "token");
    json_decref(j);
    j = call_json(GW_M_GET, "/api/alarms?state=cleared&severity=major&sensor_id=room-1", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "alarms")), 1);
    json_decref(j);
    /* time range: active at some time in [since, until) (opened at 1000, cleared now) */
    j = call_json(GW_M_GET, "/api/alarms?state=cleared&since=1&until=1000", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "alarms")), 0);
    json_decref(j);
    j = call_json(GW_M_GET, "/api/alarms?state=cleared&since=1&until=1001", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "alarms")), 1);
    json_decref(j);
    j = call_json(GW_M_GET, "/api/alarms?state=cleared&since=4102444800000", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "alarms")), 0); /* cleared before */
    json_decref(j);
    j = call_json(GW_M_POST, "/api/alarms/mute",
                  "{\"sensor_id\":\"room-1\",\"metric\":\"temperature\",\"minutes\":5}", 200);
    assert_int_equal(json_integer_value(json_object_get(j, "muted")), 0);
    json_decref(j);

    /* every change went to the WebSocket bus as {"type":"alarm",...} */
    size_t n = 0;
    for (gw_msg *m = gw_bus_take(G.bus), *next; m; m = next, n++) {
        next = m->next;
        assert_int_equal(m->kind, GW_KIND_ALARM);
        size_t h = m->frame[1] < 126 ? 2 : 4;
        assert_memory_equal(m->frame + h, "{\"type\":\"alarm\",\"data\":{\"event\":", 32);
        gw_msg_unref(m);
    }
    assert_int_equal(n, 5); /* opened, acknowledged, muted, false_positive, cleared */

    /* errors: no token, bad verbs, ids, queries, bodies */
    assert_string_equal(code_of(GW_M_POST, path, NULL, NULL, 405), "method"); /* GET only */
    snprintf(path, sizeof path, "/api/alarms/%s/ack", id);
    assert_string_equal(code_of(GW_M_POST, path, NULL, NULL, 401), "unauthorized");
    assert_string_equal(code_of(GW_M_GET, "/api/alarms/0123456789abcdef", NULL, NULL, 404),
                        "not_found");
    assert_string_equal(code_of(GW_M_GET, "/api/alarms?state=open", NULL, NULL, 400), "state");
    assert_string_equal(code_of(GW_M_GET, "/api/alarms?limit=0", NULL, NULL, 400), "limit");
    assert_string_equal(code_of(GW_M_GET, "/api/alarms?severity=high", NULL, NULL, 400),
                        "severity");
    assert_string_equal(code_of(GW_M_GET, "/api/alarms?cursor=x", NULL, NULL, 400), "cursor");
    assert_string_equal(code_of(GW_M_GET, "/api/alarms?since=yesterday", NULL, NULL, 400), "since");
    assert_string_equal(code_of(GW_M_GET, "/api/alarms?since=10&until=5", NULL, NULL, 400),
                        "until");
    snprintf(path, sizeof path, "/api/alarms/%s/explode", id); /* no such route: the router's 405 */
    assert_string_equal(code_of(GW_M_POST, path, NULL, "Bearer sekrit", 405), "method");
    snprintf(path, sizeof path, "/api/alarms/%s/mute", id);
    assert_string_equal(code_of(GW_M_POST, path, "{\"minutes\":-3}", "Bearer sekrit", 400),
                        "minutes");
    assert_string_equal(code_of(GW_M_POST, path, "[1]", "Bearer sekrit", 400), "json");
    assert_string_equal(
        code_of(GW_M_POST, path, "{\"minutes\":1,\"by\":\"a\\nb\"}", "Bearer sekrit", 400), "by");
    assert_string_equal(
        code_of(GW_M_POST, "/api/alarms/mute", "{\"minutes\":1}", "Bearer sekrit", 400),
        "sensor_id");

    gw_alarms_destroy(G.alarms);
    gw_bus_destroy(G.bus);
    char file[128];
    snprintf(file, sizeof file, "%s/alarms.json", dir);
    unlink(file);
    rmdir(dir);
}

/* Each action's on-chain proof: null until chain/logged confirms the
 * event id the chain logger computes from the gateway's own event
 * (eth/anomaly_log.h), then {tx_hash, block_number, seq, batch}; kept
 * across a restart; an anomaly's id or another sensor matches nothing. */
static void test_action_proofs(void **st)
{
    (void)st;
    char dir[] = "/tmp/test_gw_alarms_XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/alarms.json", dir);
    gw_alarms *a;
    gw_alarms_options o = opts();
    o.path = path;
    nev = 0;
    assert_int_equal(gw_alarms_create(&a, &o), 0);
    anomaly x = an("p1", "t", ANOMALY_POINT, 99, 0.9, 10);
    assert_int_equal(gw_alarms_on_anomaly(a, &x, 1000), 0);
    char id[ALARM_ID_MAX];
    strcpy(id, evs[0].alarm.id);
    assert_int_equal(gw_alarms_act(a, id, GW_ALARM_ACK, "alice", NULL, 0, 2000, NULL), 0);
    assert_int_equal(nev, 2);
    /* the ids the chain logger gives the two events it receives */
    alarm_log_event le[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(anomaly_log_alarm_from_event(&evs[i], &le[i]), 0);
    const char *tx = "0x1111111111111111111111111111111111111111111111111111111111111111";
    int found;
    json_t *j = gw_alarms_get_json(a, id, &found);
    json_t *acts = json_object_get(j, "actions");
    assert_int_equal(json_array_size(acts), 2);
    assert_true(json_is_null(json_object_get(json_array_get(acts, 0), "proof")));
    assert_true(json_is_null(json_object_get(json_array_get(acts, 1), "proof")));
    json_decref(j);
    /* no match: an anomaly's id, the right id for another sensor, garbage */
    assert_int_equal(gw_alarms_mark_logged(a, "p1", x.id, tx, 5, 0, 0), 0);
    assert_int_equal(gw_alarms_mark_logged(a, "p2", le[1].id, tx, 5, 1, 0), 0);
    assert_int_equal(gw_alarms_mark_logged(a, "p1", "zz", tx, 5, 1, 0), 0);
    /* the acknowledgement is confirmed (seq 7, batch 3); opened is pending */
    assert_int_equal(gw_alarms_mark_logged(a, "p1", le[1].id, tx, 12, 7, 3), 1);
    assert_int_equal(gw_alarms_save(a), 0);
    gw_alarms_destroy(a);
    assert_int_equal(gw_alarms_create(&a, &o), 0);
    j = gw_alarms_get_json(a, id, &found);
    acts = json_object_get(j, "actions");
    assert_true(json_is_null(json_object_get(json_array_get(acts, 0), "proof")));
    json_t *pr = json_object_get(json_array_get(acts, 1), "proof");
    assert_string_equal(json_string_value(json_object_get(pr, "tx_hash")), tx);
    assert_int_equal(json_integer_value(json_object_get(pr, "block_number")), 12);
    assert_int_equal(json_integer_value(json_object_get(pr, "seq")), 7);
    assert_int_equal(json_integer_value(json_object_get(pr, "batch")), 3);
    json_decref(j);
    /* opened, confirmed without a batch number: batch null */
    assert_int_equal(gw_alarms_mark_logged(a, "p1", le[0].id, tx, 11, 6, -1), 1);
    j = gw_alarms_get_json(a, id, &found);
    pr = json_object_get(json_array_get(json_object_get(j, "actions"), 0), "proof");
    assert_int_equal(json_integer_value(json_object_get(pr, "seq")), 6);
    assert_true(json_is_null(json_object_get(pr, "batch")));
    json_decref(j);
    gw_alarms_destroy(a);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_alarm_per_fault),
        cmocka_unit_test(test_point_and_silent),
        cmocka_unit_test(test_actions),
        cmocka_unit_test(test_action_proofs),
        cmocka_unit_test(test_persist_and_bound),
        cmocka_unit_test(test_severity_rule),
        cmocka_unit_test(test_rest),
        cmocka_unit_test(test_calm_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
