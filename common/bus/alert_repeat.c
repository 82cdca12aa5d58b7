/*
 * alert_repeat — see alert_repeat.h. Both halves of the detector's
 * `detector/repeat/...` message: the detector sums and encodes, the
 * gateway decodes.
 */
#include "bus/alert_repeat.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/errbuf.h"
#include "base/jsonbuf.h"

void alert_repeat_start(alert_repeat *r, const anomaly *a)
{
    memset(r, 0, sizeof *r);
    snprintf(r->sensor_id, sizeof r->sensor_id, "%s", a->sensor_id);
    snprintf(r->metric, sizeof r->metric, "%s", a->metric);
    r->type = a->type;
    r->count = 1;
    r->peak_value = a->value;
    r->peak_score = a->score;
    r->expected_low = a->expected_low;
    r->expected_high = a->expected_high;
    snprintf(r->last_id, sizeof r->last_id, "%s", a->id);
    r->ts = a->ts;
}

void alert_repeat_add(alert_repeat *r, const anomaly *a)
{
    r->count++;
    snprintf(r->last_id, sizeof r->last_id, "%s", a->id);
    r->ts = a->ts;
    if (a->score > r->peak_score) {
        r->peak_value = a->value;
        r->peak_score = a->score;
        r->expected_low = a->expected_low;
        r->expected_high = a->expected_high;
    }
}

int alert_repeat_to_json(const alert_repeat *r, char *buf, size_t cap)
{
    const char *type = r ? anomaly_type_name(r->type) : NULL;
    if (!r || !buf || !type || !isfinite(r->ts) || !isfinite(r->peak_value) ||
        !isfinite(r->peak_score))
        return -1;
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:f, s:f}", "sensor_id", r->sensor_id, "metric",
                          r->metric, "type", type, "count", (json_int_t)r->count, "peak_value",
                          r->peak_value, "peak_score", r->peak_score);
    int n = -1;
    if (!o)
        return -1;
    if (isfinite(r->expected_low) && isfinite(r->expected_high) &&
        (json_object_set_new(o, "expected_low", json_real(r->expected_low)) != 0 ||
         json_object_set_new(o, "expected_high", json_real(r->expected_high)) != 0))
        goto out;
    if (json_object_set_new(o, "last_id", json_string(r->last_id)) != 0 ||
        json_object_set_new(o, "ts", json_real(r->ts)) != 0)
        goto out;
    n = jsonbuf_dump(o, buf, cap);
out:
    json_decref(o);
    return n;
}

/* A finite number member, or NAN when absent; *bad set when present but not one. */
static double opt_number(const json_t *root, const char *key, int *bad)
{
    const json_t *v = json_object_get(root, key);
    if (!v)
        return NAN;
    if (!json_is_number(v) || !isfinite(json_number_value(v))) {
        *bad = 1;
        return NAN;
    }
    return json_number_value(v);
}

int alert_repeat_from_json(const void *payload, size_t len, alert_repeat *out, char *err,
                           size_t errlen)
{
    json_error_t jerr;
    int rc = -1, bad = 0;
    if (!out || !payload) {
        errbuf_set(err, errlen, "no input or output");
        return -1;
    }
    if (len > ALERT_REPEAT_MAX_PAYLOAD) {
        errbuf_set(err, errlen, "payload too large");
        return -1;
    }
    json_t *root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        errbuf_set(err, errlen, "invalid JSON: %s", jerr.text);
        return -1;
    }
    const char *id = json_string_value(json_object_get(root, "sensor_id"));
    const char *metric = json_string_value(json_object_get(root, "metric"));
    const char *type = json_string_value(json_object_get(root, "type"));
    const char *last = json_string_value(json_object_get(root, "last_id"));
    json_t *count = json_object_get(root, "count");
    double pv = opt_number(root, "peak_value", &bad), ps = opt_number(root, "peak_score", &bad);
    double ts = opt_number(root, "ts", &bad);
    double lo = opt_number(root, "expected_low", &bad),
           hi = opt_number(root, "expected_high", &bad);
    if (!json_is_object(root))
        errbuf_set(err, errlen, "not a JSON object");
    else if (!id || !sensor_id_valid(id))
        errbuf_set(err, errlen, "sensor_id missing or invalid");
    else if (!metric || !metric[0] || strlen(metric) >= READING_NAME_MAX)
        errbuf_set(err, errlen, "metric missing or longer than %d bytes", READING_NAME_MAX - 1);
    else if (!type || anomaly_type_parse(type, &out->type) != 0)
        errbuf_set(err, errlen, "type missing or unknown");
    else if (!json_is_integer(count) || json_integer_value(count) < 1 ||
             json_integer_value(count) > UINT32_MAX)
        errbuf_set(err, errlen, "count must be an integer >= 1");
    else if (bad || isnan(pv) || isnan(ps) || isnan(ts))
        errbuf_set(err, errlen, "peak_value, peak_score and ts must be finite numbers");
    else if (!last || !last[0] || strlen(last) >= ANOMALY_ID_HEX)
        errbuf_set(err, errlen, "last_id missing or longer than %d characters", ANOMALY_ID_HEX - 1);
    else {
        snprintf(out->sensor_id, sizeof out->sensor_id, "%s", id);
        snprintf(out->metric, sizeof out->metric, "%s", metric);
        snprintf(out->last_id, sizeof out->last_id, "%s", last);
        out->count = (uint32_t)json_integer_value(count);
        out->peak_value = pv;
        out->peak_score = ps;
        out->expected_low = lo;
        out->expected_high = hi;
        out->ts = ts;
        rc = 0;
    }
    json_decref(root);
    return rc;
}
