/*
 * gw_store — see gw_store.h. Sensors live in an array of max_sensors
 * pointers, indexed by a hashmap of their ids (store/hashmap.h) reserved
 * for max_sensors at creation, so lookups stay O(1) and the index never
 * rehashes. Each sensor's ring stores slot[i] = {ts, v[], mask} where bit k
 * of mask says whether metric names[k] was present in that reading.
 *
 * Eviction: sensors are also on a list ordered by when a reading or an
 * anomaly last arrived (most recent first). A new sensor arriving at
 * max_sensors takes the place of the least recently seen one: that id
 * leaves the index (the hashmap's backward-shift removal, so no
 * tombstones), and its position in the array and its memory, ring
 * included, are reused. Invented ids sent once thus age out instead of
 * locking real sensors out of the dashboard.
 */
#include "gw_store.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/fnv1a.h"
#include "store/hashmap.h"

typedef struct {
    double ts;
    double seen; /* receipt time (Unix s), for gw_store_reading_age */
    double v[READING_MAX_METRICS];
    uint8_t mask;
} slot;

typedef struct sensor {
    char id[SENSOR_ID_MAX];
    char names[READING_MAX_METRICS][READING_NAME_MAX];
    int nnames;
    slot *ring;
    size_t head, count; /* next write position; slots in use */
    uint64_t nreadings;
    reading last;
    int has_last;
    double last_seen; /* receipt time of the last reading (Unix s) */
    anomaly anom;
    int has_anom;
    double anom_seen;
    int anom_logged;
    char anom_tx[67];
    unsigned long long anom_block;
    size_t pos;                   /* position in gw_store.sensors */
    struct sensor *newer, *older; /* recency list (gw_store.newest/oldest) */
} sensor;

struct gw_store {
    pthread_mutex_t mu;
    gw_store_options opt;
    sensor **sensors; /* [max_sensors]; the first n in use */
    size_t n;
    hashmap index;           /* id -> position in sensors */
    sensor *newest, *oldest; /* recency list */
    uint64_t evictions;
};

static uint64_t index_hash(const void *ctx, uint64_t v)
{
    const gw_store *s = ctx;
    return fnv1a_str(s->sensors[v]->id);
}

static int index_eq(const void *ctx, uint64_t v, const void *key)
{
    const gw_store *s = ctx;
    return strcmp(s->sensors[v]->id, key) == 0;
}

int gw_store_create(gw_store **out, const gw_store_options *opt)
{
    gw_store *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->opt = *opt;
    if (!s->opt.max_sensors)
        s->opt.max_sensors = 2048;
    if (!s->opt.ring_len)
        s->opt.ring_len = 600;
    if (s->opt.stale_s <= 0)
        s->opt.stale_s = 30;
    if (s->opt.anomalous_s <= 0)
        s->opt.anomalous_s = 60;
    s->sensors = calloc(s->opt.max_sensors, sizeof *s->sensors);
    hashmap_init(&s->index, 16, index_hash, index_eq, s);
    if (!s->sensors || hashmap_reserve(&s->index, s->opt.max_sensors) != 0) {
        free(s->sensors);
        free(s);
        return -1;
    }
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return 0;
}

void gw_store_destroy(gw_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->sensors[i]->ring);
        free(s->sensors[i]);
    }
    free(s->sensors);
    hashmap_free(&s->index);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void list_unlink(gw_store *s, sensor *x)
{
    if (x->newer)
        x->newer->older = x->older;
    else
        s->newest = x->older;
    if (x->older)
        x->older->newer = x->newer;
    else
        s->oldest = x->newer;
    x->newer = x->older = NULL;
}

/* Move x to the front of the recency list (it was just seen). */
static void touch(gw_store *s, sensor *x)
{
    if (s->newest == x)
        return;
    if (x->newer || x->older || s->oldest == x)
        list_unlink(s, x);
    x->older = s->newest;
    if (s->newest)
        s->newest->newer = x;
    s->newest = x;
    if (!s->oldest)
        s->oldest = x;
}

/* Take the least recently seen sensor out of the index and the recency
 * list and clear it for reuse (ring and array position kept). */
static sensor *evict_oldest(gw_store *s)
{
    sensor *x = s->oldest;
    (void)hashmap_remove(&s->index, fnv1a_str(x->id), x->id);
    list_unlink(s, x);
    slot *ring = x->ring;
    size_t pos = x->pos;
    memset(x, 0, sizeof *x);
    x->ring = ring;
    x->pos = pos;
    s->evictions++;
    return x;
}

/* A new, empty sensor in the next free position; NULL when out of memory. */
static sensor *sensor_new(gw_store *s)
{
    sensor *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->ring = calloc(s->opt.ring_len, sizeof *x->ring);
    if (!x->ring) {
        free(x);
        return NULL;
    }
    x->pos = s->n;
    s->sensors[s->n++] = x;
    return x;
}

/* Find a sensor; with create, register it when absent, in place of the
 * least recently seen sensor at max_sensors (NULL only when out of
 * memory). Caller holds the lock. */
static sensor *find(gw_store *s, const char *id, int create)
{
    uint64_t h = fnv1a_str(id), v;
    if (hashmap_find(&s->index, h, id, &v))
        return s->sensors[v];
    if (!create)
        return NULL;
    sensor *x = s->n >= s->opt.max_sensors ? evict_oldest(s) : sensor_new(s);
    if (!x)
        return NULL;
    size_t n = strnlen(id, SENSOR_ID_MAX - 1);
    memcpy(x->id, id, n);
    x->id[n] = '\0';
    (void)hashmap_insert(&s->index, h, x->pos); /* reserved at creation: cannot fail */
    return x;
}

/* Index of metric `name` in the sensor's name table, adding it when there
 * is room; -1 when the table is full (the metric is then not charted). */
static int metric_slot(sensor *x, const char *name)
{
    for (int k = 0; k < x->nnames; k++)
        if (strcmp(x->names[k], name) == 0)
            return k;
    if (x->nnames >= READING_MAX_METRICS)
        return -1;
    size_t n = strnlen(name, READING_NAME_MAX - 1);
    memcpy(x->names[x->nnames], name, n);
    x->names[x->nnames][n] = '\0';
    return x->nnames++;
}

int gw_store_add_reading(gw_store *s, const reading *r, double now)
{
    pthread_mutex_lock(&s->mu);
    sensor *x = find(s, r->sensor_id, 1);
    if (!x) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    touch(s, x);
    slot *sl = &x->ring[x->head];
    sl->ts = r->ts;
    sl->seen = now;
    sl->mask = 0;
    for (int i = 0; i < r->n && i < READING_MAX_METRICS; i++) {
        int k = metric_slot(x, r->m[i].name);
        if (k < 0)
            continue;
        sl->v[k] = r->m[i].value;
        sl->mask |= (uint8_t)(1u << k);
    }
    x->head = (x->head + 1) % s->opt.ring_len;
    if (x->count < s->opt.ring_len)
        x->count++;
    x->last = *r;
    x->has_last = 1;
    x->last_seen = now;
    x->nreadings++;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int gw_store_add_anomaly(gw_store *s, const anomaly *a, double now)
{
    pthread_mutex_lock(&s->mu);
    sensor *x = find(s, a->sensor_id, 1);
    if (!x) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    touch(s, x);
    /* A late confirmation may already have arrived for a re-published
     * anomaly: keep the confirmed state when the id is the same. */
    if (!(x->has_anom && strcmp(x->anom.id, a->id) == 0)) {
        x->anom_logged = 0;
        x->anom_tx[0] = '\0';
        x->anom_block = 0;
    }
    x->anom = *a;
    x->has_anom = 1;
    x->anom_seen = now;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int gw_store_mark_logged(gw_store *s, const char *sensor_id, const char *id, const char *tx_hash,
                         unsigned long long block_number)
{
    int hit = 0;
    pthread_mutex_lock(&s->mu);
    sensor *x = find(s, sensor_id, 0);
    if (x && x->has_anom && strcmp(x->anom.id, id) == 0) {
        x->anom_logged = 1;
        size_t n = strnlen(tx_hash, sizeof x->anom_tx - 1);
        memcpy(x->anom_tx, tx_hash, n);
        x->anom_tx[n] = '\0';
        x->anom_block = block_number;
        hit = 1;
    }
    pthread_mutex_unlock(&s->mu);
    return hit;
}

double gw_store_reading_age(gw_store *s, const char *sensor_id, double ts, double now)
{
    double age = NAN;
    pthread_mutex_lock(&s->mu);
    sensor *x = find(s, sensor_id, 0);
    size_t len = s->opt.ring_len;
    /* Newest first: an anomaly is about a recent reading. Times match to
     * the millisecond, the resolution of anomaly ids. */
    for (size_t i = 0; x && i < x->count; i++) {
        const slot *sl = &x->ring[(x->head + len - 1 - i) % len];
        if (fabs(sl->ts - ts) < 0.0005) {
            age = now - sl->seen;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return age;
}

double gw_store_anomaly_age(gw_store *s, const char *sensor_id, const char *id, double now)
{
    double age = NAN;
    pthread_mutex_lock(&s->mu);
    sensor *x = find(s, sensor_id, 0);
    if (x && x->has_anom && !x->anom_logged && strcmp(x->anom.id, id) == 0)
        age = now - x->anom_seen;
    pthread_mutex_unlock(&s->mu);
    return age;
}

size_t gw_store_count(gw_store *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

uint64_t gw_store_evictions(gw_store *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->evictions;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int gw_store_known(gw_store *s, const char *sensor_id)
{
    pthread_mutex_lock(&s->mu);
    int k = find(s, sensor_id, 0) != NULL;
    pthread_mutex_unlock(&s->mu);
    return k;
}

static const char *status_of(const gw_store *s, const sensor *x, double now)
{
    if (x->has_anom && now - x->anom_seen < s->opt.anomalous_s)
        return "anomalous";
    if (!x->has_last)
        return "unknown";
    if (now - x->last_seen > s->opt.stale_s)
        return "stale";
    return "ok";
}

static json_t *reading_obj(const reading *r)
{
    json_t *o = json_pack("{s:f}", "ts", r->ts);
    for (int i = 0; o && i < r->n; i++)
        if (json_object_set_new(o, r->m[i].name, json_real(r->m[i].value)) != 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

static json_t *anomaly_obj(const sensor *x)
{
    char buf[2048];
    int n = anomaly_to_json(&x->anom, buf, sizeof buf);
    if (n < 0)
        return json_null();
    json_t *o = json_loadb(buf, (size_t)n, 0, NULL);
    if (!o)
        return json_null();
    json_object_set_new(o, "confirmed", json_boolean(x->anom_logged));
    if (x->anom_logged) {
        json_object_set_new(o, "tx_hash", json_string(x->anom_tx));
        json_object_set_new(o, "block_number", json_integer((json_int_t)x->anom_block));
    }
    return o;
}

static int by_id(const void *a, const void *b)
{
    const sensor *const *x = a, *const *y = b;
    return strcmp((*x)->id, (*y)->id);
}

json_t *gw_store_sensors_json(gw_store *s, double now)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    pthread_mutex_lock(&s->mu);
    sensor **list = malloc((s->n ? s->n : 1) * sizeof *list);
    size_t k = 0;
    if (list) {
        for (size_t i = 0; i < s->n; i++)
            list[k++] = s->sensors[i];
        qsort(list, k, sizeof *list, by_id);
    }
    for (size_t i = 0; list && i < k; i++) {
        const sensor *x = list[i];
        json_t *o = json_pack("{s:s, s:s, s:I}", "sensor_id", x->id, "status", status_of(s, x, now),
                              "readings", (json_int_t)x->nreadings);
        if (!o)
            continue;
        json_object_set_new(o, "last_seen", x->has_last ? json_real(x->last_seen) : json_null());
        json_object_set_new(o, "last_reading", x->has_last ? reading_obj(&x->last) : json_null());
        json_object_set_new(o, "last_anomaly", x->has_anom ? anomaly_obj(x) : json_null());
        json_array_append_new(arr, o);
    }
    pthread_mutex_unlock(&s->mu);
    if (!list) {
        json_decref(arr);
        return NULL;
    }
    free(list);
    return json_pack("{s:o}", "sensors", arr);
}

json_t *gw_store_readings_json(gw_store *s, const char *sensor_id, double since, size_t limit)
{
    json_t *root = NULL;
    pthread_mutex_lock(&s->mu);
    sensor *x = find(s, sensor_id, 0);
    if (!x)
        goto out;
    size_t len = s->opt.ring_len;
    size_t first = (x->head + len - x->count) % len; /* oldest slot */
    size_t match = 0;
    for (size_t i = 0; i < x->count; i++)
        if (x->ring[(first + i) % len].ts > since)
            match++;
    size_t skip = (limit && match > limit) ? match - limit : 0;
    json_t *ts = json_array(), *metrics = json_object();
    json_t *cols[READING_MAX_METRICS] = {0};
    if (!ts || !metrics)
        goto fail;
    for (int k = 0; k < x->nnames; k++) {
        cols[k] = json_array();
        if (!cols[k] || json_object_set_new(metrics, x->names[k], cols[k]) != 0)
            goto fail;
    }
    size_t taken = 0;
    for (size_t i = 0; i < x->count; i++) {
        const slot *sl = &x->ring[(first + i) % len];
        if (!(sl->ts > since))
            continue;
        if (skip) {
            skip--;
            continue;
        }
        json_array_append_new(ts, json_real(sl->ts));
        for (int k = 0; k < x->nnames; k++)
            json_array_append_new(cols[k],
                                  (sl->mask & (1u << k)) ? json_real(sl->v[k]) : json_null());
        taken++;
    }
    root = json_pack("{s:s, s:I, s:o, s:o}", "sensor_id", x->id, "count", (json_int_t)taken, "ts",
                     ts, "metrics", metrics);
    goto out;
fail:
    json_decref(ts);
    json_decref(metrics);
out:
    pthread_mutex_unlock(&s->mu);
    return root;
}
