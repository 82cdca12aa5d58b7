/*
 * ingest_senml — SenML JSON packs (RFC 8428), on configured topics
 * (default senml/#):
 *
 *     [{"bn":"urn:dev:ow:10e2073a01080063:","bt":1.320067464e+09,"bu":"Cel",
 *       "n":"temperature","v":23.1},
 *      {"n":"humidity","u":"%RH","v":40.5},
 *      {"n":"temperature","t":60,"v":23.4}]
 *
 * Base fields (bn, bt, bu, bv, bver) apply to the record that carries them
 * and every later record (RFC 8428 section 4.1), so one pack may carry
 * several sensors and several instants. Records are resolved (section 4.6)
 * and grouped into one reading per (sensor, time).
 *
 * Which part of the resolved name is the sensor and which the metric:
 *   - bn set and n without '/' or ':': sensor = bn (trailing ":/._-"
 *     removed), metric = n;
 *   - otherwise the name bn+n is split at its last '/' or ':'
 *     ("dev7/temperature" -> sensor dev7, metric temperature); without a
 *     separator the sensor is the last level of the MQTT topic;
 *   - when that gives no metric we score (n empty, as in RFC examples that
 *     name the device in bn or n and let the unit say the quantity, or a
 *     name like "probe2"), the whole name bn+n is the sensor and the metric
 *     comes from the unit's family (Cel -> temperature, %RH or "/" ->
 *     humidity, Pa -> pressure); without such a unit the record is skipped.
 * Who the sensor is: the device is the topic's last level (senml/{device},
 * the level its broker account owns); the name above only names a part of
 * it: sensor id = device, or device.part when the name is not the device
 * (docs/SENSORS.md, "Which device may write which sensor"; see part_of).
 * Time: bt + t; values below 2^28 are relative to now (section 4.5.3).
 * Values: bv + v; records with only vs/vb/vd/s are skipped (not scored).
 * A field ending in '_' is "must understand" (section 4.4): we do not, so
 * the pack is rejected. bver above 10 is rejected too (section 4.3).
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ingest/adapter.h"
#include "base/jsonbuf.h"

#define SENML_REL_LIMIT 268435456.0 /* 2^28 seconds */

typedef struct {
    char bn[ADAPTER_NAME_MAX];
    char bu[16];
    double bt, bv;
} senml_base;

/* Pick up base fields of one record. Returns 0 or READING_ERR_*. */
static int base_fields(json_t *rec, senml_base *b, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(rec, key, v)
    {
        size_t kl = strlen(key);
        if (kl && key[kl - 1] == '_') {
            errbuf_set(err, errlen, "must-understand field '%.20s' is not supported", key);
            return READING_ERR_FORMAT;
        }
    }
    json_t *bver = json_object_get(rec, "bver");
    if (bver && (!json_is_integer(bver) || json_integer_value(bver) > 10)) {
        errbuf_set(err, errlen, "bver must be an integer <= 10");
        return READING_ERR_FORMAT;
    }
    json_t *bn = json_object_get(rec, "bn"), *bu = json_object_get(rec, "bu");
    json_t *bt = json_object_get(rec, "bt"), *bvv = json_object_get(rec, "bv");
    if ((bn && !json_is_string(bn)) || (bu && !json_is_string(bu)) || (bt && !json_is_number(bt)) ||
        (bvv && !json_is_number(bvv))) {
        errbuf_set(err, errlen, "bn/bu must be strings, bt/bv numbers");
        return READING_ERR_TYPE;
    }
    if (bn) {
        if (json_string_length(bn) >= sizeof b->bn) {
            errbuf_set(err, errlen, "bn longer than %zu", sizeof b->bn - 1);
            return READING_ERR_SENSOR;
        }
        memcpy(b->bn, json_string_value(bn), json_string_length(bn) + 1);
    }
    if (bu) {
        if (json_string_length(bu) >= sizeof b->bu) {
            errbuf_set(err, errlen, "bu is not a known unit");
            return READING_ERR_FORMAT;
        }
        memcpy(b->bu, json_string_value(bu), json_string_length(bu) + 1);
    }
    if (bt)
        b->bt = json_number_value(bt);
    if (bvv)
        b->bv = json_number_value(bvv);
    return 0;
}

/* Split bn + n into sensor (natural name) and field. */
static int split_name(const senml_base *b, const char *n, const char *topic_name, char *sensor,
                      size_t scap, char *field, size_t fcap)
{
    char full[2 * ADAPTER_NAME_MAX];
    if (b->bn[0] && !strpbrk(n, "/:")) {
        size_t l = strlen(b->bn);
        while (l && strchr(":/._-", b->bn[l - 1]))
            l--;
        if (l == 0 || l >= scap || strlen(n) >= fcap)
            return -1;
        memcpy(sensor, b->bn, l);
        sensor[l] = '\0';
        memcpy(field, n, strlen(n) + 1);
        return 0;
    }
    if ((size_t)snprintf(full, sizeof full, "%s%s", b->bn, n) >= sizeof full)
        return -1;
    char *sep = NULL;
    for (char *p = full; *p; p++)
        if (*p == '/' || *p == ':')
            sep = p;
    const char *f = full;
    if (sep) {
        *sep = '\0';
        f = sep + 1;
        size_t l = strlen(full);
        while (l && strchr(":/._-", full[l - 1]))
            full[--l] = '\0';
        if (l == 0)
            return -1;
    }
    const char *s = sep ? full : topic_name;
    if (!*s || strlen(s) >= scap || strlen(f) >= fcap)
        return -1;
    memcpy(sensor, s, strlen(s) + 1);
    memcpy(field, f, strlen(f) + 1);
    return 0;
}

/* The resolved name bn + n as the sensor's natural name (trailing
 * separators removed); the topic's last level when there is no name. */
static int whole_name(const senml_base *b, const char *n, const char *topic_name, char *sensor,
                      size_t scap)
{
    int w = b->bn[0] || n[0] ? snprintf(sensor, scap, "%s%s", b->bn, n)
                             : snprintf(sensor, scap, "%s", topic_name);
    if (w < 0 || (size_t)w >= scap)
        return -1;
    size_t l = (size_t)w;
    while (l && strchr(":/._-", sensor[l - 1]))
        sensor[--l] = '\0';
    return l ? 0 : -1;
}

/* The part of the pack's sensor name below the topic's device: "" when
 * the name is the device itself ("gw1", "gw1:"), the rest after "gw1" and
 * one of ":/._-" ("gw1/room1" -> "room1"), else the whole name, which then
 * becomes a part of the device too ("urn:dev:ow:10e2..." on senml/gw1 ->
 * gw1.urn:dev:ow:10e2...): a pack never writes another device's sensor. */
static const char *part_of(const char *sensor, const char *device)
{
    size_t dl = strlen(device);
    if (strcmp(sensor, device) == 0)
        return "";
    if (dl && strncmp(sensor, device, dl) == 0 && sensor[dl] && strchr(":/._-", sensor[dl]))
        return sensor + dl + 1;
    return sensor;
}

static const char *family_metric(enum adapter_family fam)
{
    return fam == ADAPTER_FAM_TEMPERATURE ? "temperature"
           : fam == ADAPTER_FAM_HUMIDITY  ? "humidity"
           : fam == ADAPTER_FAM_PRESSURE  ? "pressure"
                                     : NULL;
}

int adapter_senml_decode(ingest *ig, const char *topic, const char *payload, size_t len, double now,
                    reading *out, int cap, char *err, size_t errlen)
{
    int rc = 0, nout = 0, mine = 0;
    json_t *root = NULL;
    if (!ig->senml.enabled)
        return ADAPTER_NOT_MINE;
    for (int i = 0; i < ig->senml.ntopics && !mine; i++)
        mine = adapter_topic_match(ig->senml.topics[i], topic, NULL, 0) == 1;
    if (!mine)
        return ADAPTER_NOT_MINE;
    const char *topic_name = strrchr(topic, '/') ? strrchr(topic, '/') + 1 : topic;
    if ((rc = jsonbuf_parse(payload, len, JSON_ARRAY, "a SenML pack must be a JSON array", &root,
                            err, errlen)) < 0)
        return rc;
    senml_base b;
    memset(&b, 0, sizeof b);
    size_t i;
    json_t *rec;
    json_array_foreach(root, i, rec)
    {
        if (!json_is_object(rec)) {
            errbuf_set(err, errlen, "record %zu is not an object", i);
            rc = READING_ERR_TYPE;
            goto out;
        }
        if ((rc = base_fields(rec, &b, err, errlen)) < 0)
            goto out;
        json_t *jn = json_object_get(rec, "n"), *ju = json_object_get(rec, "u");
        json_t *jt = json_object_get(rec, "t"), *jv = json_object_get(rec, "v");
        if ((jn && !json_is_string(jn)) || (ju && !json_is_string(ju)) ||
            (jt && !json_is_number(jt)) || (jv && !json_is_number(jv))) {
            errbuf_set(err, errlen, "record %zu: n/u must be strings, t/v numbers", i);
            rc = READING_ERR_TYPE;
            goto out;
        }
        if (!jv)
            continue; /* string, boolean, data or sum record: not scored */
        const char *unit = ju ? json_string_value(ju) : b.bu;
        const char *n = jn ? json_string_value(jn) : "";
        char sensor[2 * ADAPTER_NAME_MAX], field[ADAPTER_NAME_MAX], metric[READING_NAME_MAX];
        if (split_name(&b, n, topic_name, sensor, sizeof sensor, field, sizeof field) != 0) {
            errbuf_set(err, errlen, "record %zu: no usable sensor name", i);
            rc = READING_ERR_SENSOR;
            goto out;
        }
        if (!field[0] || adapter_metric_name(field, metric, sizeof metric) != 0 ||
            adapter_metrics_find(&ig->senml.metrics, metric) < 0) {
            /* The name is not "<device><sep><metric>": the whole name is the
             * device and the unit says what is measured (RFC 8428 5.1.1:
             * {"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}). */
            const char *fm = family_metric(adapter_unit_family(unit));
            if (!fm)
                continue; /* neither name nor unit is one we score */
            snprintf(metric, sizeof metric, "%s", fm);
            if (whole_name(&b, n, topic_name, sensor, sizeof sensor) != 0) {
                errbuf_set(err, errlen, "record %zu: no usable sensor name", i);
                rc = READING_ERR_SENSOR;
                goto out;
            }
        }
        if (adapter_metrics_find(&ig->senml.metrics, metric) < 0)
            continue;
        double ts = b.bt + (jt ? json_number_value(jt) : 0);
        if (ts < SENML_REL_LIMIT)
            ts += now;
        if ((rc = adapter_check_ts(ts, now, err, errlen)) < 0)
            goto out;
        char id[SENSOR_ID_MAX];
        if ((rc = adapter_device_sensor_id(ig, "senml", ig->senml.id_prefix, topic_name,
                                           part_of(sensor, topic_name), id, err, errlen)) < 0)
            goto out;
        int k;
        for (k = 0; k < nout; k++)
            if (out[k].ts == ts && strcmp(out[k].sensor_id, id) == 0)
                break;
        if (k == nout) {
            if (nout >= cap) {
                errbuf_set(err, errlen, "more than %d readings in one pack", cap);
                rc = READING_ERR_TOO_MANY;
                goto out;
            }
            memset(&out[k], 0, sizeof out[k]);
            memcpy(out[k].sensor_id, id, sizeof id);
            out[k].ts = ts;
            nout++;
        }
        int arc = adapter_add_value(&ig->senml.metrics, &out[k], metric, unit,
                               b.bv + json_number_value(jv), err, errlen);
        if (arc < 0) {
            rc = arc;
            goto out;
        }
    }
    rc = nout;
out:
    json_decref(root);
    return rc;
}
