/*
 * det_engine — the detector's scoring engine: per-sensor streaming state,
 * per-metric Isolation Forests, classification into point / contextual /
 * change_point, debouncing and plain-words explanations. MQTT, files and
 * CSVs live elsewhere (main.c, det_store.c, det_replay.c); the decision is
 * det_decide.c, the explanations det_explain.c; the live service
 * and `detector replay` run exactly this code.
 *
 * Models. Every (sensor, metric) stream keeps its own features (see
 * tsfeatures.h): its own mean, spread and daily profile, so the feature
 * vector is already normalised by what is usual for that sensor. One
 * forest per metric name then scores the normalised vectors of all
 * sensors: 100 trees are ~300 KiB, far too much per sensor at 100k
 * sensors, while the per-stream part stays ~4.6 KB (0.8 KB of features and
 * event state, 3.9 KB of shape history, det_shape.h). A forest is (re)trained
 * from a reservoir of recent vectors that were not flagged; the first
 * training happens as soon as one stream finished its warm-up.
 *
 * Warm-up: a stream is scored once it has learned `warmup` readings and
 * its metric has a forest. Every anomaly carries the model_version of the
 * forest that scored it (a counter over all trainings, persisted).
 *
 * Decision, per reading of a warmed-up stream:
 *   candidate = forest score >= threshold (per sensor / id prefix) AND the
 *               deviation is material: |z_context| >= z_min, or a
 *               sustained shift, or a noise change, or a stuck value
 *   IDLE     + candidate: absurd (|z| >= z_absurd) -> point now;
 *                          otherwise PENDING (remember the reading)
 *   PENDING  + calm      -> point alert for the remembered reading
 *   PENDING  + candidate -> sustained: contextual when the value is usual
 *                          for another time of day, else change_point
 *                          (start); flagged readings are not learned
 *   CHANGE   + end_n calm readings -> change_point (end) alert
 * One event, one alert (a change point: one at its start, one at its end).
 * Shapes (det_shape.h, on by default): a candidate whose run the stream has
 * shown before (twice, ending at the same level) is held back; a run shaped
 * like nothing before alerts on its own when the reading is not calm.
 * Multivariate state (cfg.multi, off by default, det_multi.h): per sensor
 * of 2..8 metrics a MEWMA Hotelling T² over its streams; while it is in
 * alarm all the sensor's streams are in_alarm and do not learn.
 * Alarm state: det_result.in_alarm, from an event's start to its end (a
 * point or shape alert: until the first calm reading). Units and physical
 * limits only from det_config units. Alerts say how many sensors of the
 * same id group alerted on the metric at about the same time (det_fleet.c).
 *
 * Thread-safety: none; the caller serialises calls (the service holds a
 * mutex). Processing allocates only when a sensor or metric is new, or
 * when a forest is retrained.
 */
#ifndef DET_ENGINE_H
#define DET_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "bus/anomaly.h"
#include "bus/reading.h"
#include "det_shape.h"
#include "model/iforest.h"
#include "model/tsfeatures.h"

#define DET_MAX_OVERRIDES 64
#define DET_MAX_UNITS 32
#define DET_UNIT_MAX 16

typedef struct {
    char prefix[SENSOR_ID_MAX]; /* sensor id or id prefix ("office-") */
    double threshold;
} det_override;

typedef struct {
    int warmup;        /* readings learned before a stream is scored (300) */
    int retrain_every; /* learned vectors per metric between retrainings (20000) */
    int pool_cap;      /* training vectors kept per metric (4096) */
    iforest_params forest;
    tsfeatures_params feat;
    double threshold;    /* forest score threshold, default for all sensors (0.55) */
    double z_min;        /* minimum |z_context| of a point/contextual alert (6) */
    double shift_min;    /* minimum sustained shift, in residual sds (4) */
    double spread_min;   /* minimum log2 noise ratio of a spread change (2.5) */
    double z_absurd;     /* |z| at which a point alert goes out at once (25) */
    double jump_min;     /* a one-step change of this many usual steps is material (12) */
    int end_n;           /* calm readings that end a change (6) */
    int stuck_min;       /* identical readings that make a stuck value (10) */
    double change_max_s; /* a change lasting longer becomes the new normal (1 day) */
    int shape;           /* 1: run the shape detector (det_shape.h) on every stream (1) */
    det_shape_params shape_p;
    double shape_calm_z; /* a new shape on a calm reading alerts only at this z or more (8) */
    int burst_n;         /* readings over which a stream's recent alerts are counted (600;
                            0: never fold) */
    double burst_k;      /* after about this many alerts within burst_n readings, a
                            stream's further alerts are folded into the burst (4) */
    int score_all;       /* 1: score every reading with the forest, even those that
                            cannot alert (det_result.score of each; replay sets it);
                            0: only when the decision needs it (0) */
    double disp_k;       /* after an alert, the stream stays in alarm while its short
                            average is more than this many of its sds away from the
                            level it left (1.5; 0: off) */
    int multi;           /* 1: a multivariate state per sensor of 2..8 metrics (det_multi.h) (0) */
    int nshape; /* sensors (ids or prefixes) that get the shape detector when shape is 0 */
    char shape_prefixes[DET_MAX_OVERRIDES][SENSOR_ID_MAX];
    int noverrides;
    det_override overrides[DET_MAX_OVERRIDES]; /* per-sensor/profile thresholds */
    /* Declared units, per metric name (det_config_set_units): only these
     * bring physical limits and a unit in explanations. None by default. */
    int nunits;
    struct {
        char metric[READING_NAME_MAX];
        char unit[DET_UNIT_MAX];
    } units[DET_MAX_UNITS];
    /* Optional: a threshold for one sensor from elsewhere (the ingest
     * mapping file); a finite return in (0,1) wins over the overrides and
     * the default, NAN means "not set". Called from the scoring thread. */
    double (*threshold_hook)(void *ctx, const char *sensor_id);
    void *threshold_ctx;
    /* Limits against invented ids and names (det_limits.c). */
    int max_sensors;         /* sensors kept; the least recently seen goes first (100000) */
    int max_metrics;         /* streams per sensor, READING_MAX_METRICS..32; likewise (16) */
    int metric_min_readings; /* readings a new metric name needs before it gets one of the
                                upper half of the model slots (50) */
} det_config;

/* Per-metric outcome of one reading (for replay and tests). */
typedef struct {
    char metric[READING_NAME_MAX];
    double value;
    double score;      /* forest score, 0 when not scored (and, unless cfg.score_all,
                          when the reading was calm enough not to need one) */
    int scored;        /* 1 when past warm-up and a forest exists */
    int flagged;       /* 1 when the reading is part of an anomalous event */
    int in_alarm;      /* 1 while the stream is in an anomalous state: from the start
                          of a change or contextual event until it ends, during an
                          absurd or stuck run, and after any alert while the
                          stream stays away from the level it left (disp_k) */
    int alarm_changed; /* 1 when in_alarm differs from the stream's previous reading */
} det_result;

typedef struct det_engine det_engine; /* opaque */

typedef struct {
    uint64_t readings, scored, anomalies, sensors, streams, trainings;
    uint64_t folded; /* alerts folded into a burst of their stream (not published) */
    uint64_t by_type[3];
    uint64_t sensor_evictions, stream_evictions; /* least recently seen, to make room */
    uint64_t metrics_refused; /* metric values dropped: no model slot yet, or no room */
} det_stats;

void det_config_default(det_config *c);

/** Load per-sensor/profile thresholds from JSON
 *  {"default": 0.55, "sensors": {"demo": 0.6, "office-": 0.58},
 *   "shape": ["server-", "pump-3"]}
 *  (keys ending in '-' or matching a prefix apply to every sensor id that
 *  starts with them; the longest match wins; "shape" lists the sensor ids
 *  or prefixes whose streams also run the shape detector).
 *  Returns 0, or -1 with a reason in err. */
int det_config_load_thresholds(det_config *c, const char *path, char *err, size_t errlen);

/** Create an engine. Returns 0 or -1 (out of memory / invalid config).
 *  Out: *out, owned by the caller (det_engine_destroy). cfg is copied. */
int det_engine_create(det_engine **out, const det_config *cfg);
void det_engine_destroy(det_engine *e);

/** Process one reading: every metric is featurised, scored, classified.
 *  Out: alerts[0..cap-1] the anomalies to publish (ids set); res (may be
 *       NULL) receives one det_result per metric of r (r->n entries).
 *  Returns the number of anomalies written (>= 0), or -1 when the engine
 *  is out of memory for a new sensor (the reading is then dropped). */
int det_engine_process(det_engine *e, const reading *r, det_result *res, anomaly *alerts, int cap);

/** The text every end-of-change alert's explanation carries. */
#define DET_END_MARK "(change ended)"

/** Whether a is the alert that closes a change (the stream is back),
 *  rather than one that opens an event. Pure; thread-safe. */
int det_alert_is_end(const anomaly *a);

/** The forest score threshold for a sensor: the hook's value when it gives
 *  one, else the longest matching override, else the default. */
double det_engine_threshold(const det_engine *e, const char *sensor_id);

void det_engine_stats(const det_engine *e, det_stats *out);

/** Be told of every alert folded into a burst of its stream (counted in
 *  det_stats.folded, not returned by det_engine_process): fn(ctx, a) is
 *  called inside det_engine_process, on its thread, with the alert as it
 *  would have been published (id set); a is valid only during the call.
 *  fn NULL: no longer told. Not thread-safe: set it before processing. */
void det_engine_set_fold_hook(det_engine *e, void (*fn)(void *ctx, const anomaly *a), void *ctx);

/** Bytes of heap held per live sensor on average (state + index), for
 *  the memory benchmark, and in total (forests included). */
size_t det_engine_bytes(const det_engine *e);

/** Save all models and sensor states under dir (created if needed):
 *  dir/forest-<metric>.bin and dir/sensors.bin, each written to a
 *  temporary file and renamed. Returns 0 or -1 (reason logged). */
int det_engine_save(det_engine *e, const char *dir);

/** Load what det_engine_save wrote. A missing directory is not an error
 *  (fresh start, returns 0); a corrupt file is skipped with a warning.
 *  Returns the number of sensors restored, or -1 on out of memory. */
int det_engine_load(det_engine *e, const char *dir);

/** Model version currently scoring `metric`, or -1 when none. */
long det_engine_model_version(const det_engine *e, const char *metric);

/** Whether (sensor, metric) is past warm-up and scored. */
int det_engine_is_scored(const det_engine *e, const char *sensor_id, const char *metric);

/** Declare the units of metrics from "metric=unit,metric=unit" (e.g.
 *  "temperature=degC,humidity=%RH,pressure=hPa"; "" or NULL: none). Units
 *  with known physical limits: degC, %RH, hPa; any other is printed in
 *  explanations only. Returns 0, or -1 on a malformed spec or more than
 *  DET_MAX_UNITS entries (c->nunits is then partial). */
int det_config_set_units(det_config *c, const char *spec);

/** Declared unit of `metric`, or "" when none was declared. */
const char *det_engine_unit(const det_engine *e, const char *metric);

#endif
