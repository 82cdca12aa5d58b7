/*
 * det_intake — the detector's MQTT intake: a byte ring between the MQTT
 * client's callback thread (one producer) and one scoring thread (the
 * consumer), so receiving the next messages and scoring the last ones run
 * at the same time, and the scorer takes a whole batch per wake-up (one
 * lock round trip per batch, not per message).
 *
 * Records are [topic_len u32][payload_len u32][topic NUL][payload], padded
 * to 8 bytes, written in place: pushing allocates nothing. A full ring makes
 * the producer wait (backpressure: the broker queues, and counts what its
 * own queue limit drops in $SYS/broker/publish/messages/dropped); a message
 * that waited longer than the push timeout, or that is larger than a
 * quarter of the ring, is dropped and counted (intake_dropped_total).
 *
 * Delivery: det_intake_push returns once the message is in the ring, so
 * a message acknowledged when the MQTT callback returns would be acked
 * before it is scored. The detector therefore queues only QoS 0 messages
 * (never acknowledged; a kill -9 loses at most the ring's content, depth
 * in the stats) and scores QoS 1 ones on the MQTT thread after draining
 * the ring (services/detector/main.c, docs/SCALING.md).
 *
 * Also here, because it is a fact about the input rather than a score: a
 * per-sensor gap counter (det_intake_gap) that learns each sensor's cadence
 * from its timestamps and counts readings missing from a regular series.
 */
#ifndef DET_INTAKE_H
#define DET_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "bus/reading.h"

typedef struct det_intake det_intake; /* opaque */

/** Called on the scoring thread for each message, in arrival order.
 *  topic is NUL-terminated; payload is not (len bytes); both valid only
 *  during the call. */
typedef void (*det_intake_fn)(void *user, const char *topic, const void *payload, size_t len);

/** Called on the scoring thread around each batch: begin = 1 before its
 *  first message, 0 after its last (e.g. to take a lock once per batch). */
typedef void (*det_intake_batch_fn)(void *user, int begin);

typedef struct {
    uint64_t pushed;     /* messages queued since create */
    uint64_t processed;  /* messages handed to the callback */
    uint64_t dropped;    /* messages refused: ring full past the timeout, or too large */
    uint64_t full_waits; /* pushes that had to wait for room */
    uint64_t batches;    /* wake-ups of the scoring thread */
    size_t depth;        /* messages in the ring now */
    size_t high;         /* largest depth seen */
    size_t bytes;        /* ring capacity in bytes */
} det_intake_stats;

/** Create the ring and start the scoring thread.
 *  In:  bytes: ring capacity (rounded up to 8; >= 64 KiB);
 *       wait_ms: how long a push waits for room before it drops (>= 0);
 *       fn, batch (may be NULL), user: the consumer's callbacks.
 *  Out: *out, owned by the caller (det_intake_destroy).
 *  Returns: 0, or -1 (bad argument, no memory, thread not started). */
int det_intake_create(det_intake **out, size_t bytes, int wait_ms, det_intake_fn fn,
                      det_intake_batch_fn batch, void *user);

/** Queue one message (copied). One producer thread only. Blocks while the
 *  ring is full, at most wait_ms.
 *  Returns: 0 queued, -1 dropped (counted). */
int det_intake_push(det_intake *q, const char *topic, const void *payload, size_t len);

/** Wait until every queued message has been processed, at most timeout_ms.
 *  Returns: 0 when empty, -1 on timeout. Thread-safe. */
int det_intake_drain(det_intake *q, int timeout_ms);

/** A snapshot of the counters. Thread-safe, never blocks for long. */
void det_intake_stats_get(det_intake *q, det_intake_stats *out);

/** Stop the scoring thread after it has processed what is queued, and
 *  free. The producer must have stopped pushing. NULL is ok. */
void det_intake_destroy(det_intake *q);

/* ---- sequence gaps ------------------------------------------------------ */

typedef struct det_gaps det_gaps; /* opaque */

/** A gap counter for up to max_sensors sensors (later ones are not
 *  tracked). Out: *out (det_gaps_destroy). Returns 0 or -1 (no memory). */
int det_gaps_create(det_gaps **out, size_t max_sensors);

/** Note a reading of sensor_id at ts (Unix seconds). A sensor's cadence is
 *  known once two consecutive intervals agree within 2 %; from then on an
 *  interval of k cadences (k >= 2, rounded) means k - 1 readings missed,
 *  and a different steady interval becomes the new cadence after it
 *  repeats. Irregular senders never establish a cadence, so they are never
 *  counted. Not thread-safe (the scoring thread only).
 *  Returns: readings missed just before this one (0 mostly). */
uint64_t det_gaps_note(det_gaps *g, const char *sensor_id, double ts);

/** Total missed so far. Not thread-safe (read under the caller's lock). */
uint64_t det_gaps_total(const det_gaps *g);

void det_gaps_destroy(det_gaps *g);

#endif
