/*
 * det_intake — see det_intake.h. The ring's positions are byte counters
 * that only grow (head: written by the producer, tail: by the consumer);
 * used = head - tail, and a position's offset is counter % cap. A record
 * never straddles the end: when it does not fit in what is left there, the
 * producer writes a wrap marker (topic_len = UINT32_MAX) and starts again
 * at offset 0, and the skipped bytes count as used until the consumer
 * passes them.
 *
 * The producer copies into the free region without the lock (only it
 * writes there, and the consumer reads only [tail, head)); the lock covers
 * the counters. The consumer takes up to INTAKE_BATCH records per wake-up,
 * calls the callbacks without the lock, then frees their room at once.
 */
#include "det_intake.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/deadline.h"
#include "base/fnv1a.h"
#include "store/hashmap.h"

#define INTAKE_BATCH 512
#define WRAP_MARK UINT32_MAX

struct det_intake {
    pthread_mutex_t mu;
    pthread_cond_t data; /* consumer waits for records */
    pthread_cond_t room; /* producer (and drain) wait for the consumer */
    pthread_t thread;
    unsigned char *buf;
    size_t cap;
    uint64_t head, tail;
    int stop, consumer_waiting, room_waiters;
    int wait_ms;
    det_intake_fn fn;
    det_intake_batch_fn batch;
    void *user;
    det_intake_stats st;
};

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static void *consumer_main(void *arg)
{
    det_intake *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->head == q->tail && !q->stop) {
            q->consumer_waiting = 1;
            pthread_cond_wait(&q->data, &q->mu);
            q->consumer_waiting = 0;
        }
        if (q->head == q->tail && q->stop)
            break;
        uint64_t h = q->head, t = q->tail;
        q->st.batches++;
        pthread_mutex_unlock(&q->mu);

        size_t n = 0;
        if (q->batch)
            q->batch(q->user, 1);
        while (t < h && n < INTAKE_BATCH) {
            size_t off = (size_t)(t % q->cap);
            uint32_t tl, pl;
            memcpy(&tl, q->buf + off, 4);
            if (tl == WRAP_MARK) {
                t += q->cap - off;
                continue;
            }
            memcpy(&pl, q->buf + off + 4, 4);
            const char *topic = (const char *)q->buf + off + 8;
            q->fn(q->user, topic, topic + tl + 1, pl);
            t += align8(8 + (size_t)tl + 1 + pl);
            n++;
        }
        if (q->batch)
            q->batch(q->user, 0);

        pthread_mutex_lock(&q->mu);
        q->tail = t;
        q->st.processed += n;
        q->st.depth -= n;
        if (q->room_waiters)
            pthread_cond_broadcast(&q->room);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

int det_intake_create(det_intake **out, size_t bytes, int wait_ms, det_intake_fn fn,
                      det_intake_batch_fn batch, void *user)
{
    *out = NULL;
    if (!fn || bytes < 65536 || bytes > ((size_t)1 << 34) || wait_ms < 0)
        return -1;
    det_intake *q = calloc(1, sizeof *q);
    if (!q)
        return -1;
    q->cap = align8(bytes);
    q->buf = malloc(q->cap);
    if (!q->buf) {
        free(q);
        return -1;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->data, NULL);
    pthread_cond_init(&q->room, NULL);
    q->wait_ms = wait_ms;
    q->fn = fn;
    q->batch = batch;
    q->user = user;
    q->st.bytes = q->cap;
    if (pthread_create(&q->thread, NULL, consumer_main, q) != 0) {
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->data);
        pthread_cond_destroy(&q->room);
        free(q->buf);
        free(q);
        return -1;
    }
    *out = q;
    return 0;
}

int det_intake_push(det_intake *q, const char *topic, const void *payload, size_t len)
{
    size_t tl = strlen(topic);
    size_t need = align8(8 + tl + 1 + len);
    pthread_mutex_lock(&q->mu);
    if (need > q->cap / 4 || tl >= WRAP_MARK || q->stop) {
        q->st.dropped++;
        pthread_mutex_unlock(&q->mu);
        return -1;
    }
    size_t off = (size_t)(q->head % q->cap), to_end = q->cap - off;
    size_t skip = need > to_end ? to_end : 0;
    if (q->cap - (size_t)(q->head - q->tail) < skip + need) {
        struct timespec until;
        deadline_after_ms(&until, q->wait_ms);
        q->st.full_waits++;
        q->room_waiters++;
        while (q->cap - (size_t)(q->head - q->tail) < skip + need) {
            if (pthread_cond_timedwait(&q->room, &q->mu, &until) == ETIMEDOUT &&
                q->cap - (size_t)(q->head - q->tail) < skip + need) {
                q->room_waiters--;
                q->st.dropped++;
                pthread_mutex_unlock(&q->mu);
                return -1;
            }
        }
        q->room_waiters--;
    }
    pthread_mutex_unlock(&q->mu);

    /* The room [head, head + skip + need) is ours until head moves. */
    if (skip) {
        uint32_t mark = WRAP_MARK;
        memcpy(q->buf + off, &mark, 4);
        off = 0;
    }
    uint32_t t32 = (uint32_t)tl, p32 = (uint32_t)len;
    memcpy(q->buf + off, &t32, 4);
    memcpy(q->buf + off + 4, &p32, 4);
    memcpy(q->buf + off + 8, topic, tl + 1);
    if (len)
        memcpy(q->buf + off + 8 + tl + 1, payload, len);

    pthread_mutex_lock(&q->mu);
    q->head += skip + need;
    q->st.pushed++;
    if (++q->st.depth > q->st.high)
        q->st.high = q->st.depth;
    if (q->consumer_waiting)
        pthread_cond_signal(&q->data);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

int det_intake_drain(det_intake *q, int timeout_ms)
{
    struct timespec until;
    deadline_after_ms(&until, timeout_ms < 0 ? 0 : timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    q->room_waiters++;
    while (q->head != q->tail && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&q->room, &q->mu, &until);
    q->room_waiters--;
    int empty = q->head == q->tail;
    pthread_mutex_unlock(&q->mu);
    return empty ? 0 : -1;
}

void det_intake_stats_get(det_intake *q, det_intake_stats *out)
{
    pthread_mutex_lock(&q->mu);
    *out = q->st;
    pthread_mutex_unlock(&q->mu);
}

void det_intake_destroy(det_intake *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_signal(&q->data);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->thread, NULL);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->data);
    pthread_cond_destroy(&q->room);
    free(q->buf);
    free(q);
}

/* ---- sequence gaps ------------------------------------------------------ */

typedef struct {
    char id[SENSOR_ID_MAX];
    double last_ts, last_delta, cadence; /* cadence 0: not learnt yet */
} gap_rec;

struct det_gaps {
    hashmap index; /* sensor id -> position in recs */
    gap_rec *recs;
    size_t n, cap, max;
    uint64_t total;
};

static uint64_t gap_hash(const void *ctx, uint64_t v)
{
    const det_gaps *g = ctx;
    return fnv1a_str(g->recs[v].id);
}

static int gap_eq(const void *ctx, uint64_t v, const void *key)
{
    const det_gaps *g = ctx;
    return strcmp(g->recs[v].id, key) == 0;
}

int det_gaps_create(det_gaps **out, size_t max_sensors)
{
    det_gaps *g = calloc(1, sizeof *g);
    if (!g)
        return -1;
    g->max = max_sensors;
    hashmap_init(&g->index, 1024, gap_hash, gap_eq, g);
    *out = g;
    return 0;
}

/* The record of sensor_id, created on first sight; NULL past max or out of memory. */
static gap_rec *gap_find(det_gaps *g, const char *sensor_id)
{
    uint64_t h = fnv1a_str(sensor_id), v;
    if (hashmap_find(&g->index, h, sensor_id, &v))
        return &g->recs[v];
    if (g->n >= g->max || strlen(sensor_id) >= SENSOR_ID_MAX)
        return NULL;
    if (g->n == g->cap) {
        size_t nc = g->cap ? g->cap * 2 : 1024;
        gap_rec *r = realloc(g->recs, nc * sizeof *r);
        if (!r)
            return NULL;
        g->recs = r;
        g->cap = nc;
    }
    gap_rec *r = &g->recs[g->n];
    memset(r, 0, sizeof *r);
    strcpy(r->id, sensor_id);
    r->last_ts = NAN;
    if (hashmap_insert(&g->index, h, g->n) != 0)
        return NULL;
    g->n++;
    return r;
}

uint64_t det_gaps_note(det_gaps *g, const char *sensor_id, double ts)
{
    gap_rec *r = gap_find(g, sensor_id);
    if (!r || !isfinite(ts))
        return 0;
    if (isnan(r->last_ts)) {
        r->last_ts = ts;
        return 0;
    }
    double d = ts - r->last_ts;
    if (!(d > 0))
        return 0; /* a repeat or out of order: no interval to judge */
    r->last_ts = ts;
    uint64_t missed = 0;
    if (r->cadence > 0 && d > 1.5 * r->cadence) {
        double k = floor(d / r->cadence + 0.5);
        missed = k >= 2 ? (uint64_t)(k - 1) : 0;
    }
    /* Two consecutive intervals alike: that is the cadence (again). */
    if (r->last_delta > 0 && fabs(d - r->last_delta) <= 0.02 * r->last_delta)
        r->cadence = d;
    r->last_delta = d;
    g->total += missed;
    return missed;
}

uint64_t det_gaps_total(const det_gaps *g)
{
    return g->total;
}

void det_gaps_destroy(det_gaps *g)
{
    if (!g)
        return;
    hashmap_free(&g->index);
    free(g->recs);
    free(g);
}
