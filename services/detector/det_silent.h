/*
 * det_silent — sensors that stop sending, and streams stuck on one value
 * (issue #17, item 3). Independent of the scoring engine: it sees the
 * receipt time of every reading and answers with state changes.
 *
 * Silent. Each sensor's usual interval is learned from the gaps between
 * the arrivals of its readings (an exponential average, alpha 0.1, over
 * gaps that were not themselves silences). Once it has seen
 * DET_SILENT_MIN_GAPS gaps, a sensor with no reading for
 *     deadline = max(factor x interval, min_s)
 * becomes silent: one `silent` event (metric "all", in alarm). Its next
 * reading ends it (in_alarm 0). False positives (det_silent_tolerate)
 * loosen the rule for that sensor or metric.
 *
 * A metric stopped. A metric carried by DET_SILENT_MIN_PRESENT readings
 * of the sensor in a row and missing from the next DET_SILENT_MISSING
 * while the sensor keeps sending is `silent` on that metric (in alarm);
 * its next value ends it.
 *
 * Stuck. Per metric, the run of identical values: the longest run that
 * ended so far is the usual one. Once DET_SILENT_MIN_RUNS runs ended, a
 * run lasting max(stuck_factor x usual, stuck_min_s) is `stuck` (one
 * event, in alarm); the next different value ends it.
 *
 * Times are the detector's wall clock at receipt (Unix seconds), not the
 * readings' own ts: silence is about arrivals.
 *
 * Persistence: det_silent_save / det_silent_load (the arrival history).
 *
 * Memory: one record per sensor (~0.6 KB with 8 metrics), at most
 * max_sensors (beyond: not tracked, counted). Not thread-safe: the caller
 * serialises calls (the service's lock). No allocation per reading once a
 * sensor is known.
 */
#ifndef DET_SILENT_H
#define DET_SILENT_H

#include <stddef.h>
#include <stdint.h>

#include "bus/alarm.h"
#include "bus/anomaly.h"
#include "bus/reading.h"

#define DET_SILENT_METRIC ALARM_METRIC_SENSOR /* the metric of a sensor-wide silent event */
#define DET_SILENT_MIN_GAPS 3                 /* gaps learned before silence is judged */
#define DET_SILENT_MIN_RUNS 10                /* ended runs before stuck is judged */
#define DET_SILENT_MIN_PRESENT 20 /* readings in a row carrying a metric: "always sent" */
#define DET_SILENT_MISSING 10     /* readings in a row without it: stopped */
#define DET_SILENT_EXPLAIN 160

typedef struct {
    double factor;       /* deadline = factor x usual interval (5) */
    double min_s;        /* ... but at least this (300) */
    double stuck_factor; /* stuck after this many usual longest runs (20); 0 = off */
    double stuck_min_s;  /* ... but at least this (600) */
    size_t max_sensors;  /* 0 = 100000 */
} det_silent_params;

typedef enum { DET_SILENT_KIND_SILENT = 0, DET_SILENT_KIND_STUCK = 1 } det_silent_kind;

/* One state change. */
typedef struct {
    char sensor_id[SENSOR_ID_MAX];
    char metric[READING_NAME_MAX]; /* DET_SILENT_METRIC for silent */
    det_silent_kind kind;
    int in_alarm;     /* 1 = starts, 0 = ends */
    double value;     /* stuck: the value; silent: seconds since the last reading */
    double last_seen; /* Unix s of the last reading (silent) or of the run's start (stuck) */
    double deadline_s;
    char explanation[DET_SILENT_EXPLAIN];
} det_silent_event;

typedef struct {
    uint64_t sensors, untracked, silent_now, stuck_now, silent_total, stuck_total;
} det_silent_stats;

typedef struct det_silent det_silent; /* opaque */

/** Create. Out: *out (det_silent_destroy). Returns 0 or -1 (no memory,
 *  invalid params: factor >= 1, min_s >= 0, stuck_factor >= 0). */
int det_silent_create(det_silent **out, const det_silent_params *p);
void det_silent_destroy(det_silent *s);

/** A reading arrived at `now`: learn, and report what it ends (silent)
 *  or starts/ends (stuck).
 *  Out: ev[0..cap-1]. Returns the number of events written (>= 0). */
int det_silent_seen(det_silent *s, const reading *r, double now, det_silent_event *ev, int cap);

/** Find sensors whose deadline passed (call about once a second).
 *  Out: ev[0..cap-1]; the rest are found by the next call.
 *  Returns the number of events written. */
int det_silent_check(det_silent *s, double now, det_silent_event *ev, int cap);

/** A person said an alarm of ours was a false positive: a sensor-wide
 *  silence (metric DET_SILENT_METRIC) doubles the sensor's deadline; a
 *  metric that stopped is no longer judged (it is optional); a stuck
 *  metric doubles its own stuck limit (each at most 1024 times the rule's).
 *  Returns 0, or -1 for an unknown sensor or metric. */
int det_silent_tolerate(det_silent *s, const char *sensor_id, const char *metric,
                        det_silent_kind kind);

void det_silent_stats_get(const det_silent *s, det_silent_stats *out);

/** Save each sensor's arrival history (last arrival, usual interval, gaps,
 *  silent, tolerance) to path (temporary file, fsync, rename), so a
 *  restarted detector judges silence at once, including of sensors that
 *  stopped while it was down. Stuck runs and stopped metrics are not
 *  saved (they are learned again). Returns 0 or -1. */
int det_silent_save(const det_silent *s, const char *path);

/** Load what det_silent_save wrote (a missing file is a first start).
 *  Returns: the number of sensors restored, or -1 for a file that is not
 *  a det_silent file (damaged lines are skipped). */
int det_silent_load(det_silent *s, const char *path);

/** The anomaly a starting event publishes on anomalies/{sensor_id}: type
 *  silent or stuck, ts = now (detection time, ms precision), value (the
 *  seconds of silence, or the stuck value), score 1 (certain, not a forest
 *  score), no expected range, model_version -1, the deterministic id. */
void det_silent_to_anomaly(const det_silent_event *e, double now, anomaly *out);

#endif
