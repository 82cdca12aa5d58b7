/*
 * sim_profile — sensor profiles (what a kind of sensor measures, how it
 * varies over the day and the year, how noisy it is) and fleets (which
 * profiles, how many of each).
 *
 * Profiles come from a JSON file (services/simulator/profiles.json is the
 * shipped one; docs/simulator.md documents every field):
 *
 *     {"profiles": [
 *        {"name": "office", "interval_s": 60, "latitude": 48.1, "utc_offset_h": 1,
 *         "site": "hq",
 *         "temperature": {"base": 21.5, "daily_amp": 1.2, "peak_hour": 15, ...},
 *         "humidity":    {"base": 42, "follow": 0.3, "noise": 0.4, ...},
 *         "pressure":    {"base": 1013.25, "weather_std": 7, ...}}, ...],
 *      "fleet": "office:3,server_room:1"}
 *
 * Unknown keys are errors (a typo must not silently fall back to a default).
 */
#ifndef SIM_PROFILE_H
#define SIM_PROFILE_H

#include <stddef.h>

/* The metrics every simulated sensor reports, in this order. */
enum { SIM_TEMPERATURE = 0, SIM_HUMIDITY = 1, SIM_PRESSURE = 2, SIM_NMETRICS = 3 };

/** Metric name as used in readings ("temperature", "humidity", "pressure"). */
const char *sim_metric_name(int metric);
/** Metric index for a name, or -1. */
int sim_metric_index(const char *name);

#define SIM_NAME_MAX 32

/* One metric's behaviour. Fields that do not apply to a metric are ignored
 * (see docs/simulator.md for the per-metric meaning). */
typedef struct {
    double base;         /* T: degC; RH: %RH at base temperature; P: hPa */
    double daily_amp;    /* T: amplitude of the daily cycle (half of peak-to-peak), degC;
                            P: amplitude of the 12 h atmospheric tide, hPa */
    double peak_hour;    /* T: local hour of the daily maximum */
    double seasonal_amp; /* T: amplitude of the yearly cycle (half of summer-winter), degC */
    double weather_std;  /* T, P: std of multi-day weather variation */
    double follow;       /* RH: 0..1, share of seasonal+weather temperature change that
                            the dew point follows (0 = dry indoor air, 1 = outdoor air) */
    double noise;        /* std of the AR(1) (Ornstein-Uhlenbeck) sensor noise */
    double noise_tau_s;  /* correlation time of that noise, seconds */
    double resolution;   /* readings are rounded to this step (0 = no rounding) */
    double cycle_amp;    /* T: amplitude of a sawtooth control cycle (HVAC, compressor) */
    double cycle_period_s;
    double anomaly_scale; /* typical injected anomaly magnitude, in metric units */
} sim_metric_params;

typedef struct {
    char name[SIM_NAME_MAX];      /* profile name used in fleet specs */
    char id_prefix[SIM_NAME_MAX]; /* sensor ids are <id_prefix>-0001, ... */
    char site[SIM_NAME_MAX];      /* sensors of one site share weather (pressure, outdoor T) */
    double interval_s;            /* sampling interval, simulated seconds (>= 1, whole) */
    double latitude;              /* degrees; < 0 flips the seasons (southern hemisphere) */
    double utc_offset_h;          /* local time = UTC + offset, for the daily cycle */
    sim_metric_params m[SIM_NMETRICS];
} sim_profile;

typedef struct {
    sim_profile *p; /* owned array */
    int n;
    char fleet[256]; /* the file's default fleet spec, "" when absent */
} sim_profile_set;

/* One fleet entry: `count` sensors of profile `profile` (index into a set). */
typedef struct {
    int profile;
    int count;
} sim_fleet_entry;

#define SIM_FLEET_MAX 64

/** Parse a profile document.
 *  Returns: 0, or -1 with a message naming the offending key in err.
 *  In:  json/len: the document text.
 *  Out: out: the set (free with sim_profiles_free; untouched on error). */
int sim_profiles_parse(const char *json, size_t len, sim_profile_set *out, char *err,
                       size_t errlen);

/** Read and parse a profile file. Same contract as sim_profiles_parse; the
 *  error message starts with the path. */
int sim_profiles_load(const char *path, sim_profile_set *out, char *err, size_t errlen);

/** Free a set's memory (the struct itself is the caller's). NULL-safe. */
void sim_profiles_free(sim_profile_set *set);

/** Index of the profile called `name` in set, or -1. */
int sim_profiles_find(const sim_profile_set *set, const char *name);

/** Parse a fleet spec "office:3,server_room:1" (a bare name means 1).
 *  Returns: number of entries (>= 1), or -1 with a message in err (unknown
 *           profile, bad count, more than `max` entries, empty spec).
 *  Out: out: up to `max` entries. */
int sim_fleet_parse(const char *spec, const sim_profile_set *set, sim_fleet_entry *out, int max,
                    char *err, size_t errlen);

/** Rescale fleet counts in place so they add up to `total` (> 0), keeping
 *  the proportions (largest remainders get the leftover sensors; entries
 *  may become 0). Returns the new total. */
int sim_fleet_scale(sim_fleet_entry *e, int n, int total);

#endif
