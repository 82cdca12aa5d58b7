/*
 * notify — see notify.h. The notifier encodes channel reports and decodes
 * test requests; the gateway the other way round. A report is decoded
 * into rows and built again, so a reader only ever passes on what a writer
 * could have produced.
 */
#include "bus/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errbuf.h"
#include "base/jsonbuf.h"
#include "bus/status.h"

int notify_channel_name_valid(const char *s)
{
    size_t n = 0;
    if (!s)
        return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return n > 0 && n < NOTIFY_NAME_MAX;
}

int notify_test_to_json(const char *channel, char *buf, size_t cap)
{
    int all = !channel || !*channel;
    if (!buf || (!all && !notify_channel_name_valid(channel)))
        return -1;
    json_t *o = all ? json_object() : json_pack("{s:s}", "channel", channel);
    int n = o ? jsonbuf_dump(o, buf, cap) : -1;
    json_decref(o);
    return n;
}

int notify_test_from_json(const void *payload, size_t len, char *channel, size_t cap, char *err,
                          size_t errlen)
{
    json_t *root = NULL, *v;
    const char *k;
    int rc = -1;
    if (!channel || cap < NOTIFY_NAME_MAX) {
        errbuf_set(err, errlen, "no output");
        return -1;
    }
    channel[0] = '\0';
    if (!payload || len == 0)
        return 0;
    if (jsonbuf_parse(payload, len, JSON_OBJECT, "not a JSON object", &root, err, errlen))
        return -1;
    json_object_foreach(root, k, v)
    {
        if (strcmp(k, "channel") != 0) {
            errbuf_set(err, errlen, "unknown member %.40s (only \"channel\")", k);
            goto out;
        }
    }
    v = json_object_get(root, "channel");
    if (v && !json_is_null(v)) {
        if (!notify_channel_name_valid(json_string_value(v))) {
            errbuf_set(err, errlen, "channel must be a name of 1..63 of A-Z a-z 0-9 _ . -");
            goto out;
        }
        snprintf(channel, cap, "%s", json_string_value(v));
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static json_t *opt_ms(int64_t ms)
{
    return ms > 0 ? json_integer((json_int_t)ms) : json_null();
}

static json_t *row_doc(const notify_channel_stat *r)
{
    return json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "name", r->name, "type", r->type,
        "sent_total", (json_int_t)r->sent, "events_sent_total", (json_int_t)r->events_sent,
        "failed_total", (json_int_t)r->failed, "retried_total", (json_int_t)r->retried,
        "rejected_total", (json_int_t)r->rejected, "queued", (json_int_t)r->queued, "last_sent_at",
        opt_ms(r->last_sent_at), "last_failure_at", opt_ms(r->last_failure_at), "last_failure",
        r->last_failure[0] ? json_string(r->last_failure) : json_null());
}

json_t *notify_channels_to_doc(const char *instance, int64_t ts, const notify_channel_stat *v,
                               size_t n)
{
    if (!status_level_valid(instance) || (n && !v) || n > NOTIFY_CHANNELS_MAX || ts < 0)
        return NULL;
    json_t *rows = json_array();
    for (size_t i = 0; rows && i < n; i++) {
        if (!notify_channel_name_valid(v[i].name) || json_array_append_new(rows, row_doc(&v[i]))) {
            json_decref(rows);
            return NULL;
        }
    }
    if (!rows)
        return NULL;
    return json_pack("{s:s, s:I, s:o}", "instance", instance, "ts", (json_int_t)ts, "channels",
                     rows);
}

/* A counter member: an integer >= 0. */
static int get_count(const json_t *o, const char *name, uint64_t *out)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* A time member: null, or Unix ms >= 0. */
static int get_ms(const json_t *o, const char *name, int64_t *out)
{
    json_t *v = json_object_get(o, name);
    *out = 0;
    if (json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

static int parse_row(const json_t *o, notify_channel_stat *r, char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *type = json_string_value(json_object_get(o, "type"));
    json_t *why = json_object_get(o, "last_failure");
    memset(r, 0, sizeof *r);
    if (!json_is_object(o) || !notify_channel_name_valid(name)) {
        errbuf_set(err, errlen, "a channel without a valid name");
        return -1;
    }
    if (!type || !*type || strlen(type) >= NOTIFY_TYPE_MAX) {
        errbuf_set(err, errlen, "channel %s: type missing or too long", name);
        return -1;
    }
    if (get_count(o, "sent_total", &r->sent) ||
        get_count(o, "events_sent_total", &r->events_sent) ||
        get_count(o, "failed_total", &r->failed) || get_count(o, "retried_total", &r->retried) ||
        get_count(o, "rejected_total", &r->rejected) || get_count(o, "queued", &r->queued)) {
        errbuf_set(err, errlen, "channel %s: a counter missing or not an integer >= 0", name);
        return -1;
    }
    if (get_ms(o, "last_sent_at", &r->last_sent_at) ||
        get_ms(o, "last_failure_at", &r->last_failure_at)) {
        errbuf_set(err, errlen, "channel %s: last_sent_at/last_failure_at must be null or Unix ms",
                   name);
        return -1;
    }
    if (why && !json_is_null(why) &&
        (!json_is_string(why) || json_string_length(why) >= NOTIFY_REASON_MAX ||
         !printable(json_string_value(why)))) {
        errbuf_set(err, errlen, "channel %s: last_failure must be null or short text", name);
        return -1;
    }
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->type, sizeof r->type, "%s", type);
    if (json_is_string(why))
        snprintf(r->last_failure, sizeof r->last_failure, "%s", json_string_value(why));
    return 0;
}

int notify_channels_parse(const void *payload, size_t len, json_t **out, char *err, size_t errlen)
{
    static notify_channel_stat none;
    json_t *root = NULL, *rows, *row;
    notify_channel_stat *v = NULL;
    size_t i;
    int rc = -1;
    if (!out) {
        errbuf_set(err, errlen, "no output");
        return -1;
    }
    *out = NULL;
    if (jsonbuf_parse(payload, len, JSON_OBJECT, "not a JSON object", &root, err, errlen))
        return -1;
    const char *instance = json_string_value(json_object_get(root, "instance"));
    json_t *ts = json_object_get(root, "ts");
    rows = json_object_get(root, "channels");
    if (!status_level_valid(instance)) {
        errbuf_set(err, errlen, "instance missing or invalid");
        goto out;
    }
    if (!json_is_integer(ts) || json_integer_value(ts) < 0) {
        errbuf_set(err, errlen, "ts must be Unix ms");
        goto out;
    }
    if (!json_is_array(rows) || json_array_size(rows) > NOTIFY_CHANNELS_MAX) {
        errbuf_set(err, errlen, "channels must be an array of at most %d", NOTIFY_CHANNELS_MAX);
        goto out;
    }
    v = json_array_size(rows) ? calloc(json_array_size(rows), sizeof *v) : &none;
    if (!v) {
        errbuf_set(err, errlen, "out of memory");
        goto out;
    }
    json_array_foreach(rows, i, row)
    {
        if (parse_row(row, &v[i], err, errlen))
            goto out;
    }
    *out =
        notify_channels_to_doc(instance, (int64_t)json_integer_value(ts), v, json_array_size(rows));
    if (!*out)
        errbuf_set(err, errlen, "out of memory");
    else
        rc = 0;
out:
    if (v != &none)
        free(v);
    json_decref(root);
    return rc;
}
