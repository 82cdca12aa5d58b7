/*
 * det_feedback — what people said about the detector's alarms (issue #17,
 * item 4): a `false_positive` verdict on `detector/feedback/{sensor}/{metric}`
 * (bus/alarm_feedback.h) makes that stream tolerate that behaviour. The
 * stream's threshold FOR THAT KIND rises to the flagged alarm's peak score
 * plus `margin`, so the same event again (same kind, a score no higher)
 * is not alerted, while a clearly stronger one still is, and the stream's
 * other kinds are unchanged. Verdicts on the same stream and kind only
 * raise it further (at most 1: then that kind is silenced on that stream).
 *
 * Tolerances persist in a small JSON file (written atomically on every
 * verdict, which are rare) and are loaded at start.
 *
 * Not thread-safe: the caller serialises calls (the service's lock).
 */
#ifndef DET_FEEDBACK_H
#define DET_FEEDBACK_H

#include <stddef.h>
#include <stdint.h>

#include "bus/alarm_feedback.h"
#include "bus/anomaly.h"

#define DET_FEEDBACK_MAX 4096 /* tolerances kept at most (the oldest is dropped) */

typedef struct det_feedback det_feedback; /* opaque */

/** Create, loading path when it exists (NULL = not persisted; an invalid
 *  file is logged and ignored). margin: added to the flagged score
 *  (0..1). Returns 0 or -1 (no memory, margin out of range). */
int det_feedback_create(det_feedback **out, const char *path, double margin);
void det_feedback_destroy(det_feedback *f);

/** Take a verdict in. Returns the stream's new threshold for that kind
 *  (> 0), or -1 when it could not be saved (it still applies now). */
double det_feedback_add(det_feedback *f, const alarm_feedback *fb);

/** 1 when alert a is tolerated (its stream and kind carry a threshold
 *  above a's score): do not publish it. Else 0. */
int det_feedback_suppress(const det_feedback *f, const anomaly *a);

/** Tolerances held. */
size_t det_feedback_count(const det_feedback *f);

#endif
