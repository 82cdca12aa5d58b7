/*
 * ingest_z2m — Zigbee2MQTT (https://www.zigbee2mqtt.io), with its default
 * `output: json`:
 *
 *     topic    zigbee2mqtt/{friendly_name}        (base topic configurable)
 *     payload  {"temperature":21.4,"humidity":40.1,"pressure":1013.2,
 *               "battery":97,"linkquality":120,"voltage":2985}
 *
 * Zigbee2MQTT converts every device to the same units (degC, %RH, hPa), so
 * the payload carries none; a mapping can declare others ("units"). Only
 * allow-listed metrics are kept (temperature, humidity, pressure by
 * default): battery, linkquality and friends are device health, not the
 * environment. A device with none of them (a switch, a bulb) is valid and
 * yields no reading (0), not an error; so are `null` values, which
 * Zigbee2MQTT sends for attributes it has not read yet.
 *
 * Friendly names may contain '/', so the name is everything after the base
 * topic, except for Zigbee2MQTT's own topics: bridge/..., and the
 * {name}/set, {name}/get, {name}/availability topics. With
 * `output: attribute_and_json` the per-attribute copies
 * ({name}/temperature -> 21.4) are ignored: the JSON message has the same
 * value. Payloads carry no measurement time: receipt time is used.
 */
#include <jansson.h>
#include <string.h>

#include "ingest/adapter.h"
#include "base/jsonbuf.h"

/* 1 when the friendly name is one of Zigbee2MQTT's non-reading topics.
 * An attribute copy ({name}/temperature -> 21.4) is told from a device
 * whose friendly name ends in a metric word ("basement/humidity") by its
 * payload: a bare value, never a JSON object. */
static int not_a_device(const ingest *ig, const char *name, const char *payload, size_t len)
{
    if (!*name || strcmp(name, "bridge") == 0 || strncmp(name, "bridge/", 7) == 0)
        return 1;
    const char *last = strrchr(name, '/');
    if (!last)
        return 0;
    last++;
    if (strcmp(last, "set") == 0 || strcmp(last, "get") == 0 || strcmp(last, "availability") == 0 ||
        strstr(name, "/set/") || strstr(name, "/get/"))
        return 1;
    char metric[READING_NAME_MAX];
    if (adapter_metric_name(last, metric, sizeof metric) != 0 ||
        adapter_metrics_find(&ig->z2m.metrics, metric) < 0)
        return 0;
    while (len && (*payload == ' ' || *payload == '\t' || *payload == '\r' || *payload == '\n'))
        payload++, len--;
    return len == 0 || *payload != '{';
}

int adapter_z2m_decode(ingest *ig, const char *topic, const char *payload, size_t len, double now,
                  reading *out, int cap, char *err, size_t errlen)
{
    char name[ADAPTER_NAME_MAX];
    int rc = 0;
    json_t *root = NULL;
    (void)cap;
    if (!ig->z2m.enabled)
        return ADAPTER_NOT_MINE;
    int m = adapter_topic_match(ig->z2m.topic, topic, name, sizeof name);
    if (m == 0)
        return ADAPTER_NOT_MINE;
    if (m < 0) {
        errbuf_set(err, errlen, "friendly name longer than %d", ADAPTER_NAME_MAX - 1);
        return READING_ERR_SENSOR;
    }
    if (not_a_device(ig, name, payload, len))
        return 0;
    if ((rc = jsonbuf_parse(payload, len, JSON_OBJECT,
                            "a Zigbee2MQTT message must be a JSON object", &root, err, errlen)) < 0)
        return rc;
    memset(out, 0, sizeof *out);
    out->ts = now;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        char metric[READING_NAME_MAX];
        if (json_is_null(val) || adapter_metric_name(key, metric, sizeof metric) != 0 ||
            adapter_metrics_find(&ig->z2m.metrics, metric) < 0)
            continue;
        if (!json_is_number(val)) {
            errbuf_set(err, errlen, "'%s' must be a number", metric);
            rc = READING_ERR_TYPE;
            goto out;
        }
        int arc =
            adapter_add_value(&ig->z2m.metrics, out, key, NULL, json_number_value(val), err, errlen);
        if (arc < 0) {
            rc = arc;
            goto out;
        }
    }
    if (out->n == 0)
        goto out; /* not a sensor we score: rc = 0 */
    rc = adapter_sensor_id(ig, "zigbee2mqtt", ig->z2m.id_prefix, name, out->sensor_id);
    if (rc < 0) {
        errbuf_set(err, errlen, "no usable sensor id in friendly name");
        goto out;
    }
    rc = 1;
out:
    json_decref(root);
    return rc;
}
