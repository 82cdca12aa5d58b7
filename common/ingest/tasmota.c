/*
 * ingest_tasmota — Tasmota (https://tasmota.github.io) telemetry:
 *
 *     topic    tele/{topic}/SENSOR               (filter configurable, one '+')
 *     payload  {"Time":"2024-05-01T12:00:00",
 *               "BME280":{"Temperature":21.4,"Humidity":40.1,"DewPoint":7.3,
 *                         "Pressure":1013.2},
 *               "DS18B20-1":{"Id":"01144A0CB2AA","Temperature":19.0},
 *               "TempUnit":"C","PressureUnit":"hPa"}
 *
 * Each nested sensor object becomes its own reading, sensor id
 * "{topic}.{SensorName}" (kitchen.BME280, kitchen.DS18B20-1), renamable in
 * the mapping. The device is the topic level its broker account owns; a
 * '.' in SensorName becomes '_', so device "a" cannot name device "a.b"'s
 * sensors (adapter_device_sensor_id). We chose separate sensors over prefixed metrics because the
 * detector's profiles and the dashboard know temperature/humidity/pressure,
 * not "BME280_Temperature", and an id per physical sensor stays the same
 * when a second sensor is wired to the same device. The ESP's own chip
 * temperature ("ESP32": {"Temperature": 45}) is ignored by default.
 *
 * Units: "TempUnit" is C or F (SetOption8), "PressureUnit" hPa or mmHg
 * (SetOption24); humidity is always %RH.
 *
 * Time: Tasmota's "Time" is the device's local time without zone (unless
 * SetOption52 appends the offset) and is 1970 until NTP syncs. So receipt
 * time is used by default; with "device_time": true, Time is parsed, with
 * its own offset when present, else at "utc_offset_minutes" (a fixed
 * offset: daylight saving time is not applied).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ingest/adapter.h"
#include "base/jsonbuf.h"

static int ignored_sensor(const ingest *ig, const char *name)
{
    for (int i = 0; i < ig->tasmota.nignore; i++)
        if (strcmp(ig->tasmota.ignore[i], name) == 0)
            return 1;
    return 0;
}

static int unit_member(json_t *root, const char *key, const char **unit, char *err, size_t errlen)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return 0;
    if (!json_is_string(v)) {
        errbuf_set(err, errlen, "'%s' must be a string", key);
        return READING_ERR_TYPE;
    }
    *unit = json_string_value(v);
    return 0;
}

/* One nested sensor object into r. Returns the number of metrics added,
 * or a negative READING_ERR_*. */
static int sensor_object(const ingest *ig, json_t *obj, const char *temp_unit,
                         const char *press_unit, reading *r, char *err, size_t errlen)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        char metric[READING_NAME_MAX];
        if (json_is_null(val) || adapter_metric_name(key, metric, sizeof metric) != 0 ||
            adapter_metrics_find(&ig->tasmota.metrics, metric) < 0)
            continue;
        if (!json_is_number(val)) {
            errbuf_set(err, errlen, "'%.40s' must be a number", key);
            return READING_ERR_TYPE;
        }
        enum adapter_family fam = adapter_metric_family(metric);
        const char *unit = fam == ADAPTER_FAM_TEMPERATURE ? temp_unit
                           : fam == ADAPTER_FAM_PRESSURE  ? press_unit
                                                     : NULL;
        int rc = adapter_add_value(&ig->tasmota.metrics, r, metric, unit, json_number_value(val), err,
                              errlen);
        if (rc < 0)
            return rc;
    }
    return r->n;
}

int adapter_tasmota_decode(ingest *ig, const char *topic, const char *payload, size_t len, double now,
                      reading *out, int cap, char *err, size_t errlen)
{
    char dev[ADAPTER_NAME_MAX];
    int rc = 0, n = 0;
    json_t *root = NULL;
    if (!ig->tasmota.enabled)
        return ADAPTER_NOT_MINE;
    int m = adapter_topic_match(ig->tasmota.topic, topic, dev, sizeof dev);
    if (m == 0)
        return ADAPTER_NOT_MINE;
    if (m < 0 || !*dev) {
        errbuf_set(err, errlen, "no usable device topic");
        return READING_ERR_SENSOR;
    }
    if ((rc = jsonbuf_parse(payload, len, JSON_OBJECT,
                            "a Tasmota SENSOR message must be a JSON object", &root, err, errlen)) <
        0)
        return rc;
    const char *temp_unit = "C", *press_unit = "hPa";
    if ((rc = unit_member(root, "TempUnit", &temp_unit, err, errlen)) < 0 ||
        (rc = unit_member(root, "PressureUnit", &press_unit, err, errlen)) < 0)
        goto out;
    double ts = now;
    if (ig->tasmota.device_time) {
        json_t *t = json_object_get(root, "Time");
        if (t && (!json_is_string(t) ||
                  adapter_parse_iso8601(json_string_value(t), ig->tasmota.utc_offset_s, &ts) != 0)) {
            errbuf_set(err, errlen, "'Time' is not an ISO 8601 date-time");
            rc = READING_ERR_TS;
            goto out;
        }
        if ((rc = adapter_check_ts(ts, now, err, errlen)) < 0)
            goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        if (!json_is_object(val) || ignored_sensor(ig, key))
            continue;
        if (n >= cap) {
            errbuf_set(err, errlen, "more than %d sensors in one message", cap);
            rc = READING_ERR_TOO_MANY;
            goto out;
        }
        reading *r = &out[n];
        memset(r, 0, sizeof *r);
        r->ts = ts;
        int src = sensor_object(ig, val, temp_unit, press_unit, r, err, errlen);
        if (src < 0) {
            rc = src;
            goto out;
        }
        if (src == 0)
            continue; /* ENERGY, Switch, ...: nothing we score */
        /* The device is the topic level, the object key only a part of it
         * (docs/SENSORS.md, "Which device may write which sensor"). */
        if ((rc = adapter_device_sensor_id(ig, "tasmota", ig->tasmota.id_prefix, dev, key,
                                           r->sensor_id, err, errlen)) < 0)
            goto out;
        n++;
    }
    rc = n;
out:
    json_decref(root);
    return rc;
}
