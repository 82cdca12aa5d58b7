/*
 * gw_store — what the gateway knows about each sensor from the live MQTT
 * stream: its last reading, last anomaly (and whether it is confirmed on
 * chain), a status, and a bounded ring of recent readings for charts.
 *
 * Memory is bounded: at most max_sensors sensors (a flood of invented
 * sensor ids cannot grow it further: a new sensor beyond it replaces the
 * least recently seen one, counted by gw_store_evictions()) and ring_len
 * readings per sensor,
 * each stored compactly (timestamp + up to READING_MAX_METRICS values
 * against a per-sensor table of metric names). The ring is allocated when a
 * sensor first appears; adding a reading afterwards allocates nothing.
 *
 * Thread-safety: every function is thread-safe (one mutex). The MQTT
 * thread writes, the lws thread reads.
 */
#ifndef GW_STORE_H
#define GW_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/anomaly.h"
#include "bus/reading.h"

typedef struct gw_store gw_store; /* opaque */

typedef struct {
    size_t max_sensors; /* 0 = 2048 */
    size_t ring_len;    /* readings kept per sensor; 0 = 600 */
    double stale_s;     /* no reading for this long -> "stale"; 0 = 30 */
    double anomalous_s; /* an anomaly this recent -> "anomalous"; 0 = 60 */
} gw_store_options;

/** Out: *out, owned by the caller (gw_store_destroy). Returns 0 or -1 (no memory). */
int gw_store_create(gw_store **out, const gw_store_options *opt);
void gw_store_destroy(gw_store *s);

/** Record a reading (registering its sensor when new, in place of the least
 *  recently seen sensor when max_sensors are known).
 *  In: now: receipt time (Unix s), for the status.
 *  Returns: 0; -1 when out of memory. */
int gw_store_add_reading(gw_store *s, const reading *r, double now);

/** Record an anomaly as its sensor's last anomaly (registering the sensor
 *  like gw_store_add_reading).
 *  Returns: 0; -1 when out of memory. */
int gw_store_add_anomaly(gw_store *s, const anomaly *a, double now);

/** Seconds since the reading of `sensor_id` whose ts is `ts` (to the
 *  millisecond) arrived, if it is still in the sensor's ring.
 *  Returns: now - its receipt time, or NAN when not found. Thread-safe. */
double gw_store_reading_age(gw_store *s, const char *sensor_id, double ts, double now);

/** Seconds since the sensor's last anomaly arrived, when its id is `id`
 *  and it is not yet marked logged (call before gw_store_mark_logged; an
 *  anomaly followed by another on the same sensor before its confirmation
 *  is not timed). Returns: now - its receipt time, or NAN. Thread-safe. */
double gw_store_anomaly_age(gw_store *s, const char *sensor_id, const char *id, double now);

/** Mark the sensor's last anomaly confirmed when its id is `id`.
 *  Returns: 1 when it matched, 0 otherwise. */
int gw_store_mark_logged(gw_store *s, const char *sensor_id, const char *id, const char *tx_hash,
                         unsigned long long block_number);

/** Number of known sensors. */
size_t gw_store_count(gw_store *s);

/** Sensors dropped so far to make room for new ones (least recently seen
 *  first). */
uint64_t gw_store_evictions(gw_store *s);

/** {"sensors": [{"sensor_id", "status", "readings", "last_seen",
 *  "last_reading": {...}|null, "last_anomaly": {...}|null}, ...]},
 *  sorted by sensor id. Returns a new reference, or NULL (no memory). */
json_t *gw_store_sensors_json(gw_store *s, double now);

/** Readings of one sensor with ts > since, oldest first, at most `limit`
 *  (the newest ones), in columns for charting:
 *  {"sensor_id": "x", "count": n, "ts": [...], "metrics": {"temperature": [...|null]}}.
 *  Returns a new reference; NULL when the sensor is unknown (or no memory,
 *  distinguishable by gw_store_known()). */
json_t *gw_store_readings_json(gw_store *s, const char *sensor_id, double since, size_t limit);

/** 1 when the sensor is known, else 0. */
int gw_store_known(gw_store *s, const char *sensor_id);

#endif
