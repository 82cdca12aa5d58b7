/*
 * sim_gen — one simulated sensor: its clean signal, its noise and the
 * anomalies injected into it, one reading at a time.
 *
 * The model (docs/simulator.md has the details and the profile fields):
 *   temperature = base + seasonal + daily + weather + control cycle + noise
 *   humidity    = Magnus(dew point) / Magnus(temperature): the dew point moves
 *                 slowly, so relative humidity falls as temperature rises
 *   pressure    = base + weather systems (shared by a site) + 12 h tide + noise
 * Seasons follow the day of year (peak near 19 July, flipped south of the
 * equator); the daily cycle follows local time (utc_offset_h). Noise is an
 * Ornstein-Uhlenbeck (continuous AR(1)) process, so consecutive readings are
 * correlated like a real sensor's, not white.
 *
 * Determinism: a sensor draws from two random streams derived from the run
 * seed and its id: one for the normal signal, one for anomalies. The normal
 * stream advances identically whether or not anomalies are injected, so a
 * reading outside every labelled span equals the same reading of an
 * anomaly-free run, bit for bit.
 *
 * Sampling is exactly regular (start + phase + k * interval_s) so label
 * spans line up with reading timestamps exactly.
 */
#ifndef SIM_GEN_H
#define SIM_GEN_H

#include "bus/reading.h"
#include "sim_profile.h"
#include "sim_rng.h"

#include <stdint.h>

/* Anomaly subtypes; each belongs to one type (point, contextual, change_point). */
typedef enum {
    SIM_SUB_SPIKE = 0,   /* point: one reading + magnitude */
    SIM_SUB_DROP,        /* point: one reading - magnitude */
    SIM_SUB_ABSURD,      /* point: one physically impossible reading (1000 degC, 150 %RH, ...) */
    SIM_SUB_STUCK,       /* point: the value freezes for 10..60 readings */
    SIM_SUB_DROPOUT,     /* point: the metric is missing from one reading */
    SIM_SUB_CONTEXTUAL,  /* contextual: the value of another hour (12 h away) or season
                            (half a year away), blended in and out smoothly */
    SIM_SUB_LEVEL_SHIFT, /* change_point: sustained step of +-magnitude for 2..8 h */
    SIM_SUB_DRIFT,       /* change_point: linear drift to +-magnitude over 3..12 h */
    SIM_SUB_SPREAD,      /* change_point: extra noise (std = magnitude) for 2..8 h */
    SIM_NSUB
} sim_subtype;

/** Subtype name ("spike", "level_shift", ...) and its type name ("point",
 *  "contextual", "change_point"). */
const char *sim_subtype_name(int sub);
const char *sim_subtype_type(int sub);

typedef struct {
    double rate_per_day;      /* events per sensor per simulated day; 0 = none */
    double weights[SIM_NSUB]; /* relative frequency of each subtype */
    double magnitude;         /* multiplier on each profile's anomaly_scale (1 = as configured) */
    long warmup_readings;     /* no event starts within a sensor's first N readings */
} sim_anomaly_cfg;

/** Defaults: 2 events per sensor-day, all subtypes (point ones more often),
 *  magnitude 1, warm-up 500 readings. */
void sim_anomaly_defaults(sim_anomaly_cfg *cfg);

/** Parse a mix spec into cfg->weights: "spike:3,drift:1" sets the listed
 *  subtypes and zeroes the others; a type name ("point:2") spreads its weight
 *  over that type's subtypes. Returns 0, or -1 with a message in err. */
int sim_anomaly_mix_parse(const char *spec, sim_anomaly_cfg *cfg, char *err, size_t errlen);

/* Ground truth for one injected event. */
typedef struct {
    char id[SENSOR_ID_MAX + 12]; /* "<sensor_id>-e<seq>", stable across runs */
    char sensor_id[SENSOR_ID_MAX];
    int subtype;             /* sim_subtype */
    int metric;              /* SIM_TEMPERATURE, ... */
    double start_ts, end_ts; /* ts of the first and last affected reading (inclusive) */
    int nsamples;            /* readings affected */
    double magnitude;        /* see docs/simulator.md: deviation in metric units for most
                                subtypes, extra noise std for spread, 0 for stuck/dropout */
} sim_label;

/** Encode a label as JSON (jansson) into buf:
 *  {"id","sensor_id","type","subtype","metric","start_ts","end_ts","nsamples","magnitude"}.
 *  Returns the length (excluding NUL) or -1 when cap is too small. */
int sim_label_encode_json(const sim_label *l, char *buf, size_t cap);

#define SIM_WEATHER_K 4 /* sinusoids per weather process */

typedef struct {
    double amp[SIM_WEATHER_K], omega[SIM_WEATHER_K], phase[SIM_WEATHER_K];
} sim_weather;

typedef struct {
    const sim_profile *p;
    const sim_anomaly_cfg *acfg; /* may be NULL: no anomalies */
    char id[SENSOR_ID_MAX];
    sim_rng rng;    /* normal signal */
    sim_rng erng;   /* anomalies */
    double t0;      /* ts of the first reading */
    double stop_ts; /* no reading at or after this ts */
    long count;     /* readings generated so far */
    double ou[SIM_NMETRICS], phi[SIM_NMETRICS], innov[SIM_NMETRICS];
    double offset[SIM_NMETRICS]; /* this unit's calibration offset */
    double cycle_phase;
    double dew0;                  /* dew point at the profile's base temperature and humidity */
    sim_weather wx_temp, wx_pres; /* shared by all sensors of a site */
    /* anomaly state */
    double next_event_ts;
    unsigned seq;
    int ev_active;
    long ev_i;       /* index of the next reading inside the event */
    double ev_shift; /* contextual: time shift, seconds */
    double ev_hold;  /* stuck: the frozen value */
    sim_label ev;
} sim_sensor;

typedef struct {
    reading r;                   /* what the sensor reports (a dropout lacks its metric) */
    double normal[SIM_NMETRICS]; /* what it would have reported without the anomaly */
    int event_metric;            /* metric changed by an active event, or -1 */
    int new_label;               /* 1 when an event starts at this reading: see label */
    sim_label label;             /* the active event (valid when event_metric >= 0) */
} sim_sample;

/** Set up sensor number `index` (1-based) of profile p: id "<id_prefix>-%04d".
 *  Its first reading is at start_ts plus a per-sensor phase in
 *  [0, interval_s) (whole seconds), then every interval_s.
 *  Args: p, acfg: must outlive the sensor (not copied); acfg may be NULL.
 *  In:   seed: the run seed; stop_ts: end of the run (INFINITY for none). */
void sim_sensor_init(sim_sensor *s, const sim_profile *p, int index, uint64_t seed, double start_ts,
                     double stop_ts, const sim_anomaly_cfg *acfg);

/** The ts of the sensor's next reading (>= stop_ts when it is done). */
static inline double sim_sensor_next_ts(const sim_sensor *s)
{
    return s->t0 + (double)s->count * s->p->interval_s;
}

/** Deterministic part of the signal at time t (no noise, no anomaly), with
 *  this unit's calibration offset. Pure: does not advance the sensor. */
void sim_sensor_clean(const sim_sensor *s, double t, double out[SIM_NMETRICS]);

/** Generate the next reading. Never allocates.
 *  Returns: 0 with *out filled, or 1 when the run's stop_ts is reached
 *           (nothing generated). */
int sim_sensor_next(sim_sensor *s, sim_sample *out);

/** Magnus formula: saturation vapour pressure over water, hPa, at t degC. */
double sim_magnus(double t);

#endif
