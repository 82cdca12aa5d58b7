/*
 * ingest_native — our own format, the public interface of issue 2:
 *
 *     topic    sensors/{sensor_id}/readings
 *     payload  {"ts": 1764100000.5, "temperature": 21.4, "humidity": 40.1}
 *
 * Decoding is reading_decode_json() (reading.c); this file only takes the
 * sensor id out of the topic. The id is validated with sensor_id_valid()
 * because it is reused in topics we publish (anomalies/{id},
 * chain/logged/{id}): a '+' or '#' there would turn a publish into a
 * wildcard.
 */
#include <string.h>

#include "ingest/adapter.h"

int adapter_native_decode(ingest *ig, const char *topic, const char *payload, size_t len, double now,
                     reading *out, int cap, char *err, size_t errlen)
{
    static const char pre[] = "sensors/", suf[] = "/readings";
    size_t tl = strlen(topic), pl = sizeof pre - 1, sl = sizeof suf - 1;
    char id[SENSOR_ID_MAX];
    (void)ig;
    (void)cap;
    if (tl <= pl + sl || strncmp(topic, pre, pl) != 0 || strcmp(topic + tl - sl, suf) != 0)
        return ADAPTER_NOT_MINE;
    size_t il = tl - pl - sl;
    if (il >= sizeof id) {
        errbuf_set(err, errlen, "sensor id in topic is longer than %d", SENSOR_ID_MAX - 1);
        return READING_ERR_SENSOR;
    }
    memcpy(id, topic + pl, il);
    id[il] = '\0';
    if (!sensor_id_valid(id)) {
        errbuf_set(err, errlen, "invalid sensor id in topic");
        return READING_ERR_SENSOR;
    }
    int rc = reading_decode_json(id, payload, len, now, out, err, errlen);
    if (rc < 0)
        return rc;
    /* reading_decode_json applies the same bound; checked here too so that
     * every adapter provably goes through adapter_check_value. */
    for (int i = 0; i < out->n; i++)
        if ((rc = adapter_check_value(out->m[i].name, out->m[i].value, err, errlen)) < 0)
            return rc;
    return 1;
}
