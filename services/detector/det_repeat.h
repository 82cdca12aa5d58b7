/*
 * det_repeat — the detector's folded alerts, summed for publishing.
 * The engine folds a stream's further alerts into its burst (det_engine.h,
 * BURST_*): they are not published as anomalies (not on chain). Each one
 * is added here, per (sensor, metric, type); the service flushes the table
 * once a second and publishes one summary per entry on
 * detector/repeat/{sensor_id}/{metric} (bus/alert_repeat.h), so the
 * gateway's alarm counts them and a stream in a long fault costs at most
 * one message per type a second, however fast it alerts.
 *
 * Not thread-safe: the service calls it under its lock.
 */
#ifndef DET_REPEAT_H
#define DET_REPEAT_H

#include <stddef.h>

#include "bus/alert_repeat.h"

typedef struct det_repeat det_repeat; /* opaque */

/** Create a table for at most cap entries (1..65536).
 *  Returns 0, or -1 (bad cap, out of memory). Out: *out, owned by the
 *  caller (det_repeat_destroy). */
int det_repeat_create(det_repeat **out, size_t cap);
void det_repeat_destroy(det_repeat *r);

/** Add one folded alert to its entry (a new entry for a new stream/type).
 *  Returns 0, or 1 when the table is full and a is a new entry: flush,
 *  then add it again. */
int det_repeat_add(det_repeat *r, const anomaly *a);

/** Exchange the contents of a and b (O(1)): under the service's lock, swap
 *  the live table with an empty spare, then flush the spare after the lock
 *  is released, so nothing is published while the lock is held. */
void det_repeat_swap(det_repeat *a, det_repeat *b);

/** Hand each entry to fn, in the order they were started, then empty the
 *  table. Returns the number handed. fn must not call into r. */
size_t det_repeat_flush(det_repeat *r, void (*fn)(void *ctx, const alert_repeat *s), void *ctx);

#endif
