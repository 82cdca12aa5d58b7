/*
 * alarm_feedback — a person's verdict on an alarm, sent by the gateway to
 * the detector on `detector/feedback/{sensor_id}/{metric}` (QoS 1, not
 * retained) so the stream learns from it (issue #17, item 4):
 *
 *   {"sensor_id":"room-1","metric":"temperature","kind":"point",
 *    "verdict":"false_positive","value":81.5,"score":0.91,
 *    "at":1733580000500,"by":"alice"}
 *
 * `value` and `score` are the alarm's peak; `at` Unix ms of the verdict;
 * `by` who gave it (null when unknown). Only "false_positive" exists so
 * far; decoders refuse other verdicts.
 */
#ifndef COMMON_ALARM_FEEDBACK_H
#define COMMON_ALARM_FEEDBACK_H

#include <stddef.h>
#include <stdint.h>

#include "bus/alarm.h"

typedef struct {
    char sensor_id[SENSOR_ID_MAX];
    char metric[READING_NAME_MAX];
    char kind[ALARM_KIND_MAX];
    double value, score;    /* finite */
    int64_t at;             /* Unix ms */
    char by[ALARM_WHO_MAX]; /* "" = null */
} alarm_feedback;

/** Encode as the compact JSON above (verdict "false_positive").
 *  Returns: the length (without the NUL), or -1 (NULL argument, a number
 *           not finite, or it does not fit in cap).
 *  Out: buf: caller-owned, cap bytes. Thread-safe. */
int alarm_feedback_to_json(const alarm_feedback *f, char *buf, size_t cap);

/** Decode and validate (sensor id, metric, kind as bus/alarm.h; verdict
 *  "false_positive"; value, score finite; at >= 0; by null or a who).
 *  Returns: 0, or -1 with a reason in err. Thread-safe. */
int alarm_feedback_from_json(const void *payload, size_t len, alarm_feedback *out, char *err,
                             size_t errlen);

#endif
