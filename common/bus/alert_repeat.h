/*
 * alert_repeat — alerts the detector folded into a burst of their stream.
 * A stream that keeps alerting is one disturbance to the detector: after
 * about BURST_ALERTS alerts within BURST_READINGS readings its further
 * alerts are folded (not published on `anomalies/...`, so not on chain).
 * So that an alarm's `count` and peak still say how often and how badly
 * the stream alerted, the detector sums the folded alerts of each
 * (sensor, metric, type) and publishes at most one summary a second on
 * `detector/repeat/{sensor_id}/{metric}` (bus/topics.h), QoS 1, not
 * retained:
 *
 *   {"sensor_id":"pump-3","metric":"flow","type":"point","count":7,
 *    "peak_value":41.2,"peak_score":0.81,"expected_low":10.1,
 *    "expected_high":12.4,"last_id":"<64 hex>","ts":1733580000.5}
 *
 * `count` alerts were folded since the previous summary; `peak_*` and
 * `expected_*` are those of the folded alert with the highest score
 * (`expected_*` omitted when unknown); `last_id` is the id the last one
 * would have had (bus/anomaly.h), unique per summary, so a redelivered
 * summary can be recognised; `ts` is its reading's time (Unix s).
 */
#ifndef COMMON_ALERT_REPEAT_H
#define COMMON_ALERT_REPEAT_H

#include <stddef.h>
#include <stdint.h>

#include "bus/anomaly.h"

#define ALERT_REPEAT_MAX_PAYLOAD 2048 /* larger payloads are rejected unparsed */

typedef struct {
    char sensor_id[SENSOR_ID_MAX];
    char metric[READING_NAME_MAX];
    anomaly_type type;
    uint32_t count;                     /* >= 1 */
    double peak_value, peak_score;      /* finite; score 0..1 */
    double expected_low, expected_high; /* NaN when unknown */
    char last_id[ANOMALY_ID_HEX];
    double ts; /* Unix seconds, finite */
} alert_repeat;

/** Start a summary from one folded alert a (count 1, its values).
 *  Out: r. In: a. Pure; thread-safe. */
void alert_repeat_start(alert_repeat *r, const anomaly *a);

/** Add one more folded alert a of the same stream and type to r: count,
 *  last_id, ts, and the peak when a's score is higher. Pure; thread-safe. */
void alert_repeat_add(alert_repeat *r, const anomaly *a);

/** Encode as the compact JSON above.
 *  Returns: the length written (without the NUL), or -1 when an argument
 *           is NULL, a number is not finite, the type has no name or the
 *           text does not fit in cap.
 *  Out: buf: caller-owned, cap bytes, NUL-terminated on success.
 *  Thread-safe; allocates only jansson's temporary. */
int alert_repeat_to_json(const alert_repeat *r, char *buf, size_t cap);

/** Decode and validate a summary: `sensor_id` valid (sensor_id_valid),
 *  `metric` 1..READING_NAME_MAX-1 bytes, `type` a known anomaly type,
 *  `count` an integer >= 1, `peak_value`, `peak_score`, `ts` finite numbers,
 *  `last_id` 1..64 characters; `expected_low`/`expected_high` optional
 *  numbers. Other members are ignored.
 *  Returns: 0, or -1 with a reason in err (payload over
 *           ALERT_REPEAT_MAX_PAYLOAD bytes, invalid JSON, duplicate
 *           members, not an object, a field missing or invalid).
 *  Out: out: filled on 0 (undefined otherwise); err: errlen bytes (may be NULL).
 *  In:  payload, len: the message (need not be NUL-terminated).
 *  Thread-safe. */
int alert_repeat_from_json(const void *payload, size_t len, alert_repeat *out, char *err,
                           size_t errlen);

#endif
