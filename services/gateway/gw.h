/*
 * gw — the gateway's shared context: its configuration and the modules
 * main.c wires together. Each module keeps its own locking; this struct is
 * filled once at start-up and only read afterwards.
 *
 * Modules and threads:
 *   lws thread (main)   gw_http (REST, static files), gw_ws (clients, fan-out)
 *   paho thread         gw_feed (MQTT readings/anomalies/confirmations in)
 *   chain threads       gw_chain (follower + verifier)
 *   shared, locked      gw_store (sensors), gw_cache (chain anomalies),
 *                       gw_bus (messages to the lws thread), gw_metrics,
 *                       gw_alarms (alarm lifecycle; REST in gw_alarms_api)
 */
#ifndef GW_H
#define GW_H

#include "gw_alarms.h"
#include "gw_bus.h"
#include "gw_cache.h"
#include "gw_chain.h"
#include "gw_metrics.h"
#include "gw_status.h"
#include "gw_store.h"
#include "ingest/ingest.h"
#include "bus/mqtt.h"

typedef struct {
    const char *host;
    long port;
    const char *www_dir;
    const char *vendor_dir;  /* uPlot's dist directory, served at /vendor/uplot/ */
    const char *token;       /* bearer token for writes; NULL/"" = none */
    const char *cors_origin; /* "" = same-origin only, "*" = any, or a comma list */
    const char *ws_origins;  /* same forms, for WebSocket upgrades */
    const char *allowed_hosts; /* extra Host names (gw_host.h); "*" = any */
    long max_conn_per_ip;      /* open connections per client address */
    long max_body;           /* request body limit, bytes */
    long ws_max_msg;         /* client message limit, bytes */
    long ws_queue;           /* per-client queue length, messages */
    long ws_slow_s;          /* a client dropping messages this long is disconnected */
    long ws_max_clients;
    long ws_snapshot; /* newest anomalies sent on connect */
    long ws_batch_ms; /* fan-out window: messages go out together at most this often */
    long ws_reading_ms; /* readings of one sensor go to browsers at most this often (0 = all) */
    long max_batch;   /* readings per POST */
    const char *mqtt_url, *mqtt_username, *mqtt_password, *mqtt_ca_file, *mqtt_client_id;
    const char *rpc_url;
    long chain_id;
    const char *contract;
    const char *state_dir;
    const char *mapping; /* ingest mapping file */
    long ring_len, max_sensors, stale_s, poll_ms;
    long cache_max;           /* anomalies kept in full in the chain cache (0 = no bound) */
    long bus_max;             /* messages queued to the lws thread at most */
    long proof_cache_max;     /* isLogged answers cached per anomaly id */
    long proof_confirmations; /* confirmations before such an answer is cached */
    gw_alarms_options alarms; /* ALARM_* settings (emit and path filled by main) */
    long alarms_max;          /* GATEWAY_ALARMS_MAX */
} gw_config;

typedef struct gw_ws gw_ws;       /* see gw_ws.h */
typedef struct gw_hosts gw_hosts; /* see gw_host.h */
typedef struct gw_peers gw_peers; /* see gw_peers.h */
typedef struct gw_notify gw_notify; /* see gw_notify.h */

/* lws gives each connection one block of per-session memory, used first by
 * gw_http (plain requests) or gw_ws (after an upgrade); its first int says
 * which, so neither module misreads the other's state. */
enum { GW_ROLE_NONE = 0, GW_ROLE_HTTP = 1, GW_ROLE_WS = 2 };

typedef struct gw {
    const gw_config *cfg;
    gw_metrics metrics;
    gw_store *store;
    gw_cache *cache;
    gw_status *status; /* other services' status reports; NULL in unit tests */
    gw_bus *bus;
    gw_chain *chain;   /* NULL in unit tests */
    mqtt_client *mqtt; /* NULL in unit tests */
    ingest *ig;
    gw_ws *ws;
    gw_hosts *hosts;   /* Host allow-list; NULL = any (unit tests) */
    gw_peers *peers;   /* connections per address; lws thread only */
    gw_alarms *alarms; /* alarm lifecycle; NULL when not created (unit tests) */
    gw_notify *notify; /* the notifier's channel reports; NULL in unit tests */
    struct lws_context *lws;
    double started; /* Unix s */
} gw;

#endif
