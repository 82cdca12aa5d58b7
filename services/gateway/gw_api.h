/*
 * gw_api — the REST handlers, separated from libwebsockets: a request goes
 * in as a plain struct, a response (status, content type, body, or a file
 * to serve, or a pending chain verification) comes out. gw_http does the
 * lws side; unit tests call gw_api_handle() directly.
 *
 * Routes (all bodies JSON unless said otherwise; gw_api_routes below is the
 * table, services/gateway/openapi.json the description, served at
 * GET /api/openapi.json):
 *   GET  /healthz                    200 when broker and chain are reachable, else 503
 *   GET  /readyz                     200 when connected and the chain cache is synced
 *   GET  /metrics                    Prometheus text format
 *   GET  /api/openapi.json           the OpenAPI 3.1 description (gw_openapi.h)
 *   GET  /api/chain                  chain id, redacted RPC URL, contract, head, sync state
 *   GET  /api/anomalies              from the chain cache; sensor_id, type, since, until,
 *                                    limit (1..1000, default 100), cursor
 *   GET  /api/anomalies/{id}         one anomaly with its proof, verified against its receipt
 *   GET  /api/sensors                every known sensor with last reading/anomaly and status
 *   GET  /api/sensors/{id}/readings  recent readings (since=, limit=) in columns
 *   GET/POST /api/alarms...          the alarm lifecycle (gw_alarms_api.h)
 *   GET  /api/notify/channels        the notifier's channels (gw_notify.h)
 *   POST /api/notify/test            a test message on one channel or all (gw_notify.h)
 *   POST /api/readings               one reading object or an array of them, each with
 *                                    "sensor_id"; published to sensors/{id}/readings
 *   GET  /, /<file>                  the dashboard (WWW_DIR); /vendor/uplot/<file> (VENDOR_DIR)
 */
#ifndef GW_API_H
#define GW_API_H

#include <jansson.h>
#include <stddef.h>

#include "gw.h"

enum { GW_M_GET = 1, GW_M_POST, GW_M_OPTIONS, GW_M_HEAD, GW_M_OTHER };

#define GW_MAX_ARGS 16

typedef struct {
    char name[32];
    char value[256];
} gw_arg;

typedef struct {
    int method;               /* GW_M_* */
    const char *path;         /* decoded path, without the query */
    gw_arg args[GW_MAX_ARGS]; /* decoded query arguments */
    int nargs;
    int args_overflow; /* more arguments (or longer) than fit: a 400 */
    const char *body;  /* POST body (not NUL-terminated), may be NULL */
    size_t body_len;
    const char *authorization; /* the Authorization header, or NULL */
} gw_request;

typedef struct {
    int status;
    const char *content_type; /* static string */
    char *body;               /* malloc'd, owned by the response (gw_api_response_free) */
    size_t len;
    int auth_challenge;    /* add WWW-Authenticate: Bearer */
    int no_store;          /* add Cache-Control: no-store (API answers) */
    char *file;            /* malloc'd path of a static file to serve instead of body */
    const char *file_type; /* its MIME type */
    gw_verify_job *job;    /* set: the answer comes when this job completes */
} gw_response;

/* Path parameters of a matched route: the values of its "{name}"
 * segments, in order. */
#define GW_ROUTE_PARAMS 2
#define GW_ROUTE_PARAM_MAX 256
typedef struct {
    int n;
    char v[GW_ROUTE_PARAMS][GW_ROUTE_PARAM_MAX];
} gw_params;

/* One API route. Adding an endpoint is one row in gw_api_routes (gw_api.c)
 * and its operation in services/gateway/openapi.json. */
typedef struct {
    int method;       /* GW_M_GET (HEAD is answered too) or GW_M_POST */
    const char *path; /* an OpenAPI path template: "{name}" is one non-empty segment */
    int write;        /* 1: needs the bearer token (gw_api_authorized) */
    void (*handle)(gw *g, const gw_request *rq, const gw_params *pp, gw_response *rs);
} gw_route;

/** The route table, ended by a row whose path is NULL. Read-only. */
extern const gw_route gw_api_routes[];

/** Match a URL path against a route's path template.
 *  Returns: 1 when it matches (one trailing '/' allowed), filling pp with
 *  the parameters; 0 otherwise (also when a parameter is longer than
 *  GW_ROUTE_PARAM_MAX - 1). Pure; thread-safe. */
int gw_api_route_match(const char *pattern, const char *path, gw_params *pp);

/** Handle one request. Fills *rs (zero it first). Never fails: errors are
 *  responses (4xx/5xx JSON {"error": "...", "code": "..."}). Call from the
 *  lws thread (reads gw_ws state for /metrics). */
void gw_api_handle(gw *g, const gw_request *rq, gw_response *rs);

/** Free what a response owns (not a submitted job). */
void gw_api_response_free(gw_response *rs);

/** Fill rs with a JSON error {"error": message, "code": code}. */
void gw_api_error(gw_response *rs, int status, const char *code, const char *message);

/** Make j the JSON body of rs with this status (no-store); takes ownership
 *  of j (NULL, or a failed encoding, gives a 500 "out of memory" body). */
void gw_api_json(gw_response *rs, int status, json_t *j);

/** gw_api_error, counted in g's error metrics by status (400, 401, 403,
 *  404, 413; other statuses are not counted). */
void gw_api_error_counted(gw *g, gw_response *rs, int status, const char *code,
                          const char *message);

/** 1 when the Authorization header carries the configured bearer token
 *  (compared in constant time); else 0, always 0 when no token is
 *  configured (a gateway without GATEWAY_TOKEN accepts no writes). */
int gw_api_authorized(const gw *g, const char *authorization);

/** Replace *rs with the 401 answer for an unauthorized write (counted,
 *  with WWW-Authenticate; the message says whether a token is configured). */
void gw_api_unauthorized(gw *g, gw_response *rs);

/** Resolve a URL path to a file under the dashboard or vendor directory,
 *  refusing anything that could escape them ("..", backslashes, NUL,
 *  hidden files). Out: path (malloc'd), mime. Returns 0, or -1 when refused. */
int gw_api_static_path(const gw_config *cfg, const char *url_path, char **path, const char **mime);

#endif
