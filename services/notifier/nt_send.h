/*
 * nt_send — one delivery attempt of a message body on a channel, in the
 * channel's own protocol:
 *   webhook   POST the body (JSON) with X-Signature-256 and Idempotency-Key
 *   ntfy      POST the text to the topic URL; Title, Priority, Tags headers
 *   telegram  POST {base_url}/bot{token}/sendMessage {"chat_id","text"}
 *   email     SMTP (libcurl), STARTTLS required unless the channel says
 *             "starttls": false; Message-ID from the idempotency key
 *   mqtt      publish the body to the channel's topic (QoS 1 by default)
 *
 * A sender belongs to one thread (its curl handle is reused between
 * attempts, keeping the connection alive). nt_send blocks up to the
 * channel's timeout.
 */
#ifndef NT_SEND_H
#define NT_SEND_H

#include <jansson.h>
#include <stddef.h>

#include "bus/mqtt.h"
#include "nt.h"

typedef struct {
    void *curl;        /* CURL *, owned */
    mqtt_client *mqtt; /* borrowed: the notifier's client (for type mqtt) */
} nt_sender;

enum {
    NT_SEND_OK = 0,
    NT_SEND_RETRY = 1, /* the receiver is down or busy: try again later */
    NT_SEND_REJECT = 2 /* the receiver refused it for good (e.g. HTTP 400): do not retry */
};

/** Set up a sender. Returns 0, or -1 (no memory). */
int nt_sender_init(nt_sender *s, mqtt_client *m);
/** Free a sender's handle. */
void nt_sender_cleanup(nt_sender *s);

/** Deliver body on ch once.
 *  Out: err: a reason on failure (never a secret: no token, no password).
 *  Returns: NT_SEND_OK, NT_SEND_RETRY or NT_SEND_REJECT. Blocks up to
 *  ch->timeout_s. */
int nt_send(nt_sender *s, const nt_channel *ch, const json_t *body, char *err, size_t errlen);

/** The HTTP statuses that mean "try again": 408, 425, 429 and 5xx.
 *  Returns: NT_SEND_OK for 2xx, NT_SEND_RETRY or NT_SEND_REJECT. */
int nt_send_classify_http(long status);

#endif
