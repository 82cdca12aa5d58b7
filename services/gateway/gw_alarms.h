/*
 * gw_alarms — the alarm lifecycle (issue #17): one alarm per (sensor,
 * metric, kind) while it lasts, instead of one line per anomaly.
 *
 *   open     the first anomaly of a (sensor, metric, kind) with no active
 *            alarm opens one (event "opened"); its severity comes from the
 *            rule below, its muted_until from a sensor / sensor+metric mute
 *            in force.
 *   repeat   a later anomaly of the same key folds into it (one whose id
 *            is among the alarm's last anomalies is a redelivery: ignored): count,
 *            last_anomaly_id, last_at, explanation, peak value/score (the
 *            highest score's value); severity may rise, never fall
 *            (event "updated").
 *   clear    the detector's retained `detector/alarm/{sensor}/{metric}`
 *            says whether the stream is in its anomalous state. An active
 *            alarm clears itself (event "cleared", by null) once its stream
 *            is not in alarm and calm_s seconds passed since both its last
 *            anomaly and the moment the stream left its alarm state
 *            (hysteresis); `point` alarms use point_calm_s (so an isolated
 *            spike clears soon, a repeating one stays one alarm); `silent`
 *            and `stuck` alarms clear at once on the stream's
 *            in_alarm=false (silent also on a reading that shows the
 *            sensor, or the silent metric, is back),
 *            never by time.
 *   people   ack, clear, mute (an alarm, or a sensor / sensor+metric for
 *            a time), false_positive (clears it and is reported to the
 *            caller for the detector feedback); each is recorded with who
 *            acted (gw_alarms_act).
 *
 * Severity rule (configurable, docs/gateway.md):
 *   kind silent, or a value at least sev_absurd expected-range widths
 *   outside the expected range -> critical; otherwise by score: >=
 *   sev_major_score major, >= sev_minor_score minor, else warning; then
 *   one step up when the value is at least sev_far range widths outside
 *   the range, and one step up once the alarm has been active sev_long_s.
 *
 * Times are the gateway's wall clock at receipt (Unix ms), so the
 * hysteresis never mixes a sensor's clock with ours.
 *
 * Memory: at most max_alarms alarms. Opening one more evicts the cleared
 * alarm cleared longest ago; with every slot active the new alarm is
 * refused and counted (gw_alarms_stats). Each alarm keeps its last
 * GW_ALARMS_HISTORY anomalies and GW_ALARMS_ACTIONS actions (about 3.4 KB).
 *
 * Persistence: with a path, the alarms and mutes are loaded at create and
 * written (temporary file, fsync, rename: never a torn file) by
 * gw_alarms_save, which gw_alarms_tick calls at most every save_every_s
 * when something changed, and gw_alarms_destroy calls last.
 *
 * Every change calls the emit callback once, with the event and the
 * sensor's active alarms (for the retained alarms/{sensor_id}), while the
 * module's lock is held: the callback must not call back into gw_alarms
 * and should only queue (mqtt_client_publish, gw_bus_push).
 *
 * Thread-safety: every function is thread-safe (one mutex); the MQTT
 * thread feeds anomalies/states/readings, the lws thread ticks and serves.
 */
#ifndef GW_ALARMS_H
#define GW_ALARMS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/alarm.h"
#include "bus/alarm_state.h"
#include "bus/alert_repeat.h"
#include "bus/anomaly.h"

#define GW_ALARMS_HISTORY 8 /* anomalies kept per alarm_obj */
#define GW_ALARMS_ACTIONS 8 /* actions kept per alarm_obj */
#define GW_ALARMS_MUTES 256 /* sensor / sensor+metric mutes in force at most */

enum {
    GW_ALARMS_ERR_NOT_FOUND = -1, /* no alarm with that id */
    GW_ALARMS_ERR_ARG = -2,       /* invalid argument (who, minutes, ids) */
    GW_ALARMS_ERR_FULL = -3,      /* no room (alarms or mutes) */
};

typedef enum {
    GW_ALARM_ACK = 0,
    GW_ALARM_CLEAR = 1,
    GW_ALARM_MUTE = 2,
    GW_ALARM_FALSE_POSITIVE = 3,
} gw_alarm_action;

/** Called on every lifecycle change (see the top). ev: the event (the
 *  alarm after the change); active/n: the sensor's active alarms, most
 *  severe first (what alarms/{sensor_id} carries). Pointers are valid
 *  only during the call. */
typedef void (*gw_alarms_emit_fn)(void *user, const alarm_event *ev, const alarm_obj *active,
                                  size_t n);

typedef struct {
    size_t max_alarms;      /* 0 = 10000 */
    double calm_s;          /* hysteresis of stateful kinds, seconds (300) */
    double point_calm_s;    /* hysteresis of point alarms, seconds (60); 0 = at once */
    double sev_major_score; /* score of a major alarm (0.75) */
    double sev_minor_score; /* score of a minor alarm (0.65) */
    double sev_far;         /* range widths outside the range: one step up (3) */
    double sev_absurd;      /* range widths outside the range: critical (10) */
    double sev_long_s;      /* active this long: one step up (3600); 0 = never */
    const char *path;       /* state file; NULL = not persisted */
    double save_every_s;    /* at most one save per this many seconds (2) */
    const char *calm_rules; /* hysteresis per sensor / kind (see below); NULL = none */
    gw_alarms_emit_fn emit; /* may be NULL */
    void *emit_user;
} gw_alarms_options;

typedef struct gw_alarms gw_alarms; /* opaque */

#define GW_ALARMS_CALM_RULES 64 /* rules in calm_rules at most */

/** Check a hysteresis rule list: comma-separated `[SENSOR/]KIND=SECONDS`,
 *  where SENSOR is a sensor id or the start of one (every sensor whose id
 *  starts with it), KIND a kind or "*" (every kind), SECONDS >= 0; e.g.
 *  "change_point=900,pump-7/point=0". For an alarm the rule
 *  with the longest matching SENSOR wins, then an exact KIND over `*`;
 *  without a match: point_calm_s for point alarms, calm_s for the rest.
 *  Returns: 0, or -1 with the reason in err. Thread-safe. */
int gw_alarms_calm_rules_check(const char *rules, char *err, size_t errlen);

/** Create the table, loading opt->path when it exists (an unreadable or
 *  invalid file is logged, renamed to <path>.bad and the table starts
 *  empty: alarms are worth less than a gateway that starts).
 *  Out: *out, owned by the caller (gw_alarms_destroy).
 *  Returns: 0, or -1 (out of memory, invalid calm_rules: check them
 *           first with gw_alarms_calm_rules_check). */
int gw_alarms_create(gw_alarms **out, const gw_alarms_options *opt);

/** Save (when persisted and changed) and free. NULL is fine. */
void gw_alarms_destroy(gw_alarms *a);

/** Fold one anomaly in (open or update), now = receipt time in Unix ms.
 *  Returns: 0, or GW_ALARMS_ERR_FULL (every slot active; counted). */
int gw_alarms_on_anomaly(gw_alarms *a, const anomaly *an, int64_t now);

/** Alerts the detector folded into a burst of their stream (not published
 *  as anomalies; bus/alert_repeat.h), now = receipt time in Unix ms. They
 *  count like anomalies: the active alarm of (sensor, metric, kind) adds
 *  r->count to `count`, takes the peak when higher, may rise in severity
 *  and is no longer calm (an `updated` event); with none active one is
 *  opened with that count (the fault goes on after a person cleared its
 *  alarm, or the gateway lost it), as the next anomaly would. Neither
 *  last_anomaly_id nor the alarm's anomaly list change: those are the
 *  published anomalies, on chain. A summary redelivered (same last_id as
 *  the alarm's previous one) is counted once.
 *  Returns: 0, or GW_ALARMS_ERR_FULL (every slot active; counted). */
int gw_alarms_on_repeat(gw_alarms *a, const alert_repeat *r, int64_t now);

/** The detector's alarm state of one stream (detector/alarm/...). */
void gw_alarms_on_state(gw_alarms *a, const alarm_state *st, int64_t now);

/** A reading arrived: the sensor's active `silent` alarms clear when
 *  sensor-wide (metric ALARM_METRIC_SENSOR) or on a metric r carries. */
void gw_alarms_on_reading(gw_alarms *a, const reading *r, int64_t now);

/** Time passes: clear calm alarms, raise long ones' severity, drop
 *  expired mutes, save when due. Call about once a second. */
void gw_alarms_tick(gw_alarms *a, int64_t now);

/** A person's action on alarm `id`.
 *  In: by: who (alarm_who_valid); note: for false_positive (may be NULL,
 *      cut to ALARM_NOTE_MAX-1 bytes); minutes: for mute (1..525600).
 *  Out: out (may be NULL): the alarm after the action.
 *  Returns: 0, GW_ALARMS_ERR_NOT_FOUND, or GW_ALARMS_ERR_ARG.
 *  Ack of an acked alarm, clear of a cleared one and a second
 *  false_positive change nothing and emit nothing (0). */
int gw_alarms_act(gw_alarms *a, const char *id, gw_alarm_action act, const char *by,
                  const char *note, long minutes, int64_t now, alarm_obj *out);

/** Mute a sensor (metric NULL or "") or one of its streams for `minutes`
 *  (0 = lift the mute): its active alarms get muted_until (an event
 *  "muted" each) and so does every alarm it opens until then.
 *  Returns: the number of active alarms muted (>= 0), GW_ALARMS_ERR_ARG or
 *           GW_ALARMS_ERR_FULL (GW_ALARMS_MUTES mutes in force). */
int gw_alarms_mute_scope(gw_alarms *a, const char *sensor_id, const char *metric, long minutes,
                         const char *by, int64_t now);

typedef struct {
    int state;             /* -1 all, ALARM_ACTIVE, ALARM_CLEARED */
    const char *sensor_id; /* NULL = any */
    int severity;          /* -1 any, else an alarm_severity */
    size_t limit;          /* 1.. */
    uint64_t cursor;       /* 0 = first page; else next_cursor of the previous page */
    int64_t since, until;  /* Unix ms, 0 = unbounded: only alarms active at some time in
                              [since, until) (opened before until, not cleared before since) */
} gw_alarms_query;

/** One page, newest opened first:
 *  {"alarms":[{alarm},...], "next_cursor": "<n>" | null, "active": N}.
 *  Returns: a new reference, or NULL when out of memory. */
json_t *gw_alarms_list_json(gw_alarms *a, const gw_alarms_query *q);

/** One alarm with its history:
 *  {"alarm":{...}, "anomalies":[{"id","at","value","score"}...],
 *   "actions":[{"event","at","by"[,"note"],"proof"}...]}
 *  where proof is null while the chain logger has not confirmed the
 *  action (and for actions that do not go on chain), else
 *  {"tx_hash","block_number","seq","batch"} (seq, batch null when the
 *  confirmation lacked them).
 *  Returns: a new reference, or NULL when there is no such alarm (or no
 *  memory: *found says which). */
json_t *gw_alarms_get_json(gw_alarms *a, const char *id, int *found);

/** A chain/logged confirmation (bus/chain_logged.h) for sensor_id: when
 *  id_hex is the on-chain id of one of that sensor's alarm actions
 *  (eth/anomaly_log.h, alarm event records), attach the proof to it.
 *  Returns: 1 when an action matched, 0 otherwise (an anomaly's id, an
 *  action no longer held, invalid arguments). Thread-safe. */
int gw_alarms_mark_logged(gw_alarms *a, const char *sensor_id, const char *id_hex,
                          const char *tx_hash, int64_t block, int64_t seq, int64_t batch);

/** Write the state file now (when persisted). Returns 0 or -1 (logged). */
int gw_alarms_save(gw_alarms *a);

typedef struct {
    size_t total, active, mutes;
    uint64_t opened, cleared, refused_full, evicted, load_errors, save_errors;
    uint64_t duplicates; /* anomalies already folded into their alarm (same id) */
    uint64_t repeats;    /* alerts the detector folded, added from its summaries */
} gw_alarms_stats;

void gw_alarms_stats_get(gw_alarms *a, gw_alarms_stats *out);

/** The severity rule above, for one anomaly (exposed for tests).
 *  In: kind, score, value, lo/hi (NaN when unknown); active_s: how long
 *  the alarm has been active. */
alarm_severity gw_alarms_severity(const gw_alarms_options *o, const char *kind, double score,
                                  double value, double lo, double hi, double active_s);

#endif
