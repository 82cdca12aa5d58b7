/*
 * mqtt_life — see mqtt_life.h. What the paho and libmosquitto backends did
 * alike (start, stop-and-join, wait for a connection, poll until flushed),
 * written once.
 */
#include "bus/mqtt_life.h"

#include <errno.h>
#include <time.h>

#include "base/clock.h"
#include "base/deadline.h"
#include "base/log.h"

void mqtt_life_init(mqtt_life *l)
{
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
}

int mqtt_life_start(mqtt_life *l, void *(*fn)(void *), void *arg)
{
    if (pthread_create(&l->thread, NULL, fn, arg) != 0)
        return -1;
    l->thread_started = 1;
    return 0;
}

void mqtt_life_stop(mqtt_life *l)
{
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    if (l->thread_started)
        pthread_join(l->thread, NULL);
    l->thread_started = 0;
}

void mqtt_life_fini(mqtt_life *l)
{
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
}

int mqtt_life_wait_connected(mqtt_life *l, int timeout_ms)
{
    struct timespec until;
    deadline_after_ms(&until, timeout_ms < 0 ? 0 : timeout_ms);
    pthread_mutex_lock(&l->mu);
    while (!l->connected)
        if (pthread_cond_timedwait(&l->cv, &l->mu, &until) == ETIMEDOUT)
            break;
    int ok = l->connected;
    pthread_mutex_unlock(&l->mu);
    return ok ? 0 : -1;
}

static int read_locked(mqtt_life *l, const int *field)
{
    pthread_mutex_lock(&l->mu);
    int v = *field;
    pthread_mutex_unlock(&l->mu);
    return v;
}

int mqtt_life_is_connected(mqtt_life *l)
{
    return read_locked(l, &l->connected);
}

int mqtt_life_stopping(mqtt_life *l)
{
    return read_locked(l, &l->stop);
}

int mqtt_life_sessions_lost(mqtt_life *l)
{
    return read_locked(l, &l->sessions_lost);
}

void mqtt_life_session_lost(mqtt_life *l)
{
    pthread_mutex_lock(&l->mu);
    l->sessions_lost++;
    pthread_mutex_unlock(&l->mu);
}

int mqtt_life_flush(int timeout_ms, mqtt_life_pending_fn pending, void *arg)
{
    double end = clock_mono() + timeout_ms / 1000.0;
    for (;;) {
        if (pending(arg) == 0)
            return 0;
        if (clock_mono() >= end)
            return -1;
        struct timespec d = {0, 5 * 1000000L};
        nanosleep(&d, NULL);
    }
}

void mqtt_life_connack(mqtt_life *l, int clean_session, int present, const char *uri,
                       const char *client_id, const char *note)
{
    if (!clean_session && present == 0 && l->connects > 0) {
        log_warn("mqtt_session_lost uri=%s client_id=%s (the broker started a new session: "
                 "QoS 1 messages queued for the old one are not delivered)",
                 uri, client_id);
        mqtt_life_session_lost(l);
    } else
        log_info("mqtt_connected uri=%s session_present=%d%s", uri, present, note);
    l->connects++;
}

const char *mqtt_life_connect_hint(int code)
{
    switch (code) {
    case 4:
    case 5:
        return " hint=\"check MQTT_USERNAME and MQTT_PASSWORD (scripts/broker-auth.sh)\"";
    default:
        return "";
    }
}
