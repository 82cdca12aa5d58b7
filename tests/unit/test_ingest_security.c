/*
 * Security properties of the ingest adapters (issue #19):
 *   - value bound: every adapter rejects a value beyond READING_MAX_ABS (the
 *     native format's bound), before and after unit conversion, with
 *     READING_ERR_TYPE and the rejected-input counter (items 5);
 *   - identity: a device writes only the sensor ids under the topic level
 *     its broker account owns; a name in the payload adds at most a part
 *     below it, never another device's id (item 3, docs/SENSORS.md
 *     "Which device may write which sensor").
 */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on
#include <stdio.h>
#include <string.h>

#include "ingest/ingest.h"
#include "ingest_test_util.h"

static const char mapping[] =
    "{\"adapters\":{\"zigbee2mqtt\":{},\"tasmota\":{},\"senml\":{},"
    "\"esphome\":{\"groups\":["
    "{\"sensor\":\"tank\",\"prefix\":\"tank\",\"states\":["
    "{\"name\":\"tank_pressure\",\"metric\":\"pressure\",\"unit\":\"kPa\"}]},"
    "{\"sensor\":\"porch\",\"prefix\":\"porch\",\"states\":["
    "{\"name\":\"porch_temperature\",\"metric\":\"temperature\",\"unit\":\"\xc2\xb0"
    "F\"}]}]}},"
    "\"sensors\":[{\"source\":\"tasmota\",\"name\":\"kitchen.BME280\",\"id\":\"kitchen\"},"
    "{\"source\":\"senml\",\"name\":\"cellar\",\"id\":\"cellar_id\"}]}";

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

static unsigned long type_errors(const ingest *ig)
{
    ingest_counters c;
    ingest_counters_get(ig, &c);
    return c.by_error[-READING_ERR_TYPE];
}

/* Decode and check the error text names the bound. */
static int dec_err(ingest *ig, const char *topic, const char *payload, char *err, size_t errlen)
{
    reading r[4];
    return ingest_decode(ig, topic, payload, strlen(payload), NOW, r, 4, err, errlen);
}

/* ---- value bound -------------------------------------------------------- */

static void test_bound_every_adapter(void **state)
{
    ingest *ig = *state;
    char err[160];
    static const struct {
        const char *topic, *payload;
    } over[] = {
        /* the report of issue #19: stored as float it became inf */
        {"zigbee2mqtt/lab", "{\"temperature\": 1e39}"},
        {"zigbee2mqtt/lab", "{\"humidity\": -2e15}"},
        {"tele/lab/SENSOR", "{\"BME280\":{\"Temperature\":1e39}}"},
        {"tele/lab/SENSOR", "{\"BME280\":{\"Pressure\":-1e16}}"},
        {"senml/lab", "[{\"n\":\"temperature\",\"v\":1e39}]"},
        {"senml/lab", "[{\"n\":\"temperature\",\"bv\":9e14,\"v\":9e14}]"}, /* bv + v */
        {"tank/sensor/tank_pressure/state", "1e39"},
        {"sensors/lab/readings", "{\"temperature\": 1e39}"},
    };
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
        unsigned long before = type_errors(ig);
        int rc = dec_err(ig, over[i].topic, over[i].payload, err, sizeof err);
        if (rc != READING_ERR_TYPE)
            fail_msg("%s %s: rc %d, want READING_ERR_TYPE", over[i].topic, over[i].payload, rc);
        assert_non_null(strstr(err, "out of range"));
        assert_int_equal(type_errors(ig), before + 1); /* the rejected-input counter */
    }
    /* The bound itself is accepted everywhere. */
    reading r[2];
    assert_int_equal(dec(ig, "zigbee2mqtt/lab", "{\"temperature\": 1e15}", r, 2), 1);
    assert_int_equal(dec(ig, "tele/lab/SENSOR", "{\"BME280\":{\"Temperature\":-1e15}}", r, 2), 1);
    assert_int_equal(dec(ig, "senml/lab", "[{\"n\":\"temperature\",\"v\":1e15}]", r, 2), 1);
    assert_int_equal(dec(ig, "sensors/lab/readings", "{\"temperature\": 1e15}", r, 2), 1);
}

static void test_bound_after_conversion(void **state)
{
    ingest *ig = *state;
    char err[160];
    reading r[2];
    /* within the bound as sent, beyond it once converted to the canonical unit */
    assert_int_equal(dec_err(ig, "tele/lab/SENSOR",
                             "{\"BME280\":{\"Pressure\":9e14},\"PressureUnit\":\"mmHg\"}", err,
                             sizeof err),
                     READING_ERR_TYPE); /* x 1.333 hPa */
    assert_non_null(strstr(err, "out of range"));
    assert_int_equal(dec_err(ig, "tele/lab/SENSOR",
                             "{\"BME280\":{\"Temperature\":-9.9e14},\"TempUnit\":\"F\"}", err,
                             sizeof err),
                     1); /* x 5/9: still inside */
    assert_int_equal(dec_err(ig, "senml/lab", "[{\"n\":\"pressure\",\"u\":\"psi\",\"v\":9e14}]",
                             err, sizeof err),
                     READING_ERR_TYPE); /* x 68.9 hPa */
    assert_int_equal(dec_err(ig, "senml/lab", "[{\"n\":\"pressure\",\"u\":\"bar\",\"v\":2e12}]",
                             err, sizeof err),
                     READING_ERR_TYPE); /* x 1000 hPa */
    assert_int_equal(dec_err(ig, "tank/sensor/tank_pressure/state", "2e14", err, sizeof err),
                     READING_ERR_TYPE); /* kPa x 10 */
    assert_non_null(strstr(err, "pressure"));
    /* the ESPHome group is not left holding a value: the next good one emits alone */
    assert_int_equal(dec(ig, "tank/sensor/tank_pressure/state", "101.3", r, 2), 1);
    assert_true(near(metric(&r[0], "pressure"), 1013));
    /* Z2M with a declared unit: converted, then bounded */
    ingest *z;
    MAPPING(&z, "{\"adapters\":{\"zigbee2mqtt\":{\"units\":{\"pressure\":\"Pa\","
                "\"temperature\":\"K\"}}}}");
    assert_int_equal(dec(z, "zigbee2mqtt/lab", "{\"pressure\": 101325}", r, 2), 1);
    assert_int_equal(dec(z, "zigbee2mqtt/lab", "{\"temperature\": 1e39}", r, 2), READING_ERR_TYPE);
    ingest_destroy(z);
}

/* ---- identity ----------------------------------------------------------- */

/* Tasmota: the object key is a part of the topic's device, never a path to
 * another device. */
static void test_identity_tasmota(void **state)
{
    ingest *ig = *state;
    reading r[4];
    /* device "a" claiming device "a.b"'s sensor "X" through a dotted key */
    assert_int_equal(dec(ig, "tele/a/SENSOR", "{\"b.X\":{\"Temperature\":20}}", r, 4), 1);
    assert_string_equal(r[0].sensor_id, "a.b_X");
    /* an object key cannot reach the mapping entry of another device */
    assert_int_equal(dec(ig, "tele/evil/SENSOR", "{\"kitchen.BME280\":{\"Temperature\":20}}", r, 4),
                     1);
    assert_string_equal(r[0].sensor_id, "evil.kitchen_BME280");
    assert_int_equal(dec(ig, "tele/evil/SENSOR", "{\"../kitchen\":{\"Temperature\":20}}", r, 4), 1);
    assert_string_equal(r[0].sensor_id, "evil.___kitchen");
    /* the owner still gets its renamed sensor */
    assert_int_equal(dec(ig, "tele/kitchen/SENSOR", "{\"BME280\":{\"Temperature\":20}}", r, 4), 1);
    assert_string_equal(r[0].sensor_id, "kitchen");
    /* an id that does not fit is an error, not a truncation into the device's own id */
    char long_key[80];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    char payload[160];
    snprintf(payload, sizeof payload, "{\"%s\":{\"Temperature\":20}}", long_key);
    assert_int_equal(dec(ig, "tele/a/SENSOR", payload, r, 4), READING_ERR_SENSOR);
}

/* SenML: bn/n name at most a part of the topic's device. */
static void test_identity_senml(void **state)
{
    ingest *ig = *state;
    reading r[16];
    /* the attack of issue #19: device "a" writing as sensor "victim" */
    assert_int_equal(
        dec(ig, "senml/a", "[{\"bn\":\"victim:\",\"n\":\"temperature\",\"v\":20}]", r, 16), 1);
    assert_string_equal(r[0].sensor_id, "a.victim");
    assert_int_equal(dec(ig, "senml/a", "[{\"n\":\"victim/temperature\",\"v\":20}]", r, 16), 1);
    assert_string_equal(r[0].sensor_id, "a.victim");
    /* nor through the mapping: "cellar" is renamed only on cellar's own topic */
    assert_int_equal(dec(ig, "senml/a", "[{\"bn\":\"cellar\",\"n\":\"temp\",\"v\":20}]", r, 16), 1);
    assert_string_equal(r[0].sensor_id, "a.cellar");
    assert_int_equal(
        dec(ig, "senml/cellar", "[{\"bn\":\"cellar\",\"n\":\"temp\",\"v\":20}]", r, 16), 1);
    assert_string_equal(r[0].sensor_id, "cellar_id");
    /* a dotted name cannot climb into another device ("a.b" is not a.b's) */
    assert_int_equal(dec(ig, "senml/a", "[{\"bn\":\"x.y\",\"n\":\"temp\",\"v\":20}]", r, 16), 1);
    assert_string_equal(r[0].sensor_id, "a.x_y");
    /* naming itself, with or without separators, is the device */
    assert_int_equal(dec(ig, "senml/a", "[{\"bn\":\"a:\",\"n\":\"temp\",\"v\":20}]", r, 16), 1);
    assert_string_equal(r[0].sensor_id, "a");
    assert_int_equal(dec(ig, "senml/a", "[{\"bn\":\"a/probe\",\"u\":\"Cel\",\"v\":20}]", r, 16), 1);
    assert_string_equal(r[0].sensor_id, "a.probe");
    /* many names in one pack: every reading stays under the device */
    char pack[1024] = "[";
    for (int i = 0; i < 12; i++) {
        char rec[64];
        snprintf(rec, sizeof rec, "%s{\"n\":\"dev%d/temperature\",\"v\":%d}", i ? "," : "", i, i);
        strcat(pack, rec);
    }
    strcat(pack, "]");
    assert_int_equal(dec(ig, "senml/a", pack, r, 16), 12);
    for (int i = 0; i < 12; i++)
        assert_true(strncmp(r[i].sensor_id, "a.", 2) == 0);
}

/* Zigbee2MQTT, native, ESPHome: the payload carries no name that counts. */
static void test_identity_topic_only(void **state)
{
    ingest *ig = *state;
    reading r[2];
    assert_int_equal(dec(ig, "zigbee2mqtt/a",
                         "{\"temperature\":20,\"friendly_name\":\"b\",\"device\":\"b\"}", r, 2),
                     1);
    assert_string_equal(r[0].sensor_id, "a");
    assert_int_equal(
        dec(ig, "sensors/a/readings", "{\"temperature\":20,\"sensor_id\":\"b\"}", r, 2), 1);
    assert_string_equal(r[0].sensor_id, "a");
    /* ESPHome: the group's id comes from the mapping, per state topic */
    assert_int_equal(dec(ig, "porch/sensor/porch_temperature/state", "50", r, 2), 1);
    assert_string_equal(r[0].sensor_id, "porch");
    /* a state topic of no group is not an ESPHome reading at all */
    assert_int_equal(dec(ig, "porch/sensor/tank_pressure/state", "50", r, 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bound_every_adapter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound_after_conversion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_tasmota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_senml, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_topic_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
