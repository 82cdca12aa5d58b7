/*
 * Unit tests of the ingest adapters with example payloads as the
 * ecosystems document them, plus partial and malformed ones:
 *   Zigbee2MQTT  device pages (Aqara WSDCGQ11LM, Xiaomi WSDCGQ01LM), bridge topics
 *   Tasmota      BME280 / DS18B20 / AM2301 telemetry, TempUnit F, PressureUnit mmHg
 *   ESPHome/HA   {prefix}/sensor/{name}/state plain numbers, grouped
 *   SenML        RFC 8428 section 5 examples
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

#include "ingest/ingest.h"
#include "ingest_test_util.h"

static const char all_adapters[] =
    "{\"adapters\":{\"zigbee2mqtt\":{},\"tasmota\":{},\"senml\":{},"
    "\"esphome\":{\"groups\":["
    "{\"sensor\":\"greenhouse\",\"prefix\":\"greenhouse\",\"states\":["
    "{\"name\":\"greenhouse_temperature\",\"metric\":\"temperature\"},"
    "{\"name\":\"greenhouse_humidity\",\"metric\":\"humidity\",\"unit\":\"%\"},"
    "{\"name\":\"greenhouse_pressure\",\"metric\":\"pressure\",\"unit\":\"kPa\"}]},"
    "{\"sensor\":\"porch\",\"states\":["
    "{\"topic\":\"homeassistant/sensor/porch_temperature/state\",\"metric\":\"temperature\","
    "\"unit\":\"\xc2\xb0"
    "F\"}]}]}},"
    "\"sensors\":[{\"source\":\"zigbee2mqtt\",\"name\":\"0x00158d0001a2b3c4\",\"id\":\"bedroom\"}]"
    "}";

static int setup(void **state)
{
    ingest *ig;
    MAPPING(&ig, all_adapters);
    *state = ig;
    return 0;
}

static int teardown(void **state)
{
    ingest_destroy(*state);
    return 0;
}

/* ---- Zigbee2MQTT ------------------------------------------------------- */

static void test_z2m_examples(void **state)
{
    ingest *ig = *state;
    reading r[2];
    /* Aqara WSDCGQ11LM, as on zigbee2mqtt.io */
    assert_int_equal(dec(ig, "zigbee2mqtt/Living room",
                         "{\"battery\":100,\"humidity\":58.35,\"linkquality\":134,"
                         "\"power_outage_count\":0,\"pressure\":1009.4,\"temperature\":22.75,"
                         "\"voltage\":3005}",
                         r, 2),
                     1);
    assert_string_equal(r[0].sensor_id, "Living_room");
    assert_true(r[0].ts == NOW);
    assert_int_equal(r[0].n, 3); /* battery, linkquality, voltage not scored */
    assert_true(metric(&r[0], "temperature") == 22.75);
    assert_true(metric(&r[0], "humidity") == 58.35);
    assert_true(metric(&r[0], "pressure") == 1009.4);
    /* Xiaomi WSDCGQ01LM under its IEEE address, renamed by the mapping */
    assert_int_equal(dec(ig, "zigbee2mqtt/0x00158d0001a2b3c4",
                         "{\"temperature\":20.31,\"humidity\":59.74,\"battery\":91,"
                         "\"voltage\":2985,\"linkquality\":99}",
                         r, 2),
                     1);
    assert_string_equal(r[0].sensor_id, "bedroom");
    assert_int_equal(r[0].n, 2);
    /* friendly names with '/' (Zigbee2MQTT groups devices this way) */
    assert_int_equal(dec(ig, "zigbee2mqtt/floor1/office/climate", "{\"temperature\":19}", r, 2), 1);
    assert_string_equal(r[0].sensor_id, "floor1_office_climate");
    /* partial: only some metrics, nulls for unread attributes */
    assert_int_equal(dec(ig, "zigbee2mqtt/t1", "{\"temperature\":null,\"humidity\":40}", r, 2), 1);
    assert_int_equal(r[0].n, 1);
}

static void test_z2m_ignored(void **state)
{
    ingest *ig = *state;
    reading r[2];
    /* Zigbee2MQTT's own topics */
    assert_int_equal(dec(ig, "zigbee2mqtt/bridge/state", "{\"state\":\"online\"}", r, 2), 0);
    assert_int_equal(dec(ig, "zigbee2mqtt/bridge/devices", "[]", r, 2), 0);
    assert_int_equal(dec(ig, "zigbee2mqtt/bridge", "x", r, 2), 0);
    assert_int_equal(dec(ig, "zigbee2mqtt/t1/availability", "online", r, 2), 0);
    assert_int_equal(dec(ig, "zigbee2mqtt/t1/set", "{\"temperature\":1}", r, 2), 0);
    assert_int_equal(dec(ig, "zigbee2mqtt/t1/set/state", "ON", r, 2), 0);
    assert_int_equal(dec(ig, "zigbee2mqtt/t1/get", "{\"state\":\"\"}", r, 2), 0);
    /* attribute_and_json output: the per-attribute copy */
    assert_int_equal(dec(ig, "zigbee2mqtt/t1/temperature", "21.4", r, 2), 0);
    assert_int_equal(dec(ig, "zigbee2mqtt/t1/humidity", " 40", r, 2), 0);
    /* ...but a device whose friendly name ends in a metric word is a device */
    assert_int_equal(dec(ig, "zigbee2mqtt/basement/humidity", " {\"humidity\":71}", r, 2), 1);
    assert_string_equal(r[0].sensor_id, "basement_humidity");
    assert_int_equal(dec(ig, "zigbee2mqtt", "{}", r, 2), 0);
    /* devices that are not sensors */
    assert_int_equal(dec(ig, "zigbee2mqtt/lamp",
                         "{\"state\":\"ON\",\"brightness\":254,\"linkquality\":87}", r, 2),
                     0);
    assert_int_equal(dec(ig, "zigbee2mqtt/remote", "{\"action\":\"single\",\"battery\":80}", r, 2),
                     0);
}

static void test_z2m_errors(void **state)
{
    ingest *ig = *state;
    reading r[2];
    assert_int_equal(dec(ig, "zigbee2mqtt/t1", "{\"temperature\":\"21.4\"}", r, 2),
                     READING_ERR_TYPE);
    assert_int_equal(dec(ig, "zigbee2mqtt/t1", "[21.4]", r, 2), READING_ERR_TYPE);
    assert_int_equal(dec(ig, "zigbee2mqtt/t1", "21.4", r, 2), READING_ERR_JSON);
    assert_int_equal(dec(ig, "zigbee2mqtt/t1", "{\"temperature\":21.4", r, 2), READING_ERR_JSON);
    assert_int_equal(dec(ig, "zigbee2mqtt/t1", "{\"temperature\":1,\"temperature\":2}", r, 2),
                     READING_ERR_JSON);
    assert_int_equal(dec(ig, "zigbee2mqtt/t1", "", r, 2), READING_ERR_JSON);
}

static void test_z2m_options(void **state)
{
    (void)state;
    ingest *ig;
    reading r[1];
    MAPPING(&ig, "{\"adapters\":{\"zigbee2mqtt\":{\"topic\":\"z2m/home/#\",\"id_prefix\":\"z2m-\","
                 "\"metrics\":[\"temperature\",\"co2\",\"battery\"],\"units\":{\"temperature\":"
                 "\"degF\"}}}}");
    assert_int_equal(dec(ig, "zigbee2mqtt/t1", "{\"temperature\":1}", r, 1), 0); /* other base */
    assert_int_equal(dec(ig, "z2m/home/air",
                         "{\"temperature\":212,\"co2\":415,\"battery\":80,\"humidity\":30}", r, 1),
                     1);
    assert_string_equal(r[0].sensor_id, "z2m-air");
    assert_int_equal(r[0].n, 3);
    assert_true(near(metric(&r[0], "temperature"), 100));
    assert_true(metric(&r[0], "co2") == 415);
    assert_true(metric(&r[0], "battery") == 80);
    assert_true(isnan(metric(&r[0], "humidity")));
    ingest_destroy(ig);
}

/* ---- Tasmota ----------------------------------------------------------- */

static void test_tasmota_examples(void **state)
{
    ingest *ig = *state;
    reading r[4];
    /* BME280, as in Tasmota's documentation */
    assert_int_equal(dec(ig, "tele/kitchen/SENSOR",
                         "{\"Time\":\"2019-11-03T19:34:28\",\"BME280\":{\"Temperature\":21.7,"
                         "\"Humidity\":66.6,\"DewPoint\":15.1,\"Pressure\":988.6},"
                         "\"PressureUnit\":\"hPa\",\"TempUnit\":\"C\"}",
                         r, 4),
                     1);
    assert_string_equal(r[0].sensor_id, "kitchen.BME280");
    assert_true(r[0].ts == NOW); /* receipt time by default */
    assert_int_equal(r[0].n, 3); /* DewPoint not scored */
    assert_true(metric(&r[0], "temperature") == 21.7);
    assert_true(metric(&r[0], "humidity") == 66.6);
    assert_true(metric(&r[0], "pressure") == 988.6);
    /* two DS18B20 probes and the chip temperature: two sensors */
    assert_int_equal(dec(ig, "tele/boiler/SENSOR",
                         "{\"Time\":\"2021-01-05T14:00:00\",\"DS18B20-1\":{\"Id\":\"01144A0CB2AA\","
                         "\"Temperature\":55.3},\"DS18B20-2\":{\"Id\":\"0114516BF7AA\","
                         "\"Temperature\":42.1},\"ESP32\":{\"Temperature\":51.1},"
                         "\"TempUnit\":\"C\"}",
                         r, 4),
                     2);
    assert_string_equal(r[0].sensor_id, "boiler.DS18B20-1");
    assert_string_equal(r[1].sensor_id, "boiler.DS18B20-2");
    assert_true(metric(&r[1], "temperature") == 42.1);
    /* Fahrenheit (SetOption8 1) and mmHg (SetOption24 1) */
    assert_int_equal(dec(ig, "tele/attic/SENSOR",
                         "{\"Time\":\"2024-05-01T12:00:00\",\"AM2301\":{\"Temperature\":77.0,"
                         "\"Humidity\":40.0},\"BMP280\":{\"Temperature\":68,\"Pressure\":760},"
                         "\"TempUnit\":\"F\",\"PressureUnit\":\"mmHg\"}",
                         r, 4),
                     2);
    assert_true(near(metric(&r[0], "temperature"), 25));
    assert_true(near(metric(&r[0], "humidity"), 40));
    assert_true(near(metric(&r[1], "temperature"), 20));
    assert_true(fabs(metric(&r[1], "pressure") - 1013.25) < 0.01);
    /* a read failure reports null: the sensor is skipped, not an error */
    assert_int_equal(dec(ig, "tele/attic/SENSOR",
                         "{\"AM2301\":{\"Temperature\":null,\"Humidity\":null},\"TempUnit\":\"C\"}",
                         r, 4),
                     0);
    /* energy monitors and switches: nothing to score */
    assert_int_equal(dec(ig, "tele/plug/SENSOR",
                         "{\"Time\":\"2024-05-01T12:00:00\",\"ENERGY\":{\"Total\":1.2,\"Power\":"
                         "35},\"Switch1\":\"ON\"}",
                         r, 4),
                     0);
    /* other Tasmota topics are not SENSOR */
    assert_int_equal(dec(ig, "tele/kitchen/STATE", "{\"Uptime\":\"1T00:00:00\"}", r, 4), 0);
    assert_int_equal(dec(ig, "tele/kitchen/LWT", "Online", r, 4), 0);
}

static void test_tasmota_errors(void **state)
{
    ingest *ig = *state;
    reading r[1];
    assert_int_equal(dec(ig, "tele/k/SENSOR", "{\"BME280\":{\"Temperature\":\"hot\"}}", r, 1),
                     READING_ERR_TYPE);
    assert_int_equal(
        dec(ig, "tele/k/SENSOR", "{\"BME280\":{\"Temperature\":1},\"TempUnit\":\"X\"}", r, 1),
        READING_ERR_FORMAT);
    assert_int_equal(
        dec(ig, "tele/k/SENSOR", "{\"BME280\":{\"Temperature\":1},\"TempUnit\":7}", r, 1),
        READING_ERR_TYPE);
    assert_int_equal(
        dec(ig, "tele/k/SENSOR", "{\"BME280\":{\"Pressure\":1},\"PressureUnit\":\"C\"}", r, 1),
        READING_ERR_FORMAT);
    assert_int_equal(dec(ig, "tele/k/SENSOR", "[]", r, 1), READING_ERR_TYPE);
    assert_int_equal(
        dec(ig, "tele/k/SENSOR", "{\"A\":{\"Temperature\":1},\"B\":{\"Temperature\":2}}", r, 1),
        READING_ERR_TOO_MANY); /* more sensors than the caller's room */
}

static void test_tasmota_device_time(void **state)
{
    (void)state;
    ingest *ig;
    reading r[2];
    MAPPING(&ig, "{\"adapters\":{\"tasmota\":{\"topic\":\"tasmota/+/tele/SENSOR\","
                 "\"device_time\":true,\"utc_offset_minutes\":60,\"ignore\":[],"
                 "\"metrics\":[\"temperature\",\"illuminance\"]}}}");
    /* local time at UTC+1 */
    assert_int_equal(dec(ig, "tasmota/k/tele/SENSOR",
                         "{\"Time\":\"2023-11-14T23:13:20\",\"ESP32\":{\"Temperature\":40},"
                         "\"BH1750\":{\"Illuminance\":300}}",
                         r, 2),
                     2);
    assert_true(r[0].ts == NOW);
    assert_string_equal(r[0].sensor_id, "k.ESP32"); /* ignore list emptied */
    assert_true(metric(&r[1], "illuminance") == 300);
    /* SetOption52: the offset is in the string */
    assert_int_equal(dec(ig, "tasmota/k/tele/SENSOR",
                         "{\"Time\":\"2023-11-14T20:13:20-02:00\",\"X\":{\"Temperature\":1}}", r,
                         2),
                     1);
    assert_true(r[0].ts == NOW);
    /* clock not synced yet (1970), unparsable, far future */
    assert_int_equal(dec(ig, "tasmota/k/tele/SENSOR",
                         "{\"Time\":\"1970-01-01T00:00:10\",\"X\":{\"Temperature\":1}}", r, 2),
                     READING_ERR_TS);
    assert_int_equal(
        dec(ig, "tasmota/k/tele/SENSOR", "{\"Time\":\"noon\",\"X\":{\"Temperature\":1}}", r, 2),
        READING_ERR_TS);
    assert_int_equal(dec(ig, "tasmota/k/tele/SENSOR",
                         "{\"Time\":\"2099-01-01T00:00:00\",\"X\":{\"Temperature\":1}}", r, 2),
                     READING_ERR_TS);
    ingest_destroy(ig);
}

/* ---- ESPHome / Home Assistant ------------------------------------------- */

static void test_esphome_grouping(void **state)
{
    ingest *ig = *state;
    reading r[2];
    char err[128];
    /* a burst of three states -> one reading when the set is complete */
    assert_int_equal(dec(ig, "greenhouse/sensor/greenhouse_temperature/state", "21.4", r, 2), 0);
    assert_int_equal(dec(ig, "greenhouse/sensor/greenhouse_humidity/state", "55", r, 2), 0);
    assert_int_equal(ingest_decode(ig, "greenhouse/sensor/greenhouse_pressure/state", "101.3", 5,
                                   NOW + 0.2, r, 2, err, sizeof err),
                     1);
    assert_string_equal(r[0].sensor_id, "greenhouse");
    assert_true(r[0].ts == NOW); /* first value's receipt time */
    assert_int_equal(r[0].n, 3);
    assert_true(metric(&r[0], "temperature") == 21.4);
    assert_true(metric(&r[0], "humidity") == 55);
    assert_true(near(metric(&r[0], "pressure"), 1013)); /* kPa -> hPa */
    /* humidity sensor died: temperature repeats -> partial reading flushed */
    assert_int_equal(dec(ig, "greenhouse/sensor/greenhouse_temperature/state", "21.5", r, 2), 0);
    assert_int_equal(dec(ig, "greenhouse/sensor/greenhouse_pressure/state", "101.2", r, 2), 0);
    assert_int_equal(dec(ig, "greenhouse/sensor/greenhouse_temperature/state", " 21.6\n", r, 2), 1);
    assert_int_equal(r[0].n, 2);
    assert_true(metric(&r[0], "temperature") == 21.5);
    assert_true(isnan(metric(&r[0], "humidity")));
    /* Home Assistant style, one-member group in degF: every state is a reading */
    assert_int_equal(dec(ig, "homeassistant/sensor/porch_temperature/state", "50", r, 2), 1);
    assert_string_equal(r[0].sensor_id, "porch");
    assert_true(near(metric(&r[0], "temperature"), 10));
    assert_int_equal(dec(ig, "homeassistant/sensor/porch_temperature/state", "-40.0", r, 2), 1);
    assert_true(near(metric(&r[0], "temperature"), -40));
    /* a state topic nobody configured */
    assert_int_equal(dec(ig, "greenhouse/sensor/greenhouse_co2/state", "400", r, 2), 0);
}

static void test_esphome_errors(void **state)
{
    ingest *ig = *state;
    reading r[1];
    const char *t = "homeassistant/sensor/porch_temperature/state";
    const char *bad[] = {"nan",  "NaN",  "inf",   "unavailable", "unknown", "",   "  ",
                         "0x10", "21,4", "1e999", "{\"v\":1}",   "21.4.1",  "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = dec(ig, t, bad[i], r, 1);
        if (rc != READING_ERR_TYPE)
            fail_msg("payload '%s': rc=%d", bad[i], rc);
    }
    char big[200];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(dec(ig, t, big, r, 1), READING_ERR_TOO_LARGE);
    /* a good value still works afterwards */
    assert_int_equal(dec(ig, t, "32", r, 1), 1);
    assert_true(near(metric(&r[0], "temperature"), 0));
}

/* ---- SenML (RFC 8428) --------------------------------------------------- */

static void test_senml_rfc_examples(void **state)
{
    ingest *ig = *state;
    reading r[8];
    /* 5.1.1 single datapoint: the name is the device, the unit the quantity;
     * a name that is not the topic's device is a part of it (x.<name>) */
    assert_int_equal(dec(ig, "senml/x",
                         "[{\"n\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"Cel\","
                         "\"v\":23.1}]",
                         r, 8),
                     1);
    assert_string_equal(r[0].sensor_id, "x.urn:dev:ow:10e2073a01080063");
    assert_true(metric(&r[0], "temperature") == 23.1);
    assert_true(r[0].ts == NOW);
    /* 5.1.2 multiple datapoints: voltage and current are not scored */
    assert_int_equal(dec(ig, "senml/x",
                         "[{\"bn\":\"urn:dev:ow:10e2073a01080063:\",\"n\":\"voltage\",\"u\":\"V\","
                         "\"v\":120.1},{\"n\":\"current\",\"u\":\"A\",\"v\":1.2}]",
                         r, 8),
                     0);
    /* 5.1.5 resolved records, absolute times */
    assert_int_equal(
        dec(ig, "senml/x",
            "[{\"bn\":\"urn:dev:ow:10e2073a01080063\",\"u\":\"Cel\",\"t\":1.276020076e+"
            "09,\"v\":23.5},{\"u\":\"Cel\",\"t\":1.276020091e+09,\"v\":23.6}]",
            r, 8),
        2);
    assert_true(r[0].ts == 1276020076.0);
    assert_true(r[1].ts == 1276020091.0);
    assert_true(metric(&r[1], "temperature") == 23.6);
    /* 5.1.6 multiple data types: humidity via base unit, lon/lat skipped */
    assert_int_equal(
        dec(ig, "senml/x",
            "[{\"bn\":\"urn:dev:ow:10e2073a01080063:\",\"bt\":1.320067464e+09,"
            "\"bu\":\"%RH\",\"v\":20},{\"u\":\"lon\",\"v\":24.30621},"
            "{\"u\":\"lat\",\"v\":60.07965},{\"t\":60,\"v\":20.3},"
            "{\"u\":\"lon\",\"t\":60,\"v\":24.30622},{\"u\":\"lat\",\"t\":60,\"v\":"
            "60.07965},{\"t\":120,\"v\":20.7},{\"u\":\"lon\",\"t\":120,\"v\":24.30623},"
            "{\"u\":\"lat\",\"t\":120,\"v\":60.07966},{\"u\":\"%EL\",\"t\":150,\"v\":"
            "98},{\"t\":180,\"v\":21.2},{\"vs\":\"charging\",\"n\":\"status\"}]",
            r, 8),
        4);
    assert_string_equal(r[0].sensor_id, "x.urn:dev:ow:10e2073a01080063");
    assert_true(r[2].ts == 1320067464.0 + 120);
    assert_true(metric(&r[3], "humidity") == 21.2);
}

static void test_senml_packs(void **state)
{
    ingest *ig = *state;
    reading r[4];
    /* one pack, two sensors, base value and relative time, units converted */
    assert_int_equal(dec(ig, "senml/gw1",
                         "[{\"bn\":\"room1/\",\"bt\":-10,\"n\":\"temperature\",\"u\":\"K\","
                         "\"v\":294.15},{\"n\":\"humidity\",\"u\":\"/\",\"v\":0.45},"
                         "{\"n\":\"pressure\",\"u\":\"Pa\",\"v\":101325},"
                         "{\"bn\":\"room2:\",\"bv\":1000,\"n\":\"press\",\"u\":\"hPa\",\"v\":13},"
                         "{\"bv\":0,\"n\":\"temp\",\"u\":\"degF\",\"v\":32,\"foo\":1}]",
                         r, 4),
                     2);
    assert_string_equal(r[0].sensor_id, "gw1.room1");
    assert_true(r[0].ts == NOW - 10);
    assert_true(near(metric(&r[0], "temperature"), 21));
    assert_true(near(metric(&r[0], "humidity"), 45));
    assert_true(near(metric(&r[0], "pressure"), 1013.25));
    assert_string_equal(r[1].sensor_id, "gw1.room2");
    assert_true(near(metric(&r[1], "pressure"), 1013));
    assert_true(near(metric(&r[1], "temperature"), 0)); /* bv reset; unknown "foo" ignored */
}

static void test_senml_names(void **state)
{
    ingest *ig = *state;
    reading r[4];
    /* full names with separators, no bn: a part of the topic's device */
    assert_int_equal(dec(ig, "senml/x", "[{\"n\":\"dev7/temperature\",\"v\":20}]", r, 4), 1);
    assert_string_equal(r[0].sensor_id, "x.dev7");
    assert_int_equal(dec(ig, "senml/dev7", "[{\"n\":\"dev7/temperature\",\"v\":20}]", r, 4), 1);
    assert_string_equal(r[0].sensor_id, "dev7");
    /* no name at all: the topic's last level */
    assert_int_equal(dec(ig, "senml/shed", "[{\"u\":\"Cel\",\"v\":12}]", r, 4), 1);
    assert_string_equal(r[0].sensor_id, "shed");
    /* plain metric name, no bn: the topic's last level */
    assert_int_equal(dec(ig, "senml/shed", "[{\"n\":\"humidity\",\"v\":70}]", r, 4), 1);
    assert_string_equal(r[0].sensor_id, "shed");
    /* a second probe with an unknown name becomes its own sensor by unit */
    assert_int_equal(dec(ig, "senml/x",
                         "[{\"bn\":\"tank:\",\"n\":\"temperature\",\"u\":\"Cel\",\"v\":20},"
                         "{\"n\":\"probe2\",\"u\":\"Cel\",\"v\":30}]",
                         r, 4),
                     2);
    assert_string_equal(r[0].sensor_id, "x.tank");
    assert_string_equal(r[1].sensor_id, "x.tank:probe2");
    /* names with characters not allowed in ids are sanitised */
    assert_int_equal(dec(ig, "senml/x", "[{\"bn\":\"my room \",\"n\":\"temp\",\"v\":20}]", r, 4),
                     1);
    assert_string_equal(r[0].sensor_id, "x.my_room_");
}

static void test_senml_errors(void **state)
{
    ingest *ig = *state;
    reading r[2];
    assert_int_equal(dec(ig, "senml/x", "{\"n\":\"temp\",\"v\":1}", r, 2), READING_ERR_TYPE);
    assert_int_equal(dec(ig, "senml/x", "[1]", r, 2), READING_ERR_TYPE);
    assert_int_equal(dec(ig, "senml/x", "[{\"n\":\"temp\",\"v\":\"1\"}]", r, 2), READING_ERR_TYPE);
    assert_int_equal(dec(ig, "senml/x", "[{\"n\":7,\"v\":1}]", r, 2), READING_ERR_TYPE);
    assert_int_equal(dec(ig, "senml/x", "[{\"bn\":[],\"v\":1}]", r, 2), READING_ERR_TYPE);
    assert_int_equal(dec(ig, "senml/x", "[{\"n\":\"temp\",\"v\":1,\"t\":\"now\"}]", r, 2),
                     READING_ERR_TYPE);
    /* must-understand fields and versions we do not know */
    assert_int_equal(dec(ig, "senml/x", "[{\"n\":\"temp\",\"v\":1,\"crit_\":1}]", r, 2),
                     READING_ERR_FORMAT);
    assert_int_equal(dec(ig, "senml/x", "[{\"bver\":11,\"n\":\"temp\",\"v\":1}]", r, 2),
                     READING_ERR_FORMAT);
    /* a temperature in a pressure unit */
    assert_int_equal(dec(ig, "senml/x", "[{\"n\":\"temperature\",\"u\":\"Pa\",\"v\":1}]", r, 2),
                     READING_ERR_FORMAT);
    /* time: negative absolute, far future */
    assert_int_equal(dec(ig, "senml/x", "[{\"n\":\"temp\",\"v\":1,\"bt\":-1e12}]", r, 2),
                     READING_ERR_TS);
    assert_int_equal(dec(ig, "senml/x", "[{\"n\":\"temp\",\"v\":1,\"t\":4e9}]", r, 2),
                     READING_ERR_TS);
    /* more (sensor, time) pairs than the caller's room */
    assert_int_equal(dec(ig, "senml/x",
                         "[{\"n\":\"temp\",\"v\":1,\"t\":-3},{\"n\":\"temp\",\"v\":1,\"t\":-2},"
                         "{\"n\":\"temp\",\"v\":1,\"t\":-1}]",
                         r, 2),
                     READING_ERR_TOO_MANY);
    /* valid but empty */
    assert_int_equal(dec(ig, "senml/x", "[]", r, 2), 0);
    assert_int_equal(dec(ig, "senml/x", "[{\"n\":\"status\",\"vs\":\"ok\"}]", r, 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_z2m_examples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_z2m_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_z2m_errors, setup, teardown),
        cmocka_unit_test(test_z2m_options),
        cmocka_unit_test_setup_teardown(test_tasmota_examples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tasmota_errors, setup, teardown),
        cmocka_unit_test(test_tasmota_device_time),
        cmocka_unit_test_setup_teardown(test_esphome_grouping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_esphome_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_senml_rfc_examples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_senml_packs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_senml_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_senml_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
