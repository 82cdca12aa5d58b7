/*
 * gw_bus — messages for WebSocket clients and the queue that carries them
 * from the threads that produce them (paho's MQTT callback thread, the
 * chain follower) to the lws thread that owns every client.
 *
 * A gw_msg holds one complete, ready-to-send WebSocket text frame
 * (RFC 6455 section 5.2: server frames are unmasked, so the same bytes go
 * to every client). It is built once and shared by reference between the
 * per-client queues, so fan-out to N clients costs N pointer copies, not N
 * JSON encodings.
 *
 * Ownership: a producer creates a message (refs = 1) and hands it to
 * gw_bus_push(); from then on only the lws thread touches it, so the
 * reference count needs no atomics.
 */
#ifndef GW_BUS_H
#define GW_BUS_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/reading.h"

/* Kinds of message, as bits so a client filter is a mask. */
enum {
    GW_KIND_ANOMALY = 1,
    GW_KIND_READING = 2,
    GW_KIND_LOGGED = 4,
    GW_KIND_ALARM = 8, /* an alarm lifecycle event (gw_alarms.h) */
    GW_KIND_ALL = 15,
    /* what a client gets without naming types: alarm events only when
     * asked for, so existing clients see the feed they always did */
    GW_KIND_DEFAULT = 7
};

/* Largest frame header: 1 byte flags/opcode + 1 byte length + 8 bytes extended length. */
#define GW_FRAME_HDR_MAX 10

typedef struct gw_msg {
    struct gw_msg *next; /* bus queue link (producer side only) */
    int refs;            /* lws thread only */
    unsigned kind;       /* one GW_KIND_* bit */
    char sensor_id[SENSOR_ID_MAX];
    double t_created;           /* CLOCK_MONOTONIC seconds, for latency figures */
    const unsigned char *frame; /* header + payload, inside data[] */
    size_t len;                 /* bytes in frame */
    unsigned char data[];       /* GW_FRAME_HDR_MAX bytes of room, then the payload */
} gw_msg;

/** Name of a kind as sent in the "type" member: "anomaly", "reading",
 *  "logged", "alarm"; NULL for anything else. */
const char *gw_kind_name(unsigned kind);

/** Parse a kind name. Returns the GW_KIND_* bit, or 0 when unknown. */
unsigned gw_kind_parse(const char *name);

/** Write the header of an unmasked, final text frame carrying `payload_len`
 *  bytes. Out: hdr (at least GW_FRAME_HDR_MAX bytes). Returns its length (2, 4 or 10). */
size_t gw_frame_header(unsigned char *hdr, size_t payload_len);

/** Build {"type": <kind name>, "data": <data_json>} as a frame.
 *  In:  data_json/n: one JSON value produced by jansson (not re-validated:
 *       callers pass only encoder output); sensor_id: for client filters.
 *  Returns: a new message with refs = 1 (caller owns), or NULL when out of
 *  memory or kind is unknown. Thread-safe. */
gw_msg *gw_msg_wrap(unsigned kind, const char *sensor_id, const char *data_json, size_t n);

/** Like gw_msg_wrap with any "type" name, for per-client control messages
 *  ("subscribed", "error"); kind may be 0 (such messages are never fanned out). */
gw_msg *gw_msg_wrap_type(const char *type, unsigned kind, const char *sensor_id,
                         const char *data_json, size_t n);

/** Same, encoding `data` with jansson (compact, keys in insertion order). */
gw_msg *gw_msg_from_json(unsigned kind, const char *sensor_id, const json_t *data);

/** Drop one reference; frees at zero. lws thread only. NULL is ok. */
void gw_msg_unref(gw_msg *m);

typedef struct gw_bus gw_bus; /* opaque */

/** Create a bus holding at most `max` undelivered messages.
 *  In: wake: called (from the producer's thread) when the queue goes from
 *      empty to non-empty, e.g. a wrapper of lws_cancel_service(); may be
 *      NULL; wake_arg is passed to it.
 *  Out: *out, owned by the caller (gw_bus_destroy). Returns 0 or -1 (no memory). */
int gw_bus_create(gw_bus **out, size_t max, void (*wake)(void *), void *wake_arg);

/** Change the wake callback (before producers start). */
void gw_bus_set_wake(gw_bus *b, void (*wake)(void *), void *wake_arg);

/** Append `m`, taking the caller's reference.
 *  Returns: 0, or -1 when the bus is full (m is then freed and the caller
 *  should count a GW_ERR_BUS_OVERFLOW). Thread-safe. */
int gw_bus_push(gw_bus *b, gw_msg *m);

/** Take every queued message, oldest first, as a list linked by ->next.
 *  The caller owns each message's reference. Thread-safe. */
gw_msg *gw_bus_take(gw_bus *b);

/** Take at most `max` queued messages, oldest first, as a list linked by
 *  ->next (the caller owns each reference). What is left stays queued and
 *  keeps counting against the bound, so a consumer that falls behind makes
 *  producers drop (counted) instead of hiding a backlog of its own.
 *  Out: *left (may be NULL): messages still queued. Thread-safe. */
gw_msg *gw_bus_take_n(gw_bus *b, size_t max, size_t *left);

typedef struct {
    size_t depth;     /* messages queued now */
    size_t high;      /* most ever queued at once */
    size_t capacity;  /* the bound given to gw_bus_create */
    uint64_t dropped; /* pushes refused because the bus was full */
} gw_bus_stats;

/** Snapshot of the queue's depth and drops. Thread-safe. */
void gw_bus_stats_get(gw_bus *b, gw_bus_stats *out);

/** Free the bus and any message still queued. */
void gw_bus_destroy(gw_bus *b);

#endif
