/*
 * alarm — see alarm.h. Both halves of the three alarm messages: the
 * gateway encodes, subscribers (the notifier, tests, people's tools)
 * decode. The object is built once (alarm_to_jobj) and embedded by the
 * event and the per-sensor message, so the three cannot disagree.
 */
#include "bus/alarm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/bytes.h"
#include "base/errbuf.h"
#include "base/hex.h"
#include "base/jsonbuf.h"
#include "eth/keccak.h"

static const char *const severity_names[] = {"critical", "major", "minor", "warning"};
static const char *const status_names[] = {"active", "cleared"};
static const char *const event_names[] = {"opened",         "updated", "acknowledged", "muted",
                                          "false_positive", "cleared", "reminder"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? names[v] : NULL;
}

static int parse_name(const char *const *names, size_t n, const char *name, int *out)
{
    for (size_t i = 0; name && i < n; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    return -1;
}

const char *alarm_severity_name(alarm_severity s)
{
    return name_of(severity_names, NELEM(severity_names), (int)s);
}

const char *alarm_status_name(alarm_status s)
{
    return name_of(status_names, NELEM(status_names), (int)s);
}

const char *alarm_event_name(alarm_event_type e)
{
    return name_of(event_names, NELEM(event_names), (int)e);
}

int alarm_severity_parse(const char *name, alarm_severity *out)
{
    int v;
    if (!out || parse_name(severity_names, NELEM(severity_names), name, &v))
        return -1;
    *out = (alarm_severity)v;
    return 0;
}

int alarm_status_parse(const char *name, alarm_status *out)
{
    int v;
    if (!out || parse_name(status_names, NELEM(status_names), name, &v))
        return -1;
    *out = (alarm_status)v;
    return 0;
}

int alarm_event_parse(const char *name, alarm_event_type *out)
{
    int v;
    if (!out || parse_name(event_names, NELEM(event_names), name, &v))
        return -1;
    *out = (alarm_event_type)v;
    return 0;
}

int alarm_id_valid(const char *id)
{
    /* the sensor id rule: safe in a URL path and an MQTT topic */
    return id && strlen(id) < ALARM_ID_MAX && sensor_id_valid(id);
}

int alarm_kind_valid(const char *kind)
{
    size_t n = kind ? strlen(kind) : 0;
    if (n == 0 || n >= ALARM_KIND_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((kind[i] >= 'a' && kind[i] <= 'z') || (kind[i] >= '0' && kind[i] <= '9') ||
              kind[i] == '_'))
            return 0;
    return 1;
}

int alarm_who_valid(const char *who)
{
    size_t n = who ? strlen(who) : 0;
    if (n == 0 || n >= ALARM_WHO_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)who[i] < 0x20 || who[i] == 0x7f)
            return 0;
    return 1;
}

void alarm_make_id(alarm_obj *a)
{
    keccak_ctx k;
    uint8_t d[32], be[8], zero = 0;
    bytes_put_be64(be, (uint64_t)a->opened_at);
    keccak_init(&k);
    keccak_update(&k, a->sensor_id, strnlen(a->sensor_id, sizeof a->sensor_id));
    keccak_update(&k, &zero, 1);
    keccak_update(&k, a->metric, strnlen(a->metric, sizeof a->metric));
    keccak_update(&k, &zero, 1);
    keccak_update(&k, a->kind, strnlen(a->kind, sizeof a->kind));
    keccak_update(&k, &zero, 1);
    keccak_update(&k, be, 8);
    keccak_final(&k, d);
    hex_encode(a->id, d, 8, 0);
}

/* "" -> null, else the string. */
static json_t *str_or_null(const char *s)
{
    return s[0] ? json_string(s) : json_null();
}

/* 0 -> null, else the integer. */
static json_t *ms_or_null(int64_t ms)
{
    return ms ? json_integer((json_int_t)ms) : json_null();
}

json_t *alarm_to_jobj(const alarm_obj *a)
{
    if (!a)
        return NULL;
    const char *sev = alarm_severity_name(a->severity), *st = alarm_status_name(a->state);
    if (!sev || !st || !isfinite(a->peak_value) || !isfinite(a->peak_score))
        return NULL;
    /* "o" steals the reference; json_pack fails cleanly on a NULL one */
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:I, s:o, s:I, s:f, s:f, "
                     "s:o, s:s, s:I, s:b}",
                     "id", a->id, "sensor_id", a->sensor_id, "metric", a->metric, "kind", a->kind,
                     "severity", sev, "state", st, "acked", a->acked ? 1 : 0, "acked_by",
                     str_or_null(a->acked_by), "muted_until", ms_or_null(a->muted_until),
                     "opened_at", (json_int_t)a->opened_at, "cleared_at", ms_or_null(a->cleared_at),
                     "count", (json_int_t)a->count, "peak_value", a->peak_value, "peak_score",
                     a->peak_score, "last_anomaly_id", str_or_null(a->last_anomaly_id),
                     "explanation", a->explanation, "last_at",
                     (json_int_t)(a->last_at ? a->last_at : a->opened_at), "false_positive",
                     a->false_positive ? 1 : 0);
}

/* Copy at most cap-1 bytes of src, never splitting a UTF-8 character. */
static void copy_utf8_prefix(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Optional Unix ms: null or absent -> 0; else a non-negative integer. */
static int get_ms(const json_t *v, int null_ok, int64_t *out)
{
    if (!v || json_is_null(v)) {
        *out = 0;
        return null_ok ? 0 : -1;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (int64_t)json_integer_value(v);
    return 0;
}

/* Optional string into dst: null -> "", else 1..cap-1 bytes accepted by
 * valid (when given). */
static int get_opt_str(const json_t *v, char *dst, size_t cap, int (*valid)(const char *))
{
    if (!v || json_is_null(v)) {
        dst[0] = '\0';
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s || !s[0] || strlen(s) >= cap || (valid && !valid(s)))
        return -1;
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

static int finite_number(const json_t *v, double *out)
{
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return -1;
    *out = json_number_value(v);
    return 0;
}

static int anomaly_id_valid(const char *s)
{
    uint8_t b[32];
    return strlen(s) == 64 && hex_decode(b, sizeof b, s) == 32;
}

int alarm_from_jobj(const json_t *o, alarm_obj *out, char *err, size_t errlen)
{
#define FIELD(name) json_object_get(o, name)
#define BAD(...)                                                                                   \
    do {                                                                                           \
        errbuf_set(err, errlen, __VA_ARGS__);                                                      \
        return -1;                                                                                 \
    } while (0)
    if (!out || !json_is_object(o))
        BAD("alarm is not a JSON object");
    memset(out, 0, sizeof *out);
    const char *id = json_string_value(FIELD("id"));
    const char *sensor = json_string_value(FIELD("sensor_id"));
    const char *metric = json_string_value(FIELD("metric"));
    const char *kind = json_string_value(FIELD("kind"));
    const char *expl = json_string_value(FIELD("explanation"));
    json_t *fp = FIELD("false_positive");
    if (!alarm_id_valid(id))
        BAD("id missing or invalid");
    if (!sensor || !sensor_id_valid(sensor))
        BAD("sensor_id missing or invalid");
    if (!metric || !metric[0] || strlen(metric) >= READING_NAME_MAX)
        BAD("metric missing or longer than %d bytes", READING_NAME_MAX - 1);
    if (!alarm_kind_valid(kind))
        BAD("kind missing or invalid");
    if (alarm_severity_parse(json_string_value(FIELD("severity")), &out->severity))
        BAD("severity must be critical, major, minor or warning");
    if (alarm_status_parse(json_string_value(FIELD("state")), &out->state))
        BAD("state must be active or cleared");
    if (!json_is_boolean(FIELD("acked")))
        BAD("acked must be true or false");
    if (get_opt_str(FIELD("acked_by"), out->acked_by, sizeof out->acked_by, alarm_who_valid) ||
        !FIELD("acked_by"))
        BAD("acked_by must be null or a name of 1..%d printable bytes", ALARM_WHO_MAX - 1);
    if (!FIELD("muted_until") || get_ms(FIELD("muted_until"), 1, &out->muted_until))
        BAD("muted_until must be null or Unix ms");
    if (get_ms(FIELD("opened_at"), 0, &out->opened_at))
        BAD("opened_at must be Unix ms");
    if (!FIELD("cleared_at") || get_ms(FIELD("cleared_at"), 1, &out->cleared_at))
        BAD("cleared_at must be null or Unix ms");
    if (!json_is_integer(FIELD("count")) || json_integer_value(FIELD("count")) < 1)
        BAD("count must be an integer >= 1");
    if (finite_number(FIELD("peak_value"), &out->peak_value) ||
        fabs(out->peak_value) > READING_MAX_ABS)
        BAD("peak_value must be a finite number");
    if (finite_number(FIELD("peak_score"), &out->peak_score))
        BAD("peak_score must be a finite number");
    if (!FIELD("last_anomaly_id") || get_opt_str(FIELD("last_anomaly_id"), out->last_anomaly_id,
                                                 sizeof out->last_anomaly_id, anomaly_id_valid))
        BAD("last_anomaly_id must be null or 64 hex digits");
    if (!expl)
        BAD("explanation must be a string");
    if (FIELD("last_at") && get_ms(FIELD("last_at"), 0, &out->last_at))
        BAD("last_at must be Unix ms");
    if (fp && !json_is_boolean(fp))
        BAD("false_positive must be true or false");
    snprintf(out->id, sizeof out->id, "%s", id);
    snprintf(out->sensor_id, sizeof out->sensor_id, "%s", sensor);
    snprintf(out->metric, sizeof out->metric, "%s", metric);
    snprintf(out->kind, sizeof out->kind, "%s", kind);
    copy_utf8_prefix(out->explanation, sizeof out->explanation, expl);
    out->acked = json_is_true(FIELD("acked"));
    out->count = (int64_t)json_integer_value(FIELD("count"));
    if (!out->last_at)
        out->last_at = out->opened_at;
    out->false_positive = json_is_true(fp);
    return 0;
#undef BAD
#undef FIELD
}

int alarm_to_json(const alarm_obj *a, char *buf, size_t cap)
{
    json_t *o = alarm_to_jobj(a);
    int n = o && buf ? jsonbuf_dump(o, buf, cap) : -1;
    json_decref(o);
    return n;
}

int alarm_from_json(const void *payload, size_t len, alarm_obj *out, char *err, size_t errlen)
{
    json_t *root = NULL;
    if (!payload || !out) {
        errbuf_set(err, errlen, "no input or output");
        return -1;
    }
    if (jsonbuf_parse(payload, len, JSON_OBJECT, "not a JSON object", &root, err, errlen))
        return -1;
    int rc = alarm_from_jobj(root, out, err, errlen);
    json_decref(root);
    return rc;
}

int alarm_event_to_json(const alarm_event *ev, char *buf, size_t cap)
{
    int n = -1;
    if (!ev || !buf || ev->at < 0)
        return -1;
    const char *name = alarm_event_name(ev->event);
    json_t *a = alarm_to_jobj(&ev->alarm);
    json_t *o = name && a ? json_pack("{s:s, s:I, s:o, s:O}", "event", name, "at",
                                      (json_int_t)ev->at, "by", str_or_null(ev->by), "alarm", a)
                          : NULL;
    if (o && ev->note[0] && json_object_set_new(o, "note", json_string(ev->note)))
        goto out;
    if (o)
        n = jsonbuf_dump(o, buf, cap);
out:
    json_decref(a);
    json_decref(o);
    return n;
}

int alarm_event_from_json(const void *payload, size_t len, alarm_event *out, char *err,
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
    json_t *by = json_object_get(root, "by"), *note = json_object_get(root, "note");
    if (alarm_event_parse(json_string_value(json_object_get(root, "event")), &out->event))
        errbuf_set(err, errlen, "event missing or unknown");
    else if (get_ms(json_object_get(root, "at"), 0, &out->at))
        errbuf_set(err, errlen, "at must be Unix ms");
    else if (!by || get_opt_str(by, out->by, sizeof out->by, alarm_who_valid))
        errbuf_set(err, errlen, "by must be null or a name of 1..%d printable bytes",
                   ALARM_WHO_MAX - 1);
    else if (note && !json_is_null(note) && !json_is_string(note))
        errbuf_set(err, errlen, "note must be a string");
    else if (alarm_from_jobj(json_object_get(root, "alarm"), &out->alarm, err, errlen) == 0) {
        if (json_is_string(note))
            copy_utf8_prefix(out->note, sizeof out->note, json_string_value(note));
        rc = 0;
    }
    json_decref(root);
    return rc;
}

int alarm_sensor_to_json(const char *sensor_id, int64_t at, const alarm_obj *list, size_t n,
                         char *buf, size_t cap)
{
    int rc = -1;
    if (!sensor_id || !buf || (n && !list) || at < 0)
        return -1;
    json_t *arr = json_array();
    json_t *o = NULL;
    if (!arr)
        return -1;
    for (size_t i = 0; i < n && i < ALARM_SENSOR_MAX_LIST; i++)
        if (json_array_append_new(arr, alarm_to_jobj(&list[i])))
            goto out;
    o = json_pack("{s:s, s:I, s:I, s:O}", "sensor_id", sensor_id, "at", (json_int_t)at,
                  "active_total", (json_int_t)n, "active", arr);
    if (o)
        rc = jsonbuf_dump(o, buf, cap);
out:
    json_decref(arr);
    json_decref(o);
    return rc;
}

int alarm_sensor_from_json(const void *payload, size_t len, char *sensor_id, int64_t *at,
                           alarm_obj *list, size_t cap, size_t *n, size_t *total, char *err,
                           size_t errlen)
{
    json_t *root = NULL;
    int rc = -1;
    if (!payload || !sensor_id || !at || (cap && !list) || !n || !total) {
        errbuf_set(err, errlen, "no input or output");
        return -1;
    }
    if (jsonbuf_parse(payload, len, JSON_OBJECT, "not a JSON object", &root, err, errlen))
        return -1;
    const char *id = json_string_value(json_object_get(root, "sensor_id"));
    json_t *arr = json_object_get(root, "active"), *tot = json_object_get(root, "active_total");
    *n = 0;
    if (!id || !sensor_id_valid(id)) {
        errbuf_set(err, errlen, "sensor_id missing or invalid");
        goto out;
    }
    if (get_ms(json_object_get(root, "at"), 0, at)) {
        errbuf_set(err, errlen, "at must be Unix ms");
        goto out;
    }
    if (!json_is_array(arr) || !json_is_integer(tot) ||
        json_integer_value(tot) < (json_int_t)json_array_size(arr)) {
        errbuf_set(err, errlen, "active must be an array and active_total an integer >= its size");
        goto out;
    }
    snprintf(sensor_id, SENSOR_ID_MAX, "%s", id);
    *total = (size_t)json_integer_value(tot);
    for (size_t i = 0; i < json_array_size(arr) && *n < cap; i++) {
        if (alarm_from_jobj(json_array_get(arr, i), &list[*n], err, errlen))
            goto out;
        if (strcmp(list[*n].sensor_id, sensor_id) != 0) {
            errbuf_set(err, errlen, "alarm %zu belongs to another sensor", i);
            goto out;
        }
        (*n)++;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}
