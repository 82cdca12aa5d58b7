/*
 * gw_alarms_api — the gateway's side of the alarm lifecycle (gw_alarms.h):
 * creating it from the configuration, telling the world about each change,
 * and the REST routes people act through.
 *
 * Out, on every change (gw_alarms emit callback):
 *   MQTT alarms/events/{sensor_id}   the event (QoS 1, not retained)
 *   MQTT alarms/{sensor_id}          the sensor's active alarms (QoS 1, retained)
 *   WebSocket {"type":"alarm","data":{event}}   (kind "alarm" in subscriptions)
 * and, on false_positive, detector/feedback/{sensor_id}/{metric}
 * (bus/alarm_feedback.h) so the detector tolerates that behaviour.
 *
 * Routes (reads open like every GET; writes need the gateway token):
 *   GET  /api/alarms?state=active|cleared|all&sensor_id=&severity=&limit=&cursor=
 *        newest opened first; state defaults to all, limit to 100 (1..1000);
 *        {"alarms":[...],"next_cursor":"<n>"|null,"active":N}
 *   GET  /api/alarms/{id}            {"alarm", "anomalies", "actions"}
 *   POST /api/alarms/{id}/ack        {"alarm"}
 *   POST /api/alarms/{id}/clear      {"alarm"}
 *   POST /api/alarms/{id}/mute       body {"minutes": N} (0 lifts it) -> {"alarm"}
 *   POST /api/alarms/{id}/false_positive   body {"note": "..."} (optional) -> {"alarm"}
 *   POST /api/alarms/mute            body {"sensor_id", "metric" (optional), "minutes"}:
 *        mute a sensor or one stream (maintenance) -> {"muted": n, "until": ms|null}
 * Who acted: the body's "by" (1..64 printable bytes) when given, else the
 * query's by=, else "token" (the holder of the gateway token).
 */
#ifndef GW_ALARMS_API_H
#define GW_ALARMS_API_H

#include "gw.h"
#include "gw_api.h"

/** Create g->alarms from g->cfg (ALARM_* settings, state file
 *  $STATE_DIR/alarms.json, created with the directory when missing),
 *  emitting through MQTT (g->mqtt, when set) and the WebSocket bus.
 *  Returns: 0 or -1 (out of memory). Call once, before MQTT starts. */
int gw_alarms_api_create(gw *g);

/** 1 when path is /api/alarms or below it, else 0. */
int gw_alarms_api_match(const char *path);

/** Answer one /api/alarms... request (see the top). Fills *rs like
 *  gw_api_handle; errors are JSON with a stable "code". lws thread. */
void gw_alarms_api_handle(gw *g, const gw_request *rq, gw_response *rs);

/** The emit callback of gw_alarms (user = gw *): publishes and pushes as
 *  above. Exposed for tests. */
void gw_alarms_api_emit(void *user, const alarm_event *ev, const alarm_obj *active, size_t n);

#endif
