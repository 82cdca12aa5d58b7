/*
 * mqtt — see mqtt.h. paho's MQTTAsync does the protocol (the libmosquitto
 * backend, chosen per client by mqtt_client_create, is bus/mqtt_mosq.c and
 * does the same things its own way); this module adds what every service
 * needs around paho and would otherwise repeat:
 *
 *  - Reconnection is ours, not paho's automaticReconnect: paho does not
 *    retry a first connection that fails, and a broker that is down when a
 *    service starts is normal (compose start order, restarts). A monitor
 *    thread (re)connects with exponential backoff (0.25 s .. 8 s) whenever
 *    the client is neither connected nor connecting.
 *  - Subscriptions are re-made in the connect success callback, so a
 *    reconnect to a broker that lost the session still delivers.
 *  - Messages published while disconnected are buffered by paho
 *    (sendWhileDisconnected) up to max_buffered.
 *  - Each attempt gives paho one broker URI; the monitor moves on to the
 *    next after a failure. Given a list, paho would try the next URI by
 *    itself after a dropped connection, while also reporting the loss, and
 *    MQTTAsync_connect (paho 1.3.12) frees and re-allocates the URI list,
 *    user name and password without paho's lock: a connect of ours during
 *    paho's own attempt made paho's thread read freed memory (SIGSEGV in a
 *    NATS failover, docs/SCALING.md). With one URI per attempt paho is idle
 *    once it has answered (onSuccess, onFailure, connectionLost), and we
 *    only connect then.
 */
#include "bus/mqtt.h"

#include <MQTTAsync.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/deadline.h"
#include "base/log.h"
#include "bus/mqtt_mosq.h"

#define MQTT_MAX_URIS 16

struct mqtt_client {
    mqtt_mosq *mq; /* the libmosquitto backend, when chosen; else paho below */
    MQTTAsync h;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t monitor;
    int monitor_started;
    int connected, connecting, stop;
    int uri;           /* index of the broker URI the next attempt uses */
    int resubscribe;   /* a subscription failed: the monitor retries it */
    int connects;      /* successful connects so far (paho's callback thread only) */
    int sessions_lost; /* reconnects that found no session (guarded by mu) */
    long backoff_ms;
    /* Owned copies of the options' strings. */
    char *uris_buf;
    char *uris[MQTT_MAX_URIS];
    int nuris;
    char *client_id, *username, *password, *ca_file, *persist_dir;
    char *will_topic, *will_payload, *birth_payload; /* NULL when unused */
    char **topics;
    int *qos;
    int ntopics;
    mqtt_options opt; /* string pointers here point at the copies above */
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void set_state(mqtt_client *c, int connected)
{
    pthread_mutex_lock(&c->mu);
    c->connected = connected;
    c->connecting = 0;
    if (connected)
        c->backoff_ms = 250;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->opt.on_state)
        c->opt.on_state(c->opt.user, connected);
}

static void request_resubscribe(mqtt_client *c)
{
    pthread_mutex_lock(&c->mu);
    c->resubscribe = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void on_subscribe_failure(void *ctx, MQTTAsync_failureData *resp)
{
    mqtt_client *c = ctx;
    log_rate(43, 10.0, LOG_ERROR, "mqtt_subscribe_failed code=%d retry_in=1s",
             resp ? resp->code : -1);
    request_resubscribe(c);
}

/* A SUBACK may refuse a filter (return code 0x80, MQTT 3.1.1 section 3.9.3):
 * that is a failure too, retried like one. */
static void on_subscribe_success(void *ctx, MQTTAsync_successData *resp)
{
    mqtt_client *c = ctx;
    int refused = 0;
    if (resp && c->ntopics == 1)
        refused = resp->alt.qos == 0x80;
    else if (resp && resp->alt.qosList)
        for (int i = 0; i < c->ntopics; i++)
            refused |= resp->alt.qosList[i] == 0x80;
    if (refused) {
        log_rate(43, 10.0, LOG_ERROR, "mqtt_subscribe_refused retry_in=1s");
        request_resubscribe(c);
        return;
    }
    log_debug("mqtt_subscribed topics=%d", c->ntopics);
}

/* (Re)subscribe to every configured filter; results arrive in the callbacks. */
static void subscribe_all(mqtt_client *c)
{
    if (c->ntopics == 0)
        return;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    ro.onFailure = on_subscribe_failure;
    ro.onSuccess = on_subscribe_success;
    ro.context = c;
    int rc = MQTTAsync_subscribeMany(c->h, c->ntopics, c->topics, c->qos, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        log_rate(43, 10.0, LOG_ERROR, "mqtt_subscribe_failed rc=%d retry_in=1s", rc);
        request_resubscribe(c);
    }
}

static void on_connect_success(void *ctx, MQTTAsync_successData *resp)
{
    mqtt_client *c = ctx;
    const char *uri = resp && resp->alt.connect.serverURI ? resp->alt.connect.serverURI : "?";
    int present = resp ? resp->alt.connect.sessionPresent : -1;
    /* A persistent session the broker no longer has (MQTT 3.1.1 3.2.2.2):
     * QoS 1 messages queued for it meanwhile are not coming. Say so. */
    if (!c->opt.clean_session && present == 0 && c->connects > 0) {
        log_warn("mqtt_session_lost uri=%s client_id=%s (the broker started a new session: "
                 "QoS 1 messages queued for the old one are not delivered)",
                 uri, c->client_id);
        pthread_mutex_lock(&c->mu);
        c->sessions_lost++;
        pthread_mutex_unlock(&c->mu);
    } else
        log_info("mqtt_connected uri=%s session_present=%d", uri, present);
    c->connects++;
    pthread_mutex_lock(&c->mu);
    c->resubscribe = 0;
    pthread_mutex_unlock(&c->mu);
    subscribe_all(c);
    if (c->will_topic && c->birth_payload)
        mqtt_client_publish(c, c->will_topic, c->birth_payload, strlen(c->birth_payload), 1, 1);
    set_state(c, 1);
}

/* MQTT 3.1.1 section 3.2.2.3, table 3.1: CONNACK return codes 1..5. */
static const char *const connack_reasons[] = {
    NULL,
    "unacceptable protocol version",
    "client identifier rejected",
    "server unavailable",
    "bad user name or password",
    "not authorised",
};

const char *mqtt_connect_reason(int code)
{
    if (code > 0 && code < (int)(sizeof connack_reasons / sizeof connack_reasons[0]))
        return connack_reasons[code];
    if (code > 0)
        return "refused by the broker (unknown CONNACK code)";
    if (code == MQTTASYNC_FAILURE)
        return "unreachable (no broker at this address, or the connection was closed)";
    const char *s = MQTTAsync_strerror(code);
    return s ? s : "unknown error";
}

/* What a person can do about a refusal, or "" (then the reason says it).
 * mosquitto answers a wrong password with 5, not 4. */
static const char *connect_hint(int code)
{
    switch (code) {
    case 4:
    case 5:
        return " hint=\"check MQTT_USERNAME and MQTT_PASSWORD (scripts/broker-auth.sh)\"";
    default:
        return "";
    }
}

static void on_connect_failure(void *ctx, MQTTAsync_failureData *resp)
{
    mqtt_client *c = ctx;
    pthread_mutex_lock(&c->mu);
    int uri = c->uri;
    c->uri = (c->uri + 1) % c->nuris; /* the next attempt tries the next broker */
    pthread_mutex_unlock(&c->mu);
    /* paho reports a refusal as the CONNACK code with the message
     * "CONNACK return code", anything else as a negative MQTTASYNC_ code. */
    int code = resp ? resp->code : MQTTASYNC_FAILURE;
    log_rate(1, 10.0, LOG_WARN, "mqtt_connect_failed uri=%s code=%d reason=\"%s\"%s", c->uris[uri],
             code, mqtt_connect_reason(code), connect_hint(code));
    set_state(c, 0);
}

static void on_connection_lost(void *ctx, char *cause)
{
    mqtt_client *c = ctx;
    log_warn("mqtt_connection_lost cause=%s", cause ? cause : "unknown");
    set_state(c, 0);
}

static int on_message_arrived(void *ctx, char *topic, int topic_len, MQTTAsync_message *m)
{
    mqtt_client *c = ctx;
    int handled = 1;
    /* paho passes either 0 or the real length; a length other than strlen
     * means embedded NULs: not a topic of ours, drop it. */
    if (topic_len != 0 && (size_t)topic_len != strlen(topic))
        /* Acknowledged and dropped: say so (a silent drop of a QoS 1
         * message would look like a broker losing it). */
        log_rate(44, 10.0, LOG_WARN, "mqtt_message_dropped reason=\"NUL in topic\" topic_len=%d",
                 topic_len);
    else if (c->opt.on_message_qos)
        handled =
            c->opt.on_message_qos(c->opt.user, topic, m->payload, (size_t)m->payloadlen, m->qos);
    else if (c->opt.on_message)
        handled = c->opt.on_message(c->opt.user, topic, m->payload, (size_t)m->payloadlen);
    if (handled) {
        MQTTAsync_freeMessage(&m);
        MQTTAsync_free(topic);
        return 1;
    }
    return 0; /* paho keeps the message and delivers it again */
}

/* Start one attempt on broker uris[uri]. */
static int do_connect(mqtt_client *c, int uri)
{
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
    MQTTAsync_SSLOptions so = MQTTAsync_SSLOptions_initializer;
    MQTTAsync_willOptions wo = MQTTAsync_willOptions_initializer;
    co.keepAliveInterval = c->opt.keepalive_s > 0 ? c->opt.keepalive_s : 20;
    co.cleansession = c->opt.clean_session;
    co.MQTTVersion = MQTTVERSION_3_1_1;
    co.maxInflight = c->opt.max_inflight > 0 ? c->opt.max_inflight : 1000;
    co.connectTimeout = 5;
    co.serverURIs = &c->uris[uri]; /* one at a time: see the top of this file */
    co.serverURIcount = 1;
    co.username = c->username;
    co.password = c->password;
    co.onSuccess = on_connect_success;
    co.onFailure = on_connect_failure;
    co.context = c;
    if (c->will_topic) {
        wo.topicName = c->will_topic;
        wo.message = c->will_payload;
        wo.retained = 1;
        wo.qos = 1;
        co.will = &wo;
    }
    if (c->ca_file) {
        so.trustStore = c->ca_file;
        so.enableServerCertAuth = 1;
        so.verify = 1; /* the certificate must name the host in the URI (#19) */
        co.ssl = &so;
    }
    return MQTTAsync_connect(c->h, &co);
}

static void *monitor_main(void *arg)
{
    mqtt_client *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        if (!c->connected && !c->connecting) {
            c->connecting = 1;
            int uri = c->uri;
            pthread_mutex_unlock(&c->mu);
            int rc = do_connect(c, uri);
            pthread_mutex_lock(&c->mu);
            if (rc != MQTTASYNC_SUCCESS) {
                /* -18 (command ignored): paho is still busy with the last
                 * attempt during a failover; not worth a warning. */
                log_rate(41, 10.0, rc == MQTTASYNC_COMMAND_IGNORED ? LOG_DEBUG : LOG_WARN,
                         "mqtt_connect_call_failed rc=%d", rc);
                c->connecting = 0;
            }
            /* Back off before the next attempt, whatever this one does. */
            struct timespec until;
            deadline_after_ms(&until, c->backoff_ms);
            while (!c->stop && (c->connecting || !c->connected)) {
                if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT)
                    break;
            }
            if (!c->connected && c->backoff_ms < 8000)
                c->backoff_ms *= 2;
            continue;
        }
        if (c->connected && c->resubscribe) {
            /* A failed subscription leaves a clean-session client deaf
             * until its next reconnect: retry it after a pause. */
            c->resubscribe = 0;
            struct timespec until;
            deadline_after_ms(&until, 1000);
            while (!c->stop && c->connected)
                if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT)
                    break;
            if (c->stop || !c->connected)
                continue; /* a reconnect subscribes anyway */
            pthread_mutex_unlock(&c->mu);
            subscribe_all(c);
            pthread_mutex_lock(&c->mu);
            continue;
        }
        if (c->connecting) {
            /* paho answers every connect with onSuccess or onFailure within
             * its connectTimeout (5 s); should an answer never come (seen
             * once while a NATS node died), give up on it after 30 s and
             * try the next broker rather than wait for ever. */
            struct timespec until;
            int wrc = 0;
            deadline_after_ms(&until, 30000L);
            while (!c->stop && c->connecting && wrc != ETIMEDOUT)
                wrc = pthread_cond_timedwait(&c->cv, &c->mu, &until);
            if (c->connecting && wrc == ETIMEDOUT) {
                log_warn("mqtt_connect_stalled uri=%s waited_ms=30000 action=next_uri",
                         c->uris[c->uri]);
                c->uri = (c->uri + 1) % c->nuris;
                c->connecting = 0;
            }
            continue;
        }
        pthread_cond_wait(&c->cv, &c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void free_client(mqtt_client *c)
{
    if (!c)
        return;
    mqtt_mosq_destroy(c->mq);
    if (c->h)
        MQTTAsync_destroy(&c->h);
    for (int i = 0; i < c->ntopics; i++)
        free(c->topics ? c->topics[i] : NULL);
    free(c->topics);
    free(c->qos);
    free(c->uris_buf);
    free(c->client_id);
    free(c->username);
    free(c->password);
    free(c->ca_file);
    free(c->persist_dir);
    free(c->will_topic);
    free(c->will_payload);
    free(c->birth_payload);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

/* MQTT_LIBRARY_AUTO's rule (mqtt.h). */
static int use_libmosquitto(const mqtt_options *opt)
{
    if (opt->library == MQTT_LIBRARY_MOSQUITTO)
        return 1;
    return opt->library == MQTT_LIBRARY_AUTO && opt->clean_session && opt->sub_qos == 0 &&
           opt->ntopics > 0 && mqtt_mosq_usable(opt, NULL);
}

int mqtt_client_create(mqtt_client **out, const mqtt_options *opt)
{
    mqtt_client *c = NULL;
    *out = NULL;
    if (!opt || !opt->uris || !opt->client_id || opt->ntopics < 0 ||
        (opt->ntopics > 0 && !opt->topics) || opt->library < MQTT_LIBRARY_AUTO ||
        opt->library > MQTT_LIBRARY_MOSQUITTO) {
        log_error("mqtt_invalid_options");
        return -1;
    }
    c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (use_libmosquitto(opt)) {
        if (mqtt_mosq_create(&c->mq, opt) != 0)
            goto fail;
        *out = c;
        return 0;
    }
    c->opt = *opt;
    c->backoff_ms = 250;
    c->uris_buf = strdup(opt->uris);
    c->client_id = strdup(opt->client_id);
    c->username = dup_or_null(opt->username && opt->username[0] ? opt->username : NULL);
    c->password = dup_or_null(opt->password && opt->password[0] ? opt->password : NULL);
    c->ca_file = dup_or_null(opt->ca_file && opt->ca_file[0] ? opt->ca_file : NULL);
    c->persist_dir = dup_or_null(opt->persist_dir && opt->persist_dir[0] ? opt->persist_dir : NULL);
    if (opt->will_topic && opt->will_topic[0]) {
        c->will_topic = strdup(opt->will_topic);
        c->will_payload = strdup(opt->will_payload ? opt->will_payload : "");
        c->birth_payload = dup_or_null(opt->birth_payload);
        if (!c->will_topic || !c->will_payload || (opt->birth_payload && !c->birth_payload))
            goto fail;
    }
    if (!c->uris_buf || !c->client_id)
        goto fail;
    char *save = NULL;
    for (char *tok = strtok_r(c->uris_buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (c->nuris == MQTT_MAX_URIS) {
            log_error("mqtt_too_many_uris max=%d", MQTT_MAX_URIS);
            goto fail;
        }
        c->uris[c->nuris++] = tok;
    }
    if (c->nuris == 0) {
        log_error("mqtt_no_uri");
        goto fail;
    }
    if (opt->ntopics > 0) {
        c->topics = calloc((size_t)opt->ntopics, sizeof *c->topics);
        c->qos = calloc((size_t)opt->ntopics, sizeof *c->qos);
        if (!c->topics || !c->qos)
            goto fail;
        for (int i = 0; i < opt->ntopics; i++) {
            c->topics[i] = strdup(opt->topics[i]);
            if (!c->topics[i])
                goto fail;
            c->qos[i] = opt->sub_qos;
            c->ntopics = i + 1;
        }
    }
    c->opt.uris = c->uris_buf;
    c->opt.client_id = c->client_id;
    c->opt.username = c->username;
    c->opt.password = c->password;
    c->opt.ca_file = c->ca_file;
    c->opt.persist_dir = c->persist_dir;
    c->opt.will_topic = c->will_topic;
    c->opt.will_payload = c->will_payload;
    c->opt.birth_payload = c->birth_payload;
    c->opt.topics = NULL;

    MQTTAsync_createOptions cro = MQTTAsync_createOptions_initializer;
    cro.sendWhileDisconnected = 1;
    cro.maxBufferedMessages = opt->max_buffered > 0 ? opt->max_buffered : 10000;
    cro.MQTTVersion = MQTTVERSION_3_1_1;
    /* With a persistence directory, paho writes each QoS 1/2 message to it
     * before MQTTAsync_send returns and deletes it once acknowledged; a
     * restarted client with the same id sends what is left. */
    int rc = MQTTAsync_createWithOptions(&c->h, c->uris[0], c->client_id,
                                         c->persist_dir ? MQTTCLIENT_PERSISTENCE_DEFAULT
                                                        : MQTTCLIENT_PERSISTENCE_NONE,
                                         c->persist_dir, &cro);
    if (rc != MQTTASYNC_SUCCESS) {
        log_error("mqtt_create_failed rc=%d uri=%s", rc, c->uris[0]);
        c->h = NULL;
        goto fail;
    }
    rc = MQTTAsync_setCallbacks(c->h, c, on_connection_lost, on_message_arrived, NULL);
    if (rc != MQTTASYNC_SUCCESS)
        goto fail;
    /* The first attempt is made here, not by the monitor: paho buffers
     * messages published while disconnected only after a connect call, so
     * a publish right after create must not race the monitor thread. */
    c->connecting = 1;
    rc = do_connect(c, 0);
    if (rc != MQTTASYNC_SUCCESS) {
        log_rate(41, 10.0, LOG_WARN, "mqtt_connect_call_failed rc=%d", rc);
        c->connecting = 0;
    }
    if (pthread_create(&c->monitor, NULL, monitor_main, c) != 0)
        goto fail;
    c->monitor_started = 1;
    *out = c;
    return 0;
fail:
    free_client(c);
    return -1;
}

int mqtt_client_sessions_lost(mqtt_client *c)
{
    if (c->mq)
        return mqtt_mosq_sessions_lost(c->mq);
    pthread_mutex_lock(&c->mu);
    int n = c->sessions_lost;
    pthread_mutex_unlock(&c->mu);
    return n;
}

int mqtt_client_is_connected(mqtt_client *c)
{
    if (c->mq)
        return mqtt_mosq_is_connected(c->mq);
    pthread_mutex_lock(&c->mu);
    int v = c->connected;
    pthread_mutex_unlock(&c->mu);
    return v;
}

int mqtt_client_wait_connected(mqtt_client *c, int timeout_ms)
{
    if (c->mq)
        return mqtt_mosq_wait_connected(c->mq, timeout_ms);
    if (timeout_ms < 0)
        timeout_ms = 0;
    struct timespec until;
    deadline_after_ms(&until, timeout_ms);
    pthread_mutex_lock(&c->mu);
    while (!c->connected) {
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT)
            break;
    }
    int ok = c->connected;
    pthread_mutex_unlock(&c->mu);
    return ok ? 0 : -1;
}

int mqtt_client_publish(mqtt_client *c, const char *topic, const void *payload, size_t len, int qos,
                        int retain)
{
    if (c->mq)
        return mqtt_mosq_publish(c->mq, topic, payload, len, qos, retain);
    if (len > 256u * 1024 * 1024)
        return -1;
    MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
    int rc = MQTTAsync_send(c->h, topic, (int)len, payload, qos, retain, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        log_rate(42, 5.0, LOG_WARN, "mqtt_publish_failed rc=%d topic=%s", rc, topic);
        return -1;
    }
    return 0;
}

int mqtt_client_flush(mqtt_client *c, int timeout_ms)
{
    if (c->mq)
        return mqtt_mosq_flush(c->mq, timeout_ms);
    double start = clock_mono();
    for (;;) {
        MQTTAsync_token *tokens = NULL;
        int rc = MQTTAsync_getPendingTokens(c->h, &tokens);
        int pending = 0;
        if (rc == MQTTASYNC_SUCCESS && tokens) {
            while (tokens[pending] != -1)
                pending++;
            MQTTAsync_free(tokens);
        }
        if (rc == MQTTASYNC_SUCCESS && pending == 0)
            return 0;
        if ((clock_mono() - start) * 1000.0 >= timeout_ms)
            return -1;
        struct timespec d = {0, 5 * 1000000L};
        nanosleep(&d, NULL);
    }
}

void mqtt_client_destroy(mqtt_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->monitor_started)
        pthread_join(c->monitor, NULL);
    if (c->h && c->will_topic && MQTTAsync_isConnected(c->h) &&
        mqtt_client_publish(c, c->will_topic, c->will_payload, strlen(c->will_payload), 1, 1) == 0)
        mqtt_client_flush(c, 1000);
    if (c->h && MQTTAsync_isConnected(c->h)) {
        MQTTAsync_disconnectOptions dopt = MQTTAsync_disconnectOptions_initializer;
        dopt.timeout = 1000;
        if (MQTTAsync_disconnect(c->h, &dopt) == MQTTASYNC_SUCCESS) {
            for (int i = 0; i < 120 && MQTTAsync_isConnected(c->h); i++) {
                struct timespec d = {0, 10 * 1000000L};
                nanosleep(&d, NULL);
            }
        }
    }
    free_client(c);
}
