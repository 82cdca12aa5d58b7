/*
 * det_intake — see det_intake.h. The ring's positions are byte counters
 * that only grow (head: written by the producer, tail: by the consumer);
 * used = head - tail, and a position's offset is counter % cap. A record
 * never straddles the end: when it does not fit in what is left there, the
 * producer writes a wrap marker (topic_len = UINT32_MAX) and starts again
 * at offset 0, and the skipped bytes count as used until the consumer
 * passes them.
 *
 * No lock per message: head and tail are atomics, each written by one
 * thread (the producer copies into [head, tail + cap) and then publishes
 * head with release order; the consumer reads [tail, head) and then
 * publishes tail), and the counters are single-writer atomics too. The
 * mutex and condition variables serve only the waits: the consumer when
 * the ring is empty, the producer when it is full, drain() until empty.
 * A sleeper announces itself (consumer_waiting, room_waiters) and then
 * re-reads the position; the other side moves the position and then reads
 * the announcement, both sequentially consistent, so at least one of them
 * sees the other (no lost wake-up), and the waker takes the mutex before
 * signalling, so the sleeper is either already waiting or has not yet
 * re-read. The consumer takes up to INTAKE_BATCH records per wake-up and
 * calls the callbacks without any lock of ours.
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

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
/* A counter only its own thread writes: readers may see it a little late. */
#define BUMP(p, n)                                                                                 \
    __atomic_store_n((p), __atomic_load_n((p), __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)
#define PEEK(p) __atomic_load_n((p), __ATOMIC_RELAXED)

struct det_intake {
    pthread_mutex_t mu;
    pthread_cond_t data; /* consumer waits for records */
    pthread_cond_t room; /* producer (and drain) wait for the consumer */
    pthread_t thread;
    unsigned char *buf;
    size_t cap;
    uint64_t head, tail;                      /* atomics: see the top of this file */
    int stop, consumer_waiting, room_waiters; /* atomics, written under mu */
    int wait_ms;
    det_intake_fn fn;
    det_intake_batch_fn batch;
    void *user;
    /* Single-writer counters: producer (pushed, dropped, full_waits, high)
     * and consumer (processed, batches). */
    uint64_t pushed, processed, dropped, full_waits, batches;
    size_t high;
};

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Consumer: wait until head moves past t or stop. Returns head (== t: stop). */
static uint64_t wait_data(det_intake *q, uint64_t t)
{
    uint64_t h = LOAD(&q->head);
    if (h != t)
        return h;
    pthread_mutex_lock(&q->mu);
    STORE(&q->consumer_waiting, 1);
    while ((h = LOAD(&q->head)) == t && !LOAD(&q->stop))
        pthread_cond_wait(&q->data, &q->mu);
    STORE(&q->consumer_waiting, 0);
    pthread_mutex_unlock(&q->mu);
    return h;
}

static void *consumer_main(void *arg)
{
    det_intake *q = arg;
    uint64_t t = LOAD(&q->tail);
    for (;;) {
        uint64_t h = wait_data(q, t);
        if (h == t)
            break; /* stopped, and nothing left */
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
        BUMP(&q->processed, n);
        BUMP(&q->batches, 1);
        STORE(&q->tail, t);
        if (LOAD(&q->room_waiters)) {
            pthread_mutex_lock(&q->mu);
            pthread_cond_broadcast(&q->room);
            pthread_mutex_unlock(&q->mu);
        }
    }
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

/* Producer: wait until `want` bytes are free, at most wait_ms. Returns 0 or -1. */
static int wait_room(det_intake *q, uint64_t head, size_t want)
{
    struct timespec until;
    int rc = 0;
    deadline_after_ms(&until, q->wait_ms);
    BUMP(&q->full_waits, 1);
    pthread_mutex_lock(&q->mu);
    STORE(&q->room_waiters, LOAD(&q->room_waiters) + 1);
    while (q->cap - (size_t)(head - LOAD(&q->tail)) < want && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&q->room, &q->mu, &until);
    STORE(&q->room_waiters, LOAD(&q->room_waiters) - 1);
    int ok = q->cap - (size_t)(head - LOAD(&q->tail)) >= want;
    pthread_mutex_unlock(&q->mu);
    return ok ? 0 : -1;
}

int det_intake_push(det_intake *q, const char *topic, const void *payload, size_t len)
{
    size_t tl = strlen(topic);
    size_t need = align8(8 + tl + 1 + len);
    uint64_t head = PEEK(&q->head); /* ours */
    if (need > q->cap / 4 || tl >= WRAP_MARK || LOAD(&q->stop)) {
        BUMP(&q->dropped, 1);
        return -1;
    }
    size_t off = (size_t)(head % q->cap), to_end = q->cap - off;
    size_t skip = need > to_end ? to_end : 0;
    if (q->cap - (size_t)(head - LOAD(&q->tail)) < skip + need &&
        wait_room(q, head, skip + need) != 0) {
        BUMP(&q->dropped, 1);
        return -1;
    }

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

    BUMP(&q->pushed, 1);
    size_t depth = (size_t)(PEEK(&q->pushed) - PEEK(&q->processed));
    if (depth > PEEK(&q->high))
        __atomic_store_n(&q->high, depth, __ATOMIC_RELAXED);
    STORE(&q->head, head + skip + need);
    if (LOAD(&q->consumer_waiting)) {
        pthread_mutex_lock(&q->mu);
        pthread_cond_signal(&q->data);
        pthread_mutex_unlock(&q->mu);
    }
    return 0;
}

int det_intake_drain(det_intake *q, int timeout_ms)
{
    struct timespec until;
    deadline_after_ms(&until, timeout_ms < 0 ? 0 : timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    STORE(&q->room_waiters, LOAD(&q->room_waiters) + 1);
    while (LOAD(&q->head) != LOAD(&q->tail) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&q->room, &q->mu, &until);
    STORE(&q->room_waiters, LOAD(&q->room_waiters) - 1);
    int empty = LOAD(&q->head) == LOAD(&q->tail);
    pthread_mutex_unlock(&q->mu);
    return empty ? 0 : -1;
}

void det_intake_stats_get(det_intake *q, det_intake_stats *out)
{
    memset(out, 0, sizeof *out);
    /* processed before pushed: depth never comes out negative. */
    out->processed = __atomic_load_n(&q->processed, __ATOMIC_ACQUIRE);
    out->pushed = __atomic_load_n(&q->pushed, __ATOMIC_ACQUIRE);
    out->dropped = PEEK(&q->dropped);
    out->full_waits = PEEK(&q->full_waits);
    out->batches = PEEK(&q->batches);
    out->depth = out->pushed > out->processed ? (size_t)(out->pushed - out->processed) : 0;
    out->high = PEEK(&q->high);
    out->bytes = q->cap;
}

void det_intake_destroy(det_intake *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    STORE(&q->stop, 1);
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
