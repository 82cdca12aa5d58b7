/*
 * nasty_gw.h — the gateway's network-facing parsers (services/gateway/,
 * the gateway engineer's code, used through its public gw_ functions
 * only), with their input layouts and contracts; shared like nasty.h
 * between tests/fuzz/fuzz_gateway.c and tests/unit/test_nasty.c.
 *
 * Input: byte 0 % 7 picks the entry point; the rest is split into lines
 * where a mode needs several fields:
 *   0 REST   gw_api_handle: "<M> <path>[?query]\n<Authorization>\n<body>",
 *            M = G(ET) P(OST) O(PTIONS) H(EAD) or anything else; the query is
 *            split on '&' and '=' as the HTTP layer hands it over (at most
 *            GW_MAX_ARGS args, longer ones set args_overflow); the body is
 *            cut at the configured limit as gw_http does.
 *            Checked: a status in 100..599; JSON bodies parse; errors are
 *            {"error","code"} (health checks answer 503 with their status
 *            document); no secret (bearer token, RPC URL password)
 *            in any body; POST /api/readings without the token is a 401.
 *   1 WS     gw_ws_filter_parse (a client's message). Checked: the filter's
 *            kinds are a non-empty subset, sensor ids valid, count bounded.
 *   2 MQTT   gw_feed_on_message: "<topic>\n<payload>" (readings in every
 *            format, anomalies/+, chain/logged/+). Checked: every frame put
 *            on the WebSocket bus is one text frame of JSON with a "type";
 *            the sensor table stays bounded.
 *   3 MQTT   gw_feed_logged_parse: "<sensor id>\n<payload>" (called with
 *            valid ids only, as on_logged does after checking the topic).
 *   4 HTTP   gw_api_static_path: the URL path. Checked: the file is inside
 *            the dashboard or vendor directory, never "..", "//" or hidden.
 *   5 HTTP   gw_origin_allowed: "<policy>\n<Origin>\n<Host>".
 *   6 HTTP   gw_cache_cursor_parse: the cursor argument.
 */
#ifndef TESTS_FUZZ_NASTY_GW_H
#define TESTS_FUZZ_NASTY_GW_H

#include "gateway/gw.h"
#include "gateway/gw_api.h"
#include "gateway/gw_origin.h"
#include "gateway/gw_bus.h"
#include "gateway/gw_feed.h"
#include "gateway/gw_ws.h"
#include "nasty.h"

#include <errno.h>
#include <strings.h>

#define NASTY_GW_TOKEN "s3cret-token-do-not-echo"
#define NASTY_GW_RPC_PASSWORD "hunter2-rpc-password"

typedef struct {
    gw_config cfg;
    gw g;
} nasty_gw;

static inline int nasty_gw_init(nasty_gw *n)
{
    memset(n, 0, sizeof *n);
    gw_config *c = &n->cfg;
    c->host = "127.0.0.1";
    c->port = 8080;
    c->www_dir = "/srv/www";
    c->vendor_dir = "/srv/vendor";
    c->token = NASTY_GW_TOKEN;
    c->cors_origin = "";
    c->ws_origins = "";
    c->max_body = 65536;
    c->ws_max_msg = 4096;
    c->ws_queue = 64;
    c->ws_slow_s = 10;
    c->ws_max_clients = 16;
    c->ws_snapshot = 10;
    c->max_batch = 100;
    c->mqtt_url = "tcp://gateway:" NASTY_GW_RPC_PASSWORD "@127.0.0.1:1883";
    c->mqtt_username = "gateway";
    c->mqtt_password = NASTY_GW_RPC_PASSWORD;
    c->rpc_url = "http://user:" NASTY_GW_RPC_PASSWORD "@127.0.0.1:8545";
    c->chain_id = 1337;
    c->contract = "0x5b1869d9a4c187f2eaa108f3062412ecf0526b24";
    c->state_dir = "/nonexistent";
    c->ring_len = 16;
    c->max_sensors = 64;
    c->stale_s = 30;
    c->poll_ms = 1000;
    n->g.cfg = c;
    gw_metrics_init(&n->g.metrics);
    gw_store_options so = {.max_sensors = 64, .ring_len = 16, .stale_s = 30};
    char err[256];
    if (gw_store_create(&n->g.store, &so) != 0 || gw_cache_create(&n->g.cache, 0) != 0 ||
        gw_bus_create(&n->g.bus, 100000, NULL, NULL) != 0 ||
        ingest_create_from_json(&n->g.ig, nasty_mapping_a, strlen(nasty_mapping_a), err,
                                sizeof err) != 0)
        return -1;
    return 0;
}

static inline void nasty_gw_free(nasty_gw *n)
{
    gw_msg *m = n->g.bus ? gw_bus_take(n->g.bus) : NULL;
    while (m) {
        gw_msg *next = m->next;
        gw_msg_unref(m);
        m = next;
    }
    gw_bus_destroy(n->g.bus);
    gw_cache_destroy(n->g.cache);
    gw_store_destroy(n->g.store);
    ingest_destroy(n->g.ig);
    memset(n, 0, sizeof *n);
}

/* Every frame queued for WebSocket clients: one unmasked final text frame
 * whose payload is a JSON object with a "type" string. Returns the count. */
static inline int nasty_gw_drain(nasty_gw *n)
{
    int count = 0;
    gw_msg *m = gw_bus_take(n->g.bus);
    while (m) {
        gw_msg *next = m->next;
        NASTY_CHECK(m->len >= 2 && m->frame[0] == 0x81);
        size_t hl = m->frame[1] < 126 ? 2 : (m->frame[1] == 126 ? 4 : 10);
        NASTY_CHECK(m->len >= hl);
        json_error_t jerr;
        json_t *j = json_loadb((const char *)m->frame + hl, m->len - hl, 0, &jerr);
        if (!j)
            fprintf(stderr, "bus frame is not JSON: %s\n", jerr.text);
        NASTY_CHECK(j && json_is_string(json_object_get(j, "type")));
        json_decref(j);
        gw_msg_unref(m);
        count++;
        m = next;
    }
    return count;
}

/* Split off one line: returns it NUL-terminated in `line` (cut to cap-1). */
static inline const uint8_t *nasty_gw_line(const uint8_t *d, const uint8_t *end, char *line,
                                           size_t cap)
{
    const uint8_t *nl = memchr(d, '\n', (size_t)(end - d));
    const uint8_t *stop = nl ? nl : end;
    size_t l = (size_t)(stop - d) < cap - 1 ? (size_t)(stop - d) : cap - 1;
    memcpy(line, d, l);
    line[l] = '\0';
    return nl ? nl + 1 : end;
}

static inline int nasty_gw_no_secret(const char *body, size_t len)
{
    static const char *const secrets[] = {NASTY_GW_TOKEN, NASTY_GW_RPC_PASSWORD};
    for (size_t i = 0; i < 2; i++) {
        size_t sl = strlen(secrets[i]);
        for (size_t o = 0; len >= sl && o <= len - sl; o++)
            if (memcmp(body + o, secrets[i], sl) == 0)
                return 0;
    }
    return 1;
}

static inline const char *nasty_gw_api(nasty_gw *n, const uint8_t *d, const uint8_t *end)
{
    const uint8_t *start = d;
    static char outcome[24];
    char reqline[2048], auth[512];
    gw_request rq;
    gw_response rs;

    memset(&rq, 0, sizeof rq);
    memset(&rs, 0, sizeof rs);
    d = nasty_gw_line(d, end, reqline, sizeof reqline);
    d = nasty_gw_line(d, end, auth, sizeof auth);
    switch (reqline[0]) {
    case 'G': rq.method = GW_M_GET; break;
    case 'P': rq.method = GW_M_POST; break;
    case 'O': rq.method = GW_M_OPTIONS; break;
    case 'H': rq.method = GW_M_HEAD; break;
    default: rq.method = GW_M_OTHER; break;
    }
    char *path = strchr(reqline, ' ');
    path = path ? path + 1 : reqline + strlen(reqline);
    char *q = strchr(path, '?');
    if (q) {
        *q++ = '\0';
        char *save = NULL;
        for (char *a = strtok_r(q, "&", &save); a; a = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(a, '=');
            const char *v = eq ? eq + 1 : "";
            if (eq)
                *eq = '\0';
            if (rq.nargs == GW_MAX_ARGS || strlen(a) >= sizeof rq.args[0].name ||
                strlen(v) >= sizeof rq.args[0].value) {
                rq.args_overflow = 1;
                break;
            }
            snprintf(rq.args[rq.nargs].name, sizeof rq.args[0].name, "%s", a);
            snprintf(rq.args[rq.nargs].value, sizeof rq.args[0].value, "%s", v);
            rq.nargs++;
        }
    }
    rq.path = path;
    rq.authorization = auth[0] ? auth : NULL;
    size_t blen = (size_t)(end - d);
    if (blen > (size_t)n->cfg.max_body + 1)
        blen = (size_t)n->cfg.max_body + 1; /* gw_http stops reading past the limit */
    rq.body = blen ? (const char *)d : NULL;
    rq.body_len = blen;

    gw_api_handle(&n->g, &rq, &rs);
    NASTY_CHECK(rs.status >= 100 && rs.status <= 599);
    NASTY_CHECK(rs.job == NULL); /* no chain in this context */
    if (rs.body) {
        /* Echoing the client's own bytes is no leak: check only requests
         * that do not carry a secret themselves (the MQTT mode never lets
         * one into the sensor table, see below). */
        if (nasty_gw_no_secret((const char *)start, (size_t)(end - start)))
            NASTY_CHECK(nasty_gw_no_secret(rs.body, rs.len));
        if (rs.content_type && strstr(rs.content_type, "json")) {
            json_error_t jerr;
            json_t *j = json_loadb(rs.body, rs.len, JSON_DECODE_ANY, &jerr);
            if (!j)
                fprintf(stderr, "response body is not JSON: %s\n", jerr.text);
            NASTY_CHECK(j != NULL);
            /* errors are {"error","code"}; a 503 from a health check is its
             * status document instead */
            if (rs.status >= 400 && strcmp(path, "/healthz") != 0 && strcmp(path, "/readyz") != 0)
                NASTY_CHECK(json_is_string(json_object_get(j, "error")) &&
                            json_is_string(json_object_get(j, "code")));
            json_decref(j);
        }
    }
    /* "Bearer" 1*SP token (RFC 6750 2.1), trailing whitespace being no
     * part of a header value (RFC 7230 3.2); the scheme is case-insensitive
     * (RFC 7235 2.1), the token is not */
    const char *tok = rq.authorization;
    size_t tl = 0;
    if (tok && strncasecmp(tok, "Bearer ", 7) == 0) {
        tok += 7;
        while (*tok == ' ')
            tok++;
        tl = strlen(tok);
        while (tl && tok[tl - 1] == ' ')
            tl--;
    } else {
        tok = NULL;
    }
    if (rq.method == GW_M_POST && strcmp(path, "/api/readings") == 0 && !rq.args_overflow &&
        (!tok || tl != strlen(NASTY_GW_TOKEN) || memcmp(tok, NASTY_GW_TOKEN, tl) != 0))
        NASTY_CHECK(rs.status == 401 && rs.auth_challenge);
    if (rs.file) {
        NASTY_CHECK(strncmp(rs.file, "/srv/www/", 9) == 0 || strncmp(rs.file, "/srv/vendor/", 12) == 0);
        NASTY_CHECK(!strstr(rs.file, "/.") && !strstr(rs.file, "//"));
    }
    snprintf(outcome, sizeof outcome, "status:%d", rs.status);
    gw_api_response_free(&rs);
    nasty_gw_drain(n);
    return outcome;
}

static inline const char *nasty_gateway(nasty_gw *n, const uint8_t *data, size_t size)
{
    char a[512], b[512], c[512], err[256];

    if (size < 1)
        return "-";
    const uint8_t *d = data + 1, *end = data + size;
    memset(err, 0x55, sizeof err);
    switch (data[0] % 7) {
    case 0:
        return nasty_gw_api(n, d, end);
    case 1: {
        gw_ws_filter f;
        memset(&f, 0, sizeof f);
        if (gw_ws_filter_parse((const char *)d, (size_t)(end - d), &f, err, sizeof err) != 0) {
            NASTY_CHECK(nasty_err_ok(err, sizeof err));
            return "invalid";
        }
        NASTY_CHECK(f.kinds != 0 && (f.kinds & ~(unsigned)GW_KIND_ALL) == 0);
        NASTY_CHECK(f.nsensors >= 0 && f.nsensors <= GW_WS_MAX_SENSORS);
        for (int i = 0; i < f.nsensors; i++)
            NASTY_CHECK(sensor_id_valid(f.sensors[i]));
        gw_ws_filter_free(&f);
        return "ok";
    }
    case 2: {
        if (!nasty_gw_no_secret((const char *)d, (size_t)(end - d)))
            return "-"; /* a sensor named like the token would be echoed, not leaked */
        d = nasty_gw_line(d, end, a, sizeof a);
        NASTY_CHECK(gw_feed_on_message(&n->g, a, d, (size_t)(end - d)) == 1);
        NASTY_CHECK(gw_store_count(n->g.store) <= 64);
        return nasty_gw_drain(n) > 0 ? "ok" : "none";
    }
    case 3: {
        d = nasty_gw_line(d, end, a, sizeof a);
        if (!sensor_id_valid(a))
            return "-"; /* precondition: on_logged passes a validated id */
        json_t *j = gw_feed_logged_parse(a, d, (size_t)(end - d), err, sizeof err);
        if (!j) {
            NASTY_CHECK(nasty_err_ok(err, sizeof err));
            return "invalid";
        }
        NASTY_CHECK(json_is_object(j));
        const char *sid = json_string_value(json_object_get(j, "sensor_id"));
        NASTY_CHECK(sid && strcmp(sid, a) == 0);
        char *dump = json_dumps(j, JSON_COMPACT);
        NASTY_CHECK(dump != NULL);
        free(dump);
        json_decref(j);
        return "ok";
    }
    case 4: {
        char *path = NULL;
        const char *mime = NULL;
        nasty_gw_line(d, end, a, sizeof a);
        if (gw_api_static_path(&n->cfg, a, &path, &mime) != 0)
            return "refused";
        NASTY_CHECK(path && mime);
        NASTY_CHECK(strncmp(path, "/srv/www/", 9) == 0 || strncmp(path, "/srv/vendor/", 12) == 0);
        NASTY_CHECK(!strstr(path, "/.") && !strstr(path, "//"));
        free(path);
        return "ok";
    }
    case 5: {
        d = nasty_gw_line(d, end, a, sizeof a);
        d = nasty_gw_line(d, end, b, sizeof b);
        nasty_gw_line(d, end, c, sizeof c);
        int r = gw_origin_allowed(a, b[0] ? b : NULL, c);
        NASTY_CHECK(r == 0 || r == 1);
        if (strcmp(a, "*") == 0 || !b[0])
            NASTY_CHECK(r == 1);
        return r ? "allowed" : "refused";
    }
    default: {
        gw_cache_query q;
        memset(&q, 0, sizeof q);
        nasty_gw_line(d, end, a, sizeof a);
        int r = gw_cache_cursor_parse(a, &q);
        if (r == 0) {
            NASTY_CHECK(q.has_cursor);
            errno = 0;
            unsigned long long b = strtoull(a, NULL, 10);
            NASTY_CHECK(errno != ERANGE); /* an overflowing block number is malformed */
            NASTY_CHECK(b == q.cur_block);
        }
        return r == 0 ? "ok" : "invalid";
    }
    }
}

#endif
