/*
 * ingest_esphome — ESPHome's MQTT component and Home Assistant style
 * per-state topics: one topic per value, a plain number as payload.
 *
 *     topic    {prefix}/sensor/{object_id}/state    (ESPHome's default)
 *     payload  21.4
 *
 * The payload carries neither sensor nor unit, so the mapping groups state
 * topics into sensors and gives each its metric and unit:
 *
 *     {"sensor": "greenhouse", "prefix": "greenhouse", "states": [
 *        {"name": "greenhouse_temperature", "metric": "temperature", "unit": "°F"},
 *        {"topic": "home/greenhouse/humidity", "metric": "humidity"}]}
 *
 * When is a group's reading emitted? The values of one device arrive as
 * separate messages, usually in a burst every update_interval. A group
 * collects them and emits one reading as soon as every member has a value
 * since the last reading. If a member sends again before the set is
 * complete (another member stopped reporting, or members have different
 * intervals), what has been collected is emitted as it is (a partial
 * reading) and the new value starts the next one; so a dead member never
 * stalls the others. The reading's ts is the receipt time of its first
 * value. This state is shared across calls, under ig->esphome.lock.
 *
 * ESPHome publishes "nan" when a sensor could not be read, Home Assistant
 * "unavailable"/"unknown": all are rejected as READING_ERR_TYPE (counted,
 * so a failing sensor shows up in the error counters).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/adapter.h"

/* Strict decimal number: [-+]digits[.digits][e[-+]digits], surrounding
 * whitespace allowed. strtod alone would accept "nan", "inf" and hex. */
static int parse_number(const char *p, size_t len, double *out)
{
    char buf[ADAPTER_STATE_PAYLOAD_MAX + 1];
    while (len && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++, len--;
    while (len &&
           (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r' || p[len - 1] == '\n'))
        len--;
    if (len == 0 || len > ADAPTER_STATE_PAYLOAD_MAX)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E'))
            return -1;
    }
    memcpy(buf, p, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + len || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static void emit(const adapter_group *g, reading *r)
{
    memset(r, 0, sizeof *r);
    memcpy(r->sensor_id, g->id, sizeof r->sensor_id);
    r->ts = g->first_ts;
    for (int i = 0; i < g->nmembers; i++) {
        if (!(g->have & (1u << i)))
            continue;
        memcpy(r->m[r->n].name, g->metric[i], READING_NAME_MAX);
        r->m[r->n].value = g->val[i];
        r->n++;
    }
}

int adapter_esphome_decode(ingest *ig, const char *topic, const char *payload, size_t len, double now,
                      reading *out, int cap, char *err, size_t errlen)
{
    if (!ig->esphome.enabled)
        return ADAPTER_NOT_MINE;
    const adapter_state *s = NULL;
    for (int i = 0; i < ig->esphome.nstates; i++) {
        if (strcmp(ig->esphome.states[i].topic, topic) == 0) {
            s = &ig->esphome.states[i];
            break;
        }
    }
    if (!s)
        return ADAPTER_NOT_MINE;
    if (len > ADAPTER_STATE_PAYLOAD_MAX + 16) {
        errbuf_set(err, errlen, "state payload of %zu bytes is not a number", len);
        return READING_ERR_TOO_LARGE;
    }
    double v, cv;
    if (parse_number(payload, len, &v) != 0) {
        errbuf_set(err, errlen, "state of %s is not a finite number", s->metric);
        return READING_ERR_TYPE;
    }
    int rc = adapter_check_value(s->metric, v, err, errlen);
    if (rc < 0)
        return rc;
    cv = v;
    if (s->fam != ADAPTER_FAM_UNKNOWN && adapter_unit_convert(s->fam, s->unit, v, &cv) != 0) {
        errbuf_set(err, errlen, "unit '%s' is not a unit of %s", s->unit, s->metric);
        return READING_ERR_FORMAT; /* checked at load: unreachable */
    }
    if ((rc = adapter_check_value(s->metric, cv, err, errlen)) < 0)
        return rc;

    int n = 0;
    unsigned bit = 1u << s->member;
    pthread_mutex_lock(&ig->esphome.lock);
    adapter_group *g = &ig->esphome.groups[s->group];
    unsigned full = (1u << g->nmembers) - 1;
    if (g->have & bit) {
        emit(g, &out[n++]); /* a member repeated: flush the partial set */
        g->have = 0;
    }
    if (!g->have)
        g->first_ts = now;
    g->val[s->member] = cv;
    g->have |= bit;
    if (g->have == full && n < cap) {
        emit(g, &out[n++]);
        g->have = 0;
    }
    pthread_mutex_unlock(&ig->esphome.lock);
    return n;
}
