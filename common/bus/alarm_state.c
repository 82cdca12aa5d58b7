/*
 * alarm_state — see alarm_state.h. Both halves of the detector's
 * `detector/alarm/...` message: the detector encodes, subscribers decode.
 */
#include "bus/alarm_state.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/errbuf.h"
#include "base/jsonbuf.h"

int alarm_state_to_json(const alarm_state *s, char *buf, size_t cap)
{
    if (!s || !buf || !isfinite(s->ts))
        return -1;
    json_t *o = json_pack("{s:s, s:s, s:b, s:f}", "sensor_id", s->sensor_id, "metric", s->metric,
                          "in_alarm", s->in_alarm ? 1 : 0, "ts", s->ts);
    int n = o ? jsonbuf_dump(o, buf, cap) : -1;
    json_decref(o);
    return n;
}

int alarm_state_from_json(const void *payload, size_t len, alarm_state *out, char *err,
                          size_t errlen)
{
    int rc = -1;
    if (!out || !payload) {
        errbuf_set(err, errlen, "no input or output");
        return -1;
    }
    json_t *root;
    if (jsonbuf_load(payload, len, ALARM_STATE_MAX_PAYLOAD, &root, err, errlen) != 0)
        return -1;
    const char *id = json_string_value(json_object_get(root, "sensor_id"));
    const char *metric = json_string_value(json_object_get(root, "metric"));
    json_t *al = json_object_get(root, "in_alarm");
    json_t *ts = json_object_get(root, "ts");
    if (!json_is_object(root))
        errbuf_set(err, errlen, "not a JSON object");
    else if (!id || !sensor_id_valid(id))
        errbuf_set(err, errlen, "sensor_id missing or invalid");
    else if (!metric || !metric[0] || strlen(metric) >= READING_NAME_MAX)
        errbuf_set(err, errlen, "metric missing or longer than %d bytes", READING_NAME_MAX - 1);
    else if (!json_is_boolean(al))
        errbuf_set(err, errlen, "in_alarm must be true or false");
    else if (!json_is_number(ts) || !isfinite(json_number_value(ts)))
        errbuf_set(err, errlen, "ts must be a finite number");
    else {
        snprintf(out->sensor_id, sizeof(out->sensor_id), "%s", id);
        snprintf(out->metric, sizeof(out->metric), "%s", metric);
        out->in_alarm = json_is_true(al);
        out->ts = json_number_value(ts);
        rc = 0;
    }
    json_decref(root);
    return rc;
}
