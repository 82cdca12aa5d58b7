/*
 * notify — the notifier's two messages for people and the dashboard
 * (issue #18, item 5):
 *
 * A test request, on `notify/test` (QoS 1, not retained; the dashboard's
 * POST /api/notify/test, or anyone allowed to publish there):
 *
 *   {"channel":"ops"}        one channel
 *   {} or an empty payload   every channel
 *
 * A channel report, on `notify/channels/{instance}` (QoS 1, retained; the
 * notifier publishes it when a delivery succeeds or fails, at most once a
 * second, and with every status report), one row per configured channel:
 *
 *   {"instance":"notifier","ts":1733580000500,
 *    "channels":[{"name":"ops","type":"webhook","sent_total":3,
 *      "events_sent_total":5,"failed_total":1,"retried_total":1,
 *      "rejected_total":0,"queued":0,
 *      "last_sent_at":1733580000400,           Unix ms, null = never
 *      "last_failure_at":1733579990000,        Unix ms, null = never
 *      "last_failure":"HTTP 503"}]}            the reason, null = never
 *
 * The counters are the same as the status report's (bus/status.h,
 * docs/notifier.md) and start again with the process. A reason is what the
 * notifier logged for the failed attempt (an HTTP status, a curl error
 * text, "SMTP 550"...), never a secret.
 *
 * Every function here is pure apart from allocation, and thread-safe.
 */
#ifndef COMMON_NOTIFY_H
#define COMMON_NOTIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define NOTIFY_NAME_MAX 64     /* channel name incl. NUL: 1..63 of [A-Za-z0-9_.-] */
#define NOTIFY_TYPE_MAX 16     /* channel type incl. NUL */
#define NOTIFY_REASON_MAX 200  /* failure reason incl. NUL (longer ones are cut) */
#define NOTIFY_CHANNELS_MAX 64 /* channels in one report at most */

/** 1 when s is a valid channel name (1..63 of [A-Za-z0-9_.-]), else 0. */
int notify_channel_name_valid(const char *s);

/** Encode a test request: {"channel": channel}, or {} when channel is NULL
 *  or "" (every channel).
 *  Returns: the length (without the NUL), or -1 (an invalid name, or it
 *           does not fit in cap). Out: buf, caller-owned, cap bytes. */
int notify_test_to_json(const char *channel, char *buf, size_t cap);

/** Decode a test request; an empty payload, {} and {"channel": null} mean
 *  every channel.
 *  Out: channel: the name, or "" for every channel (cap >= NOTIFY_NAME_MAX).
 *  Returns: 0, or -1 with a reason in err (not an object, unknown member,
 *           an invalid name). */
int notify_test_from_json(const void *payload, size_t len, char *channel, size_t cap, char *err,
                          size_t errlen);

/** One row of a channel report. */
typedef struct {
    char name[NOTIFY_NAME_MAX];
    char type[NOTIFY_TYPE_MAX]; /* "webhook", "ntfy", "telegram", "email", "mqtt" */
    uint64_t sent, events_sent, failed, retried, rejected, queued;
    int64_t last_sent_at;                 /* Unix ms, 0 = never */
    int64_t last_failure_at;              /* Unix ms, 0 = never */
    char last_failure[NOTIFY_REASON_MAX]; /* "" = never */
} notify_channel_stat;

/** Build a channel report document.
 *  In: instance: the notifier's instance; ts: Unix ms; v/n: the rows
 *      (n <= NOTIFY_CHANNELS_MAX, names valid).
 *  Returns: a new reference (the caller decrefs), or NULL (bad argument or
 *           no memory). */
json_t *notify_channels_to_doc(const char *instance, int64_t ts, const notify_channel_stat *v,
                               size_t n);

/** Decode and validate a channel report (every member above, of its type;
 *  counters integers >= 0; times null or integers >= 0; reason null or
 *  printable text shorter than NOTIFY_REASON_MAX; at most
 *  NOTIFY_CHANNELS_MAX rows).
 *  Out: *out: the report rebuilt from what was validated (unknown members
 *       dropped), a new reference.
 *  Returns: 0, or -1 with a reason in err. */
int notify_channels_parse(const void *payload, size_t len, json_t **out, char *err, size_t errlen);

#endif
