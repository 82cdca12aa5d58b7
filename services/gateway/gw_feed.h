/*
 * gw_feed — the gateway's MQTT input. Readings in every device format
 * (through ingest), anomalies on anomalies/+ and chain confirmations on
 * chain/logged/+ update the sensor store and become WebSocket messages on
 * the bus; anomalies, the detector's stream states (detector/alarm/+/+)
 * and readings also drive the alarm lifecycle (gw_alarms.h). Runs on
 * paho's callback thread.
 */
#ifndef GW_FEED_H
#define GW_FEED_H

#include <stddef.h>

#include "gw.h"

#define GW_FEED_MAX_TOPICS 64

/** The subscriptions: anomalies/+, chain/logged/+ and ingest's filters,
 *  plus their cluster-mode forms apart/+/anomalies/+ and part/+/<filter>
 *  (docs/SCALING.md); logs a warning when cap truncates the list.
 *  Out: out[0..cap-1] (pointers owned by ingest or static). Returns the count.
 *  Not thread-safe (fills a static table): call once at startup. */
int gw_feed_topics(gw *g, const char **out, int cap);

/** mqtt_message_cb for the gateway (user = gw *). Always returns 1: the
 *  gateway keeps no durable state, so a redelivery would not help. */
int gw_feed_on_message(void *user, const char *topic, const void *payload, size_t len);

/** Send the readings held back by coalescing (WS_READING_INTERVAL_MS)
 *  whose sensor's interval has passed. Call about once a second from any
 *  one thread; thread-safe with gw_feed_on_message. */
void gw_feed_flush(gw *g);

/** Free the coalescing table (at exit, after the MQTT client is gone). */
void gw_feed_destroy(void);

/** Validate a chain/logged payload for `sensor_id` and build the
 *  WebSocket "logged" data object {"id","sensor_id","tx_hash","block_number"
 *  [,"log_index"],"source":"mqtt"}. Out: err/errlen on failure.
 *  Returns a new reference, or NULL when invalid. Thread-safe. */
json_t *gw_feed_logged_parse(const char *sensor_id, const void *payload, size_t len, char *err,
                             size_t errlen);

#endif
