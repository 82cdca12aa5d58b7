/*
 * status — see status.h. A report is small (tens of metrics) and sent every
 * few seconds, so it is built from scratch with jansson each time; nothing
 * here is on a hot path. QoS 0 and retained: a lost report is replaced by
 * the next one, and the broker keeps only the latest per topic.
 */
#include "bus/status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/errbuf.h"
#include "base/jsonbuf.h"
#include "bus/topics.h"

struct status_pub {
    mqtt_client *m;
    char topic[8 + 2 * STATUS_NAME_MAX];
    char service[STATUS_NAME_MAX], instance[STATUS_NAME_MAX];
    double interval_s, started, last; /* CLOCK_MONOTONIC s; last = 0: never */
    status_fill_fn fill;
    void *user;
};

int status_name_valid(const char *s)
{
    if (!s || !*s || strlen(s) >= STATUS_NAME_MAX)
        return 0;
    if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

int status_availability(mqtt_options *mo, char *buf, size_t cap, const char *service,
                        const char *instance)
{
    if (!mo || !status_level_valid(service) || !status_level_valid(instance) ||
        topics_availability(buf, cap, service, instance) < 0)
        return -1;
    mo->will_topic = buf;
    mo->will_payload = TOPICS_OFFLINE;
    mo->birth_payload = TOPICS_ONLINE;
    return 0;
}

int status_level_valid(const char *s)
{
    if (!s || !*s || strlen(s) >= STATUS_NAME_MAX)
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

/* Label values end up between quotes in the Prometheus text format; keep
 * them to printable ASCII without quote or backslash so no escaping can
 * go wrong anywhere. */
static int label_value_valid(const char *s)
{
    if (!s || strlen(s) >= STATUS_LABEL_VALUE_MAX)
        return 0;
    for (const char *p = s; *p; p++)
        if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
            return 0;
    return 1;
}

int status_pub_create(status_pub **out, mqtt_client *m, const char *service, const char *instance,
                      double interval_s, status_fill_fn fill, void *user)
{
    if (!m || !fill || !status_level_valid(service) || !status_level_valid(instance) ||
        !(interval_s >= 0.1))
        return -1;
    status_pub *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->m = m;
    snprintf(s->service, sizeof s->service, "%s", service);
    snprintf(s->instance, sizeof s->instance, "%s", instance);
    if (topics_status(s->topic, sizeof s->topic, service, instance) < 0) {
        free(s);
        return -1;
    }
    s->interval_s = interval_s;
    s->started = clock_mono();
    s->fill = fill;
    s->user = user;
    *out = s;
    return 0;
}

void status_pub_destroy(status_pub *s)
{
    free(s);
}

static int publish(status_pub *s, int final)
{
    int rc = -1;
    char *text = NULL;
    json_t *metrics = json_array();
    json_t *doc = NULL;
    if (!metrics || s->fill(s->user, metrics) != 0)
        goto out;
    doc = json_pack("{s:s, s:s, s:f, s:f, s:f, s:b, s:O}", "service", s->service, "instance",
                    s->instance, "ts", clock_wall(), "interval_s", s->interval_s, "uptime_s",
                    clock_mono() - s->started, "final", final, "metrics", metrics);
    if (!doc)
        goto out;
    text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    if (!text || strlen(text) > STATUS_MAX_PAYLOAD)
        goto out;
    if (mqtt_client_publish(s->m, s->topic, text, strlen(text), 0, 1) != 0)
        goto out;
    rc = 0;
out:
    free(text);
    json_decref(doc);
    json_decref(metrics);
    return rc;
}

int status_pub_tick(status_pub *s)
{
    double now = clock_mono();
    if (s->last > 0 && now - s->last < s->interval_s)
        return 0;
    s->last = now; /* a failure waits for the next interval too: no retry storm */
    return publish(s, 0) == 0 ? 1 : -1;
}

int status_pub_final(status_pub *s, int timeout_ms)
{
    if (publish(s, 1) != 0)
        return -1;
    return mqtt_client_flush(s->m, timeout_ms) == 0 ? 0 : -1;
}

int status_add(json_t *metrics, const char *name, int gauge, const char *label,
               const char *label_value, double value)
{
    if (!json_is_array(metrics) || json_array_size(metrics) >= STATUS_MAX_METRICS ||
        !status_name_valid(name) || !isfinite(value) || (!label) != (!label_value))
        return -1;
    if (label && (!status_name_valid(label) || !label_value_valid(label_value)))
        return -1;
    json_t *o = json_pack("{s:s, s:s, s:f}", "name", name, "type", gauge ? "gauge" : "counter",
                          "value", value);
    if (!o)
        return -1;
    if (label && json_object_set_new(o, "labels", json_pack("{s:s}", label, label_value)) != 0) {
        json_decref(o);
        return -1;
    }
    return json_array_append_new(metrics, o) == 0 ? 0 : -1;
}

/* ---- reading ------------------------------------------------------------ */

/* Validate one metric object; returns a clean copy (only the known
 * members) or NULL with a reason. */
static json_t *metric_clean(const json_t *m, char *err, size_t errlen)
{
    const char *name = NULL, *type = NULL;
    json_t *labels = NULL, *value = NULL;
    if (json_unpack((json_t *)m, "{s:s, s:s, s:o, s?o}", "name", &name, "type", &type, "value",
                    &value, "labels", &labels) != 0) {
        errbuf_set(err, errlen, "%s", "a metric lacks name, type or value");
        return NULL;
    }
    if (!status_name_valid(name)) {
        errbuf_set(err, errlen, "%s", "invalid metric name");
        return NULL;
    }
    int gauge = strcmp(type, "gauge") == 0;
    if (!gauge && strcmp(type, "counter") != 0) {
        errbuf_set(err, errlen, "%s", "metric type is neither counter nor gauge");
        return NULL;
    }
    if (!json_is_number(value) || !isfinite(json_number_value(value)) ||
        (!gauge && json_number_value(value) < 0)) {
        errbuf_set(err, errlen, "%s",
                   "metric value is not a finite number (or a negative counter)");
        return NULL;
    }
    const char *lk = NULL, *lv = NULL;
    if (labels && !json_is_null(labels)) {
        if (!json_is_object(labels) || json_object_size(labels) > 1) {
            errbuf_set(err, errlen, "%s", "labels must be an object with at most one member");
            return NULL;
        }
        json_t *v;
        const char *k;
        json_object_foreach(labels, k, v)
        {
            lk = k;
            lv = json_string_value(v);
        }
        if (lk &&
            (!status_name_valid(lk) || strcmp(lk, "instance") == 0 || !label_value_valid(lv))) {
            errbuf_set(err, errlen, "%s", "invalid label name or value");
            return NULL;
        }
    }
    json_t *o = json_pack("{s:s, s:s, s:f}", "name", name, "type", gauge ? "gauge" : "counter",
                          "value", json_number_value(value));
    if (o && lk && json_object_set_new(o, "labels", json_pack("{s:s}", lk, lv)) != 0) {
        json_decref(o);
        o = NULL;
    }
    if (!o)
        errbuf_set(err, errlen, "%s", "out of memory");
    return o;
}

int status_parse(const char *topic, const void *payload, size_t len, status_report *out, char *err,
                 size_t errlen)
{
    json_t *doc = NULL, *metrics = NULL, *clean = NULL;
    const char *service = NULL, *instance = NULL;
    double ts = 0, interval = 0;
    int final = 0;
    char want[8 + 2 * STATUS_NAME_MAX];

    memset(out, 0, sizeof *out);
    if (jsonbuf_load(payload, len, STATUS_MAX_PAYLOAD, &doc, err, errlen) != 0)
        return -1;
    if (json_unpack(doc, "{s:s, s:s, s:F, s:F, s?b, s:o}", "service", &service, "instance",
                    &instance, "ts", &ts, "interval_s", &interval, "final", &final, "metrics",
                    &metrics) != 0) {
        errbuf_set(err, errlen, "%s",
                   "missing or mistyped service, instance, ts, interval_s or metrics");
        goto fail;
    }
    if (!status_level_valid(service) || !status_level_valid(instance)) {
        errbuf_set(err, errlen, "%s", "invalid service or instance name");
        goto fail;
    }
    if (topics_status(want, sizeof want, service, instance) < 0 || !topic ||
        strcmp(topic, want) != 0) {
        errbuf_set(err, errlen, "%s", "topic does not match service and instance");
        goto fail;
    }
    if (!isfinite(ts) || ts <= 0 || !isfinite(interval) || interval <= 0) {
        errbuf_set(err, errlen, "%s", "ts and interval_s must be positive");
        goto fail;
    }
    if (!json_is_array(metrics) || json_array_size(metrics) > STATUS_MAX_METRICS) {
        errbuf_set(err, errlen, "%s", "metrics must be an array of at most 256");
        goto fail;
    }
    clean = json_array();
    if (!clean) {
        errbuf_set(err, errlen, "%s", "out of memory");
        goto fail;
    }
    size_t i;
    json_t *m;
    json_array_foreach(metrics, i, m)
    {
        json_t *c = metric_clean(m, err, errlen);
        if (!c || json_array_append_new(clean, c) != 0)
            goto fail;
    }
    snprintf(out->service, sizeof out->service, "%s", service);
    snprintf(out->instance, sizeof out->instance, "%s", instance);
    out->ts = ts;
    out->interval_s = interval;
    out->final = final;
    out->metrics = clean;
    json_decref(doc);
    return 0;
fail:
    json_decref(clean);
    json_decref(doc);
    return -1;
}

void status_report_free(status_report *r)
{
    if (!r)
        return;
    json_decref(r->metrics);
    r->metrics = NULL;
}
