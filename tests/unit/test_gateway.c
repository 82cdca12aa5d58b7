/*
 * Unit tests of the gateway's modules that do not need a network: frame
 * building, the bus, subscription filters, the Origin policy, static path
 * resolution, the chain cache (pages, cursor, filters), the receipt
 * verification logic, the sensor store, the REST handlers' validation and
 * the chain/logged parser. Network behaviour is covered by
 * tests/integration/gateway_*.sh against real servers.
 */
/* cmocka.h needs these headers first. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hex.h"
#include "base/version.h"
#include "eth/anomaly_log.h"
#include "eth/keccak.h"
#include "gateway/gw_api.h"
#include "gateway/gw_bus.h"
#include "gateway/gw_cache.h"
#include "gateway/gw_chain.h"
#include "gateway/gw_feed.h"
#include "gateway/gw_host.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_peers.h"
#include "gateway/gw_origin.h"
#include "gateway/gw_peers.h"
#include "gateway/gw_store.h"
#include "gateway/gw_ws.h"
#include "base/hex.h"
#include "eth/keccak.h"
#include "ingest/ingest.h"

/* ---- helpers --------------------------------------------------------- */

static anomaly make_anomaly(const char *sensor, double ts, anomaly_type type, double value)
{
    anomaly a;
    memset(&a, 0, sizeof a);
    snprintf(a.sensor_id, sizeof a.sensor_id, "%s", sensor);
    snprintf(a.metric, sizeof a.metric, "temperature");
    a.ts = ts;
    a.type = type;
    a.value = value;
    a.score = 0.75;
    a.expected_low = NAN;
    a.expected_high = NAN;
    a.model_version = -1;
    snprintf(a.explanation, sizeof a.explanation, "value %.1f is high", value);
    anomaly_make_id(&a);
    return a;
}

static anomaly_log_proof make_proof(uint64_t block, uint32_t log)
{
    anomaly_log_proof p;
    memset(&p, 0, sizeof p);
    snprintf(p.tx_hash, sizeof p.tx_hash, "0x%064llx", (unsigned long long)block);
    p.block_number = block;
    p.log_index = log;
    snprintf(p.logger, sizeof p.logger, "0x%040d", 7);
    p.seq = block * 10 + log;
    return p;
}

/* An eth_getLogs / receipt log object for a, as the contract emits it. */
static json_t *make_log(const anomaly *a, const anomaly_log_proof *p, const char *contract)
{
    uint8_t rec[ANOMALY_LOG_RECORD_MAX], h[32];
    int rl = anomaly_log_encode_record(a, rec, sizeof rec);
    assert_true(rl > 0);
    /* data = abi.encode(uint64 seq, bytes record) */
    size_t padded = ((size_t)rl + 31) / 32 * 32;
    size_t dl = 96 + padded;
    uint8_t *d = calloc(1, dl);
    for (int i = 0; i < 8; i++)
        d[31 - i] = (uint8_t)(p->seq >> (8 * i));
    d[63] = 0x40;
    d[94] = (uint8_t)(rl >> 8);
    d[95] = (uint8_t)rl;
    memcpy(d + 96, rec, (size_t)rl);
    char *dh = malloc(2 * dl + 3);
    hex_encode(dh, d, dl, 1);
    char t1[67], t2[67], t3[67], bn[24], li[24];
    snprintf(t1, sizeof t1, "0x%s", a->id);
    keccak256(a->sensor_id, strlen(a->sensor_id), h);
    hex_encode(t2, h, 32, 1);
    snprintf(t3, sizeof t3, "0x000000000000000000000000%s", p->logger + 2);
    snprintf(bn, sizeof bn, "0x%llx", (unsigned long long)p->block_number);
    snprintf(li, sizeof li, "0x%x", p->log_index);
    json_t *log = json_pack("{s:s, s:[s,s,s,s], s:s, s:s, s:s, s:s}", "address", contract, "topics",
                            anomaly_log_event_topic(), t1, t2, t3, "data", dh, "blockNumber", bn,
                            "logIndex", li, "transactionHash", p->tx_hash);
    free(d);
    free(dh);
    return log;
}

/* ---- frames and the bus ------------------------------------------------ */

static void test_frame_header(void **st)
{
    (void)st;
    unsigned char h[GW_FRAME_HDR_MAX];
    assert_int_equal(gw_frame_header(h, 125), 2);
    assert_int_equal(h[0], 0x81);
    assert_int_equal(h[1], 125);
    assert_int_equal(gw_frame_header(h, 126), 4);
    assert_int_equal(h[1], 126);
    assert_int_equal(h[2] << 8 | h[3], 126);
    assert_int_equal(gw_frame_header(h, 65535), 4);
    assert_int_equal(gw_frame_header(h, 65536), 10);
    assert_int_equal(h[1], 127);
    assert_int_equal(h[7], 1); /* 65536 = 0x10000, big-endian */
    assert_int_equal(h[8], 0);
}

static void test_msg_wrap(void **st)
{
    (void)st;
    json_t *d = json_pack("{s:s, s:f}", "sensor_id", "s1", "v", 1.5);
    gw_msg *m = gw_msg_from_json(GW_KIND_READING, "s1", d);
    json_decref(d);
    assert_non_null(m);
    assert_int_equal(m->frame[0], 0x81);
    size_t hl = 2, pl = m->frame[1];
    assert_int_equal(hl + pl, m->len);
    json_t *j = json_loadb((const char *)m->frame + hl, pl, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "reading");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "data"), "sensor_id")),
                        "s1");
    json_decref(j);
    gw_msg_unref(m);
    assert_null(gw_msg_wrap(99, "x", "{}", 2));
    assert_int_equal(gw_kind_parse("logged"), GW_KIND_LOGGED);
    assert_int_equal(gw_kind_parse("nope"), 0);
}

static int wakes;
static void count_wake(void *arg)
{
    (void)arg;
    wakes++;
}

static void test_bus(void **st)
{
    (void)st;
    gw_bus *b;
    assert_int_equal(gw_bus_create(&b, 3, count_wake, NULL), 0);
    wakes = 0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_bus_push(b, gw_msg_wrap(GW_KIND_ANOMALY, "s", "1", 1)), 0);
    assert_int_equal(wakes, 1); /* only on empty -> non-empty */
    assert_int_equal(gw_bus_push(b, gw_msg_wrap(GW_KIND_ANOMALY, "s", "1", 1)), -1); /* full */
    gw_msg *l = gw_bus_take(b);
    int n = 0;
    while (l) {
        gw_msg *next = l->next;
        gw_msg_unref(l);
        l = next;
        n++;
    }
    assert_int_equal(n, 3);
    assert_null(gw_bus_take(b));
    assert_int_equal(gw_bus_push(b, gw_msg_wrap(GW_KIND_ANOMALY, "s", "1", 1)), 0);
    assert_int_equal(wakes, 2);
    gw_bus_destroy(b); /* frees the queued message */
}

/* Under load readings are dropped first: past half the bound a reading is
 * refused (counted) while anomalies still get in, up to the bound. */
static void test_bus_readings_first(void **st)
{
    (void)st;
    gw_bus *b;
    gw_bus_stats bs;
    assert_int_equal(gw_bus_create(&b, 6, NULL, NULL), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_bus_push(b, gw_msg_wrap(GW_KIND_READING, "s", "1", 1)), 0);
    assert_int_equal(gw_bus_push(b, gw_msg_wrap(GW_KIND_READING, "s", "1", 1)), -1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_bus_push(b, gw_msg_wrap(GW_KIND_ANOMALY, "s", "1", 1)), 0);
    assert_int_equal(gw_bus_push(b, gw_msg_wrap(GW_KIND_ANOMALY, "s", "1", 1)), -1);
    gw_bus_stats_get(b, &bs);
    assert_int_equal(bs.depth, 6);
    assert_int_equal(bs.dropped, 2);
    gw_bus_destroy(b);
}

/* take_n leaves the rest queued, where it still counts against the bound
 * (the drop happens at the producer, counted), and the stats say so. */
static void test_bus_take_n(void **st)
{
    (void)st;
    gw_bus *b;
    gw_bus_stats bs;
    size_t left = 99;
    assert_int_equal(gw_bus_create(&b, 5, NULL, NULL), 0);
    assert_null(gw_bus_take_n(b, 3, &left));
    assert_int_equal(left, 0);
    for (int i = 0; i < 7; i++)
        gw_bus_push(b, gw_msg_wrap(GW_KIND_ANOMALY, "s", "1", 1));
    gw_bus_stats_get(b, &bs);
    assert_int_equal(bs.depth, 5);
    assert_int_equal(bs.high, 5);
    assert_int_equal(bs.capacity, 5);
    assert_int_equal(bs.dropped, 2);
    gw_msg *l = gw_bus_take_n(b, 3, &left);
    assert_int_equal(left, 2);
    int n = 0;
    for (gw_msg *m = l, *next; m; m = next, n++) {
        next = m->next;
        gw_msg_unref(m);
    }
    assert_int_equal(n, 3);
    /* Two left: only three more fit. */
    for (int i = 0; i < 4; i++)
        gw_bus_push(b, gw_msg_wrap(GW_KIND_ANOMALY, "s", "1", 1));
    gw_bus_stats_get(b, &bs);
    assert_int_equal(bs.depth, 5);
    assert_int_equal(bs.dropped, 3);
    l = gw_bus_take_n(b, 100, &left);
    assert_int_equal(left, 0);
    n = 0;
    for (gw_msg *m = l, *next; m; m = next, n++) {
        next = m->next;
        gw_msg_unref(m);
    }
    assert_int_equal(n, 5);
    gw_bus_stats_get(b, &bs);
    assert_int_equal(bs.depth, 0);
    assert_int_equal(bs.high, 5);
    gw_bus_destroy(b);
}

/* ---- filters, origins, static paths ------------------------------------ */

static void test_filter(void **st)
{
    (void)st;
    gw_ws_filter f;
    char err[200];
    const char *ok =
        "{\"subscribe\":{\"sensors\":[\"a\",\"b\"],\"types\":[\"anomaly\",\"logged\"]}}";
    assert_int_equal(gw_ws_filter_parse(ok, strlen(ok), &f, err, sizeof err), 0);
    assert_true(gw_ws_filter_match(&f, GW_KIND_ANOMALY, "a"));
    assert_true(gw_ws_filter_match(&f, GW_KIND_LOGGED, "b"));
    assert_false(gw_ws_filter_match(&f, GW_KIND_READING, "a"));
    assert_false(gw_ws_filter_match(&f, GW_KIND_ANOMALY, "c"));
    gw_ws_filter_free(&f);
    const char *all = "{\"subscribe\":{\"sensors\":null}}";
    assert_int_equal(gw_ws_filter_parse(all, strlen(all), &f, err, sizeof err), 0);
    assert_true(gw_ws_filter_match(&f, GW_KIND_READING, "zzz"));
    gw_ws_filter_free(&f);
    const char *bad[] = {
        "nope",
        "{}",
        "{\"subscribe\":1}",
        "{\"subscribe\":{\"types\":[]}}",
        "{\"subscribe\":{\"types\":[\"x\"]}}",
        "{\"subscribe\":{\"sensors\":[\"a/b\"]}}",
        "{\"subscribe\":{\"sensors\":[]}}",
        "{\"subscribe\":{\"sensors\":\"a\"}}",
        "{\"subscribe\":{\"sensors\":[1]}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(gw_ws_filter_parse(bad[i], strlen(bad[i]), &f, err, sizeof err), -1);
        assert_true(strlen(err) > 0);
        assert_null(f.sensors);
    }
}

static void test_origin(void **st)
{
    (void)st;
    assert_true(gw_origin_allowed("", NULL, "h:1"));         /* not a browser */
    assert_true(gw_origin_allowed("", "http://h:1", "h:1")); /* same origin */
    assert_false(gw_origin_allowed("", "http://evil", "h:1"));
    assert_true(gw_origin_allowed("*", "http://evil", "h:1"));
    assert_true(gw_origin_allowed("http://a, https://b", "https://b", "h"));
    assert_false(gw_origin_allowed("http://a, https://b", "https://bb", "h"));
    assert_false(gw_origin_allowed("http://a", "http://a.evil", "h"));
}

/* DNS rebinding (#19): Host names the gateway does not know are refused. */
static void test_hosts(void **st)
{
    (void)st;
    gw_hosts *h;
    char err[200];
    assert_int_equal(gw_hosts_create(&h, "", "127.0.0.1", err, sizeof err), 0);
    const char *ok[] = {NULL,         "",          "localhost",     "LocalHost:8080",
                        "localhost.", "127.0.0.1", "10.0.0.5:8080", "[::1]:8080",
                        "[fe80::1]"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!gw_hosts_allowed(h, ok[i]))
            fail_msg("Host '%s' refused", ok[i] ? ok[i] : "(null)");
    const char *bad[] = {"evil.example",
                         "evil.example:8080",
                         "localhost.evil.example",
                         "127.0.0.1.nip.io",
                         "[::1",
                         "a b",
                         "x:80@evil",
                         ":8080",
                         "0x7f000001.evil"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (gw_hosts_allowed(h, bad[i]))
            fail_msg("Host '%s' allowed", bad[i]);
    gw_hosts_destroy(h);
    /* GATEWAY_ALLOWED_HOSTS, and a name to listen on. */
    assert_int_equal(
        gw_hosts_create(&h, " dash.example , .corp.example", "gw.lan", err, sizeof err), 0);
    assert_true(gw_hosts_allowed(h, "dash.example:443"));
    assert_true(gw_hosts_allowed(h, "corp.example"));
    assert_true(gw_hosts_allowed(h, "a.b.corp.example"));
    assert_true(gw_hosts_allowed(h, "GW.LAN:8080"));
    char self[256];
    if (gethostname(self, sizeof self) == 0 && self[0])
        assert_true(gw_hosts_allowed(h, self)); /* the machine's own name */
    assert_false(gw_hosts_allowed(h, "xcorp.example"));
    assert_false(gw_hosts_allowed(h, "dash.example.evil"));
    gw_hosts_destroy(h);
    assert_int_equal(gw_hosts_create(&h, "*", "0.0.0.0", err, sizeof err), 0);
    assert_true(gw_hosts_allowed(h, "anything.example"));
    gw_hosts_destroy(h);
    assert_int_equal(gw_hosts_create(&h, "ok.example,bad/name", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad/name"));
    /* Loopback or not, for the token rule. */
    assert_true(gw_host_is_loopback("127.0.0.1"));
    assert_true(gw_host_is_loopback("127.1.2.3"));
    assert_true(gw_host_is_loopback("::1"));
    assert_true(gw_host_is_loopback("localhost"));
    assert_false(gw_host_is_loopback("0.0.0.0"));
    assert_false(gw_host_is_loopback("::"));
    assert_false(gw_host_is_loopback(""));
    assert_false(gw_host_is_loopback(NULL));
    assert_false(gw_host_is_loopback("192.168.1.5"));
    assert_false(gw_host_is_loopback("eth0"));
}

static void test_peers(void **st)
{
    (void)st;
    gw_peers *p;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    struct sockaddr_in b = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0a000001)};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    a6.sin6_addr.s6_addr[10] = a6.sin6_addr.s6_addr[11] = 0xff;
    a6.sin6_addr.s6_addr[12] = 127;
    a6.sin6_addr.s6_addr[15] = 1; /* ::ffff:127.0.0.1 is 127.0.0.1 */
    assert_int_equal(gw_peers_create(&p, 3), 0);
    gw_peer *h[4];
    h[0] = gw_peers_admit(p, (struct sockaddr *)&a, sizeof a);
    h[1] = gw_peers_admit(p, (struct sockaddr *)&a6, sizeof a6);
    h[2] = gw_peers_admit(p, (struct sockaddr *)&a, sizeof a);
    assert_non_null(h[0]);
    assert_non_null(h[1]);
    assert_non_null(h[2]);
    assert_null(gw_peers_admit(p, (struct sockaddr *)&a, sizeof a)); /* the 4th */
    h[3] = gw_peers_admit(p, (struct sockaddr *)&b, sizeof b);       /* another address */
    assert_non_null(h[3]);
    assert_int_equal(gw_peers_count(p, (struct sockaddr *)&a, sizeof a), 3);
    assert_int_equal(gw_peers_addresses(p), 2);
    gw_peers_release(p, h[1]);
    assert_non_null(h[1] = gw_peers_admit(p, (struct sockaddr *)&a, sizeof a));
    for (int i = 0; i < 4; i++)
        gw_peers_release(p, h[i]);
    assert_int_equal(gw_peers_count(p, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(gw_peers_addresses(p), 0);
    gw_peers_release(p, NULL);
    gw_peers_destroy(p);
}

/* Many addresses coming and going in mixed order (releases move the last
 * address into the freed place): every count matches a model throughout. */
static void test_peers_many(void **st)
{
    (void)st;
    enum { NA = 300, PER = 2 };
    gw_peers *p;
    assert_int_equal(gw_peers_create(&p, PER), 0);
    static gw_peer *h[NA][PER];
    long model[NA] = {0};
    struct sockaddr_in a = {.sin_family = AF_INET};
    uint64_t rng = 12345;
    for (int step = 0; step < 20000; step++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        int i = (int)((rng >> 33) % NA);
        a.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
        if ((rng >> 20) & 1) {
            gw_peer *x = gw_peers_admit(p, (struct sockaddr *)&a, sizeof a);
            if (model[i] < PER) {
                assert_non_null(x);
                h[i][model[i]++] = x;
            } else {
                assert_null(x);
            }
        } else if (model[i] > 0) {
            gw_peers_release(p, h[i][--model[i]]);
        }
        if (step % 97 == 0) {
            size_t live = 0;
            for (int k = 0; k < NA; k++) {
                a.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)k);
                assert_int_equal(gw_peers_count(p, (struct sockaddr *)&a, sizeof a), model[k]);
                live += model[k] > 0;
            }
            assert_int_equal(gw_peers_addresses(p), live);
        }
    }
    gw_peers_destroy(p);
}

static void test_static_path(void **st)
{
    (void)st;
    gw_config c = {.www_dir = "/www", .vendor_dir = "/v"};
    char *p;
    const char *mime;
    assert_int_equal(gw_api_static_path(&c, "/", &p, &mime), 0);
    assert_string_equal(p, "/www/index.html");
    assert_string_equal(mime, "text/html; charset=utf-8");
    free(p);
    assert_int_equal(gw_api_static_path(&c, "/vendor/uplot/uPlot.min.css", &p, &mime), 0);
    assert_string_equal(p, "/v/uPlot.min.css");
    free(p);
    const char *bad[] = {
        "/../etc/passwd.html", "/a/../../x.js", "/.git/config.json",        "/x.exe",
        "//etc/x.js",          "/a\\b.js",      "/vendor/uplot/../../x.js", "noslash.js"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(gw_api_static_path(&c, bad[i], &p, &mime), -1);
}

/* ---- the chain cache ------------------------------------------------------ */

static json_t *page(gw_cache *c, gw_cache_query *q)
{
    size_t len;
    char *s = gw_cache_page(c, q, NULL, &len);
    assert_non_null(s);
    json_t *j = json_loadb(s, len, 0, NULL);
    free(s);
    assert_non_null(j);
    return j;
}

static void test_cache(void **st)
{
    (void)st;
    gw_cache *c;
    assert_int_equal(gw_cache_create(&c, 0), 0);
    anomaly as[30];
    for (int i = 0; i < 30; i++) {
        as[i] = make_anomaly(i % 3 ? "s1" : "s2", 1000 + i, (anomaly_type)(i % 3), i);
        anomaly_log_proof p = make_proof(10 + (uint64_t)i / 4, (uint32_t)(i % 4));
        assert_int_equal(gw_cache_add(c, &as[i], &p), 0);
    }
    anomaly_log_proof old = make_proof(3, 0);
    assert_int_equal(gw_cache_add(c, &as[0], &old), 1); /* out of order */
    assert_int_equal(gw_cache_count(c), 30);

    /* Newest first, cursor walks every entry once. */
    gw_cache_query q = {.type = -1, .since = NAN, .until = NAN, .limit = 7};
    int seen = 0, expect = 29;
    for (int pg = 0; pg < 10; pg++) {
        json_t *j = page(c, &q);
        json_t *items = json_object_get(j, "items");
        for (size_t i = 0; i < json_array_size(items); i++, expect--, seen++)
            assert_string_equal(json_string_value(json_object_get(json_array_get(items, i), "id")),
                                as[expect].id);
        assert_int_equal(json_integer_value(json_object_get(j, "total")), 30);
        const char *cur = json_string_value(json_object_get(j, "next_cursor"));
        if (!cur) {
            json_decref(j);
            break;
        }
        assert_int_equal(gw_cache_cursor_parse(cur, &q), 0);
        json_decref(j);
    }
    assert_int_equal(seen, 30);

    /* Filters. */
    gw_cache_query f = {.sensor_id = "s2", .type = -1, .since = NAN, .until = NAN, .limit = 100};
    json_t *j = page(c, &f);
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 10);
    json_decref(j);
    gw_cache_query t = {.type = ANOMALY_CHANGE_POINT, .since = 1010, .until = 1020, .limit = 100};
    j = page(c, &t);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 4); /* 11, 14, 17, 20 */
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "type")),
                        "change_point");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 0), "block_number")),
                     15);
    json_decref(j);

    char *item;
    anomaly_log_proof p;
    assert_int_equal(gw_cache_get(c, as[5].id, &item, &p), 0);
    assert_int_equal(p.block_number, 11);
    assert_non_null(strstr(item, as[5].id));
    free(item);
    assert_int_equal(gw_cache_get(c, "00", &item, &p), -1);

    gw_cache_query bad;
    assert_int_equal(gw_cache_cursor_parse("12", &bad), -1);
    assert_int_equal(gw_cache_cursor_parse("a-1", &bad), -1);
    assert_int_equal(gw_cache_cursor_parse("1-99999999999", &bad), -1);
    assert_int_equal(gw_cache_cursor_parse("99999999999999999999999-1", &bad), -1);
    assert_int_equal(gw_cache_cursor_parse("18446744073709551615-1", &bad), 0);
    gw_cache_clear(c);
    assert_int_equal(gw_cache_count(c), 0);
    gw_cache_destroy(c);
}

/* A bounded cache keeps the newest `max`; evicted ids leave the index
 * (backward-shift deletion keeps every survivor findable); pages that run
 * into the evicted part end with a cursor leading below the cache. */
static void test_cache_bounded(void **st)
{
    (void)st;
    gw_cache *c;
    gw_cache_stats cs;
    enum { N = 5000, MAX = 37 };
    static anomaly as[N];
    assert_int_equal(gw_cache_create(&c, MAX), 0);
    for (int i = 0; i < N; i++) {
        as[i] = make_anomaly(i % 2 ? "s1" : "s2", 1000 + i, ANOMALY_POINT, i);
        anomaly_log_proof p = make_proof(10 + (uint64_t)i / 3, (uint32_t)(i % 3));
        assert_int_equal(gw_cache_add(c, &as[i], &p), 0);
        assert_true(gw_cache_count(c) <= MAX);
    }
    gw_cache_stats_get(c, &cs);
    assert_int_equal(cs.cached, MAX);
    assert_int_equal(cs.max, MAX);
    assert_int_equal(cs.evicted, N - MAX);
    assert_int_equal(cs.total, N);
    assert_int_equal(cs.oldest_block, 10 + (N - MAX) / 3);
    assert_int_equal(cs.oldest_log, (N - MAX) % 3);
    /* Every survivor is found, every evicted id is gone. */
    for (int i = 0; i < N; i++) {
        char *item = NULL;
        int rc = gw_cache_get(c, as[i].id, &item, NULL);
        assert_int_equal(rc, i >= N - MAX ? 0 : -1);
        free(item);
    }
    /* The first page is served from the cache, newest first, total counts
     * everything read. */
    gw_cache_query q = {.type = -1, .since = NAN, .until = NAN, .limit = 10};
    assert_int_equal(gw_cache_needs_chain(c, &q), 0);
    json_t *j = page(c, &q);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), N);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "id")),
        as[N - 1].id);
    json_decref(j);
    /* A filtered page runs out of cache: short, with a cursor at the oldest
     * cached entry, and that cursor's page must come from the chain. */
    gw_cache_query f = {.sensor_id = "s1", .type = -1, .since = NAN, .until = NAN, .limit = 100};
    j = page(c, &f);
    int odd = 0;
    for (int i = N - MAX; i < N; i++)
        odd += i % 2;
    assert_int_equal(json_integer_value(json_object_get(j, "count")), odd);
    const char *cur = json_string_value(json_object_get(j, "next_cursor"));
    assert_non_null(cur);
    char expect[48];
    snprintf(expect, sizeof expect, "%d-%d", 10 + (N - MAX) / 3, (N - MAX) % 3);
    assert_string_equal(cur, expect);
    assert_int_equal(gw_cache_cursor_parse(cur, &f), 0);
    assert_int_equal(gw_cache_needs_chain(c, &f), 1);
    json_decref(j);
    /* A full page ending exactly at the oldest cached entry still leads on. */
    gw_cache_query all = {.type = -1, .since = NAN, .until = NAN, .limit = MAX};
    j = page(c, &all);
    assert_non_null(json_string_value(json_object_get(j, "next_cursor")));
    json_decref(j);
    /* A cursor just above the oldest cached entry stays in the cache. */
    gw_cache_query above = {.type = -1, .since = NAN, .until = NAN, .limit = 1};
    snprintf(expect, sizeof expect, "%d-%d", 10 + (N - MAX + 1) / 3, (N - MAX + 1) % 3);
    assert_int_equal(gw_cache_cursor_parse(expect, &above), 0);
    assert_int_equal(gw_cache_needs_chain(c, &above), 0);
    gw_cache_clear(c);
    gw_cache_stats_get(c, &cs);
    assert_int_equal(cs.total, 0);
    assert_int_equal(cs.evicted, 0);
    gw_cache_destroy(c);
}

/* ---- receipt verification -------------------------------------------------- */

static void test_verify(void **st)
{
    (void)st;
    const char *contract = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
    anomaly a = make_anomaly("dev-1", 1764000000.25, ANOMALY_POINT, 1000);
    anomaly_log_proof p = make_proof(42, 3);
    json_t *item = gw_cache_item_json(&a, &p);
    char *ij = json_dumps(item, JSON_COMPACT);
    json_decref(item);

    json_t *log = make_log(&a, &p, contract);
    json_t *rc =
        json_pack("{s:s, s:s, s:[O]}", "status", "0x1", "blockNumber", "0x2a", "logs", log);
    json_t *r = gw_chain_verify_result(ij, &p, contract, rc, 50);
    assert_true(json_is_true(json_object_get(r, "verified")));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r, "verification"), "confirmations")),
        9);
    json_decref(r);

    /* Failed transaction. */
    json_object_set_new(rc, "status", json_string("0x0"));
    r = gw_chain_verify_result(ij, &p, contract, rc, 50);
    assert_true(json_is_false(json_object_get(r, "verified")));
    json_decref(r);
    json_object_set_new(rc, "status", json_string("0x1"));

    /* Log from another contract. */
    r = gw_chain_verify_result(ij, &p, "0x0000000000000000000000000000000000000001", rc, 50);
    assert_true(json_is_false(json_object_get(r, "verified")));
    json_decref(r);

    /* The chain says something else than the cache. */
    anomaly b = a;
    b.value = 999;
    json_t *other = make_log(&b, &p, contract);
    json_t *rc2 =
        json_pack("{s:s, s:s, s:[o]}", "status", "0x1", "blockNumber", "0x2a", "logs", other);
    r = gw_chain_verify_result(ij, &p, contract, rc2, 50);
    assert_true(json_is_false(json_object_get(r, "verified")));
    assert_true(json_is_false(json_object_get(
        json_object_get(json_object_get(r, "verification"), "checks"), "content_matches")));
    json_decref(r);
    json_decref(rc2);

    /* Wrong log index, wrong block, no receipt. */
    anomaly_log_proof q = p;
    q.log_index = 4;
    r = gw_chain_verify_result(ij, &q, contract, rc, 50);
    assert_true(json_is_false(json_object_get(r, "verified")));
    json_decref(r);
    q = p;
    q.block_number = 41;
    r = gw_chain_verify_result(ij, &q, contract, rc, 50);
    assert_true(json_is_false(json_object_get(r, "verified")));
    json_decref(r);
    r = gw_chain_verify_result(ij, &p, contract, json_null(), 50);
    assert_true(json_is_false(json_object_get(r, "verified")));
    json_decref(r);

    json_decref(rc);
    json_decref(log);
    free(ij);

    char out[128];
    gw_chain_redact_url("https://user:pw@node.example:8545/v3/x?key=secret", out, sizeof out);
    assert_string_equal(out, "https://node.example:8545/v3/x");
    gw_chain_redact_url("http://127.0.0.1:8545", out, sizeof out);
    assert_string_equal(out, "http://127.0.0.1:8545");
}

/* ---- latency histograms ------------------------------------------------------ */

/* The two latencies from the store's receipt times, and their rendering:
 * cumulative buckets, _count equal to the +Inf bucket, _sum, build_info. */
static void test_latency(void **st)
{
    (void)st;
    gw_store *s;
    gw_store_options o = {.max_sensors = 4, .ring_len = 4, .stale_s = 30, .anomalous_s = 60};
    assert_int_equal(gw_store_create(&s, &o), 0);
    reading r;
    memset(&r, 0, sizeof r);
    strcpy(r.sensor_id, "a");
    for (int i = 0; i < 6; i++) {
        r.n = 0;
        r.ts = 1764200000.25 + i;
        reading_add(&r, "temperature", 20 + i);
        assert_int_equal(gw_store_add_reading(s, &r, 5000 + i), 0);
    }
    /* Reading 5 arrived at 5005; its anomaly at 5005.5. */
    assert_true(fabs(gw_store_reading_age(s, "a", 1764200005.25, 5005.5) - 0.5) < 1e-9);
    assert_true(fabs(gw_store_reading_age(s, "a", 1764200002.2504, 5010) - 8) < 1e-9);
    assert_true(isnan(gw_store_reading_age(s, "a", 1764200001.25, 5010))); /* left the ring */
    assert_true(isnan(gw_store_reading_age(s, "a", 1764200005.26, 5010)));
    assert_true(isnan(gw_store_reading_age(s, "nobody", 1764200005.25, 5010)));

    anomaly a = make_anomaly("a", 1764200005.25, ANOMALY_POINT, 9);
    assert_int_equal(gw_store_add_anomaly(s, &a, 6000), 0);
    assert_true(fabs(gw_store_anomaly_age(s, "a", a.id, 6002.5) - 2.5) < 1e-9);
    assert_true(isnan(gw_store_anomaly_age(s, "a", "ffff", 6002.5)));
    assert_int_equal(gw_store_mark_logged(s, "a", a.id, "0xabc", 7), 1);
    assert_true(isnan(gw_store_anomaly_age(s, "a", a.id, 6003))); /* timed once */
    gw_store_destroy(s);

    gw_metrics m;
    gw_metrics_init(&m);
    gw_metrics_observe(&m, GW_LAT_READING_TO_ALERT, 0.003);
    gw_metrics_observe(&m, GW_LAT_READING_TO_ALERT, 0.004);
    gw_metrics_observe(&m, GW_LAT_READING_TO_ALERT, 0.2);
    gw_metrics_observe(&m, GW_LAT_READING_TO_ALERT, 1e6); /* +Inf bucket */
    gw_metrics_observe(&m, GW_LAT_READING_TO_ALERT, -1);  /* ignored: clocks disagree */
    gw_metrics_observe(&m, GW_LAT_READING_TO_ALERT, NAN); /* ignored: not found */
    gw_metrics_observe(&m, GW_LAT_ALERT_TO_ONCHAIN, 2.5);
    gw_metrics_gauges gz;
    memset(&gz, 0, sizeof gz);
    size_t len;
    char *text = gw_metrics_render(&m, &gz, &len);
    assert_non_null(text);
    static const char *const want[] = {
        "# TYPE iotad_gateway_reading_to_alert_seconds histogram\n",
        "iotad_gateway_reading_to_alert_seconds_bucket{le=\"0.0025\"} 0\n",
        "iotad_gateway_reading_to_alert_seconds_bucket{le=\"0.005\"} 2\n",
        "iotad_gateway_reading_to_alert_seconds_bucket{le=\"0.25\"} 3\n",
        "iotad_gateway_reading_to_alert_seconds_bucket{le=\"30\"} 3\n",
        "iotad_gateway_reading_to_alert_seconds_bucket{le=\"+Inf\"} 4\n",
        "iotad_gateway_reading_to_alert_seconds_count 4\n",
        "iotad_gateway_reading_to_alert_seconds_sum 1000000.207000\n",
        "iotad_gateway_alert_to_onchain_seconds_bucket{le=\"2\"} 0\n",
        "iotad_gateway_alert_to_onchain_seconds_bucket{le=\"3\"} 1\n",
        "iotad_gateway_alert_to_onchain_seconds_count 1\n",
        "# TYPE iotad_build_info gauge\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(text, want[i]))
            fail_msg("/metrics lacks %s", want[i]);
    char bi[160];
    snprintf(bi, sizeof bi, "iotad_build_info{version=\"%s\"} 1\n", version_string());
    assert_non_null(strstr(text, bi));
    assert_null(strstr(text, "_per_second"));
    free(text);
}

/* ---- sensor store ------------------------------------------------------------ */

static void test_store(void **st)
{
    (void)st;
    gw_store *s;
    gw_store_options o = {.max_sensors = 2, .ring_len = 4, .stale_s = 30, .anomalous_s = 60};
    assert_int_equal(gw_store_create(&s, &o), 0);
    reading r;
    memset(&r, 0, sizeof r);
    strcpy(r.sensor_id, "a");
    for (int i = 0; i < 6; i++) {
        r.n = 0;
        r.ts = 100 + i;
        reading_add(&r, "temperature", 20 + i);
        if (i == 5)
            reading_add(&r, "humidity", 50);
        assert_int_equal(gw_store_add_reading(s, &r, 1000), 0);
    }
    json_t *j = gw_store_readings_json(s, "a", 0, 0);
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 4); /* the ring's 4 newest */
    json_t *ts = json_object_get(j, "ts");
    assert_true(json_real_value(json_array_get(ts, 0)) == 102);
    json_t *hum = json_object_get(json_object_get(j, "metrics"), "humidity");
    assert_true(json_is_null(json_array_get(hum, 0)));
    assert_true(json_real_value(json_array_get(hum, 3)) == 50);
    json_decref(j);
    j = gw_store_readings_json(s, "a", 103, 1);
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 1);
    assert_true(json_real_value(json_array_get(json_object_get(j, "ts"), 0)) == 105);
    json_decref(j);
    assert_null(gw_store_readings_json(s, "zz", 0, 0));

    anomaly a = make_anomaly("b", 100, ANOMALY_POINT, 9);
    assert_int_equal(gw_store_add_anomaly(s, &a, 1000), 0);
    assert_int_equal(gw_store_mark_logged(s, "b", a.id, "0xabc", 7), 1);
    assert_int_equal(gw_store_mark_logged(s, "b", "ffff", "0xabc", 7), 0);
    j = gw_store_sensors_json(s, 1010);
    json_t *list = json_object_get(j, "sensors");
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "status")),
                        "ok");
    json_t *b = json_array_get(list, 1);
    assert_string_equal(json_string_value(json_object_get(b, "status")), "anomalous");
    assert_true(json_is_true(json_object_get(json_object_get(b, "last_anomaly"), "confirmed")));
    json_decref(j);
    j = gw_store_sensors_json(s, 1100);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "sensors"), 0), "status")),
                        "stale");
    json_decref(j);
    /* Full: a new sensor replaces the least recently seen one ("a"; "b"
     * had an anomaly after a's last reading). */
    strcpy(r.sensor_id, "c");
    assert_int_equal(gw_store_add_reading(s, &r, 1000), 0);
    assert_false(gw_store_known(s, "a"));
    assert_true(gw_store_known(s, "b"));
    assert_true(gw_store_known(s, "c"));
    assert_int_equal(gw_store_count(s), 2);
    assert_int_equal(gw_store_evictions(s), 1);
    j = gw_store_readings_json(s, "c", 0, 0);
    /* One reading: a's ring is not inherited. */
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 1);
    json_decref(j);
    gw_store_destroy(s);
}

/* #19 item 4: junk ids must not lock real sensors out. Against a model of
 * least-recently-seen eviction, with many collisions (a small table), so
 * the backward-shift deletion is exercised. */
static void test_store_evict(void **st)
{
    (void)st;
    enum { MAX = 64, REAL = 8, ROUNDS = 300, JUNK = 20 };
    gw_store *s;
    gw_store_options o = {.max_sensors = MAX, .ring_len = 3};
    assert_int_equal(gw_store_create(&s, &o), 0);
    static char model[MAX][SENSOR_ID_MAX]; /* model[0] = most recently seen */
    int nmodel = 0;
    uint64_t evicted = 0, rng = 12345;
    reading r;
    for (int round = 0; round < ROUNDS; round++) {
        for (int k = 0; k < REAL + JUNK; k++) {
            memset(&r, 0, sizeof r);
            if (k < REAL)
                snprintf(r.sensor_id, sizeof r.sensor_id, "real-%d", k);
            else {
                rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                snprintf(r.sensor_id, sizeof r.sensor_id, "junk-%llu",
                         (unsigned long long)(rng >> 40) % 5000);
            }
            r.ts = round;
            reading_add(&r, "t", k);
            assert_int_equal(gw_store_add_reading(s, &r, round), 0);
            int at = -1;
            for (int i = 0; i < nmodel; i++)
                if (strcmp(model[i], r.sensor_id) == 0)
                    at = i;
            if (at < 0) {
                if (nmodel == MAX)
                    evicted++;
                else
                    nmodel++;
                at = nmodel - 1;
            }
            memmove(model[1], model[0], (size_t)at * sizeof model[0]);
            snprintf(model[0], sizeof model[0], "%s", r.sensor_id);
        }
        assert_int_equal(gw_store_count(s), nmodel);
        for (int i = 0; i < nmodel; i++)
            if (!gw_store_known(s, model[i]))
                fail_msg("round %d: %s lost", round, model[i]);
    }
    assert_int_equal(gw_store_evictions(s), evicted);
    assert_true(evicted > 1000);
    for (int k = 0; k < REAL; k++) {
        char id[32];
        snprintf(id, sizeof id, "real-%d", k);
        json_t *j = gw_store_readings_json(s, id, -1, 0);
        assert_non_null(j);
        assert_int_equal(json_integer_value(json_object_get(j, "count")), 3);
        json_decref(j);
    }
    json_t *j = gw_store_sensors_json(s, ROUNDS);
    assert_int_equal(json_array_size(json_object_get(j, "sensors")), MAX);
    json_decref(j);
    gw_store_destroy(s);
}

/* ---- REST handlers -------------------------------------------------------------- */

static gw_config cfg;
static gw G;

static int setup_gw(void **st)
{
    (void)st;
    memset(&cfg, 0, sizeof cfg);
    memset(&G, 0, sizeof G);
    cfg.max_body = 65536;
    cfg.max_batch = 3;
    cfg.chain_id = 1337;
    cfg.rpc_url = "http://u:p@127.0.0.1:8545";
    cfg.www_dir = "/nonexistent";
    G.cfg = &cfg;
    gw_store_options o = {0};
    if (gw_store_create(&G.store, &o) || gw_cache_create(&G.cache, 0))
        return -1;
    gw_metrics_init(&G.metrics);
    return 0;
}

static int teardown_gw(void **st)
{
    (void)st;
    gw_store_destroy(G.store);
    gw_cache_destroy(G.cache);
    return 0;
}

/* 1 when the frame of m contains s. */
static int frame_has(const gw_msg *m, const char *s)
{
    char buf[512];
    size_t n = m->len < sizeof buf - 1 ? m->len : sizeof buf - 1;
    memcpy(buf, m->frame, n);
    buf[n] = '\0';
    return strstr(buf, s) != NULL;
}

/* Readings reach browsers coalesced per sensor (WS_READING_INTERVAL_MS):
 * the first at once, the newest of the rest once the interval has passed,
 * those in between counted; anomalies are never held back; and the
 * broker's $SYS figures land in the metrics, a bad one refused. */
static void test_feed_coalesce(void **st)
{
    (void)st;
    char p[128];
    cfg.ws_reading_ms = 300;
    assert_int_equal(gw_bus_create(&G.bus, 100, NULL, NULL), 0);
    assert_int_equal(ingest_create(&G.ig, NULL), 0);
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "{\"ts\":%d,\"temperature\":%d}", 1764000000 + 60 * i, 20 + i);
        gw_feed_on_message(&G, "sensors/co-1/readings", p, strlen(p));
    }
    gw_msg *l = gw_bus_take(G.bus);
    assert_non_null(l);
    assert_null(l->next);
    assert_true(frame_has(l, "\"temperature\":20"));
    gw_msg_unref(l);
    gw_feed_flush(&G); /* the interval has not passed */
    assert_null(gw_bus_take(G.bus));
    const char *an = "{\"id\":\"x\"}"; /* invalid anomaly: counted, not coalesced away */
    gw_feed_on_message(&G, "anomalies/co-1", an, strlen(an));
    usleep(350 * 1000);
    gw_feed_flush(&G);
    l = gw_bus_take(G.bus);
    assert_non_null(l);
    assert_null(l->next);
    assert_true(frame_has(l, "\"temperature\":24"));
    gw_msg_unref(l);
    assert_int_equal(gw_metrics_get(&G.metrics.readings_coalesced), 3);
    assert_int_equal(gw_metrics_get(&G.metrics.events[GW_RATE_READINGS]), 5);

    gw_feed_on_message(&G, "$SYS/broker/publish/messages/dropped", "1234", 4);
    gw_feed_on_message(&G, "$SYS/broker/messages/sent", "12x", 3);
    assert_int_equal(G.metrics.broker[TOPICS_BROKER_DROPPED], 1234);
    assert_int_equal(G.metrics.broker_seen, 1u << TOPICS_BROKER_DROPPED);
    size_t len;
    gw_metrics_gauges gz = {0};
    char *txt = gw_metrics_render(&G.metrics, &gz, &len);
    assert_non_null(strstr(txt, "\niotad_broker_messages_dropped_total 1234\n"));
    assert_null(strstr(txt, "iotad_broker_messages_sent_total"));
    assert_non_null(strstr(txt, "\niotad_gateway_readings_coalesced_total 3\n"));
    free(txt);

    gw_feed_destroy();
    ingest_destroy(G.ig);
    gw_bus_destroy(G.bus);
    G.ig = NULL;
    G.bus = NULL;
    cfg.ws_reading_ms = 0;
}

static gw_response call(int method, const char *path, const char *body, const char *auth)
{
    gw_request rq;
    memset(&rq, 0, sizeof rq);
    rq.method = method;
    rq.path = path;
    rq.body = body;
    rq.body_len = body ? strlen(body) : 0;
    rq.authorization = auth;
    const char *q = strchr(path, '?');
    static char pathbuf[256];
    if (q) {
        snprintf(pathbuf, sizeof pathbuf, "%.*s", (int)(q - path), path);
        rq.path = pathbuf;
        char args[256];
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

static const char *test_auth; /* Authorization sent by expect_error */

static void expect_error(int method, const char *path, const char *body, int status,
                         const char *code)
{
    gw_response rs = call(method, path, body, test_auth);
    assert_int_equal(rs.status, status);
    if (code) {
        json_t *j = json_loadb(rs.body, rs.len, 0, NULL);
        assert_non_null(j);
        const char *got = json_string_value(json_object_get(j, "code"));
        if (!got || strcmp(got, code) != 0)
            fail_msg("%s %s: code %s, want %s (%s)", path, body ? body : "", got, code, rs.body);
        json_decref(j);
    }
    gw_api_response_free(&rs);
}

static void test_api_readings(void **st)
{
    (void)st;
    /* No token configured: no writes at all, whatever is sent (#19). */
    gw_response rs = call(GW_M_POST, "/api/readings", "{\"sensor_id\":\"a\",\"t\":1}", NULL);
    assert_int_equal(rs.status, 401);
    assert_non_null(strstr(rs.body, "GATEWAY_TOKEN"));
    gw_api_response_free(&rs);
    rs = call(GW_M_POST, "/api/readings", "{\"sensor_id\":\"a\",\"t\":1}", "Bearer ");
    assert_int_equal(rs.status, 401);
    gw_api_response_free(&rs);
    assert_false(gw_api_authorized(&G, "Bearer "));
    assert_false(gw_api_authorized(&G, NULL));

    cfg.token = "tok";
    test_auth = "Bearer tok";
    expect_error(GW_M_POST, "/api/readings", "{\"sensor_id\":\"a\",\"t\":NaN}", 400, "json");
    expect_error(GW_M_POST, "/api/readings", "{\"sensor_id\":\"a\",\"t\":1e999}", 400, "json");
    expect_error(GW_M_POST, "/api/readings", "{\"t\":1}", 400, "sensor_id");
    expect_error(GW_M_POST, "/api/readings", "{\"sensor_id\":\"a#\",\"t\":1}", 400, "sensor_id");
    expect_error(GW_M_POST, "/api/readings", "{\"sensor_id\":\"a\",\"t\":\"1\"}", 400, "type");
    expect_error(GW_M_POST, "/api/readings", "{\"sensor_id\":\"a\",\"t\":[1]}", 400, "type");
    expect_error(GW_M_POST, "/api/readings", "{\"sensor_id\":\"a\"}", 400, "no_metric");
    expect_error(GW_M_POST, "/api/readings", "{\"sensor_id\":\"a\",\"ts\":-1,\"t\":1}", 400,
                 "timestamp");
    expect_error(GW_M_POST, "/api/readings", "[1]", 400, "type");
    expect_error(GW_M_POST, "/api/readings", "[]", 400, "empty");
    expect_error(GW_M_POST, "/api/readings", "", 400, "empty");
    expect_error(GW_M_POST, "/api/readings",
                 "[{\"sensor_id\":\"a\",\"t\":1},{\"sensor_id\":\"a\",\"t\":1},"
                 "{\"sensor_id\":\"a\",\"t\":1},{\"sensor_id\":\"a\",\"t\":1}]",
                 413, "too_many");
    expect_error(GW_M_GET, "/api/readings", NULL, 405, "method");
    rs = call(GW_M_POST, "/api/readings",
              "[{\"sensor_id\":\"a\",\"t\":1},{\"sensor_id\":\"b\",\"ts\":5,\"t\":2}]", test_auth);
    assert_int_equal(rs.status, 202);
    assert_non_null(strstr(rs.body, "\"accepted\":2"));
    assert_non_null(strstr(rs.body, "sensors/b/readings"));
    gw_api_response_free(&rs);

    rs = call(GW_M_POST, "/api/readings", "{\"sensor_id\":\"a\",\"t\":1}", NULL);
    assert_int_equal(rs.status, 401);
    assert_true(rs.auth_challenge);
    gw_api_response_free(&rs);
    rs = call(GW_M_POST, "/api/readings", "{\"sensor_id\":\"a\",\"t\":1}", "Bearer tok2");
    assert_int_equal(rs.status, 401);
    gw_api_response_free(&rs);
    rs = call(GW_M_POST, "/api/readings", "{\"sensor_id\":\"a\",\"t\":1}", "bearer tok");
    assert_int_equal(rs.status, 202);
    gw_api_response_free(&rs);
    cfg.token = NULL;
    test_auth = NULL;
    assert_true(G.metrics.err[GW_ERR_HTTP_BAD_REQUEST] >= 10);
}

static void test_api_get(void **st)
{
    (void)st;
    anomaly a = make_anomaly("s1", 50, ANOMALY_POINT, 3);
    anomaly_log_proof p = make_proof(5, 0);
    gw_cache_add(G.cache, &a, &p);
    gw_response rs = call(GW_M_GET, "/api/anomalies?limit=10&sensor_id=s1", NULL, NULL);
    assert_int_equal(rs.status, 200);
    assert_non_null(strstr(rs.body, a.id));
    gw_api_response_free(&rs);
    expect_error(GW_M_GET, "/api/anomalies?limit=0", NULL, 400, "limit");
    expect_error(GW_M_GET, "/api/anomalies?limit=1001", NULL, 400, "limit");
    expect_error(GW_M_GET, "/api/anomalies?type=x", NULL, 400, "type");
    expect_error(GW_M_GET, "/api/anomalies?since=1e999", NULL, 400, "since");
    expect_error(GW_M_GET, "/api/anomalies?cursor=1", NULL, 400, "cursor");
    expect_error(GW_M_GET, "/api/anomalies/123", NULL, 400, "id");
    char path[128];
    snprintf(path, sizeof path, "/api/anomalies/0x%s", a.id);
    rs = call(GW_M_GET, path, NULL, NULL); /* no verifier in unit tests: cached, unverified */
    assert_int_equal(rs.status, 200);
    assert_non_null(strstr(rs.body, "\"verified\":false"));
    gw_api_response_free(&rs);
    expect_error(GW_M_GET,
                 "/api/anomalies/0000000000000000000000000000000000000000000000000000000000000000",
                 NULL, 404, "not_found");
    expect_error(GW_M_GET, "/api/sensors/nobody/readings", NULL, 404, "not_found");
    expect_error(GW_M_GET, "/api/whatever", NULL, 404, "not_found");
    expect_error(GW_M_GET, "/healthz", NULL, 503, NULL); /* no broker, no chain */
    rs = call(GW_M_GET, "/api/chain", NULL, NULL);
    assert_int_equal(rs.status, 200);
    assert_null(strstr(rs.body, "u:p")); /* credentials never echoed */
    gw_api_response_free(&rs);
    rs = call(GW_M_GET, "/metrics", NULL, NULL);
    assert_int_equal(rs.status, 200);
    assert_non_null(strstr(rs.body, "iotad_gateway_errors_total{kind=\"http_bad_request\"}"));
    assert_non_null(strstr(rs.body, "iotad_gateway_chain_anomalies 1\n"));
    gw_api_response_free(&rs);
}

static void test_logged_parse(void **st)
{
    (void)st;
    char err[200];
    char good[300];
    snprintf(good, sizeof good, "{\"id\":\"%064d\",\"tx_hash\":\"0x%064d\",\"block_number\":3}", 1,
             2);
    json_t *o = gw_feed_logged_parse("s", good, strlen(good), err, sizeof err);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "sensor_id")), "s");
    json_decref(o);
    const char *bad[] = {
        "{}", "[]", "{\"id\":\"x\",\"tx_hash\":\"0x1\",\"block_number\":1}",
        "{\"id\":\"0000000000000000000000000000000000000000000000000000000000000001\","
        "\"tx_hash\":\"0x12\",\"block_number\":1}",
        "nope"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_null(gw_feed_logged_parse("s", bad[i], strlen(bad[i]), err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_header),
        cmocka_unit_test(test_msg_wrap),
        cmocka_unit_test(test_bus),
        cmocka_unit_test(test_bus_take_n),
        cmocka_unit_test(test_bus_readings_first),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_origin),
        cmocka_unit_test(test_hosts),
        cmocka_unit_test(test_peers),
        cmocka_unit_test(test_peers_many),
        cmocka_unit_test(test_static_path),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_cache_bounded),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_store),
        cmocka_unit_test(test_store_evict),
        cmocka_unit_test_setup_teardown(test_api_readings, setup_gw, teardown_gw),
        cmocka_unit_test_setup_teardown(test_feed_coalesce, setup_gw, teardown_gw),
        cmocka_unit_test_setup_teardown(test_api_get, setup_gw, teardown_gw),
        cmocka_unit_test(test_logged_parse),
        cmocka_unit_test(test_latency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
