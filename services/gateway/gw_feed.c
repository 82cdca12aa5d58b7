/*
 * gw_feed — see gw_feed.h. Every message is validated before it touches
 * the store or reaches a browser: readings by ingest (reading.h rules),
 * anomalies by anomaly_from_json and a topic/sensor match, confirmations by
 * gw_feed_logged_parse. Invalid input is counted by kind and logged at a
 * limited rate, never forwarded.
 */
#include "gw_feed.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/hex.h"
#include "base/log.h"

#define READINGS_PER_MSG 16

/* Cluster mode (docs/SCALING.md): NATS mappings deliver readings as
 * part/{k}/<device topic> and anomalies as apart/{k}/anomalies/{id}. The
 * gateway subscribes to both forms, so it needs no setting and sees
 * everything in either mode (with mosquitto nothing is published under the
 * prefixes; with NATS nothing arrives on a mapped plain topic). Built once
 * at startup; the gateway has one feed. */
static char part_topics[GW_FEED_MAX_TOPICS / 2][256];

int gw_feed_topics(gw *g, const char **out, int cap)
{
    int n = 0, ni = 0, np = 0;
    const char *const *it = g->ig ? ingest_topics(g->ig, &ni) : NULL;
    out[n++] = "anomalies/+";
    out[n++] = "apart/+/anomalies/+";
    out[n++] = "chain/logged/+";
    if (g->status)
        out[n++] = "status/#";
    int fixed = n;
    for (int i = 0; i < ni && n < cap; i++)
        out[n++] = it[i];
    for (int i = 0; i < ni && n < cap && np < GW_FEED_MAX_TOPICS / 2; i++) {
        if (snprintf(part_topics[np], sizeof part_topics[np], "part/+/%s", it[i]) >=
            (int)sizeof part_topics[np])
            continue;
        out[n++] = part_topics[np++];
    }
    if (n - fixed < 2 * ni)
        log_warn("feed_topics_truncated ingest_topics=%d subscribed=%d max=%d", ni, n, cap);
    return n;
}

/* part/{k}/... or apart/{k}/... -> what follows; other topics unchanged. */
static const char *strip_partition(const char *topic)
{
    const char *p = topic;
    if (strncmp(p, "part/", 5) == 0)
        p += 5;
    else if (strncmp(p, "apart/", 6) == 0)
        p += 6;
    else
        return topic;
    if (*p < '0' || *p > '9')
        return topic;
    while (*p >= '0' && *p <= '9')
        p++;
    return *p == '/' ? p + 1 : topic;
}

static void push(gw *g, gw_msg *m)
{
    if (!m)
        return;
    if (gw_bus_push(g->bus, m) != 0) {
        gw_metrics_err(&g->metrics, GW_ERR_BUS_OVERFLOW);
        log_rate(1, 10, LOG_WARN, "ws_bus_overflow action=drop");
    }
}

/* The sensor id between a prefix and the end of the topic, or NULL. */
static const char *topic_sensor(const char *topic, const char *prefix, char *buf)
{
    size_t pl = strlen(prefix);
    if (strncmp(topic, prefix, pl) != 0)
        return NULL;
    const char *id = topic + pl;
    size_t n = strlen(id);
    if (n == 0 || n >= SENSOR_ID_MAX)
        return NULL;
    memcpy(buf, id, n + 1);
    return sensor_id_valid(buf) ? buf : NULL;
}

static void on_anomaly(gw *g, const char *topic, const void *payload, size_t len)
{
    char sid[SENSOR_ID_MAX], err[256], js[4096];
    anomaly a;
    int rc = anomaly_from_json(payload, len, &a, err, sizeof err);
    if (rc == 0 && (!topic_sensor(topic, "anomalies/", sid) || strcmp(sid, a.sensor_id) != 0)) {
        snprintf(err, sizeof err, "sensor_id does not match the topic");
        rc = -1;
    }
    if (rc != 0) {
        gw_metrics_err(&g->metrics, GW_ERR_ANOMALY_INVALID);
        log_rate(2, 10, LOG_WARN, "anomaly_invalid topic=%.80s reason=\"%s\"", topic, err);
        return;
    }
    gw_metrics_event(&g->metrics, GW_RATE_ANOMALIES, 1);
    if (gw_store_add_anomaly(g->store, &a, clock_wall()) != 0)
        gw_metrics_err(&g->metrics, GW_ERR_SENSOR_TABLE_FULL);
    int n = anomaly_to_json(&a, js, sizeof js);
    if (n > 0)
        push(g, gw_msg_wrap(GW_KIND_ANOMALY, a.sensor_id, js, (size_t)n));
}

static int is_hex(const char *s, size_t digits, int prefix)
{
    if (!s)
        return 0;
    if (prefix) {
        if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
            return 0;
        s += 2;
    }
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return n == digits;
}

json_t *gw_feed_logged_parse(const char *sensor_id, const void *payload, size_t len, char *err,
                             size_t errlen)
{
    json_error_t jerr;
    json_t *out = NULL;
    if (len > 4096) {
        snprintf(err, errlen, "payload too large");
        return NULL;
    }
    json_t *root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "invalid JSON: %s", jerr.text);
        return NULL;
    }
    const char *id = json_string_value(json_object_get(root, "id"));
    const char *tx = json_string_value(json_object_get(root, "tx_hash"));
    json_t *bn = json_object_get(root, "block_number");
    json_t *li = json_object_get(root, "log_index");
    if (!json_is_object(root))
        snprintf(err, errlen, "not a JSON object");
    else if (!is_hex(id, 64, 0))
        snprintf(err, errlen, "id must be 64 hex digits");
    else if (!is_hex(tx, 64, 1))
        snprintf(err, errlen, "tx_hash must be 0x and 64 hex digits");
    else if (!json_is_integer(bn) || json_integer_value(bn) < 0)
        snprintf(err, errlen, "block_number must be a non-negative integer");
    else if (li && !(json_is_integer(li) && json_integer_value(li) >= 0))
        snprintf(err, errlen, "log_index must be a non-negative integer");
    else {
        out = json_pack("{s:s, s:s, s:s, s:I}", "id", id, "sensor_id", sensor_id, "tx_hash", tx,
                        "block_number", json_integer_value(bn));
        if (out && li)
            json_object_set_new(out, "log_index", json_integer(json_integer_value(li)));
        if (out)
            json_object_set_new(out, "source", json_string("mqtt"));
    }
    json_decref(root);
    return out;
}

static void on_logged(gw *g, const char *topic, const void *payload, size_t len)
{
    char sid[SENSOR_ID_MAX], err[256] = "invalid topic";
    json_t *o = NULL;
    if (topic_sensor(topic, "chain/logged/", sid))
        o = gw_feed_logged_parse(sid, payload, len, err, sizeof err);
    if (!o) {
        gw_metrics_err(&g->metrics, GW_ERR_LOGGED_INVALID);
        log_rate(3, 10, LOG_WARN, "logged_invalid topic=%.80s reason=\"%s\"", topic, err);
        return;
    }
    gw_metrics_event(&g->metrics, GW_RATE_LOGGED, 1);
    gw_store_mark_logged(
        g->store, sid, json_string_value(json_object_get(o, "id")),
        json_string_value(json_object_get(o, "tx_hash")),
        (unsigned long long)json_integer_value(json_object_get(o, "block_number")));
    push(g, gw_msg_from_json(GW_KIND_LOGGED, sid, o));
    json_decref(o);
}

static void on_reading(gw *g, const char *topic, const void *payload, size_t len)
{
    reading r[READINGS_PER_MSG];
    char err[256] = "";
    double now = clock_wall();
    int n = ingest_decode(g->ig, topic, payload, len, now, r, READINGS_PER_MSG, err, sizeof err);
    if (n < 0) {
        gw_metrics_err(&g->metrics, GW_ERR_READING_INVALID);
        log_rate(4, 10, LOG_WARN, "reading_invalid topic=%.80s code=%s reason=\"%s\"", topic,
                 reading_strerror(n), err);
        return;
    }
    for (int i = 0; i < n; i++) {
        gw_metrics_event(&g->metrics, GW_RATE_READINGS, 1);
        if (gw_store_add_reading(g->store, &r[i], now) != 0) {
            gw_metrics_err(&g->metrics, GW_ERR_SENSOR_TABLE_FULL);
            log_rate(5, 30, LOG_WARN, "sensor_table_full sensor_id=%s", r[i].sensor_id);
            continue;
        }
        json_t *o = json_pack("{s:s, s:f}", "sensor_id", r[i].sensor_id, "ts", r[i].ts);
        for (int k = 0; o && k < r[i].n; k++)
            json_object_set_new(o, r[i].m[k].name, json_real(r[i].m[k].value));
        if (o)
            push(g, gw_msg_from_json(GW_KIND_READING, r[i].sensor_id, o));
        json_decref(o);
    }
}

static void on_status(gw *g, const char *topic, const void *payload, size_t len)
{
    status_report r;
    char err[160] = "";
    if (status_parse(topic, payload, len, &r, err, sizeof err) != 0) {
        gw_metrics_err(&g->metrics, GW_ERR_STATUS_INVALID);
        log_rate(8, 30, LOG_WARN, "status_invalid topic=%.80s reason=\"%s\"", topic, err);
        return;
    }
    if (gw_status_put(g->status, &r, clock_wall()) != 0) {
        gw_metrics_err(&g->metrics, GW_ERR_STATUS_TABLE_FULL);
        log_rate(9, 60, LOG_WARN, "status_table_full topic=%.80s max=%d", topic,
                 GW_STATUS_MAX_INSTANCES);
    }
}

int gw_feed_on_message(void *user, const char *topic, const void *payload, size_t len)
{
    gw *g = user;
    if (strncmp(topic, "status/", 7) == 0) {
        if (g->status)
            on_status(g, topic, payload, len);
        return 1;
    }
    topic = strip_partition(topic);
    if (strncmp(topic, "anomalies/", 10) == 0)
        on_anomaly(g, topic, payload, len);
    else if (strncmp(topic, "chain/logged/", 13) == 0)
        on_logged(g, topic, payload, len);
    else if (g->ig)
        on_reading(g, topic, payload, len);
    return 1;
}
