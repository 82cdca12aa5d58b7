/*
 * nt_msg — what a channel sends: one JSON body per message (the webhook
 * and MQTT payload, from which the texts of ntfy, Telegram and e-mail are
 * made), for one event or a group of them.
 *
 * One event: the event document as the gateway published it, plus
 *   "idempotency_key" (nt_event_key), "channel" and "text":
 *   {"event":"opened","at":..,"by":null,"alarm":{..},"idempotency_key":"..",
 *    "channel":"ops","text":"[major] room-1 temperature: point alarm opened. .."}
 * A group (rate limit or grouping window, nt_queue.c):
 *   {"event":"group","idempotency_key":"group:<first key>:<n>","channel":"ops",
 *    "count":37,"sensors":37,"text":"37 alarm events on 37 sensors within 58 s: ..",
 *    "events":[<one-event bodies>]}
 * so every event still carries its own idempotency key inside the group.
 *
 * Pure functions: thread-safe; they allocate only what they return.
 */
#ifndef NT_MSG_H
#define NT_MSG_H

#include <jansson.h>
#include <stddef.h>

/** Build the body for n >= 1 events.
 *  In: channel: its name; docs[i]: event documents (borrowed); keys[i]:
 *      their idempotency keys.
 *  Returns: a new reference (json_decref), or NULL (n == 0, no memory). */
json_t *nt_msg_body(const char *channel, json_t *const *docs, const char *const *keys, size_t n);

/** A one-line title for body (ntfy's Title, the e-mail's Subject).
 *  Out: buf, NUL-terminated, cut to cap. */
void nt_msg_title(const json_t *body, char *buf, size_t cap);

/** ntfy priority 1..5 from the most severe event in body (a clearing or
 *  acknowledgement is 2). */
int nt_msg_priority(const json_t *body);

/** ntfy tags (comma-separated emoji short codes) for body. Static string. */
const char *nt_msg_tags(const json_t *body);

/** The body's "text" member, or "" (borrowed from body). */
const char *nt_msg_text(const json_t *body);

#endif
