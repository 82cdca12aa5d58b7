/*
 * adapter — internal to the ingest module (the files in common/ingest/); no
 * service includes this. It holds the context layout that the mapping
 * parser (ingest/mapping.c) fills and the adapters read, the adapter entry
 * points, and the normalisation helpers every adapter shares
 * (ingest/normalize.c): metric names, units, sensor ids, timestamps, topic
 * matching.
 *
 * Adapter contract: adapter_<format>_decode() returns ADAPTER_NOT_MINE when the topic
 * is not one of its topics (the router then tries the next adapter), else
 * what ingest_decode() returns: the number of readings (0 = valid message
 * with nothing to score), or a negative READING_ERR_*.
 */
#ifndef COMMON_INGEST_ADAPTER_H
#define COMMON_INGEST_ADAPTER_H

#include <pthread.h>
#include <stddef.h>

#include "base/errbuf.h"
#include "ingest/ingest.h"
#include "bus/reading.h"

#define ADAPTER_NOT_MINE (-1000)
#define ADAPTER_MAX_METRICS 16       /* allow-listed metric names per adapter */
#define ADAPTER_NAME_MAX 192         /* a device's natural name (friendly name, base name) */
#define ADAPTER_STATE_PAYLOAD_MAX 64 /* a plain-number state payload */

/* Unit families: what a unit measures, and so which canonical unit it is
 * converted to (degC, hPa, %RH). */
enum adapter_family { ADAPTER_FAM_UNKNOWN = 0, ADAPTER_FAM_TEMPERATURE, ADAPTER_FAM_PRESSURE, ADAPTER_FAM_HUMIDITY };

/* Metrics an adapter passes on, after name normalisation, and the unit each
 * has when the format does not say (Zigbee2MQTT, ESPHome states). */
typedef struct {
    int n;
    char name[ADAPTER_MAX_METRICS][READING_NAME_MAX];
    char unit[ADAPTER_MAX_METRICS][16]; /* "" = canonical unit of the metric */
} adapter_metrics;

/* One sensor entry of the mapping file. Strings owned by the context. */
typedef struct {
    char *source;     /* adapter name, or NULL for "any" (profile-only entries) */
    char *name;       /* the device's natural name in that adapter, or NULL */
    char *id;         /* sensor id (valid per sensor_id_valid) */
    char *profile;    /* NULL when unset */
    char *label;      /* NULL when unset */
    double threshold; /* NAN when unset */
} adapter_sensor;

/* ESPHome / Home Assistant state topic: one metric of one grouped sensor. */
typedef struct {
    char *topic;
    int group;  /* index into esphome.groups */
    int member; /* index of the metric within the group */
    char metric[READING_NAME_MAX];
    enum adapter_family fam;
    char unit[16];
} adapter_state;

/* A grouped sensor: the latest values of its members since the last
 * emitted reading (see ingest/esphome.c for when one is emitted). */
typedef struct {
    char id[SENSOR_ID_MAX];
    int nmembers;
    unsigned have; /* bit i: member i has a pending value */
    double val[READING_MAX_METRICS];
    char metric[READING_MAX_METRICS][READING_NAME_MAX];
    double first_ts;
} adapter_group;

struct ingest {
    /* subscriptions, NULL-free, owned */
    char **topics;
    int ntopics;

    struct {
        int enabled;
        char *topic; /* filter, capture = friendly name (may contain '/') */
        char *id_prefix;
        adapter_metrics metrics;
    } z2m;
    struct {
        int enabled;
        char *topic; /* filter with one '+': the device topic */
        char *id_prefix;
        adapter_metrics metrics;
        int device_time;  /* use "Time" instead of receipt time */
        int utc_offset_s; /* for a Time without zone */
        char **ignore;    /* sensor object names skipped (chip temperature, ...) */
        int nignore;
    } tasmota;
    struct {
        int enabled;
        adapter_state *states;
        int nstates;
        adapter_group *groups;
        int ngroups;
        pthread_mutex_t lock; /* guards groups[].have/val/first_ts */
        int lock_init;
    } esphome;
    struct {
        int enabled;
        char **topics; /* filters; the last level captured is the fallback sensor name */
        int ntopics;
        char *id_prefix;
        adapter_metrics metrics;
    } senml;

    adapter_sensor *sensors;
    int nsensors;

    /* counters, updated with __atomic builtins (see ingest_counters) */
    unsigned long messages[INGEST_NADAPTERS], readings[INGEST_NADAPTERS], ignored[INGEST_NADAPTERS],
        errors[INGEST_NADAPTERS];
    unsigned long by_error[INGEST_NERRORS];
    unsigned long unmatched;
};

/* ---- adapters (one file each) ---------------------------------------- */
/** Decode one message of the adapter's format (the contract is at the top
 *  of this file). Called by ingest_decode; thread-safe as it is.
 *  Returns: ADAPTER_NOT_MINE, the number of readings, or a negative READING_ERR_*.
 *  Out: out[0..cap-1]: the readings (caller-owned); err: the reason for an
 *       error (errlen bytes).
 *  In:  topic; payload[0..len-1] (not NUL-terminated); now: receipt time,
 *       Unix seconds; ig: the context (ESPHome updates its group state
 *       under ig->esphome.lock). */
int adapter_native_decode(ingest *ig, const char *topic, const char *payload, size_t len, double now,
                     reading *out, int cap, char *err, size_t errlen);
int adapter_z2m_decode(ingest *ig, const char *topic, const char *payload, size_t len, double now,
                  reading *out, int cap, char *err, size_t errlen);
int adapter_tasmota_decode(ingest *ig, const char *topic, const char *payload, size_t len, double now,
                      reading *out, int cap, char *err, size_t errlen);
int adapter_esphome_decode(ingest *ig, const char *topic, const char *payload, size_t len, double now,
                      reading *out, int cap, char *err, size_t errlen);
int adapter_senml_decode(ingest *ig, const char *topic, const char *payload, size_t len, double now,
                    reading *out, int cap, char *err, size_t errlen);

/** The adapter's name as the mapping file and the counters spell it
 *  ("native", "zigbee2mqtt", "tasmota", "esphome", "senml"), or "unknown".
 *  Here rather than in ingest.c so that the mapping parser does not call
 *  back into the context that calls it (ingest_adapter_name wraps it). */
static inline const char *adapter_name(int adapter)
{
    static const char *const names[INGEST_NADAPTERS] = {"native", "zigbee2mqtt", "tasmota",
                                                        "esphome", "senml"};
    return adapter >= 0 && adapter < INGEST_NADAPTERS ? names[adapter] : "unknown";
}

/* ---- mapping file (ingest/mapping.c) --------------------------------- */
/** Fill ig's adapter settings from the mapping file at `path`.
 *  Returns 0, or -1 with the reason in err (path of the offending key). */
int adapter_mapping_load(ingest *ig, const char *path, char *err, size_t errlen);
/** Same from a JSON text (used by tests). */
int adapter_mapping_parse(ingest *ig, const char *text, size_t len, char *err, size_t errlen);
/** Free everything adapter_mapping_* allocated. */
void adapter_mapping_free(ingest *ig);

/* ---- normalisation (ingest/normalize.c) ----------------------------------- */
/** Canonical metric name for a device's field name: case-insensitive
 *  aliases ("Temperature", "temp" -> "temperature"; "hum", "rh" ->
 *  "humidity"; "press", "baro" -> "pressure"); any other name lower-cased.
 *  Out: out (cap bytes). Returns 0, or -1 when it does not fit. */
int adapter_metric_name(const char *field, char *out, size_t cap);

/** Family of a canonical metric name (temperature/pressure/humidity). */
enum adapter_family adapter_metric_family(const char *metric);

/** Family of a unit string (see ingest/normalize.c for the accepted spellings),
 *  ADAPTER_FAM_UNKNOWN for units we do not convert. */
enum adapter_family adapter_unit_family(const char *unit);

/** Convert `v` in `unit` to the canonical unit of `fam` (degC, hPa, %RH).
 *  unit NULL or "" means already canonical.
 *  Returns 0, or -1 when the unit is not one of family `fam`. */
int adapter_unit_convert(enum adapter_family fam, const char *unit, double v, double *out);

/** Index of `metric` in m, or -1 when the adapter does not pass it on. */
int adapter_metrics_find(const adapter_metrics *m, const char *metric);

/** The one bound every adapter applies to every value, before and after
 *  unit conversion: finite and |v| <= READING_MAX_ABS, as the native format
 *  (reading_decode_json). A larger value would turn into infinity where a
 *  service stores it as a float (the detector's state file).
 *  Returns: 0, or READING_ERR_TYPE with the reason in err (naming `metric`). */
int adapter_check_value(const char *metric, double v, char *err, size_t errlen);

/** Normalise, filter, convert and append one device value to r.
 *  Returns 1 when added, 0 when the metric is not allow-listed, or a
 *  negative READING_ERR_* (unit of the wrong family, too many metrics, a
 *  value outside adapter_check_value's bound before or after conversion). */
int adapter_add_value(const adapter_metrics *m, reading *r, const char *field, const char *unit, double v,
                 char *err, size_t errlen);

/** Sensor id for a device's natural name: the mapping file's id for
 *  (source, name) when it has one, else id_prefix + name with every
 *  character outside [A-Za-z0-9_.:-] replaced by '_' (truncated to 64).
 *  Returns 0, or READING_ERR_SENSOR when the result is empty. */
int adapter_sensor_id(const ingest *ig, const char *source, const char *id_prefix, const char *name,
                 char out[SENSOR_ID_MAX]);

/** Sensor id of a value a device sent on its own topic (the identity rule
 *  of docs/SENSORS.md): `device` is the topic level the device's broker
 *  account owns (scripts/broker-auth.sh add-device); `sub` (NULL or "" for
 *  none) a name taken from the payload (a Tasmota sensor object, a SenML
 *  name that is not the device's), which may only name a part of that
 *  device. The natural name is `device`, or `device.sub` with every '.' of
 *  sub replaced by '_', so no payload reaches another device's ids (device
 *  "a" with sub "b.c" is "a.b_c", never device "a.b"'s part "c"). Then: the
 *  mapping file's id for (source, natural name) when it has one, else
 *  id_prefix + natural name with every character outside [A-Za-z0-9_.:-]
 *  replaced by '_'.
 *  Returns: 0, or READING_ERR_SENSOR with the reason in err (no device, or
 *  the id would be longer than 64 characters: never truncated, as a cut
 *  part could merge into the device's own id). */
int adapter_device_sensor_id(const ingest *ig, const char *source, const char *id_prefix,
                             const char *device, const char *sub, char out[SENSOR_ID_MAX],
                             char *err, size_t errlen);

/** MQTT filter match ('+' one level, '#' the rest). When `cap` is given,
 *  the level matched by the first '+' (or, without '+', the text matched
 *  by '#') is copied into it.
 *  Returns 1 on a match, 0 otherwise, -1 when the capture does not fit. */
int adapter_topic_match(const char *filter, const char *topic, char *cap, size_t capn);

/** Parse an ISO 8601 date-time "YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm|-hh:mm|+hhmm]"
 *  (a space may replace 'T'). A time without zone is local time at
 *  `default_offset_s` east of UTC. Returns 0 and *out (Unix s), or -1. */
int adapter_parse_iso8601(const char *s, int default_offset_s, double *out);

/** Check a timestamp against the rules of reading.h (not negative, not
 *  more than READING_MAX_FUTURE_S after now). Returns 0 or READING_ERR_TS. */
int adapter_check_ts(double ts, double now, char *err, size_t errlen);

#endif
