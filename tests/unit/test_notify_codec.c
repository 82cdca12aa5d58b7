/* common/bus/notify: the notifier's test request and channel report. What
 * one side encodes the other decodes to the same thing; anything a writer
 * could not produce (bad names, negative counters, unknown members, a
 * control character in a reason, too many rows) is refused with a reason.
 * And the gateway's side (gw_notify): a report kept per instance, a cleared
 * retained message forgets it, the topic and the payload must agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka.h needs the three above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/notify.h"
#include "gateway/gw_api.h"
#include "gateway/gw_notify.h"

static void test_names(void **state)
{
    (void)state;
    assert_true(notify_channel_name_valid("ops"));
    assert_true(notify_channel_name_valid("a.b-c_9"));
    assert_false(notify_channel_name_valid(""));
    assert_false(notify_channel_name_valid(NULL));
    assert_false(notify_channel_name_valid("a b"));
    assert_false(notify_channel_name_valid("a/b"));
    char long_name[NOTIFY_NAME_MAX + 1];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[NOTIFY_NAME_MAX] = '\0';
    assert_false(notify_channel_name_valid(long_name));
    long_name[NOTIFY_NAME_MAX - 1] = '\0';
    assert_true(notify_channel_name_valid(long_name));
}

static void test_test_request(void **state)
{
    (void)state;
    char buf[128], ch[NOTIFY_NAME_MAX], err[160];
    int n = notify_test_to_json("ops", buf, sizeof buf);
    assert_int_equal(n, (int)strlen("{\"channel\":\"ops\"}"));
    assert_string_equal(buf, "{\"channel\":\"ops\"}");
    assert_int_equal(notify_test_from_json(buf, (size_t)n, ch, sizeof ch, err, sizeof err), 0);
    assert_string_equal(ch, "ops");
    /* every channel: {}, empty payload, null */
    n = notify_test_to_json(NULL, buf, sizeof buf);
    assert_string_equal(buf, "{}");
    assert_int_equal(notify_test_from_json(buf, (size_t)n, ch, sizeof ch, err, sizeof err), 0);
    assert_string_equal(ch, "");
    assert_int_equal(notify_test_from_json("", 0, ch, sizeof ch, err, sizeof err), 0);
    assert_string_equal(ch, "");
    const char *nul = "{\"channel\":null}";
    assert_int_equal(notify_test_from_json(nul, strlen(nul), ch, sizeof ch, err, sizeof err), 0);
    assert_string_equal(ch, "");
    /* refused */
    assert_int_equal(notify_test_to_json("bad name", buf, sizeof buf), -1);
    assert_int_equal(notify_test_to_json("ops", buf, 5), -1);
    const char *bad[] = {"[]", "{\"channel\":\"a b\"}", "{\"channel\":7}", "{\"chan\":\"ops\"}",
                         "not json"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        assert_int_equal(
            notify_test_from_json(bad[i], strlen(bad[i]), ch, sizeof ch, err, sizeof err), -1);
        assert_true(err[0] != '\0');
    }
}

static notify_channel_stat row(const char *name, uint64_t sent, int64_t fail_at, const char *why)
{
    notify_channel_stat r;
    memset(&r, 0, sizeof r);
    snprintf(r.name, sizeof r.name, "%s", name);
    snprintf(r.type, sizeof r.type, "webhook");
    r.sent = sent;
    r.events_sent = sent * 2;
    r.failed = fail_at ? 1 : 0;
    r.retried = 1;
    r.queued = 3;
    r.last_sent_at = sent ? 1733580000400 : 0;
    r.last_failure_at = fail_at;
    snprintf(r.last_failure, sizeof r.last_failure, "%s", why ? why : "");
    return r;
}

static char *dump(json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    return s;
}

static void test_report_round_trip(void **state)
{
    (void)state;
    notify_channel_stat v[2] = {row("ops", 3, 0, NULL), row("down", 0, 1733580000500, "HTTP 503")};
    json_t *doc = notify_channels_to_doc("notifier", 1733580001000, v, 2);
    assert_non_null(doc);
    assert_true(json_is_null(
        json_object_get(json_array_get(json_object_get(doc, "channels"), 0), "last_failure")));
    char *s = json_dumps(doc, JSON_COMPACT), *want = dump(doc), *got;
    json_t *back = NULL;
    char err[160];
    assert_int_equal(notify_channels_parse(s, strlen(s), &back, err, sizeof err), 0);
    got = dump(back);
    assert_string_equal(got, want);
    free(s);
    free(got);
    free(want);
    /* unknown members are dropped, not passed on */
    const char *extra = "{\"instance\":\"n\",\"ts\":1,\"x\":1,\"channels\":[{\"name\":\"a\","
                        "\"type\":\"ntfy\",\"sent_total\":0,\"events_sent_total\":0,"
                        "\"failed_total\":0,\"retried_total\":0,\"rejected_total\":0,"
                        "\"queued\":0,\"last_sent_at\":null,\"last_failure_at\":null,"
                        "\"last_failure\":null,\"secret\":\"s3cret\"}]}";
    assert_int_equal(notify_channels_parse(extra, strlen(extra), &back, err, sizeof err), 0);
    s = dump(back);
    assert_null(strstr(s, "s3cret"));
    assert_null(strstr(s, "\"x\""));
    free(s);
    /* the writer refuses what a reader would */
    notify_channel_stat bad = row("a b", 1, 0, NULL);
    assert_null(notify_channels_to_doc("notifier", 1, &bad, 1));
    assert_null(notify_channels_to_doc("bad/instance", 1, v, 2));
    assert_null(notify_channels_to_doc("notifier", 1, v, NOTIFY_CHANNELS_MAX + 1));
}

static void test_report_refused(void **state)
{
    (void)state;
    const char *row_ok = "\"type\":\"webhook\",\"sent_total\":0,\"events_sent_total\":0,"
                         "\"failed_total\":0,\"retried_total\":0,\"rejected_total\":0,"
                         "\"queued\":0,\"last_sent_at\":null,\"last_failure_at\":null";
    char p[1024], err[160];
    const char *cases[] = {
        "{\"instance\":\"n\",\"ts\":1,\"channels\":[{\"name\":\"a\",%s,\"last_failure\":null,"
        "\"sent_total\":-1}]}",
        "{\"instance\":\"n\",\"ts\":1,\"channels\":[{\"name\":\"a b\",%s}]}",
        "{\"instance\":\"n\",\"ts\":-5,\"channels\":[{\"name\":\"a\",%s}]}",
        "{\"instance\":\"n/x\",\"ts\":1,\"channels\":[{\"name\":\"a\",%s}]}",
        "{\"instance\":\"n\",\"ts\":1,\"channels\":[{\"name\":\"a\",%s,\"last_failure\":\"a\\nb\"}]"
        "}",
        "{\"instance\":\"n\",\"ts\":1,\"channels\":[{\"name\":\"a\",%s,\"last_failure\":5}]}",
        "{\"instance\":\"n\",\"ts\":1,\"channels\":[{\"name\":\"a\",%s,\"queued\":1.5}]}",
        "{\"instance\":\"n\",\"ts\":1,\"channels\":{}}%s",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *out = (json_t *)1;
        snprintf(p, sizeof p, cases[i], row_ok);
        err[0] = '\0';
        assert_int_equal(notify_channels_parse(p, strlen(p), &out, err, sizeof err), -1);
        assert_null(out);
        assert_true(err[0] != '\0');
    }
    /* too many rows */
    json_t *rows = json_array();
    for (int i = 0; i <= NOTIFY_CHANNELS_MAX; i++) {
        notify_channel_stat r = row("c", 0, 0, NULL);
        snprintf(r.name, sizeof r.name, "c%d", i);
        json_t *one = notify_channels_to_doc("n", 1, &r, 1);
        json_array_append(rows, json_array_get(json_object_get(one, "channels"), 0));
        json_decref(one);
    }
    char *s = dump(json_pack("{s:s, s:i, s:o}", "instance", "n", "ts", 1, "channels", rows));
    json_t *out = NULL;
    assert_int_equal(notify_channels_parse(s, strlen(s), &out, err, sizeof err), -1);
    free(s);
}

/* The gateway's side: one report per instance; the topic names it. */
static void test_gateway_keeps(void **state)
{
    (void)state;
    gw_notify *n = NULL;
    char err[160];
    assert_int_equal(gw_notify_create(&n), 0);
    gw g;
    memset(&g, 0, sizeof g);
    g.notify = n;
    notify_channel_stat v[1] = {row("down", 0, 1733580000500, "Couldn't connect to server")};
    char *s = dump(notify_channels_to_doc("nt-1", 1733580001000, v, 1));
    assert_int_equal(gw_notify_put(n, "notify/channels/other", s, strlen(s), 1, err, sizeof err),
                     -1);
    assert_int_equal(gw_notify_put(n, "notify/channels/nt-1", "{", 1, 1, err, sizeof err), -1);
    assert_int_equal(gw_notify_put(n, "notify/channels/nt-1", s, strlen(s), 1, err, sizeof err), 0);
    gw_response rs;
    memset(&rs, 0, sizeof rs);
    gw_request rq;
    memset(&rq, 0, sizeof rq);
    gw_notify_api_channels(&g, &rq, &rs);
    assert_int_equal(rs.status, 200);
    json_t *doc = json_loadb(rs.body, rs.len, 0, NULL);
    json_t *ch = json_array_get(json_object_get(doc, "channels"), 0);
    assert_string_equal(json_string_value(json_object_get(ch, "instance")), "nt-1");
    assert_string_equal(json_string_value(json_object_get(ch, "last_failure")),
                        "Couldn't connect to server");
    assert_true(json_is_true(json_object_get(ch, "failing")));
    json_decref(doc);
    gw_api_response_free(&rs);
    /* a test for a channel no notifier has: 404, before anything is published */
    memset(&rs, 0, sizeof rs);
    rq.method = GW_M_POST;
    rq.body = "{\"channel\":\"nope\"}";
    rq.body_len = strlen(rq.body);
    gw_notify_api_test(&g, &rq, &rs);
    assert_int_equal(rs.status, 404);
    gw_api_response_free(&rs);
    /* a bad body: 400 */
    memset(&rs, 0, sizeof rs);
    rq.body = "{\"channel\":\"a b\"}";
    rq.body_len = strlen(rq.body);
    gw_notify_api_test(&g, &rq, &rs);
    assert_int_equal(rs.status, 400);
    gw_api_response_free(&rs);
    /* a cleared retained report forgets the instance */
    assert_int_equal(gw_notify_put(n, "notify/channels/nt-1", "", 0, 2, err, sizeof err), 0);
    memset(&rs, 0, sizeof rs);
    gw_notify_api_channels(&g, &rq, &rs);
    assert_non_null(strstr(rs.body, "\"channels\":[]"));
    gw_api_response_free(&rs);
    free(s);
    gw_notify_destroy(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_test_request),
        cmocka_unit_test(test_report_round_trip),
        cmocka_unit_test(test_report_refused),
        cmocka_unit_test(test_gateway_keeps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
