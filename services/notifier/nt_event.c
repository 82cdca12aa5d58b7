/*
 * nt_event — a lifecycle event (alarms/events/{sensor_id}) as the notifier
 * routes it. main.c first validates the payload with the bus codec
 * (alarm_event_from_json, bus/alarm.h); this module takes out the fields
 * routing needs and keeps the document itself, so the
 * bodies it sends carry the alarm object exactly as the gateway wrote it
 * (the REST API's object), members it does not know included.
 */
#include <stdio.h>
#include <string.h>

#include "nt.h"

static const char *const sev_names[] = {"critical", "major", "minor", "warning"};
static const char *const ev_names[] = {"opened",         "updated", "acknowledged", "muted",
                                       "false_positive", "cleared", "reminder",     "test"};

const char *nt_severity_name(int sev)
{
    return (sev >= 0 && sev < 4) ? sev_names[sev] : NULL;
}

int nt_severity_parse(const char *s)
{
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, sev_names[i]) == 0)
            return i;
    return -1;
}

unsigned nt_event_type_parse(const char *s)
{
    for (unsigned i = 0; s && i < sizeof ev_names / sizeof ev_names[0]; i++)
        if (strcmp(s, ev_names[i]) == 0)
            return 1u << i;
    return 0;
}

const char *nt_event_type_name(unsigned bit)
{
    for (unsigned i = 0; i < sizeof ev_names / sizeof ev_names[0]; i++)
        if (bit == 1u << i)
            return ev_names[i];
    return NULL;
}

static int copy_str(const json_t *o, const char *name, char *dst, size_t cap, int required)
{
    const json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v)) {
        dst[0] = '\0';
        return required ? -1 : 0;
    }
    const char *s = json_string_value(v);
    if (!s || strlen(s) >= cap || (required && !*s))
        return -1;
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

/* An integer member (Unix ms), null as 0. */
static int get_ms(const json_t *o, const char *name, int64_t *out, int required)
{
    const json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v)) {
        *out = 0;
        return required ? -1 : 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = json_integer_value(v);
    return 0;
}

int nt_event_from_doc(json_t *doc, nt_event *out, char *err, size_t errlen)
{
    const char *why = NULL;
    memset(out, 0, sizeof *out);
    if (!json_is_object(doc)) {
        why = "not a JSON object";
        goto out;
    }
    const char *name = json_string_value(json_object_get(doc, "event"));
    out->type = nt_event_type_parse(name);
    if (!out->type) {
        why = "event must be opened, updated, acknowledged, muted, false_positive, cleared, "
              "reminder or test";
        goto out;
    }
    out->name = nt_event_type_name(out->type);
    if (get_ms(doc, "at", &out->at, 1)) {
        why = "at must be an integer (Unix ms)";
        goto out;
    }
    const json_t *a = json_object_get(doc, "alarm");
    if (!json_is_object(a)) {
        why = "alarm must be an object";
        goto out;
    }
    if (copy_str(a, "id", out->id, sizeof out->id, 1) ||
        copy_str(a, "sensor_id", out->sensor_id, sizeof out->sensor_id, 1) ||
        copy_str(a, "metric", out->metric, sizeof out->metric, 0) ||
        copy_str(a, "kind", out->kind, sizeof out->kind, 1)) {
        why = "alarm.id, alarm.sensor_id and alarm.kind must be non-empty strings "
              "(metric a string)";
        goto out;
    }
    out->severity = nt_severity_parse(json_string_value(json_object_get(a, "severity")));
    if (out->severity < 0) {
        why = "alarm.severity must be critical, major, minor or warning";
        goto out;
    }
    const char *st = json_string_value(json_object_get(a, "state"));
    if (!st || (strcmp(st, "active") && strcmp(st, "cleared"))) {
        why = "alarm.state must be active or cleared";
        goto out;
    }
    out->active = strcmp(st, "active") == 0;
    const json_t *ack = json_object_get(a, "acked");
    if (!json_is_boolean(ack)) {
        why = "alarm.acked must be a boolean";
        goto out;
    }
    out->acked = json_is_true(ack);
    if (get_ms(a, "muted_until", &out->muted_until, 0) ||
        get_ms(a, "opened_at", &out->opened_at, 1)) {
        why = "alarm.muted_until and alarm.opened_at must be integers (Unix ms)";
        goto out;
    }
    json_incref(doc);
    out->doc = doc;
out:
    if (why) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    return 0;
}

int nt_event_parse(const void *payload, size_t len, nt_event *out, char *err, size_t errlen)
{
    json_error_t je;
    memset(out, 0, sizeof *out);
    if (!payload || len > 65536) {
        snprintf(err, errlen, "payload missing or over 64 KiB");
        return -1;
    }
    json_t *doc = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        snprintf(err, errlen, "not JSON: %s", je.text);
        return -1;
    }
    int rc = nt_event_from_doc(doc, out, err, errlen);
    json_decref(doc); /* out->doc holds its own reference on success */
    return rc;
}

void nt_event_free(nt_event *ev)
{
    if (ev && ev->doc) {
        json_decref(ev->doc);
        ev->doc = NULL;
    }
}

int nt_event_key(const nt_event *ev, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s:%s:%lld", ev->id, ev->name, (long long)ev->at);
    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}
