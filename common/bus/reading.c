/*
 * reading — see reading.h. Decoding is strict where it matters (types,
 * finiteness, sizes, timestamps) and lenient where devices differ
 * (unknown non-numeric members are ignored).
 */
#include "bus/reading.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/errbuf.h"
#include "base/jsonbuf.h"

static const char *const err_names[] = {"ok",        "too_large", "json",     "type", "no_metric",
                                        "sensor_id", "timestamp", "too_many", "format"};

const char *reading_strerror(int err)
{
    if (err > 0 || err < READING_ERR_FORMAT)
        return "unknown";
    return err_names[-err];
}

int sensor_id_valid(const char *id)
{
    if (!id)
        return 0;
    size_t n = 0;
    for (const char *p = id; *p; p++, n++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '.' || c == ':';
        if (!ok || n >= SENSOR_ID_MAX - 1)
            return 0;
    }
    return n > 0;
}

int reading_find(const reading *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->m[i].name, name) == 0)
            return i;
    return -1;
}

int reading_add(reading *r, const char *name, double value)
{
    size_t len = strlen(name);
    if (len == 0 || len >= READING_NAME_MAX)
        return READING_ERR_FORMAT;
    int i = reading_find(r, name);
    if (i >= 0) {
        r->m[i].value = value;
        return 0;
    }
    if (r->n >= READING_MAX_METRICS)
        return READING_ERR_TOO_MANY;
    memcpy(r->m[r->n].name, name, len + 1);
    r->m[r->n].value = value;
    r->n++;
    return 0;
}

int reading_decode_json(const char *sensor_id, const void *payload, size_t len, double now,
                        reading *out, char *err, size_t errlen)
{
    int rc = 0;
    json_t *root = NULL;

    if (!sensor_id_valid(sensor_id)) {
        errbuf_set(err, errlen, "invalid sensor id");
        return READING_ERR_SENSOR;
    }
    /* Size bound, no NaN/Infinity, no duplicate members: see jsonbuf.h. */
    if ((rc = jsonbuf_parse(payload, len, JSON_OBJECT, "a reading must be a JSON object", &root,
                            err, errlen)) < 0)
        return rc;
    memset(out, 0, sizeof *out);
    memcpy(out->sensor_id, sensor_id, strlen(sensor_id) + 1);
    out->ts = now;

    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        if (strcmp(key, "ts") == 0) {
            if (!json_is_number(val)) {
                errbuf_set(err, errlen, "ts must be a number of Unix seconds");
                rc = READING_ERR_TYPE;
                goto out;
            }
            double ts = json_number_value(val);
            if (!isfinite(ts) || ts < 0 || ts > now + READING_MAX_FUTURE_S) {
                errbuf_set(err, errlen, "ts %.3f is out of range", ts);
                rc = READING_ERR_TS;
                goto out;
            }
            out->ts = ts;
            continue;
        }
        if (!json_is_number(val))
            continue; /* strings, objects, booleans: not metrics */
        double v = json_number_value(val);
        if (!isfinite(v) || fabs(v) > READING_MAX_ABS) {
            errbuf_set(err, errlen, "metric '%.40s' is out of range (|value| > %g)", key,
                       READING_MAX_ABS);
            rc = READING_ERR_TYPE;
            goto out;
        }
        int arc = reading_add(out, key, v);
        if (arc == READING_ERR_TOO_MANY) {
            errbuf_set(err, errlen, "more than %d metrics", READING_MAX_METRICS);
            rc = arc;
            goto out;
        }
        if (arc != 0) {
            errbuf_set(err, errlen, "metric name '%.40s' is too long", key);
            rc = arc;
            goto out;
        }
    }
    if (out->n == 0) {
        errbuf_set(err, errlen, "no numeric metric in reading");
        rc = READING_ERR_NO_METRIC;
    }
out:
    json_decref(root);
    return rc;
}

int reading_encode_json(const reading *r, char *buf, size_t cap)
{
    int rc = -1;
    json_t *o = json_object();
    if (!o || !isfinite(r->ts))
        goto out;
    if (json_object_set_new(o, "ts", json_real(r->ts)) != 0)
        goto out;
    for (int i = 0; i < r->n; i++) {
        if (!isfinite(r->m[i].value))
            goto out;
        if (json_object_set_new(o, r->m[i].name, json_real(r->m[i].value)) != 0)
            goto out;
    }
    rc = jsonbuf_dump(o, buf, cap);
out:
    json_decref(o);
    return rc;
}
