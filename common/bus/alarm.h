/*
 * alarm — the gateway's alarm objects and their lifecycle events, the
 * messages people (and the notifier) act on. Three messages share one
 * alarm object:
 *
 *   the alarm object (REST /api/alarms, WebSocket {"type":"alarm",...}):
 *     {"id":"3f2a9c0d11e84b27","sensor_id":"room-1","metric":"temperature",
 *      "kind":"point","severity":"major","state":"active","acked":false,
 *      "acked_by":null,"muted_until":null,"opened_at":1733580000500,
 *      "cleared_at":null,"count":3,"peak_value":81.5,"peak_score":0.91,
 *      "last_anomaly_id":"<64 hex>","explanation":"temperature 81.5 ...",
 *      "last_at":1733580060500,"false_positive":false}
 *
 *   a lifecycle event, on `alarms/events/{sensor_id}` (QoS 1, not
 *   retained), one per change:
 *     {"event":"opened","at":1733580000500,"by":null,"alarm":{...}}
 *   with an optional "note" (a person's text, e.g. on false_positive);
 *
 *   a sensor's current alarms, on `alarms/{sensor_id}` (QoS 1, retained,
 *   republished on every change), so any MQTT client sees what is open:
 *     {"sensor_id":"room-1","at":1733580060500,"active_total":1,
 *      "active":[{alarm},...]}
 *   `active` holds at most ALARM_SENSOR_MAX_LIST alarms (most severe
 *   first, the encoder's caller orders them); `active_total` counts all.
 *
 * Times are Unix milliseconds (integers). `acked_by`, `muted_until`,
 * `cleared_at`, `last_anomaly_id`, `by` are null when unset (empty string
 * or 0 in the struct). Members are written in the order above; decoders
 * ignore unknown members so later fields can be added.
 *
 * Who owns what: the detector owns a stream's alarm STATE
 * (bus/alarm_state.h); the gateway owns this LIFECYCLE and is the only
 * publisher of these messages (docs/gateway.md, "Alarms").
 */
#ifndef COMMON_ALARM_H
#define COMMON_ALARM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/anomaly.h"
#include "bus/reading.h"

#define ALARM_ID_MAX 65                     /* alarm id, including NUL: 1..64 of [A-Za-z0-9_.:-] */
#define ALARM_KIND_MAX 24                   /* kind, including NUL: 1..23 of [a-z0-9_] */
#define ALARM_WHO_MAX 65                    /* who acted, including NUL: 1..64 printable bytes */
#define ALARM_NOTE_MAX 256                  /* a person's note, including NUL; longer is cut */
#define ALARM_SENSOR_MAX_LIST 32            /* alarms listed in one alarms/{sensor_id} message */
#define ALARM_MAX_PAYLOAD JSONBUF_MAX_BYTES /* larger payloads are rejected unparsed */
#define ALARM_METRIC_SENSOR "all" /* the metric of a sensor-wide alarm (a silent sensor) */

typedef enum {
    ALARM_CRITICAL = 0,
    ALARM_MAJOR = 1,
    ALARM_MINOR = 2,
    ALARM_WARNING = 3,
} alarm_severity;

typedef enum {
    ALARM_ACTIVE = 0,
    ALARM_CLEARED = 1,
} alarm_status;

typedef enum {
    ALARM_EV_OPENED = 0,
    ALARM_EV_UPDATED = 1,
    ALARM_EV_ACKNOWLEDGED = 2,
    ALARM_EV_MUTED = 3,
    ALARM_EV_FALSE_POSITIVE = 4,
    ALARM_EV_CLEARED = 5,
    ALARM_EV_REMINDER = 6,
} alarm_event_type;

typedef struct {
    char id[ALARM_ID_MAX];
    char sensor_id[SENSOR_ID_MAX];
    char metric[READING_NAME_MAX];
    char kind[ALARM_KIND_MAX]; /* "point", "contextual", "change_point", "silent", ... */
    alarm_severity severity;
    alarm_status state;
    int acked;                            /* 0 or 1 */
    char acked_by[ALARM_WHO_MAX];         /* "" = null */
    int64_t muted_until;                  /* Unix ms; 0 = null (not muted) */
    int64_t opened_at;                    /* Unix ms */
    int64_t cleared_at;                   /* Unix ms; 0 = null (still active) */
    int64_t last_at;                      /* Unix ms of the latest anomaly */
    int64_t count;                        /* anomalies folded into this alarm, >= 1 */
    double peak_value, peak_score;        /* finite; the value of the highest-scored anomaly */
    char last_anomaly_id[ANOMALY_ID_HEX]; /* "" = null */
    char explanation[ANOMALY_EXPLANATION_MAX];
    int false_positive; /* 0 or 1: a person marked it a false positive */
} alarm_obj;

typedef struct {
    alarm_event_type event;
    int64_t at;                /* Unix ms of the change */
    char by[ALARM_WHO_MAX];    /* who acted; "" = null (the gateway itself) */
    char note[ALARM_NOTE_MAX]; /* "" = absent */
    alarm_obj alarm;
} alarm_event;

/** Names: "critical", "major", "minor", "warning" / "active", "cleared" /
 *  "opened", "updated", "acknowledged", "muted", "false_positive",
 *  "cleared", "reminder". Static strings; NULL for an invalid value. */
const char *alarm_severity_name(alarm_severity s);
const char *alarm_status_name(alarm_status s);
const char *alarm_event_name(alarm_event_type e);
/** Parse those names. Returns 0 and sets *out, or -1 (unknown or NULL). */
int alarm_severity_parse(const char *name, alarm_severity *out);
int alarm_status_parse(const char *name, alarm_status *out);
int alarm_event_parse(const char *name, alarm_event_type *out);

/** 1 when id is 1..ALARM_ID_MAX-1 characters of [A-Za-z0-9_.:-], else 0. */
int alarm_id_valid(const char *id);
/** 1 when kind is 1..ALARM_KIND_MAX-1 characters of [a-z0-9_], else 0. */
int alarm_kind_valid(const char *kind);
/** 1 when who is 1..ALARM_WHO_MAX-1 bytes, none a control character
 *  (bytes < 0x20 or 0x7f), else 0. */
int alarm_who_valid(const char *who);

/** Set a->id to the first 16 hex digits of keccak256(sensor_id 0x00
 *  metric 0x00 kind 0x00 opened_at(int64 BE)): the same alarm gets the
 *  same id after a restart, two alarms of one stream differ by their
 *  opening time. Thread-safe. */
void alarm_make_id(alarm_obj *a);

/** The alarm object as a new jansson object (for callers that embed it
 *  in a larger document, e.g. a REST page).
 *  Returns: a new reference (caller json_decrefs), or NULL when a is NULL,
 *           a number is not finite, an enum is invalid or out of memory.
 *  Thread-safe. */
json_t *alarm_to_jobj(const alarm_obj *a);

/** Decode and validate an alarm object held in a jansson value: the
 *  members listed at the top are required except `last_at` and
 *  `false_positive` (default opened_at and false); ids, kind, who and
 *  metric as the *_valid rules and bus/reading.h; times >= 0; count >= 1;
 *  an `explanation` longer than the buffer is cut on a UTF-8 boundary.
 *  Returns: 0, or -1 with a reason in err (out is then undefined).
 *  In: o: borrowed. Thread-safe. */
int alarm_from_jobj(const json_t *o, alarm_obj *out, char *err, size_t errlen);

/** Encode the alarm object as compact JSON.
 *  Returns: the length written (without the NUL), or -1 (as alarm_to_jobj,
 *           or it does not fit in cap).
 *  Out: buf: caller-owned, cap bytes, NUL-terminated on success. */
int alarm_to_json(const alarm_obj *a, char *buf, size_t cap);

/** Decode an alarm object from a payload (need not be NUL-terminated).
 *  Returns: 0, or -1 with a reason in err (over ALARM_MAX_PAYLOAD, not
 *           JSON, duplicate members, not an object, a field invalid). */
int alarm_from_json(const void *payload, size_t len, alarm_obj *out, char *err, size_t errlen);

/** Encode a lifecycle event (`alarms/events/{sensor_id}`).
 *  Returns: the length, or -1 (invalid event type, alarm as alarm_to_json,
 *           or it does not fit in cap). Out: buf as alarm_to_json. */
int alarm_event_to_json(const alarm_event *ev, char *buf, size_t cap);

/** Decode a lifecycle event: `event` a known name, `at` an integer >= 0,
 *  `by` null or a valid who, `note` optional (null or a string, cut to
 *  ALARM_NOTE_MAX-1 bytes), `alarm` an alarm object.
 *  Returns: 0, or -1 with a reason in err. Thread-safe. */
int alarm_event_from_json(const void *payload, size_t len, alarm_event *out, char *err,
                          size_t errlen);

/** Encode a sensor's current alarms (`alarms/{sensor_id}`, retained).
 *  In: sensor_id: the sensor; at: Unix ms; list/n: its active alarms in
 *      the order to list them (the first ALARM_SENSOR_MAX_LIST are
 *      written; active_total is n); n may be 0 (nothing open).
 *  Returns: the length, or -1 (NULL argument, an alarm not encodable, or
 *           it does not fit in cap). Out: buf as alarm_to_json. */
int alarm_sensor_to_json(const char *sensor_id, int64_t at, const alarm_obj *list, size_t n,
                         char *buf, size_t cap);

/** Decode a sensor's current alarms.
 *  Out: sensor_id: SENSOR_ID_MAX bytes; at; list: up to cap alarms;
 *       *n: how many were decoded into list (at most cap);
 *       *total: active_total (may exceed *n).
 *  Returns: 0, or -1 with a reason in err (as alarm_from_json; every
 *           listed alarm must be valid and belong to sensor_id). */
int alarm_sensor_from_json(const void *payload, size_t len, char *sensor_id, int64_t *at,
                           alarm_obj *list, size_t cap, size_t *n, size_t *total, char *err,
                           size_t errlen);

#endif
