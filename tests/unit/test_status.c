/* common/bus/status: the rules a report's writer and reader share. A report
 * built with status_add parses back; anything a writer could not produce
 * (wrong topic, bad names, NaN, negative counters, too many metrics, too
 * large) is refused with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka.h needs the three above first */
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bus/status.h"

/* A report around `metrics` (stolen), as status_pub_tick writes it. */
static char *report(const char *service, const char *instance, json_t *metrics)
{
    json_t *o = json_pack("{s:s,s:s,s:f,s:f,s:f,s:b,s:o}", "service", service, "instance",
                          instance, "ts", 1764000000.5, "interval_s", 5.0, "uptime_s", 12.0,
                          "final", 0, "metrics", metrics);
    assert_non_null(o);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_non_null(s);
    return s;
}

static int parse(const char *topic, const char *payload, status_report *r, char *err, size_t n)
{
    return status_parse(topic, payload, strlen(payload), r, err, n);
}

static void test_round_trip(void **state)
{
    (void)state;
    json_t *m = json_array();
    assert_int_equal(status_add(m, "readings_invalid_total", 0, "reason", "json", 4), 0);
    assert_int_equal(status_add(m, "pending", 1, NULL, NULL, 7), 0);
    char *p = report("detector", "detector-p1", m);
    status_report r;
    char err[160] = "";
    assert_int_equal(parse("status/detector/detector-p1", p, &r, err, sizeof err), 0);
    assert_string_equal(r.service, "detector");
    assert_string_equal(r.instance, "detector-p1");
    assert_false(r.final);
    assert_true(r.interval_s == 5.0);
    assert_int_equal(json_array_size(r.metrics), 2);
    json_t *first = json_array_get(r.metrics, 0);
    assert_string_equal(json_string_value(json_object_get(first, "name")),
                        "readings_invalid_total");
    assert_true(json_number_value(json_object_get(first, "value")) == 4);
    status_report_free(&r);
    free(p);
}

static void test_add_rejects(void **state)
{
    (void)state;
    json_t *m = json_array();
    assert_int_equal(status_add(m, "Bad-Name", 0, NULL, NULL, 1), -1);
    assert_int_equal(status_add(m, "ok", 0, NULL, NULL, NAN), -1);
    assert_int_equal(status_add(m, "ok", 0, NULL, NULL, INFINITY), -1);
    assert_int_equal(status_add(m, "ok", 0, "9label", "x", 1), -1);
    assert_int_equal(status_add(m, "ok", 0, "label", NULL, 1), -1);
    assert_int_equal(json_array_size(m), 0);
    for (int k = 0; k < STATUS_MAX_METRICS; k++)
        assert_int_equal(status_add(m, "n", 1, NULL, NULL, k), 0);
    assert_int_equal(status_add(m, "n", 1, NULL, NULL, 1), -1); /* full */
    json_decref(m);
    assert_true(status_name_valid("a_b9"));
    assert_false(status_name_valid(""));
    assert_false(status_name_valid("9a"));
    assert_true(status_level_valid("detector-p1.a:b"));
    assert_false(status_level_valid("a/b"));
    assert_false(status_level_valid("+"));
}

static void expect_refused(const char *topic, const char *payload)
{
    status_report r;
    char err[160] = "";
    assert_int_equal(parse(topic, payload, &r, err, sizeof err), -1);
    assert_true(err[0] != 0); /* a reason for the log */
}

static void test_parse_refuses(void **state)
{
    (void)state;
    const char *ok_head = "{\"service\":\"detector\",\"instance\":\"d\",\"ts\":1764000000,"
                          "\"interval_s\":5,\"final\":false,\"metrics\":";
    char buf[1024];
    /* topic and members disagree, or the topic is not status/x/y */
    snprintf(buf, sizeof buf, "%s[]}", ok_head);
    expect_refused("status/chainlogger/d", buf);
    expect_refused("status/detector", buf);
    expect_refused("status/detector/d/extra", buf);
    expect_refused("sensors/detector/d", buf);
    /* not JSON, wrong types */
    expect_refused("status/detector/d", "{");
    expect_refused("status/detector/d", "[]");
    expect_refused("status/detector/d", "{\"service\":\"detector\",\"instance\":\"d\",\"ts\":\"x\","
                                        "\"interval_s\":5,\"metrics\":[]}");
    expect_refused("status/detector/d", "{\"service\":\"detector\",\"instance\":\"d\",\"ts\":-1,"
                                        "\"interval_s\":5,\"metrics\":[]}");
    /* bad metrics */
    const char *bad[] = {
        "[{\"name\":\"Bad\",\"type\":\"counter\",\"value\":1}]",
        "[{\"name\":\"x\",\"type\":\"histogram\",\"value\":1}]",
        "[{\"name\":\"x\",\"type\":\"counter\",\"value\":-1}]",
        "[{\"name\":\"x\",\"type\":\"counter\",\"value\":\"1\"}]",
        "[{\"name\":\"x\",\"type\":\"gauge\",\"value\":1,\"labels\":{\"a\":\"1\",\"b\":\"2\"}}]",
        "[{\"name\":\"x\",\"type\":\"gauge\",\"value\":1,\"labels\":{\"a\":\"\\n\"}}]",
        "[{\"name\":\"x\",\"type\":\"gauge\",\"value\":1,\"labels\":{\"A-\":\"1\"}}]",
        "{\"name\":\"x\"}",
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        snprintf(buf, sizeof buf, "%s%s}", ok_head, bad[k]);
        expect_refused("status/detector/d", buf);
    }
    /* a negative gauge is fine */
    status_report r;
    char err[160];
    snprintf(buf, sizeof buf, "%s[{\"name\":\"x\",\"type\":\"gauge\",\"value\":-3}]}", ok_head);
    assert_int_equal(parse("status/detector/d", buf, &r, err, sizeof err), 0);
    status_report_free(&r);
}

static void test_parse_limits(void **state)
{
    (void)state;
    json_t *m = json_array();
    for (int k = 0; k <= STATUS_MAX_METRICS; k++)
        json_array_append_new(m, json_pack("{s:s,s:s,s:i}", "name", "n", "type", "gauge",
                                           "value", k));
    char *p = report("detector", "d", m);
    expect_refused("status/detector/d", p);
    free(p);
    /* larger than STATUS_MAX_PAYLOAD */
    size_t big = STATUS_MAX_PAYLOAD + 16;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    huge[big] = 0;
    expect_refused("status/detector/d", huge);
    free(huge);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_add_rejects),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_parse_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
