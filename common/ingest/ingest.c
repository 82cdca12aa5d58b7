/*
 * ingest — see ingest.h. The context holds the mapping (ingest/mapping.c)
 * and routes each message to the first adapter whose topics match, in a
 * fixed order from the most specific topics to the broadest: ESPHome's
 * exact state topics, native sensors/+/readings, Tasmota's tele/+/SENSOR,
 * SenML's filters, and last Zigbee2MQTT's zigbee2mqtt/#. A topic no
 * adapter claims is counted and ignored (0 readings).
 *
 * Counters are plain unsigned longs updated with __atomic builtins so the
 * hot path takes no lock and allocates nothing outside jansson.
 */
#include "ingest/ingest.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/adapter.h"
#include "base/log.h"

typedef int (*adapter_fn)(ingest *, const char *, const char *, size_t, double, reading *, int,
                          char *, size_t);

const char *ingest_adapter_name(int adapter)
{
    return adapter_name(adapter);
}

static int create(ingest **out, const char *path, const char *json, size_t len, char *err,
                  size_t errlen)
{
    *out = NULL;
    ingest *ig = calloc(1, sizeof *ig);
    if (!ig) {
        errbuf_set(err, errlen, "out of memory");
        return -1;
    }
    int rc = path ? adapter_mapping_load(ig, path, err, errlen)
                  : adapter_mapping_parse(ig, json, len, err, errlen);
    if (rc != 0) {
        ingest_destroy(ig);
        return -1;
    }
    *out = ig;
    return 0;
}

int ingest_create(ingest **out, const char *mapping_file)
{
    char err[256] = "";
    if (mapping_file && !*mapping_file)
        mapping_file = NULL; /* INGEST_MAPPING= (empty) means no mapping */
    int rc = create(out, mapping_file, NULL, 0, err, sizeof err);
    if (rc != 0) {
        log_error("ingest_mapping_invalid file=%s reason=\"%s\"", mapping_file, err);
        return -1;
    }
    const ingest *ig = *out;
    log_info("ingest_ready mapping=%s zigbee2mqtt=%d tasmota=%d esphome_groups=%d senml=%d "
             "sensors=%d topics=%d",
             mapping_file ? mapping_file : "none", ig->z2m.enabled, ig->tasmota.enabled,
             ig->esphome.ngroups, ig->senml.enabled, ig->nsensors, ig->ntopics);
    return 0;
}

int ingest_create_from_json(ingest **out, const char *json, size_t len, char *err, size_t errlen)
{
    if (!json) {
        errbuf_set(err, errlen, "no mapping text");
        *out = NULL;
        return -1;
    }
    return create(out, NULL, json, len, err, errlen);
}

void ingest_destroy(ingest *ig)
{
    if (!ig)
        return;
    adapter_mapping_free(ig);
    free(ig);
}

const char *const *ingest_topics(const ingest *ig, int *n)
{
    *n = ig->ntopics;
    return (const char *const *)ig->topics;
}

static void count(unsigned long *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

int ingest_decode(ingest *ig, const char *topic, const void *payload, size_t len, double now,
                  reading *out, int cap, char *err, size_t errlen)
{
    /* Order: most specific topics first (see the top of this file). */
    static const struct {
        int id;
        adapter_fn fn;
    } order[] = {
        {INGEST_ESPHOME, adapter_esphome_decode}, {INGEST_NATIVE, adapter_native_decode},
        {INGEST_TASMOTA, adapter_tasmota_decode}, {INGEST_SENML, adapter_senml_decode},
        {INGEST_Z2M, adapter_z2m_decode},
    };
    if (err && errlen)
        err[0] = '\0';
    if (!topic || (!payload && len) || !out || cap < 1) {
        errbuf_set(err, errlen, "invalid arguments");
        return READING_ERR_FORMAT;
    }
    if (!payload)
        payload = "";
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        int a = order[i].id;
        int rc = order[i].fn(ig, topic, payload, len, now, out, cap, err, errlen);
        if (rc == ADAPTER_NOT_MINE)
            continue;
        count(&ig->messages[a]);
        if (rc < 0) {
            count(&ig->errors[a]);
            if (-rc < INGEST_NERRORS)
                count(&ig->by_error[-rc]);
        } else if (rc == 0) {
            count(&ig->ignored[a]);
        } else {
            __atomic_fetch_add(&ig->readings[a], (unsigned long)rc, __ATOMIC_RELAXED);
        }
        return rc;
    }
    count(&ig->unmatched);
    return 0;
}

int ingest_sensor_profile(const ingest *ig, const char *sensor_id, ingest_sensor_info *info)
{
    info->profile = NULL;
    info->label = NULL;
    info->threshold = NAN;
    for (int i = 0; ig && sensor_id && i < ig->nsensors; i++) {
        const adapter_sensor *s = &ig->sensors[i];
        if (strcmp(s->id, sensor_id) == 0) {
            info->profile = s->profile;
            info->label = s->label;
            info->threshold = s->threshold;
            return 1;
        }
    }
    return 0;
}

void ingest_counters_get(const ingest *ig, ingest_counters *out)
{
    for (int a = 0; a < INGEST_NADAPTERS; a++) {
        out->messages[a] = __atomic_load_n(&ig->messages[a], __ATOMIC_RELAXED);
        out->readings[a] = __atomic_load_n(&ig->readings[a], __ATOMIC_RELAXED);
        out->ignored[a] = __atomic_load_n(&ig->ignored[a], __ATOMIC_RELAXED);
        out->errors[a] = __atomic_load_n(&ig->errors[a], __ATOMIC_RELAXED);
    }
    for (int e = 0; e < INGEST_NERRORS; e++)
        out->by_error[e] = __atomic_load_n(&ig->by_error[e], __ATOMIC_RELAXED);
    out->unmatched = __atomic_load_n(&ig->unmatched, __ATOMIC_RELAXED);
}
