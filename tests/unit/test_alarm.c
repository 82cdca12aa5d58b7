/* common/bus/alarm: the alarm_obj object, its lifecycle event and a sensor's
 * retained alarms. The encoder writes the exact documented bytes; they
 * decode back field for field; the decoders refuse what the gateway could
 * not have written; and the two alarm topics are built and parsed here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka.h needs the three above first */
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/splitmix64.h"
#include "bus/alarm.h"
#include "bus/alarm_feedback.h"
#include "bus/topics.h"

static const char AID[] = "8d1f5e3c4b2a69780f1e2d3c4b5a69788d1f5e3c4b2a69780f1e2d3c4b5a6978";

static alarm_obj sample(void)
{
    alarm_obj a;
    memset(&a, 0, sizeof a);
    strcpy(a.sensor_id, "room-1");
    strcpy(a.metric, "temperature");
    strcpy(a.kind, "point");
    a.severity = ALARM_MAJOR;
    a.state = ALARM_ACTIVE;
    a.opened_at = 1733580000500;
    a.last_at = 1733580060500;
    a.count = 3;
    a.peak_value = 81.5;
    a.peak_score = 0.91;
    strcpy(a.last_anomaly_id, AID);
    strcpy(a.explanation, "temperature 81.5 is above 19.1..24.3");
    alarm_make_id(&a);
    return a;
}

static void test_encode_exact(void **state)
{
    (void)state;
    alarm_obj a = sample();
    char buf[2048], want[2048];
    assert_int_equal(strlen(a.id), 16);
    snprintf(
        want, sizeof want,
        "{\"id\":\"%s\",\"sensor_id\":\"room-1\",\"metric\":\"temperature\",\"kind\":\"point\","
        "\"severity\":\"major\",\"state\":\"active\",\"acked\":false,\"acked_by\":null,"
        "\"muted_until\":null,\"opened_at\":1733580000500,\"cleared_at\":null,\"count\":3,"
        "\"peak_value\":81.5,\"peak_score\":0.91,\"last_anomaly_id\":\"%s\","
        "\"explanation\":\"temperature 81.5 is above 19.1..24.3\","
        "\"last_at\":1733580060500,\"false_positive\":false}",
        a.id, AID);
    assert_int_equal(alarm_to_json(&a, buf, sizeof buf), (int)strlen(want));
    assert_string_equal(buf, want);
    /* set fields are no longer null */
    a.acked = 1;
    strcpy(a.acked_by, "alice");
    a.muted_until = 1733583600000;
    a.state = ALARM_CLEARED;
    a.cleared_at = 1733580120000;
    assert_true(alarm_to_json(&a, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "\"acked\":true,\"acked_by\":\"alice\","
                                "\"muted_until\":1733583600000"));
    assert_non_null(strstr(buf, "\"state\":\"cleared\""));
    assert_non_null(strstr(buf, "\"cleared_at\":1733580120000"));
    /* refused: small buffer, NULL, non-finite numbers, bad enums */
    assert_int_equal(alarm_to_json(&a, buf, 40), -1);
    assert_int_equal(alarm_to_json(NULL, buf, sizeof buf), -1);
    a.peak_score = NAN;
    assert_int_equal(alarm_to_json(&a, buf, sizeof buf), -1);
    a = sample();
    a.severity = (alarm_severity)7;
    assert_int_equal(alarm_to_json(&a, buf, sizeof buf), -1);
}

static void test_id(void **state)
{
    (void)state;
    alarm_obj a = sample(), b = sample();
    assert_string_equal(a.id, b.id); /* deterministic */
    assert_true(alarm_id_valid(a.id));
    b.opened_at++;
    alarm_make_id(&b);
    assert_string_not_equal(a.id, b.id);
    b = sample();
    strcpy(b.kind, "silent");
    alarm_make_id(&b);
    assert_string_not_equal(a.id, b.id);
    assert_false(alarm_id_valid(""));
    assert_false(alarm_id_valid("a/b"));
    assert_false(alarm_id_valid(NULL));
    assert_true(alarm_kind_valid("change_point"));
    assert_false(alarm_kind_valid("Point"));
    assert_false(alarm_kind_valid("aaaaaaaaaaaaaaaaaaaaaaaa")); /* 24 > 23 */
    assert_true(alarm_who_valid("Jane Doe <ops>"));
    assert_false(alarm_who_valid("a\nb"));
    assert_false(alarm_who_valid(""));
}

static void check_same(const alarm_obj *a, const alarm_obj *d)
{
    assert_string_equal(d->id, a->id);
    assert_string_equal(d->sensor_id, a->sensor_id);
    assert_string_equal(d->metric, a->metric);
    assert_string_equal(d->kind, a->kind);
    assert_int_equal(d->severity, a->severity);
    assert_int_equal(d->state, a->state);
    assert_int_equal(d->acked, a->acked);
    assert_string_equal(d->acked_by, a->acked_by);
    assert_true(d->muted_until == a->muted_until && d->opened_at == a->opened_at &&
                d->cleared_at == a->cleared_at && d->last_at == a->last_at && d->count == a->count);
    assert_true(d->peak_value == a->peak_value && d->peak_score == a->peak_score);
    assert_string_equal(d->last_anomaly_id, a->last_anomaly_id);
    assert_string_equal(d->explanation, a->explanation);
    assert_int_equal(d->false_positive, a->false_positive);
}

static void test_round_trip(void **state)
{
    (void)state;
    alarm_obj a = sample(), d;
    char buf[2048], err[128];
    int n = alarm_to_json(&a, buf, sizeof buf);
    assert_int_equal(alarm_from_json(buf, (size_t)n, &d, err, sizeof err), 0);
    check_same(&a, &d);
    a.acked = 1;
    strcpy(a.acked_by, "bob");
    a.muted_until = 1;
    a.state = ALARM_CLEARED;
    a.cleared_at = 1733580120000;
    a.severity = ALARM_CRITICAL;
    a.false_positive = 1;
    a.last_anomaly_id[0] = 0;
    n = alarm_to_json(&a, buf, sizeof buf);
    assert_int_equal(alarm_from_json(buf, (size_t)n, &d, err, sizeof err), 0);
    check_same(&a, &d);
    /* last_at and false_positive may be absent (older writers) */
    const char *old = "{\"id\":\"x1\",\"sensor_id\":\"s\",\"metric\":\"m\",\"kind\":\"silent\","
                      "\"severity\":\"critical\",\"state\":\"active\",\"acked\":false,"
                      "\"acked_by\":null,\"muted_until\":null,\"opened_at\":5,\"cleared_at\":null,"
                      "\"count\":1,\"peak_value\":0,\"peak_score\":1,\"last_anomaly_id\":null,"
                      "\"explanation\":\"\",\"extra\":[1]}";
    assert_int_equal(alarm_from_json(old, strlen(old), &d, err, sizeof err), 0);
    assert_true(d.last_at == 5 && d.false_positive == 0 && d.severity == ALARM_CRITICAL);
}

static void test_bad_alarm(void **state)
{
    (void)state;
    alarm_obj a = sample(), d;
    char good[2048], bad[2300], err[160];
    assert_true(alarm_to_json(&a, good, sizeof good) > 0);
    /* each line replaces one member of the good alarm_obj */
    const char *subs[][2] = {
        {"\"id\":\"", "\"id\":\"a/"},
        {"\"sensor_id\":\"room-1\"", "\"sensor_id\":\"room 1\""},
        {"\"metric\":\"temperature\"", "\"metric\":\"\""},
        {"\"kind\":\"point\"", "\"kind\":\"Point\""},
        {"\"severity\":\"major\"", "\"severity\":\"high\""},
        {"\"state\":\"active\"", "\"state\":\"open\""},
        {"\"acked\":false", "\"acked\":0"},
        {"\"acked_by\":null", "\"acked_by\":\"\""},
        {"\"muted_until\":null", "\"muted_until\":\"soon\""},
        {"\"opened_at\":1733580000500", "\"opened_at\":-1"},
        {"\"cleared_at\":null", "\"cleared_at\":1.5"},
        {"\"count\":3", "\"count\":0"},
        {"\"peak_value\":81.5", "\"peak_value\":\"81.5\""},
        {"\"peak_score\":0.91", "\"peak_score\":null"},
        {"\"last_anomaly_id\":\"8d", "\"last_anomaly_id\":\"zz"},
        {"\"explanation\":\"", "\"explanation\":7,\"x\":\""},
        {"\"false_positive\":false", "\"false_positive\":1"},
        {"\"sensor_id\":\"room-1\"", "\"sensor_id\":\"room-1\",\"sensor_id\":\"room-2\""},
        {"\"acked_by\":null,", ""}, /* a required member missing */
    };
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        const char *p = strstr(good, subs[i][0]);
        assert_non_null(p);
        snprintf(bad, sizeof bad, "%.*s%s%s", (int)(p - good), good, subs[i][1],
                 p + strlen(subs[i][0]));
        err[0] = 0;
        if (alarm_from_json(bad, strlen(bad), &d, err, sizeof err) != -1)
            fail_msg("accepted: %s", bad);
        assert_true(err[0] != 0);
    }
    assert_int_equal(alarm_from_json("[]", 2, &d, err, sizeof err), -1);
    assert_int_equal(alarm_from_json("{", 1, &d, err, sizeof err), -1);
    static char big[ALARM_MAX_PAYLOAD + 2];
    memset(big, ' ', sizeof big);
    assert_int_equal(alarm_from_json(big, sizeof big, &d, err, sizeof err), -1);
}

static void test_event(void **state)
{
    (void)state;
    alarm_event ev, d;
    char buf[4096], err[128];
    memset(&ev, 0, sizeof ev);
    ev.event = ALARM_EV_OPENED;
    ev.at = 1733580000500;
    ev.alarm = sample();
    int n = alarm_event_to_json(&ev, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(strncmp(buf,
                             "{\"event\":\"opened\",\"at\":1733580000500,\"by\":null,"
                             "\"alarm\":{\"id\":",
                             strlen("{\"event\":\"opened\",\"at\":1733580000500,\"by\":null,"
                                    "\"alarm\":{\"id\":")),
                     0);
    assert_null(strstr(buf, "\"note\""));
    assert_int_equal(alarm_event_from_json(buf, (size_t)n, &d, err, sizeof err), 0);
    assert_int_equal(d.event, ALARM_EV_OPENED);
    assert_true(d.at == ev.at);
    assert_string_equal(d.by, "");
    assert_string_equal(d.note, "");
    check_same(&ev.alarm, &d.alarm);

    ev.event = ALARM_EV_FALSE_POSITIVE;
    strcpy(ev.by, "alice");
    strcpy(ev.note, "door was open \"on purpose\"");
    n = alarm_event_to_json(&ev, buf, sizeof buf);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "\"by\":\"alice\""));
    assert_non_null(strstr(buf, "\"note\":\"door was open \\\"on purpose\\\"\""));
    assert_int_equal(alarm_event_from_json(buf, (size_t)n, &d, err, sizeof err), 0);
    assert_int_equal(d.event, ALARM_EV_FALSE_POSITIVE);
    assert_string_equal(d.by, "alice");
    assert_string_equal(d.note, ev.note);

    /* every event name round-trips */
    for (int e = ALARM_EV_OPENED; e <= ALARM_EV_REMINDER; e++) {
        alarm_event_type t;
        assert_non_null(alarm_event_name((alarm_event_type)e));
        assert_int_equal(alarm_event_parse(alarm_event_name((alarm_event_type)e), &t), 0);
        assert_int_equal((int)t, e);
    }
    assert_null(alarm_event_name((alarm_event_type)7));

    const char *bad[] = {
        "{\"event\":\"closed\",\"at\":1,\"by\":null,\"alarm\":{}}",
        "{\"event\":\"opened\",\"at\":1,\"by\":null}",
        "{\"event\":\"opened\",\"at\":-1,\"by\":null,\"alarm\":{}}",
        "{\"event\":\"opened\",\"at\":1,\"alarm\":{}}",
        "{\"event\":\"opened\",\"at\":1,\"by\":null,\"alarm\":{\"id\":\"x\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        assert_int_equal(alarm_event_from_json(bad[i], strlen(bad[i]), &d, err, sizeof err), -1);
        assert_true(err[0] != 0);
    }
    ev.event = (alarm_event_type)99;
    assert_int_equal(alarm_event_to_json(&ev, buf, sizeof buf), -1);
}

static void test_sensor(void **state)
{
    (void)state;
    static alarm_obj list[40], got[ALARM_SENSOR_MAX_LIST];
    static char buf[65536];
    char sid[SENSOR_ID_MAX], err[128];
    int64_t at;
    size_t n, total;
    /* nothing open */
    int len = alarm_sensor_to_json("room-1", 7, NULL, 0, buf, sizeof buf);
    assert_string_equal(buf,
                        "{\"sensor_id\":\"room-1\",\"at\":7,\"active_total\":0,\"active\":[]}");
    assert_int_equal(
        alarm_sensor_from_json(buf, (size_t)len, sid, &at, got, 4, &n, &total, err, sizeof err), 0);
    assert_true(n == 0 && total == 0 && at == 7);
    assert_string_equal(sid, "room-1");
    /* more than the list holds: the first ALARM_SENSOR_MAX_LIST, all counted */
    for (size_t i = 0; i < 40; i++) {
        list[i] = sample();
        list[i].opened_at += (int64_t)i;
        alarm_make_id(&list[i]);
    }
    len = alarm_sensor_to_json("room-1", 9, list, 40, buf, sizeof buf);
    assert_true(len > 0);
    assert_int_equal(alarm_sensor_from_json(buf, (size_t)len, sid, &at, got, ALARM_SENSOR_MAX_LIST,
                                            &n, &total, err, sizeof err),
                     0);
    assert_int_equal(n, ALARM_SENSOR_MAX_LIST);
    assert_int_equal(total, 40);
    check_same(&list[5], &got[5]);
    /* an alarm of another sensor in the list is refused */
    list[0] = sample();
    strcpy(list[0].sensor_id, "room-2");
    len = alarm_sensor_to_json("room-1", 9, list, 1, buf, sizeof buf);
    assert_int_equal(
        alarm_sensor_from_json(buf, (size_t)len, sid, &at, got, 4, &n, &total, err, sizeof err),
        -1);
    const char *bad = "{\"sensor_id\":\"room-1\",\"at\":1,\"active_total\":0,\"active\":[{}]}";
    assert_int_equal(
        alarm_sensor_from_json(bad, strlen(bad), sid, &at, got, 4, &n, &total, err, sizeof err),
        -1);
    assert_int_equal(alarm_sensor_to_json(NULL, 1, NULL, 0, buf, sizeof buf), -1);
}

static void test_topics(void **state)
{
    (void)state;
    char buf[TOPICS_MAX];
    assert_int_equal(topics_alarm(buf, sizeof buf, "room-1"), (int)strlen("alarms/room-1"));
    assert_string_equal(buf, "alarms/room-1");
    assert_int_equal(topics_alarm_event(buf, sizeof buf, "room-1"),
                     (int)strlen("alarms/events/room-1"));
    assert_string_equal(buf, "alarms/events/room-1");
    assert_int_equal(topics_alarm_event(buf, 10, "room-1"), TOPICS_ERR_TOOLONG);
    assert_string_equal(buf, "");
    assert_int_equal(topics_alarm(NULL, 10, "x"), TOPICS_ERR_ARG);
    assert_string_equal(topics_filter_alarms(), "alarms/+");
    assert_string_equal(topics_filter_alarm_events(), "alarms/events/+");
    assert_string_equal(topics_alarm_sensor("alarms/room-1"), "room-1");
    assert_null(topics_alarm_sensor("alarms/events/room-1"));
    assert_null(topics_alarm_sensor("alarms/"));
    assert_null(topics_alarm_sensor("anomalies/room-1"));
    assert_string_equal(topics_alarm_event_sensor("alarms/events/room-1"), "room-1");
    assert_null(topics_alarm_event_sensor("alarms/events/"));
    assert_null(topics_alarm_event_sensor("alarms/events/a/b"));
    assert_null(topics_alarm_event_sensor("alarms/room-1"));
}

/* Damaged messages (bytes flipped, cut, inserted) never crash a decoder,
 * and whatever a decoder accepts encodes again and decodes the same. */
static void test_mutations(void **state)
{
    (void)state;
    alarm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.event = ALARM_EV_FALSE_POSITIVE;
    ev.at = 1733580000500;
    strcpy(ev.by, "alice");
    strcpy(ev.note, "n");
    ev.alarm = sample();
    static char good[3][4096], buf[4200], out[4200];
    alarm_feedback fb = {.value = 1, .score = 0.5, .at = 7};
    strcpy(fb.sensor_id, "s");
    strcpy(fb.metric, "m");
    strcpy(fb.kind, "point");
    int len[3] = {alarm_event_to_json(&ev, good[0], sizeof good[0]),
                  alarm_to_json(&ev.alarm, good[1], sizeof good[1]),
                  alarm_feedback_to_json(&fb, good[2], sizeof good[2])};
    uint64_t seed = 17;
    int accepted = 0;
    for (int it = 0; it < 6000; it++) {
        int k = it % 3;
        size_t n = (size_t)len[k];
        memcpy(buf, good[k], n);
        for (int m = 0; m < 1 + (int)(splitmix64_next(&seed) % 4); m++) {
            uint64_t r = splitmix64_next(&seed);
            if (n == 0)
                break;
            size_t at = (size_t)(r % n);
            switch ((r >> 32) % 3) {
            case 0: { /* flip to a JSON-ish byte */
                static const char bytes[] = "{}[]\",:0-9.eEtrufalsn \\x\x00\xff";
                buf[at] = bytes[(r >> 40) % (sizeof bytes - 1)];
                break;
            }
            case 1: /* cut */
                n = at;
                break;
            default: /* insert */
                if (n + 1 < sizeof buf) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = (char)(r >> 48);
                    n++;
                }
            }
        }
        char err[160];
        if (k == 0) {
            alarm_event d, d2;
            if (alarm_event_from_json(buf, n, &d, err, sizeof err) == 0) {
                accepted++;
                int l = alarm_event_to_json(&d, out, sizeof out);
                assert_true(l > 0);
                assert_int_equal(alarm_event_from_json(out, (size_t)l, &d2, err, sizeof err), 0);
                assert_string_equal(d2.alarm.id, d.alarm.id);
            } else {
                assert_true(err[0] != 0);
            }
        } else if (k == 1) {
            alarm_obj d, d2;
            if (alarm_from_json(buf, n, &d, err, sizeof err) == 0) {
                accepted++;
                int l = alarm_to_json(&d, out, sizeof out);
                assert_true(l > 0);
                assert_int_equal(alarm_from_json(out, (size_t)l, &d2, err, sizeof err), 0);
                assert_true(d2.count == d.count && d2.opened_at == d.opened_at);
            }
        } else {
            alarm_feedback d, d2;
            if (alarm_feedback_from_json(buf, n, &d, err, sizeof err) == 0) {
                accepted++;
                int l = alarm_feedback_to_json(&d, out, sizeof out);
                assert_true(l > 0);
                assert_int_equal(alarm_feedback_from_json(out, (size_t)l, &d2, err, sizeof err), 0);
            }
        }
    }
    /* some mutations are harmless (a changed digit): the test saw both sides */
    assert_true(accepted > 0 && accepted < 6000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_exact), cmocka_unit_test(test_id),
        cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_bad_alarm),
        cmocka_unit_test(test_event),        cmocka_unit_test(test_sensor),
        cmocka_unit_test(test_topics),       cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
