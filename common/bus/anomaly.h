/*
 * anomaly — one detected anomaly, as the detector publishes it on
 * `anomalies/{sensor_id}`, the chain logger writes it on chain and the
 * gateway serves it:
 *
 *   {"id": "<64 hex>", "sensor_id": "demo", "ts": 1764100000.5,
 *    "metric": "temperature", "value": 1000, "score": 0.83,
 *    "type": "point", "explanation": "temperature 1000 degC is ...",
 *    "expected_low": 19.1, "expected_high": 24.3, "model_version": 3}
 *
 * The id is deterministic (see anomaly_make_id), so a re-published
 * anomaly has the same id and the chain can reject it as a duplicate.
 */
#ifndef COMMON_ANOMALY_H
#define COMMON_ANOMALY_H

#include <stddef.h>
#include <stdint.h>

#include "bus/reading.h"

#define ANOMALY_ID_HEX 65          /* 64 hex chars + NUL */
#define ANOMALY_EXPLANATION_MAX 512 /* including NUL; longer text is cut */

typedef enum {
    ANOMALY_POINT = 0,
    ANOMALY_CONTEXTUAL = 1,
    ANOMALY_CHANGE_POINT = 2,
    /* A sensor that stopped sending (the detector's det_silent): not a
     * reading's score, so not written on chain (the contract takes 0..2). */
    ANOMALY_SILENT = 3,
    /* A stream stuck on one value far longer than usual (det_silent). Not
     * on chain either. */
    ANOMALY_STUCK = 4,
} anomaly_type;

/** 1 when the AnomalyLogger contract records this type (0..2), else 0. */
#define ANOMALY_TYPE_ON_CHAIN(t) ((int)(t) >= 0 && (int)(t) <= ANOMALY_CHANGE_POINT)

typedef struct {
    char id[ANOMALY_ID_HEX];
    char sensor_id[SENSOR_ID_MAX];
    double ts; /* Unix seconds of the reading */
    char metric[READING_NAME_MAX];
    double value;
    double score; /* 0..1 */
    anomaly_type type;
    char explanation[ANOMALY_EXPLANATION_MAX];
    double expected_low, expected_high; /* NaN when unknown (omitted from JSON) */
    long model_version;                 /* -1 when unknown */
} anomaly;

/** "point", "contextual", "change_point", "silent", "stuck"; NULL for an invalid value. */
const char *anomaly_type_name(anomaly_type t);
/** Returns 0 and sets *out, or -1 for an unknown name. */
int anomaly_type_parse(const char *name, anomaly_type *out);

/** Set a->id to hex(keccak256(sensor_id 0x00 metric 0x00 ts_ms(int64 BE) type(1 byte))),
 *  where ts_ms = round(ts * 1000). Same inputs, same id. */
void anomaly_make_id(anomaly *a);

/** Encode as JSON into buf (NUL-terminated). Returns the length, or -1
 *  when cap is too small or a number is not finite. Thread-safe. */
int anomaly_to_json(const anomaly *a, char *buf, size_t cap);

/** Decode JSON as above; `id`, `sensor_id`, `ts`, `metric`, `value`,
 *  `score`, `type` are required, the rest optional.
 *  Returns: 0, or a negative READING_ERR_* code with a reason in err. */
int anomaly_from_json(const void *payload, size_t len, anomaly *out, char *err, size_t errlen);

#endif
