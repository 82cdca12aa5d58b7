/*
 * ingest — turns an MQTT message (topic + payload) from any supported
 * device ecosystem into readings. The detector and the gateway subscribe to
 * ingest_topics() and call ingest_decode() for every message, so adding a
 * format means adding an adapter here, nowhere else.
 *
 * Adapters (enabled by the mapping configuration; the native one always):
 *   native      sensors/{id}/readings        {"ts":..., "temperature": 21.4, ...}
 *   (issue 5 adds Zigbee2MQTT, Tasmota, ESPHome/Home Assistant, SenML)
 */
#ifndef COMMON_INGEST_H
#define COMMON_INGEST_H

#include <stddef.h>

#include "reading.h"

typedef struct ingest ingest; /* opaque: adapters, mapping, per-format state */

/** Create an ingest context.
 *  In:  mapping_file: path of the mapping file enabling further adapters,
 *       or NULL for the native adapter alone.
 *  Out: *out: new context, owned by the caller (ingest_destroy).
 *  Returns: 0, or -1 when the mapping file cannot be read or is invalid
 *           (reason logged). */
int ingest_create(ingest **out, const char *mapping_file);
void ingest_destroy(ingest *ig);

/** MQTT subscription filters needed by the enabled adapters.
 *  Out: *n: number of filters. Returns an array owned by `ig`. */
const char *const *ingest_topics(const ingest *ig, int *n);

/** Decode one message.
 *  In:  topic, payload/len (not NUL-terminated), now (receipt time, Unix s).
 *  Out: out[0..cap-1]: readings (one message may carry several sensors,
 *       e.g. a SenML pack); err/errlen: reason on failure (may be NULL).
 *  Returns: number of readings (>= 0; 0 means "not a reading, ignore",
 *           e.g. a Zigbee2MQTT bridge message), or a negative READING_ERR_*.
 *  Thread-safe for concurrent calls only when an adapter keeps no state
 *  (ESPHome grouping does): call from one thread. */
int ingest_decode(ingest *ig, const char *topic, const void *payload, size_t len, double now,
                  reading *out, int cap, char *err, size_t errlen);

#endif
