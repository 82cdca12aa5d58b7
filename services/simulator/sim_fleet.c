/*
 * sim_fleet — see sim_fleet.h.
 */
#include "sim_fleet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int before(const sim_fleet *f, int a, int b)
{
    double ta = sim_sensor_next_ts(&f->s[a]), tb = sim_sensor_next_ts(&f->s[b]);
    return ta < tb || (ta == tb && a < b);
}

static void sift_down(sim_fleet *f, int i)
{
    int n = f->nheap, *h = f->heap;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && before(f, h[l], h[m]))
            m = l;
        if (r < n && before(f, h[r], h[m]))
            m = r;
        if (m == i)
            return;
        int tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

int sim_fleet_init(sim_fleet *f, const sim_profile_set *set, const sim_fleet_entry *e, int ne,
                   uint64_t seed, double start_ts, double stop_ts, const sim_anomaly_cfg *acfg)
{
    memset(f, 0, sizeof *f);
    long total = 0;
    for (int i = 0; i < ne; i++)
        total += e[i].count;
    if (total <= 0 || total > 10000000)
        return -1;
    f->s = calloc((size_t)total, sizeof *f->s);
    f->heap = calloc((size_t)total, sizeof *f->heap);
    if (!f->s || !f->heap) {
        sim_fleet_free(f);
        return -1;
    }
    int k = 0;
    for (int i = 0; i < ne; i++)
        for (int j = 1; j <= e[i].count; j++)
            sim_sensor_init(&f->s[k++], &set->p[e[i].profile], j, seed, start_ts, stop_ts, acfg);
    f->n = k;
    for (int i = 0; i < k; i++)
        f->heap[i] = i;
    f->nheap = k;
    for (int i = k / 2 - 1; i >= 0; i--)
        sift_down(f, i);
    return 0;
}

void sim_fleet_free(sim_fleet *f)
{
    if (!f)
        return;
    free(f->s);
    free(f->heap);
    memset(f, 0, sizeof *f);
}

double sim_fleet_peek_ts(const sim_fleet *f)
{
    if (f->nheap == 0)
        return INFINITY;
    return sim_sensor_next_ts(&f->s[f->heap[0]]);
}

int sim_fleet_next(sim_fleet *f, sim_sample *out)
{
    while (f->nheap > 0) {
        int i = f->heap[0];
        if (sim_sensor_next(&f->s[i], out) == 0) {
            sift_down(f, 0); /* its next ts grew */
            return i;
        }
        /* Sensor i is done: remove it from the heap. */
        f->heap[0] = f->heap[--f->nheap];
        sift_down(f, 0);
    }
    return -1;
}
