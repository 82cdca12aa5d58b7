/*
 * gw_metrics — the gateway's counters and gauges, rendered in the
 * Prometheus text exposition format for GET /metrics.
 *
 * Counters are plain 64-bit integers updated with relaxed atomics, so any
 * thread (paho's callback thread, the lws thread, the chain thread) can
 * count without a lock. Every name has the prefix iotad_gateway_ and every
 * counter ends in _total; rates are left to Prometheus (rate()). Two
 * histograms time the pipeline as the gateway sees it (gw_metrics_observe).
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "gw_alarms.h"
#include "bus/topics.h"
#include "gw_bus.h"
#include "gw_cache.h"
#include "gw_status.h"

/* Errors by kind: each has a stable label value in iotad_gateway_errors_total. */
typedef enum {
    GW_ERR_READING_INVALID = 0, /* a reading message that did not decode */
    GW_ERR_ANOMALY_INVALID,     /* anomalies/+ message that did not decode */
    GW_ERR_LOGGED_INVALID,      /* chain/logged/+ message that did not decode */
    GW_ERR_SENSOR_TABLE_FULL,   /* a new sensor beyond GATEWAY_MAX_SENSORS */
    GW_ERR_HTTP_BAD_REQUEST,    /* 400 answers */
    GW_ERR_HTTP_UNAUTHORIZED,   /* 401 answers */
    GW_ERR_HTTP_FORBIDDEN,      /* 403 answers (Origin/CORS) */
    GW_ERR_HTTP_TOO_LARGE,      /* 413 answers */
    GW_ERR_HTTP_NOT_FOUND,      /* 404 answers */
    GW_ERR_WS_BAD_MESSAGE,      /* a client message that is not a valid command */
    GW_ERR_WS_TOO_LARGE,        /* a client message above WS_MAX_MESSAGE_BYTES */
    GW_ERR_WS_ORIGIN,           /* a WebSocket upgrade refused for its Origin */
    GW_ERR_RPC,                 /* a failed JSON-RPC call to the chain */
    GW_ERR_CHAIN_LOG_INVALID,   /* an event log on chain that did not decode */
    GW_ERR_PUBLISH,             /* an MQTT publish that could not be queued */
    GW_ERR_BUS_OVERFLOW,        /* pushes dropped because the lws thread fell behind */
    GW_ERR_STATUS_INVALID,      /* a status/# report that did not validate */
    GW_ERR_STATUS_TABLE_FULL,   /* a report from a new instance beyond GW_STATUS_MAX_INSTANCES */
    GW_ERR_ONCHAIN_CHECK,       /* an isLogged check that could not read the chain */
    GW_ERR_HOST,                /* HTTP or WebSocket request for an unknown Host (403) */
    GW_ERR_CONN_PER_IP,         /* a connection refused at GATEWAY_MAX_CONN_PER_IP */
    GW_ERR_ALARM_STATE_INVALID, /* a detector/alarm/+/+ message that did not validate */
    GW_ERR_ALARM_FULL,          /* an alarm not opened: GATEWAY_ALARMS_MAX all active */
    GW_ERR_NOTIFY_INVALID,      /* a notify/channels/+ report that did not validate */
    GW_ERR_REPEAT_INVALID,      /* a detector/repeat/+/+ summary that did not validate */
    GW_ERR__COUNT
} gw_err_kind;

/* Counted events (iotad_gateway_<name>_total). */
typedef enum {
    GW_RATE_READINGS = 0, /* readings received from MQTT */
    GW_RATE_ANOMALIES,    /* anomalies received from MQTT */
    GW_RATE_LOGGED,       /* chain confirmations received from MQTT */
    GW_RATE_WS_SENT,      /* WebSocket messages handed to clients */
    GW_RATE__COUNT
} gw_rate_kind;

/* Latencies observed into histograms. */
typedef enum {
    /* a reading's arrival at the gateway -> the arrival of the anomaly the
     * detector raised on it (same sensor and ts) */
    GW_LAT_READING_TO_ALERT = 0,
    /* an anomaly's arrival -> its confirmation on chain (chain/logged) */
    GW_LAT_ALERT_TO_ONCHAIN,
    GW_LAT__COUNT
} gw_latency_kind;

#define GW_HIST_BOUNDS 14 /* finite bucket bounds per histogram; +Inf is extra */

typedef struct {
    uint64_t bucket[GW_HIST_BOUNDS + 1]; /* observations per bucket (not cumulative) */
    uint64_t count;
    uint64_t sum_us; /* sum of observations, microseconds */
} gw_histogram;

typedef struct {
    uint64_t err[GW_ERR__COUNT];
    uint64_t events[GW_RATE__COUNT];
    gw_histogram latency[GW_LAT__COUNT];
    uint64_t http_requests[6]; /* index = status / 100 (1..5) */
    uint64_t ws_dropped;       /* messages dropped for slow clients */
    uint64_t ws_slow_disconnects;
    uint64_t ws_rejected_clients; /* connections refused above WS_MAX_CLIENTS */
    uint64_t archive_reads;       /* requests sent to the chain for evicted anomalies */
    uint64_t onchain_checks;      /* isLogged answers obtained from the contract */
    uint64_t onchain_cache_hits;  /* isLogged answers served from the gateway's cache */
    /* The broker's $SYS figures (topics_broker_stats() order), as last
     * published; broker_seen bit i set once figure i arrived. */
    uint64_t broker[TOPICS_BROKER__COUNT];
    uint64_t broker_seen;
    uint64_t readings_coalesced; /* readings not sent to browsers: a newer one replaced them */
} gw_metrics;

/** Zero all counters. */
void gw_metrics_init(gw_metrics *m);

/** Count one error of `kind`. Thread-safe (relaxed atomic). */
void gw_metrics_err(gw_metrics *m, gw_err_kind kind);

/** Add `n` events of `kind`. Thread-safe (relaxed atomic). */
void gw_metrics_event(gw_metrics *m, gw_rate_kind kind, uint64_t n);

/** Add n to a counter field of m (e.g. &m->ws_dropped). Thread-safe. */
void gw_metrics_add(uint64_t *counter, uint64_t n);

/** Record the broker's $SYS figure `idx` (topics_broker_stats() index)
 *  from its payload (a decimal number). Returns 0, or -1 when idx or the
 *  payload is not valid. Thread-safe. */
int gw_metrics_broker_set(gw_metrics *m, int idx, const void *payload, size_t len);

/** Read a counter. Thread-safe. */
uint64_t gw_metrics_get(const uint64_t *counter);

/** Observe one latency of `kind` in seconds (negative or non-finite
 *  values are ignored: clocks of different machines may disagree).
 *  Thread-safe (relaxed atomics). */
void gw_metrics_observe(gw_metrics *m, gw_latency_kind kind, double seconds);

/** Label value of an error kind ("reading_invalid", ...). */
const char *gw_metrics_err_name(gw_err_kind kind);

/* What /metrics shows besides the counters: gauges read from the other
 * modules at the time of the request (gw_api collects them). */
typedef struct {
    size_t ws_clients;                 /* connected WebSocket clients */
    size_t ws_queued, ws_queued_max;   /* messages in all clients' queues; the fullest's */
    size_t sensors;                    /* sensors known (gw_store) */
    uint64_t sensor_evictions;         /* sensors evicted at GATEWAY_MAX_SENSORS (a counter) */
    int mqtt_connected;                /* 1 while connected to the broker */
    int chain_reachable;               /* 1 while the JSON-RPC node answers */
    uint64_t chain_head, chain_synced; /* latest block; events read up to here */
    gw_cache_stats cache;              /* the chain cache */
    int has_bus;                       /* bus figures present */
    gw_bus_stats bus;                  /* the queue to the lws thread */
    gw_status *status;                 /* other services' reports; NULL: none */
    int has_alarms;                    /* alarm figures present */
    gw_alarms_stats alarms;            /* the alarm table (gw_alarms.h) */
    double now;                        /* Unix s, for the reports' ages */
    double uptime_s;                   /* seconds since the gateway started */
} gw_metrics_gauges;

/** Render the counters and histograms of m and the gauges gz in the
 *  Prometheus text exposition format (version 0.0.4), then the status
 *  reports, uptime and iotad_build_info{version="<--version>"} 1.
 *  Returns: the text (malloc'd, owned by the caller, NUL-terminated), or
 *           NULL when out of memory.
 *  Out: len: its length in bytes.
 *  Reads m's counters atomically; gz->status is read under its own lock.
 *  Thread-safe otherwise (no shared state). */
char *gw_metrics_render(const gw_metrics *m, const gw_metrics_gauges *gz, size_t *len);

#endif
