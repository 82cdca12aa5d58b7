/*
 * gateway — one process serving the REST API, the WebSocket feed and the
 * dashboard with libwebsockets, fed by MQTT (readings, anomalies, chain
 * confirmations) and by the chain itself (AnomalyLogger events).
 *
 * main() parses the configuration, creates the modules (gw.h lists them and
 * their threads), and runs the lws event loop on this thread until SIGINT
 * or SIGTERM. Messages produced on other threads reach the loop through the
 * bus (gw_bus) and lws_cancel_service(); a one-second lws timer updates
 * rates and disconnects slow WebSocket clients.
 */
#include <arpa/inet.h>
#include <libwebsockets.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/config.h"
#include "gw.h"
#include "gw_alarms_api.h"
#include "gw_feed.h"
#include "gw_host.h"
#include "gw_http.h"
#include "gw_notify.h"
#include "gw_peers.h"
#include "gw_ws.h"
#include "base/log.h"
#include "bus/status.h"
#include "bus/topics.h"

static gw G;
static gw_config C;
static const char *log_level_name;
static volatile sig_atomic_t stop_flag;
static lws_sorted_usec_list_t tick_sul;
static long ws_ping_s, ws_hangup_s;
static gw_peer *pending_peer; /* admitted, not yet attached to its wsi */
static volatile sig_atomic_t fatal_chain_id;

static const config_option opts[] = {
    {"host", "GATEWAY_HOST", CONFIG_STR, "127.0.0.1",
     "address to listen on (beyond loopback, e.g. 0.0.0.0, needs GATEWAY_TOKEN)", &C.host},
    {"port", "GATEWAY_PORT", CONFIG_INT, "8080", "HTTP/WebSocket port", &C.port},
    {"www-dir", "WWW_DIR", CONFIG_STR, NULL,
     "dashboard files (default: services/gateway/www next to the build)", &C.www_dir},
    {"uplot-dir", "UPLOT_DIR", CONFIG_STR, NULL,
     "uPlot dist directory served at /vendor/uplot/ (default: tools/node_modules/uplot/dist)",
     &C.vendor_dir},
    {"token", "GATEWAY_TOKEN", CONFIG_STR, NULL,
     "bearer token required for every write (POST /api/readings); unset = no writes", &C.token},
    {"allowed-hosts", "GATEWAY_ALLOWED_HOSTS", CONFIG_STR, "",
     "Host names served besides localhost, IP literals, the machine's name and GATEWAY_HOST: "
     "comma list "
     "('.example.com' = with subdomains), '*' = any",
     &C.allowed_hosts},
    {"max-conn-per-ip", "GATEWAY_MAX_CONN_PER_IP", CONFIG_INT, "64",
     "open connections per client address at most (more are closed at once)", &C.max_conn_per_ip},
    {"cors-origin", "CORS_ORIGIN", CONFIG_STR, "",
     "origins allowed cross-origin: '' same-origin only, '*' any, or a comma list", &C.cors_origin},
    {"ws-allowed-origins", "WS_ALLOWED_ORIGINS", CONFIG_STR, "",
     "WebSocket Origin policy: '' same-origin only, '*' any, or a comma list", &C.ws_origins},
    {"max-body-bytes", "MAX_BODY_BYTES", CONFIG_INT, "65536", "request body limit (413 above)",
     &C.max_body},
    {"ws-max-message-bytes", "WS_MAX_MESSAGE_BYTES", CONFIG_INT, "4096",
     "client WebSocket message limit (closed with 1009 above)", &C.ws_max_msg},
    {"ws-reading-interval-ms", "WS_READING_INTERVAL_MS", CONFIG_INT, "250",
     "a sensor's readings go to WebSocket clients at most this often, the newest kept "
     "(anomalies always in full; 0 = every reading)",
     &C.ws_reading_ms},
    {"ws-queue", "WS_QUEUE_MESSAGES", CONFIG_INT, "1024",
     "messages queued per WebSocket client before dropping", &C.ws_queue},
    {"ws-slow-client-s", "WS_SLOW_CLIENT_S", CONFIG_INT, "5",
     "disconnect a client that keeps dropping messages this long", &C.ws_slow_s},
    {"ws-ping-s", "WS_PING_S", CONFIG_INT, "20",
     "ping a WebSocket client silent this long (keepalive)", &ws_ping_s},
    {"ws-hangup-s", "WS_HANGUP_S", CONFIG_INT, "60",
     "close a WebSocket client that sent nothing, not even a pong, this long", &ws_hangup_s},
    {"ws-max-clients", "WS_MAX_CLIENTS", CONFIG_INT, "10000", "WebSocket clients at most",
     &C.ws_max_clients},
    {"ws-snapshot", "WS_SNAPSHOT", CONFIG_INT, "50",
     "newest on-chain anomalies sent to a client on connect", &C.ws_snapshot},
    {"ws-batch-ms", "WS_BATCH_MS", CONFIG_INT, "10",
     "fan-out window in ms (0 = every message at once)", &C.ws_batch_ms},
    {"max-batch", "MAX_BATCH_READINGS", CONFIG_INT, "1000", "readings per POST at most",
     &C.max_batch},
    MQTT_CONFIG_ROWS(&C.mqtt_url, &C.mqtt_username, &C.mqtt_password, &C.mqtt_ca_file),
    {"mqtt-client-id", "GATEWAY_MQTT_CLIENT_ID", CONFIG_STR, NULL,
     "MQTT client id (default gateway-<pid>)", &C.mqtt_client_id},
    {"rpc-url", "RPC_URL", CONFIG_STR, "http://127.0.0.1:8545", "JSON-RPC endpoint", &C.rpc_url},
    {"chain-id", "CHAIN_ID", CONFIG_INT, "1337", "expected chain id", &C.chain_id},
    {"contract-address", "CONTRACT_ADDRESS", CONFIG_STR, NULL,
     "AnomalyLogger address (default: read $STATE_DIR/contract-<chain_id>.json)", &C.contract},
    {"state-dir", "STATE_DIR", CONFIG_STR, "./state", "state directory", &C.state_dir},
    {"ingest-mapping", "INGEST_MAPPING", CONFIG_STR, NULL,
     "ingest mapping file enabling more device formats", &C.mapping},
    {"ring-size", "GATEWAY_RING_SIZE", CONFIG_INT, "600", "recent readings kept per sensor",
     &C.ring_len},
    {"max-sensors", "GATEWAY_MAX_SENSORS", CONFIG_INT, "2048", "sensors tracked at most",
     &C.max_sensors},
    {"stale-s", "SENSOR_STALE_S", CONFIG_INT, "30", "a sensor silent this long is 'stale'",
     &C.stale_s},
    {"cache-anomalies", "GATEWAY_CACHE_ANOMALIES", CONFIG_INT, "10000",
     "newest on-chain anomalies kept in memory; older ones are read from the chain on demand "
     "(0 = keep all)",
     &C.cache_max},
    {"bus-messages", "GATEWAY_BUS_MESSAGES", CONFIG_INT, "20000",
     "messages queued to the WebSocket loop at most (dropped and counted beyond)", &C.bus_max},
    {"proof-cache", "GATEWAY_PROOF_CACHE", CONFIG_INT, "10000",
     "on-chain isLogged answers cached per anomaly id (0 = ask the contract every time)",
     &C.proof_cache_max},
    {"proof-confirmations", "GATEWAY_PROOF_CONFIRMATIONS", CONFIG_INT, "1",
     "confirmations an anomaly's block needs before its isLogged answer is cached",
     &C.proof_confirmations},
    {"chain-poll-ms", "CHAIN_POLL_MS", CONFIG_INT, "500", "new-block polling interval", &C.poll_ms},
    {"alarms-max", "GATEWAY_ALARMS_MAX", CONFIG_INT, "10000",
     "alarms kept at most (active and cleared; the oldest cleared is evicted first)",
     &C.alarms_max},
    {"alarm-calm-s", "ALARM_CALM_S", CONFIG_DBL, "300",
     "an alarm clears after its stream has been calm this long (hysteresis)", &C.alarms.calm_s},
    {"alarm-point-calm-s", "ALARM_POINT_CALM_S", CONFIG_DBL, "60",
     "hysteresis of point alarms (0 = a point alarm clears at once)", &C.alarms.point_calm_s},
    {"alarm-calm-rules", "ALARM_CALM_RULES", CONFIG_STR, "",
     "hysteresis per sensor (id or id prefix) and kind: [SENSOR/]KIND=SECONDS,... (KIND may be "
     "*; the longest SENSOR match wins)",
     &C.alarms.calm_rules},
    {"alarm-major-score", "ALARM_MAJOR_SCORE", CONFIG_DBL, "0.75",
     "score from which an alarm is major", &C.alarms.sev_major_score},
    {"alarm-minor-score", "ALARM_MINOR_SCORE", CONFIG_DBL, "0.65",
     "score from which an alarm is minor (below: warning)", &C.alarms.sev_minor_score},
    {"alarm-far-ranges", "ALARM_FAR_RANGES", CONFIG_DBL, "3",
     "a value this many expected-range widths outside the range raises severity one step",
     &C.alarms.sev_far},
    {"alarm-absurd-ranges", "ALARM_ABSURD_RANGES", CONFIG_DBL, "10",
     "a value this many expected-range widths outside the range is critical", &C.alarms.sev_absurd},
    {"alarm-long-s", "ALARM_LONG_S", CONFIG_DBL, "3600",
     "an alarm active this long is raised one step (0 = never)", &C.alarms.sev_long_s},
    LOG_CONFIG_ROW(&log_level_name),
};

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
    if (G.lws)
        lws_cancel_service(G.lws);
}

static void wake_lws(void *arg)
{
    (void)arg;
    if (G.lws)
        lws_cancel_service(G.lws);
}

/* A node on another chain than CHAIN_ID: everything the gateway would show
 * (and verify) would come from the wrong chain, so it stops. */
static int chain_id_wrong(void)
{
    gw_chain_status st;
    memset(&st, 0, sizeof st);
    st.chain_id_seen = -1;
    if (G.chain)
        gw_chain_status_get(G.chain, &st);
    if (st.chain_id_seen < 0 || st.chain_id_seen == C.chain_id)
        return 0;
    log_error("chain_id_mismatch action=exit configured=%ld node=%ld msg=\"the node at RPC_URL "
              "is on chain %ld, not CHAIN_ID=%ld: fix CHAIN_ID or RPC_URL\"",
              C.chain_id, st.chain_id_seen, st.chain_id_seen, C.chain_id);
    return 1;
}

/* Per-address connection limit (gw_peers): counted from accept, attached
 * to the wsi once lws has adopted it (lws sets the opaque pointer itself
 * on adoption, so not earlier), released when the wsi is freed. */
static int peers_callback(struct lws *wsi, enum lws_callback_reasons reason, void *in)
{
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION: {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int fd = (int)(lws_intptr_t)in;
        /* A connection admitted before whose adoption failed. */
        gw_peers_release(G.peers, pending_peer);
        pending_peer = NULL;
        if (getpeername(fd, (struct sockaddr *)&sa, &len) != 0)
            return 0;
        pending_peer = gw_peers_admit(G.peers, (struct sockaddr *)&sa, len);
        if (!pending_peer) {
            char ip[INET6_ADDRSTRLEN] = "?";
            if (sa.ss_family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, ip, sizeof ip);
            else if (sa.ss_family == AF_INET6) {
                const struct in6_addr *a6 = &((struct sockaddr_in6 *)&sa)->sin6_addr;
                if (IN6_IS_ADDR_V4MAPPED(a6))
                    inet_ntop(AF_INET, a6->s6_addr + 12, ip, sizeof ip);
                else
                    inet_ntop(AF_INET6, a6, ip, sizeof ip);
            }
            gw_metrics_err(&G.metrics, GW_ERR_CONN_PER_IP);
            log_rate(15, 10, LOG_WARN, "conn_refused reason=per_ip ip=%s max=%ld", ip,
                     C.max_conn_per_ip);
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        if (pending_peer && !lws_get_opaque_user_data(wsi)) {
            lws_set_opaque_user_data(wsi, pending_peer);
            pending_peer = NULL;
        }
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        gw_peers_release(G.peers, lws_get_opaque_user_data(wsi));
        lws_set_opaque_user_data(wsi, NULL);
        return 0;
    default:
        return 0;
    }
}

static void tick(lws_sorted_usec_list_t *sul)
{
    if (chain_id_wrong()) {
        fatal_chain_id = 1;
        stop_flag = 1;
        lws_cancel_service(G.lws); /* out of lws_service() now */
        return;
    }
    gw_feed_flush(&G);
    gw_ws_tick(G.ws);
    gw_alarms_tick(G.alarms, (int64_t)(clock_wall() * 1000));
    lws_sul_schedule(G.lws, 0, sul, tick, LWS_US_PER_SEC);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_PROTOCOL_INIT:
        lws_sul_schedule(lws_get_context(wsi), 0, &tick_sul, tick, LWS_US_PER_SEC);
        return 0;
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
    case LWS_CALLBACK_WSI_DESTROY:
        return peers_callback(wsi, reason, in);
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        peers_callback(wsi, reason, in);
        return gw_http_callback(&G, wsi, reason, user, in, len);
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        gw_ws_drain(G.ws);
        gw_http_drain_jobs(&G);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLOSED:
        return gw_ws_callback(&G, wsi, reason, user, in, len);
    default:
        return gw_http_callback(&G, wsi, reason, user, in, len);
    }
}

static struct lws_protocols protocols[] = {
    {"gateway", callback, 0, 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* lws log lines go through our logger, so they share its format. */
static void lws_emit(int level, const char *line)
{
    char buf[512];
    size_t n = strnlen(line, sizeof buf - 1);
    memcpy(buf, line, n);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    log_msg(level == LLL_ERR ? LOG_ERROR : LOG_WARN, "lws msg=\"%s\"", buf);
}

/* Default for a directory setting: relative to the executable
 * (build/bin/gateway -> ../../<rel>), else relative to the working directory. */
static const char *default_dir(const char *rel, char *buf, size_t cap)
{
    char exe[PATH_MAX];
    struct stat st;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            int w = snprintf(buf, cap, "%s/../../%s", exe, rel);
            if (w > 0 && (size_t)w < cap && stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
                return buf;
        }
    }
    snprintf(buf, cap, "./%s", rel);
    return buf;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int check_config(void)
{
    if (C.port < 0 || C.port > 65535 || C.max_body < 2 || C.ws_max_msg < 16 || C.ws_queue < 4 ||
        C.ws_reading_ms < 0 || C.ws_reading_ms > 60000 ||
        C.ws_queue > 1000000 || C.ws_slow_s < 1 || C.ws_max_clients < 1 || C.ws_snapshot < 0 ||
        C.ws_batch_ms < 0 || C.ws_batch_ms > 1000 || C.max_batch < 1 || C.ring_len < 1 ||
        C.max_sensors < 1 || C.stale_s < 1 || C.poll_ms < 10 || C.cache_max < 0 ||
        C.cache_max > 100000000 || C.bus_max < 16 || C.bus_max > 10000000 ||
        C.proof_cache_max < 0 || C.proof_cache_max > 10000000 || C.proof_confirmations < 1 ||
        C.proof_confirmations > 1000000 || C.max_conn_per_ip < 1 || C.max_conn_per_ip > 1000000 ||
        C.alarms_max < 16 || C.alarms_max > 10000000 || C.alarms.calm_s < 0 ||
        C.alarms.point_calm_s < 0 || C.alarms.sev_long_s < 0 || C.alarms.sev_far < 0 ||
        C.alarms.sev_absurd < 0) {
        fprintf(stderr, "gateway: a numeric setting is out of range (see --help)\n");
        return -1;
    }
    char rerr[200];
    if (gw_alarms_calm_rules_check(C.alarms.calm_rules, rerr, sizeof rerr) != 0) {
        fprintf(stderr, "gateway: %s\n", rerr);
        return -1;
    }
    /* Anyone who can reach a non-loopback address could post readings:
     * refuse to listen there without a token (#19). */
    if (!gw_host_is_loopback(C.host) && !(C.token && *C.token)) {
        fprintf(stderr,
                "gateway: GATEWAY_HOST=%s listens beyond this machine, but GATEWAY_TOKEN is not "
                "set, so anyone reaching it could post readings.\n"
                "  Set GATEWAY_TOKEN to a long random secret (e.g. GATEWAY_TOKEN=$(head -c 32 "
                "/dev/urandom | od -An -tx1 | tr -d ' \\n')),\n"
                "  or listen on loopback only (GATEWAY_HOST=127.0.0.1).\n",
                C.host && *C.host ? C.host : "(all addresses)");
        return -1;
    }
    return 0;
}

/* The shared context and the modules that only need memory (and their
 * configuration). Returns 0, -1 (out of memory, bad mapping), or -2 for a
 * bad GATEWAY_ALLOWED_HOSTS (exit code 2, like other configuration errors). */
static int create_modules(void)
{
    char herr[200];
    G.cfg = &C;
    G.started = clock_wall();
    gw_metrics_init(&G.metrics);
    gw_store_options so = {.max_sensors = (size_t)C.max_sensors,
                           .ring_len = (size_t)C.ring_len,
                           .stale_s = (double)C.stale_s};
    if (gw_store_create(&G.store, &so) != 0 ||
        gw_cache_create(&G.cache, (size_t)C.cache_max) != 0 || gw_status_create(&G.status) != 0 ||
        gw_bus_create(&G.bus, (size_t)C.bus_max, wake_lws, NULL) != 0 ||
        gw_ws_create(&G.ws, &G) != 0) {
        log_error("startup_failed reason=no_memory");
        return -1;
    }
    if (ingest_create(&G.ig, C.mapping) != 0)
        return -1;
    if (gw_hosts_create(&G.hosts, C.allowed_hosts, C.host, herr, sizeof herr) != 0) {
        log_error("bad_config %s", herr);
        return -2;
    }
    if (gw_alarms_api_create(&G) != 0) {
        log_error("startup_failed reason=alarms");
        return -1;
    }
    if (gw_peers_create(&G.peers, C.max_conn_per_ip) != 0 || gw_notify_create(&G.notify) != 0) {
        log_error("startup_failed reason=no_memory");
        return -1;
    }
    return 0;
}

/* The libwebsockets context: HTTP and WebSocket on one port. */
static int start_lws(void)
{
    static lws_retry_bo_t retry; /* keepalive: filled from WS_PING_S / WS_HANGUP_S */
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    protocols[0].per_session_data_size = gw_http_session_size() > gw_ws_session_size()
                                             ? gw_http_session_size()
                                             : gw_ws_session_size();
    info.port = (int)C.port;
    if (C.host && *C.host && strcmp(C.host, "0.0.0.0") != 0)
        info.iface = C.host;
    else
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.protocols = protocols;
    info.vhost_name = "gateway";
    info.server_string = "gateway";
    /* lws pings a client idle for ws_ping_s and drops it when nothing valid
     * (a pong included) came for ws_hangup_s. */
    if (ws_ping_s < 1 || ws_ping_s > 65535 || ws_hangup_s <= ws_ping_s || ws_hangup_s > 65535) {
        log_error("bad_config: WS_PING_S must be 1..65535 and WS_HANGUP_S above it");
        return -1;
    }
    retry.secs_since_valid_ping = (uint16_t)ws_ping_s;
    retry.secs_since_valid_hangup = (uint16_t)ws_hangup_s;
    info.retry_and_idle_policy = &retry;
    info.max_http_header_data = 8192;
    info.pt_serv_buf_size = 32768;
    info.timeout_secs = 20;
    info.fd_limit_per_thread = (unsigned int)(C.ws_max_clients + 512);
    G.lws = lws_create_context(&info);
    if (!G.lws) {
        log_error("startup_failed reason=listen host=%s port=%ld", C.host, C.port);
        return -1;
    }
    return 0;
}

/* The chain follower and verifier threads. */
static int start_chain(void)
{
    gw_chain_options co = {.rpc_url = C.rpc_url,
                           .chain_id = C.chain_id,
                           .contract = C.contract,
                           .state_dir = C.state_dir,
                           .poll_ms = C.poll_ms,
                           .cache = G.cache,
                           .bus = G.bus,
                           .metrics = &G.metrics,
                           .wake = wake_lws,
                           .proof_cache_max = C.proof_cache_max,
                           .proof_confirmations = C.proof_confirmations};
    return gw_chain_start(&G.chain, &co);
}

/* The broker client; its callbacks start at once (gw_feed). */
static int start_mqtt(void)
{
    static const char *topics[GW_FEED_MAX_TOPICS]; /* read by mqtt on every reconnect */
    int ntopics = gw_feed_topics(&G, topics, GW_FEED_MAX_TOPICS);
    mqtt_options mo = {.uris = C.mqtt_url,
                       .client_id = C.mqtt_client_id,
                       .username = C.mqtt_username,
                       .password = C.mqtt_password,
                       .ca_file = C.mqtt_ca_file,
                       .clean_session = 1,
                       .topics = topics,
                       .ntopics = ntopics,
                       .sub_qos =
                           0, /* a live view: no broker queue for it, and on NATS a second QoS 1
                                 subscriber to anomalies/+ can starve the chain logger */
                       .on_message = gw_feed_on_message,
                       .user = &G};
    char avail[TOPICS_MAX];
    if (status_availability(&mo, avail, sizeof avail, "gateway", C.mqtt_client_id) != 0)
        log_warn("availability_disabled reason=\"client id is not a valid topic level\"");
    return mqtt_client_create(&G.mqtt, &mo);
}

/* Producers first (they push to the bus and wake lws), then lws. */
static void stop_all(void)
{
    mqtt_client_destroy(G.mqtt);
    gw_feed_destroy();
    G.mqtt = NULL;
    if (G.lws) {
        lws_sul_cancel(&tick_sul);
        gw_ws_shutdown(G.ws);
        lws_context_destroy(G.lws);
    }
    gw_chain_stop(G.chain);
    G.lws = NULL;
    gw_ws_destroy(G.ws);
    gw_bus_destroy(G.bus);
    gw_cache_destroy(G.cache);
    gw_status_destroy(G.status);
    gw_store_destroy(G.store);
    gw_alarms_destroy(G.alarms); /* after MQTT and lws: nothing feeds it any more */
    G.alarms = NULL;
    ingest_destroy(G.ig);
    gw_hosts_destroy(G.hosts);
    gw_peers_destroy(G.peers);
    gw_notify_destroy(G.notify);
    G.notify = NULL;
}

int main(int argc, char **argv)
{
    int rc = 1;
    enum log_level lvl;
    static char www[PATH_MAX], vendor[PATH_MAX], client_id[64]; /* C points into them */

    int crc = config_parse(opts, sizeof opts / sizeof opts[0], argc, argv, NULL, NULL);
    if (crc == CONFIG_HELP || crc == CONFIG_VERSION)
        return 0;
    if (crc != 0 || check_config() != 0)
        return 2;
    if (log_level_parse(log_level_name, &lvl) != 0) {
        fprintf(stderr, "gateway: unknown LOG_LEVEL '%s'\n", log_level_name);
        return 2;
    }
    log_init("gateway", lvl);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_emit);
    if (!C.www_dir)
        C.www_dir = default_dir("services/gateway/www", www, sizeof www);
    if (!C.vendor_dir)
        C.vendor_dir = default_dir("tools/node_modules/uplot/dist", vendor, sizeof vendor);
    if (!C.mqtt_client_id) {
        snprintf(client_id, sizeof client_id, "gateway-%ld", (long)getpid());
        C.mqtt_client_id = client_id;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();

    int mrc = create_modules();
    if (mrc != 0) {
        rc = mrc == -2 ? 2 : 1; /* -2: a configuration error */
        goto out;
    }
    if (start_lws() != 0 || start_chain() != 0 || start_mqtt() != 0)
        goto out;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    log_info("listening host=%s port=%ld www=%s token=%s cors=\"%s\" ws_origins=\"%s\" "
             "allowed_hosts=\"%s\" max_conn_per_ip=%ld",
             C.host, C.port, C.www_dir, (C.token && *C.token) ? "set" : "none (writes refused)",
             C.cors_origin, C.ws_origins, C.allowed_hosts, C.max_conn_per_ip);
    while (!stop_flag)
        if (lws_service(G.lws, 0) < 0)
            break;
    log_info("stopping");
    rc = fatal_chain_id ? 1 : 0;
out:
    stop_all();
    return rc;
}
