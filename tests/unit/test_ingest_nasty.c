/*
 * Nasty inputs through ingest_decode, for every adapter (issue 6's corpus):
 * NaN / Infinity / 1e999 in every value slot, deeply nested documents, huge
 * numbers of fields, invalid UTF-8 in payloads and topics, a 10 MB payload,
 * negative and far-future timestamps, wrong types, NUL bytes, truncations,
 * and 20,000 seeded random mutations of valid messages per format.
 *
 * For each: no crash (the suite also runs under ASan/UBSan), a return code
 * in the documented range, every reading returned well-formed (valid id,
 * finite ts and values, 1..READING_MAX_METRICS metrics), an error message
 * when rejected, and a valid message decoded correctly right after.
 */
/* cmocka needs these first, in this order */
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

#include "ingest/ingest.h"
#include "ingest_test_util.h"

#define CAP 8

typedef struct {
    const char *topic;
    const char *valid; /* a message that yields >= 1 reading */
    const char *tmpl;  /* payload with one %s for a value */
} format;

static const format formats[] = {
    {"sensors/n1/readings", "{\"temperature\":21.5}", "{\"temperature\":%s}"},
    {"zigbee2mqtt/z1", "{\"temperature\":21.5}", "{\"temperature\":%s,\"battery\":%s}"},
    {"tele/t1/SENSOR", "{\"BME280\":{\"Temperature\":21.5}}",
     "{\"BME280\":{\"Temperature\":%s},\"TempUnit\":\"C\"}"},
    {"esp/sensor/t/state", "21.5", "%s"},
    {"senml/s1", "[{\"n\":\"temperature\",\"v\":21.5}]", "[{\"n\":\"temperature\",\"v\":%s}]"},
};
#define NFORMATS (sizeof formats / sizeof formats[0])

static const char mapping[] =
    "{\"adapters\":{\"zigbee2mqtt\":{},\"tasmota\":{\"device_time\":true},\"senml\":{},"
    "\"esphome\":{\"groups\":[{\"sensor\":\"e1\",\"states\":[{\"topic\":\"esp/sensor/t/state\","
    "\"metric\":\"temperature\"}]}]}}}";

static int setup(void **state)
{
    ingest *ig;
    MAPPING(&ig, mapping);
    *state = ig;
    return 0;
}

static int teardown(void **state)
{
    ingest_destroy(*state);
    return 0;
}

/* Decode and check the contract whatever the input. Returns the rc. */
static int check(ingest *ig, const char *topic, const void *p, size_t len)
{
    reading r[CAP];
    char err[160] = "";
    memset(r, 0xA5, sizeof r); /* garbage, so a half-filled reading shows */
    int rc = ingest_decode(ig, topic, p, len, NOW, r, CAP, err, sizeof err);
    if (rc < READING_ERR_FORMAT || rc > CAP)
        fail_msg("topic %s: rc %d out of range", topic, rc);
    if (rc < 0 && err[0] == '\0')
        fail_msg("topic %s: rc %d without a reason", topic, rc);
    for (int i = 0; i < rc; i++) {
        if (!sensor_id_valid(r[i].sensor_id) || !isfinite(r[i].ts) || r[i].ts < 0 ||
            r[i].ts > NOW + READING_MAX_FUTURE_S || r[i].n < 1 || r[i].n > READING_MAX_METRICS)
            fail_msg("topic %s: malformed reading %d", topic, i);
        for (int k = 0; k < r[i].n; k++)
            if (!isfinite(r[i].m[k].value) || memchr(r[i].m[k].name, 0, READING_NAME_MAX) == NULL ||
                r[i].m[k].name[0] == '\0')
                fail_msg("topic %s: malformed metric", topic);
    }
    return rc;
}

static int checks(ingest *ig, const char *topic, const char *p)
{
    return check(ig, topic, p, strlen(p));
}

/* A valid message of every format still decodes. */
static void still_works(ingest *ig)
{
    for (size_t f = 0; f < NFORMATS; f++) {
        int rc = checks(ig, formats[f].topic, formats[f].valid);
        if (rc != 1)
            fail_msg("%s: valid message after nasty input gave %d", formats[f].topic, rc);
    }
}

static void test_non_finite(void **state)
{
    ingest *ig = *state;
    const char *vals[] = {"NaN",    "nan",   "Infinity", "-Infinity", "inf",    "1e999",
                          "-1e999", "1e308", "-1e308",   "4.9e-324",  "1e-999", "\"21.5\"",
                          "true",   "null",  "[]",       "{}",        "0x10",   "01",
                          "-",      "1.",    ".5",       "+1",        "1e",     "\"\\u0000\""};
    char buf[256];
    for (size_t f = 0; f < NFORMATS; f++) {
        for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
            snprintf(buf, sizeof buf, formats[f].tmpl, vals[v], vals[v]);
            int rc = checks(ig, formats[f].topic, buf);
            /* nothing non-finite may come out as a reading; 1e308 is finite,
             * and in degC it stays finite (no conversion) */
            if (rc > 0 &&
                (strstr(vals[v], "NaN") || strstr(vals[v], "nan") || strstr(vals[v], "Infinity") ||
                 strstr(vals[v], "inf") || strstr(vals[v], "999")))
                if (strcmp(vals[v], "1e-999") != 0)
                    fail_msg("%s accepted %s", formats[f].topic, vals[v]);
        }
    }
    /* a finite value that overflows in conversion */
    ingest *ig2;
    reading r[1];
    MAPPING(&ig2, "{\"adapters\":{\"senml\":{}}}");
    assert_int_equal(dec(ig2, "senml/x", "[{\"n\":\"pressure\",\"u\":\"bar\",\"v\":1e308}]", r, 1),
                     READING_ERR_TYPE);
    ingest_destroy(ig2);
    still_works(ig);
}

static char *nested(int depth, char open, char close, const char *inner)
{
    size_t il = strlen(inner);
    char *p = malloc((size_t)depth * 6 + il + 1);
    assert_non_null(p);
    size_t n = 0;
    for (int i = 0; i < depth; i++) {
        if (open == '{') {
            memcpy(p + n, "{\"a\":", 5);
            n += 5;
        } else {
            p[n++] = open;
        }
    }
    memcpy(p + n, inner, il);
    n += il;
    for (int i = 0; i < depth; i++)
        p[n++] = close;
    p[n] = '\0';
    return p;
}

static void test_deep_nesting(void **state)
{
    ingest *ig = *state;
    int depths[] = {10, 1000, 100000};
    for (size_t d = 0; d < 3; d++) {
        char *obj = nested(depths[d], '{', '}', "1");
        char *arr = nested(depths[d], '[', ']', "1");
        for (size_t f = 0; f < NFORMATS; f++) {
            int a = checks(ig, formats[f].topic, obj);
            int b = checks(ig, formats[f].topic, arr);
            assert_true(a <= 0 && b <= 0);
        }
        free(obj);
        free(arr);
    }
    still_works(ig);
}

static void test_many_fields(void **state)
{
    ingest *ig = *state;
    /* ~5,000 numeric fields (under the 64 KiB limit), and ~100,000 (over) */
    size_t counts[] = {5000, 100000};
    for (size_t c = 0; c < 2; c++) {
        size_t cap = counts[c] * 16 + 64;
        char *p = malloc(cap), *q = malloc(cap + 64);
        assert_non_null(p);
        assert_non_null(q);
        size_t n = 0;
        for (size_t i = 0; i < counts[c]; i++)
            n += (size_t)snprintf(p + n, cap - n, "%s\"f%zu\":%zu", i ? "," : "", i, i);
        /* as the members of a flat object, of a Tasmota sensor, and as SenML records */
        snprintf(q, cap + 64, "{%s}", p);
        for (size_t f = 0; f < NFORMATS; f++) {
            int rc = checks(ig, formats[f].topic, q);
            if (c == 1)
                assert_int_equal(rc, READING_ERR_TOO_LARGE);
        }
        assert_int_equal(checks(ig, "sensors/n1/readings", q),
                         c == 0 ? READING_ERR_TOO_MANY : READING_ERR_TOO_LARGE);
        snprintf(q, cap + 64, "{\"S\":{%s}}", p);
        assert_int_equal(checks(ig, "tele/t1/SENSOR", q), c == 0 ? 0 : READING_ERR_TOO_LARGE);
        free(p);
        free(q);
    }
    /* many SenML records of distinct sensors: more readings than room */
    char *pack = malloc(60000);
    assert_non_null(pack);
    size_t n = 0;
    n += (size_t)snprintf(pack + n, 60000 - n, "[");
    for (int i = 0; i < 1500; i++)
        n += (size_t)snprintf(pack + n, 60000 - n, "%s{\"n\":\"d%d/temp\",\"v\":%d}", i ? "," : "",
                              i, i);
    snprintf(pack + n, 60000 - n, "]");
    assert_int_equal(checks(ig, "senml/s1", pack), READING_ERR_TOO_MANY);
    /* and many records of one sensor and instant: merged into one reading */
    n = (size_t)snprintf(pack, 60000, "[");
    for (int i = 0; i < 1500; i++)
        n += (size_t)snprintf(pack + n, 60000 - n, "%s{\"n\":\"temp\",\"v\":%d}", i ? "," : "", i);
    snprintf(pack + n, 60000 - n, "]");
    assert_int_equal(checks(ig, "senml/s1", pack), 1);
    free(pack);
    still_works(ig);
}

static void test_invalid_utf8(void **state)
{
    ingest *ig = *state;
    const char *bad[] = {"\xff",    "\xc3\x28", "\xe2\x82", "\xed\xa0\x80", "\xf8\x88\x80\x80\x80",
                         "\xc0\xaf"};
    char buf[256];
    for (size_t f = 0; f < NFORMATS; f++) {
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            /* in a key, in a string value, bare */
            snprintf(buf, sizeof buf, "{\"t%s\":1,\"temperature\":2}", bad[b]);
            assert_true(checks(ig, formats[f].topic, buf) < 0);
            snprintf(buf, sizeof buf, "[{\"n\":\"temp\",\"u\":\"%s\",\"v\":1}]", bad[b]);
            assert_true(checks(ig, formats[f].topic, buf) <= 0);
            snprintf(buf, sizeof buf, formats[f].tmpl, bad[b], bad[b]);
            assert_true(checks(ig, formats[f].topic, buf) < 0);
        }
    }
    /* in topics: the name becomes '_' characters, or the topic is refused */
    reading r[CAP];
    assert_int_equal(dec(ig, "sensors/\xff\xfe/readings", "{\"temperature\":1}", r, CAP),
                     READING_ERR_SENSOR);
    assert_int_equal(dec(ig, "zigbee2mqtt/caf\xc3\xa9\xff", "{\"temperature\":1}", r, CAP), 1);
    assert_string_equal(r[0].sensor_id, "caf___");
    assert_int_equal(dec(ig, "tele/\xff/SENSOR", "{\"S\":{\"Temperature\":1}}", r, CAP), 1);
    assert_true(sensor_id_valid(r[0].sensor_id));
    still_works(ig);
}

static void test_ten_megabytes(void **state)
{
    ingest *ig = *state;
    size_t len = 10u << 20;
    char *p = malloc(len);
    assert_non_null(p);
    /* a syntactically plausible start, then padding */
    memset(p, ' ', len);
    memcpy(p, "{\"temperature\":1,\"pad\":\"", 25);
    p[len - 2] = '"';
    p[len - 1] = '}';
    for (size_t f = 0; f < NFORMATS; f++)
        assert_int_equal(check(ig, formats[f].topic, p, len), READING_ERR_TOO_LARGE);
    memset(p, '9', len); /* one enormous number */
    for (size_t f = 0; f < NFORMATS; f++)
        assert_int_equal(check(ig, formats[f].topic, p, len), READING_ERR_TOO_LARGE);
    free(p);
    /* just over and just under the limit */
    p = malloc(READING_MAX_PAYLOAD + 1);
    assert_non_null(p);
    memset(p, ' ', READING_MAX_PAYLOAD + 1);
    memcpy(p, "{\"temperature\":1}", 17);
    assert_int_equal(check(ig, "sensors/n1/readings", p, READING_MAX_PAYLOAD + 1),
                     READING_ERR_TOO_LARGE);
    assert_int_equal(check(ig, "sensors/n1/readings", p, READING_MAX_PAYLOAD), 1);
    free(p);
    still_works(ig);
}

static void test_timestamps(void **state)
{
    ingest *ig = *state;
    const char *native[] = {"{\"ts\":-1,\"temperature\":1}", "{\"ts\":1e30,\"temperature\":1}",
                            "{\"ts\":\"2024-01-01\",\"temperature\":1}",
                            "{\"ts\":1e999,\"temperature\":1}"};
    for (size_t i = 0; i < 4; i++)
        assert_true(checks(ig, "sensors/n1/readings", native[i]) < 0);
    const char *senml[] = {"[{\"n\":\"temp\",\"v\":1,\"bt\":-2e9}]", /* relative, before 1970 */
                           "[{\"n\":\"temp\",\"v\":1,\"t\":1e30}]",
                           "[{\"n\":\"temp\",\"v\":1,\"bt\":1e308,\"t\":1e308}]",
                           "[{\"n\":\"temp\",\"v\":1,\"bt\":-1e308,\"t\":-1e308}]"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(checks(ig, "senml/s1", senml[i]), READING_ERR_TS);
    const char *tas[] = {"{\"Time\":\"0000-00-00T00:00:00\",\"S\":{\"Temperature\":1}}",
                         "{\"Time\":\"9999-12-31T23:59:59\",\"S\":{\"Temperature\":1}}",
                         "{\"Time\":\"2024-02-30T00:00:00\",\"S\":{\"Temperature\":1}}",
                         "{\"Time\":12,\"S\":{\"Temperature\":1}}",
                         "{\"Time\":\"2024-01-01T00:00:00+99:00\",\"S\":{\"Temperature\":1}}"};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(checks(ig, "tele/t1/SENSOR", tas[i]), READING_ERR_TS);
    still_works(ig);
}

static void test_odd_bytes(void **state)
{
    ingest *ig = *state;
    const char with_nul[] = "{\"temperature\":1}\0garbage";
    const char *shapes[] = {"",
                            " ",
                            "{",
                            "}",
                            "[",
                            "]",
                            "\"",
                            "{\"",
                            "{\"temperature\"",
                            "{\"temperature\":}",
                            "{,}",
                            "[,]",
                            "{\"a\":1,}",
                            "null",
                            "true",
                            "\"str\"",
                            "0",
                            "-0",
                            "[[[]]]",
                            "{\"\":1}",
                            "{\"temperature\":1}x"};
    for (size_t f = 0; f < NFORMATS; f++) {
        assert_true(check(ig, formats[f].topic, with_nul, sizeof with_nul - 1) < 0);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            checks(ig, formats[f].topic, shapes[s]);
    }
    /* odd topics */
    const char *topics[] = {"",
                            "/",
                            "#",
                            "+",
                            "sensors",
                            "sensors/",
                            "sensors/+/readings",
                            "sensors/#/readings",
                            "tele//SENSOR",
                            "zigbee2mqtt/",
                            "senml/",
                            "zigbee2mqtt/bridge/",
                            "$SYS/broker/uptime"};
    for (size_t t = 0; t < sizeof topics / sizeof topics[0]; t++)
        checks(ig, topics[t], "{\"temperature\":1}");
    char longtopic[70000];
    memset(longtopic, 'a', sizeof longtopic - 1);
    longtopic[sizeof longtopic - 1] = '\0';
    memcpy(longtopic, "zigbee2mqtt/", 12);
    assert_int_equal(checks(ig, longtopic, "{\"temperature\":1}"), READING_ERR_SENSOR);
    memcpy(longtopic, "senml/", 6);
    memcpy(longtopic + 6, "x/", 2);
    checks(ig, longtopic, "[{\"n\":\"temp\",\"v\":1}]");
    still_works(ig);
}

/* xorshift: deterministic, so a failure reproduces */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_mutations(void **state)
{
    ingest *ig = *state;
    static const char *seeds[] = {
        "{\"ts\":1699999999.5,\"temperature\":21.4,\"humidity\":40.1,\"pressure\":1013.2}",
        "{\"battery\":100,\"humidity\":58.35,\"linkquality\":134,\"pressure\":1009.4,"
        "\"temperature\":22.75,\"voltage\":3005}",
        "{\"Time\":\"2023-11-14T22:13:20\",\"BME280\":{\"Temperature\":21.7,\"Humidity\":66.6,"
        "\"Pressure\":988.6},\"DS18B20-1\":{\"Id\":\"01144A0CB2AA\",\"Temperature\":55.3},"
        "\"PressureUnit\":\"hPa\",\"TempUnit\":\"C\"}",
        "21.4",
        "[{\"bn\":\"urn:dev:ow:10e2073a01080063:\",\"bt\":1.320067464e+09,\"bu\":\"%RH\",\"v\":20},"
        "{\"n\":\"temperature\",\"u\":\"K\",\"t\":60,\"v\":293.1},{\"bn\":\"b/\",\"n\":\"press\","
        "\"u\":\"kPa\",\"v\":101.3}]",
    };
    static const char alphabet[] = "{}[]\":,.-+eE0123456789 \\u\xff\x00tnfaNI/";
    char buf[512];
    long accepted = 0, rejected = 0;
    for (size_t f = 0; f < NFORMATS; f++) {
        size_t sl = strlen(seeds[f]);
        for (int iter = 0; iter < 20000; iter++) {
            memcpy(buf, seeds[f], sl);
            size_t len = sl;
            int edits = 1 + (int)(next() % 4);
            for (int e = 0; e < edits; e++) {
                size_t pos = len ? next() % len : 0;
                char c = alphabet[next() % (sizeof alphabet - 1)];
                switch (next() % 4) {
                case 0: /* replace */
                    if (len)
                        buf[pos] = c;
                    break;
                case 1: /* insert */
                    if (len < sizeof buf - 1) {
                        memmove(buf + pos + 1, buf + pos, len - pos);
                        buf[pos] = c;
                        len++;
                    }
                    break;
                case 2: /* delete */
                    if (len) {
                        memmove(buf + pos, buf + pos + 1, len - pos - 1);
                        len--;
                    }
                    break;
                default: /* truncate */
                    len = pos;
                }
            }
            int rc = check(ig, formats[f].topic, buf, len);
            if (rc > 0)
                accepted++;
            else
                rejected++;
        }
    }
    print_message("mutations: %ld accepted, %ld rejected\n", accepted, rejected);
    /* the mutations exercised both paths */
    assert_true(accepted > 1000);
    assert_true(rejected > 1000);
    still_works(ig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_non_finite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ten_megabytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_odd_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutations, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
