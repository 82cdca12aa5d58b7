/*
 * alarm_feedback — see alarm_feedback.h. The gateway encodes, the
 * detector decodes.
 */
#include "bus/alarm_feedback.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/errbuf.h"
#include "base/jsonbuf.h"

#define VERDICT "false_positive"

int alarm_feedback_to_json(const alarm_feedback *f, char *buf, size_t cap)
{
    if (!f || !buf || !isfinite(f->value) || !isfinite(f->score))
        return -1;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:I, s:o}", "sensor_id", f->sensor_id,
                          "metric", f->metric, "kind", f->kind, "verdict", VERDICT, "value",
                          f->value, "score", f->score, "at", (json_int_t)f->at, "by",
                          f->by[0] ? json_string(f->by) : json_null());
    int n = o ? jsonbuf_dump(o, buf, cap) : -1;
    json_decref(o);
    return n;
}

int alarm_feedback_from_json(const void *payload, size_t len, alarm_feedback *out, char *err,
                             size_t errlen)
{
    json_t *root = NULL;
    int rc = -1;
    if (!payload || !out) {
        errbuf_set(err, errlen, "no input or output");
        return -1;
    }
    if (jsonbuf_parse(payload, len, JSON_OBJECT, "not a JSON object", &root, err, errlen))
        return -1;
    memset(out, 0, sizeof *out);
    const char *id = json_string_value(json_object_get(root, "sensor_id"));
    const char *metric = json_string_value(json_object_get(root, "metric"));
    const char *kind = json_string_value(json_object_get(root, "kind"));
    const char *verdict = json_string_value(json_object_get(root, "verdict"));
    json_t *value = json_object_get(root, "value"), *score = json_object_get(root, "score");
    json_t *at = json_object_get(root, "at"), *by = json_object_get(root, "by");
    if (!id || !sensor_id_valid(id))
        errbuf_set(err, errlen, "sensor_id missing or invalid");
    else if (!metric || !metric[0] || strlen(metric) >= READING_NAME_MAX)
        errbuf_set(err, errlen, "metric missing or invalid");
    else if (!alarm_kind_valid(kind))
        errbuf_set(err, errlen, "kind missing or invalid");
    else if (!verdict || strcmp(verdict, VERDICT) != 0)
        errbuf_set(err, errlen, "verdict must be \"" VERDICT "\"");
    else if (!json_is_number(value) || !isfinite(json_number_value(value)) ||
             !json_is_number(score) || !isfinite(json_number_value(score)))
        errbuf_set(err, errlen, "value and score must be finite numbers");
    else if (!json_is_integer(at) || json_integer_value(at) < 0)
        errbuf_set(err, errlen, "at must be Unix ms");
    else if (by && !json_is_null(by) && !alarm_who_valid(json_string_value(by)))
        errbuf_set(err, errlen, "by must be null or a name");
    else {
        snprintf(out->sensor_id, sizeof out->sensor_id, "%s", id);
        snprintf(out->metric, sizeof out->metric, "%s", metric);
        snprintf(out->kind, sizeof out->kind, "%s", kind);
        out->value = json_number_value(value);
        out->score = json_number_value(score);
        out->at = (int64_t)json_integer_value(at);
        if (json_is_string(by))
            snprintf(out->by, sizeof out->by, "%s", json_string_value(by));
        rc = 0;
    }
    json_decref(root);
    return rc;
}
