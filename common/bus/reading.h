/*
 * reading — the one internal form of a sensor reading, whatever format it
 * arrived in (native JSON, Zigbee2MQTT, Tasmota, SenML, ...; see ingest.h),
 * and the native JSON wire format on `sensors/{sensor_id}/readings`:
 *
 *     {"ts": 1764100000.5, "temperature": 21.4, "humidity": 40.1, "pressure": 1013.2}
 *
 * `ts` is Unix seconds (may be fractional; receipt time when absent); every
 * other member whose value is a finite number is a metric. Non-numeric
 * members are ignored. The struct is fixed-size so the hot path allocates
 * nothing.
 */
#ifndef COMMON_READING_H
#define COMMON_READING_H

#include <stddef.h>

#include "base/jsonbuf.h"

#define READING_MAX_METRICS 8
#define READING_NAME_MAX 32    /* metric name, including NUL */
#define SENSOR_ID_MAX 65       /* sensor id, including NUL (64 chars) */
#define READING_MAX_PAYLOAD JSONBUF_MAX_BYTES /* larger payloads are rejected unparsed */

typedef struct {
    char name[READING_NAME_MAX];
    double value;
} reading_metric;

typedef struct {
    char sensor_id[SENSOR_ID_MAX];
    double ts;  /* Unix seconds */
    int n;      /* number of metrics in m[] */
    reading_metric m[READING_MAX_METRICS];
} reading;

/** Error codes of the reading and ingest decoders (negative). */
enum {
    /* payload above READING_MAX_PAYLOAD */
    READING_ERR_TOO_LARGE = JSONBUF_ERR_TOO_LARGE,
    /* not valid JSON (includes NaN, Infinity, 1e999) */
    READING_ERR_JSON = JSONBUF_ERR_JSON,
    /* wrong JSON type (not an object, ts not a number, ...) or a value
     * beyond READING_MAX_ABS */
    READING_ERR_TYPE = JSONBUF_ERR_TYPE,
    READING_ERR_NO_METRIC = -4, /* no numeric metric present */
    READING_ERR_SENSOR = -5,    /* invalid sensor id */
    READING_ERR_TS = -6,        /* timestamp out of range (negative, or far in the future) */
    READING_ERR_TOO_MANY = -7,  /* more metrics than READING_MAX_METRICS */
    READING_ERR_FORMAT = -8,    /* right JSON, wrong shape for the adapter */
};

/** Short, stable name of an error code ("too_large", "json", ...), for
 *  counters and logs. */
const char *reading_strerror(int err);

/** A sensor id is 1..64 characters of [A-Za-z0-9_.:-]; it is used in MQTT
 *  topics, so '/', '+', '#' and control characters are not allowed.
 *  Returns: 1 when valid, 0 otherwise. */
int sensor_id_valid(const char *id);

/** Decode a native JSON reading for `sensor_id`.
 *  Returns: 0, or a negative READING_ERR_* code (then *out is undefined).
 *  In:  payload/len: the message body (need not be NUL-terminated);
 *       now: receipt time, used when `ts` is absent.
 *  Out: out: the reading; err/errlen: a human-readable reason on failure
 *       (may be NULL). Thread-safe; allocates only inside jansson. */
int reading_decode_json(const char *sensor_id, const void *payload, size_t len, double now,
                        reading *out, char *err, size_t errlen);

/** Encode `r` as native JSON (without sensor_id, which is in the topic)
 *  into buf. Returns the length written (excluding NUL), or -1 when `cap`
 *  is too small or a value is not finite. */
int reading_encode_json(const reading *r, char *buf, size_t cap);

/** Index of metric `name` in r, or -1. */
int reading_find(const reading *r, const char *name);

/** Append metric name=value; returns 0, or READING_ERR_TOO_MANY. Names
 *  longer than READING_NAME_MAX-1 are rejected with READING_ERR_FORMAT. */
int reading_add(reading *r, const char *name, double value);

/** Largest accepted magnitude of a metric value. No sensor reports more, and
 *  below it the encoders' 15 significant digits always re-decode (a value
 *  near DBL_MAX printed with 15 digits would come back as infinity). */
#define READING_MAX_ABS 1e15

/** Latest acceptable timestamp relative to `now`: readings more than this
 *  many seconds in the future are rejected (READING_ERR_TS). */
#define READING_MAX_FUTURE_S (366.0 * 86400.0)

#endif
