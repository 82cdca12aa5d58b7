/*
 * mqtt_mosq — the libmosquitto backend of bus/mqtt.h. Only mqtt.c calls
 * these: services keep using mqtt_client_* and mqtt_options, and
 * mqtt_client_create picks the backend (mqtt.h, `library`). Each function
 * does what its mqtt_client_* namesake documents, with the differences
 * listed here:
 *
 *  - A message callback's return value is not a redelivery request:
 *    libmosquitto cannot hand a message over again. A 0 is logged
 *    (mqtt_message_not_redelivered) and the message is gone; at QoS 1 the
 *    PUBACK is still sent.
 *  - No persist_dir: outgoing QoS 1 messages live in memory only.
 *  - Plain tcp:// URIs only (no TLS: ca_file unsupported).
 * mqtt_mosq_usable() says whether options need none of these.
 */
#ifndef COMMON_MQTT_MOSQ_H
#define COMMON_MQTT_MOSQ_H

#include <stddef.h>

#include "bus/mqtt.h"

typedef struct mqtt_mosq mqtt_mosq; /* opaque */

/** Whether libmosquitto can serve these options with every behaviour
 *  mqtt.h promises for them: every URI tcp://host:port (host not an IPv6
 *  literal), no ca_file, no persist_dir.
 *  Returns: 1 if so, 0 if not (reason in *why when why is not NULL: a
 *  static string). Thread-safe. */
int mqtt_mosq_usable(const mqtt_options *opt, const char **why);

/** As mqtt_client_create. The options must be usable (mqtt_mosq_usable).
 *  Out: *out owned by the caller (mqtt_mosq_destroy).
 *  Returns: 0, or -1 on invalid options or out of memory (logged). */
int mqtt_mosq_create(mqtt_mosq **out, const mqtt_options *opt);

/** As mqtt_client_wait_connected. Blocks up to timeout_ms. Thread-safe. */
int mqtt_mosq_wait_connected(mqtt_mosq *c, int timeout_ms);

/** As mqtt_client_is_connected. Thread-safe. */
int mqtt_mosq_is_connected(mqtt_mosq *c);

/** As mqtt_client_sessions_lost. Thread-safe. */
int mqtt_mosq_sessions_lost(mqtt_mosq *c);

/** As mqtt_client_publish: never blocks; while disconnected the message is
 *  copied into a buffer of at most max_buffered messages, sent after the
 *  next connect. Returns 0 when queued, -1 when not (logged). Thread-safe. */
int mqtt_mosq_publish(mqtt_mosq *c, const char *topic, const void *payload, size_t len, int qos,
                      int retain);

/** As mqtt_client_flush: 0 once every message is written (QoS 0) or
 *  acknowledged (QoS 1/2) and none is buffered, -1 after timeout_ms. */
int mqtt_mosq_flush(mqtt_mosq *c, int timeout_ms);

/** As mqtt_client_destroy: will, disconnect (waiting at most 1 s for
 *  pending messages), free. NULL is ok. */
void mqtt_mosq_destroy(mqtt_mosq *c);

#endif
