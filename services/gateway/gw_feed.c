/*
 * gw_feed — see gw_feed.h. Every message is validated before it touches
 * the store or reaches a browser: readings by ingest (reading.h rules),
 * anomalies by anomaly_from_json and a topic/sensor match, confirmations by
 * chain_logged_from_json (bus/chain_logged.h); topics come from
 * bus/topics.h. Invalid input is counted by kind and logged at a limited
 * rate, never forwarded.
 *
 * Readings reach browsers coalesced (WS_READING_INTERVAL_MS): a sensor's
 * reading is sent at once when the sensor's last one went out at least an
 * interval ago; otherwise it is held in the sensor's slot, replacing any
 * reading held there (counted in iotad_gateway_readings_coalesced_total),
 * and gw_feed_flush() sends what is held once the interval has passed. So
 * a browser sees each sensor's newest value within about a second, at most
 * 1000 / interval readings per second per sensor, whatever the sensors
 * send. The sensor store (REST) still takes every reading. Anomalies,
 * confirmations and status are never coalesced.
 */
#include "gw_feed.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/fnv1a.h"
#include "base/hex.h"
#include "base/log.h"
#include "bus/alarm_state.h"
#include "bus/alert_repeat.h"
#include "bus/chain_logged.h"
#include "bus/topics.h"
#include "gw_notify.h"
#include "store/hashmap.h"

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
    out[n++] = topics_filter_anomalies();
    out[n++] = topics_filter_anomalies_any_partition();
    out[n++] = topics_filter_chain_logged();
    if (g->status)
        out[n++] = topics_filter_status();
    if (g->alarms) {
        out[n++] = topics_filter_detector_alarms();
        out[n++] = topics_filter_detector_repeats();
    }
    if (g->notify)
        out[n++] = topics_filter_notify_channels();
    int nb = 0;
    const char *const *bs = topics_broker_stats(&nb);
    for (int i = 0; i < nb && n < cap / 2; i++)
        out[n++] = bs[i];
    int fixed = n;
    for (int i = 0; i < ni && n < cap; i++)
        out[n++] = it[i];
    for (int i = 0; i < ni && n < cap && np < GW_FEED_MAX_TOPICS / 2; i++) {
        if (topics_part_any(part_topics[np], sizeof part_topics[np], it[i]) < 0)
            continue;
        out[n++] = part_topics[np++];
    }
    if (n - fixed < 2 * ni)
        log_warn("feed_topics_truncated ingest_topics=%d subscribed=%d max=%d", ni, n, cap);
    return n;
}

/* ---- coalescing of readings for browsers ------------------------------ */

/* Beyond this many sensors readings go out uncoalesced: 8 MB of slots
 * at the bound, plus the pool of readings waiting (~410 bytes each). */
#define COALESCE_MAX_SENSORS 100000

/* A sensor's slot is small (~80 bytes): the reading it holds, if any,
 * lives in a shared pool sized by how many wait at once (the sensors
 * that sent twice within an interval), not by how many sensors were ever
 * seen: 100,000 sensors sending now and then cost 8 MB, not 50. */
typedef struct {
    char id[SENSOR_ID_MAX];
    int32_t held;     /* index in co.pool of the reading waiting, -1 = none */
    double last_sent; /* monotonic s */
} held_slot;

static struct {
    pthread_mutex_t mu;
    hashmap index; /* sensor id -> position in slots */
    held_slot *slots;
    size_t n, cap, nheld;
    reading *pool;  /* held readings; entries free[0..nfree-1] unused */
    int32_t *free_; /* free pool entries (a stack) */
    size_t pool_used, pool_cap, nfree;
    int ready;
} co = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* A pool entry for a held reading; -1 when out of memory (then the
 * reading goes out uncoalesced). Under co.mu. */
static int32_t pool_take(void)
{
    if (co.nfree > 0)
        return co.free_[--co.nfree];
    if (co.pool_used == co.pool_cap) {
        size_t nc = co.pool_cap ? co.pool_cap * 2 : 256;
        reading *np = realloc(co.pool, nc * sizeof *np);
        if (!np)
            return -1;
        co.pool = np;
        int32_t *nf = realloc(co.free_, nc * sizeof *nf);
        if (!nf)
            return -1;
        co.free_ = nf;
        co.pool_cap = nc;
    }
    return (int32_t)co.pool_used++;
}

/* Give a held reading's entry back. Under co.mu. */
static void pool_give(held_slot *sl)
{
    co.free_[co.nfree++] = sl->held;
    sl->held = -1;
    co.nheld--;
}

static uint64_t co_hash(const void *ctx, uint64_t v)
{
    (void)ctx;
    return fnv1a_str(co.slots[v].id);
}

static int co_eq(const void *ctx, uint64_t v, const void *key)
{
    (void)ctx;
    return strcmp(co.slots[v].id, key) == 0;
}

/* The slot of sensor_id, created on first sight; NULL when the table is
 * full or out of memory. Under co.mu. */
static held_slot *co_slot(const char *sensor_id)
{
    uint64_t h = fnv1a_str(sensor_id), v;
    if (!co.ready) {
        hashmap_init(&co.index, 1024, co_hash, co_eq, NULL);
        co.ready = 1;
    }
    if (hashmap_find(&co.index, h, sensor_id, &v))
        return &co.slots[v];
    size_t idlen = strlen(sensor_id);
    if (co.n >= COALESCE_MAX_SENSORS || idlen >= SENSOR_ID_MAX)
        return NULL;
    if (co.n == co.cap) {
        size_t nc = co.cap ? co.cap * 2 : 1024;
        held_slot *ns = realloc(co.slots, nc * sizeof *ns);
        if (!ns)
            return NULL;
        co.slots = ns;
        co.cap = nc;
    }
    held_slot *sl = &co.slots[co.n];
    memcpy(sl->id, sensor_id, idlen + 1);
    sl->last_sent = -1e300;
    sl->held = -1;
    if (hashmap_insert(&co.index, h, co.n) != 0)
        return NULL;
    co.n++;
    return sl;
}

void gw_feed_destroy(void)
{
    pthread_mutex_lock(&co.mu);
    if (co.ready)
        hashmap_free(&co.index);
    free(co.slots);
    free(co.pool);
    free(co.free_);
    co.slots = NULL;
    co.pool = NULL;
    co.free_ = NULL;
    co.n = co.cap = co.nheld = 0;
    co.pool_used = co.pool_cap = co.nfree = 0;
    co.ready = 0;
    pthread_mutex_unlock(&co.mu);
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

/* A topic's sensor id (topics_*_sensor(), or NULL) copied to buf and
 * validated; NULL when absent, empty, too long or invalid. */
static const char *topic_sensor(const char *id, char *buf)
{
    if (!id)
        return NULL;
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
    if (rc == 0 &&
        (!topic_sensor(topics_anomaly_sensor(topic), sid) || strcmp(sid, a.sensor_id) != 0)) {
        snprintf(err, sizeof err, "sensor_id does not match the topic");
        rc = -1;
    }
    if (rc != 0) {
        gw_metrics_err(&g->metrics, GW_ERR_ANOMALY_INVALID);
        log_rate(2, 10, LOG_WARN, "anomaly_invalid topic=%.80s reason=\"%s\"", topic, err);
        return;
    }
    gw_metrics_event(&g->metrics, GW_RATE_ANOMALIES, 1);
    double now = clock_wall();
    gw_metrics_observe(&g->metrics, GW_LAT_READING_TO_ALERT,
                       gw_store_reading_age(g->store, a.sensor_id, a.ts, now));
    if (gw_store_add_anomaly(g->store, &a, now) != 0)
        gw_metrics_err(&g->metrics, GW_ERR_SENSOR_TABLE_FULL);
    int n = anomaly_to_json(&a, js, sizeof js);
    if (n > 0)
        push(g, gw_msg_wrap(GW_KIND_ANOMALY, a.sensor_id, js, (size_t)n));
    if (g->alarms && gw_alarms_on_anomaly(g->alarms, &a, (int64_t)(clock_wall() * 1000)) != 0)
        gw_metrics_err(&g->metrics, GW_ERR_ALARM_FULL);
}

/* detector/alarm/{sensor_id}/{metric}: the payload must name the topic's stream. */
static void on_alarm_state(gw *g, const char *topic, const void *payload, size_t len)
{
    alarm_state st;
    char err[160] = "", want[TOPICS_MAX + READING_NAME_MAX];
    int rc = alarm_state_from_json(payload, len, &st, err, sizeof err);
    if (rc == 0 && (topics_detector_alarm(want, sizeof want, st.sensor_id, st.metric) < 0 ||
                    strcmp(want, topic) != 0)) {
        snprintf(err, sizeof err, "sensor_id/metric do not match the topic");
        rc = -1;
    }
    if (rc != 0) {
        gw_metrics_err(&g->metrics, GW_ERR_ALARM_STATE_INVALID);
        log_rate(7, 10, LOG_WARN, "alarm_state_invalid topic=%.80s reason=\"%s\"", topic, err);
        return;
    }
    gw_alarms_on_state(g->alarms, &st, (int64_t)(clock_wall() * 1000));
}

/* detector/repeat/{sensor_id}/{metric}: folded alerts, summed; the
 * payload must name the topic's stream. */
static void on_repeat(gw *g, const char *topic, const void *payload, size_t len)
{
    alert_repeat rp;
    char err[160] = "", want[TOPICS_MAX + READING_NAME_MAX];
    int rc = alert_repeat_from_json(payload, len, &rp, err, sizeof err);
    if (rc == 0 && (topics_detector_repeat(want, sizeof want, rp.sensor_id, rp.metric) < 0 ||
                    strcmp(want, topic) != 0)) {
        snprintf(err, sizeof err, "sensor_id/metric do not match the topic");
        rc = -1;
    }
    if (rc != 0) {
        gw_metrics_err(&g->metrics, GW_ERR_REPEAT_INVALID);
        log_rate(37, 10, LOG_WARN, "repeat_invalid topic=%.80s reason=\"%s\"", topic, err);
        return;
    }
    if (gw_alarms_on_repeat(g->alarms, &rp, (int64_t)(clock_wall() * 1000)) != 0)
        gw_metrics_err(&g->metrics, GW_ERR_ALARM_FULL);
}

json_t *gw_feed_logged_parse(const char *sensor_id, const void *payload, size_t len, char *err,
                             size_t errlen)
{
    chain_logged c;
    if (chain_logged_from_json(payload, len, &c, err, errlen) != 0)
        return NULL;
    json_t *out = json_pack("{s:s, s:s, s:s, s:I}", "id", c.id, "sensor_id", sensor_id, "tx_hash",
                            c.tx_hash, "block_number", (json_int_t)c.block_number);
    if (out && c.log_index >= 0)
        json_object_set_new(out, "log_index", json_integer((json_int_t)c.log_index));
    if (out && c.seq >= 0)
        json_object_set_new(out, "seq", json_integer((json_int_t)c.seq));
    if (out && c.batch >= 0)
        json_object_set_new(out, "batch", json_integer((json_int_t)c.batch));
    if (out)
        json_object_set_new(out, "source", json_string("mqtt"));
    return out;
}

static void on_logged(gw *g, const char *topic, const void *payload, size_t len)
{
    char sid[SENSOR_ID_MAX], err[256] = "invalid topic";
    json_t *o = NULL;
    if (topic_sensor(topics_chain_logged_sensor(topic), sid))
        o = gw_feed_logged_parse(sid, payload, len, err, sizeof err);
    if (!o) {
        gw_metrics_err(&g->metrics, GW_ERR_LOGGED_INVALID);
        log_rate(3, 10, LOG_WARN, "logged_invalid topic=%.80s reason=\"%s\"", topic, err);
        return;
    }
    json_t *sq = json_object_get(o, "seq"), *ba = json_object_get(o, "batch");
    if (g->alarms &&
        gw_alarms_mark_logged(g->alarms, sid, json_string_value(json_object_get(o, "id")),
                              json_string_value(json_object_get(o, "tx_hash")),
                              (int64_t)json_integer_value(json_object_get(o, "block_number")),
                              sq ? (int64_t)json_integer_value(sq) : -1,
                              ba ? (int64_t)json_integer_value(ba) : -1) == 1) {
        json_decref(o); /* an alarm action's audit record, not an anomaly */
        return;
    }
    gw_metrics_event(&g->metrics, GW_RATE_LOGGED, 1);
    gw_metrics_observe(&g->metrics, GW_LAT_ALERT_TO_ONCHAIN,
                       gw_store_anomaly_age(g->store, sid,
                                            json_string_value(json_object_get(o, "id")),
                                            clock_wall()));
    gw_store_mark_logged(
        g->store, sid, json_string_value(json_object_get(o, "id")),
        json_string_value(json_object_get(o, "tx_hash")),
        (unsigned long long)json_integer_value(json_object_get(o, "block_number")));
    push(g, gw_msg_from_json(GW_KIND_LOGGED, sid, o));
    json_decref(o);
}

/* The WebSocket "reading" message of r. */
static gw_msg *reading_msg(const reading *r)
{
    json_t *o = json_pack("{s:s, s:f}", "sensor_id", r->sensor_id, "ts", r->ts);
    for (int k = 0; o && k < r->n; k++)
        json_object_set_new(o, r->m[k].name, json_real(r->m[k].value));
    gw_msg *m = o ? gw_msg_from_json(GW_KIND_READING, r->sensor_id, o) : NULL;
    json_decref(o);
    return m;
}

/* 1 when r should go to browsers now; 0 when it was held (or replaced a
 * held one) for gw_feed_flush. */
static int coalesce(gw *g, const reading *r, double now)
{
    double every = g->cfg ? (double)g->cfg->ws_reading_ms / 1000.0 : 0;
    if (every <= 0)
        return 1;
    int send = 1;
    pthread_mutex_lock(&co.mu);
    held_slot *sl = co_slot(r->sensor_id);
    int was_held = sl && sl->held >= 0;
    if (sl && now - sl->last_sent < every && (was_held || (sl->held = pool_take()) >= 0)) {
        if (was_held)
            gw_metrics_add(&g->metrics.readings_coalesced, 1);
        else
            co.nheld++;
        co.pool[sl->held] = *r;
        send = 0;
    } else if (sl) {
        if (sl->held >= 0) { /* an older one waits: this one replaces it */
            gw_metrics_add(&g->metrics.readings_coalesced, 1);
            pool_give(sl);
        }
        sl->last_sent = now;
    }
    pthread_mutex_unlock(&co.mu);
    return send;
}

void gw_feed_flush(gw *g)
{
    double now = clock_mono();
    double every = g->cfg ? (double)g->cfg->ws_reading_ms / 1000.0 : 0;
    pthread_mutex_lock(&co.mu);
    for (size_t i = 0; co.nheld > 0 && i < co.n; i++) {
        held_slot *sl = &co.slots[i];
        if (sl->held < 0 || now - sl->last_sent < every)
            continue;
        sl->last_sent = now;
        push(g, reading_msg(&co.pool[sl->held]));
        pool_give(sl);
    }
    pthread_mutex_unlock(&co.mu);
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
            log_rate(5, 30, LOG_WARN, "sensor_store_failed reason=no_memory sensor_id=%s",
                     r[i].sensor_id);
            continue;
        }
        if (g->alarms)
            gw_alarms_on_reading(g->alarms, &r[i], (int64_t)(now * 1000));
        if (coalesce(g, &r[i], clock_mono()))
            push(g, reading_msg(&r[i]));
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
    int stat = topics_broker_stat(topic);
    if (stat >= 0) {
        if (gw_metrics_broker_set(&g->metrics, stat, payload, len) != 0)
            log_rate(10, 60, LOG_WARN, "broker_stat_invalid topic=%.80s", topic);
        return 1;
    }
    if (topics_is_status(topic)) {
        /* status/+/+/availability is "online"/"offline", not a report. */
        if (g->status && !topics_is_availability(topic))
            on_status(g, topic, payload, len);
        return 1;
    }
    if (topics_notify_channels_instance(topic)) {
        char err[160] = "";
        if (g->notify && gw_notify_put(g->notify, topic, payload, len,
                                       (int64_t)(clock_wall() * 1000), err, sizeof err) != 0) {
            gw_metrics_err(&g->metrics, GW_ERR_NOTIFY_INVALID);
            log_rate(36, 30, LOG_WARN, "notify_channels_invalid topic=%.80s reason=\"%s\"", topic,
                     err);
        }
        return 1;
    }
    if (topics_is_detector_alarm(topic)) {
        if (g->alarms)
            on_alarm_state(g, topic, payload, len);
        return 1;
    }
    if (topics_is_detector_repeat(topic)) {
        if (g->alarms)
            on_repeat(g, topic, payload, len);
        return 1;
    }
    topic = topics_strip_partition(topic);
    if (topics_anomaly_sensor(topic))
        on_anomaly(g, topic, payload, len);
    else if (topics_chain_logged_sensor(topic))
        on_logged(g, topic, payload, len);
    else if (g->ig)
        on_reading(g, topic, payload, len);
    return 1;
}
