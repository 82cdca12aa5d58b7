/*
 * nt_remind — reminders every N minutes until someone acknowledges.
 *
 * The notifier follows every alarm that is active and not acknowledged,
 * from the lifecycle events and from the retained alarms/{sensor_id}
 * messages (so a restarted notifier knows the alarms opened before it).
 * For a channel with remind_minutes = N, reminder k of an alarm is due at
 * opened_at + k x N minutes; it is an event {"event":"reminder","at":<due>,
 * "alarm":{...}} routed to that channel only (nt_route_match: a muted
 * alarm gets none), with the idempotency key {id}:reminder:{due}, the same
 * after a restart. Reminders missed while the notifier was down are not
 * sent late one by one: the next one due after the restart is.
 * Acknowledging, clearing or marking a false positive stops them.
 *
 * Thread-safety: all functions lock the tracker's mutex.
 */
#ifndef NT_REMIND_H
#define NT_REMIND_H

#include <stddef.h>
#include <stdint.h>

#include "nt.h"

typedef struct nt_remind nt_remind; /* opaque */

/** Called for each due reminder: ev (valid during the call) for the
 *  channels in mask. Returns 0, or -1 to try it again on the next tick. */
typedef int (*nt_remind_emit_fn)(void *user, const nt_event *ev, uint64_t mask);

/** A tracker for cfg's channels (borrowed). Returns NULL on no memory. */
nt_remind *nt_remind_new(const nt_config *cfg);
void nt_remind_free(nt_remind *r);

/** Follow a lifecycle event (any type): start, update or stop following
 *  its alarm. now_ms: the wall clock (Unix ms). */
void nt_remind_observe(nt_remind *r, const nt_event *ev, int64_t now_ms);

/** A sensor's retained current alarms (alarms/{sensor_id}, bus/alarm.h):
 *  follow the active unacknowledged ones listed, stop following the
 *  sensor's others. Returns 0, or -1 when the payload is not valid. */
int nt_remind_sensor(nt_remind *r, const char *sensor_id, const void *payload, size_t len,
                     int64_t now_ms);

/** Emit every reminder due at now_ms. Returns how many were emitted. */
int nt_remind_tick(nt_remind *r, int64_t now_ms, nt_remind_emit_fn emit, void *user);

/** Alarms followed (for tests and the status report). */
size_t nt_remind_count(nt_remind *r);

#endif
