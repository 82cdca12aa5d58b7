/*
 * gw_http — the libwebsockets side of HTTP: reads a request (method, path,
 * query, headers, body up to MAX_BODY_BYTES), applies the Origin/CORS
 * policy, hands it to gw_api, and writes the answer (JSON, Prometheus text,
 * or a static file through lws_serve_http_file). Answers that wait for the
 * chain verifier are completed when the job comes back.
 * All functions run on the lws thread.
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <libwebsockets.h>
#include <stddef.h>

#include "gw.h"

/** Bytes of per-session data lws must allocate for an HTTP connection. */
size_t gw_http_session_size(void);

/** lws callback for the HTTP reasons; unknown reasons go to
 *  lws_callback_http_dummy. */
int gw_http_callback(gw *g, struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);

/** Deliver finished chain verifications to their waiting requests. Call on
 *  LWS_CALLBACK_EVENT_WAIT_CANCELLED. */
void gw_http_drain_jobs(gw *g);

#endif
