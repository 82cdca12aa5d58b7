/* services/notifier: the routing file's validation (the minimal
 * form as written, and clear errors), HMAC-SHA256 against RFC 4231's test
 * vectors, routing (severity, sensors, kinds, events, muted, quiet hours),
 * grouping bodies, reminders until acknowledged, and the Home Assistant
 * discovery payloads against the documented schema's keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka.h needs the three above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hex.h"
#include "notifier/nt.h"
#include "notifier/nt_config.h"
#include "notifier/nt_ha.h"
#include "notifier/nt_msg.h"
#include "notifier/nt_remind.h"
#include "notifier/nt_route.h"
#include "notifier/nt_send.h"
#include "notifier/nt_sign.h"

static int parse(const char *json, nt_config *c, char *err, size_t errlen)
{
    return nt_config_parse(json, strlen(json), c, err, errlen);
}

static void test_config_minimal(void **state)
{
    (void)state;
    nt_config c;
    char err[300];
    const char *min = "{\"channels\": [{\"name\": \"ops\", \"type\": \"webhook\", \"url\": "
                      "\"http://127.0.0.1:9000/hook\", \"secret\": \"s3cret\", \"min_severity\": "
                      "\"warning\"}]}";
    assert_int_equal(parse(min, &c, err, sizeof err), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ch[0].name, "ops");
    assert_int_equal(c.ch[0].type, NT_WEBHOOK);
    assert_string_equal(c.ch[0].url, "http://127.0.0.1:9000/hook");
    assert_string_equal(c.ch[0].secret, "s3cret");
    assert_int_equal(c.ch[0].min_severity, NT_SEV_WARNING);
    assert_int_equal(c.ch[0].events, NT_EV_DEFAULT);
    assert_int_equal(c.ch[0].quiet_from, -1);
    assert_true(c.ch[0].rate_per_min > 0 && c.ch[0].group_max >= 1);
    assert_ptr_equal(nt_config_find(&c, "ops"), &c.ch[0]);
    assert_null(nt_config_find(&c, "nope"));
    nt_config_free(&c);
}

static void test_config_full(void **state)
{
    (void)state;
    nt_config c;
    char err[300];
    const char *full =
        "{\"channels\": ["
        "{\"name\": \"n\", \"type\": \"ntfy\", \"url\": \"https://ntfy.sh/x\", \"token\": \"t\","
        " \"min_severity\": \"major\", \"sensors\": [\"cold-*\", \"boiler\"], \"kinds\": \"point\","
        " \"events\": [\"opened\", \"cleared\"], \"quiet_hours\": {\"from\": \"22:00\", \"to\": "
        "\"07:00\", \"utc\": true, \"except\": \"major\"}, \"rate_per_minute\": 2,"
        " \"group_seconds\": 30, \"group_max\": 50, \"remind_minutes\": 15},"
        "{\"name\": \"t\", \"type\": \"telegram\", \"token\": \"1:a\", \"chat_id\": -100123},"
        "{\"name\": \"m\", \"type\": \"email\", \"url\": \"smtp://mail:587\", \"from\": \"a@b\","
        " \"to\": \"c@d\", \"username\": \"u\", \"password\": \"p\"},"
        "{\"name\": \"q\", \"type\": \"mqtt\", \"topic\": \"notify/ops\", \"qos\": 0}]}";
    assert_int_equal(parse(full, &c, err, sizeof err), 0);
    assert_int_equal(c.n, 4);
    const nt_channel *n = &c.ch[0];
    assert_int_equal(n->min_severity, NT_SEV_MAJOR);
    assert_int_equal(n->nsensors, 2);
    assert_int_equal(n->nkinds, 1);
    assert_int_equal(n->events, NT_EV_OPENED | NT_EV_CLEARED);
    assert_int_equal(n->quiet_from, 22 * 60);
    assert_int_equal(n->quiet_to, 7 * 60);
    assert_int_equal(n->quiet_utc, 1);
    assert_int_equal(n->quiet_pass, NT_SEV_MAJOR);
    assert_int_equal(n->group_max, 50);
    assert_string_equal(c.ch[1].chat_id, "-100123");
    assert_string_equal(c.ch[1].base_url, "https://api.telegram.org");
    assert_int_equal(c.ch[2].nto, 1);
    assert_int_equal(c.ch[2].starttls, 1);
    assert_int_equal(c.ch[3].qos, 0);
    nt_config_free(&c);
}

/* Each bad file is refused, and the message names the place. */
static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json, *want;
    } bad[] = {
        {"", "not JSON"},
        {"[]", "must be an object"},
        {"{}", "channels: required"},
        {"{\"channels\": [], \"x\": 1}", "x: unknown member"},
        {"{\"channels\": []}", "channels: required"},
        {"{\"channels\": [{\"type\": \"webhook\", \"url\": \"http://x\"}]}", "channels[0].name"},
        {"{\"channels\": [{\"name\": \"a b\", \"type\": \"webhook\", \"url\": \"http://x\"}]}",
         "channels[0].name"},
        {"{\"channels\": [{\"name\": \"a\", \"type\": \"pager\"}]}", "channels[0].type"},
        {"{\"channels\": [{\"name\": \"a\", \"type\": \"webhook\"}]}",
         "channels[0].url: required for type webhook"},
        {"{\"channels\": [{\"name\": \"a\", \"type\": \"webhook\", \"url\": \"ftp://x\"}]}",
         "channels[0].url: must start with http"},
        {"{\"channels\": [{\"name\": \"a\", \"type\": \"webhook\", \"url\": \"http://x\", "
         "\"min_severty\": \"warning\"}]}",
         "channels[0].min_severty: unknown member"},
        {"{\"channels\": [{\"name\": \"a\", \"type\": \"webhook\", \"url\": \"http://x\", "
         "\"min_severity\": \"high\"}]}",
         "channels[0].min_severity: must be critical, major, minor or warning"},
        {"{\"channels\": [{\"name\": \"a\", \"type\": \"webhook\", \"url\": \"http://x\"},"
         "{\"name\": \"a\", \"type\": \"webhook\", \"url\": \"http://y\"}]}",
         "channels[1].name: \"a\" is used twice"},
        {"{\"channels\": [{\"name\": \"a\", \"type\": \"telegram\", \"token\": \"t\"}]}",
         "channels[0].chat_id: required"},
        {"{\"channels\": [{\"name\": \"a\", \"type\": \"email\", \"url\": \"smtp://x\", "
         "\"from\": \"a@b\"}]}",
         "channels[0].to: required"},
        {"{\"channels\": [{\"name\": \"a\", \"type\": \"mqtt\", \"topic\": \"a/#\"}]}",
         "channels[0].topic: must not contain"},
        {"{\"channels\": [{\"name\": \"a\", \"type\": \"ntfy\", \"url\": \"http://x\", "
         "\"secret\": \"s\"}]}",
         "channels[0].secret: only for type webhook"},
        {"{\"channels\": [{\"name\": \"a\", \"type\": \"webhook\", \"url\": \"http://x\", "
         "\"quiet_hours\": {\"from\": \"25:00\", \"to\": \"07:00\"}}]}",
         "channels[0].quiet_hours"},
        {"{\"channels\": [{\"name\": \"a\", \"type\": \"webhook\", \"url\": \"http://x\", "
         "\"rate_per_minute\": 0}]}",
         "channels[0].rate_per_minute: must be between"},
        {"{\"channels\": [{\"name\": \"a\", \"type\": \"webhook\", \"url\": \"http://x\", "
         "\"events\": [\"opened\", \"exploded\"]}]}",
         "channels[0].events: unknown event \"exploded\""},
        {"{\"channels\": [{\"name\": \"a\", \"type\": \"webhook\", \"url\": \"http://x\", "
         "\"sensors\": []}]}",
         "channels[0].sensors"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nt_config c;
        char err[300] = "";
        assert_int_equal(parse(bad[i].json, &c, err, sizeof err), -1);
        if (!strstr(err, bad[i].want)) {
            fprintf(stderr, "case %zu: error \"%s\" does not say \"%s\"\n", i, err, bad[i].want);
            fail();
        }
        assert_int_equal(c.n, 0);
        assert_null(c.ch);
    }
}

/* RFC 4231 section 4: HMAC-SHA-256 test cases 1-7. */
static void fill(uint8_t *p, int v, size_t n)
{
    memset(p, v, n);
}

static void check_mac(const void *key, size_t kl, const void *msg, size_t ml, const char *want,
                      size_t nbytes)
{
    uint8_t mac[32];
    char hex[65];
    assert_int_equal(nt_hmac_sha256(key, kl, msg, ml, mac), 0);
    hex_encode(hex, mac, nbytes, 0);
    assert_string_equal(hex, want);
}

static void test_hmac_rfc4231(void **state)
{
    (void)state;
    uint8_t k[131], d[50];
    fill(k, 0x0b, 20);
    check_mac(k, 20, "Hi There", 8,
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", 32);
    check_mac("Jefe", 4, "what do ya want for nothing?", 28,
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 32);
    fill(k, 0xaa, 20);
    fill(d, 0xdd, 50);
    check_mac(k, 20, d, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", 32);
    for (int i = 0; i < 25; i++)
        k[i] = (uint8_t)(i + 1);
    fill(d, 0xcd, 50);
    check_mac(k, 25, d, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", 32);
    fill(k, 0x0c, 20);
    check_mac(k, 20, "Test With Truncation", 20, "a3b6167473100ee06e0c796c2955552b", 16);
    fill(k, 0xaa, 131);
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    check_mac(k, 131, m6, strlen(m6),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", 32);
    const char *m7 = "This is a test using a larger than block-size key and a larger than "
                     "block-size data. The key needs to be hashed before being used by the HMAC "
                     "algorithm.";
    check_mac(k, 131, m7, strlen(m7),
              "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", 32);
    /* the header form */
    char h[NT_SIGN_HEADER_MAX];
    assert_int_equal(nt_sign_header("Jefe", "what do ya want for nothing?", 28, h, sizeof h), 0);
    assert_string_equal(h,
                        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    assert_int_equal(nt_sign_header("k", "x", 1, h, 20), -1);
    assert_int_equal(nt_sign_header(NULL, "x", 1, h, sizeof h), -1);
}

/* An event document as the gateway writes it (bus/alarm.h). */
static json_t *doc(const char *event, const char *sensor, const char *id, const char *sev,
                   long long at, long long muted_until, int acked, int active)
{
    json_t *d = json_pack(
        "{s:s, s:I, s:n, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:n, s:o, s:I, s:n, s:i, s:f, "
        "s:f, s:n, s:s}}",
        "event", event, "at", (json_int_t)at, "by", "alarm", "id", id, "sensor_id", sensor,
        "metric", "temperature", "kind", "point", "severity", sev, "state",
        active ? "active" : "cleared", "acked", acked, "acked_by", "muted_until",
        muted_until ? json_integer(muted_until) : json_null(), "opened_at", (json_int_t)1000,
        "cleared_at", "count", 1, "peak_value", 81.5, "peak_score", 0.9, "last_anomaly_id",
        "explanation", "too hot");
    assert_non_null(d);
    return d;
}

static nt_event event(const char *e, const char *sensor, const char *id, const char *sev,
                      long long at, long long muted_until, int acked, int active)
{
    nt_event ev;
    char err[200];
    json_t *d = doc(e, sensor, id, sev, at, muted_until, acked, active);
    assert_int_equal(nt_event_from_doc(d, &ev, err, sizeof err), 0);
    json_decref(d);
    return ev;
}

static void test_event_parse(void **state)
{
    (void)state;
    nt_event ev;
    char err[200], key[256];
    json_t *d = doc("opened", "room-1", "a1", "major", 5000, 0, 0, 1);
    char *s = json_dumps(d, 0);
    assert_int_equal(nt_event_parse(s, strlen(s), &ev, err, sizeof err), 0);
    assert_int_equal(ev.type, NT_EV_OPENED);
    assert_int_equal(ev.severity, NT_SEV_MAJOR);
    assert_string_equal(ev.sensor_id, "room-1");
    assert_int_equal(ev.at, 5000);
    assert_int_equal(nt_event_key(&ev, key, sizeof key), (int)strlen("a1:opened:5000"));
    assert_string_equal(key, "a1:opened:5000");
    assert_int_equal(nt_event_key(&ev, key, 5), -1);
    nt_event_free(&ev);
    free(s);
    json_decref(d);
    assert_int_equal(nt_event_parse("{}", 2, &ev, err, sizeof err), -1);
    assert_int_equal(nt_event_parse("nope", 4, &ev, err, sizeof err), -1);
    assert_non_null(strstr(err, "not JSON"));
    d = doc("exploded", "room-1", "a1", "major", 5000, 0, 0, 1);
    assert_int_equal(nt_event_from_doc(d, &ev, err, sizeof err), -1);
    json_decref(d);
    d = doc("opened", "room-1", "a1", "high", 5000, 0, 0, 1);
    assert_int_equal(nt_event_from_doc(d, &ev, err, sizeof err), -1);
    assert_non_null(strstr(err, "severity"));
    json_decref(d);
}

static void test_route(void **state)
{
    (void)state;
    nt_config c;
    char err[300];
    const char *cfg = "{\"channels\": ["
                      "{\"name\": \"all\", \"type\": \"webhook\", \"url\": \"http://x\"},"
                      "{\"name\": \"crit\", \"type\": \"webhook\", \"url\": \"http://x\", "
                      "\"min_severity\": \"critical\"},"
                      "{\"name\": \"cold\", \"type\": \"webhook\", \"url\": \"http://x\", "
                      "\"sensors\": [\"cold-*\", \"boiler\"], \"kinds\": [\"point\"]},"
                      "{\"name\": \"silent\", \"type\": \"webhook\", \"url\": \"http://x\", "
                      "\"kinds\": [\"silent\"], \"events\": [\"opened\", \"updated\"]}]}";
    assert_int_equal(parse(cfg, &c, err, sizeof err), 0);
    nt_event ev = event("opened", "cold-17", "a", "major", 5000, 0, 0, 1);
    assert_int_equal(nt_route_match(&c.ch[0], &ev), 1);
    assert_int_equal(nt_route_match(&c.ch[1], &ev), 0); /* not critical */
    assert_int_equal(nt_route_match(&c.ch[2], &ev), 1); /* prefix */
    assert_int_equal(nt_route_match(&c.ch[3], &ev), 0); /* kind */
    nt_event_free(&ev);
    ev = event("opened", "boiler-2", "a", "critical", 5000, 0, 0, 1);
    assert_int_equal(nt_route_match(&c.ch[1], &ev), 1);
    assert_int_equal(nt_route_match(&c.ch[2], &ev), 0); /* "boiler" is exact, not a prefix */
    nt_event_free(&ev);
    /* updates are not sent by default; the silent channel asked for them */
    ev = event("updated", "cold-1", "a", "warning", 5000, 0, 0, 1);
    assert_int_equal(nt_route_match(&c.ch[0], &ev), 0);
    nt_event_free(&ev);
    /* muted: nothing, not even the clearing; after muted_until, again */
    ev = event("cleared", "cold-1", "a", "critical", 5000, 6000, 0, 0);
    for (int i = 0; i < c.n; i++)
        assert_int_equal(nt_route_match(&c.ch[i], &ev), 0);
    nt_event_free(&ev);
    ev = event("cleared", "cold-1", "a", "critical", 7000, 6000, 0, 0);
    assert_int_equal(nt_route_match(&c.ch[0], &ev), 1);
    nt_event_free(&ev);
    nt_config_free(&c);
}

static void test_quiet_hours(void **state)
{
    (void)state;
    nt_config c;
    char err[300];
    const char *cfg = "{\"channels\": [{\"name\": \"q\", \"type\": \"webhook\", \"url\": "
                      "\"http://x\", \"quiet_hours\": {\"from\": \"22:00\", \"to\": \"07:00\", "
                      "\"utc\": true}}]}";
    assert_int_equal(parse(cfg, &c, err, sizeof err), 0);
    const time_t day = 1764547200;        /* 2025-12-01 00:00:00 UTC */
    time_t t = day + 23 * 3600 + 30 * 60; /* 23:30: quiet until 07:00 next day */
    assert_int_equal(nt_route_release(&c.ch[0], NT_SEV_MAJOR, t), day + 31 * 3600);
    t = day + 3 * 3600 + 15 * 60 + 20; /* 03:15:20 */
    assert_int_equal(nt_route_release(&c.ch[0], NT_SEV_WARNING, t), day + 7 * 3600);
    /* critical passes (the default "except"), and outside the hours all pass */
    assert_int_equal(nt_route_release(&c.ch[0], NT_SEV_CRITICAL, t), t);
    t = day + 12 * 3600;
    assert_int_equal(nt_route_release(&c.ch[0], NT_SEV_WARNING, t), t);
    t = day + 7 * 3600; /* the end is not quiet */
    assert_int_equal(nt_route_release(&c.ch[0], NT_SEV_WARNING, t), t);
    nt_config_free(&c);
}

static void test_group_body(void **state)
{
    (void)state;
    json_t *docs[37];
    char keys[37][32];
    const char *kp[37];
    for (int i = 0; i < 37; i++) {
        char sid[32], id[16];
        snprintf(sid, sizeof sid, "cold-%d", i);
        snprintf(id, sizeof id, "a%d", i);
        docs[i] = doc("opened", sid, id, i == 5 ? "critical" : "minor", 1000 + i * 1000, 0, 0, 1);
        snprintf(keys[i], sizeof keys[i], "%s:opened:%d", id, 1000 + i * 1000);
        kp[i] = keys[i];
    }
    /* one event: itself, with its key */
    json_t *b = nt_msg_body("ops", docs, kp, 1);
    assert_string_equal(json_string_value(json_object_get(b, "event")), "opened");
    assert_string_equal(json_string_value(json_object_get(b, "idempotency_key")), keys[0]);
    assert_non_null(json_object_get(b, "alarm"));
    assert_non_null(strstr(nt_msg_text(b), "cold-0"));
    assert_int_equal(nt_msg_priority(b), 3);
    json_decref(b);
    /* 37: one message, every key inside, a summary line */
    b = nt_msg_body("ops", docs, kp, 37);
    assert_string_equal(json_string_value(json_object_get(b, "event")), "group");
    assert_int_equal(json_integer_value(json_object_get(b, "count")), 37);
    assert_int_equal(json_integer_value(json_object_get(b, "sensors")), 37);
    json_t *evs = json_object_get(b, "events");
    assert_int_equal(json_array_size(evs), 37);
    for (int i = 0; i < 37; i++)
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(evs, i), "idempotency_key")), keys[i]);
    assert_non_null(strstr(nt_msg_text(b), "37 alarm events on 37 sensors within 36 s"));
    assert_non_null(strstr(nt_msg_text(b), "most severe critical"));
    assert_int_equal(nt_msg_priority(b), 5);
    char title[128];
    nt_msg_title(b, title, sizeof title);
    assert_string_equal(title, "37 alarm events on 37 sensors");
    json_decref(b);
    /* clearing is good news: low priority, a check mark */
    json_t *cl = doc("cleared", "x", "z", "critical", 1, 0, 0, 0);
    const char *k = "z:cleared:1";
    b = nt_msg_body("ops", &cl, &k, 1);
    assert_int_equal(nt_msg_priority(b), 2);
    assert_string_equal(nt_msg_tags(b), "white_check_mark");
    assert_non_null(strstr(nt_msg_text(b), "recovered"));
    json_decref(b);
    json_decref(cl);
    for (int i = 0; i < 37; i++)
        json_decref(docs[i]);
    assert_null(nt_msg_body("ops", docs, kp, 0));
}

typedef struct {
    int n;
    char keys[16][64];
    uint64_t masks[16];
} emitted;

static int on_emit(void *user, const nt_event *ev, uint64_t mask)
{
    emitted *e = user;
    assert_true(e->n < 16);
    assert_int_equal(ev->type, NT_EV_REMINDER);
    nt_event_key(ev, e->keys[e->n], sizeof e->keys[0]);
    e->masks[e->n++] = mask;
    return 0;
}

static void test_reminders(void **state)
{
    (void)state;
    nt_config c;
    char err[300];
    const char *cfg = "{\"channels\": ["
                      "{\"name\": \"r\", \"type\": \"webhook\", \"url\": \"http://x\", "
                      "\"remind_minutes\": 1},"
                      "{\"name\": \"none\", \"type\": \"webhook\", \"url\": \"http://x\"}]}";
    assert_int_equal(parse(cfg, &c, err, sizeof err), 0);
    nt_remind *r = nt_remind_new(&c);
    emitted e = {0};
    /* opened at 1000 ms (doc's opened_at): reminders due at 61000, 121000, ... */
    nt_event ev = event("opened", "boiler", "b1", "major", 1000, 0, 0, 1);
    nt_remind_observe(r, &ev, 1000);
    nt_event_free(&ev);
    assert_int_equal(nt_remind_count(r), 1);
    assert_int_equal(nt_remind_tick(r, 60999, on_emit, &e), 0);
    assert_int_equal(nt_remind_tick(r, 61000, on_emit, &e), 1);
    assert_string_equal(e.keys[0], "b1:reminder:61000");
    assert_int_equal(e.masks[0], 1); /* only the channel that asked */
    assert_int_equal(nt_remind_tick(r, 62000, on_emit, &e), 0);
    /* missed periods are not sent late one by one */
    assert_int_equal(nt_remind_tick(r, 400000, on_emit, &e), 1);
    assert_string_equal(e.keys[1], "b1:reminder:121000");
    assert_int_equal(nt_remind_tick(r, 420000, on_emit, &e), 0);
    assert_int_equal(nt_remind_tick(r, 421000, on_emit, &e), 1);
    /* muted: none (and it stays followed); acknowledged: stops */
    ev = event("muted", "boiler", "b1", "major", 430000, 10000000, 0, 1);
    nt_remind_observe(r, &ev, 430000);
    nt_event_free(&ev);
    assert_int_equal(nt_remind_tick(r, 481000, on_emit, &e), 0);
    ev = event("acknowledged", "boiler", "b1", "major", 490000, 0, 1, 1);
    nt_remind_observe(r, &ev, 490000);
    nt_event_free(&ev);
    assert_int_equal(nt_remind_count(r), 0);
    assert_int_equal(nt_remind_tick(r, 10000000, on_emit, &e), 0);
    /* a restarted notifier learns open alarms from alarms/{sensor}: no late burst */
    json_t *td = doc("opened", "tank", "t1", "minor", 1000, 0, 0, 1);
    json_t *a = json_object_get(td, "alarm");
    json_t *snap = json_pack("{s:s, s:I, s:i, s:[O]}", "sensor_id", "tank", "at", (json_int_t)1000,
                             "active_total", 1, "active", a);
    char *s = json_dumps(snap, 0);
    assert_int_equal(nt_remind_sensor(r, "tank", s, strlen(s), 1000000), 0);
    assert_int_equal(nt_remind_count(r), 1);
    int before = e.n;
    assert_int_equal(nt_remind_tick(r, 1000001, on_emit, &e), 0);
    assert_int_equal(nt_remind_tick(r, 1021000, on_emit, &e), 1);
    assert_int_equal(e.n, before + 1);
    free(s);
    json_decref(snap);
    json_decref(td);
    /* the sensor's list without it: no longer followed */
    const char *empty = "{\"sensor_id\":\"tank\",\"at\":1,\"active_total\":0,\"active\":[]}";
    assert_int_equal(nt_remind_sensor(r, "tank", empty, strlen(empty), 1100000), 0);
    assert_int_equal(nt_remind_count(r), 0);
    assert_int_equal(nt_remind_sensor(r, "tank", "nope", 4, 1), -1);
    nt_remind_free(r);
    nt_config_free(&c);
}

/* The documented keys of Home Assistant's MQTT binary_sensor and sensor
 * (home-assistant.io/integrations/binary_sensor.mqtt, sensor.mqtt, and the
 * device map): a payload may use only these; the required ones are there. */
static const char *const ha_common[] = {"availability",
                                        "availability_mode",
                                        "availability_template",
                                        "availability_topic",
                                        "device",
                                        "device_class",
                                        "enabled_by_default",
                                        "encoding",
                                        "entity_category",
                                        "entity_picture",
                                        "expire_after",
                                        "force_update",
                                        "icon",
                                        "json_attributes_template",
                                        "json_attributes_topic",
                                        "name",
                                        "default_entity_id",
                                        "payload_available",
                                        "payload_not_available",
                                        "platform",
                                        "qos",
                                        "state_topic",
                                        "unique_id",
                                        "value_template",
                                        NULL};
static const char *const ha_binary_only[] = {"off_delay", "payload_off", "payload_on", NULL};
static const char *const ha_sensor_only[] = {"last_reset_value_template",   "options",
                                             "suggested_display_precision", "state_class",
                                             "unit_of_measurement",         NULL};
static const char *const ha_device[] = {"configuration_url",
                                        "connections",
                                        "hw_version",
                                        "identifiers",
                                        "manufacturer",
                                        "model",
                                        "model_id",
                                        "name",
                                        "serial_number",
                                        "suggested_area",
                                        "sw_version",
                                        "via_device",
                                        NULL};

static int in(const char *const *list, const char *k)
{
    for (; *list; list++)
        if (strcmp(*list, k) == 0)
            return 1;
    return 0;
}

static void check_ha(json_t *c, const char *const *extra)
{
    const char *k;
    json_t *v;
    json_object_foreach(c, k, v)
    {
        if (!in(ha_common, k) && !in(extra, k)) {
            fprintf(stderr, "undocumented key %s\n", k);
            fail();
        }
    }
    /* required: state_topic; a device needs unique_id and identifiers or connections */
    assert_true(json_is_string(json_object_get(c, "state_topic")));
    assert_true(json_is_string(json_object_get(c, "unique_id")));
    json_t *d = json_object_get(c, "device");
    assert_true(json_is_object(d));
    json_object_foreach(d, k, v)
    {
        assert_true(in(ha_device, k));
    }
    assert_true(json_array_size(json_object_get(d, "identifiers")) >= 1);
    /* availability_topic and availability are exclusive */
    assert_false(json_object_get(c, "availability") && json_object_get(c, "availability_topic"));
    assert_true(json_integer_value(json_object_get(c, "qos")) <= 2);
}

static void test_ha_payloads(void **state)
{
    (void)state;
    nt_ha_opts o = {"homeassistant", "iotad", "notifier", "http://localhost:8080", NULL};
    json_t *b = nt_ha_binary_config(&o, "cold.store/1");
    assert_non_null(b);
    check_ha(b, ha_binary_only);
    assert_string_equal(json_string_value(json_object_get(b, "device_class")), "problem");
    assert_string_equal(json_string_value(json_object_get(b, "state_topic")),
                        "alarms/cold.store/1");
    assert_string_equal(json_string_value(json_object_get(b, "json_attributes_topic")),
                        "notify/ha/cold.store/1");
    assert_string_equal(json_string_value(json_object_get(b, "availability_topic")),
                        "status/notifier/notifier/availability");
    assert_string_equal(json_string_value(json_object_get(b, "unique_id")),
                        "iotad_iotad_cold_store_1_anomaly");
    json_t *s = nt_ha_score_config(&o, "cold.store/1");
    check_ha(s, ha_sensor_only);
    assert_string_equal(json_string_value(json_object_get(s, "state_topic")),
                        "notify/ha/cold.store/1");
    /* one device for both entities */
    assert_true(json_equal(json_object_get(b, "device"), json_object_get(s, "device")));
    json_decref(b);
    json_decref(s);
    /* object ids: [A-Za-z0-9_-] only */
    char obj[64];
    assert_int_equal(nt_ha_object_id("a b/c:d", "anomaly", obj, sizeof obj), 15);
    assert_string_equal(obj, "a_b_c_d_anomaly");
    assert_int_equal(nt_ha_object_id("", "x", obj, sizeof obj), -1);
    assert_int_equal(nt_ha_object_id("abcdef", "anomaly", obj, 8), -1);
    /* the mapping names the device: its label, a model from its profile */
    ingest *ig = NULL;
    const char *map = "{\"sensors\": [{\"id\": \"living_room\", \"label\": \"Living room\", "
                      "\"profile\": \"indoor\"}]}";
    assert_int_equal(ingest_create_from_json(&ig, map, strlen(map), NULL, 0), 0);
    nt_ha_opts om = {"homeassistant", "iotad", "notifier", "", ig};
    b = nt_ha_binary_config(&om, "living_room");
    check_ha(b, ha_binary_only);
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "device"), "name")),
                        "Living room");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "device"), "model")),
                        "indoor sensor");
    json_decref(b);
    b = nt_ha_binary_config(&om, "elsewhere"); /* not in the mapping: its id */
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "device"), "name")),
                        "elsewhere");
    json_decref(b);
    ingest_destroy(ig);
    /* a node outside the rule is refused */
    nt_ha_opts bad = {"homeassistant", "io tad", "notifier", "", NULL};
    assert_null(nt_ha_new(&bad, NULL));
}

static void test_http_classes(void **state)
{
    (void)state;
    assert_int_equal(nt_send_classify_http(200), NT_SEND_OK);
    assert_int_equal(nt_send_classify_http(204), NT_SEND_OK);
    assert_int_equal(nt_send_classify_http(500), NT_SEND_RETRY);
    assert_int_equal(nt_send_classify_http(503), NT_SEND_RETRY);
    assert_int_equal(nt_send_classify_http(429), NT_SEND_RETRY);
    assert_int_equal(nt_send_classify_http(408), NT_SEND_RETRY);
    assert_int_equal(nt_send_classify_http(400), NT_SEND_REJECT);
    assert_int_equal(nt_send_classify_http(404), NT_SEND_REJECT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_minimal), cmocka_unit_test(test_config_full),
        cmocka_unit_test(test_config_errors),  cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_event_parse),    cmocka_unit_test(test_route),
        cmocka_unit_test(test_quiet_hours),    cmocka_unit_test(test_group_body),
        cmocka_unit_test(test_reminders),      cmocka_unit_test(test_ha_payloads),
        cmocka_unit_test(test_http_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
