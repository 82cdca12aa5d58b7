/*
 * gw_api — see gw_api.h. Handlers build their answers with jansson; list
 * pages come pre-assembled from gw_cache. Errors are JSON with a stable
 * "code" for programs and an "error" sentence for people; they never carry
 * internal details (paths, configuration, stack traces).
 */
#include "gw_api.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "bus/topics.h"
#include "gw_alarms_api.h"
#include "gw_buf.h"
#include "gw_notify.h"
#include "gw_openapi.h"
#include "gw_ws.h"

#define JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))
#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

void gw_api_response_free(gw_response *rs)
{
    free(rs->body);
    free(rs->file);
    rs->body = NULL;
    rs->file = NULL;
}

void gw_api_json(gw_response *rs, int status, json_t *j)
{
    rs->status = status;
    rs->content_type = "application/json";
    rs->no_store = 1;
    rs->body = j ? json_dumps(j, JSON_FLAGS) : NULL;
    json_decref(j);
    if (!rs->body) {
        static const char oom[] = "{\"error\":\"out of memory\",\"code\":\"internal\"}";
        rs->status = 500;
        rs->body = strdup(oom);
    }
    rs->len = rs->body ? strlen(rs->body) : 0;
}

void gw_api_error(gw_response *rs, int status, const char *code, const char *message)
{
    free(rs->body);
    rs->body = NULL;
    gw_api_json(rs, status, json_pack("{s:s, s:s}", "error", message, "code", code));
}

void gw_api_error_counted(gw *g, gw_response *rs, int status, const char *code, const char *message)
{
    gw_err_kind k = status == 400   ? GW_ERR_HTTP_BAD_REQUEST
                    : status == 401 ? GW_ERR_HTTP_UNAUTHORIZED
                    : status == 403 ? GW_ERR_HTTP_FORBIDDEN
                    : status == 404 ? GW_ERR_HTTP_NOT_FOUND
                    : status == 413 ? GW_ERR_HTTP_TOO_LARGE
                                    : GW_ERR__COUNT;
    if (k != GW_ERR__COUNT)
        gw_metrics_err(&g->metrics, k);
    gw_api_error(rs, status, code, message);
}

static const char *arg(const gw_request *rq, const char *name)
{
    for (int i = 0; i < rq->nargs; i++)
        if (strcmp(rq->args[i].name, name) == 0)
            return rq->args[i].value;
    return NULL;
}

/* Strict number: the whole text, finite. */
static int parse_double(const char *s, double *out)
{
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_limit(const char *s, size_t def, size_t max, size_t *out)
{
    if (!s) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 1 || (size_t)v > max)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* Constant-time comparison, so response timing does not reveal how much of
 * a guessed token was right. */
static int ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char d = alen != blen;
    for (size_t i = 0; i < alen && i < blen; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

int gw_api_authorized(const gw *g, const char *authorization)
{
    const char *token = g->cfg->token;
    if (!token || !*token)
        return 0; /* no token configured: no writes at all (#19) */
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return 0;
    const char *t = authorization + 7;
    while (*t == ' ')
        t++;
    size_t tl = strlen(t);
    while (tl && t[tl - 1] == ' ')
        tl--;
    return ct_equal(t, tl, token, strlen(token));
}

void gw_api_unauthorized(gw *g, gw_response *rs)
{
    const char *token = g->cfg->token;
    gw_api_response_free(rs);
    memset(rs, 0, sizeof *rs);
    gw_api_error_counted(g, rs, 401, "unauthorized",
                  token && *token
                      ? "a valid bearer token is required (Authorization: Bearer ...)"
                      : "this gateway accepts no writes: it was started without GATEWAY_TOKEN");
    rs->auth_challenge = 1;
}

/* ---- static files ---------------------------------------------------- */

static const struct {
    const char *ext, *mime;
} mimes[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".map", "application/json"},
    {".webmanifest", "application/manifest+json"},
};

int gw_api_static_path(const gw_config *cfg, const char *url_path, char **path, const char **mime)
{
    const char *dir = cfg->www_dir, *rel = url_path;
    if (!rel || rel[0] != '/')
        return -1;
    if (strncmp(rel, "/vendor/uplot/", 14) == 0) {
        dir = cfg->vendor_dir;
        rel += 14;
    } else {
        rel += 1;
    }
    if (!dir || !*dir)
        return -1;
    if (*rel == '\0')
        rel = "index.html";
    size_t n = strlen(rel);
    if (n > 200)
        return -1;
    /* Only [A-Za-z0-9._-/], no segment starting with '.', so neither ".."
     * nor hidden files can be reached. */
    for (size_t i = 0; i < n; i++) {
        char c = rel[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-' || c == '/';
        if (!ok)
            return -1;
        if (c == '.' && (i == 0 || rel[i - 1] == '/'))
            return -1;
        if (c == '/' && (i == 0 || rel[i - 1] == '/'))
            return -1;
    }
    const char *dot = strrchr(rel, '.');
    const char *m = NULL;
    for (size_t i = 0; dot && i < sizeof mimes / sizeof mimes[0]; i++)
        if (strcmp(dot, mimes[i].ext) == 0)
            m = mimes[i].mime;
    if (!m)
        return -1;
    size_t len = strlen(dir) + 1 + n + 1;
    char *p = malloc(len);
    if (!p)
        return -1;
    snprintf(p, len, "%s/%s", dir, rel);
    *path = p;
    *mime = m;
    return 0;
}

/* ---- health ----------------------------------------------------------- */

static void chain_status(gw *g, gw_chain_status *st)
{
    memset(st, 0, sizeof *st);
    st->chain_id_seen = -1;
    if (g->chain)
        gw_chain_status_get(g->chain, st);
}

static void handle_health(gw *g, gw_response *rs, int ready)
{
    gw_chain_status st;
    chain_status(g, &st);
    int mqtt_ok = g->mqtt && mqtt_client_is_connected(g->mqtt);
    int ok = mqtt_ok && st.reachable;
    json_t *j = json_pack("{s:s, s:b, s:b}", "status", "", "mqtt", mqtt_ok, "chain", st.reachable);
    if (ready) {
        ok = ok && st.has_contract && st.caught_up;
        json_object_set_new(j, "contract", json_boolean(st.has_contract));
        json_object_set_new(j, "synced", json_boolean(st.caught_up));
    }
    json_object_set_new(j, "status", json_string(ok ? "ok" : "unavailable"));
    gw_api_json(rs, ok ? 200 : 503, j);
}

static uint64_t cache_total(gw *g)
{
    gw_cache_stats cs;
    gw_cache_stats_get(g->cache, &cs);
    return cs.total;
}

static void handle_chain(gw *g, gw_response *rs)
{
    gw_chain_status st;
    char url[512];
    chain_status(g, &st);
    gw_chain_redact_url(g->cfg->rpc_url, url, sizeof url);
    json_t *j = json_pack(
        "{s:I, s:s, s:o, s:b, s:I, s:I, s:b, s:I}", "chain_id", (json_int_t)g->cfg->chain_id,
        "rpc_url", url, "contract", st.has_contract ? json_string(st.contract) : json_null(),
        "reachable", st.reachable, "head", (json_int_t)st.head, "synced_block",
        (json_int_t)st.synced, "synced", st.caught_up, "anomalies", (json_int_t)cache_total(g));
    if (j && st.chain_id_seen >= 0)
        json_object_set_new(j, "node_chain_id", json_integer(st.chain_id_seen));
    gw_api_json(rs, 200, j);
}

/* ---- metrics ---------------------------------------------------------- */

/* Read the gauges /metrics shows from the modules that own them. */
static void metrics_gauges(gw *g, gw_metrics_gauges *gz)
{
    memset(gz, 0, sizeof *gz);
    gw_chain_status st;
    chain_status(g, &st);
    gz->chain_reachable = st.reachable;
    gz->chain_head = st.head;
    gz->chain_synced = st.synced;
    if (g->ws) {
        gz->ws_clients = gw_ws_clients(g->ws);
        gw_ws_queue_stats(g->ws, &gz->ws_queued, &gz->ws_queued_max);
    }
    gz->sensors = gw_store_count(g->store);
    gz->sensor_evictions = gw_store_evictions(g->store);
    gz->mqtt_connected = g->mqtt && mqtt_client_is_connected(g->mqtt);
    gw_cache_stats_get(g->cache, &gz->cache);
    if (g->bus) {
        gz->has_bus = 1;
        gw_bus_stats_get(g->bus, &gz->bus);
    }
    gz->status = g->status;
    if (g->alarms) {
        gz->has_alarms = 1;
        gw_alarms_stats_get(g->alarms, &gz->alarms);
    }
    gz->now = clock_wall();
    gz->uptime_s = gz->now - g->started;
}

static void handle_metrics(gw *g, gw_response *rs)
{
    gw_metrics_gauges gz;
    metrics_gauges(g, &gz);
    rs->body = gw_metrics_render(&g->metrics, &gz, &rs->len);
    if (!rs->body) {
        gw_api_error(rs, 500, "internal", "out of memory");
        return;
    }
    rs->status = 200;
    rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
    rs->no_store = 1;
}

/* ---- anomalies -------------------------------------------------------- */

static void handle_anomalies(gw *g, const gw_request *rq, gw_response *rs)
{
    gw_cache_query q = {.sensor_id = NULL, .type = -1, .since = NAN, .until = NAN};
    const char *v;
    if ((v = arg(rq, "sensor_id")) && *v) {
        if (!sensor_id_valid(v)) {
            gw_api_error_counted(g, rs, 400, "sensor_id", "sensor_id is not a valid sensor id");
            return;
        }
        q.sensor_id = v;
    }
    if ((v = arg(rq, "type")) && *v) {
        anomaly_type t;
        if (anomaly_type_parse(v, &t) != 0) {
            gw_api_error_counted(g, rs, 400, "type", "type must be point, contextual or change_point");
            return;
        }
        q.type = (int)t;
    }
    if ((v = arg(rq, "since")) && *v && parse_double(v, &q.since) != 0) {
        gw_api_error_counted(g, rs, 400, "since", "since must be a number of Unix seconds");
        return;
    }
    if ((v = arg(rq, "until")) && *v && parse_double(v, &q.until) != 0) {
        gw_api_error_counted(g, rs, 400, "until", "until must be a number of Unix seconds");
        return;
    }
    if (parse_limit(arg(rq, "limit"), PAGE_DEFAULT, PAGE_MAX, &q.limit) != 0) {
        gw_api_error_counted(g, rs, 400, "limit", "limit must be an integer from 1 to 1000");
        return;
    }
    if ((v = arg(rq, "cursor")) && *v && gw_cache_cursor_parse(v, &q) != 0) {
        gw_api_error_counted(g, rs, 400, "cursor", "cursor is malformed");
        return;
    }

    gw_chain_status st;
    chain_status(g, &st);
    if (g->chain && gw_cache_needs_chain(g->cache, &q)) {
        /* Below what the cache keeps: read the page from the chain on the
         * verifier thread; the answer comes when the job completes. */
        gw_cache_stats cs;
        gw_cache_stats_get(g->cache, &cs);
        gw_verify_job *job = calloc(1, sizeof *job);
        if (!job) {
            gw_api_error(rs, 500, "internal", "out of memory");
            return;
        }
        job->kind = GW_JOB_PAGE;
        job->q = q;
        if (q.sensor_id) {
            snprintf(job->sensor_buf, sizeof job->sensor_buf, "%s", q.sensor_id);
            job->q.sensor_id = job->sensor_buf;
        }
        job->extra = json_pack("{s:I, s:b, s:I}", "total", (json_int_t)cs.total, "synced",
                               st.caught_up, "synced_block", (json_int_t)st.synced);
        if (!job->extra || gw_chain_verify_submit(g->chain, job) != 0) {
            gw_verify_job_free(job);
            gw_api_error(rs, 503, "busy", "too many chain reads in progress");
            return;
        }
        gw_metrics_add(&g->metrics.archive_reads, 1);
        rs->job = job;
        return;
    }
    json_t *extra = json_pack("{s:b, s:I, s:s}", "synced", st.caught_up, "synced_block",
                              (json_int_t)st.synced, "source", "cache");
    rs->body = gw_cache_page(g->cache, &q, extra, &rs->len);
    json_decref(extra);
    if (!rs->body) {
        gw_api_error(rs, 500, "internal", "out of memory");
        return;
    }
    rs->status = 200;
    rs->content_type = "application/json";
    rs->no_store = 1;
}

static void handle_anomaly_one(gw *g, const char *id_in, gw_response *rs)
{
    char id[ANOMALY_ID_HEX];
    size_t n = strlen(id_in);
    if (n == 66 && id_in[0] == '0' && (id_in[1] == 'x' || id_in[1] == 'X')) {
        id_in += 2;
        n -= 2;
    }
    if (n != ANOMALY_ID_HEX - 1) {
        gw_api_error_counted(g, rs, 400, "id", "an anomaly id is 64 hex digits");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char c = id_in[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            gw_api_error_counted(g, rs, 400, "id", "an anomaly id is 64 hex digits");
            return;
        }
        id[i] = c;
    }
    id[n] = '\0';
    gw_verify_job *job = calloc(1, sizeof *job);
    if (!job) {
        gw_api_error(rs, 500, "internal", "out of memory");
        return;
    }
    if (gw_cache_get(g->cache, id, &job->item_json, &job->proof) != 0) {
        gw_cache_stats cs;
        gw_cache_stats_get(g->cache, &cs);
        if (!g->chain || cs.evicted == 0) {
            /* Nothing was evicted: the cache holds the whole chain read so far. */
            free(job);
            gw_api_error_counted(g, rs, 404, "not_found", "no anomaly with this id on chain");
            return;
        }
        /* Possibly evicted: the verifier looks it up on chain first. */
        job->kind = GW_JOB_VERIFY_ID;
        memcpy(job->id, id, sizeof job->id);
        gw_metrics_add(&g->metrics.archive_reads, 1);
    }
    if (!g->chain) {
        /* No verifier (unit tests): answer from the cache, unverified. */
        json_t *j = json_loads(job->item_json, 0, NULL);
        if (j)
            json_object_set_new(j, "verified", json_false());
        gw_verify_job_free(job);
        {
            gw_api_json(rs, 200, j);
            return;
        }
    }
    if (gw_chain_verify_submit(g->chain, job) != 0) {
        gw_verify_job_free(job);
        {
            gw_api_error(rs, 503, "busy", "too many verifications in progress");
            return;
        }
    }
    rs->job = job;
}

/* ---- sensors ---------------------------------------------------------- */

static void handle_sensors(gw *g, gw_response *rs)
{
    json_t *j = gw_store_sensors_json(g->store, clock_wall());
    if (!j) {
        gw_api_error(rs, 500, "internal", "out of memory");
        return;
    }
    gw_api_json(rs, 200, j);
}

static void handle_sensor_readings(gw *g, const gw_request *rq, const char *id, gw_response *rs)
{
    if (!sensor_id_valid(id)) {
        gw_api_error_counted(g, rs, 400, "sensor_id", "not a valid sensor id");
        return;
    }
    double since = -INFINITY;
    const char *v = arg(rq, "since");
    if (v && *v && parse_double(v, &since) != 0) {
        gw_api_error_counted(g, rs, 400, "since", "since must be a number of Unix seconds");
        return;
    }
    size_t limit;
    if (parse_limit(arg(rq, "limit"), 100000, 100000, &limit) != 0) {
        gw_api_error_counted(g, rs, 400, "limit", "limit must be a positive integer");
        return;
    }
    json_t *j = gw_store_readings_json(g->store, id, since, limit);
    if (!j) {
        if (!gw_store_known(g->store, id)) {
            gw_api_error_counted(g, rs, 404, "not_found", "unknown sensor");
            return;
        }
        {
            gw_api_error(rs, 500, "internal", "out of memory");
            return;
        }
    }
    gw_api_json(rs, 200, j);
}

/* ---- manual readings -------------------------------------------------- */

/* Validate one element of a POST body into r. Returns 0, or fills rs. */
static int validate_reading(gw *g, const json_t *el, size_t index, int is_list, double now,
                            reading *r, gw_response *rs)
{
    char err[256], msg[400], where[32] = "";
    if (is_list)
        snprintf(where, sizeof where, "reading %zu: ", index);
    if (!json_is_object(el)) {
        snprintf(msg, sizeof msg, "%sa reading must be a JSON object", where);
        gw_api_error_counted(g, rs, 400, "type", msg);
        return -1;
    }
    const char *sid = json_string_value(json_object_get(el, "sensor_id"));
    if (!sid || !sensor_id_valid(sid)) {
        snprintf(msg, sizeof msg,
                 "%ssensor_id is required: 1-64 characters of letters, digits, _ . : -", where);
        gw_api_error_counted(g, rs, 400, "sensor_id", msg);
        return -1;
    }
    /* Stricter than the MQTT path: a manual reading is typed by a person,
     * so a metric given as a string is a mistake to report, not to skip. */
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)el, key, val)
    {
        if (strcmp(key, "sensor_id") == 0)
            continue;
        if (!json_is_number(val)) {
            snprintf(msg, sizeof msg, "%smember '%.40s' must be a number", where, key);
            gw_api_error_counted(g, rs, 400, "type", msg);
            return -1;
        }
    }
    char buf[READING_MAX_PAYLOAD];
    size_t n = json_dumpb(el, buf, sizeof buf, JSON_COMPACT);
    if (n == 0 || n > sizeof buf) {
        snprintf(msg, sizeof msg, "%sreading too large", where);
        gw_api_error_counted(g, rs, 413, "too_large", msg);
        return -1;
    }
    int rc = reading_decode_json(sid, buf, n, now, r, err, sizeof err);
    if (rc != 0) {
        snprintf(msg, sizeof msg, "%s%s", where, err);
        gw_api_error_counted(g, rs, 400, reading_strerror(rc), msg);
        return -1;
    }
    return 0;
}

static void handle_post_readings(gw *g, const gw_request *rq, gw_response *rs)
{
    json_error_t jerr;
    reading *rd = NULL;
    json_t *root = NULL, *out = NULL;
    char msg[300];

    if (!rq->body || rq->body_len == 0) {
        gw_api_error_counted(g, rs, 400, "empty", "the request body is empty: send a JSON reading");
        return;
    }
    if (rq->body_len > (size_t)g->cfg->max_body) {
        gw_api_error_counted(g, rs, 413, "too_large", "request body too large");
        return;
    }
    root = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        snprintf(msg, sizeof msg, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        {
            gw_api_error_counted(g, rs, 400, "json", msg);
            return;
        }
    }
    int is_list = json_is_array(root);
    size_t n = is_list ? json_array_size(root) : 1;
    if (is_list && n == 0) {
        gw_api_error_counted(g, rs, 400, "empty", "the list of readings is empty");
        goto out;
    }
    if (n > (size_t)g->cfg->max_batch) {
        snprintf(msg, sizeof msg, "at most %ld readings per request", g->cfg->max_batch);
        gw_api_error_counted(g, rs, 413, "too_many", msg);
        goto out;
    }
    rd = calloc(n, sizeof *rd);
    if (!rd) {
        gw_api_error(rs, 500, "internal", "out of memory");
        goto out;
    }
    double now = clock_wall();
    /* All or nothing: validate everything before publishing anything. */
    for (size_t i = 0; i < n; i++)
        if (validate_reading(g, is_list ? json_array_get(root, i) : root, i, is_list, now, &rd[i],
                             rs) != 0)
            goto out;
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        char topic[SENSOR_ID_MAX + 32], payload[4096];
        int len = reading_encode_json(&rd[i], payload, sizeof payload);
        if (len < 0 || topics_reading(topic, sizeof topic, rd[i].sensor_id) < 0) {
            json_decref(items);
            gw_api_error(rs, 500, "internal", "could not encode the reading");
            goto out;
        }
        if (g->mqtt && mqtt_client_publish(g->mqtt, topic, payload, (size_t)len, 1, 0) != 0) {
            gw_metrics_err(&g->metrics, GW_ERR_PUBLISH);
            json_decref(items);
            snprintf(msg, sizeof msg,
                     "the broker is not accepting messages; %zu of %zu readings were published", i,
                     n);
            gw_api_error(rs, 503, "broker_unavailable", msg);
            goto out;
        }
        json_array_append_new(items, json_pack("{s:s, s:f, s:s}", "sensor_id", rd[i].sensor_id,
                                               "ts", rd[i].ts, "topic", topic));
    }
    log_info("manual_readings accepted=%zu", n);
    out = json_pack("{s:I, s:o}", "accepted", (json_int_t)n, "readings", items);
    gw_api_json(rs, 202, out);
out:
    free(rd);
    json_decref(root);
}

/* ---- routing ---------------------------------------------------------- */

static void route_healthz(gw *g, const gw_request *rq, const gw_params *pp, gw_response *rs)
{
    (void)rq, (void)pp;
    handle_health(g, rs, 0);
}

static void route_readyz(gw *g, const gw_request *rq, const gw_params *pp, gw_response *rs)
{
    (void)rq, (void)pp;
    handle_health(g, rs, 1);
}

static void route_metrics(gw *g, const gw_request *rq, const gw_params *pp, gw_response *rs)
{
    (void)rq, (void)pp;
    handle_metrics(g, rs);
}

static void route_openapi(gw *g, const gw_request *rq, const gw_params *pp, gw_response *rs)
{
    (void)g, (void)rq, (void)pp;
    json_t *doc = gw_openapi_document();
    if (!doc) {
        gw_api_error(rs, 500, "internal", "out of memory");
        return;
    }
    gw_api_json(rs, 200, doc);
}

static void route_chain(gw *g, const gw_request *rq, const gw_params *pp, gw_response *rs)
{
    (void)rq, (void)pp;
    handle_chain(g, rs);
}

static void route_anomaly_one(gw *g, const gw_request *rq, const gw_params *pp, gw_response *rs)
{
    (void)rq;
    handle_anomaly_one(g, pp->v[0], rs);
}

static void route_sensors(gw *g, const gw_request *rq, const gw_params *pp, gw_response *rs)
{
    (void)rq, (void)pp;
    handle_sensors(g, rs);
}

static void route_sensor_readings(gw *g, const gw_request *rq, const gw_params *pp, gw_response *rs)
{
    if (strlen(pp->v[0]) >= SENSOR_ID_MAX) { /* no such sensor can exist */
        gw_api_error_counted(g, rs, 404, "not_found", "unknown sensor");
        return;
    }
    handle_sensor_readings(g, rq, pp->v[0], rs);
}

static void route_post_readings(gw *g, const gw_request *rq, const gw_params *pp, gw_response *rs)
{
    (void)pp;
    handle_post_readings(g, rq, rs);
}

static void route_anomalies(gw *g, const gw_request *rq, const gw_params *pp, gw_response *rs)
{
    (void)pp;
    handle_anomalies(g, rq, rs);
}

/* Every API route, one line each. services/gateway/openapi.json describes
 * each of them (tests/unit/test_gw_openapi.c checks both ways). */
/* The alarm routes (gw_alarms_api.c parses the rest of the path). */
static void route_alarms(gw *g, const gw_request *rq, const gw_params *pp, gw_response *rs)
{
    (void)pp;
    gw_alarms_api_handle(g, rq, rs);
}

/* The notifier's channels and test message (gw_notify.h). */
static void route_notify_channels(gw *g, const gw_request *rq, const gw_params *pp, gw_response *rs)
{
    (void)pp;
    gw_notify_api_channels(g, rq, rs);
}

static void route_notify_test(gw *g, const gw_request *rq, const gw_params *pp, gw_response *rs)
{
    (void)pp;
    gw_notify_api_test(g, rq, rs);
}

const gw_route gw_api_routes[] = {
    {GW_M_GET, "/healthz", 0, route_healthz},
    {GW_M_GET, "/readyz", 0, route_readyz},
    {GW_M_GET, "/metrics", 0, route_metrics},
    {GW_M_GET, "/api/openapi.json", 0, route_openapi},
    {GW_M_GET, "/api/chain", 0, route_chain},
    {GW_M_GET, "/api/anomalies", 0, route_anomalies},
    {GW_M_GET, "/api/anomalies/{anomaly_id}", 0, route_anomaly_one},
    {GW_M_GET, "/api/sensors", 0, route_sensors},
    {GW_M_GET, "/api/sensors/{sensor_id}/readings", 0, route_sensor_readings},
    {GW_M_POST, "/api/readings", 1, route_post_readings},
    {GW_M_GET, "/api/alarms", 0, route_alarms},
    {GW_M_POST, "/api/alarms/mute", 1, route_alarms},
    {GW_M_GET, "/api/alarms/{alarm_id}", 0, route_alarms},
    {GW_M_POST, "/api/alarms/{alarm_id}/ack", 1, route_alarms},
    {GW_M_POST, "/api/alarms/{alarm_id}/clear", 1, route_alarms},
    {GW_M_POST, "/api/alarms/{alarm_id}/mute", 1, route_alarms},
    {GW_M_POST, "/api/alarms/{alarm_id}/false_positive", 1, route_alarms},
    {GW_M_GET, "/api/notify/channels", 0, route_notify_channels},
    {GW_M_POST, "/api/notify/test", 1, route_notify_test},
    {0, NULL, 0, NULL},
};

int gw_api_route_match(const char *pattern, const char *path, gw_params *pp)
{
    const char *t = pattern, *p = path;
    pp->n = 0;
    while (*t) {
        if (*t == '{') {
            const char *close = strchr(t, '}');
            size_t n = strcspn(p, "/");
            if (!close || n == 0 || n >= GW_ROUTE_PARAM_MAX || pp->n >= GW_ROUTE_PARAMS)
                return 0;
            memcpy(pp->v[pp->n], p, n);
            pp->v[pp->n++][n] = '\0';
            t = close + 1;
            p += n;
            continue;
        }
        if (*t++ != *p++)
            return 0;
    }
    /* One trailing slash is the same resource ("/api/anomalies/"). */
    return *p == '\0' || (p[0] == '/' && p[1] == '\0');
}

void gw_api_handle(gw *g, const gw_request *rq, gw_response *rs)
{
    const char *p = rq->path ? rq->path : "/";
    if (rq->args_overflow) {
        gw_api_error_counted(g, rs, 400, "query", "too many or too long query arguments");
        return;
    }

    /* The method as routes list it: HEAD is answered as GET. */
    int m = rq->method == GW_M_HEAD ? GW_M_GET : rq->method;
    int allowed = 0; /* a route has this path with another method */
    for (const gw_route *r = gw_api_routes; r->path; r++) {
        gw_params pp;
        if (!gw_api_route_match(r->path, p, &pp))
            continue;
        if (r->method != m) {
            allowed = r->method;
            continue;
        }
        if (r->write && !gw_api_authorized(g, rq->authorization)) {
            gw_api_unauthorized(g, rs);
            return;
        }
        r->handle(g, rq, &pp, rs);
        return;
    }
    if (allowed) {
        gw_api_error(rs, 405, "method", allowed == GW_M_POST ? "use POST" : "use GET");
        return;
    }
    if (m != GW_M_GET) {
        gw_api_error(rs, 405, "method", "method not allowed");
        return;
    }
    if (strncmp(p, "/api", 4) == 0 && (p[4] == '/' || p[4] == '\0')) {
        gw_api_error_counted(g, rs, 404, "not_found", "no such endpoint");
        return;
    }

    if (gw_api_static_path(g->cfg, p, &rs->file, &rs->file_type) == 0) {
        rs->status = 200;
        return;
    }
    gw_api_error_counted(g, rs, 404, "not_found", "not found");
}
