/*
 * nt_queue — the notifier's deliveries: a durable outbox (store/outbox.h)
 * with one entry per (event, channel), and one delivery thread per channel.
 *
 * Accepting: nt_queue_submit writes an entry for every channel the event
 * goes to and fsyncs once; only then does the MQTT callback return, so the
 * broker's PUBACK means "on disk" (bus/mqtt.h). After a kill -9 the
 * entries still pending are read back and delivered again with the same
 * idempotency key: at least once, and a receiver that keeps the keys it
 * has seen drops the repeats.
 *
 * Delivering (per channel, its own thread and curl handle, so a slow
 * receiver holds up only itself): an entry is due once its quiet hours are
 * over (nt_route_release). The thread waits until the oldest due entry is
 * group_seconds old, the rate limit (rate_per_minute) allows a message and
 * any backoff has passed; then it sends every due entry, up to group_max,
 * as ONE message (nt_msg: one event as itself, more as a group). On
 * success the entries are marked done; on a retryable failure they go back
 * to the front and the thread backs off (1 s doubling up to
 * backoff_max_seconds); a refusal for good (HTTP 4xx, SMTP 5xx) drops them,
 * logged and counted. A receiver that comes back after an hour so gets its
 * backlog in groups, not one message per event.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef NT_QUEUE_H
#define NT_QUEUE_H

#include <jansson.h>
#include <stdint.h>

#include "bus/mqtt.h"
#include "bus/notify.h"
#include "nt.h"

typedef struct nt_queue nt_queue; /* opaque */

/** Open the outbox at path, read back its pending entries and start one
 *  delivery thread per channel.
 *  In: cfg: borrowed, must outlive the queue; m: the notifier's client
 *      (borrowed; for mqtt channels); do_fsync: 0 only in benchmarks.
 *  Out: *out (nt_queue_close).
 *  Returns: 0, or -1 (the reason logged). */
int nt_queue_open(nt_queue **out, const char *path, const nt_config *cfg, mqtt_client *m,
                  int do_fsync);

/** Stop the delivery threads (an attempt in flight finishes first, up to
 *  its timeout); nt_queue_submit still works (entries wait in the outbox).
 *  Call before destroying the MQTT client the mqtt channels use. NULL is ok. */
void nt_queue_stop(nt_queue *q);

/** nt_queue_stop, then close the outbox and free. NULL is ok. */
void nt_queue_close(nt_queue *q);

/** Accept ev for the channels whose bit is set in mask (bit i = cfg->ch[i]),
 *  durably (fsync) before returning. An entry whose key is still pending
 *  (the same event redelivered) is not added again.
 *  Returns: the number of entries added (>= 0), or -1 when the outbox could
 *  not write (nothing may be acknowledged then). May block on disk I/O. */
int nt_queue_submit(nt_queue *q, const nt_event *ev, uint64_t mask);

/** Append the per-channel counters to a status report (bus/status.h):
 *  sent_total (messages), events_sent_total, failed_total (attempts),
 *  retried_total (attempts after a failure), rejected_total (events
 *  dropped for good) and queued (gauge), each labelled channel=<name>; the
 *  gateway's /metrics shows them as iotad_notifier_<name>{channel=...}.
 *  Returns 0 or -1. */
int nt_queue_fill_status(nt_queue *q, json_t *metrics);

/** Each channel's counters, last delivery and last failure (time and
 *  reason), in the configuration's order, for the channel report
 *  (bus/notify.h).
 *  Out: out: caller-owned, cap rows. Returns: the number of rows filled. */
size_t nt_queue_channels(nt_queue *q, notify_channel_stat *out, size_t cap);

/** A number that grows with every accepted event and every delivery
 *  attempt's outcome (sent, failed, refused): the channel report is due
 *  again when it changed. */
uint64_t nt_queue_changes(nt_queue *q);

/** Give the queue its MQTT client once it exists (mqtt channels wait,
 *  retrying, until then). m is borrowed and must outlive the queue. */
void nt_queue_set_mqtt(nt_queue *q, mqtt_client *m);

/** Entries waiting in total (all channels). */
uint64_t nt_queue_pending(nt_queue *q);

#endif
