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

/** How many messages a backend still has to hand over or see
 *  acknowledged: 0 when idle, > 0 when busy, < 0 when it cannot tell now
 *  (counted as busy). */
typedef int (*mqtt_life_pending_fn)(void *arg);

/** Poll pending(arg) every 5 ms until it returns 0, at most timeout_ms.
 *  Returns 0 when idle, -1 on timeout. Blocks. */
int mqtt_life_flush(int timeout_ms, mqtt_life_pending_fn pending, void *arg);

#endif
