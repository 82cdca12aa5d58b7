/*
 * ingest_mapping — reads the mapping file (JSON, documented in
 * docs/SENSORS.md; example in config/sensors.example.json) into the
 * ingest context: which adapters are on, their topics, which metrics they
 * pass on, ESPHome groups, and per-sensor names, profiles and thresholds.
 *
 * The parser is strict on purpose: an unknown key is an error naming its
 * path ("adapters.tasmota.topci: unknown key"), because a misspelt option
 * silently ignored is a sensor silently not monitored. Keys starting with
 * '_' are comments and skipped, since JSON has none.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/topics.h"
#include "ingest/adapter.h"

#define MAPPING_MAX_BYTES (1 << 20)

typedef struct {
    char *err;
    size_t errlen;
} perr;

static const char *const default_metrics[] = {"temperature", "humidity", "pressure"};

/* ---- small helpers ---------------------------------------------------- */

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static int is_comment(const char *key)
{
    return key[0] == '_';
}

/* Every key of `o` must be in `allowed` (NULL-terminated) or a comment. */
static int check_keys(json_t *o, const char *path, const char *const *allowed, perr *e)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        (void)v;
        if (is_comment(key))
            continue;
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0)
                ok = 1;
        if (!ok) {
            errbuf_set(e->err, e->errlen, "%s.%.60s: unknown key", path, key);
            return -1;
        }
    }
    return 0;
}

/* Optional string member; *out owned (malloc) or left NULL when absent. */
static int get_str(json_t *o, const char *key, const char *path, char **out, perr *e)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_string(v)) {
        errbuf_set(e->err, e->errlen, "%s.%s: must be a string", path, key);
        return -1;
    }
    free(*out);
    *out = dupstr(json_string_value(v));
    if (!*out) {
        errbuf_set(e->err, e->errlen, "out of memory");
        return -1;
    }
    return 0;
}

static int get_bool(json_t *o, const char *key, const char *path, int *out, perr *e)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        errbuf_set(e->err, e->errlen, "%s.%s: must be true or false", path, key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

/* A valid MQTT subscription filter: '+' and '#' only as whole levels,
 * '#' only last. Counts the '+' levels into *plus and '#' into *hash. */
static int filter_valid(const char *f, int *plus, int *hash)
{
    *plus = *hash = 0;
    if (!*f || strlen(f) > 512)
        return 0;
    for (const char *p = f; *p; p++) {
        int start = p == f || p[-1] == '/';
        int end = p[1] == '\0' || p[1] == '/';
        if (*p == '+') {
            if (!start || !end)
                return 0;
            (*plus)++;
        } else if (*p == '#') {
            if (!start || p[1] != '\0')
                return 0;
            (*hash)++;
        } else if ((unsigned char)*p < 0x20) {
            return 0;
        }
    }
    return 1;
}

static int get_filter(json_t *o, const char *key, const char *path, char **out, int want_plus,
                      int want_hash, perr *e)
{
    if (get_str(o, key, path, out, e) != 0)
        return -1;
    int plus, hash;
    if (!filter_valid(*out, &plus, &hash)) {
        errbuf_set(e->err, e->errlen, "%s.%s: '%.80s' is not a valid MQTT topic filter", path, key,
                   *out);
        return -1;
    }
    if ((want_plus >= 0 && plus != want_plus) || (want_hash >= 0 && hash != want_hash)) {
        errbuf_set(e->err, e->errlen, "%s.%s: '%.80s' must contain %s", path, key, *out,
                   want_plus == 1 ? "exactly one '+' (the device name) and no '#'"
                                  : "a final '#' (the device name) and no '+'");
        return -1;
    }
    return 0;
}

static void metrics_default(adapter_metrics *m)
{
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < sizeof default_metrics / sizeof default_metrics[0]; i++)
        snprintf(m->name[m->n++], READING_NAME_MAX, "%s", default_metrics[i]);
}

/* "metrics": ["temperature", "co2"] and "units": {"temperature": "°F"} */
static int get_metrics(json_t *o, const char *path, adapter_metrics *m, int with_units, perr *e)
{
    json_t *arr = json_object_get(o, "metrics");
    if (arr) {
        if (!json_is_array(arr) || json_array_size(arr) == 0 ||
            json_array_size(arr) > ADAPTER_MAX_METRICS) {
            errbuf_set(e->err, e->errlen, "%s.metrics: must be an array of 1..%d names", path,
                       ADAPTER_MAX_METRICS);
            return -1;
        }
        memset(m, 0, sizeof *m);
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v)
        {
            char name[READING_NAME_MAX];
            if (!json_is_string(v) ||
                adapter_metric_name(json_string_value(v), name, sizeof name) != 0) {
                errbuf_set(e->err, e->errlen, "%s.metrics[%zu]: must be a name of 1..%d chars",
                           path, i, READING_NAME_MAX - 1);
                return -1;
            }
            if (adapter_metrics_find(m, name) >= 0) {
                errbuf_set(e->err, e->errlen, "%s.metrics[%zu]: '%s' listed twice", path, i, name);
                return -1;
            }
            snprintf(m->name[m->n++], READING_NAME_MAX, "%s", name);
        }
    }
    json_t *units = json_object_get(o, "units");
    if (!units)
        return 0;
    if (!with_units || !json_is_object(units)) {
        errbuf_set(e->err, e->errlen, "%s.units: %s", path,
                   with_units ? "must be an object {metric: unit}"
                              : "not supported (this format carries its units)");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(units, key, v)
    {
        char name[READING_NAME_MAX];
        if (is_comment(key))
            continue;
        int k = adapter_metric_name(key, name, sizeof name) == 0 ? adapter_metrics_find(m, name) : -1;
        if (k < 0) {
            errbuf_set(e->err, e->errlen, "%s.units.%.40s: not one of this adapter's metrics", path,
                       key);
            return -1;
        }
        enum adapter_family fam = adapter_metric_family(name);
        double probe;
        if (!json_is_string(v) || strlen(json_string_value(v)) >= sizeof m->unit[k] ||
            (fam != ADAPTER_FAM_UNKNOWN && adapter_unit_convert(fam, json_string_value(v), 0, &probe))) {
            errbuf_set(e->err, e->errlen, "%s.units.%.40s: unknown unit for this metric", path,
                       key);
            return -1;
        }
        snprintf(m->unit[k], sizeof m->unit[k], "%s", json_string_value(v));
    }
    return 0;
}

/* An adapter section: absent = disabled; present = enabled unless
 * "enabled": false. Returns 1 when enabled, 0 when not, -1 on error. */
static int section(json_t *adapters, const char *name, json_t **out, const char *const *allowed,
                   perr *e)
{
    char path[64];
    snprintf(path, sizeof path, "adapters.%s", name);
    *out = adapters ? json_object_get(adapters, name) : NULL;
    if (!*out)
        return 0;
    if (!json_is_object(*out)) {
        errbuf_set(e->err, e->errlen, "%s: must be an object", path);
        return -1;
    }
    if (check_keys(*out, path, allowed, e) != 0)
        return -1;
    int enabled = 1;
    if (get_bool(*out, "enabled", path, &enabled, e) != 0)
        return -1;
    return enabled;
}

/* ---- adapters --------------------------------------------------------- */

static int load_z2m(ingest *ig, json_t *adapters, perr *e)
{
    static const char *const keys[] = {"enabled", "topic", "id_prefix", "metrics", "units", NULL};
    const char *path = "adapters.zigbee2mqtt";
    json_t *o;
    int rc = section(adapters, "zigbee2mqtt", &o, keys, e);
    if (rc <= 0)
        return rc;
    ig->z2m.enabled = 1;
    metrics_default(&ig->z2m.metrics);
    ig->z2m.topic = dupstr(topics_default_zigbee2mqtt());
    if (!ig->z2m.topic || get_filter(o, "topic", path, &ig->z2m.topic, 0, 1, e) ||
        get_str(o, "id_prefix", path, &ig->z2m.id_prefix, e) ||
        get_metrics(o, path, &ig->z2m.metrics, 1, e))
        return -1;
    size_t tl = strlen(ig->z2m.topic);
    if (tl < 2 || strcmp(ig->z2m.topic + tl - 2, "/#") != 0) {
        errbuf_set(e->err, e->errlen, "%s.topic: must end with \"/#\"", path);
        return -1;
    }
    return 0;
}

static int load_tasmota(ingest *ig, json_t *adapters, perr *e)
{
    static const char *const keys[] = {"enabled", "topic",       "id_prefix",          "metrics",
                                       "ignore",  "device_time", "utc_offset_minutes", NULL};
    const char *path = "adapters.tasmota";
    json_t *o;
    int rc = section(adapters, "tasmota", &o, keys, e);
    if (rc <= 0)
        return rc;
    ig->tasmota.enabled = 1;
    metrics_default(&ig->tasmota.metrics);
    ig->tasmota.topic = dupstr(topics_default_tasmota());
    if (!ig->tasmota.topic || get_filter(o, "topic", path, &ig->tasmota.topic, 1, 0, e) ||
        get_str(o, "id_prefix", path, &ig->tasmota.id_prefix, e) ||
        get_metrics(o, path, &ig->tasmota.metrics, 0, e) ||
        get_bool(o, "device_time", path, &ig->tasmota.device_time, e))
        return -1;
    json_t *off = json_object_get(o, "utc_offset_minutes");
    if (off) {
        if (!json_is_integer(off) || json_integer_value(off) < -24 * 60 ||
            json_integer_value(off) > 24 * 60) {
            errbuf_set(e->err, e->errlen,
                       "%s.utc_offset_minutes: must be an integer in -1440..1440", path);
            return -1;
        }
        ig->tasmota.utc_offset_s = (int)json_integer_value(off) * 60;
    }
    /* The ESP's own chip temperature is not the room's. */
    static const char *const ignore_default[] = {"ESP32", "ESP8266"};
    json_t *ign = json_object_get(o, "ignore");
    size_t n = ign ? json_array_size(ign) : 2;
    if (ign && (!json_is_array(ign) || n > 64)) {
        errbuf_set(e->err, e->errlen, "%s.ignore: must be an array of sensor names", path);
        return -1;
    }
    ig->tasmota.ignore = calloc(n ? n : 1, sizeof(char *));
    if (!ig->tasmota.ignore) {
        errbuf_set(e->err, e->errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = ign ? json_array_get(ign, i) : NULL;
        if (ign && !json_is_string(v)) {
            errbuf_set(e->err, e->errlen, "%s.ignore[%zu]: must be a string", path, i);
            return -1;
        }
        ig->tasmota.ignore[i] = dupstr(ign ? json_string_value(v) : ignore_default[i]);
        if (!ig->tasmota.ignore[i]) {
            errbuf_set(e->err, e->errlen, "out of memory");
            return -1;
        }
        ig->tasmota.nignore = (int)i + 1;
    }
    return 0;
}

static int load_esphome_state(ingest *ig, json_t *st, const char *gpath, size_t si,
                              const char *prefix, const char *component, int gi, perr *e)
{
    static const char *const keys[] = {"topic", "name", "metric", "unit", NULL};
    char path[128];
    snprintf(path, sizeof path, "%s.states[%zu]", gpath, si);
    if (!json_is_object(st)) {
        errbuf_set(e->err, e->errlen, "%s: must be an object", path);
        return -1;
    }
    if (check_keys(st, path, keys, e) != 0)
        return -1;
    adapter_state *s = &ig->esphome.states[ig->esphome.nstates];
    memset(s, 0, sizeof *s);
    s->group = gi;
    ig->esphome.nstates++; /* counted now so adapter_mapping_free frees s->topic */

    json_t *topic = json_object_get(st, "topic"), *name = json_object_get(st, "name");
    if ((topic != NULL) == (name != NULL)) {
        errbuf_set(e->err, e->errlen, "%s: needs exactly one of \"topic\" or \"name\"", path);
        return -1;
    }
    if (topic) {
        if (get_str(st, "topic", path, &s->topic, e) != 0)
            return -1;
    } else {
        if (!prefix) {
            errbuf_set(e->err, e->errlen, "%s: \"name\" needs the group's \"prefix\"", path);
            return -1;
        }
        if (!json_is_string(name) || json_string_length(name) == 0) {
            errbuf_set(e->err, e->errlen, "%s.name: must be a non-empty string", path);
            return -1;
        }
        /* ESPHome: <topic_prefix>/<component_type>/<object_id>/state */
        size_t n = strlen(prefix) + strlen(component) + json_string_length(name) + 16;
        s->topic = malloc(n);
        if (!s->topic) {
            errbuf_set(e->err, e->errlen, "out of memory");
            return -1;
        }
        snprintf(s->topic, n, "%s/%s/%s/state", prefix, component, json_string_value(name));
    }
    int plus, hash;
    if (!filter_valid(s->topic, &plus, &hash) || plus || hash) {
        errbuf_set(e->err, e->errlen, "%s: topic '%.80s' must be a plain topic (no wildcards)",
                   path, s->topic);
        return -1;
    }
    for (int i = 0; i < ig->esphome.nstates - 1; i++) {
        if (strcmp(ig->esphome.states[i].topic, s->topic) == 0) {
            errbuf_set(e->err, e->errlen, "%s: topic '%.80s' is used twice", path, s->topic);
            return -1;
        }
    }
    json_t *metric = json_object_get(st, "metric");
    if (!json_is_string(metric) ||
        adapter_metric_name(json_string_value(metric), s->metric, sizeof s->metric) != 0) {
        errbuf_set(e->err, e->errlen, "%s.metric: required, a name of 1..%d chars", path,
                   READING_NAME_MAX - 1);
        return -1;
    }
    s->fam = adapter_metric_family(s->metric);
    json_t *unit = json_object_get(st, "unit");
    if (unit) {
        double probe;
        if (!json_is_string(unit) || json_string_length(unit) >= sizeof s->unit) {
            errbuf_set(e->err, e->errlen, "%s.unit: must be a short string", path);
            return -1;
        }
        snprintf(s->unit, sizeof s->unit, "%s", json_string_value(unit));
        if (s->fam == ADAPTER_FAM_UNKNOWN)
            s->fam = adapter_unit_family(s->unit);
        if (s->fam != ADAPTER_FAM_UNKNOWN && adapter_unit_convert(s->fam, s->unit, 0, &probe) != 0) {
            errbuf_set(e->err, e->errlen, "%s.unit: '%s' is not a unit of %s", path, s->unit,
                       s->metric);
            return -1;
        }
    }
    adapter_group *g = &ig->esphome.groups[gi];
    for (int i = 0; i < g->nmembers; i++) {
        if (strcmp(g->metric[i], s->metric) == 0) {
            errbuf_set(e->err, e->errlen, "%s.metric: '%s' twice in one group", path, s->metric);
            return -1;
        }
    }
    s->member = g->nmembers;
    snprintf(g->metric[g->nmembers++], READING_NAME_MAX, "%s", s->metric);
    return 0;
}

static int load_esphome(ingest *ig, json_t *adapters, perr *e)
{
    static const char *const keys[] = {"enabled", "groups", NULL};
    static const char *const gkeys[] = {"sensor", "prefix", "component", "states", NULL};
    json_t *o;
    int rc = section(adapters, "esphome", &o, keys, e);
    if (rc <= 0)
        return rc;
    json_t *groups = json_object_get(o, "groups");
    if (!json_is_array(groups) || json_array_size(groups) == 0 || json_array_size(groups) > 4096) {
        errbuf_set(e->err, e->errlen, "adapters.esphome.groups: must be a non-empty array");
        return -1;
    }
    size_t ng = json_array_size(groups), nstates = 0;
    for (size_t i = 0; i < ng; i++) {
        json_t *st = json_object_get(json_array_get(groups, i), "states");
        nstates += json_is_array(st) ? json_array_size(st) : 0;
    }
    ig->esphome.groups = calloc(ng, sizeof *ig->esphome.groups);
    ig->esphome.states = calloc(nstates ? nstates : 1, sizeof *ig->esphome.states);
    if (!ig->esphome.groups || !ig->esphome.states) {
        errbuf_set(e->err, e->errlen, "out of memory");
        return -1;
    }
    for (size_t gi = 0; gi < ng; gi++) {
        char path[64];
        snprintf(path, sizeof path, "adapters.esphome.groups[%zu]", gi);
        json_t *g = json_array_get(groups, gi);
        if (!json_is_object(g)) {
            errbuf_set(e->err, e->errlen, "%s: must be an object", path);
            return -1;
        }
        if (check_keys(g, path, gkeys, e) != 0)
            return -1;
        adapter_group *grp = &ig->esphome.groups[gi];
        ig->esphome.ngroups = (int)gi + 1;
        json_t *sensor = json_object_get(g, "sensor");
        if (!json_is_string(sensor) || !sensor_id_valid(json_string_value(sensor))) {
            errbuf_set(e->err, e->errlen,
                       "%s.sensor: required, a sensor id of 1..64 chars [A-Za-z0-9_.:-]", path);
            return -1;
        }
        snprintf(grp->id, sizeof grp->id, "%s", json_string_value(sensor));
        for (size_t k = 0; k < gi; k++) {
            if (strcmp(ig->esphome.groups[k].id, grp->id) == 0) {
                errbuf_set(e->err, e->errlen, "%s.sensor: '%s' has two groups", path, grp->id);
                return -1;
            }
        }
        char *prefix = NULL, *component = NULL;
        int lrc = 0;
        if (get_str(g, "prefix", path, &prefix, e) || get_str(g, "component", path, &component, e))
            lrc = -1;
        json_t *states = json_object_get(g, "states");
        if (lrc == 0 && (!json_is_array(states) || json_array_size(states) == 0 ||
                         json_array_size(states) > READING_MAX_METRICS)) {
            errbuf_set(e->err, e->errlen, "%s.states: must be an array of 1..%d states", path,
                       READING_MAX_METRICS);
            lrc = -1;
        }
        for (size_t si = 0; lrc == 0 && si < json_array_size(states); si++)
            lrc = load_esphome_state(ig, json_array_get(states, si), path, si, prefix,
                                     component ? component : "sensor", (int)gi, e);
        free(prefix);
        free(component);
        if (lrc != 0)
            return -1;
    }
    if (pthread_mutex_init(&ig->esphome.lock, NULL) != 0) {
        errbuf_set(e->err, e->errlen, "mutex init failed");
        return -1;
    }
    ig->esphome.lock_init = 1;
    ig->esphome.enabled = 1;
    return 0;
}

static int load_senml(ingest *ig, json_t *adapters, perr *e)
{
    static const char *const keys[] = {"enabled", "topics", "id_prefix", "metrics", NULL};
    const char *path = "adapters.senml";
    json_t *o;
    int rc = section(adapters, "senml", &o, keys, e);
    if (rc <= 0)
        return rc;
    ig->senml.enabled = 1;
    metrics_default(&ig->senml.metrics);
    if (get_str(o, "id_prefix", path, &ig->senml.id_prefix, e) ||
        get_metrics(o, path, &ig->senml.metrics, 0, e))
        return -1;
    json_t *topics = json_object_get(o, "topics");
    size_t n = topics ? json_array_size(topics) : 1;
    if (topics && (!json_is_array(topics) || n == 0 || n > 64)) {
        errbuf_set(e->err, e->errlen, "%s.topics: must be an array of 1..64 topic filters", path);
        return -1;
    }
    ig->senml.topics = calloc(n, sizeof(char *));
    if (!ig->senml.topics) {
        errbuf_set(e->err, e->errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = topics ? json_array_get(topics, i) : NULL;
        const char *f = topics ? json_string_value(v) : topics_default_senml();
        int plus, hash;
        if (!f || !filter_valid(f, &plus, &hash)) {
            errbuf_set(e->err, e->errlen, "%s.topics[%zu]: not a valid MQTT topic filter", path, i);
            return -1;
        }
        ig->senml.topics[i] = dupstr(f);
        if (!ig->senml.topics[i]) {
            errbuf_set(e->err, e->errlen, "out of memory");
            return -1;
        }
        ig->senml.ntopics = (int)i + 1;
    }
    return 0;
}

/* ---- sensors ---------------------------------------------------------- */

static int load_sensors(ingest *ig, json_t *arr, perr *e)
{
    static const char *const keys[] = {"source", "name",      "id", "profile",
                                       "label",  "threshold", NULL};
    if (!arr)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > 100000) {
        errbuf_set(e->err, e->errlen, "sensors: must be an array");
        return -1;
    }
    size_t n = json_array_size(arr);
    ig->sensors = calloc(n ? n : 1, sizeof *ig->sensors);
    if (!ig->sensors) {
        errbuf_set(e->err, e->errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char path[48];
        snprintf(path, sizeof path, "sensors[%zu]", i);
        json_t *o = json_array_get(arr, i);
        adapter_sensor *s = &ig->sensors[i];
        s->threshold = NAN;
        ig->nsensors = (int)i + 1;
        if (!json_is_object(o)) {
            errbuf_set(e->err, e->errlen, "%s: must be an object", path);
            return -1;
        }
        if (check_keys(o, path, keys, e) || get_str(o, "source", path, &s->source, e) ||
            get_str(o, "name", path, &s->name, e) || get_str(o, "id", path, &s->id, e) ||
            get_str(o, "profile", path, &s->profile, e) || get_str(o, "label", path, &s->label, e))
            return -1;
        if (!s->id || !sensor_id_valid(s->id)) {
            errbuf_set(e->err, e->errlen,
                       "%s.id: required, a sensor id of 1..64 chars [A-Za-z0-9_.:-]", path);
            return -1;
        }
        if ((s->source == NULL) != (s->name == NULL)) {
            errbuf_set(e->err, e->errlen, "%s: \"source\" and \"name\" go together", path);
            return -1;
        }
        if (s->source) {
            int known = 0;
            for (int a = INGEST_Z2M; a < INGEST_NADAPTERS; a++)
                if (a != INGEST_ESPHOME && strcmp(s->source, adapter_name(a)) == 0)
                    known = 1;
            if (!known) {
                errbuf_set(e->err, e->errlen,
                           "%s.source: must be zigbee2mqtt, tasmota or senml (ESPHome groups "
                           "name their sensor themselves)",
                           path);
                return -1;
            }
        }
        json_t *th = json_object_get(o, "threshold");
        if (th) {
            double t = json_is_number(th) ? json_number_value(th) : NAN;
            if (!(t > 0 && t < 1)) {
                errbuf_set(e->err, e->errlen, "%s.threshold: must be a number in (0, 1)", path);
                return -1;
            }
            s->threshold = t;
        }
        for (size_t k = 0; k < i; k++) {
            adapter_sensor *p = &ig->sensors[k];
            if (strcmp(p->id, s->id) == 0) {
                errbuf_set(e->err, e->errlen, "%s.id: '%s' is already used by sensors[%zu]", path,
                           s->id, k);
                return -1;
            }
        }
    }
    return 0;
}

/* ---- entry points ----------------------------------------------------- */

static int add_topic(ingest *ig, const char *t)
{
    for (int i = 0; i < ig->ntopics; i++)
        if (strcmp(ig->topics[i], t) == 0)
            return 0;
    char **nt = realloc(ig->topics, (size_t)(ig->ntopics + 1) * sizeof *nt);
    if (!nt)
        return -1;
    ig->topics = nt;
    ig->topics[ig->ntopics] = dupstr(t);
    if (!ig->topics[ig->ntopics])
        return -1;
    ig->ntopics++;
    return 0;
}

static int build_topics(ingest *ig)
{
    if (add_topic(ig, topics_filter_readings()))
        return -1;
    if (ig->z2m.enabled && add_topic(ig, ig->z2m.topic))
        return -1;
    if (ig->tasmota.enabled && add_topic(ig, ig->tasmota.topic))
        return -1;
    for (int i = 0; ig->esphome.enabled && i < ig->esphome.nstates; i++)
        if (add_topic(ig, ig->esphome.states[i].topic))
            return -1;
    for (int i = 0; ig->senml.enabled && i < ig->senml.ntopics; i++)
        if (add_topic(ig, ig->senml.topics[i]))
            return -1;
    return 0;
}

int adapter_mapping_parse(ingest *ig, const char *text, size_t len, char *err, size_t errlen)
{
    static const char *const keys[] = {"adapters", "sensors", NULL};
    static const char *const akeys[] = {"native",  "zigbee2mqtt", "tasmota",
                                        "esphome", "senml",       NULL};
    perr e = {err, errlen};
    json_error_t jerr;
    int rc = -1;
    json_t *root = NULL;
    if (text) {
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
            errbuf_set(err, errlen, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
            goto out;
        }
        if (!json_is_object(root)) {
            errbuf_set(err, errlen, "the mapping must be a JSON object");
            goto out;
        }
        if (check_keys(root, "$", keys, &e) != 0)
            goto out;
        json_t *adapters = json_object_get(root, "adapters");
        if (adapters && !json_is_object(adapters)) {
            errbuf_set(err, errlen, "adapters: must be an object");
            goto out;
        }
        if (adapters && check_keys(adapters, "adapters", akeys, &e) != 0)
            goto out;
        json_t *native = adapters ? json_object_get(adapters, "native") : NULL;
        if (native && !(json_is_object(native) && json_object_size(native) == 0)) {
            /* nothing to configure: the native format is the public interface */
            errbuf_set(err, errlen, "adapters.native: is always on and takes no options ({})");
            goto out;
        }
        if (load_z2m(ig, adapters, &e) < 0 || load_tasmota(ig, adapters, &e) < 0 ||
            load_esphome(ig, adapters, &e) < 0 || load_senml(ig, adapters, &e) < 0 ||
            load_sensors(ig, json_object_get(root, "sensors"), &e) < 0)
            goto out;
    }
    if (build_topics(ig) != 0) {
        errbuf_set(err, errlen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int adapter_mapping_load(ingest *ig, const char *path, char *err, size_t errlen)
{
    int rc = -1;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        errbuf_set(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    buf = malloc(MAPPING_MAX_BYTES + 1);
    if (!buf) {
        errbuf_set(err, errlen, "out of memory");
        goto out;
    }
    size_t n = fread(buf, 1, MAPPING_MAX_BYTES + 1, f);
    if (ferror(f)) {
        errbuf_set(err, errlen, "read error");
        goto out;
    }
    if (n > MAPPING_MAX_BYTES) {
        errbuf_set(err, errlen, "larger than %d bytes", MAPPING_MAX_BYTES);
        goto out;
    }
    rc = adapter_mapping_parse(ig, buf, n, err, errlen);
out:
    free(buf);
    fclose(f);
    return rc;
}

static void free_list(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void adapter_mapping_free(ingest *ig)
{
    free_list(ig->topics, ig->ntopics);
    free(ig->z2m.topic);
    free(ig->z2m.id_prefix);
    free(ig->tasmota.topic);
    free(ig->tasmota.id_prefix);
    free_list(ig->tasmota.ignore, ig->tasmota.nignore);
    for (int i = 0; i < ig->esphome.nstates; i++)
        free(ig->esphome.states[i].topic);
    free(ig->esphome.states);
    free(ig->esphome.groups);
    if (ig->esphome.lock_init)
        pthread_mutex_destroy(&ig->esphome.lock);
    free_list(ig->senml.topics, ig->senml.ntopics);
    free(ig->senml.id_prefix);
    for (int i = 0; i < ig->nsensors; i++) {
        adapter_sensor *s = &ig->sensors[i];
        free(s->source);
        free(s->name);
        free(s->id);
        free(s->profile);
        free(s->label);
    }
    free(ig->sensors);
}
