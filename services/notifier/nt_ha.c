/*
 * nt_ha — see nt_ha.h. The summary on notify/ha/{sensor_id} joins the two
 * things Home Assistant cannot join itself: the sensor's current alarm
 * (from the gateway's alarms/{sensor_id}) and its last anomaly (from the
 * detector's anomalies/{sensor_id}, which carries the value, the expected
 * range and the anomaly id the proof link needs).
 */
#include "nt_ha.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "bus/alarm.h"
#include "bus/anomaly.h"
#include "bus/status.h"
#include "bus/topics.h"

typedef struct {
    char id[SENSOR_ID_MAX];
    json_t *alarm; /* the most severe active alarm object, or NULL */
    size_t active_total;
    int have_anomaly;
    anomaly last;
} sensor;

struct nt_ha {
    pthread_mutex_t mu;
    nt_ha_opts o;
    char *prefix, *node, *instance, *public_url;
    mqtt_client *m;
    sensor *s;
    size_t n, cap;
};

static int id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

int nt_ha_object_id(const char *sensor_id, const char *suffix, char *out, size_t cap)
{
    size_t n = 0;
    if (!sensor_id || !*sensor_id || !suffix)
        return -1;
    for (const char *p = sensor_id; *p; p++) {
        if (n + 1 >= cap)
            return -1;
        out[n++] = id_char(*p) ? *p : '_';
    }
    int k = snprintf(out + n, cap - n, "_%s", suffix);
    if (k < 0 || (size_t)k >= cap - n)
        return -1;
    return (int)(n + (size_t)k);
}

/* The device: what the mapping knows of the sensor (docs/SENSORS.md). */
static json_t *device(const nt_ha_opts *o, const char *sensor_id)
{
    char ident[SENSOR_ID_MAX + 8], model[96] = "iotad sensor";
    ingest_sensor_info info = {NULL, NULL, 0};
    if (o->mapping)
        ingest_sensor_profile(o->mapping, sensor_id, &info);
    if (info.profile && *info.profile)
        snprintf(model, sizeof model, "%s sensor", info.profile);
    snprintf(ident, sizeof ident, "iotad_%s", sensor_id);
    return json_pack("{s:[s], s:s, s:s, s:s}", "identifiers", ident, "name",
                     info.label && *info.label ? info.label : sensor_id, "model", model,
                     "manufacturer", "iotad");
}

/* The members both entities share. */
static json_t *base(const nt_ha_opts *o, const char *sensor_id, const char *suffix,
                    const char *name)
{
    char uid[256], avail[TOPICS_MAX], obj[200];
    if (!o || !sensor_id || nt_ha_object_id(sensor_id, suffix, obj, sizeof obj) < 0 ||
        topics_availability(avail, sizeof avail, "notifier", o->instance) < 0)
        return NULL;
    snprintf(uid, sizeof uid, "iotad_%s_%s", o->node, obj);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:o}", "name", name, "unique_id", uid,
                     "availability_topic", avail, "payload_available", TOPICS_ONLINE,
                     "payload_not_available", TOPICS_OFFLINE, "qos", 1, "device",
                     device(o, sensor_id));
}

json_t *nt_ha_binary_config(const nt_ha_opts *o, const char *sensor_id)
{
    char st[TOPICS_MAX], attr[TOPICS_MAX];
    json_t *c = base(o, sensor_id, "anomaly", "Anomaly");
    if (!c || topics_alarm(st, sizeof st, sensor_id) < 0 ||
        topics_notify_ha(attr, sizeof attr, sensor_id) < 0) {
        json_decref(c);
        return NULL;
    }
    if (json_object_update_new(
            c, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "device_class", "problem",
                         "state_topic", st, "value_template",
                         "{{ 'ON' if (value_json.active_total | int(0)) > 0 else 'OFF' }}",
                         "payload_on", "ON", "payload_off", "OFF", "json_attributes_topic", attr,
                         "json_attributes_template", "{{ value_json.attributes | tojson }}"))) {
        json_decref(c);
        return NULL;
    }
    return c;
}

json_t *nt_ha_score_config(const nt_ha_opts *o, const char *sensor_id)
{
    char st[TOPICS_MAX];
    json_t *c = base(o, sensor_id, "score", "Anomaly score");
    if (!c || topics_notify_ha(st, sizeof st, sensor_id) < 0 ||
        json_object_update_new(c,
                               json_pack("{s:s, s:s, s:s, s:s}", "state_topic", st,
                                         "value_template", "{{ value_json.score }}", "state_class",
                                         "measurement", "icon", "mdi:chart-bell-curve"))) {
        json_decref(c);
        return NULL;
    }
    return c;
}

nt_ha *nt_ha_new(const nt_ha_opts *opts, mqtt_client *m)
{
    nt_ha *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    pthread_mutex_init(&h->mu, NULL);
    h->m = m;
    h->prefix = strdup(opts->prefix);
    h->node = strdup(opts->node);
    h->instance = strdup(opts->instance);
    h->public_url = strdup(opts->public_url ? opts->public_url : "");
    int ok = h->prefix && h->node && h->instance && h->public_url && *h->node;
    for (const char *p = h->node; ok && *p; p++)
        ok = id_char(*p);
    if (!ok) {
        nt_ha_free(h);
        return NULL;
    }
    h->o = (nt_ha_opts){h->prefix, h->node, h->instance, h->public_url, opts->mapping};
    return h;
}

void nt_ha_free(nt_ha *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        json_decref(h->s[i].alarm);
    free(h->s);
    free(h->prefix);
    free(h->node);
    free(h->instance);
    free(h->public_url);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static int publish_json(nt_ha *h, const char *topic, json_t *doc)
{
    if (!h->m)
        return 0; /* not connected yet: nt_ha_set_client publishes everything */
    /* 10 digits: a score reads 0.83, not 0.82999999999999996 */
    char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    int rc = s ? mqtt_client_publish(h->m, topic, s, strlen(s), 1, 1) : -1;
    free(s);
    return rc;
}

static int publish_summary(nt_ha *h, sensor *x);
static int announce(nt_ha *h, const sensor *x);

/* The sensor's record, announcing it first when new (mu held). */
static sensor *get(nt_ha *h, const char *sensor_id)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->s[i].id, sensor_id) == 0)
            return &h->s[i];
    if (strlen(sensor_id) >= SENSOR_ID_MAX)
        return NULL;
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 64;
        sensor *ns = realloc(h->s, nc * sizeof *ns);
        if (!ns)
            return NULL;
        h->s = ns;
        h->cap = nc;
    }
    sensor *x = &h->s[h->n];
    memset(x, 0, sizeof *x);
    snprintf(x->id, sizeof x->id, "%s", sensor_id);
    if (announce(h, x)) {
        log_rate(21, 10, LOG_WARN, "notify_ha_announce_failed sensor=%s", sensor_id);
        return NULL;
    }
    h->n++;
    return x;
}

static int announce(nt_ha *h, const sensor *x)
{
    char topic[TOPICS_MAX], obj[200];
    json_t *b = nt_ha_binary_config(&h->o, x->id), *sc = nt_ha_score_config(&h->o, x->id);
    int rc = -1;
    if (b && sc && nt_ha_object_id(x->id, "anomaly", obj, sizeof obj) > 0 &&
        topics_ha_config(topic, sizeof topic, h->prefix, "binary_sensor", h->node, obj) > 0 &&
        publish_json(h, topic, b) == 0 && nt_ha_object_id(x->id, "score", obj, sizeof obj) > 0 &&
        topics_ha_config(topic, sizeof topic, h->prefix, "sensor", h->node, obj) > 0)
        rc = publish_json(h, topic, sc);
    json_decref(b);
    json_decref(sc);
    return rc;
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* Publish the sensor's summary (mu held). */
static int publish_summary(nt_ha *h, sensor *x)
{
    char topic[TOPICS_MAX], range[96] = "", proof[512] = "";
    const anomaly *a = x->have_anomaly ? &x->last : NULL;
    const char *aid =
        x->alarm ? json_string_value(json_object_get(x->alarm, "last_anomaly_id")) : NULL;
    if (!aid && a)
        aid = a->id;
    if (aid && *aid && *h->public_url)
        snprintf(proof, sizeof proof, "%s/api/anomalies/%s", h->public_url, aid);
    if (a && isfinite(a->expected_low) && isfinite(a->expected_high))
        snprintf(range, sizeof range, "%g .. %g", a->expected_low, a->expected_high);
    json_t *al = x->alarm;
    json_t *attrs =
        json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "alarm_id",
                  json_copy(json_object_get(al, "id") ? json_object_get(al, "id") : json_null()),
                  "kind", al ? json_copy(json_object_get(al, "kind")) : json_null(), "severity",
                  al ? json_copy(json_object_get(al, "severity")) : json_null(), "explanation",
                  al ? json_copy(json_object_get(al, "explanation"))
                     : (a ? json_string(a->explanation) : json_null()),
                  "metric", al ? json_copy(json_object_get(al, "metric")) : json_null(), "value",
                  al ? json_copy(json_object_get(al, "peak_value"))
                     : (a ? num_or_null(a->value) : json_null()),
                  "expected_low", a ? num_or_null(a->expected_low) : json_null(), "expected_high",
                  a ? num_or_null(a->expected_high) : json_null(), "expected_range",
                  *range ? json_string(range) : json_null(), "proof_url",
                  *proof ? json_string(proof) : json_null(), "acked",
                  al ? json_copy(json_object_get(al, "acked")) : json_null());
    json_t *doc = attrs ? json_pack("{s:s, s:s, s:I, s:o, s:o}", "sensor_id", x->id, "state",
                                    x->active_total ? "ON" : "OFF", "active_total",
                                    (json_int_t)x->active_total, "score",
                                    a ? num_or_null(a->score) : json_null(), "attributes", attrs)
                        : NULL;
    int rc = -1;
    if (doc && topics_notify_ha(topic, sizeof topic, x->id) > 0)
        rc = publish_json(h, topic, doc);
    json_decref(doc);
    return rc;
}

int nt_ha_on_alarms(nt_ha *h, const char *sensor_id, const void *payload, size_t len)
{
    char sid[SENSOR_ID_MAX], err[160];
    int64_t at;
    size_t n = 0, total = 0;
    alarm_obj first;
    if (alarm_sensor_from_json(payload, len, sid, &at, &first, 1, &n, &total, err, sizeof err) ||
        strcmp(sid, sensor_id)) {
        log_rate(22, 10, LOG_WARN, "notify_ha_alarms_invalid sensor=%s error=\"%s\"", sensor_id,
                 err);
        return -1;
    }
    pthread_mutex_lock(&h->mu);
    sensor *x = get(h, sensor_id);
    int rc = -1;
    if (x) {
        json_decref(x->alarm);
        x->alarm = n ? alarm_to_jobj(&first) : NULL;
        x->active_total = total;
        rc = publish_summary(h, x);
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

int nt_ha_on_anomaly(nt_ha *h, const char *sensor_id, const void *payload, size_t len)
{
    anomaly a;
    char err[160];
    if (anomaly_from_json(payload, len, &a, err, sizeof err) || strcmp(a.sensor_id, sensor_id)) {
        log_rate(23, 10, LOG_WARN, "notify_ha_anomaly_invalid sensor=%s", sensor_id);
        return -1;
    }
    pthread_mutex_lock(&h->mu);
    sensor *x = get(h, sensor_id);
    int rc = -1;
    if (x) {
        x->last = a;
        x->have_anomaly = 1;
        rc = publish_summary(h, x);
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

/* Announce x (mu held). Returns 0 or -1. */
static int announce(nt_ha *h, const sensor *x);

void nt_ha_set_client(nt_ha *h, mqtt_client *m)
{
    pthread_mutex_lock(&h->mu);
    h->m = m;
    for (size_t i = 0; i < h->n; i++)
        if (announce(h, &h->s[i]) == 0)
            publish_summary(h, &h->s[i]);
    pthread_mutex_unlock(&h->mu);
}

int nt_ha_republish(nt_ha *h)
{
    int n = 0;
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; h->m && i < h->n; i++)
        if (announce(h, &h->s[i]) == 0 && publish_summary(h, &h->s[i]) == 0)
            n++;
    int rc = h->m && (size_t)n < h->n ? -1 : n;
    pthread_mutex_unlock(&h->mu);
    return rc;
}

size_t nt_ha_sensors(nt_ha *h)
{
    pthread_mutex_lock(&h->mu);
    size_t n = h->n;
    pthread_mutex_unlock(&h->mu);
    return n;
}
