/*
 * gw_ws — WebSocket clients on /ws and the fan-out of live messages to them.
 *
 * Every client has a bounded queue of references to shared, pre-framed
 * messages (gw_bus.h). Fan-out appends a reference to each interested
 * client's queue and asks lws for a writable callback; the writable
 * callback copies as many queued frames as fit in one buffer and sends them
 * with one write, so a busy client costs one syscall per wake-up rather
 * than one per message.
 *
 * A client that does not keep up (its socket is full, so its queue fills)
 * has further messages dropped and counted (gateway_ws_dropped_total); after
 * WS_SLOW_CLIENT_S seconds of dropping it is disconnected. Nothing one
 * client does can block the others: the lws thread never waits on a socket.
 *
 * Client -> server messages (at most WS_MAX_MESSAGE_BYTES):
 *   {"subscribe": {"sensors": ["a", "b"], "types": ["anomaly", "logged"]}}
 * ("sensors" null or absent = all sensors; "types" absent = anomaly,
 * reading and logged: "alarm" events only when named),
 * answered by {"type": "subscribed", "data": {...the filter...}}; anything
 * else gets {"type": "error", "data": {"error": "..."}}.
 *
 * All functions run on the lws thread.
 */
#ifndef GW_WS_H
#define GW_WS_H

#include <libwebsockets.h>
#include <stddef.h>

#include "gw.h"

#define GW_WS_MAX_SENSORS 256 /* sensors in one subscription */

/** A subscription filter. */
typedef struct {
    unsigned kinds;                 /* GW_KIND_* mask */
    int nsensors;                   /* 0 = all sensors */
    char (*sensors)[SENSOR_ID_MAX]; /* malloc'd, nsensors entries */
} gw_ws_filter;

/** Parse a client command into a filter (see the file comment).
 *  Out: f (free with gw_ws_filter_free); err/errlen on failure.
 *  Returns 0, or -1 when the message is not a valid subscribe command. */
int gw_ws_filter_parse(const char *msg, size_t len, gw_ws_filter *f, char *err, size_t errlen);
void gw_ws_filter_free(gw_ws_filter *f);

/** 1 when a message of `kind` about `sensor_id` passes the filter. */
int gw_ws_filter_match(const gw_ws_filter *f, unsigned kind, const char *sensor_id);

/** Create the client registry. Returns 0 or -1 (no memory). */
int gw_ws_create(gw_ws **out, gw *g);
void gw_ws_destroy(gw_ws *w);

/** Bytes of per-session data lws must allocate for a client. */
size_t gw_ws_session_size(void);

/** lws callback for the WebSocket reasons (FILTER_PROTOCOL_CONNECTION,
 *  ESTABLISHED, RECEIVE, SERVER_WRITEABLE, CLOSED). */
int gw_ws_callback(gw *g, struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len);

/** Take everything queued on the bus and fan it out. Call on
 *  LWS_CALLBACK_EVENT_WAIT_CANCELLED. */
void gw_ws_drain(gw_ws *w);

/** Once a second: disconnect clients that have been dropping too long. */
void gw_ws_tick(gw_ws *w);

/** Connected clients. */
size_t gw_ws_clients(const gw_ws *w);

/** Messages waiting in the per-client send queues: the sum over clients
 *  and the fullest client's count (each is bounded by WS_QUEUE_MESSAGES).
 *  Out: *queued, *max_client. lws thread only. */
void gw_ws_queue_stats(const gw_ws *w, size_t *queued, size_t *max_client);

/** Cancel the fan-out timer; call before lws_context_destroy(). */
void gw_ws_shutdown(gw_ws *w);

#endif
