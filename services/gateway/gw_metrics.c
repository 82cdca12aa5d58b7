/*
 * gw_metrics — see gw_metrics.h. Histograms keep one counter per bucket
 * and cumulate them when rendering (Prometheus buckets are cumulative), so
 * an observation is two atomic adds and a sum in microseconds.
 */
#include "gw_metrics.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "base/version.h"
#include "gw_buf.h"

/* Bucket bounds, seconds. Reading to alert is the detector's scoring and
 * two broker hops: milliseconds. Alert to on-chain is batching, signing,
 * a block and a receipt poll: seconds, minutes during a chain outage. */
static const double lat_bounds[GW_LAT__COUNT][GW_HIST_BOUNDS] = {
    {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
    {0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600},
};
static const char *const lat_names[GW_LAT__COUNT] = {"reading_to_alert", "alert_to_onchain"};
static const char *const lat_help[GW_LAT__COUNT] = {
    "Seconds from a reading's arrival at the gateway to the arrival of the anomaly raised on it",
    "Seconds from an anomaly's arrival at the gateway to its confirmation on chain"};

static const char *const err_names[GW_ERR__COUNT] = {
    "reading_invalid",
    "anomaly_invalid",
    "logged_invalid",
    "sensor_table_full",
    "http_bad_request",
    "http_unauthorized",
    "http_forbidden",
    "http_too_large",
    "http_not_found",
    "ws_bad_message",
    "ws_too_large",
    "ws_origin",
    "rpc",
    "chain_log_invalid",
    "publish",
    "bus_overflow",
    "status_invalid",
    "status_table_full",
    "onchain_check",
    "host",
    "conn_per_ip",
    "alarm_state_invalid",
    "alarm_full",
    "notify_invalid",
    "repeat_invalid",
};

void gw_metrics_init(gw_metrics *m)
{
    memset(m, 0, sizeof *m);
}

void gw_metrics_add(uint64_t *counter, uint64_t n)
{
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

uint64_t gw_metrics_get(const uint64_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

void gw_metrics_err(gw_metrics *m, gw_err_kind kind)
{
    if ((int)kind >= 0 && kind < GW_ERR__COUNT)
        gw_metrics_add(&m->err[kind], 1);
}

void gw_metrics_event(gw_metrics *m, gw_rate_kind kind, uint64_t n)
{
    if ((int)kind >= 0 && kind < GW_RATE__COUNT)
        gw_metrics_add(&m->events[kind], n);
}

const char *gw_metrics_err_name(gw_err_kind kind)
{
    if ((int)kind < 0 || kind >= GW_ERR__COUNT)
        return "unknown";
    return err_names[kind];
}

void gw_metrics_observe(gw_metrics *m, gw_latency_kind kind, double seconds)
{
    if ((int)kind < 0 || kind >= GW_LAT__COUNT || !isfinite(seconds) || seconds < 0)
        return;
    gw_histogram *h = &m->latency[kind];
    int k = 0;
    while (k < GW_HIST_BOUNDS && seconds > lat_bounds[kind][k])
        k++;
    gw_metrics_add(&h->bucket[k], 1);
    gw_metrics_add(&h->count, 1);
    gw_metrics_add(&h->sum_us, (uint64_t)llround(fmin(seconds, 1e9) * 1e6));
}

/* ---- rendering (GET /metrics) ---------------------------------------- */

/* Event totals, errors by kind, HTTP answers by class. */
static void render_counters(gw_buf *b, const gw_metrics *m)
{
    static const char *const event_names[GW_RATE__COUNT] = {"readings", "anomalies", "logged",
                                                            "ws_messages"};
    static const char *const total_help[GW_RATE__COUNT] = {
        "Readings received from MQTT (all device formats)", "Anomalies received from MQTT",
        "Chain confirmations received from MQTT", "WebSocket messages sent to clients"};
    for (int k = 0; k < GW_RATE__COUNT; k++) {
        gw_buf_printf(b,
                      "# HELP iotad_gateway_%s_total %s.\n# TYPE iotad_gateway_%s_total counter\n",
                      event_names[k], total_help[k], event_names[k]);
        gw_buf_printf(b, "iotad_gateway_%s_total %" PRIu64 "\n", event_names[k],
                      gw_metrics_get(&m->events[k]));
    }
    gw_buf_printf(b, "# HELP iotad_gateway_errors_total Errors by kind.\n"
                     "# TYPE iotad_gateway_errors_total counter\n");
    for (int k = 0; k < GW_ERR__COUNT; k++)
        gw_buf_printf(b, "iotad_gateway_errors_total{kind=\"%s\"} %" PRIu64 "\n",
                      gw_metrics_err_name((gw_err_kind)k), gw_metrics_get(&m->err[k]));
    gw_buf_printf(b, "# HELP iotad_gateway_http_requests_total HTTP requests by status class.\n"
                     "# TYPE iotad_gateway_http_requests_total counter\n");
    for (int k = 1; k <= 5; k++)
        gw_buf_printf(b, "iotad_gateway_http_requests_total{code=\"%dxx\"} %" PRIu64 "\n", k,
                      gw_metrics_get(&m->http_requests[k]));
}

/* WebSocket clients: how many, and what was dropped or refused. */
static void render_ws(gw_buf *b, const gw_metrics *m, const gw_metrics_gauges *gz)
{
    gw_buf_printf(b,
                  "# HELP iotad_gateway_ws_clients Connected WebSocket clients.\n"
                  "# TYPE iotad_gateway_ws_clients gauge\niotad_gateway_ws_clients %zu\n",
                  gz->ws_clients);
    gw_buf_printf(
        b,
        "# HELP iotad_gateway_ws_dropped_total Messages dropped for slow WebSocket clients.\n"
        "# TYPE iotad_gateway_ws_dropped_total counter\niotad_gateway_ws_dropped_total %" PRIu64
        "\n",
        gw_metrics_get(&m->ws_dropped));
    gw_buf_printf(
        b,
        "# HELP iotad_gateway_ws_slow_disconnects_total Clients disconnected for being slow.\n"
        "# TYPE iotad_gateway_ws_slow_disconnects_total counter\n"
        "iotad_gateway_ws_slow_disconnects_total %" PRIu64 "\n",
        gw_metrics_get(&m->ws_slow_disconnects));
    gw_buf_printf(
        b,
        "# HELP iotad_gateway_ws_rejected_total Connections refused at WS_MAX_CLIENTS.\n"
        "# TYPE iotad_gateway_ws_rejected_total counter\niotad_gateway_ws_rejected_total %" PRIu64
        "\n",
        gw_metrics_get(&m->ws_rejected_clients));
}

/* The alarm lifecycle (gw_alarms.h). */
static void render_alarms(gw_buf *b, const gw_alarms_stats *a)
{
    gw_buf_printf(b,
                  "# HELP iotad_gateway_alarms Alarms held, by state (GATEWAY_ALARMS_MAX).\n"
                  "# TYPE iotad_gateway_alarms gauge\n"
                  "iotad_gateway_alarms{state=\"active\"} %zu\n"
                  "iotad_gateway_alarms{state=\"cleared\"} %zu\n",
                  a->active, a->total - a->active);
    gw_buf_printf(b,
                  "# HELP iotad_gateway_alarm_mutes Sensor and stream mutes in force.\n"
                  "# TYPE iotad_gateway_alarm_mutes gauge\niotad_gateway_alarm_mutes %zu\n",
                  a->mutes);
    gw_buf_printf(b,
                  "# HELP iotad_gateway_alarms_opened_total Alarms opened.\n"
                  "# TYPE iotad_gateway_alarms_opened_total counter\n"
                  "iotad_gateway_alarms_opened_total %" PRIu64 "\n"
                  "# HELP iotad_gateway_alarms_cleared_total Alarms cleared (by calm, a reading "
                  "or a person).\n"
                  "# TYPE iotad_gateway_alarms_cleared_total counter\n"
                  "iotad_gateway_alarms_cleared_total %" PRIu64 "\n"
                  "# HELP iotad_gateway_alarms_evicted_total Cleared alarms dropped to make room.\n"
                  "# TYPE iotad_gateway_alarms_evicted_total counter\n"
                  "iotad_gateway_alarms_evicted_total %" PRIu64 "\n"
                  "# HELP iotad_gateway_alarms_refused_total Alarms not opened: every slot "
                  "active.\n"
                  "# TYPE iotad_gateway_alarms_refused_total counter\n"
                  "iotad_gateway_alarms_refused_total %" PRIu64 "\n"
                  "# HELP iotad_gateway_alarm_duplicates_total Anomalies already folded into "
                  "their alarm (redelivered).\n"
                  "# TYPE iotad_gateway_alarm_duplicates_total counter\n"
                  "iotad_gateway_alarm_duplicates_total %" PRIu64 "\n"
                  "# HELP iotad_gateway_alarm_repeats_total Alerts the detector folded into "
                  "a burst, added to their alarms' counts.\n"
                  "# TYPE iotad_gateway_alarm_repeats_total counter\n"
                  "iotad_gateway_alarm_repeats_total %" PRIu64 "\n"
                  "# HELP iotad_gateway_alarm_state_errors_total Alarm state file loads and "
                  "saves that failed.\n"
                  "# TYPE iotad_gateway_alarm_state_errors_total counter\n"
                  "iotad_gateway_alarm_state_errors_total{op=\"load\"} %" PRIu64 "\n"
                  "iotad_gateway_alarm_state_errors_total{op=\"save\"} %" PRIu64 "\n",
                  a->opened, a->cleared, a->evicted, a->refused_full, a->duplicates, a->repeats,
                  a->load_errors, a->save_errors);
}

/* Sensors, broker and chain connectivity, how far the chain was read. */
static void render_links(gw_buf *b, const gw_metrics_gauges *gz)
{
    gw_buf_printf(b,
                  "# HELP iotad_gateway_sensors Sensors known to the gateway.\n"
                  "# TYPE iotad_gateway_sensors gauge\niotad_gateway_sensors %zu\n",
                  gz->sensors);
    gw_buf_printf(b,
                  "# HELP iotad_gateway_sensor_evictions_total Sensors dropped from the "
                  "gateway's list (least recently seen first) to make room at "
                  "GATEWAY_MAX_SENSORS.\n"
                  "# TYPE iotad_gateway_sensor_evictions_total counter\n"
                  "iotad_gateway_sensor_evictions_total %" PRIu64 "\n",
                  gz->sensor_evictions);
    gw_buf_printf(b,
                  "# HELP iotad_gateway_mqtt_connected 1 while connected to the broker.\n"
                  "# TYPE iotad_gateway_mqtt_connected gauge\niotad_gateway_mqtt_connected %d\n",
                  gz->mqtt_connected);
    gw_buf_printf(b,
                  "# HELP iotad_gateway_chain_reachable 1 while the JSON-RPC node answers.\n"
                  "# TYPE iotad_gateway_chain_reachable gauge\niotad_gateway_chain_reachable %d\n",
                  gz->chain_reachable);
    gw_buf_printf(
        b,
        "# HELP iotad_gateway_chain_head_block Latest block number of the chain.\n"
        "# TYPE iotad_gateway_chain_head_block gauge\niotad_gateway_chain_head_block %" PRIu64 "\n",
        gz->chain_head);
    gw_buf_printf(
        b,
        "# HELP iotad_gateway_chain_synced_block Events read up to this block.\n"
        "# TYPE iotad_gateway_chain_synced_block gauge\niotad_gateway_chain_synced_block %" PRIu64
        "\n",
        gz->chain_synced);
    gw_buf_printf(
        b,
        "# HELP iotad_gateway_chain_lag_blocks Blocks not yet read (head - synced).\n"
        "# TYPE iotad_gateway_chain_lag_blocks gauge\niotad_gateway_chain_lag_blocks %" PRIu64 "\n",
        gz->chain_head > gz->chain_synced ? gz->chain_head - gz->chain_synced : 0);
}

/* The chain cache and the isLogged answers. */
static void render_cache(gw_buf *b, const gw_metrics *m, const gw_metrics_gauges *gz)
{
    const gw_cache_stats *cs = &gz->cache;
    gw_buf_printf(
        b,
        "# HELP iotad_gateway_chain_anomalies Anomalies read from the chain.\n"
        "# TYPE iotad_gateway_chain_anomalies gauge\niotad_gateway_chain_anomalies %" PRIu64 "\n",
        cs->total);
    gw_buf_printf(
        b,
        "# HELP iotad_gateway_cache_anomalies Anomalies held in full in the chain cache.\n"
        "# TYPE iotad_gateway_cache_anomalies gauge\niotad_gateway_cache_anomalies %zu\n"
        "# HELP iotad_gateway_cache_capacity Bound of the chain cache (0 = none).\n"
        "# TYPE iotad_gateway_cache_capacity gauge\niotad_gateway_cache_capacity %zu\n"
        "# HELP iotad_gateway_cache_evicted_total Anomalies evicted from the cache (served "
        "from the chain).\n"
        "# TYPE iotad_gateway_cache_evicted_total counter\niotad_gateway_cache_evicted_total "
        "%" PRIu64 "\n"
        "# HELP iotad_gateway_archive_reads_total Requests answered from the chain because "
        "the cache had evicted what they asked for.\n"
        "# TYPE iotad_gateway_archive_reads_total counter\niotad_gateway_archive_reads_total "
        "%" PRIu64 "\n",
        cs->cached, cs->max, cs->evicted, gw_metrics_get(&m->archive_reads));
    gw_buf_printf(b,
                  "# HELP iotad_gateway_onchain_checks_total isLogged answers obtained from the "
                  "contract for GET /api/anomalies/{id}.\n"
                  "# TYPE iotad_gateway_onchain_checks_total "
                  "counter\niotad_gateway_onchain_checks_total %" PRIu64 "\n"
                  "# HELP iotad_gateway_onchain_cache_hits_total isLogged answers served from the "
                  "gateway's cache.\n"
                  "# TYPE iotad_gateway_onchain_cache_hits_total counter\n"
                  "iotad_gateway_onchain_cache_hits_total %" PRIu64 "\n",
                  gw_metrics_get(&m->onchain_checks), gw_metrics_get(&m->onchain_cache_hits));
}

/* Queues towards the WebSocket loop and inside it. */
static void render_queues(gw_buf *b, const gw_metrics_gauges *gz)
{
    if (gz->has_bus) {
        const gw_bus_stats *bs = &gz->bus;
        gw_buf_printf(
            b,
            "# HELP iotad_gateway_bus_queued Messages queued from the MQTT and chain threads "
            "to the WebSocket loop.\n"
            "# TYPE iotad_gateway_bus_queued gauge\niotad_gateway_bus_queued %zu\n"
            "# HELP iotad_gateway_bus_queued_max Most messages ever queued on the bus at once.\n"
            "# TYPE iotad_gateway_bus_queued_max gauge\niotad_gateway_bus_queued_max %zu\n"
            "# HELP iotad_gateway_bus_capacity Bound of the bus (GATEWAY_BUS_MESSAGES).\n"
            "# TYPE iotad_gateway_bus_capacity gauge\niotad_gateway_bus_capacity %zu\n"
            "# HELP iotad_gateway_bus_dropped_total Messages dropped because the bus was full.\n"
            "# TYPE iotad_gateway_bus_dropped_total counter\niotad_gateway_bus_dropped_total "
            "%" PRIu64 "\n",
            bs->depth, bs->high, bs->capacity, bs->dropped);
    }
    gw_buf_printf(
        b,
        "# HELP iotad_gateway_ws_queued Messages waiting in all WebSocket clients' queues.\n"
        "# TYPE iotad_gateway_ws_queued gauge\niotad_gateway_ws_queued %zu\n"
        "# HELP iotad_gateway_ws_queued_max_client Messages waiting for the fullest client "
        "(bound: WS_QUEUE_MESSAGES).\n"
        "# TYPE iotad_gateway_ws_queued_max_client gauge\niotad_gateway_ws_queued_max_client %zu\n",
        gz->ws_queued, gz->ws_queued_max);
}

/* The latency histograms: cumulative buckets, _sum, _count. */
static void render_latency(gw_buf *b, const gw_metrics *m)
{
    for (int k = 0; k < GW_LAT__COUNT; k++) {
        const gw_histogram *h = &m->latency[k];
        const char *n = lat_names[k];
        gw_buf_printf(b, "# HELP iotad_gateway_%s_seconds %s.\n", n, lat_help[k]);
        gw_buf_printf(b, "# TYPE iotad_gateway_%s_seconds histogram\n", n);
        uint64_t cum = 0;
        for (int i = 0; i <= GW_HIST_BOUNDS; i++) {
            cum += gw_metrics_get(&h->bucket[i]);
            if (i < GW_HIST_BOUNDS)
                gw_buf_printf(b, "iotad_gateway_%s_seconds_bucket{le=\"%g\"} %" PRIu64 "\n", n,
                              lat_bounds[k][i], cum);
            else
                gw_buf_printf(b, "iotad_gateway_%s_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", n,
                              cum);
        }
        /* _count is the +Inf bucket's total, so the two always agree even
         * while another thread observes. */
        gw_buf_printf(b, "iotad_gateway_%s_seconds_sum %.6f\n", n,
                      (double)gw_metrics_get(&h->sum_us) / 1e6);
        gw_buf_printf(b, "iotad_gateway_%s_seconds_count %" PRIu64 "\n", n, cum);
    }
}

/* iotad_build_info{version="..."} 1: the version as a label value, with
 * the characters the text format escapes escaped. */
static void render_build_info(gw_buf *b)
{
    gw_buf_printf(b, "# HELP iotad_build_info The build's version (--version); always 1.\n"
                     "# TYPE iotad_build_info gauge\niotad_build_info{version=\"");
    for (const char *p = version_string(); *p; p++) {
        if (*p == '"' || *p == '\\')
            gw_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            gw_buf_printf(b, "\\n");
        else
            gw_buf_printf(b, "%c", *p);
    }
    gw_buf_printf(b, "\"} 1\n");
}

int gw_metrics_broker_set(gw_metrics *m, int idx, const void *payload, size_t len)
{
    char buf[32];
    if (idx < 0 || idx >= TOPICS_BROKER__COUNT || len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, payload, len);
    buf[len] = '\0';
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] < '0' || buf[i] > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(buf[i] - '0');
    }
    __atomic_store_n(&m->broker[idx], v, __ATOMIC_RELAXED);
    __atomic_fetch_or(&m->broker_seen, 1ull << idx, __ATOMIC_RELAXED);
    return 0;
}

/* The broker's own figures ($SYS), once it has sent them: what it dropped
 * (for slow subscribers, at its queue limits) is counted nowhere else. */
static void render_broker(gw_buf *b, const gw_metrics *m)
{
    static const struct {
        const char *name, *type, *help;
    } rows[TOPICS_BROKER__COUNT] = {
        {"iotad_broker_messages_dropped_total", "counter",
         "Messages the broker dropped (queue limits, slow subscribers), from $SYS."},
        {"iotad_broker_messages_received_total", "counter", "Messages the broker received."},
        {"iotad_broker_messages_sent_total", "counter", "Messages the broker sent."},
        {"iotad_broker_stored_messages", "gauge",
         "Messages the broker holds (queued for clients and retained)."},
        {"iotad_broker_stored_bytes", "gauge", "Bytes of the messages the broker holds."},
        {"iotad_broker_clients_connected", "gauge", "Clients connected to the broker."},
    };
    uint64_t seen = __atomic_load_n(&m->broker_seen, __ATOMIC_RELAXED);
    for (int i = 0; i < TOPICS_BROKER__COUNT; i++)
        if (seen & (1ull << i))
            gw_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", rows[i].name,
                          rows[i].help, rows[i].name, rows[i].type, rows[i].name,
                          __atomic_load_n(&m->broker[i], __ATOMIC_RELAXED));
    gw_buf_printf(b,
                  "# HELP iotad_gateway_readings_coalesced_total Readings not sent to WebSocket "
                  "clients because a newer reading of the same sensor replaced them "
                  "(WS_READING_INTERVAL_MS).\n"
                  "# TYPE iotad_gateway_readings_coalesced_total counter\n"
                  "iotad_gateway_readings_coalesced_total %" PRIu64 "\n",
                  gw_metrics_get(&m->readings_coalesced));
}

char *gw_metrics_render(const gw_metrics *m, const gw_metrics_gauges *gz, size_t *len)
{
    gw_buf b = {0};
    render_counters(&b, m);
    render_ws(&b, m, gz);
    render_links(&b, gz);
    if (gz->has_alarms)
        render_alarms(&b, &gz->alarms);
    render_cache(&b, m, gz);
    render_queues(&b, gz);
    render_latency(&b, m);
    render_broker(&b, m);
    if (gz->status)
        gw_status_render(gz->status, &b, gz->now);
    gw_buf_printf(&b,
                  "# HELP iotad_gateway_uptime_seconds Seconds since the gateway started.\n"
                  "# TYPE iotad_gateway_uptime_seconds gauge\niotad_gateway_uptime_seconds %.0f\n",
                  gz->uptime_s);
    render_build_info(&b);
    return gw_buf_take(&b, len);
}
