/*
 * mqtt_life — the connection lifecycle both MQTT backends share (bus/mqtt.c
 * over paho, bus/mqtt_mosq.c over libmosquitto): one mutex and condition
 * variable guarding "connected", "stop" and the count of lost sessions,
 * the background thread each backend runs (paho's reconnect monitor,
 * libmosquitto's network loop), and the waits built on them. Only the two
 * backends use it; services see mqtt_client_* (bus/mqtt.h).
 *
 * Fields are public to the backends, which take `mu` around their own
 * state too (the paho backend's connecting/uri/backoff, libmosquitto's
 * publish FIFO): one lock per client, as before the split.
 */
#ifndef COMMON_MQTT_LIFE_H
#define COMMON_MQTT_LIFE_H

#include <pthread.h>

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast on every change of connected or stop */
    pthread_t thread;
    int thread_started;
    int connected, stop; /* guarded by mu */
    int sessions_lost;   /* guarded by mu */
    int connects;        /* accepted connects so far (the backend's callback thread only) */
} mqtt_life;

/** Initialise the lock and condition variable (nothing started).
 *  Out: l. Not thread-safe (before any thread uses l). */
void mqtt_life_init(mqtt_life *l);

/** Start the backend's thread: fn(arg). Returns 0, or -1 when it could not
 *  be created. Call at most once. */
int mqtt_life_start(mqtt_life *l, void *(*fn)(void *), void *arg);

/** Set stop, wake every waiter and join the thread when one was started.
 *  Blocks until the thread has returned (it must watch `stop`). */
void mqtt_life_stop(mqtt_life *l);

/** Destroy the lock and condition variable (after mqtt_life_stop). */
void mqtt_life_fini(mqtt_life *l);

/** Wait until connected, at most timeout_ms (< 0 counts as 0).
 *  Returns 0 when connected, -1 on timeout. Blocks. Thread-safe. */
int mqtt_life_wait_connected(mqtt_life *l, int timeout_ms);

/** 1 while connected, else 0. Thread-safe. */
int mqtt_life_is_connected(mqtt_life *l);

/** 1 once stop is set. Thread-safe. */
int mqtt_life_stopping(mqtt_life *l);

/** Count one lost persistent session. Thread-safe. */
void mqtt_life_session_lost(mqtt_life *l);

/** Lost persistent sessions so far. Thread-safe. */
int mqtt_life_sessions_lost(mqtt_life *l);

/** Note an accepted connect (CONNACK 0) on the backend's callback thread:
 *  a persistent session (clean_session 0) the broker no longer had on a
 *  reconnect (session present 0, MQTT 3.1.1 section 3.2.2.2) is counted and
 *  logged as mqtt_session_lost (its queued QoS 1 messages are not coming),
 *  any other connect logged as mqtt_connected.
 *  In: uri, client_id: for the log; note: appended to mqtt_connected
 *      ("" or e.g. " library=libmosquitto"). Not thread-safe (one
 *      callback thread per client). */
void mqtt_life_connack(mqtt_life *l, int clean_session, int present, const char *uri,
                       const char *client_id, const char *note);

/** What a person can do about a CONNACK refusal code (1..5), as a log
 *  suffix, or "" (then the reason says it). mosquitto answers a wrong
 *  password with 5, not 4. Returns: a static string. Thread-safe. */
const char *mqtt_life_connect_hint(int code);

/** How many messages a backend still has to hand over or see
 *  acknowledged: 0 when idle, > 0 when busy, < 0 when it cannot tell now
 *  (counted as busy). */
typedef int (*mqtt_life_pending_fn)(void *arg);

/** Poll pending(arg) every 5 ms until it returns 0, at most timeout_ms.
 *  Returns 0 when idle, -1 on timeout. Blocks. */
int mqtt_life_flush(int timeout_ms, mqtt_life_pending_fn pending, void *arg);

#endif
