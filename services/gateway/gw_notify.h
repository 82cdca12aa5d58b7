/*
 * gw_notify — the gateway's view of the notifier (issue #18, item 5): the
 * channel reports it publishes, retained, on notify/channels/{instance}
 * (bus/notify.h), and the test request people send through the gateway.
 *
 * Routes (rows of gw_api_routes; described in openapi.json):
 *   GET  /api/notify/channels   {"channels": [{"instance", "name", "type",
 *        "sent_total", "events_sent_total", "failed_total", "retried_total",
 *        "rejected_total", "queued", "last_sent_at", "last_failure_at",
 *        "last_failure", "failing", "reported_at"}, ...],
 *        "notifiers": [{"instance", "reported_at", "age_s"}]}
 *        "failing" is true when the last attempt failed (its failure is
 *        newer than its last delivery). Times are Unix ms.
 *   POST /api/notify/test       body {"channel": "<name>"} or {} / empty
 *        (every channel); token required. Publishes notify/test (QoS 1).
 *        202 {"published": true, "channel": name|null}; 400 for a bad body;
 *        404 when notifiers have reported and none has that channel; 503
 *        when the broker does not take the message.
 *
 * The per-channel counters in /metrics come from the notifier's status
 * report (gw_status: iotad_notifier_sent_total{instance,channel},
 * _failed_total, _retried_total, _rejected_total, iotad_notifier_queued).
 *
 * Bounded: GW_NOTIFY_MAX_INSTANCES notifier instances (more are refused).
 * Thread-safety: every function is thread-safe (a mutex: the MQTT thread
 * stores, the lws thread answers).
 */
#ifndef GW_NOTIFY_H
#define GW_NOTIFY_H

#include <stddef.h>

#include "gw.h"
#include "gw_api.h"

#define GW_NOTIFY_MAX_INSTANCES 16

typedef struct gw_notify gw_notify; /* opaque */

/** Out: *out (gw_notify_destroy). Returns 0 or -1 (no memory). */
int gw_notify_create(gw_notify **out);
/** Free. NULL is ok. */
void gw_notify_destroy(gw_notify *n);

/** A message received on notify/channels/{instance}: validate
 *  (bus/notify.h; the payload's instance must be the topic's) and keep it
 *  as that instance's latest report. An empty payload (a cleared retained
 *  message) forgets the instance.
 *  In: received: Unix ms of receipt.
 *  Out: err: the reason on failure.
 *  Returns: 0, or -1 (invalid, or the table full). Never blocks. */
int gw_notify_put(gw_notify *n, const char *topic, const void *payload, size_t len,
                  int64_t received, char *err, size_t errlen);

/** GET /api/notify/channels (see the top). lws thread. */
void gw_notify_api_channels(gw *g, const gw_request *rq, gw_response *rs);

/** POST /api/notify/test (see the top); the token was checked by the
 *  router. lws thread. */
void gw_notify_api_test(gw *g, const gw_request *rq, gw_response *rs);

#endif
