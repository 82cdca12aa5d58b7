/*
 * det_internal — what the detector engine's files share and nothing else
 * does: the per-stream and per-sensor state, the engine struct, and the
 * functions one part of the engine calls in another. Not a public API:
 * only det_engine.c, det_decide.c, det_explain.c and det_store.c include it.
 *
 *   det_engine.c   configuration, lifecycle, the sensor table, models and
 *                  training, det_engine_process (featurise, decide, learn)
 *   det_decide.c   the decision state machine of one reading (det_engine.h)
 *   det_explain.c  alerts and their plain-words explanations
 *   det_store.c    models and sensor states on disk
 *
 * Thread-safety: as det_engine.h (none; the caller serialises).
 */
#ifndef DET_INTERNAL_H
#define DET_INTERNAL_H

#include <stdint.h>

#include "det_engine.h"
#include "store/hashmap.h"
#include "det_multi.h"

#define MAX_MODELS 32
#define MIN_TRAIN 64     /* vectors needed for a first forest */
#define NOISE_MIN 2.0    /* log2 step-variance ratio of a noise change (recent ~7x usual) */
#define PRESENT_MIN 100  /* consecutive readings with a metric before its absence is a dropout */
#define EVENT_COOLDOWN 2 /* readings after an event before a candidate may start a new one */

enum { ST_IDLE = 0, ST_PENDING, ST_POINT, ST_STUCK, ST_CHANGE, ST_CONTEXT };
enum { CH_SHIFT = 0, CH_SPREAD = 1 };

typedef struct {
    char metric[READING_NAME_MAX];
    char unit[DET_UNIT_MAX]; /* declared unit (det_config units), "" = unknown */
    iforest *forest;
    long version;
    float *pool; /* pool_cap x dim */
    uint32_t pool_n;
    uint64_t pool_seen;
    uint32_t since_train;
    uint32_t users; /* streams referring to this slot; a slot with none and no forest is free */
} det_model;

/* The reading an alert is pending on, with what is needed to explain it. */
typedef struct {
    double ts, value, score, expected, sd, day_lo, day_hi;
    double prev;  /* the value before this reading (the level a jump left) */
    double noise; /* tsfeatures_info.step_noise of this reading */
    float vec[TSFEATURES_MAX_DIM];
    long version;
} det_pending;

typedef struct {
    int16_t model;    /* index into e->models */
    uint8_t state;    /* ST_* */
    uint8_t change;   /* CH_* of an active change */
    uint32_t learned; /* readings learned */
    uint32_t present; /* consecutive readings carrying this metric */
    uint16_t calm, cooldown, same_run, max_run, pend_n;
    float last;
    double ev_ts;                  /* start of the active event */
    double base_v, base_exp, jump; /* a jump-started change: level left, its expectation, size */
    double calm_ts;                /* first reading of the current calm run (when it ended) */
    double calm_v;                 /* its value */
    double back_v, back_exp,
        back;             /* a step back towards normal: level reached, its expectation, size */
    uint8_t was_absurd;   /* the previous reading was physically absurd */
    uint8_t routine;      /* learning a change that recurs at this time of day */
    uint8_t alarm;        /* in_alarm after the previous reading (det_result) */
    uint16_t since_alert; /* readings since the stream last alerted or was in alarm */
    uint8_t hold;         /* alerted outside a held state: in alarm until calm */
    uint8_t fold_event;   /* the open event's start alert was folded into a burst */
    float burst;          /* recent alerts, decaying by 1/burst_n per reading */
    uint8_t disp;         /* displaced: held in alarm until back at the level it left */
    float disp_ref;       /* that level, deseasonalised (x minus the daily shape) */
    float disp_sd;        /* the stream's spread then */
    float disp_ew;        /* short EWMA of the deseasonalised value since */
    double disp_ts;       /* when the displacement began */
    int32_t rt_day;       /* day (ts / 86400) that rt_*[0] describe */
    uint64_t rt_start[2]; /* bins where an event started, [0] today, [1] yesterday */
    uint64_t rt_flag[2];  /* bins spent inside an event, today / yesterday */
    det_pending p;
    tsfeatures_state fs;
    det_shape *shape; /* owned; NULL unless cfg.shape (not persisted: re-learned) */
} det_stream;

typedef struct det_sensor det_sensor;
struct det_sensor {
    char id[SENSOR_ID_MAX];
    det_sensor *lru_prev, *lru_next; /* recency list, most recent first (det_limits.c) */
    uint32_t readings;
    uint32_t nstreams;
    det_stream *streams;
    det_multi multi; /* over the sensor's streams (det_multi.h; not persisted) */
};

/* What det_multi_row needs of one stream's reading in this row. */
typedef struct {
    int have;       /* the reading carried this metric and it was featurised */
    int res;        /* index of its det_result, -1 when none */
    int prev_alarm; /* the stream's in_alarm before this row */
    int phase;      /* the stream has a daily profile (tsfeatures phase 1) */
    double z, x, expected, sd;
} det_multi_obs;

/* Fleet-wide events (det_fleet.c). */
#define FLEET_SLOTS 256 /* groups, and (group, metric) rings */
#define FLEET_RING 32   /* recent alerts kept per (group, metric) */
typedef struct {
    double ts;
    uint64_t sensor; /* hash of the sensor id */
} det_fleet_alert;
typedef struct {
    int group;
    char metric[READING_NAME_MAX];
    int n, next;
    det_fleet_alert a[FLEET_RING];
} det_fleet_ring;
typedef struct {
    char name[SENSOR_ID_MAX];
    unsigned sensors;
} det_fleet_group;
typedef struct {
    int ngroups, nrings;
    det_fleet_group groups[FLEET_SLOTS];
    det_fleet_ring rings[FLEET_SLOTS];
} det_fleet;

/* Metric names without a model slot yet, counted Misra-Gries style
 * (det_limits.c): bounded, and a flood of distinct names cannot add up. */
#define DET_CANDIDATES 64
typedef struct {
    int n;
    struct {
        char metric[READING_NAME_MAX];
        uint32_t count;
    } c[DET_CANDIDATES];
} det_candidates;

struct det_engine {
    det_config cfg;
    int dim;
    det_model models[MAX_MODELS];
    int nmodels;
    long version; /* last model version handed out */
    det_sensor **sensors; /* in arrival order; cap slots, count used */
    size_t cap, count;
    hashmap index;        /* sensor id -> position in sensors (store/hashmap) */
    uint64_t rng;
    float *train_buf;
    double *shape_scratch; /* cfg.shape_p.history doubles, for det_shape_step */
    det_stats st;
    det_fleet fleet;
    det_candidates cand; /* metric names waiting for a model slot (det_limits.c) */
    det_sensor *lru_head, *lru_tail; /* every sensor, most recently seen first */
    void (*fold_fn)(void *ctx, const anomaly *a); /* det_engine_set_fold_hook; may be NULL */
    void *fold_ctx;
};

/* Where alerts of one det_engine_process call go. */
typedef struct {
    anomaly *alerts;
    int cap;
    int n;
    double fleet_window; /* s: peers alerting this close count as moving together */
} det_sink;

/* ---- det_engine.c ---- */

/** The sensor with this id, created when new. Returns NULL on out of memory. */
det_sensor *det_sensor_get(det_engine *e, const char *id);

/** The stream of (s, metric), created when new (with its model when the
 *  name is admitted: det_limits_model_admit, counting `weight` readings).
 *  Returns NULL when the name has no model slot (yet), the sensor has
 *  cfg.max_metrics streams, or on out of memory. */
det_stream *det_stream_get(det_engine *e, det_sensor *s, const char *metric, uint32_t weight);

/** Index of the model of `metric`; with create, a new empty one when
 *  missing. Returns -1 when missing (or no room / memory). */
int det_model_index(det_engine *e, const char *metric, int create);

/** Values no sensor measuring in `unit` can report (outside the physical
 *  limits of a known unit): always a point anomaly. Unknown unit: 0. */
int det_physically_absurd(const char *unit, double v);

/** A value a working sensor may hold for long (a saturation limit of a
 *  known unit; for an unknown one, the edge of the range seen). */
int det_saturated(const char *unit, double v, const tsfeatures_state *fs);

/** Count the alert, give it its id and append it to the sink (dropped
 *  silently when the sink is full: the count still says it happened). */
void det_emit(det_engine *e, det_sink *out, anomaly *a);

/* ---- det_limits.c ---- */

/** Make room for one more sensor: at cfg.max_sensors, evict the least
 *  recently seen one (its streams and state are freed). Call before
 *  adding a sensor; no det_sensor pointer may be held across it. O(1). */
void det_limits_sensor_room(det_engine *e);

/** Mark s as the most recently seen sensor (a new one joins the list). O(1). */
void det_limits_touch(det_engine *e, det_sensor *s);

/** Make room in sensor s for the metrics of r it has no stream for yet:
 *  evict its least recently seen streams that r does not carry, down to
 *  cfg.max_metrics. Call before processing r (stream indices change). */
void det_limits_stream_room(det_engine *e, det_sensor *s, const reading *r);

/** Whether `metric` (no model yet) may have a model slot now. The lower
 *  half of the slots go to the first names seen; the upper half only to a
 *  name seen in cfg.metric_min_readings readings (`weight` readings are
 *  counted for this call: 1 live, a restored stream's learned count).
 *  Returns 1 when admitted, 0 when not (counted in metrics_refused). */
int det_limits_model_admit(det_engine *e, const char *metric, uint32_t weight);

/** A stream of `m` went away: a slot left with no stream and no forest is
 *  freed for another name. */
void det_limits_model_release(det_engine *e, int m);

/** `metric` as a file-name part: bytes other than [A-Za-z0-9_-] as %XX,
 *  so no name reaches outside the directory or collides with another.
 *  Returns 0, or -1 when out (cap bytes) is too small. */
int det_limits_file_name(const char *metric, char *out, size_t cap);

/* ---- det_multi.c ---- */

/** The multivariate judgement of one row of sensor s (after every metric
 *  was processed): T² of the streams' z_context against the sensor's
 *  learned relation; sets in_alarm (and flagged) on all its streams while
 *  in a multivariate alarm, emits one change_point alert at its start and
 *  one at its end. ob is indexed like s->streams. */
void det_multi_row(det_engine *e, det_sensor *s, const reading *r, const det_multi_obs *ob,
                   det_result *res, det_sink *out);

/* ---- det_fleet.c ---- */

/** Count a new sensor in its group (id up to the last '-'). */
void det_fleet_sensor_added(det_fleet *f, const char *id);

/** Uncount a sensor that was evicted (det_limits.c). */
void det_fleet_sensor_removed(det_fleet *f, const char *id);

/** Mark an alert with how many other sensors of its group alerted on the
 *  same metric within `window` s (appended to its explanation when any),
 *  and remember it. Returns that number of peers. */
int det_fleet_mark(det_fleet *f, anomaly *a, double window);

/* ---- det_decide.c ---- */

/** Decide one scored reading of a stream: state transitions and alerts.
 *  In: vec/info from tsfeatures_compute, forest the stream's model, shi
 *      from the shape detector (when st->shape).
 *  In/out: *score, the forest's score of vec, or NAN when not computed
 *      yet: it is computed (and stored) only when the decision needs it
 *      (a material, absurd or stuck reading); a calm reading is decided
 *      without it, with the same outcome.
 *  Returns 1 when the reading is to be learned, 0 when it is part of an
 *  event (flagged). */
int det_decide(det_engine *e, det_sensor *sen, det_stream *st, double ts, double x,
               const float *vec, const tsfeatures_info *info, const iforest *forest,
               double *score, const det_shape_info *shi, det_sink *out);

/** Whether a feature vector is calm: residual, shift and noise all within
 *  half of what makes them material. */
int det_calm(const det_config *c, const float *vec);

/** Return a stream to a fresh warm-up (its shape state is kept). */
void det_stream_reset(det_stream *st);

/* ---- det_explain.c ---- */

/** Fill everything of an anomaly but the explanation text. */
void det_alert_fill(anomaly *a, const char *sensor_id, const char *metric, anomaly_type type,
                    const det_pending *p);

/** Compact number into buf: 48.2, 1013.25 -> 1013.2, 0.0123. */
void det_num(char *buf, size_t n, double v);

/** Explanation of a point anomaly; extra (may be NULL) is appended. */
void det_explain_point(const det_engine *e, const det_model *md, anomaly *a, const det_pending *p,
                       const char *extra);

/** Explanation of a contextual anomaly (usual at another time of day). */
void det_explain_context(const det_engine *e, const det_model *md, anomaly *a,
                         const det_pending *p);

/** Explanation of the start of a change (CH_SHIFT or CH_SPREAD). */
void det_explain_change_start(const det_engine *e, const det_model *md, anomaly *a,
                              const det_pending *p, int change);

/** Explanation of the end of a change that began at start_ts. */
void det_explain_change_end(anomaly *a, const char *unit, const det_pending *p, double start_ts,
                            int settled);

/** Explanation of a shape never seen before. */
void det_explain_shape(anomaly *a, const char *unit, const det_shape_params *sp,
                       const det_shape_info *si);

/* Units: explanations print `unit` ("" = none known), the declared unit of
 * the metric (det_config units), never one guessed from its name. */

/** Explanation of a stuck value: run readings equal, usual at most `usual`. */
void det_explain_stuck(anomaly *a, const char *unit, unsigned run, unsigned usual);

/** Explanation of a dropout: the metric missing after `present` readings. */
void det_explain_dropout(anomaly *a, unsigned present);

#endif
