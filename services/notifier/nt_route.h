/*
 * nt_route — which channels want an event, and when it may go out.
 * Pure functions of a channel's settings, the event and the time: no
 * state, no allocation, thread-safe.
 */
#ifndef NT_ROUTE_H
#define NT_ROUTE_H

#include <time.h>

#include "nt.h"

/** Whether channel ch wants event ev: its kind of event is in ch->events,
 *  the alarm is at least ch->min_severity, its sensor matches ch->sensors
 *  (an exact id, or a prefix written with a trailing '*') and its kind
 *  ch->kinds, and the alarm is not muted at the event's time (a muted
 *  alarm sends nothing, not even its clearing; a test event always passes).
 *  Returns: 1 or 0. */
int nt_route_match(const nt_channel *ch, const nt_event *ev);

/** Quiet hours: when an event of severity sev may go out, given the time
 *  now (Unix s). Returns: now when it may go at once (no quiet hours, not
 *  in them, or sev at least ch->quiet_pass), else the Unix second the
 *  quiet hours end (held until then, not dropped). */
time_t nt_route_release(const nt_channel *ch, int sev, time_t now);

#endif
