/*
 * alarm_state — a stream's alarm state as the detector publishes it,
 * retained at QoS 1, on `detector/alarm/{sensor_id}/{metric}`
 * (bus/topics.h) each time the stream enters or leaves its anomalous
 * state, so any subscriber learns at once what is in alarm now:
 *
 *   {"sensor_id":"room-1","metric":"temperature","in_alarm":true,"ts":1733580000.5}
 *
 * Compact, members in this order; `ts` is the reading's time (Unix
 * seconds) that changed the state.
 */
#ifndef COMMON_ALARM_STATE_H
#define COMMON_ALARM_STATE_H

#include <stddef.h>

#include "bus/reading.h"

#define ALARM_STATE_MAX_PAYLOAD 1024 /* larger payloads are rejected unparsed */

typedef struct {
    char sensor_id[SENSOR_ID_MAX];
    char metric[READING_NAME_MAX];
    int in_alarm; /* 0 or 1 */
    double ts;    /* Unix seconds, finite */
} alarm_state;

/** Encode as the compact JSON above.
 *  Returns: the length written (without the NUL), or -1 when an argument
 *           is NULL, ts is not finite or the text does not fit in cap.
 *  Out: buf: caller-owned, cap bytes, NUL-terminated on success.
 *  In:  s:   the state; its strings are not validated.
 *  Thread-safe; allocates only jansson's temporary. */
int alarm_state_to_json(const alarm_state *s, char *buf, size_t cap);

/** Decode and validate a state: `sensor_id` a valid sensor id
 *  (sensor_id_valid), `metric` 1..READING_NAME_MAX-1 bytes, `in_alarm` a
 *  boolean, `ts` a finite number; other members are ignored.
 *  Returns: 0, or -1 with a reason in err (payload over
 *           ALARM_STATE_MAX_PAYLOAD bytes, invalid JSON, duplicate
 *           members, not an object, a field missing or invalid).
 *  Out: out: filled on 0 (undefined otherwise).
 *       err: caller-owned, errlen bytes (may be NULL).
 *  In:  payload, len: the message (need not be NUL-terminated).
 *  Thread-safe. */
int alarm_state_from_json(const void *payload, size_t len, alarm_state *out, char *err,
                          size_t errlen);

#endif
