/* Unit tests for the core shared modules: keccak, hex, config, reading, anomaly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/anomaly.h"
#include "base/config.h"
#include "base/crc32c.h"
#include "base/version.h"
#include "base/hex.h"
#include "eth/keccak.h"
#include "bus/reading.h"

static void hexhash(const char *in, size_t len, char out[65])
{
    uint8_t d[32];
    keccak256(in, len, d);
    hex_encode(out, d, 32, 0);
}

/* Published vectors: Keccak-256 (Ethereum) of "", "abc", and a 200-byte
 * input crossing the 136-byte rate boundary. */
static void test_keccak_vectors(void **state)
{
    (void)state;
    char h[65];
    hexhash("", 0, h);
    assert_string_equal(h, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    hexhash("abc", 3, h);
    assert_string_equal(h, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    /* Function selector of transfer(address,uint256) is a9059cbb. */
    hexhash("transfer(address,uint256)", 25, h);
    assert_memory_equal(h, "a9059cbb", 8);
    /* Incremental equals one-shot across block boundaries. */
    char buf[300];
    for (int i = 0; i < 300; i++)
        buf[i] = (char)(i * 7);
    uint8_t a[32], b[32];
    keccak256(buf, 300, a);
    keccak_ctx k;
    keccak_init(&k);
    keccak_update(&k, buf, 1);
    keccak_update(&k, buf + 1, 135);
    keccak_update(&k, buf + 136, 164);
    keccak_final(&k, b);
    assert_memory_equal(a, b, 32);
}

static void test_hex(void **state)
{
    (void)state;
    uint8_t b[4];
    assert_int_equal(hex_decode(b, 4, "0xDEADbeef"), 4);
    assert_int_equal(b[0], 0xde);
    assert_int_equal(b[3], 0xef);
    assert_int_equal(hex_decode(b, 4, "0x123"), -1);
    assert_int_equal(hex_decode(b, 4, "zz"), -1);
    assert_int_equal(hex_decode(b, 2, "aabbcc"), -1);
    uint64_t v;
    assert_int_equal(hex_to_u64("0x539", &v), 0);
    assert_int_equal(v, 1337);
    assert_int_equal(hex_to_u64("539", &v), -1);
    assert_int_equal(hex_to_u64("0x10000000000000000", &v), -1);
    char s[16];
    assert_int_equal(hex_encode(s, b, 2, 1), 6);
    assert_string_equal(s, "0xdead");
}

static void test_config(void **state)
{
    (void)state;
    const char *url = NULL;
    long port = 0;
    double thr = 0;
    int flag = 0;
    const config_option opts[] = {
        {"mqtt-url", "T_MQTT_URL", CONFIG_STR, "tcp://d", "u", &url},
        {"port", "T_PORT", CONFIG_INT, "8080", "p", &port},
        {"thr", "T_THR", CONFIG_DBL, "0.5", "t", &thr},
        {"flag", "T_FLAG", CONFIG_BOOL, "0", "f", &flag},
    };
    char *pos[8];
    int npos;
    char *argv1[] = {"prog", NULL};
    unsetenv("T_PORT");
    assert_int_equal(config_parse(opts, 4, 1, argv1, pos, &npos), 0);
    assert_string_equal(url, "tcp://d");
    assert_int_equal(port, 8080);
    setenv("T_PORT", "9000", 1);
    setenv("T_FLAG", "yes", 1);
    assert_int_equal(config_parse(opts, 4, 1, argv1, pos, &npos), 0);
    assert_int_equal(port, 9000);
    assert_int_equal(flag, 1);
    /* Flags override the environment; positional args are kept in order. */
    char *argv2[] = {"prog", "replay", "--port", "7000", "f.csv", "--thr=0.75", "--flag=off", NULL};
    assert_int_equal(config_parse(opts, 4, 7, argv2, pos, &npos), 0);
    assert_int_equal(port, 7000);
    assert_true(fabs(thr - 0.75) < 1e-12);
    assert_int_equal(flag, 0);
    assert_int_equal(npos, 2);
    assert_string_equal(pos[0], "replay");
    assert_string_equal(pos[1], "f.csv");
    /* Errors: unknown flag, bad integer in env, missing value, NaN. */
    char *argv3[] = {"prog", "--nope", NULL};
    assert_int_equal(config_parse(opts, 4, 2, argv3, pos, &npos), -1);
    setenv("T_PORT", "12x", 1);
    assert_int_equal(config_parse(opts, 4, 1, argv1, pos, &npos), -1);
    unsetenv("T_PORT");
    char *argv4[] = {"prog", "--port", NULL};
    assert_int_equal(config_parse(opts, 4, 2, argv4, pos, &npos), -1);
    char *argv5[] = {"prog", "--thr", "nan", NULL};
    assert_int_equal(config_parse(opts, 4, 3, argv5, pos, &npos), -1);
    /* --version wins, even over a bad environment; after "--" it is an argument. */
    setenv("T_PORT", "12x", 1);
    char *argv6[] = {"bin/prog", "run", "--version", NULL};
    assert_int_equal(config_parse(opts, 4, 3, argv6, pos, &npos), CONFIG_VERSION);
    unsetenv("T_PORT");
    char *argv7[] = {"prog", "--", "--version", NULL};
    assert_int_equal(config_parse(opts, 4, 3, argv7, pos, &npos), 0);
    assert_int_equal(npos, 1);
    assert_non_null(version_string());
    assert_true(version_string()[0] != '\0');
    unsetenv("T_FLAG");
    /* --help-tsv: four tab-separated cells per option, empty default "". */
    const char *empty;
    const config_option o2[] = {
        {"origin", "T_ORIGIN", CONFIG_STR, "", "allowed origins: '' none", &empty},
        {"key", NULL, CONFIG_STR, NULL, "a key file", &empty},
    };
    char buf[512] = "";
    FILE *f = tmpfile();
    assert_non_null(f);
    config_usage_tsv(f, o2, 2);
    rewind(f);
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[got] = '\0';
    assert_string_equal(buf, "--origin\tT_ORIGIN\t\"\"\tallowed origins: '' none\n"
                             "--key\t-\t(unset)\ta key file\n");
}

static int decode(const char *sensor, const char *json, reading *r)
{
    char err[128];
    return reading_decode_json(sensor, json, strlen(json), 1.7e9, r, err, sizeof err);
}

static void test_reading_decode(void **state)
{
    (void)state;
    reading r;
    assert_int_equal(decode("demo", "{\"ts\": 1700000000.5, \"temperature\": 21.4, \"humidity\": 40, "
                                    "\"label\": \"x\"}",
                            &r),
                     0);
    assert_string_equal(r.sensor_id, "demo");
    assert_true(r.ts == 1700000000.5);
    assert_int_equal(r.n, 2);
    assert_int_equal(reading_find(&r, "humidity"), 1);
    assert_true(r.m[0].value == 21.4);
    /* Receipt time when ts is absent. */
    assert_int_equal(decode("demo", "{\"temperature\": 1000}", &r), 0);
    assert_true(r.ts == 1.7e9);
    /* The bad inputs each get their own error. */
    assert_int_equal(decode("demo", "{\"temperature\": NaN}", &r), READING_ERR_JSON);
    assert_int_equal(decode("demo", "{\"temperature\": Infinity}", &r), READING_ERR_JSON);
    assert_int_equal(decode("demo", "{\"temperature\": 1e999}", &r), READING_ERR_JSON);
    assert_int_equal(decode("demo", "{\"temperature\": 1,", &r), READING_ERR_JSON);
    assert_int_equal(decode("demo", "[1,2]", &r), READING_ERR_TYPE);
    assert_int_equal(decode("demo", "{\"ts\": \"now\", \"t\": 1}", &r), READING_ERR_TYPE);
    assert_int_equal(decode("demo", "{\"ts\": -5, \"t\": 1}", &r), READING_ERR_TS);
    assert_int_equal(decode("demo", "{\"ts\": 9e12, \"t\": 1}", &r), READING_ERR_TS);
    assert_int_equal(decode("demo", "{\"name\": \"x\"}", &r), READING_ERR_NO_METRIC);
    /* Magnitudes past READING_MAX_ABS are refused: printed with 15 digits,
     * DBL_MAX would come back as infinity downstream. */
    assert_int_equal(decode("demo", "{\"t\": 1.7976931348623157e308}", &r), READING_ERR_TYPE);
    assert_int_equal(decode("demo", "{\"t\": -1e16}", &r), READING_ERR_TYPE);
    assert_int_equal(decode("demo", "{\"t\": 1e15}", &r), 0);
    assert_int_equal(decode("demo", "{\"t\": 1, \"t\": 2}", &r), READING_ERR_JSON);
    assert_int_equal(decode("a/b", "{\"t\": 1}", &r), READING_ERR_SENSOR);
    assert_int_equal(decode("", "{\"t\": 1}", &r), READING_ERR_SENSOR);
    assert_int_equal(decode("demo", "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,"
                                    "\"i\":9}",
                            &r),
                     READING_ERR_TOO_MANY);
    /* Invalid UTF-8 is rejected by the JSON parser. */
    assert_int_equal(decode("demo", "{\"t\xff\": 1}", &r), READING_ERR_JSON);
    /* Oversized payload is refused before parsing. */
    size_t big = READING_MAX_PAYLOAD + 10;
    char *p = malloc(big);
    assert_non_null(p);
    memset(p, ' ', big);
    assert_int_equal(reading_decode_json("demo", p, big, 1.7e9, &r, NULL, 0), READING_ERR_TOO_LARGE);
    free(p);
    /* Deep nesting is handled (jansson limits depth) without crashing. */
    char deep[4096];
    size_t n = 0;
    for (int i = 0; i < 2000; i++)
        deep[n++] = '[';
    deep[n] = 0;
    assert_true(decode("demo", deep, &r) < 0);
}

static void test_reading_roundtrip(void **state)
{
    (void)state;
    reading r = {.ts = 1764100000.125}, back;
    strcpy(r.sensor_id, "s1");
    assert_int_equal(reading_add(&r, "temperature", 21.4), 0);
    assert_int_equal(reading_add(&r, "pressure", 1013.25), 0);
    char buf[256];
    int n = reading_encode_json(&r, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(reading_decode_json("s1", buf, (size_t)n, 1.8e9, &back, NULL, 0), 0);
    assert_true(back.ts == r.ts);
    assert_int_equal(back.n, 2);
    assert_true(back.m[1].value == 1013.25);
    r.m[0].value = NAN;
    assert_int_equal(reading_encode_json(&r, buf, sizeof buf), -1);
    r.m[0].value = 1;
    assert_int_equal(reading_encode_json(&r, buf, 8), -1);
    assert_true(sensor_id_valid("office-0001.a:b_c"));
    assert_false(sensor_id_valid("a+b"));
    assert_false(sensor_id_valid("a#"));
}

static void test_anomaly(void **state)
{
    (void)state;
    anomaly a = {.ts = 1764100000.5, .value = 1000, .score = 0.83, .type = ANOMALY_POINT,
                 .expected_low = 19.1, .expected_high = NAN, .model_version = 3};
    strcpy(a.sensor_id, "demo");
    strcpy(a.metric, "temperature");
    strcpy(a.explanation, "temperature 1000 degC is \"far\" above usual");
    anomaly_make_id(&a);
    assert_int_equal(strlen(a.id), 64);
    char id1[65];
    strcpy(id1, a.id);
    /* Deterministic; score and explanation do not change the id; ts does. */
    a.score = 0.9;
    anomaly_make_id(&a);
    assert_string_equal(a.id, id1);
    a.ts += 0.001;
    anomaly_make_id(&a);
    assert_string_not_equal(a.id, id1);
    char buf[1024];
    int n = anomaly_to_json(&a, buf, sizeof buf);
    assert_true(n > 0);
    anomaly b;
    char err[128];
    assert_int_equal(anomaly_from_json(buf, (size_t)n, &b, err, sizeof err), 0);
    assert_string_equal(b.id, a.id);
    assert_string_equal(b.explanation, a.explanation);
    assert_true(b.ts == a.ts);
    assert_int_equal(b.type, ANOMALY_POINT);
    assert_true(b.expected_low == 19.1);
    assert_true(isnan(b.expected_high));
    assert_int_equal(b.model_version, 3);
    /* A time just below half a millisecond: on the wire in whole
     * milliseconds, so a receiver recomputes the same id (15 significant
     * digits of the raw time would round it up to the next one). */
    a.ts = 1796682732.1234995;
    anomaly_make_id(&a);
    n = anomaly_to_json(&a, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(anomaly_from_json(buf, (size_t)n, &b, err, sizeof err), 0);
    strcpy(id1, b.id);
    anomaly_make_id(&b);
    assert_string_equal(b.id, id1);
    assert_true(fabs(b.ts - 1796682732.123) < 1e-6);
    const char *bad[] = {
        "{}",
        "{\"id\":\"zz\",\"sensor_id\":\"d\",\"ts\":1,\"metric\":\"t\",\"value\":1,\"score\":0.5,\"type\":\"point\"}",
        "{\"id\":\"c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470\",\"sensor_id\":\"d\","
        "\"ts\":1,\"metric\":\"t\",\"value\":1,\"score\":0.5,\"type\":\"weird\"}",
        "{\"id\":\"c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470\",\"sensor_id\":\"d\","
        "\"ts\":1,\"metric\":\"t\",\"value\":1,\"score\":7,\"type\":\"point\"}",
        "not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_true(anomaly_from_json(bad[i], strlen(bad[i]), &b, err, sizeof err) < 0);
    /* An over-long explanation is cut on a UTF-8 character boundary, so the
     * decoded anomaly encodes again. */
    {
        char big[1400];
        size_t o = (size_t)snprintf(big, sizeof big,
                                    "{\"id\":\"%s\",\"sensor_id\":\"d\",\"ts\":1,\"metric\":\"t\","
                                    "\"value\":1,\"score\":0.5,\"type\":\"point\",\"explanation\":\"x",
                                    a.id);
        for (int i = 0; i < 300; i++) {
            memcpy(big + o, "\xc2\xb0", 2); /* the degree sign, 2 bytes */
            o += 2;
        }
        memcpy(big + o, "\"}", 3);
        assert_int_equal(anomaly_from_json(big, o + 2, &b, err, sizeof err), 0);
        size_t el = strlen(b.explanation);
        assert_true(el < ANOMALY_EXPLANATION_MAX && el >= ANOMALY_EXPLANATION_MAX - 3);
        assert_int_equal(el % 2, 1); /* "x" + whole 2-byte characters */
        assert_true(anomaly_to_json(&b, buf, sizeof buf) > 0);
        b.value = 1e300;
        n = anomaly_to_json(&b, buf, sizeof buf);
        assert_true(n > 0);
        assert_true(anomaly_from_json(buf, (size_t)n, &b, err, sizeof err) < 0);
    }
    assert_int_equal(anomaly_type_parse("change_point", &b.type), 0);
    assert_int_equal(b.type, ANOMALY_CHANGE_POINT);
    assert_null(anomaly_type_name((anomaly_type)7));
}

/* CRC-32C: the standard check value, and the empty input. */
static void test_crc32c(void **st)
{
    (void)st;
    assert_int_equal(crc32c((const uint8_t *)"123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c((const uint8_t *)"", 0), 0u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keccak_vectors), cmocka_unit_test(test_hex),
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_config),         cmocka_unit_test(test_reading_decode),
        cmocka_unit_test(test_reading_roundtrip), cmocka_unit_test(test_anomaly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
