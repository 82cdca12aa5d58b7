/*
 * mqtt_mosq — see mqtt_mosq.h. Why a second client library: measured as a
 * consumer of mosquitto (bench/mqtt_consumer.sh, docs/SCALING.md)
 * libmosquitto needs about two thirds of paho's CPU per message, at QoS 0
 * and QoS 1; paho stays for what only it offers here
 * (file persistence of outgoing QoS 1 messages, redelivery of a message
 * whose callback returned 0, TLS with the wrapper's verification rules).
 *
 * One thread per client owns the connection: it connects to one broker URI
 * at a time (the next after a failure, with backoff 0.25 s .. 8 s, as the
 * paho backend), then runs mosquitto_loop until the connection ends.
 * libmosquitto is in "threaded" mode, so mosquitto_publish from any thread
 * only queues the packet and wakes the loop, which writes it; callbacks
 * (connect, message, publish, subscribe, disconnect) run on the loop thread.
 *
 * Publishing while disconnected: libmosquitto drops QoS 0 messages then, so
 * messages published while not connected are copied into our own FIFO
 * (max_buffered) and sent by the connect callback. `connected` and the
 * FIFO share one mutex, so a message is either buffered before the connect
 * callback takes the FIFO or published after it.
 *
 * Flush accounting: libmosquitto reports every PUBLISH it has written (QoS
 * 0) or had acknowledged (QoS 1/2) through on_publish(mid), but the mid is
 * known to us only once mosquitto_publish returns, possibly after the
 * callback. mid_state[] resolves both orders (see note_published).
 */
#include "bus/mqtt_mosq.h"

#include <errno.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/deadline.h"
#include "base/log.h"

#define MOSQ_MAX_URIS 16
#define CONNACK_TIMEOUT_S 5

enum { MID_NONE, MID_WAIT_ACK, MID_DONE_EARLY, MID_QOS0_SENT };

typedef struct buffered {
    struct buffered *next;
    char *topic;
    void *payload;
    size_t len;
    int qos, retain;
} buffered;

struct mqtt_mosq {
    struct mosquitto *m;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int thread_started;
    int connected, stop, sessions_lost, connects, resubscribe;
    double resubscribe_at; /* clock_mono() of the next subscription retry */
    int uri;
    long backoff_ms;
    char *uris_buf;
    char *hosts[MOSQ_MAX_URIS];
    int ports[MOSQ_MAX_URIS];
    int nuris;
    char *client_id, *username, *password, *will_topic, *will_payload, *birth_payload;
    char **topics;
    int ntopics, sub_qos, clean_session, keepalive_s;
    /* Guarded by mu: the FIFO of messages published while disconnected,
     * QoS>0 messages not yet acknowledged, and each mid's state. */
    buffered *head, *tail;
    int nbuffered, max_buffered;
    long unacked;
    uint8_t mid_state[65536];
    mqtt_message_cb on_message;
    mqtt_message_qos_cb on_message_qos;
    mqtt_state_cb on_state;
    void *user;
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static void lib_init(void)
{
    mosquitto_lib_init();
}

/* Split "tcp://host:port" (port optional, 1883). Returns 0 or -1. */
static int parse_uri(char *uri, char **host, int *port)
{
    if (strncmp(uri, "tcp://", 6) != 0)
        return -1;
    char *h = uri + 6, *colon = strrchr(h, ':');
    if (!*h || *h == '[')
        return -1;
    *port = 1883;
    if (colon) {
        char *end = NULL;
        long p = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || p <= 0 || p > 65535)
            return -1;
        *port = (int)p;
        *colon = '\0';
    }
    *host = h;
    return *h ? 0 : -1;
}

int mqtt_mosq_usable(const mqtt_options *opt, const char **why)
{
    const char *w = NULL;
    if (opt->persist_dir && opt->persist_dir[0])
        w = "persist_dir";
    else if (opt->ca_file && opt->ca_file[0])
        w = "TLS";
    else if (!opt->uris)
        w = "no URI";
    else {
        char *copy = strdup(opt->uris), *save = NULL;
        int n = 0;
        if (!copy)
            w = "out of memory";
        for (char *t = copy ? strtok_r(copy, ", ", &save) : NULL; t && !w;
             t = strtok_r(NULL, ", ", &save)) {
            char *h;
            int p;
            if (parse_uri(t, &h, &p) != 0)
                w = "URI other than tcp://host:port";
            else if (++n > MOSQ_MAX_URIS)
                w = "too many URIs";
        }
        if (!w && n == 0)
            w = "no URI";
        free(copy);
    }
    if (why)
        *why = w;
    return w == NULL;
}

static void set_connected(mqtt_mosq *c, int connected)
{
    pthread_mutex_lock(&c->mu);
    int was = c->connected;
    c->connected = connected;
    if (connected)
        c->backoff_ms = 250;
    else /* QoS 0 messages not yet written went with the connection */
        for (size_t i = 0; i < sizeof c->mid_state; i++)
            if (c->mid_state[i] == MID_QOS0_SENT)
                c->mid_state[i] = MID_NONE;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->on_state && was != connected)
        c->on_state(c->user, connected);
}

static void subscribe_all(mqtt_mosq *c)
{
    if (c->ntopics == 0)
        return;
    int rc = mosquitto_subscribe_multiple(c->m, NULL, c->ntopics, c->topics, c->sub_qos, 0, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        log_rate(47, 10.0, LOG_ERROR, "mqtt_subscribe_failed rc=%d reason=\"%s\" retry_in=1s", rc,
                 mosquitto_strerror(rc));
        pthread_mutex_lock(&c->mu);
        c->resubscribe = 1;
        c->resubscribe_at = clock_mono() + 1.0;
        pthread_mutex_unlock(&c->mu);
    }
}

/* A message handed to libmosquitto: account for it by mid. For QoS > 0,
 * on_publish may already have come (MID_DONE_EARLY); for QoS 0 the
 * callback clears MID_QOS0_SENT, or this clears its early mark. A QoS 0
 * message lost with its connection leaves MID_QOS0_SENT, which a later
 * message with the same mid overwrites (and set_connected clears). */
static void note_published(mqtt_mosq *c, int mid, int qos)
{
    pthread_mutex_lock(&c->mu);
    uint8_t *s = &c->mid_state[(uint16_t)mid];
    if (*s == MID_DONE_EARLY)
        *s = MID_NONE;
    else if (qos > 0) {
        *s = MID_WAIT_ACK;
        c->unacked++;
    } else
        *s = MID_QOS0_SENT;
    pthread_mutex_unlock(&c->mu);
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
    (void)m;
    mqtt_mosq *c = obj;
    pthread_mutex_lock(&c->mu);
    uint8_t *s = &c->mid_state[(uint16_t)mid];
    if (*s == MID_WAIT_ACK)
        c->unacked--;
    *s = *s == MID_NONE ? MID_DONE_EARLY : MID_NONE;
    pthread_mutex_unlock(&c->mu);
}

/* Hand one message to libmosquitto (connected). Returns 0 or a MOSQ_ERR_. */
static int send_now(mqtt_mosq *c, const char *topic, const void *payload, size_t len, int qos,
                    int retain)
{
    int mid = 0;
    int rc = mosquitto_publish(c->m, &mid, topic, (int)len, payload, qos, retain != 0);
    /* At QoS > 0 libmosquitto keeps the message for the next connection
     * even when this one has just gone (MOSQ_ERR_NO_CONN). */
    if (rc == MOSQ_ERR_SUCCESS || (rc == MOSQ_ERR_NO_CONN && qos > 0)) {
        note_published(c, mid, qos);
        return MOSQ_ERR_SUCCESS;
    }
    return rc;
}

static int buffer_locked(mqtt_mosq *c, const char *topic, const void *payload, size_t len, int qos,
                         int retain)
{
    if (c->nbuffered >= c->max_buffered)
        return -1;
    buffered *b = calloc(1, sizeof *b);
    if (!b)
        return -1;
    b->topic = strdup(topic);
    b->payload = malloc(len ? len : 1);
    if (!b->topic || !b->payload) {
        free(b->topic);
        free(b->payload);
        free(b);
        return -1;
    }
    if (len)
        memcpy(b->payload, payload, len);
    b->len = len;
    b->qos = qos;
    b->retain = retain;
    if (c->tail)
        c->tail->next = b;
    else
        c->head = b;
    c->tail = b;
    c->nbuffered++;
    return 0;
}

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags)
{
    (void)m;
    mqtt_mosq *c = obj;
    if (rc != 0) {
        /* CONNACK refused (MQTT 3.1.1 table 3.1); libmosquitto closes. */
        log_rate(1, 10.0, LOG_WARN, "mqtt_connect_failed uri=tcp://%s:%d code=%d reason=\"%s\"%s",
                 c->hosts[c->uri], c->ports[c->uri], rc, mqtt_connect_reason(rc),
                 rc == 4 || rc == 5
                     ? " hint=\"check MQTT_USERNAME and MQTT_PASSWORD (scripts/broker-auth.sh)\""
                     : "");
        return;
    }
    int present = flags & 1;
    if (!c->clean_session && present == 0 && c->connects > 0) {
        log_warn("mqtt_session_lost uri=tcp://%s:%d client_id=%s (the broker started a new "
                 "session: QoS 1 messages queued for the old one are not delivered)",
                 c->hosts[c->uri], c->ports[c->uri], c->client_id);
        pthread_mutex_lock(&c->mu);
        c->sessions_lost++;
        pthread_mutex_unlock(&c->mu);
    } else
        log_info("mqtt_connected uri=tcp://%s:%d session_present=%d library=libmosquitto",
                 c->hosts[c->uri], c->ports[c->uri], present);
    c->connects++;
    pthread_mutex_lock(&c->mu);
    c->resubscribe = 0;
    pthread_mutex_unlock(&c->mu);
    subscribe_all(c);
    if (c->will_topic && c->birth_payload)
        send_now(c, c->will_topic, c->birth_payload, strlen(c->birth_payload), 1, 1);
    /* Take what was published while away, and from now on publish directly. */
    pthread_mutex_lock(&c->mu);
    buffered *b = c->head;
    c->head = c->tail = NULL;
    c->nbuffered = 0;
    pthread_mutex_unlock(&c->mu);
    set_connected(c, 1);
    while (b) {
        buffered *next = b->next;
        int prc = send_now(c, b->topic, b->payload, b->len, b->qos, b->retain);
        if (prc != MOSQ_ERR_SUCCESS)
            log_rate(48, 5.0, LOG_WARN, "mqtt_publish_failed rc=%d topic=%s", prc, b->topic);
        free(b->topic);
        free(b->payload);
        free(b);
        b = next;
    }
}

/* A SUBACK may refuse a filter (0x80, MQTT 3.1.1 section 3.9.3): retried. */
static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
    (void)m, (void)mid;
    mqtt_mosq *c = obj;
    int refused = 0;
    for (int i = 0; i < n; i++)
        refused |= granted[i] == 0x80;
    if (!refused) {
        log_debug("mqtt_subscribed topics=%d", c->ntopics);
        return;
    }
    log_rate(47, 10.0, LOG_ERROR, "mqtt_subscribe_refused retry_in=1s");
    pthread_mutex_lock(&c->mu);
    c->resubscribe = 1;
    c->resubscribe_at = clock_mono() + 1.0;
    pthread_mutex_unlock(&c->mu);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    (void)m;
    mqtt_mosq *c = obj;
    size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
    const void *payload = msg->payload ? msg->payload : "";
    int handled = 1;
    if (c->on_message_qos)
        handled = c->on_message_qos(c->user, msg->topic, payload, len, msg->qos);
    else if (c->on_message)
        handled = c->on_message(c->user, msg->topic, payload, len);
    if (!handled)
        log_rate(49, 10.0, LOG_WARN,
                 "mqtt_message_not_redelivered topic=%s qos=%d (libmosquitto cannot hand a "
                 "message over again)",
                 msg->topic, msg->qos);
}

/* Wait on the condition variable up to ms, or until stop. */
static void pause_ms(mqtt_mosq *c, long ms)
{
    struct timespec until;
    deadline_after_ms(&until, ms);
    pthread_mutex_lock(&c->mu);
    while (!c->stop)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&c->mu);
}

static int stopping(mqtt_mosq *c)
{
    pthread_mutex_lock(&c->mu);
    int s = c->stop;
    pthread_mutex_unlock(&c->mu);
    return s;
}

/* The orderly end of a connection: the will (an orderly stop is not a
 * death), pending messages for at most 1 s, DISCONNECT. */
static void close_connection(mqtt_mosq *c)
{
    if (c->will_topic)
        send_now(c, c->will_topic, c->will_payload, strlen(c->will_payload), 1, 1);
    double end = clock_mono() + 1.0;
    while (clock_mono() < end) {
        pthread_mutex_lock(&c->mu);
        long unacked = c->unacked;
        pthread_mutex_unlock(&c->mu);
        if (unacked == 0 && !mosquitto_want_write(c->m))
            break;
        if (mosquitto_loop(c->m, 20, 1) != MOSQ_ERR_SUCCESS)
            return;
    }
    mosquitto_disconnect(c->m);
    for (int i = 0; i < 20 && mosquitto_loop(c->m, 20, 1) == MOSQ_ERR_SUCCESS; i++)
        ;
}

static void *loop_main(void *arg)
{
    mqtt_mosq *c = arg;
    while (!stopping(c)) {
        int u = c->uri; /* written by this thread only */
        int rc = mosquitto_connect(c->m, c->hosts[u], c->ports[u], c->keepalive_s);
        double since = clock_mono();
        if (rc == MOSQ_ERR_SUCCESS) {
            while ((rc = mosquitto_loop(c->m, 100, 1)) == MOSQ_ERR_SUCCESS) {
                pthread_mutex_lock(&c->mu);
                int stop = c->stop, connected = c->connected;
                int resub = connected && c->resubscribe && clock_mono() >= c->resubscribe_at;
                if (resub)
                    c->resubscribe = 0;
                pthread_mutex_unlock(&c->mu);
                if (stop) {
                    close_connection(c);
                    break;
                }
                /* A broker that takes the connection but never answers
                 * (seen with a dying NATS node): give up after
                 * CONNACK_TIMEOUT_S, as paho's connectTimeout does, and try
                 * the next URI. */
                if (!connected && clock_mono() - since > CONNACK_TIMEOUT_S) {
                    log_warn("mqtt_connect_stalled uri=tcp://%s:%d waited_s=%d action=next_uri",
                             c->hosts[u], c->ports[u], CONNACK_TIMEOUT_S);
                    mosquitto_disconnect(c->m);
                    rc = MOSQ_ERR_CONN_REFUSED; /* logged here; the next URI below */
                    break;
                }
                if (resub)
                    subscribe_all(c);
            }
        }
        pthread_mutex_lock(&c->mu);
        int was = c->connected, stop = c->stop;
        pthread_mutex_unlock(&c->mu);
        if (was) {
            if (!stop)
                log_warn("mqtt_connection_lost cause=\"%s\"", mosquitto_strerror(rc));
            set_connected(c, 0);
        } else {
            if (rc != MOSQ_ERR_CONN_REFUSED && !stop)
                log_rate(1, 10.0, LOG_WARN,
                         "mqtt_connect_failed uri=tcp://%s:%d code=%d reason=\"%s\"", c->hosts[u],
                         c->ports[u], rc,
                         rc == MOSQ_ERR_ERRNO ? "unreachable (no broker at this address, or the "
                                                "connection was closed)"
                                              : mosquitto_strerror(rc));
            c->uri = (u + 1) % c->nuris; /* the next attempt tries the next broker */
        }
        if (stop)
            break;
        pause_ms(c, c->backoff_ms);
        pthread_mutex_lock(&c->mu);
        if (c->backoff_ms < 8000)
            c->backoff_ms *= 2;
        pthread_mutex_unlock(&c->mu);
    }
    return NULL;
}

static void free_client(mqtt_mosq *c)
{
    if (!c)
        return;
    if (c->m)
        mosquitto_destroy(c->m);
    while (c->head) {
        buffered *b = c->head;
        c->head = b->next;
        free(b->topic);
        free(b->payload);
        free(b);
    }
    for (int i = 0; c->topics && i < c->ntopics; i++)
        free(c->topics[i]);
    free(c->topics);
    free(c->uris_buf);
    free(c->client_id);
    free(c->username);
    free(c->password);
    free(c->will_topic);
    free(c->will_payload);
    free(c->birth_payload);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

static char *dup_nonempty(const char *s)
{
    return s && s[0] ? strdup(s) : NULL;
}

/* Copy the options' strings and settings into c. Returns 0 or -1. */
static int copy_options(mqtt_mosq *c, const mqtt_options *opt)
{
    c->uris_buf = strdup(opt->uris);
    c->client_id = strdup(opt->client_id);
    if (!c->uris_buf || !c->client_id)
        return -1;
    if ((opt->username && opt->username[0] && !(c->username = strdup(opt->username))) ||
        (opt->password && opt->password[0] && !(c->password = strdup(opt->password))))
        return -1;
    if (opt->will_topic && opt->will_topic[0]) {
        c->will_topic = strdup(opt->will_topic);
        c->will_payload = strdup(opt->will_payload ? opt->will_payload : "");
        c->birth_payload = dup_nonempty(opt->birth_payload);
        if (!c->will_topic || !c->will_payload || (opt->birth_payload && !c->birth_payload))
            return -1;
    }
    char *save = NULL;
    for (char *t = strtok_r(c->uris_buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (c->nuris == MOSQ_MAX_URIS ||
            parse_uri(t, &c->hosts[c->nuris], &c->ports[c->nuris]) != 0)
            return -1;
        c->nuris++;
    }
    if (c->nuris == 0)
        return -1;
    if (opt->ntopics > 0) {
        c->topics = calloc((size_t)opt->ntopics, sizeof *c->topics);
        if (!c->topics)
            return -1;
        for (int i = 0; i < opt->ntopics; i++) {
            if (!(c->topics[i] = strdup(opt->topics[i])))
                return -1;
            c->ntopics = i + 1;
        }
    }
    c->sub_qos = opt->sub_qos;
    c->clean_session = opt->clean_session;
    c->keepalive_s = opt->keepalive_s > 0 ? opt->keepalive_s : 20;
    c->max_buffered = opt->max_buffered > 0 ? opt->max_buffered : 10000;
    c->on_message = opt->on_message;
    c->on_message_qos = opt->on_message_qos;
    c->on_state = opt->on_state;
    c->user = opt->user;
    return 0;
}

int mqtt_mosq_create(mqtt_mosq **out, const mqtt_options *opt)
{
    *out = NULL;
    const char *why = NULL;
    if (!mqtt_mosq_usable(opt, &why)) {
        log_error("mqtt_invalid_options library=libmosquitto reason=\"%s\"", why);
        return -1;
    }
    pthread_once(&lib_once, lib_init);
    mqtt_mosq *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->backoff_ms = 250;
    if (copy_options(c, opt) != 0) {
        log_error("mqtt_invalid_options library=libmosquitto reason=\"out of memory or bad URI\"");
        goto fail;
    }
    c->m = mosquitto_new(c->client_id, c->clean_session != 0, c);
    if (!c->m) {
        log_error("mqtt_create_failed library=libmosquitto errno=%d error=\"%s\"", errno, strerror(errno));
        goto fail;
    }
    mosquitto_threaded_set(c->m, true);
    mosquitto_max_inflight_messages_set(
        c->m, (unsigned)(opt->max_inflight > 0 ? opt->max_inflight : 1000));
    if (c->username && mosquitto_username_pw_set(c->m, c->username, c->password) != 0)
        goto fail;
    if (c->will_topic && mosquitto_will_set(c->m, c->will_topic, (int)strlen(c->will_payload),
                                            c->will_payload, 1, true) != MOSQ_ERR_SUCCESS) {
        log_error("mqtt_invalid_options library=libmosquitto reason=\"will topic\"");
        goto fail;
    }
    mosquitto_connect_with_flags_callback_set(c->m, on_connect);
    mosquitto_message_callback_set(c->m, on_message);
    mosquitto_publish_callback_set(c->m, on_publish);
    mosquitto_subscribe_callback_set(c->m, on_subscribe);
    if (pthread_create(&c->thread, NULL, loop_main, c) != 0)
        goto fail;
    c->thread_started = 1;
    *out = c;
    return 0;
fail:
    free_client(c);
    return -1;
}

int mqtt_mosq_wait_connected(mqtt_mosq *c, int timeout_ms)
{
    struct timespec until;
    deadline_after_ms(&until, timeout_ms < 0 ? 0 : timeout_ms);
    pthread_mutex_lock(&c->mu);
    while (!c->connected)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT)
            break;
    int ok = c->connected;
    pthread_mutex_unlock(&c->mu);
    return ok ? 0 : -1;
}

int mqtt_mosq_is_connected(mqtt_mosq *c)
{
    pthread_mutex_lock(&c->mu);
    int v = c->connected;
    pthread_mutex_unlock(&c->mu);
    return v;
}

int mqtt_mosq_sessions_lost(mqtt_mosq *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->sessions_lost;
    pthread_mutex_unlock(&c->mu);
    return n;
}

int mqtt_mosq_publish(mqtt_mosq *c, const char *topic, const void *payload, size_t len, int qos,
                      int retain)
{
    if (len > 256u * 1024 * 1024 || !topic)
        return -1;
    pthread_mutex_lock(&c->mu);
    if (!c->connected) {
        int rc = buffer_locked(c, topic, payload, len, qos, retain);
        pthread_mutex_unlock(&c->mu);
        if (rc != 0)
            log_rate(48, 5.0, LOG_WARN, "mqtt_publish_failed reason=\"buffer full\" topic=%s",
                     topic);
        return rc;
    }
    pthread_mutex_unlock(&c->mu);
    int rc = send_now(c, topic, payload, len, qos, retain);
    if (rc == MOSQ_ERR_NO_CONN) { /* QoS 0 and the connection just went */
        pthread_mutex_lock(&c->mu);
        rc = buffer_locked(c, topic, payload, len, qos, retain);
        pthread_mutex_unlock(&c->mu);
        rc = rc == 0 ? MOSQ_ERR_SUCCESS : MOSQ_ERR_NOMEM;
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        log_rate(48, 5.0, LOG_WARN, "mqtt_publish_failed rc=%d reason=\"%s\" topic=%s", rc,
                 mosquitto_strerror(rc), topic);
        return -1;
    }
    return 0;
}

int mqtt_mosq_flush(mqtt_mosq *c, int timeout_ms)
{
    double end = clock_mono() + timeout_ms / 1000.0;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        int idle = c->unacked == 0 && c->nbuffered == 0;
        pthread_mutex_unlock(&c->mu);
        if (idle && !mosquitto_want_write(c->m))
            return 0;
        if (clock_mono() >= end)
            return -1;
        struct timespec d = {0, 5 * 1000000L};
        nanosleep(&d, NULL);
    }
}

void mqtt_mosq_destroy(mqtt_mosq *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->thread_started)
        pthread_join(c->thread, NULL);
    free_client(c);
}
