/*
 * det_fleet — fleet-wide events: when several sensors of one group (the
 * sensor id up to its last '-': "office-0003" is in "office") alert on the
 * same metric at about the same time (weather, an HVAC schedule, a power
 * dip), each alert says how many of its peers did, so one cause is seen
 * as one cause rather than N unrelated alerts.
 *
 * Per (group, metric) a ring of the last FLEET_RING alerts (time and a
 * hash of the sensor id); per group the number of sensors seen. A peer
 * "moved at the same time" when it alerted on that metric within
 * `window` seconds of this alert (before it: the engine is causal).
 * Bounded: at most FLEET_SLOTS (group, metric) pairs and groups; beyond
 * that alerts are simply not marked.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "det_internal.h"

static int group_len(const char *id)
{
    const char *dash = strrchr(id, '-');
    return dash && dash > id ? (int)(dash - id) : 0;
}

static uint64_t hash_id(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static det_fleet_group *find_group(det_fleet *f, const char *id, int n, int create)
{
    for (int k = 0; k < f->ngroups; k++)
        if ((int)strlen(f->groups[k].name) == n && strncmp(f->groups[k].name, id, (size_t)n) == 0)
            return &f->groups[k];
    if (!create || f->ngroups >= FLEET_SLOTS || n >= SENSOR_ID_MAX)
        return NULL;
    det_fleet_group *g = &f->groups[f->ngroups++];
    memset(g, 0, sizeof(*g));
    memcpy(g->name, id, (size_t)n);
    return g;
}

void det_fleet_sensor_added(det_fleet *f, const char *id)
{
    int n = group_len(id);
    det_fleet_group *g = n ? find_group(f, id, n, 1) : NULL;
    if (g)
        g->sensors++;
}

void det_fleet_sensor_removed(det_fleet *f, const char *id)
{
    int n = group_len(id);
    det_fleet_group *g = n ? find_group(f, id, n, 0) : NULL;
    if (g && g->sensors > 0)
        g->sensors--;
}

static det_fleet_ring *find_ring(det_fleet *f, int group, const char *metric)
{
    for (int k = 0; k < f->nrings; k++)
        if (f->rings[k].group == group && strcmp(f->rings[k].metric, metric) == 0)
            return &f->rings[k];
    if (f->nrings >= FLEET_SLOTS)
        return NULL;
    det_fleet_ring *r = &f->rings[f->nrings++];
    memset(r, 0, sizeof(*r));
    r->group = group;
    snprintf(r->metric, sizeof(r->metric), "%s", metric);
    return r;
}

int det_fleet_mark(det_fleet *f, anomaly *a, double window)
{
    int n = group_len(a->sensor_id);
    det_fleet_group *g = n ? find_group(f, a->sensor_id, n, 0) : NULL;
    if (!g || g->sensors < 2)
        return 0;
    det_fleet_ring *r = find_ring(f, (int)(g - f->groups), a->metric);
    if (!r)
        return 0;
    uint64_t me = hash_id(a->sensor_id), seen[FLEET_RING];
    int peers = 0;
    for (int k = 0; k < r->n; k++) {
        const det_fleet_alert *p = &r->a[k];
        if (p->sensor == me || fabs(p->ts - a->ts) > window)
            continue;
        int dup = 0;
        for (int j = 0; j < peers; j++)
            dup |= seen[j] == p->sensor;
        if (!dup)
            seen[peers++] = p->sensor;
    }
    r->a[r->next] = (det_fleet_alert){.ts = a->ts, .sensor = me};
    r->next = (r->next + 1) % FLEET_RING;
    if (r->n < FLEET_RING)
        r->n++;
    if (peers > 0) {
        size_t len = strlen(a->explanation);
        snprintf(a->explanation + len, sizeof(a->explanation) - len,
                 "; %d of the other %u %s- sensors alerted on %s within %.0f min: "
                 "a fleet-wide event?",
                 peers, g->sensors - 1, g->name, a->metric, window / 60.0);
    }
    return peers;
}
