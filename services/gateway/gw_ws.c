/*
 * gw_ws — see gw_ws.h.
 *
 * Frames are written with LWS_WRITE_RAW (lws passes the bytes through
 * unchanged): each queued message already is a complete RFC 6455 text frame,
 * and no extension (permessage-deflate) is negotiated, so several frames
 * can go out in one write. If the kernel takes only part of a write, lws
 * keeps the rest and sends it before calling us writable again, so frames
 * are never interleaved with lws's own control frames (ping/pong/close).
 */
#include "gw_ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_host.h"
#include "gw_origin.h"
#include "base/log.h"
#include "base/clock.h"

#define WRITE_CHUNK (64 * 1024)
#define MAX_SNAPSHOT 1000

typedef struct client {
    int role; /* GW_ROLE_WS once established (the session memory is shared with gw_http) */
    struct client *prev, *next;
    struct lws *wsi;
    gw_msg **q;
    uint32_t qcap, qhead, qlen;
    uint64_t dropped;
    double drop_since; /* monotonic s when the queue overflowed; 0 = not dropping */
    gw_ws_filter f;
    char *rx; /* partial client message */
    size_t rxlen;
    int want_write;
    int kill;
    int live; /* established and registered */
} client;

struct gw_ws {
    gw *g;
    client *head;
    size_t n;
    int backlog;       /* the bus held more than one pass took */
    double last_drain; /* monotonic s of the last fan-out pass */
    lws_sorted_usec_list_t batch_sul;
    int timer_armed;
    unsigned char *wbuf; /* LWS_PRE + data */
    size_t wcap;         /* data capacity */
};

/* ---- filters ---------------------------------------------------------- */

void gw_ws_filter_free(gw_ws_filter *f)
{
    free(f->sensors);
    f->sensors = NULL;
    f->nsensors = 0;
}

int gw_ws_filter_match(const gw_ws_filter *f, unsigned kind, const char *sensor_id)
{
    if (!(f->kinds & kind))
        return 0;
    if (f->nsensors == 0)
        return 1;
    for (int i = 0; i < f->nsensors; i++)
        if (strcmp(f->sensors[i], sensor_id) == 0)
            return 1;
    return 0;
}

int gw_ws_filter_parse(const char *msg, size_t len, gw_ws_filter *f, char *err, size_t errlen)
{
    json_error_t jerr;
    int rc = -1;
    memset(f, 0, sizeof *f);
    json_t *root = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "invalid JSON: %s", jerr.text);
        return -1;
    }
    json_t *sub = json_object_get(root, "subscribe");
    if (!json_is_object(root) || !json_is_object(sub)) {
        snprintf(err, errlen, "expected {\"subscribe\": {\"sensors\": [...], \"types\": [...]}}");
        goto out;
    }
    json_t *sensors = json_object_get(sub, "sensors"), *types = json_object_get(sub, "types");
    f->kinds = GW_KIND_DEFAULT;
    if (types) {
        if (!json_is_array(types) || json_array_size(types) == 0) {
            snprintf(err, errlen,
                     "types must be a non-empty list of anomaly, reading, logged, alarm");
            goto out;
        }
        f->kinds = 0;
        size_t i;
        json_t *t;
        json_array_foreach(types, i, t)
        {
            unsigned k = gw_kind_parse(json_string_value(t));
            if (!k) {
                snprintf(err, errlen, "unknown type at index %zu (anomaly, reading, logged, alarm)",
                         i);
                goto out;
            }
            f->kinds |= k;
        }
    }
    if (sensors && !json_is_null(sensors)) {
        size_t n = json_is_array(sensors) ? json_array_size(sensors) : 0;
        if (!json_is_array(sensors) || n > GW_WS_MAX_SENSORS) {
            snprintf(err, errlen, "sensors must be null or a list of at most %d sensor ids",
                     GW_WS_MAX_SENSORS);
            goto out;
        }
        if (n) {
            f->sensors = calloc(n, sizeof *f->sensors);
            if (!f->sensors) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
        }
        size_t i;
        json_t *s;
        json_array_foreach(sensors, i, s)
        {
            const char *id = json_string_value(s);
            if (!sensor_id_valid(id)) {
                snprintf(err, errlen, "invalid sensor id at index %zu", i);
                goto out;
            }
            memcpy(f->sensors[i], id, strlen(id) + 1);
        }
        f->nsensors = (int)n;
        /* An empty list would match nothing forever: treat it as a mistake. */
        if (n == 0) {
            snprintf(err, errlen, "sensors is empty: use null for all sensors");
            goto out;
        }
    }
    rc = 0;
out:
    if (rc != 0)
        gw_ws_filter_free(f);
    json_decref(root);
    return rc;
}

static json_t *filter_json(const gw_ws_filter *f)
{
    json_t *types = json_array(), *sensors = f->nsensors ? json_array() : json_null();
    for (unsigned k = 1; k <= GW_KIND_ALARM; k <<= 1)
        if (f->kinds & k)
            json_array_append_new(types, json_string(gw_kind_name(k)));
    for (int i = 0; i < f->nsensors; i++)
        json_array_append_new(sensors, json_string(f->sensors[i]));
    return json_pack("{s:o, s:o}", "sensors", sensors, "types", types);
}

/* ---- registry --------------------------------------------------------- */

int gw_ws_create(gw_ws **out, gw *g)
{
    gw_ws *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->g = g;
    w->wcap = WRITE_CHUNK;
    w->wbuf = malloc(LWS_PRE + w->wcap);
    if (!w->wbuf) {
        free(w);
        return -1;
    }
    *out = w;
    return 0;
}

void gw_ws_destroy(gw_ws *w)
{
    if (!w)
        return;
    free(w->wbuf);
    free(w);
}

size_t gw_ws_session_size(void)
{
    return sizeof(client);
}

size_t gw_ws_clients(const gw_ws *w)
{
    return w->n;
}

void gw_ws_queue_stats(const gw_ws *w, size_t *queued, size_t *max_client)
{
    size_t sum = 0, mx = 0;
    for (const client *c = w->head; c; c = c->next) {
        sum += c->qlen;
        if (c->qlen > mx)
            mx = c->qlen;
    }
    *queued = sum;
    *max_client = mx;
}

static void enqueue(gw_ws *w, client *c, gw_msg *m)
{
    if (c->qlen == c->qcap) {
        c->dropped++;
        gw_metrics_add(&w->g->metrics.ws_dropped, 1);
        if (c->drop_since == 0)
            c->drop_since = clock_mono();
        return;
    }
    c->q[(c->qhead + c->qlen) % c->qcap] = m;
    c->qlen++;
    m->refs++;
    c->want_write = 1;
}

static void send_control(gw_ws *w, client *c, const char *type, json_t *data)
{
    char buf[8192];
    size_t n = data ? json_dumpb(data, buf, sizeof buf, JSON_COMPACT | JSON_PRESERVE_ORDER) : 0;
    json_decref(data);
    if (n == 0 || n > sizeof buf)
        return;
    gw_msg *m = gw_msg_wrap_type(type, 0, "", buf, n);
    if (!m)
        return;
    enqueue(w, c, m);
    gw_msg_unref(m);
}

static void snapshot_one(void *arg, const char *json, size_t len)
{
    client *c = arg;
    gw_msg *m = gw_msg_wrap(GW_KIND_ANOMALY, "", json, len);
    if (!m || c->qlen == c->qcap) {
        gw_msg_unref(m);
        return;
    }
    c->q[(c->qhead + c->qlen) % c->qcap] = m; /* takes the reference */
    c->qlen++;
}

static void unlink_client(gw_ws *w, client *c)
{
    if (!c->live)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->live = 0;
    w->n--;
    while (c->qlen) {
        gw_msg_unref(c->q[c->qhead]);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
    }
    free(c->q);
    c->q = NULL;
    free(c->rx);
    c->rx = NULL;
    gw_ws_filter_free(&c->f);
}

/* ---- lws callback ----------------------------------------------------- */

static int accept_upgrade(gw_ws *w, struct lws *wsi)
{
    const gw_config *cfg = w->g->cfg;
    char uri[64] = "", origin[256] = "", host[256] = "";
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0 || strcmp(uri, "/ws") != 0)
        return 0;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) >= (int)sizeof origin ||
        lws_hdr_total_length(wsi, WSI_TOKEN_HOST) >= (int)sizeof host)
        goto refuse_origin;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0)
        lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HOST) > 0)
        lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);
    if (w->g->hosts && !gw_hosts_allowed(w->g->hosts, host)) {
        gw_metrics_err(&w->g->metrics, GW_ERR_HOST);
        log_rate(14, 10, LOG_WARN, "ws_refused reason=host host=\"%.80s\"", host);
        return 0;
    }
    if (!gw_origin_allowed(cfg->ws_origins, origin, host))
        goto refuse_origin;
    if ((long)w->n >= cfg->ws_max_clients) {
        gw_metrics_add(&w->g->metrics.ws_rejected_clients, 1);
        log_rate(10, 10, LOG_WARN, "ws_refused reason=max_clients max=%ld", cfg->ws_max_clients);
        return 0;
    }
    return 1;
refuse_origin:
    gw_metrics_err(&w->g->metrics, GW_ERR_WS_ORIGIN);
    log_rate(11, 10, LOG_WARN, "ws_refused reason=origin origin=\"%.80s\"", origin);
    return 0;
}

/* A client that starts following alarms first gets the active ones (its
 * sensors only), as events "snapshot", so a page opened mid-incident sees
 * them without polling. At most half its queue: the newest opened. */
static void send_active_alarms(gw_ws *w, client *c)
{
    gw_alarms_query q = {.state = ALARM_ACTIVE, .severity = -1, .limit = c->qcap / 2};
    json_t *page = w->g->alarms && q.limit ? gw_alarms_list_json(w->g->alarms, &q) : NULL;
    json_int_t now = (json_int_t)(clock_wall() * 1000);
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(page, "alarms"), i, x)
    {
        const char *sid = json_string_value(json_object_get(x, "sensor_id"));
        if (!sid || !gw_ws_filter_match(&c->f, GW_KIND_ALARM, sid))
            continue;
        json_t *ev =
            json_pack("{s:s, s:I, s:n, s:O}", "event", "snapshot", "at", now, "by", "alarm", x);
        gw_msg *m = ev ? gw_msg_from_json(GW_KIND_ALARM, sid, ev) : NULL;
        json_decref(ev);
        if (m)
            enqueue(w, c, m);
        gw_msg_unref(m);
    }
    json_decref(page);
}

static void handle_command(gw_ws *w, client *c)
{
    char err[200];
    gw_ws_filter f;
    if (gw_ws_filter_parse(c->rx, c->rxlen, &f, err, sizeof err) != 0) {
        gw_metrics_err(&w->g->metrics, GW_ERR_WS_BAD_MESSAGE);
        send_control(w, c, "error", json_pack("{s:s}", "error", err));
        return;
    }
    int had_alarms = (c->f.kinds & GW_KIND_ALARM) != 0;
    gw_ws_filter_free(&c->f);
    c->f = f;
    send_control(w, c, "subscribed", filter_json(&c->f));
    if (!had_alarms && (c->f.kinds & GW_KIND_ALARM))
        send_active_alarms(w, c);
}

static int on_writable(gw_ws *w, client *c, struct lws *wsi)
{
    if (c->kill) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)"too slow", 8);
        return -1;
    }
    size_t total = 0, count = 0;
    while (c->qlen) {
        gw_msg *m = c->q[c->qhead];
        if (total + m->len > w->wcap) {
            if (total)
                break;
            /* One frame larger than the buffer: grow it once. */
            unsigned char *nb = realloc(w->wbuf, LWS_PRE + m->len);
            if (!nb)
                return -1;
            w->wbuf = nb;
            w->wcap = m->len;
        }
        memcpy(w->wbuf + LWS_PRE + total, m->frame, m->len);
        total += m->len;
        count++;
        gw_msg_unref(m);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
    }
    if (total) {
        int n = lws_write(wsi, w->wbuf + LWS_PRE, total, LWS_WRITE_RAW);
        if (n < (int)total)
            return -1;
        gw_metrics_event(&w->g->metrics, GW_RATE_WS_SENT, count);
    }
    if (c->drop_since && c->qlen < c->qcap / 2)
        c->drop_since = 0;
    if (c->qlen)
        lws_callback_on_writable(wsi);
    return 0;
}

int gw_ws_callback(gw *g, struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    gw_ws *w = g->ws;
    client *c = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return accept_upgrade(w, wsi) ? 0 : -1;

    case LWS_CALLBACK_ESTABLISHED:
        memset(c, 0, sizeof *c);
        c->role = GW_ROLE_WS;
        c->wsi = wsi;
        c->qcap = (uint32_t)g->cfg->ws_queue;
        c->q = calloc(c->qcap, sizeof *c->q);
        if (!c->q)
            return -1;
        c->f.kinds = GW_KIND_DEFAULT;
        c->next = w->head;
        if (w->head)
            w->head->prev = c;
        w->head = c;
        c->live = 1;
        w->n++;
        {
            size_t n = (size_t)g->cfg->ws_snapshot;
            if (n > MAX_SNAPSHOT)
                n = MAX_SNAPSHOT;
            if (n > c->qcap / 2)
                n = c->qcap / 2;
            gw_cache_newest(g->cache, n, snapshot_one, c);
        }
        if (c->qlen)
            lws_callback_on_writable(wsi);
        return 0;

    case LWS_CALLBACK_RECEIVE:
        if (!c || c->role != GW_ROLE_WS || !c->live)
            return -1;
        if (lws_frame_is_binary(wsi) || c->rxlen + len > (size_t)g->cfg->ws_max_msg) {
            int binary = lws_frame_is_binary(wsi);
            gw_metrics_err(&g->metrics, binary ? GW_ERR_WS_BAD_MESSAGE : GW_ERR_WS_TOO_LARGE);
            log_rate(12, 10, LOG_WARN, "ws_message_refused reason=%s",
                     binary ? "binary" : "too_large");
            lws_close_reason(wsi,
                             binary ? LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE
                                    : LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                             (unsigned char *)(binary ? "binary" : "too large"), binary ? 6 : 9);
            return -1;
        }
        if (!c->rx) {
            c->rx = malloc((size_t)g->cfg->ws_max_msg + 1);
            if (!c->rx)
                return -1;
        }
        memcpy(c->rx + c->rxlen, in, len);
        c->rxlen += len;
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
            handle_command(w, c);
            c->rxlen = 0;
            if (c->want_write) {
                c->want_write = 0;
                lws_callback_on_writable(wsi);
            }
        }
        return 0;

    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!c || c->role != GW_ROLE_WS || !c->live)
            return 0;
        c->want_write = 0;
        return on_writable(w, c, wsi);

    case LWS_CALLBACK_CLOSED:
        if (c && c->role == GW_ROLE_WS)
            unlink_client(w, c);
        return 0;

    default:
        return 0;
    }
}

/* Fan-out runs at most once per WS_BATCH_MS: messages arriving in between
 * wait on the bus and go out together, so each client costs one write per
 * window rather than one per message (1,000 clients x 1,000 messages/s would
 * otherwise be a million send() calls a second). A wake-up inside the window
 * arms a timer for its end instead.
 *
 * Each pass fans out at most half a client queue, then lets lws write
 * before the next pass (we wake ourselves with lws_cancel_service). A
 * backlog that built up while the loop was busy thus reaches a client that
 * keeps up in slices it can absorb, instead of overflowing its queue in one
 * go; only a client that does not read falls behind. */
static void drain_timer(lws_sorted_usec_list_t *sul)
{
    gw_ws *w = lws_container_of(sul, gw_ws, batch_sul);
    w->timer_armed = 0;
    gw_ws_drain(w);
}

void gw_ws_drain(gw_ws *w)
{
    double now = clock_mono();
    double window = (double)w->g->cfg->ws_batch_ms / 1000.0;
    if (!w->backlog && now - w->last_drain < window) {
        if (!w->timer_armed && w->g->lws) {
            w->timer_armed = 1;
            lws_sul_schedule(w->g->lws, 0, &w->batch_sul, drain_timer,
                             (lws_usec_t)((w->last_drain + window - now) * 1e6) + 1);
        }
        return;
    }
    w->last_drain = now;
    /* Take one pass's worth only: the rest stays in the bus, whose bound
     * then covers the whole backlog (producers drop and count beyond it). */
    size_t batch = (size_t)w->g->cfg->ws_queue / 2, left = 0;
    if (batch < 1)
        batch = 1;
    gw_msg *list = gw_bus_take_n(w->g->bus, batch, &left);
    w->backlog = left > 0;
    while (list) {
        gw_msg *m = list;
        list = m->next;
        for (client *c = w->head; c; c = c->next)
            if (!c->kill && gw_ws_filter_match(&c->f, m->kind, m->sensor_id))
                enqueue(w, c, m);
        gw_msg_unref(m);
    }
    for (client *c = w->head; c; c = c->next) {
        if (c->want_write) {
            c->want_write = 0;
            lws_callback_on_writable(c->wsi);
        }
    }
    if (w->backlog && w->g->lws)
        lws_cancel_service(w->g->lws);
}

void gw_ws_tick(gw_ws *w)
{
    double now = clock_mono();
    for (client *c = w->head; c; c = c->next) {
        if (c->kill || !c->drop_since || now - c->drop_since < (double)w->g->cfg->ws_slow_s)
            continue;
        c->kill = 1;
        gw_metrics_add(&w->g->metrics.ws_slow_disconnects, 1);
        log_warn("ws_slow_client action=disconnect dropped=%llu queued=%u",
                 (unsigned long long)c->dropped, c->qlen);
        /* Its socket is full, so a close frame could not be sent either:
         * let lws close it on the next service pass. */
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
}

void gw_ws_shutdown(gw_ws *w)
{
    if (w->timer_armed)
        lws_sul_cancel(&w->batch_sul);
    w->timer_armed = 0;
}
