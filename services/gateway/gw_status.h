/*
 * gw_status — the other services' status reports (common/bus/status.h), read
 * from status/# and exported in /metrics: each reported metric becomes
 * iotad_<service>_<name>{instance="...",<label>="..."}, grouped by family
 * across instances (one TYPE line per family, as the Prometheus text format
 * requires), plus per instance
 *   iotad_status_age_seconds{service,instance}  seconds since its report
 *   iotad_status_up{service,instance}           1 while it reports on time
 * (age under 3 intervals + 5 s and not a final report), so a service that
 * stopped reporting shows as stale rather than disappearing.
 *
 * Bounded: at most GW_STATUS_MAX_INSTANCES instances (new ones beyond are
 * refused and counted); each keeps only its latest report.
 *
 * Thread-safety: all functions are thread-safe (a mutex: the MQTT thread
 * writes, the lws thread renders).
 */
#ifndef GW_STATUS_H
#define GW_STATUS_H

#include <stddef.h>

#include "gw_buf.h"
#include "bus/status.h"

#define GW_STATUS_MAX_INSTANCES 64

typedef struct gw_status gw_status; /* opaque */

/** Out: *out (gw_status_destroy). Returns 0 or -1 (no memory). */
int gw_status_create(gw_status **out);
void gw_status_destroy(gw_status *s);

/** Store a parsed report, taking ownership of r->metrics (r is emptied).
 *  In: received: Unix s of receipt.
 *  Returns: 0, or -1 when the table is full (the report is freed). */
int gw_status_put(gw_status *s, status_report *r, double received);

/** Number of instances known. */
size_t gw_status_count(gw_status *s);

/** Append the Prometheus text of every report to b. In: now: Unix s. */
void gw_status_render(gw_status *s, gw_buf *b, double now);

#endif
