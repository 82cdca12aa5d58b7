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

#include "bus/topics.h"
#include "ingest/adapter.h"

int adapter_native_decode(ingest *ig, const char *topic, const char *payload, size_t len, double now,
                     reading *out, int cap, char *err, size_t errlen)
{
    char id[SENSOR_ID_MAX];
    (void)ig;
    (void)cap;
    int t = topics_parse_reading(topic, id, sizeof id);
    if (t == 1)
        return ADAPTER_NOT_MINE;
    if (t < 0) {
        errbuf_set(err, errlen, "sensor id in topic is longer than %d", SENSOR_ID_MAX - 1);
        return READING_ERR_SENSOR;
    }
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
