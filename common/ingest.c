/*
 * ingest — see ingest.h. Routes a message to the adapter whose topic
 * pattern matches, and lets that adapter turn the payload into readings.
 * This first version carries the native adapter only:
 *
 *     sensors/{sensor_id}/readings  ->  reading_decode_json()
 *
 * The sensor id comes from the topic and is validated with
 * sensor_id_valid(), because it is reused in topics we publish
 * (anomalies/{id}, chain/logged/{id}): a '+' or '#' there would turn a
 * publish into a wildcard.
 */
#include "ingest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct ingest {
    const char *topics[1];
    int ntopics;
};

static const char native_filter[] = "sensors/+/readings";

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int ingest_create(ingest **out, const char *mapping_file)
{
    *out = NULL;
    if (mapping_file) {
        log_error("ingest_mapping_unsupported file=%s", mapping_file);
        return -1;
    }
    ingest *ig = calloc(1, sizeof *ig);
    if (!ig)
        return -1;
    ig->topics[0] = native_filter;
    ig->ntopics = 1;
    *out = ig;
    return 0;
}

void ingest_destroy(ingest *ig)
{
    free(ig);
}

const char *const *ingest_topics(const ingest *ig, int *n)
{
    *n = ig->ntopics;
    return ig->topics;
}

/* sensors/{id}/readings -> id into buf. Returns 1 on a match, 0 when the
 * topic is not a native one, READING_ERR_SENSOR for a bad id. */
static int native_topic(const char *topic, char *id, size_t idcap)
{
    static const char pre[] = "sensors/", suf[] = "/readings";
    size_t tl = strlen(topic), pl = sizeof pre - 1, sl = sizeof suf - 1;
    if (tl <= pl + sl || strncmp(topic, pre, pl) != 0 || strcmp(topic + tl - sl, suf) != 0)
        return 0;
    size_t il = tl - pl - sl;
    if (il >= idcap)
        return READING_ERR_SENSOR;
    memcpy(id, topic + pl, il);
    id[il] = '\0';
    return sensor_id_valid(id) ? 1 : READING_ERR_SENSOR;
}

int ingest_decode(ingest *ig, const char *topic, const void *payload, size_t len, double now,
                  reading *out, int cap, char *err, size_t errlen)
{
    char id[SENSOR_ID_MAX];
    (void)ig;
    if (!topic || cap < 1)
        return READING_ERR_FORMAT;
    int m = native_topic(topic, id, sizeof id);
    if (m < 0) {
        set_err(err, errlen, "invalid sensor id in topic");
        return m;
    }
    if (m == 0)
        return 0; /* not ours */
    int rc = reading_decode_json(id, payload, len, now, out, err, errlen);
    return rc < 0 ? rc : 1;
}
