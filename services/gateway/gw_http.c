/*
 * gw_http — see gw_http.h.
 *
 * Life of a request (one session per connection, reused on keep-alive):
 *   LWS_CALLBACK_HTTP             parse; Host checked (gw_host); GET/OPTIONS
 *                                 answered at once; POST checked (Origin,
 *                                 token, Content-Length) and then its body
 *                                 awaited; any other method needs the token
 *   LWS_CALLBACK_HTTP_BODY        body appended, up to MAX_BODY_BYTES (413 beyond)
 *   LWS_CALLBACK_HTTP_BODY_COMPLETION  handled by gw_api
 *   LWS_CALLBACK_HTTP_WRITEABLE   headers, then the body in chunks
 * An error detected before the body is read is answered and the connection
 * closed, so an unread (possibly huge) body is never drained.
 */
#include "gw_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_api.h"
#include "gw_buf.h"
#include "gw_host.h"
#include "gw_origin.h"
#include "base/log.h"

#define BODY_CHUNK 32768
#define PATH_MAX_LEN 512

typedef struct {
    int role; /* GW_ROLE_HTTP */
    struct lws *wsi;
    gw_request rq;
    char path[PATH_MAX_LEN];
    char auth[512];
    char origin[256];
    int cors_allowed; /* echo Access-Control-Allow-Origin */
    gw_buf body;
    int awaiting_body, too_large, responded;
    gw_response rs;
    int headers_sent, close_after, preflight;
    size_t off;
    gw_verify_job *job;
} session;

size_t gw_http_session_size(void)
{
    return sizeof(session);
}

static void session_reset(session *s)
{
    if (s->role != GW_ROLE_HTTP)
        return;
    if (s->job) {
        s->job->abandoned = 1; /* the completion handler frees it */
        s->job = NULL;
    }
    gw_buf_free(&s->body);
    gw_api_response_free(&s->rs);
    memset(&s->rs, 0, sizeof s->rs);
}

static int copy_header(struct lws *wsi, char *dst, size_t cap, enum lws_token_indexes h)
{
    dst[0] = '\0';
    int n = lws_hdr_total_length(wsi, h);
    if (n <= 0)
        return 0;
    if ((size_t)n >= cap)
        return -1;
    return lws_hdr_copy(wsi, dst, (int)cap, h) < 0 ? -1 : 1;
}

static int method_of(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
        return GW_M_GET;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
        return GW_M_POST;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_OPTIONS_URI))
        return GW_M_OPTIONS;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI))
        return GW_M_HEAD;
    return GW_M_OTHER;
}

static void read_args(struct lws *wsi, gw_request *rq)
{
    char frag[300];
    rq->nargs = 0;
    for (int i = 0;; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n <= 0) {
            /* -1 means a fragment did not fit; 0 / absent means the end. */
            if (n < 0 && lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i) > 0)
                rq->args_overflow = 1;
            return;
        }
        if (rq->nargs == GW_MAX_ARGS) {
            rq->args_overflow = 1;
            return;
        }
        char *eq = strchr(frag, '=');
        const char *val = eq ? eq + 1 : "";
        if (eq)
            *eq = '\0';
        if (strlen(frag) >= sizeof rq->args[0].name || strlen(val) >= sizeof rq->args[0].value) {
            rq->args_overflow = 1;
            return;
        }
        gw_arg *a = &rq->args[rq->nargs++];
        memcpy(a->name, frag, strlen(frag) + 1);
        memcpy(a->value, val, strlen(val) + 1);
    }
}

static void count_status(gw *g, int status)
{
    if (status >= 100 && status < 600)
        gw_metrics_add(&g->metrics.http_requests[status / 100], 1);
}

/* Start answering with s->rs. */
static void respond(gw *g, session *s, struct lws *wsi)
{
    s->responded = 1;
    s->headers_sent = 0;
    s->off = 0;
    count_status(g, s->rs.status);
    lws_callback_on_writable(wsi);
}

static void respond_error(gw *g, session *s, struct lws *wsi, int status, gw_err_kind kind,
                          const char *code, const char *msg)
{
    gw_metrics_err(&g->metrics, kind);
    gw_api_response_free(&s->rs);
    memset(&s->rs, 0, sizeof s->rs);
    gw_api_error(&s->rs, status, code, msg);
    respond(g, s, wsi);
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

static int common_security_headers(struct lws *wsi, unsigned char **p, unsigned char *end, int html)
{
    if (add_header(wsi, "x-content-type-options:", "nosniff", p, end) ||
        add_header(wsi, "referrer-policy:", "no-referrer", p, end))
        return -1;
    /* The dashboard loads only its own files: no CDN, no inline script. */
    if (html && (add_header(wsi, "content-security-policy:",
                            "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                            "style-src 'self'; frame-ancestors 'none'",
                            p, end) ||
                 add_header(wsi, "x-frame-options:", "DENY", p, end)))
        return -1;
    return 0;
}

static int cors_headers(gw *g, session *s, struct lws *wsi, unsigned char **p, unsigned char *end)
{
    (void)g;
    if (!s->cors_allowed || !s->origin[0])
        return 0;
    if (add_header(wsi, "access-control-allow-origin:", s->origin, p, end) ||
        add_header(wsi, "vary:", "Origin", p, end))
        return -1;
    if (s->preflight &&
        (add_header(wsi, "access-control-allow-methods:", "GET, POST, OPTIONS", p, end) ||
         add_header(wsi, "access-control-allow-headers:", "authorization, content-type", p, end) ||
         add_header(wsi, "access-control-max-age:", "600", p, end)))
        return -1;
    return 0;
}

static int write_headers(gw *g, session *s, struct lws *wsi)
{
    unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start,
                                       *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(wsi, (unsigned int)s->rs.status, s->rs.content_type, s->rs.len,
                                    &p, end))
        return -1;
    if (common_security_headers(wsi, &p, end, 0) || cors_headers(g, s, wsi, &p, end))
        return -1;
    if (s->rs.no_store && add_header(wsi, "cache-control:", "no-store", &p, end))
        return -1;
    if (s->rs.auth_challenge &&
        add_header(wsi, "www-authenticate:", "Bearer realm=\"gateway\"", &p, end))
        return -1;
    if (s->close_after && add_header(wsi, "connection:", "close", &p, end))
        return -1;
    return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

/* Returns -1 to close the connection. */
static int on_writable(gw *g, session *s, struct lws *wsi)
{
    if (!s->responded || s->job)
        return 0;
    if (!s->headers_sent) {
        if (write_headers(g, s, wsi) != 0)
            return -1;
        s->headers_sent = 1;
        if (s->rs.len) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    } else {
        unsigned char buf[LWS_PRE + BODY_CHUNK];
        size_t n = s->rs.len - s->off;
        if (n > BODY_CHUNK)
            n = BODY_CHUNK;
        memcpy(buf + LWS_PRE, s->rs.body + s->off, n);
        int last = s->off + n >= s->rs.len;
        if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
            return -1;
        s->off += n;
        if (!last) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    /* Done. */
    int close_after = s->close_after;
    session_reset(s);
    s->responded = 0;
    if (close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int serve_file(gw *g, session *s, struct lws *wsi)
{
    unsigned char hdr[1024], *p = hdr, *end = hdr + sizeof hdr;
    int html = strstr(s->rs.file_type, "text/html") != NULL;
    if (common_security_headers(wsi, &p, end, html) ||
        add_header(wsi, "cache-control:", html ? "no-cache" : "max-age=300", &p, end))
        return -1;
    FILE *f = fopen(s->rs.file, "rb");
    if (!f) {
        respond_error(g, s, wsi, 404, GW_ERR_HTTP_NOT_FOUND, "not_found", "not found");
        return 0;
    }
    fclose(f);
    count_status(g, 200);
    int n =
        lws_serve_http_file(wsi, s->rs.file, s->rs.file_type, (const char *)hdr, (int)(p - hdr));
    gw_api_response_free(&s->rs);
    memset(&s->rs, 0, sizeof s->rs);
    if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
        return -1;
    return 0;
}

/* Run the API and start the answer. */
static int dispatch(gw *g, session *s, struct lws *wsi)
{
    s->rq.body = s->body.p;
    s->rq.body_len = s->body.len;
    gw_api_handle(g, &s->rq, &s->rs);
    if (s->rs.job) {
        s->job = s->rs.job;
        s->job->user = s;
        s->rs.job = NULL;
        s->responded = 1; /* the answer is on its way */
        return 0;
    }
    if (s->rs.file)
        return serve_file(g, s, wsi);
    respond(g, s, wsi);
    return 0;
}

static int on_request(gw *g, session *s, struct lws *wsi, const char *path)
{
    char host[256];
    session_reset(s);
    memset(s, 0, sizeof *s);
    s->role = GW_ROLE_HTTP;
    s->wsi = wsi;
    s->rq.method = method_of(wsi);
    s->rq.path = s->path;
    size_t pl = strlen(path);
    if (pl >= sizeof s->path) {
        s->close_after = 1;
        respond_error(g, s, wsi, 414, GW_ERR_HTTP_BAD_REQUEST, "uri_too_long", "URI too long");
        return 0;
    }
    memcpy(s->path, path, pl + 1);
    read_args(wsi, &s->rq);
    if (copy_header(wsi, s->auth, sizeof s->auth, WSI_TOKEN_HTTP_AUTHORIZATION) > 0)
        s->rq.authorization = s->auth;
    if (copy_header(wsi, s->origin, sizeof s->origin, WSI_TOKEN_ORIGIN) < 0 ||
        copy_header(wsi, host, sizeof host, WSI_TOKEN_HOST) < 0) {
        s->close_after = 1;
        respond_error(g, s, wsi, 400, GW_ERR_HTTP_BAD_REQUEST, "header", "header too long");
        return 0;
    }
    /* DNS rebinding: a page whose name now resolves to us sends its own
     * name as Host (gw_host.h). */
    if (g->hosts && !gw_hosts_allowed(g->hosts, host)) {
        s->close_after = 1;
        log_rate(13, 10, LOG_WARN, "http_refused reason=host host=\"%.80s\"", host);
        respond_error(g, s, wsi, 403, GW_ERR_HOST, "host",
                      "unknown Host: add it to GATEWAY_ALLOWED_HOSTS");
        return 0;
    }
    /* Cross-origin browsers get our CORS headers only when CORS_ORIGIN
     * allows them; same-origin (the dashboard) needs none. */
    int same_or_none = gw_origin_allowed("", s->origin, host);
    s->cors_allowed = !same_or_none && gw_origin_allowed(g->cfg->cors_origin, s->origin, host);
    int origin_ok = same_or_none || s->cors_allowed;

    if (s->rq.method == GW_M_OPTIONS) {
        s->preflight = 1;
        if (!origin_ok) {
            respond_error(g, s, wsi, 403, GW_ERR_HTTP_FORBIDDEN, "origin",
                          "origin not allowed (CORS_ORIGIN)");
            return 0;
        }
        s->rs.status = 204;
        s->rs.content_type = "text/plain";
        respond(g, s, wsi);
        return 0;
    }
    if (s->rq.method == GW_M_POST) {
        /* A browser page from another origin can send a "simple" POST
         * without a preflight: refuse it here (CSRF), whatever CORS says
         * about reading the answer. */
        s->close_after = 1; /* until the body is read completely */
        if (!origin_ok) {
            respond_error(g, s, wsi, 403, GW_ERR_HTTP_FORBIDDEN, "origin",
                          "origin not allowed (CORS_ORIGIN)");
            return 0;
        }
        if (!gw_api_authorized(g, s->rq.authorization)) {
            gw_api_unauthorized(g, &s->rs);
            respond(g, s, wsi);
            return 0;
        }
        /* Bodies must declare their length, so the limit is checked before
         * anything is read. */
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
            respond_error(g, s, wsi, 411, GW_ERR_HTTP_BAD_REQUEST, "length_required",
                          "Content-Length is required (chunked bodies are not accepted)");
            return 0;
        }
        char cl[32];
        int has_cl = copy_header(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH);
        if (has_cl > 0) {
            char *e;
            unsigned long long v = strtoull(cl, &e, 10);
            if (*e || e == cl) {
                respond_error(g, s, wsi, 400, GW_ERR_HTTP_BAD_REQUEST, "content_length",
                              "invalid Content-Length");
                return 0;
            }
            if (v > (unsigned long long)g->cfg->max_body) {
                respond_error(g, s, wsi, 413, GW_ERR_HTTP_TOO_LARGE, "too_large",
                              "request body too large (MAX_BODY_BYTES)");
                return 0;
            }
            if (v == 0) {
                s->close_after = 0;
                return dispatch(g, s, wsi);
            }
        } else if (has_cl < 0) {
            respond_error(g, s, wsi, 400, GW_ERR_HTTP_BAD_REQUEST, "content_length",
                          "invalid Content-Length");
            return 0;
        } else {
            /* No Content-Length and (see above) no chunking: no body. */
            s->close_after = 0;
            return dispatch(g, s, wsi);
        }
        s->awaiting_body = 1;
        return 0;
    }
    if (s->rq.method != GW_M_GET && s->rq.method != GW_M_HEAD &&
        !gw_api_authorized(g, s->rq.authorization)) {
        /* PUT, DELETE, PATCH...: every write needs the token (none exists
         * today; a new one must not be open by default). */
        s->close_after = 1;
        gw_api_unauthorized(g, &s->rs);
        respond(g, s, wsi);
        return 0;
    }
    return dispatch(g, s, wsi);
}

int gw_http_callback(gw *g, struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    session *s = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_request(g, s, wsi, in ? (const char *)in : "/");

    case LWS_CALLBACK_HTTP_BODY:
        if (!s || s->role != GW_ROLE_HTTP || !s->awaiting_body || s->too_large)
            return 0;
        if (s->body.len + len > (size_t)g->cfg->max_body) {
            s->too_large = 1;
            gw_buf_free(&s->body);
            return 0;
        }
        if (gw_buf_append(&s->body, in, len) != 0)
            s->too_large = 1;
        return 0;

    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (!s || s->role != GW_ROLE_HTTP || !s->awaiting_body)
            return 0;
        s->awaiting_body = 0;
        if (s->too_large) {
            respond_error(g, s, wsi, 413, GW_ERR_HTTP_TOO_LARGE, "too_large",
                          "request body too large (MAX_BODY_BYTES)");
            return 0;
        }
        s->close_after = 0;
        return dispatch(g, s, wsi);

    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (!s || s->role != GW_ROLE_HTTP)
            return 0;
        return on_writable(g, s, wsi);

    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (s && s->role == GW_ROLE_HTTP) {
            session_reset(s);
            s->role = GW_ROLE_NONE;
        }
        return lws_callback_http_dummy(wsi, reason, user, in, len);

    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

void gw_http_drain_jobs(gw *g)
{
    if (!g->chain)
        return;
    gw_verify_job *j = gw_chain_take_done(g->chain);
    while (j) {
        gw_verify_job *next = j->next;
        if (!j->abandoned) {
            session *s = j->user;
            s->job = NULL;
            gw_api_response_free(&s->rs);
            memset(&s->rs, 0, sizeof s->rs);
            if (j->result_json) {
                s->rs.status = j->status;
                s->rs.content_type = "application/json";
                s->rs.no_store = 1;
                s->rs.body = j->result_json;
                s->rs.len = strlen(j->result_json);
                j->result_json = NULL;
            } else {
                gw_api_error(&s->rs, 500, "internal", "verification failed");
            }
            respond(g, s, s->wsi);
        }
        gw_verify_job_free(j);
        j = next;
    }
}
