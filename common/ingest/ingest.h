/*
 * ingest — turns an MQTT message (topic + payload) from any supported
 * device ecosystem into readings. The detector and the gateway subscribe to
 * ingest_topics() and call ingest_decode() for every message, so adding a
 * format means adding an adapter here, nowhere else.
 *
 * Adapters (enabled by the mapping file; the native one always). Topics are
 * the defaults; docs/SENSORS.md documents payloads, units and options.
 *   native      sensors/{id}/readings          {"ts":..., "temperature": 21.4, ...}
 *   zigbee2mqtt zigbee2mqtt/{friendly_name}    {"temperature":21.4,"battery":97,...}
 *   tasmota     tele/{topic}/SENSOR {"Time":...,"BME280":{"Temperature":...},"TempUnit":"C"}
 *   esphome     configured state topics        21.4   (grouped into sensors by the mapping)
 *   senml       senml/# [{"bn":"dev1:","bt":...,"n":"temp","u":"Cel","v":21.4}]
 *
 * Every adapter produces the same reading: metrics named temperature (degC),
 * humidity (%RH) and pressure (hPa) after unit conversion, plus any extra
 * metric names the mapping allow-lists.
 */
#ifndef COMMON_INGEST_H
#define COMMON_INGEST_H

#include <stddef.h>

#include "bus/reading.h"

typedef struct ingest ingest; /* opaque: adapters, mapping, per-format state */

/* Adapters, for counters. */
enum { INGEST_NATIVE, INGEST_Z2M, INGEST_TASMOTA, INGEST_ESPHOME, INGEST_SENML, INGEST_NADAPTERS };
#define INGEST_NERRORS 9 /* counters by_error[-READING_ERR_*], index 0 unused */

/** Environment variable naming the mapping file, by convention; services
 *  pass its value (or their --sensors-mapping flag) to ingest_create(). */
#define INGEST_MAPPING_ENV "INGEST_MAPPING"

/** Create an ingest context.
 *  In:  mapping_file: path of the mapping file enabling further adapters,
 *       or NULL for the native adapter alone.
 *  Out: *out: new context, owned by the caller (ingest_destroy).
 *  Returns: 0, or -1 when the mapping file cannot be read or is invalid
 *           (reason logged). */
int ingest_create(ingest **out, const char *mapping_file);

/** Free the context and everything it owns. NULL is ok. */
void ingest_destroy(ingest *ig);

/** Like ingest_create, from a mapping given as JSON text (tests, tools).
 *  In: json/len: the mapping document. Out: err/errlen: reason on failure.
 *  Returns: 0, or -1. */
int ingest_create_from_json(ingest **out, const char *json, size_t len, char *err, size_t errlen);

/** MQTT subscription filters needed by the enabled adapters.
 *  Out: *n: number of filters. Returns an array owned by `ig`. */
const char *const *ingest_topics(const ingest *ig, int *n);

/** Decode one message.
 *  In:  topic, payload/len (not NUL-terminated), now (receipt time, Unix s).
 *  Out: out[0..cap-1]: readings (one message may carry several sensors,
 *       e.g. a SenML pack); err/errlen: reason on failure (may be NULL).
 *  Returns: number of readings (>= 0; 0 means "not a reading, ignore",
 *           e.g. a Zigbee2MQTT bridge message), or a negative READING_ERR_*.
 *  Thread-safe (ESPHome grouping state is under a lock, counters atomic).
 *  Allocates only inside jansson (JSON formats). */
int ingest_decode(ingest *ig, const char *topic, const void *payload, size_t len, double now,
                  reading *out, int cap, char *err, size_t errlen);

/* What the mapping file says about a sensor (see docs/SENSORS.md). */
typedef struct {
    const char *profile; /* e.g. "indoor"; NULL when not set. Owned by the context. */
    const char *label;   /* display name; NULL when not set. Owned by the context. */
    double threshold;    /* anomaly score threshold in (0,1); NAN when not set */
} ingest_sensor_info;

/** Look up the mapping's settings for a sensor id (after renaming).
 *  Out: *info (strings valid until ingest_destroy).
 *  Returns: 1 when the mapping has an entry for the id, else 0 (then
 *           *info holds NULL/NAN). Thread-safe (read-only). */
int ingest_sensor_profile(const ingest *ig, const char *sensor_id, ingest_sensor_info *info);

typedef struct {
    unsigned long messages[INGEST_NADAPTERS]; /* messages routed to each adapter */
    unsigned long readings[INGEST_NADAPTERS]; /* readings produced */
    unsigned long ignored[INGEST_NADAPTERS];  /* valid, nothing to score (bridge, switch) */
    unsigned long errors[INGEST_NADAPTERS];   /* rejected messages */
    unsigned long by_error[INGEST_NERRORS];   /* rejected, by -READING_ERR_* */
    unsigned long unmatched;                  /* topic of no enabled adapter */
} ingest_counters;

/** Snapshot of the counters (for /metrics and logs). Thread-safe. */
void ingest_counters_get(const ingest *ig, ingest_counters *out);

/** Adapter name for counters and mapping files: "native", "zigbee2mqtt",
 *  "tasmota", "esphome", "senml"; "unknown" out of range. */
const char *ingest_adapter_name(int adapter);

#endif
