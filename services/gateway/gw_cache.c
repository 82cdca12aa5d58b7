/*
 * gw_cache — see gw_cache.h.
 *
 * Layout: a ring of entries in chain order (it grows by doubling up to the
 * bound, then the newest entry overwrites the oldest) plus a hashmap
 * (store/hashmap.h) of ring slots keyed by the anomaly id. An evicted id
 * leaves the map by backward-shift deletion, so no tombstones accumulate.
 * Ids are Keccak-256 hex, so the first 16 hex digits are already a
 * uniform hash.
 * A page walks the array backwards from the cursor (binary search) and
 * stops after `limit` matches; with no filter that is exactly `limit`
 * steps. A rare filter can walk far, but each step is a few comparisons on
 * fields stored in the entry, never JSON work.
 */
#include "gw_cache.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_buf.h"
#include "base/hex.h"
#include "base/fnv1a.h"
#include "store/hashmap.h"
#include "base/bytes.h"

typedef struct {
    char id[ANOMALY_ID_HEX];
    char sensor_id[SENSOR_ID_MAX];
    double ts;
    int type;
    anomaly_log_proof proof;
    char *json; /* the API item */
    size_t json_len;
} entry;

struct gw_cache {
    pthread_rwlock_t lock;
    entry *e; /* ring: logical entry i (0 = oldest) is e[(first + i) % cap] */
    size_t first, n, cap;
    size_t max;       /* bound on n; 0 = none */
    uint64_t evicted; /* entries dropped to respect max since the last clear */
    hashmap index;    /* id -> ring slot */
};

static uint64_t id_hash(const char *id);

static uint64_t index_hash(const void *ctx, uint64_t v)
{
    const gw_cache *c = ctx;
    return id_hash(c->e[v].id);
}

static int index_eq(const void *ctx, uint64_t v, const void *key)
{
    const gw_cache *c = ctx;
    return strcmp(c->e[v].id, key) == 0;
}

int gw_cache_create(gw_cache **out, size_t max)
{
    gw_cache *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    if (max >= UINT32_MAX - 1)
        max = UINT32_MAX - 2;
    c->max = max;
    hashmap_init(&c->index, 1024, index_hash, index_eq, c);
    pthread_rwlock_init(&c->lock, NULL);
    *out = c;
    return 0;
}

/* Logical index (0 = oldest cached) to the entry. */
static entry *at(const gw_cache *c, size_t i)
{
    return &c->e[(c->first + i) % c->cap];
}

static void clear_locked(gw_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(at(c, i)->json);
    free(c->e);
    hashmap_free(&c->index);
    c->e = NULL;
    c->first = c->n = c->cap = 0;
    c->evicted = 0;
}

void gw_cache_destroy(gw_cache *c)
{
    if (!c)
        return;
    clear_locked(c);
    pthread_rwlock_destroy(&c->lock);
    free(c);
}

void gw_cache_clear(gw_cache *c)
{
    pthread_rwlock_wrlock(&c->lock);
    clear_locked(c);
    pthread_rwlock_unlock(&c->lock);
}

size_t gw_cache_count(gw_cache *c)
{
    pthread_rwlock_rdlock(&c->lock);
    size_t n = c->n;
    pthread_rwlock_unlock(&c->lock);
    return n;
}

void gw_cache_stats_get(gw_cache *c, gw_cache_stats *out)
{
    pthread_rwlock_rdlock(&c->lock);
    out->cached = c->n;
    out->max = c->max;
    out->evicted = c->evicted;
    out->total = (uint64_t)c->n + c->evicted;
    out->has_oldest = c->n > 0;
    out->oldest_block = c->n ? at(c, 0)->proof.block_number : 0;
    out->oldest_log = c->n ? at(c, 0)->proof.log_index : 0;
    pthread_rwlock_unlock(&c->lock);
}

static uint64_t id_hash(const char *id)
{
    uint8_t b[8];
    char h[17];
    memcpy(h, id, 16);
    h[16] = '\0';
    if (hex_decode(b, sizeof b, h) != 8) {
        return fnv1a_str(id); /* not hex */
    }
    return bytes_get_be64(b);
}

/* Drop the oldest entry. Caller holds the write lock; n > 0. */
static void evict_oldest(gw_cache *c)
{
    entry *old = at(c, 0);
    (void)hashmap_remove(&c->index, id_hash(old->id), old->id);
    free(old->json);
    old->json = NULL;
    c->first = (c->first + 1) % c->cap;
    c->n--;
    c->evicted++;
}

json_t *gw_cache_item_json(const anomaly *a, const anomaly_log_proof *p)
{
    char buf[2048];
    int n = anomaly_to_json(a, buf, sizeof buf);
    if (n < 0)
        return NULL;
    json_t *o = json_loadb(buf, (size_t)n, 0, NULL);
    if (!o)
        return NULL;
    if (json_object_set_new(o, "tx_hash", json_string(p->tx_hash)) ||
        json_object_set_new(o, "block_number", json_integer((json_int_t)p->block_number)) ||
        json_object_set_new(o, "log_index", json_integer((json_int_t)p->log_index)) ||
        json_object_set_new(o, "logger", json_string(p->logger)) ||
        json_object_set_new(o, "seq", json_integer((json_int_t)p->seq))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int after(const anomaly_log_proof *p, uint64_t block, uint32_t log)
{
    return p->block_number > block || (p->block_number == block && p->log_index > log);
}

int gw_cache_add(gw_cache *c, const anomaly *a, const anomaly_log_proof *p)
{
    int rc = -1;
    json_t *item = gw_cache_item_json(a, p);
    if (!item)
        return -1;
    char *js = json_dumps(item, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(item);
    if (!js)
        return -1;

    pthread_rwlock_wrlock(&c->lock);
    if (c->n > 0 &&
        !after(p, at(c, c->n - 1)->proof.block_number, at(c, c->n - 1)->proof.log_index)) {
        rc = 1;
        goto out;
    }
    if (c->n >= UINT32_MAX - 1)
        goto out;
    /* Grow the index first, so that a failure changes nothing. */
    if (hashmap_reserve(&c->index, c->n + 1) != 0)
        goto out;
    uint64_t h = id_hash(a->id), found;
    if (hashmap_find(&c->index, h, a->id, &found)) {
        rc = 1; /* the contract refuses duplicates; be safe anyway */
        goto out;
    }
    if (c->max && c->n == c->max && c->cap == c->max) {
        /* Full: the oldest entry leaves (it stays readable from the chain). */
        evict_oldest(c);
    } else if (c->n == c->cap) {
        /* Not wrapped yet: the ring only wraps once it reached its bound,
         * so first == 0 here and realloc keeps the order. */
        size_t ncap = c->cap ? c->cap * 2 : 1024;
        if (c->max && ncap > c->max)
            ncap = c->max;
        entry *ne = realloc(c->e, ncap * sizeof *ne);
        if (!ne)
            goto out;
        c->e = ne;
        c->cap = ncap;
    }
    size_t phys = (c->first + c->n) % c->cap;
    entry *e = &c->e[phys];
    memcpy(e->id, a->id, sizeof e->id);
    memcpy(e->sensor_id, a->sensor_id, sizeof e->sensor_id);
    e->ts = a->ts;
    e->type = (int)a->type;
    e->proof = *p;
    e->json = js;
    e->json_len = strlen(js);
    js = NULL;
    c->n++;
    (void)hashmap_insert(&c->index, h, phys); /* reserved above: cannot fail */
    rc = 0;
out:
    pthread_rwlock_unlock(&c->lock);
    free(js);
    return rc;
}

int gw_cache_cursor_parse(const char *s, gw_cache_query *q)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    /* strtoull saturates at ULLONG_MAX with ERANGE: an overflowing number
     * is a malformed cursor, not the largest block. */
    errno = 0;
    unsigned long long b = strtoull(s, &end, 10);
    if (errno || *end != '-' || end[1] < '0' || end[1] > '9')
        return -1;
    unsigned long long l = strtoull(end + 1, &end, 10);
    if (errno || *end != '\0' || l > UINT32_MAX)
        return -1;
    q->has_cursor = 1;
    q->cur_block = b;
    q->cur_log = (uint32_t)l;
    return 0;
}

int gw_cache_query_match(const gw_cache_query *q, const char *sensor_id, int type, double ts)
{
    if (q->type >= 0 && type != q->type)
        return 0;
    if (!isnan(q->since) && ts < q->since)
        return 0;
    if (!isnan(q->until) && ts > q->until)
        return 0;
    if (q->sensor_id && strcmp(sensor_id, q->sensor_id) != 0)
        return 0;
    return 1;
}

static int matches(const entry *e, const gw_cache_query *q)
{
    return gw_cache_query_match(q, e->sensor_id, e->type, e->ts);
}

int gw_cache_needs_chain(gw_cache *c, const gw_cache_query *q)
{
    pthread_rwlock_rdlock(&c->lock);
    int r = 0;
    if (c->evicted > 0 && q->has_cursor) {
        /* Everything strictly older than the cursor is evicted when the
         * cursor is at or below the oldest cached entry. */
        const anomaly_log_proof *o = c->n ? &at(c, 0)->proof : NULL;
        r = !o || !(q->cur_block > o->block_number ||
                    (q->cur_block == o->block_number && q->cur_log > o->log_index));
    }
    pthread_rwlock_unlock(&c->lock);
    return r;
}

/* Number of entries strictly before (block, log): a lower bound search. */
static size_t lower_bound(const gw_cache *c, uint64_t block, uint32_t log)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const anomaly_log_proof *p = &at(c, mid)->proof;
        if (p->block_number < block || (p->block_number == block && p->log_index < log))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

char *gw_cache_page(gw_cache *c, const gw_cache_query *q, const json_t *extra, size_t *len)
{
    gw_buf b = {0};
    json_t *tail = NULL;
    size_t count = 0, total;
    char cursor[48] = "";

    gw_buf_puts(&b, "{\"items\":[");
    pthread_rwlock_rdlock(&c->lock);
    total = c->n + c->evicted;
    size_t i = q->has_cursor ? lower_bound(c, q->cur_block, q->cur_log) : c->n;
    size_t last = 0;
    while (i > 0 && count < q->limit) {
        i--;
        const entry *e = at(c, i);
        if (!matches(e, q))
            continue;
        if (count)
            gw_buf_append(&b, ",", 1);
        gw_buf_append(&b, e->json, e->json_len);
        count++;
        last = i;
    }
    /* More may follow when the page is full and older entries exist, or
     * when the walk reached the oldest cached entry and older ones were
     * evicted: then the page may be short, and its cursor (strictly older
     * than the oldest cached entry, or the request's own cursor when that
     * was already below it) leads to the chain. */
    if (count == q->limit && (last > 0 || c->evicted > 0)) {
        snprintf(cursor, sizeof cursor, "%" PRIu64 "-%" PRIu32, at(c, last)->proof.block_number,
                 at(c, last)->proof.log_index);
    } else if (count < q->limit && c->evicted > 0) {
        uint64_t cb = q->cur_block;
        uint32_t cl = q->cur_log;
        if (c->n > 0 && (!q->has_cursor || after(&at(c, 0)->proof, cb, cl) == 0)) {
            cb = at(c, 0)->proof.block_number;
            cl = at(c, 0)->proof.log_index;
        }
        if (c->n > 0 || q->has_cursor)
            snprintf(cursor, sizeof cursor, "%" PRIu64 "-%" PRIu32, cb, cl);
    }
    pthread_rwlock_unlock(&c->lock);

    /* The rest of the document is built by jansson and spliced after the
     * items: its "{" is replaced by ",". */
    tail = json_pack("{s:I, s:o, s:I}", "count", (json_int_t)count, "next_cursor",
                     cursor[0] ? json_string(cursor) : json_null(), "total", (json_int_t)total);
    if (!tail)
        goto fail;
    if (extra && json_object_update(tail, (json_t *)extra) != 0)
        goto fail;
    char *t = json_dumps(tail, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!t)
        goto fail;
    gw_buf_append(&b, "],", 2);
    gw_buf_puts(&b, t + 1);
    free(t);
    json_decref(tail);
    return gw_buf_take(&b, len);
fail:
    json_decref(tail);
    gw_buf_free(&b);
    return NULL;
}

int gw_cache_get(gw_cache *c, const char *id, char **item_json, anomaly_log_proof *proof)
{
    int rc = -1;
    if (!id || strlen(id) != ANOMALY_ID_HEX - 1)
        return -1;
    pthread_rwlock_rdlock(&c->lock);
    uint64_t v;
    if (hashmap_find(&c->index, id_hash(id), id, &v)) {
        const entry *e = &c->e[v];
        char *copy = malloc(e->json_len + 1);
        if (copy) {
            memcpy(copy, e->json, e->json_len + 1);
            *item_json = copy;
            if (proof)
                *proof = e->proof;
            rc = 0;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

void gw_cache_newest(gw_cache *c, size_t n, void (*fn)(void *, const char *, size_t), void *arg)
{
    pthread_rwlock_rdlock(&c->lock);
    size_t start = c->n > n ? c->n - n : 0;
    for (size_t i = start; i < c->n; i++)
        fn(arg, at(c, i)->json, at(c, i)->json_len);
    pthread_rwlock_unlock(&c->lock);
}
