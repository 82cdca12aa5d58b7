/*
 * sim_pub — how the simulator hands readings and labels to the broker.
 *
 * Two back ends behind one interface:
 *   fast: a minimal MQTT 3.1.1 client of our own, QoS 0 only, over plain
 *         TCP. Packets are appended to a 64 KiB buffer and written with one
 *         send() per buffer, so 100k+ readings/s cost a few thousand system
 *         calls. Why not common/bus/mqtt.h: paho's MQTTAsync queues a command
 *         object per message for its own send thread; measured here at
 *         QoS 0 it delivers ~24k msg/s with a long queue (the queue scan is
 *         not O(1)) and ~177k/s only when throttled to 100 in flight, using a
 *         second core the broker needs. The fast path is single-threaded.
 *         Reconnect: on any socket error the connection is dropped, readings
 *         published while down are counted as dropped (QoS 0 semantics), and
 *         reconnection is retried from sim_pub_poll() with backoff
 *         0.5 s .. 8 s across the broker URIs.
 *   paho: common/bus/mqtt.h (MQTTAsync with its own reconnect and buffering),
 *         used for QoS 1/2, ssl:// brokers, or on request.
 * "auto" picks fast when qos is 0 and every URI is tcp:// or mqtt://.
 *
 * Not thread-safe: one thread publishes and polls.
 */
#ifndef SIM_PUB_H
#define SIM_PUB_H

#include <stddef.h>

typedef struct sim_pub sim_pub; /* opaque */

typedef struct {
    const char *uris;      /* comma-separated broker URIs */
    const char *client_id; /* unique per broker */
    const char *username;  /* NULL for none */
    const char *password;  /* NULL for none; never logged */
    const char *ca_file;   /* for ssl:// (paho back end only) */
    int qos;               /* QoS of readings: 0, 1 or 2 */
    const char *mode;      /* "auto", "fast" or "paho" */
} sim_pub_options;

typedef struct {
    unsigned long long sent;    /* messages written to the socket / queued to paho */
    unsigned long long dropped; /* messages lost (disconnected, paho buffer full) */
    unsigned long long reconnects;
} sim_pub_stats;

/** Create a publisher and start connecting (the fast back end connects
 *  synchronously once, up to 2 s per URI, and retries later from poll).
 *  Returns: 0, or -1 on invalid options (message logged: fast with qos > 0
 *           or with an ssl:// URI, bad URI, out of memory).
 *  Out: *out, owned by the caller (sim_pub_destroy). */
int sim_pub_create(sim_pub **out, const sim_pub_options *opt);

/** "fast" or "paho". */
const char *sim_pub_kind(const sim_pub *p);

/** Wait until connected, at most timeout_ms (may reconnect meanwhile).
 *  Returns 0 when connected, -1 on timeout. */
int sim_pub_wait_connected(sim_pub *p, int timeout_ms);

/** 1 when connected. */
int sim_pub_connected(sim_pub *p);

/** Publish one message (no retain). May block while the broker reads the
 *  previous buffer (that is the back-pressure). Does not allocate on the
 *  fast path.
 *  Returns: 0 when written or queued, -1 when dropped (counted). */
int sim_pub_publish(sim_pub *p, const char *topic, const void *payload, size_t len, int qos);

/** Housekeeping, call at least every 100 ms and before sleeping: writes
 *  out buffered packets, sends keep-alive pings, notices a closed
 *  connection, retries connecting when due. */
void sim_pub_poll(sim_pub *p);

/** Write out everything buffered (fast) or wait until paho has sent it,
 *  at most timeout_ms. Returns 0, or -1 when something was left unsent. */
int sim_pub_flush(sim_pub *p, int timeout_ms);

/** Counters so far. */
void sim_pub_get_stats(const sim_pub *p, sim_pub_stats *st);

/** Flush (at most 1 s), disconnect, free. NULL-safe. */
void sim_pub_destroy(sim_pub *p);

#endif
