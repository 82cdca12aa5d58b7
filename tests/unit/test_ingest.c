/*
 * Unit tests of the ingest module's frame: the native adapter, routing,
 * subscriptions, the mapping file (valid and invalid), sensor profiles,
 * counters, and the shared normalisation helpers (units, topic filters,
 * ISO 8601 time).
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
#include <string.h>
#include <unistd.h>

#include "ingest/ingest.h"
#include "ingest/adapter.h"
#include "ingest_test_util.h"

static void test_native_topics(void **state)
{
    (void)state;
    ingest *ig;
    assert_int_equal(ingest_create(&ig, NULL), 0);
    int n = 0;
    const char *const *t = ingest_topics(ig, &n);
    assert_int_equal(n, 1);
    assert_string_equal(t[0], "sensors/+/readings");
    ingest_destroy(ig);
    /* an empty path (INGEST_MAPPING= ) is no mapping */
    assert_int_equal(ingest_create(&ig, ""), 0);
    ingest_destroy(ig);
    ingest_destroy(NULL);
}

static void test_native_decode(void **state)
{
    (void)state;
    ingest *ig;
    reading r[2];
    assert_int_equal(ingest_create(&ig, NULL), 0);
    assert_int_equal(dec(ig, "sensors/kitchen-1/readings",
                         "{\"ts\":1699999999.5,\"temperature\":21.4,\"humidity\":40}", r, 2),
                     1);
    assert_string_equal(r[0].sensor_id, "kitchen-1");
    assert_true(r[0].ts == 1699999999.5);
    assert_int_equal(r[0].n, 2);
    assert_true(metric(&r[0], "temperature") == 21.4);
    /* no ts: receipt time */
    assert_int_equal(dec(ig, "sensors/a/readings", "{\"pressure\":1013.2}", r, 2), 1);
    assert_true(r[0].ts == NOW);
    ingest_destroy(ig);
}

static void test_native_errors(void **state)
{
    (void)state;
    ingest *ig;
    reading r[1];
    assert_int_equal(ingest_create(&ig, NULL), 0);
    /* not ours: ignored */
    assert_int_equal(dec(ig, "other/a/readings", "{\"temperature\":1}", r, 1), 0);
    assert_int_equal(dec(ig, "sensors/a/readings/x", "{\"temperature\":1}", r, 1), 0);
    assert_int_equal(dec(ig, "sensors//readings", "{\"temperature\":1}", r, 1), 0);
    /* adapters not enabled: their topics are nobody's */
    assert_int_equal(dec(ig, "zigbee2mqtt/x", "{\"temperature\":1}", r, 1), 0);
    /* bad ids */
    assert_int_equal(dec(ig, "sensors/a b/readings", "{\"temperature\":1}", r, 1),
                     READING_ERR_SENSOR);
    assert_int_equal(dec(ig, "sensors/a/b/readings", "{\"temperature\":1}", r, 1),
                     READING_ERR_SENSOR);
    assert_int_equal(dec(ig, "sensors/+/readings", "{\"temperature\":1}", r, 1),
                     READING_ERR_SENSOR);
    char longid[200];
    snprintf(longid, sizeof longid, "sensors/%0100d/readings", 7);
    assert_int_equal(dec(ig, longid, "{\"temperature\":1}", r, 1), READING_ERR_SENSOR);
    /* bad payloads */
    assert_int_equal(dec(ig, "sensors/a/readings", "{\"temperature\":", r, 1), READING_ERR_JSON);
    assert_int_equal(dec(ig, "sensors/a/readings", "[1]", r, 1), READING_ERR_TYPE);
    assert_int_equal(dec(ig, "sensors/a/readings", "{\"x\":\"y\"}", r, 1), READING_ERR_NO_METRIC);
    assert_int_equal(dec(ig, "sensors/a/readings", "{\"temperature\":NaN}", r, 1),
                     READING_ERR_JSON);
    /* bad arguments */
    char err[64];
    assert_int_equal(ingest_decode(ig, NULL, "{}", 2, NOW, r, 1, err, sizeof err),
                     READING_ERR_FORMAT);
    assert_int_equal(ingest_decode(ig, "sensors/a/readings", "{}", 2, NOW, r, 0, err, sizeof err),
                     READING_ERR_FORMAT);
    assert_int_equal(ingest_decode(ig, "sensors/a/readings", NULL, 0, NOW, r, 1, NULL, 0),
                     READING_ERR_JSON);
    ingest_destroy(ig);
}

static void test_counters(void **state)
{
    (void)state;
    ingest *ig;
    reading r[4];
    ingest_counters c;
    MAPPING(&ig, "{\"adapters\":{\"zigbee2mqtt\":{}}}");
    assert_int_equal(dec(ig, "sensors/a/readings", "{\"temperature\":1}", r, 4), 1);
    assert_int_equal(dec(ig, "sensors/a/readings", "{\"temperature\":", r, 4), READING_ERR_JSON);
    assert_int_equal(dec(ig, "zigbee2mqtt/bridge/state", "online", r, 4), 0);
    assert_int_equal(dec(ig, "zigbee2mqtt/lamp", "{\"state\":\"ON\"}", r, 4), 0);
    assert_int_equal(dec(ig, "zigbee2mqtt/t1", "{\"temperature\":\"hot\"}", r, 4),
                     READING_ERR_TYPE);
    assert_int_equal(dec(ig, "elsewhere", "{}", r, 4), 0);
    ingest_counters_get(ig, &c);
    assert_int_equal(c.messages[INGEST_NATIVE], 2);
    assert_int_equal(c.readings[INGEST_NATIVE], 1);
    assert_int_equal(c.errors[INGEST_NATIVE], 1);
    assert_int_equal(c.messages[INGEST_Z2M], 3);
    assert_int_equal(c.ignored[INGEST_Z2M], 2);
    assert_int_equal(c.errors[INGEST_Z2M], 1);
    assert_int_equal(c.by_error[-READING_ERR_JSON], 1);
    assert_int_equal(c.by_error[-READING_ERR_TYPE], 1);
    assert_int_equal(c.unmatched, 1);
    assert_string_equal(ingest_adapter_name(INGEST_TASMOTA), "tasmota");
    assert_string_equal(ingest_adapter_name(99), "unknown");
    ingest_destroy(ig);
}

/* ---- mapping file ------------------------------------------------------ */

static const char *example_path(void)
{
    static char path[512];
    const char *cands[] = {"config/sensors.example.json", "../config/sensors.example.json",
                           "../../config/sensors.example.json"};
    for (size_t i = 0; i < 3; i++)
        if (access(cands[i], R_OK) == 0)
            return cands[i];
    /* __FILE__ is tests/unit/test_ingest.c relative to the repository root */
    snprintf(path, sizeof path, "%s/../../config/sensors.example.json", ".");
    return path;
}

static void test_example_mapping(void **state)
{
    (void)state;
    ingest *ig;
    assert_int_equal(ingest_create(&ig, example_path()), 0);
    int n;
    const char *const *t = ingest_topics(ig, &n);
    const char *want[] = {"sensors/+/readings",
                          "zigbee2mqtt/#",
                          "tele/+/SENSOR",
                          "greenhouse/sensor/greenhouse_temperature/state",
                          "greenhouse/sensor/greenhouse_humidity/state",
                          "greenhouse/sensor/greenhouse_pressure/state",
                          "homeassistant/sensor/porch_temperature/state",
                          "senml/#"};
    assert_int_equal(n, 8);
    for (int i = 0; i < n; i++)
        assert_string_equal(t[i], want[i]);

    ingest_sensor_info info;
    assert_int_equal(ingest_sensor_profile(ig, "living_room", &info), 1);
    assert_string_equal(info.profile, "indoor");
    assert_string_equal(info.label, "Living room");
    assert_true(near(info.threshold, 0.7));
    assert_int_equal(ingest_sensor_profile(ig, "greenhouse", &info), 1);
    assert_string_equal(info.profile, "greenhouse");
    assert_null(info.label);
    assert_int_equal(ingest_sensor_profile(ig, "kitchen", &info), 1);
    assert_true(isnan(info.threshold));
    assert_int_equal(ingest_sensor_profile(ig, "nobody", &info), 0);
    assert_null(info.profile);
    assert_true(isnan(info.threshold));

    /* renaming from the mapping */
    reading r[4];
    assert_int_equal(dec(ig, "zigbee2mqtt/Living room", "{\"temperature\":20.5}", r, 4), 1);
    assert_string_equal(r[0].sensor_id, "living_room");
    assert_int_equal(dec(ig, "tele/kitchen/SENSOR",
                         "{\"BME280\":{\"Temperature\":20},\"SHT3X\":{\"Temperature\":21}}", r, 4),
                     2);
    assert_string_equal(r[0].sensor_id, "kitchen");
    assert_string_equal(r[1].sensor_id, "kitchen.SHT3X");
    ingest_destroy(ig);
    assert_int_equal(ingest_create(&ig, "/nonexistent/sensors.json"), -1);
}

static void expect_bad(const char *json, const char *needle)
{
    ingest *ig = (ingest *)1;
    char err[256] = "";
    int rc = ingest_create_from_json(&ig, json, strlen(json), err, sizeof err);
    if (rc != -1 || ig != NULL || !strstr(err, needle))
        fail_msg("mapping %s: rc=%d err='%s', wanted '%s'", json, rc, err, needle);
}

static void test_mapping_errors(void **state)
{
    (void)state;
    expect_bad("{", "line 1");
    expect_bad("[]", "must be a JSON object");
    expect_bad("{\"adapter\":{}}", "$.adapter: unknown key");
    expect_bad("{\"adapters\":[]}", "adapters: must be an object");
    expect_bad("{\"adapters\":{\"mqtt\":{}}}", "adapters.mqtt: unknown key");
    expect_bad("{\"adapters\":{\"native\":{\"topic\":\"x\"}}}", "adapters.native");
    expect_bad("{\"adapters\":{\"tasmota\":{\"topci\":\"x\"}}}",
               "adapters.tasmota.topci: unknown key");
    expect_bad("{\"adapters\":{\"tasmota\":{\"topic\":\"tele/#\"}}}", "exactly one '+'");
    expect_bad("{\"adapters\":{\"tasmota\":{\"topic\":\"tele/a+/SENSOR\"}}}",
               "not a valid MQTT topic filter");
    expect_bad("{\"adapters\":{\"tasmota\":{\"enabled\":\"yes\"}}}", "true or false");
    expect_bad("{\"adapters\":{\"tasmota\":{\"utc_offset_minutes\":5000}}}", "-1440..1440");
    expect_bad("{\"adapters\":{\"tasmota\":{\"units\":{}}}}",
               "adapters.tasmota.units: unknown key");
    expect_bad("{\"adapters\":{\"tasmota\":{\"ignore\":[1]}}}", "ignore[0]");
    expect_bad("{\"adapters\":{\"zigbee2mqtt\":{\"topic\":\"z2m/+\"}}}", "final '#'");
    expect_bad("{\"adapters\":{\"zigbee2mqtt\":{\"topic\":\"#\"}}}", "end with \"/#\"");
    expect_bad("{\"adapters\":{\"zigbee2mqtt\":{\"metrics\":[]}}}", "1..16 names");
    expect_bad("{\"adapters\":{\"zigbee2mqtt\":{\"metrics\":[\"temp\",\"temperature\"]}}}",
               "listed twice");
    expect_bad("{\"adapters\":{\"zigbee2mqtt\":{\"units\":{\"temperature\":\"hPa\"}}}}",
               "unknown unit");
    expect_bad("{\"adapters\":{\"zigbee2mqtt\":{\"units\":{\"battery\":\"%\"}}}}",
               "not one of this adapter's metrics");
    expect_bad("{\"adapters\":{\"senml\":{\"topics\":[\"a/#/b\"]}}}", "topics[0]");
    expect_bad("{\"adapters\":{\"senml\":{\"topics\":[]}}}", "1..64");
    expect_bad("{\"adapters\":{\"esphome\":{}}}", "groups: must be a non-empty array");
    expect_bad("{\"adapters\":{\"esphome\":{\"groups\":[{\"sensor\":\"a b\",\"states\":[]}]}}}",
               "groups[0].sensor");
    expect_bad("{\"adapters\":{\"esphome\":{\"groups\":[{\"sensor\":\"g\",\"states\":[]}]}}}",
               "groups[0].states");
    expect_bad("{\"adapters\":{\"esphome\":{\"groups\":[{\"sensor\":\"g\",\"states\":[{\"name\":"
               "\"t\",\"metric\":\"temperature\"}]}]}}}",
               "needs the group's \"prefix\"");
    expect_bad("{\"adapters\":{\"esphome\":{\"groups\":[{\"sensor\":\"g\",\"states\":[{\"topic\":"
               "\"a/+\",\"metric\":\"temperature\"}]}]}}}",
               "no wildcards");
    expect_bad("{\"adapters\":{\"esphome\":{\"groups\":[{\"sensor\":\"g\",\"states\":[{\"topic\":"
               "\"a\",\"name\":\"b\",\"metric\":\"temperature\"}]}]}}}",
               "exactly one of");
    expect_bad("{\"adapters\":{\"esphome\":{\"groups\":[{\"sensor\":\"g\",\"states\":[{\"topic\":"
               "\"a\",\"metric\":\"temperature\",\"unit\":\"%\"}]}]}}}",
               "not a unit of temperature");
    expect_bad("{\"adapters\":{\"esphome\":{\"groups\":[{\"sensor\":\"g\",\"states\":[{\"topic\":"
               "\"a\",\"metric\":\"temperature\"},{\"topic\":\"b\",\"metric\":\"temp\"}]}]}}}",
               "twice in one group");
    expect_bad("{\"adapters\":{\"esphome\":{\"groups\":[{\"sensor\":\"g\",\"states\":[{\"topic\":"
               "\"a\",\"metric\":\"temperature\"}]},{\"sensor\":\"h\",\"states\":[{\"topic\":"
               "\"a\",\"metric\":\"humidity\"}]}]}}}",
               "used twice");
    expect_bad("{\"adapters\":{\"esphome\":{\"groups\":[{\"sensor\":\"g\",\"states\":[{\"topic\":"
               "\"a\"}]}]}}}",
               "metric: required");
    expect_bad("{\"sensors\":{}}", "sensors: must be an array");
    expect_bad("{\"sensors\":[{\"name\":\"x\"}]}", "sensors[0].id: required");
    expect_bad("{\"sensors\":[{\"id\":\"a/b\"}]}", "sensors[0].id: required");
    expect_bad("{\"sensors\":[{\"id\":\"a\",\"name\":\"x\"}]}", "go together");
    expect_bad("{\"sensors\":[{\"id\":\"a\",\"source\":\"esphome\",\"name\":\"x\"}]}",
               "sensors[0].source");
    expect_bad("{\"sensors\":[{\"id\":\"a\",\"threshold\":1.5}]}", "threshold");
    expect_bad("{\"sensors\":[{\"id\":\"a\",\"threshold\":\"high\"}]}", "threshold");
    expect_bad("{\"sensors\":[{\"id\":\"a\"},{\"id\":\"a\"}]}", "already used");
    expect_bad("{\"sensors\":[{\"id\":\"a\",\"profil\":\"x\"}]}", "sensors[0].profil: unknown key");
    expect_bad("{\"sensors\":[], \"sensors\":[]}", "duplicate");
}

static void test_mapping_options(void **state)
{
    (void)state;
    ingest *ig;
    int n;
    /* disabled adapters subscribe to nothing; comments are skipped */
    MAPPING(&ig, "{\"_c\":1,\"adapters\":{\"native\":{},\"zigbee2mqtt\":{\"enabled\":false,\"_x\":"
                 "[]},\"tasmota\":{\"enabled\":false}}}");
    ingest_topics(ig, &n);
    assert_int_equal(n, 1);
    ingest_destroy(ig);
    /* custom topics and duplicates subscribed once */
    MAPPING(&ig, "{\"adapters\":{\"tasmota\":{\"topic\":\"tasmota/+/tele/SENSOR\"},\"senml\":{"
                 "\"topics\":[\"lwm2m/+/senml\",\"lwm2m/+/senml\",\"senml\"]}}}");
    const char *const *t = ingest_topics(ig, &n);
    assert_int_equal(n, 4);
    assert_string_equal(t[1], "tasmota/+/tele/SENSOR");
    assert_string_equal(t[2], "lwm2m/+/senml");
    assert_string_equal(t[3], "senml");
    ingest_destroy(ig);
}

/* ---- normalisation ------------------------------------------------------ */

static void test_units(void **state)
{
    (void)state;
    double v;
    assert_int_equal(adapter_unit_convert(ADAPTER_FAM_TEMPERATURE, "degF", 212, &v), 0);
    assert_true(near(v, 100));
    assert_int_equal(adapter_unit_convert(ADAPTER_FAM_TEMPERATURE,
                                     "\xc2\xb0"
                                     "F",
                                     32, &v),
                     0);
    assert_true(near(v, 0));
    assert_int_equal(adapter_unit_convert(ADAPTER_FAM_TEMPERATURE, "F", -40, &v), 0);
    assert_true(near(v, -40));
    assert_int_equal(adapter_unit_convert(ADAPTER_FAM_TEMPERATURE, "K", 273.15, &v), 0);
    assert_true(near(v, 0));
    assert_int_equal(adapter_unit_convert(ADAPTER_FAM_TEMPERATURE, "Cel", 21.5, &v), 0);
    assert_true(near(v, 21.5));
    assert_int_equal(adapter_unit_convert(ADAPTER_FAM_TEMPERATURE, "", 21.5, &v), 0);
    assert_true(near(v, 21.5));
    assert_int_equal(adapter_unit_convert(ADAPTER_FAM_PRESSURE, "Pa", 101325, &v), 0);
    assert_true(near(v, 1013.25));
    assert_int_equal(adapter_unit_convert(ADAPTER_FAM_PRESSURE, "kPa", 101.325, &v), 0);
    assert_true(near(v, 1013.25));
    assert_int_equal(adapter_unit_convert(ADAPTER_FAM_PRESSURE, "mbar", 1000, &v), 0);
    assert_true(near(v, 1000));
    assert_int_equal(adapter_unit_convert(ADAPTER_FAM_PRESSURE, "inHg", 29.92, &v), 0);
    assert_true(fabs(v - 1013.2) < 0.05); /* standard atmosphere 29.921 inHg */
    assert_int_equal(adapter_unit_convert(ADAPTER_FAM_PRESSURE, "mmHg", 760, &v), 0);
    assert_true(fabs(v - 1013.25) < 0.01);
    assert_int_equal(adapter_unit_convert(ADAPTER_FAM_HUMIDITY, "/", 0.42, &v), 0);
    assert_true(near(v, 42));
    assert_int_equal(adapter_unit_convert(ADAPTER_FAM_HUMIDITY, "%RH", 42, &v), 0);
    assert_true(near(v, 42));
    /* wrong family, unknown unit */
    assert_int_equal(adapter_unit_convert(ADAPTER_FAM_TEMPERATURE, "Pa", 1, &v), -1);
    assert_int_equal(adapter_unit_convert(ADAPTER_FAM_PRESSURE, "furlongs", 1, &v), -1);
    assert_int_equal(adapter_unit_family("K"), ADAPTER_FAM_TEMPERATURE);
    assert_int_equal(adapter_unit_family("k"), ADAPTER_FAM_UNKNOWN);

    char name[READING_NAME_MAX];
    assert_int_equal(adapter_metric_name("Temperature", name, sizeof name), 0);
    assert_string_equal(name, "temperature");
    assert_int_equal(adapter_metric_name("RH", name, sizeof name), 0);
    assert_string_equal(name, "humidity");
    assert_int_equal(adapter_metric_name("baro", name, sizeof name), 0);
    assert_string_equal(name, "pressure");
    assert_int_equal(adapter_metric_name("CO2", name, sizeof name), 0);
    assert_string_equal(name, "co2");
    assert_int_equal(adapter_metric_name("", name, sizeof name), -1);
    assert_int_equal(adapter_metric_name("a_very_long_metric_name_over_31_chars", name, sizeof name),
                     -1);
}

static void test_topic_match(void **state)
{
    (void)state;
    char cap[32];
    assert_int_equal(adapter_topic_match("tele/+/SENSOR", "tele/kitchen/SENSOR", cap, sizeof cap), 1);
    assert_string_equal(cap, "kitchen");
    assert_int_equal(adapter_topic_match("tele/+/SENSOR", "tele/kitchen/STATE", cap, sizeof cap), 0);
    assert_int_equal(adapter_topic_match("tele/+/SENSOR", "tele/a/b/SENSOR", cap, sizeof cap), 0);
    assert_int_equal(adapter_topic_match("tele/+/SENSOR", "tele/kitchen/SENSOR/x", cap, sizeof cap), 0);
    assert_int_equal(adapter_topic_match("tele/+/SENSOR", "tele/SENSOR", cap, sizeof cap), 0);
    assert_int_equal(adapter_topic_match("tele/+/SENSOR", "tele//SENSOR", cap, sizeof cap), 1);
    assert_string_equal(cap, "");
    assert_int_equal(adapter_topic_match("z/#", "z/Living room/lamp", cap, sizeof cap), 1);
    assert_string_equal(cap, "Living room/lamp");
    assert_int_equal(adapter_topic_match("z/#", "z", cap, sizeof cap), 1);
    assert_string_equal(cap, "");
    assert_int_equal(adapter_topic_match("z/#", "zz/a", cap, sizeof cap), 0);
    assert_int_equal(adapter_topic_match("#", "a/b", NULL, 0), 1);
    assert_int_equal(adapter_topic_match("a/b", "a/b", NULL, 0), 1);
    assert_int_equal(adapter_topic_match("a/b", "a/bc", NULL, 0), 0);
    assert_int_equal(adapter_topic_match("a/b", "a", NULL, 0), 0);
    assert_int_equal(adapter_topic_match("+/+/x", "a/b/x", cap, sizeof cap), 1);
    assert_string_equal(cap, "a");
    assert_int_equal(
        adapter_topic_match("z/#", "z/0123456789012345678901234567890123456789", cap, sizeof cap), -1);
}

static void test_iso8601(void **state)
{
    (void)state;
    double t;
    assert_int_equal(adapter_parse_iso8601("2023-11-14T22:13:20", 0, &t), 0);
    assert_true(t == 1700000000.0);
    assert_int_equal(adapter_parse_iso8601("2023-11-14T23:13:20", 3600, &t), 0);
    assert_true(t == 1700000000.0);
    assert_int_equal(adapter_parse_iso8601("2023-11-14T23:13:20+01:00", -7200, &t), 0);
    assert_true(t == 1700000000.0);
    assert_int_equal(adapter_parse_iso8601("2023-11-14T17:13:20-0500", 0, &t), 0);
    assert_true(t == 1700000000.0);
    assert_int_equal(adapter_parse_iso8601("2023-11-14 22:13:20.250Z", 3600, &t), 0);
    assert_true(near(t, 1700000000.25));
    assert_int_equal(adapter_parse_iso8601("2023-11-14T22:13", 0, &t), -1);
    assert_int_equal(adapter_parse_iso8601("2023-13-14T22:13:20", 0, &t), -1);
    assert_int_equal(adapter_parse_iso8601("2023-11-14T22:13:20x", 0, &t), -1);
    assert_int_equal(adapter_parse_iso8601("2023-11-14T22:13:20.", 0, &t), -1);
    assert_int_equal(adapter_parse_iso8601("1969-12-31T23:59:59", 0, &t), -1);
    assert_int_equal(adapter_parse_iso8601("", 0, &t), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_topics),   cmocka_unit_test(test_native_decode),
        cmocka_unit_test(test_native_errors),   cmocka_unit_test(test_counters),
        cmocka_unit_test(test_example_mapping), cmocka_unit_test(test_mapping_errors),
        cmocka_unit_test(test_mapping_options), cmocka_unit_test(test_units),
        cmocka_unit_test(test_topic_match),     cmocka_unit_test(test_iso8601),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
