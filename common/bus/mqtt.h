/*
 * mqtt — the one MQTT client wrapper every service uses, over paho's
 * MQTTAsync or libmosquitto (mqtt_options.library). It owns connection,
 * automatic reconnect (with backoff, across a list of broker URIs),
 * re-subscription after every reconnect, and the message callback
 * contract. Services say which topics and what to do with a message;
 * nothing else.
 *
 * Threads: the library runs callbacks on its own thread, one at a time.
 * The message callback may call mqtt_client_publish().
 *
 * Subscriptions that fail (or that the broker refuses in its SUBACK) are
 * retried every second while connected.
 */
#ifndef COMMON_MQTT_H
#define COMMON_MQTT_H

#include <stddef.h>

#include "base/config.h"

/* The broker settings every service takes, as rows of its config_option
 * table (base/config.h), so each service lists them in one line and they
 * read the same everywhere: broker URI list, user name, password and the
 * CA file for ssl:// URIs. The client id is not among them: each service
 * names its own (its flag, variable and default differ).
 *   In: url, username, password, ca_file: const char ** the values land
 *       in (see CONFIG_STR for ownership).
 * Use inside the table's initialiser: `MQTT_CONFIG_ROWS(&u, &n, &p, &ca),` */
/* clang-format off */
#define MQTT_CONFIG_ROWS(url, username, password, ca_file)                                         \
    {"mqtt-url", "MQTT_URL", CONFIG_STR, "tcp://127.0.0.1:1883",                                   \
     "broker URI(s), comma-separated", (url)},                                                     \
    {"mqtt-username", "MQTT_USERNAME", CONFIG_STR, NULL, "broker user name", (username)},          \
    {"mqtt-password", "MQTT_PASSWORD", CONFIG_STR, NULL, "broker password (never logged)",         \
     (password)},                                                                                  \
    {"mqtt-ca-file", "MQTT_CA_FILE", CONFIG_STR, NULL, "CA file for ssl:// broker URIs", (ca_file)}
/* clang-format on */

typedef struct mqtt_client mqtt_client; /* opaque */

/* The client library behind a client (docs/SCALING.md has the figures).
 * MQTT_LIBRARY_AUTO picks libmosquitto for a subscriber that loses nothing
 * by it: clean session, sub_qos 0, at least one topic, and options
 * libmosquitto serves (bus/mqtt_mosq.h: tcp:// URIs, no ca_file, no
 * persist_dir). As a consumer it was measured at about two thirds of
 * paho's CPU per message (bench/mqtt_consumer.sh). Every other client gets
 * paho.
 * MQTT_LIBRARY_MOSQUITTO with options it cannot serve fails at create. */
enum { MQTT_LIBRARY_AUTO = 0, MQTT_LIBRARY_PAHO, MQTT_LIBRARY_MOSQUITTO };

/** Message callback. topic is NUL-terminated; payload is not (len bytes).
 *  Both are valid only during the call.
 *  Returns: 1 when the message is handled, 0 to have paho deliver it again
 *           later (with libmosquitto a 0 is logged and the message is gone:
 *           MQTT_LIBRARY_AUTO picks it for QoS 0 subscribers only).
 *           Either way paho (1.3.11, the installed library) sends the
 *           QoS 1 PUBACK right after the callback returns: a message whose
 *           callback returned 0 is held by paho alone, in memory (and in
 *           persist_dir when set, without fsync). A service that must not
 *           lose it when it cannot store it should exit instead of returning
 *           0 (see services/chainlogger/cl_intake.c). Returning 1 after a
 *           durable write is what makes the PUBACK mean "stored". */
typedef int (*mqtt_message_cb)(void *user, const char *topic, const void *payload, size_t len);

/** As mqtt_message_cb, with the QoS the message was delivered at (0..2:
 *  the lower of the publisher's and the subscription's), for a service that
 *  treats QoS 0 and QoS 1 messages differently (the detector queues QoS 0
 *  readings for another thread but scores QoS 1 ones before returning, so
 *  their acknowledgement still means "scored"). */
typedef int (*mqtt_message_qos_cb)(void *user, const char *topic, const void *payload, size_t len,
                                   int qos);

/** Connection-state callback: connected = 1 on (re)connect, 0 on loss. */
typedef void (*mqtt_state_cb)(void *user, int connected);

typedef struct {
    const char *uris;      /* comma-separated broker URIs, e.g. "tcp://127.0.0.1:1883,tcp://..." */
    const char *client_id; /* must be unique per broker; required for persistent sessions */
    const char *username;  /* NULL for none */
    const char *password;  /* NULL for none; never logged */
    const char *ca_file;   /* TLS CA file for ssl:// URIs, or NULL; the broker certificate
                              must be signed by it and name the URI's host */
    int clean_session;     /* 0 = persistent session (QoS 1 messages kept while away) */
    const char *persist_dir;   /* NULL: outgoing QoS 1/2 messages live in memory only. A
                                  directory (must exist): paho stores each one there before
                                  mqtt_client_publish returns, until the broker acknowledges
                                  it, so a killed process resends them on restart (use with
                                  clean_session = 0 and a stable client_id). */
    int keepalive_s;           /* 0 = 20 s */
    const char *const *topics; /* subscriptions, re-made on every connect; may be NULL */
    int ntopics;
    int sub_qos;      /* QoS for all subscriptions */
    int max_buffered; /* messages buffered while disconnected (0 = 10000) */
    int max_inflight; /* outstanding QoS>0 messages (0 = 1000) */
    /* Availability (optional): with will_topic set, the broker publishes
     * will_payload there (QoS 1, retained) when the client vanishes without
     * disconnecting (kill -9, crash: at once; network loss: after 1.5 x
     * keepalive). birth_payload (may be NULL) is published there (QoS 1,
     * retained) after every connect, and will_payload again by
     * mqtt_client_destroy before it disconnects, so the topic always says
     * whether the client is there. Services use topics_availability()
     * with "online" / "offline". */
    const char *will_topic;
    const char *will_payload;
    const char *birth_payload;
    mqtt_message_cb on_message;         /* may be NULL for publish-only clients */
    mqtt_message_qos_cb on_message_qos; /* used instead of on_message when set */
    mqtt_state_cb on_state;             /* may be NULL */
    void *user;
    int library; /* MQTT_LIBRARY_AUTO (0), _PAHO or _MOSQUITTO: see above */
} mqtt_options;

/** Create a client and start connecting in the background; it keeps
 *  reconnecting until destroyed. All strings in `opt` are copied.
 *  Out: *out: the client, owned by the caller (mqtt_client_destroy).
 *  Returns: 0, or -1 on invalid options or out of memory (reason logged). */
int mqtt_client_create(mqtt_client **out, const mqtt_options *opt);

/** Wait until connected, at most timeout_ms. Returns 0 when connected, -1 on timeout. */
int mqtt_client_wait_connected(mqtt_client *c, int timeout_ms);

/** 1 while connected, else 0. Thread-safe. */
int mqtt_client_is_connected(mqtt_client *c);

/** How many times a connection was made with a persistent session
 *  (clean_session 0) that the broker no longer had (CONNACK session
 *  present 0 on a reconnect): QoS 1 messages queued for the old session
 *  are then not delivered. Each is also logged (mqtt_session_lost).
 *  0 for clean sessions. Thread-safe. */
int mqtt_client_sessions_lost(mqtt_client *c);

/** Queue a message. Does not block on the network; while disconnected the
 *  message is buffered (up to max_buffered).
 *  Returns: 0 when queued, -1 when the buffer is full or the client failed. */
int mqtt_client_publish(mqtt_client *c, const char *topic, const void *payload, size_t len, int qos,
                        int retain);

/** Wait until every queued message has been handed to the broker (QoS 0)
 *  or acknowledged (QoS 1/2), at most timeout_ms. Returns 0 or -1 on timeout. */
int mqtt_client_flush(mqtt_client *c, int timeout_ms);

/** Words for a connection failure code as paho reports it: 1..5 are MQTT
 *  3.1.1 CONNACK refusals ("bad user name or password", "not authorised",
 *  "server unavailable", ...), negative values paho's MQTTASYNC_ errors.
 *  Returns: a static string, never NULL. Thread-safe. */
const char *mqtt_connect_reason(int code);

/** Publish will_payload on will_topic when set (an orderly stop is not a
 *  death: the broker drops the will on DISCONNECT), disconnect (waiting at
 *  most 1 s for pending messages) and free. NULL is ok. */
void mqtt_client_destroy(mqtt_client *c);

#endif
