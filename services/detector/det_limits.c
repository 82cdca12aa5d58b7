/*
 * det_limits — bounds on what senders can make the detector keep, so that
 * invented sensor ids and metric names cannot grow its memory until it dies
 * or push real metrics out of the model slots (issue #19, item 4).
 *
 *  - Sensors: at most cfg.max_sensors. A new sensor beyond that evicts the
 *    least recently seen one (a list in the order readings arrived, not by
 *    the sender's timestamps): a real sensor that keeps reporting is never
 *    the one to go; a burst of junk ids evicts mostly junk.
 *  - Streams: at most cfg.max_metrics per sensor; a new metric evicts the
 *    sensor's least recently seen stream that the reading does not carry.
 *  - Model slots (MAX_MODELS, shared by every sensor): the lower half goes
 *    to the first metric names seen (a deployment's few real names, so
 *    behaviour is unchanged there); the upper half only to a name seen in
 *    cfg.metric_min_readings readings, counted in a Misra-Gries table of
 *    DET_CANDIDATES names (a name not in the full table decrements every
 *    count: a flood of distinct names never adds up to a slot). A slot
 *    whose streams were all evicted and that has no forest is free again.
 *  - File names: a metric name becomes part of forest-<metric>.bin only
 *    escaped (det_limits_file_name).
 *
 * Recency is a doubly linked list through the sensors (moved to the front
 * on every reading, evicted from the back): O(1) per reading and per
 * eviction. (A scan for the oldest took 4 ms per new id at 100,000 sensors:
 * cache misses; a flood of new ids would have starved the real readings.)
 */
#include <stdio.h>
#include <string.h>

#include "base/fnv1a.h"
#include "base/log.h"
#include "det_internal.h"

/* Free one stream's resources (not the array slot). */
static void stream_free(det_engine *e, det_stream *st)
{
    det_shape_destroy(st->shape);
    st->shape = NULL;
    det_limits_model_release(e, st->model);
}

static void lru_unlink(det_engine *e, det_sensor *s)
{
    if (s->lru_prev)
        s->lru_prev->lru_next = s->lru_next;
    else if (e->lru_head == s)
        e->lru_head = s->lru_next;
    if (s->lru_next)
        s->lru_next->lru_prev = s->lru_prev;
    else if (e->lru_tail == s)
        e->lru_tail = s->lru_prev;
    s->lru_prev = s->lru_next = NULL;
}

void det_limits_touch(det_engine *e, det_sensor *s)
{
    if (e->lru_head == s)
        return;
    lru_unlink(e, s);
    s->lru_next = e->lru_head;
    if (e->lru_head)
        e->lru_head->lru_prev = s;
    e->lru_head = s;
    if (!e->lru_tail)
        e->lru_tail = s;
}

static void sensor_evict(det_engine *e, det_sensor *s)
{
    uint64_t v;
    if (!hashmap_find(&e->index, fnv1a_str(s->id), s->id, &v) || v >= e->count) {
        lru_unlink(e, s); /* not indexed: cannot happen; never loop on it */
        return;
    }
    size_t last = e->count - 1;
    lru_unlink(e, s);
    /* The index compares through e->sensors: remove before moving. */
    hashmap_remove(&e->index, fnv1a_str(s->id), s->id);
    if (v != last) {
        det_sensor *moved = e->sensors[last];
        hashmap_remove(&e->index, fnv1a_str(moved->id), moved->id);
        e->sensors[v] = moved;
        /* Cannot fail: the table has just lost two entries. */
        (void)hashmap_insert(&e->index, fnv1a_str(moved->id), v);
    }
    e->count--;
    for (uint32_t j = 0; j < s->nstreams; j++)
        stream_free(e, &s->streams[j]);
    e->st.streams -= s->nstreams;
    det_fleet_sensor_removed(&e->fleet, s->id);
    log_rate(28, 60.0, LOG_WARN, "sensor_evicted sensor=%s max_sensors=%d", s->id,
             e->cfg.max_sensors);
    free(s->streams);
    free(s);
    e->st.sensors = e->count;
    e->st.sensor_evictions++;
}

void det_limits_sensor_room(det_engine *e)
{
    while (e->cfg.max_sensors > 0 && e->lru_tail && e->count >= (size_t)e->cfg.max_sensors)
        sensor_evict(e, e->lru_tail);
}

void det_limits_stream_room(det_engine *e, det_sensor *s, const reading *r)
{
    uint32_t max = e->cfg.max_metrics > 0 ? (uint32_t)e->cfg.max_metrics : UINT32_MAX;
    uint32_t fresh = 0; /* metrics of r without a stream */
    for (int k = 0; k < r->n; k++) {
        int have = 0;
        for (uint32_t j = 0; j < s->nstreams && !have; j++)
            have = strcmp(e->models[s->streams[j].model].metric, r->m[k].name) == 0;
        fresh += !have;
    }
    int evicted = 0;
    while (fresh > 0 && s->nstreams > 0 && s->nstreams + fresh > max) {
        int victim = -1;
        for (uint32_t j = 0; j < s->nstreams; j++) {
            const det_stream *st = &s->streams[j];
            if (reading_find(r, e->models[st->model].metric) >= 0)
                continue;
            if (victim < 0 || st->fs.last_ts < s->streams[victim].fs.last_ts)
                victim = (int)j;
        }
        if (victim < 0)
            break; /* every stream is in this reading: the new metrics are refused */
        log_rate(29, 60.0, LOG_WARN, "stream_evicted sensor=%s metric=%s max_metrics=%d", s->id,
                 e->models[s->streams[victim].model].metric, e->cfg.max_metrics);
        stream_free(e, &s->streams[victim]);
        memmove(&s->streams[victim], &s->streams[victim + 1],
                (s->nstreams - (uint32_t)victim - 1) * sizeof(det_stream));
        s->nstreams--;
        e->st.streams--;
        e->st.stream_evictions++;
        evicted = 1;
    }
    if (evicted) /* the relation between the remaining streams is learned anew */
        det_multi_init(&s->multi, (int)s->nstreams);
}

/* Count one more sighting of a name without a slot; returns its count. */
static uint32_t candidate_count(det_candidates *c, const char *metric, uint32_t weight)
{
    for (int k = 0; k < c->n; k++)
        if (strcmp(c->c[k].metric, metric) == 0) {
            c->c[k].count =
                c->c[k].count > UINT32_MAX - weight ? UINT32_MAX : c->c[k].count + weight;
            return c->c[k].count;
        }
    if (c->n < DET_CANDIDATES) {
        snprintf(c->c[c->n].metric, sizeof c->c[c->n].metric, "%s", metric);
        c->c[c->n].count = weight;
        return c->c[c->n++].count;
    }
    /* Full: every count goes down by the weight (Misra-Gries); names at 0
     * leave. The newcomer is not stored this time. */
    int kept = 0;
    for (int k = 0; k < c->n; k++) {
        if (c->c[k].count <= weight)
            continue;
        c->c[kept] = c->c[k];
        c->c[kept++].count -= weight;
    }
    c->n = kept;
    return 0;
}

static void candidate_forget(det_candidates *c, const char *metric)
{
    for (int k = 0; k < c->n; k++)
        if (strcmp(c->c[k].metric, metric) == 0) {
            c->c[k] = c->c[--c->n];
            return;
        }
}

int det_limits_model_admit(det_engine *e, const char *metric, uint32_t weight)
{
    int used = 0;
    for (int m = 0; m < e->nmodels; m++)
        used += e->models[m].metric[0] != '\0';
    if (used < MAX_MODELS / 2) {
        candidate_forget(&e->cand, metric);
        return 1;
    }
    uint32_t need = e->cfg.metric_min_readings > 0 ? (uint32_t)e->cfg.metric_min_readings : 1;
    if (used < MAX_MODELS && candidate_count(&e->cand, metric, weight ? weight : 1) >= need) {
        candidate_forget(&e->cand, metric);
        return 1;
    }
    e->st.metrics_refused++;
    return 0;
}

void det_limits_model_release(det_engine *e, int m)
{
    if (m < 0 || m >= e->nmodels)
        return;
    det_model *md = &e->models[m];
    if (md->users > 0)
        md->users--;
    if (md->users == 0 && !md->forest && md->metric[0]) {
        log_info("model_slot_freed metric=%s (no stream left, never trained)", md->metric);
        md->metric[0] = '\0'; /* matches no name; det_model_index reuses it */
        md->pool_n = 0;
        md->pool_seen = 0;
        md->since_train = 0;
    }
}

int det_limits_file_name(const char *metric, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)metric; *p; p++) {
        int safe = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.';
        if (n + (safe ? 1 : 3) >= cap)
            return -1;
        if (safe) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    if (n >= cap)
        return -1;
    out[n] = '\0';
    return 0;
}
