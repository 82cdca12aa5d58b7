/*
 * nt_queue — see nt_queue.h for the design. Here: the outbox entry format
 * and the per-channel delivery loop.
 *
 * Outbox entry: key "{channel}/{idempotency key}", data
 *   {"ch":"ops","key":"<idempotency key>","release":<Unix s>,"doc":{event}}
 * (release: when quiet hours let it go, fixed when it was accepted).
 *
 * Each channel has a FIFO of items (pointers, so a batch taken out by its
 * thread stays valid while the MQTT thread appends). Only the channel's
 * own thread removes items, under the queue's mutex; sending happens with
 * the mutex released.
 */
#include "nt_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "bus/status.h"
#include "nt_config.h"
#include "nt_msg.h"
#include "nt_route.h"
#include "nt_send.h"
#include "store/outbox.h"

typedef struct {
    uint64_t seq;
    char *key; /* idempotency key */
    json_t *doc;
    int64_t release; /* Unix s */
    int64_t since;   /* monotonic ms when it became due or was queued */
} item;

typedef struct {
    nt_queue *q;
    const nt_channel *ch;
    pthread_t thread;
    int started;
    pthread_cond_t cv;
    item **items;
    size_t n, cap;
    int64_t next_ms;  /* rate limit: no message before this (monotonic ms) */
    int64_t retry_ms; /* backoff: no attempt before this */
    double backoff_s; /* current backoff (0 after a success) */
    uint64_t sent, events_sent, failed, retried, rejected;
    int64_t last_sent_at, last_failure_at; /* Unix ms, 0 = never */
    char last_failure[NOTIFY_REASON_MAX];  /* the last failed attempt's reason */
} chan;

struct nt_queue {
    pthread_mutex_t mu;
    outbox *ob;
    const nt_config *cfg;
    mqtt_client *mqtt;
    chan *c;
    int stop;
    uint64_t changes; /* accepted events, deliveries and failures so far (nt_queue_changes) */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void item_free(item *it)
{
    if (!it)
        return;
    free(it->key);
    json_decref(it->doc);
    free(it);
}

/* Append to a channel's FIFO (mu held). */
static int push(chan *c, item *it)
{
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        item **n = realloc(c->items, nc * sizeof *n);
        if (!n)
            return -1;
        c->items = n;
        c->cap = nc;
    }
    c->items[c->n++] = it;
    return 0;
}

static int chan_index(const nt_queue *q, const char *name)
{
    for (int i = 0; name && i < q->cfg->n; i++)
        if (strcmp(q->cfg->ch[i].name, name) == 0)
            return i;
    return -1;
}

/* Read back one pending outbox entry into its channel's FIFO. */
static int load_one(void *user, uint64_t seq, const char *key, const void *data, size_t len)
{
    nt_queue *q = user;
    json_t *d = json_loadb(data, len, 0, NULL), *doc = NULL;
    const char *ch = NULL, *ik = NULL;
    json_int_t release = 0;
    if (!d || json_unpack(d, "{s:s, s:s, s:I, s:o}", "ch", &ch, "key", &ik, "release", &release,
                          "doc", &doc)) {
        log_error("notify_outbox_entry_invalid key=%s", key);
        json_decref(d);
        return 0; /* left pending: a later version may read it */
    }
    int i = chan_index(q, ch);
    if (i < 0) {
        /* the channel left the configuration: nowhere to send it */
        log_warn("notify_outbox_channel_gone channel=%s key=%s (dropped)", ch, ik);
        json_decref(d);
        return 0;
    }
    item *it = calloc(1, sizeof *it);
    if (!it || !(it->key = strdup(ik))) {
        free(it);
        json_decref(d);
        return -1;
    }
    it->seq = seq;
    it->doc = json_incref(doc);
    it->release = release;
    it->since = now_ms();
    json_decref(d);
    if (push(&q->c[i], it)) {
        item_free(it);
        return -1;
    }
    return 0;
}

/* Take the next batch to send, or say how long to wait (mu held).
 * Returns the number of items moved to out (0: wait *wait_ms). */
static size_t take_batch(chan *c, item **out, int64_t *wait_ms)
{
    const nt_channel *ch = c->ch;
    int64_t t = now_ms(), now_s = (int64_t)time(NULL), wait = 1000;
    size_t first = c->n;
    for (size_t i = 0; i < c->n; i++) {
        if (c->items[i]->release <= now_s) {
            first = i;
            break;
        }
        int64_t w = (c->items[i]->release - now_s) * 1000;
        if (w < wait)
            wait = w;
    }
    if (first == c->n) { /* nothing due */
        *wait_ms = wait;
        return 0;
    }
    int64_t ready = c->items[first]->since + (int64_t)(ch->group_s * 1000);
    if (c->next_ms > ready)
        ready = c->next_ms;
    if (c->retry_ms > ready)
        ready = c->retry_ms;
    if (ready > t) {
        *wait_ms = ready - t < wait ? ready - t : wait;
        return 0;
    }
    size_t k = 0, w = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (k < (size_t)ch->group_max && c->items[i]->release <= now_s)
            out[k++] = c->items[i];
        else
            c->items[w++] = c->items[i];
    }
    c->n = w;
    return k;
}

/* Put a failed batch back at the front, in its order (mu held). */
static void put_back(chan *c, item **b, size_t k)
{
    if (c->n + k > c->cap) {
        size_t nc = c->n + k + 64;
        item **n = realloc(c->items, nc * sizeof *n);
        if (!n) { /* keep them in memory is impossible: they stay in the outbox */
            log_error("notify_requeue_nomem channel=%s events=%zu (resent after a restart)",
                      c->ch->name, k);
            for (size_t i = 0; i < k; i++)
                item_free(b[i]);
            return;
        }
        c->items = n;
        c->cap = nc;
    }
    memmove(c->items + k, c->items, c->n * sizeof *c->items);
    memcpy(c->items, b, k * sizeof *b);
    c->n += k;
}

static void deliver(chan *c, nt_sender *s, item **b, size_t k)
{
    nt_queue *q = c->q;
    const nt_channel *ch = c->ch;
    json_t **docs = malloc(k * sizeof *docs);
    const char **keys = malloc(k * sizeof *keys);
    json_t *body = NULL;
    char err[256] = "";
    int rc = NT_SEND_RETRY;
    pthread_mutex_lock(&q->mu);
    s->mqtt = q->mqtt; /* set once the client exists (nt_queue_set_mqtt) */
    pthread_mutex_unlock(&q->mu);
    if (docs && keys) {
        for (size_t i = 0; i < k; i++) {
            docs[i] = b[i]->doc;
            keys[i] = b[i]->key;
        }
        body = nt_msg_body(ch->name, docs, keys, k);
    }
    if (!body)
        snprintf(err, sizeof err, "out of memory");
    else
        rc = nt_send(s, ch, body, err, sizeof err);
    int64_t t = now_ms(), wall = wall_ms();
    pthread_mutex_lock(&q->mu);
    q->changes++;
    if (c->backoff_s > 0)
        c->retried++;
    if (rc == NT_SEND_OK) {
        c->last_sent_at = wall;
        c->sent++;
        c->events_sent += k;
        c->backoff_s = 0;
        c->retry_ms = 0;
        c->next_ms = t + (int64_t)(60000.0 / ch->rate_per_min);
    } else {
        c->failed++;
        c->last_failure_at = wall;
        /* a reason longer than the report allows is cut (the log has it whole) */
        snprintf(c->last_failure, sizeof c->last_failure, "%.*s", (int)sizeof c->last_failure - 1,
                 err[0] ? err : "unknown error");
    }
    if (rc == NT_SEND_RETRY) {
        c->backoff_s = c->backoff_s <= 0 ? 1 : c->backoff_s * 2;
        if (c->backoff_s > ch->backoff_max_s)
            c->backoff_s = ch->backoff_max_s;
        c->retry_ms = t + (int64_t)(c->backoff_s * 1000);
        put_back(c, b, k);
    } else if (rc == NT_SEND_REJECT) {
        c->rejected += k;
    }
    pthread_mutex_unlock(&q->mu);
    if (rc == NT_SEND_RETRY) {
        log_rate(20, 10, LOG_WARN,
                 "notify_send_failed channel=%s type=%s events=%zu error=\"%s\" "
                 "retry_in_s=%g",
                 ch->name, nt_channel_type_name(ch->type), k, err, c->backoff_s);
    } else {
        if (rc == NT_SEND_REJECT)
            log_error("notify_send_rejected channel=%s events=%zu error=\"%s\" (dropped)", ch->name,
                      k, err);
        else
            log_info("notify_sent channel=%s events=%zu key=%s", ch->name, k, b[0]->key);
        for (size_t i = 0; i < k; i++) {
            if (outbox_done(q->ob, b[i]->seq))
                log_error("notify_outbox_done_failed key=%s (sent again after a restart)",
                          b[i]->key);
            item_free(b[i]);
        }
    }
    json_decref(body);
    free(docs);
    free(keys);
}

static void *run(void *arg)
{
    chan *c = arg;
    nt_queue *q = c->q;
    nt_sender s;
    item **batch = malloc((size_t)c->ch->group_max * sizeof *batch);
    if (!batch || nt_sender_init(&s, q->mqtt)) {
        log_error("notify_thread_failed channel=%s (out of memory)", c->ch->name);
        free(batch);
        return NULL;
    }
    pthread_mutex_lock(&q->mu);
    while (!q->stop) {
        int64_t wait = 1000;
        size_t k = take_batch(c, batch, &wait);
        if (k == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            if (wait < 1)
                wait = 1;
            if (wait > 1000)
                wait = 1000;
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&c->cv, &q->mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&q->mu);
        deliver(c, &s, batch, k);
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    nt_sender_cleanup(&s);
    free(batch);
    return NULL;
}

int nt_queue_open(nt_queue **out, const char *path, const nt_config *cfg, mqtt_client *m,
                  int do_fsync)
{
    size_t dropped = 0;
    nt_queue *q = calloc(1, sizeof *q);
    *out = NULL;
    if (!q)
        return -1;
    pthread_mutex_init(&q->mu, NULL);
    q->cfg = cfg;
    q->mqtt = m;
    q->c = calloc((size_t)cfg->n, sizeof *q->c);
    if (!q->c)
        goto fail;
    for (int i = 0; i < cfg->n; i++) {
        q->c[i].q = q;
        q->c[i].ch = &cfg->ch[i];
        pthread_cond_init(&q->c[i].cv, NULL);
    }
    int rc = outbox_open(&q->ob, path, do_fsync, &dropped);
    if (rc < 0) {
        log_error("notify_outbox_open_failed path=%s rc=%d", path, rc);
        goto fail;
    }
    if (outbox_foreach(q->ob, load_one, q) < 0)
        goto fail;
    log_info("notify_outbox_open path=%s pending=%zu torn_bytes=%zu", path, outbox_pending(q->ob),
             dropped);
    for (int i = 0; i < cfg->n; i++) {
        if (pthread_create(&q->c[i].thread, NULL, run, &q->c[i]))
            goto fail;
        q->c[i].started = 1;
    }
    *out = q;
    return 0;
fail:
    nt_queue_close(q);
    return -1;
}

void nt_queue_stop(nt_queue *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    for (int i = 0; q->c && i < q->cfg->n; i++)
        pthread_cond_signal(&q->c[i].cv);
    pthread_mutex_unlock(&q->mu);
    for (int i = 0; q->c && i < q->cfg->n; i++) {
        if (q->c[i].started)
            pthread_join(q->c[i].thread, NULL);
        q->c[i].started = 0;
    }
}

void nt_queue_close(nt_queue *q)
{
    if (!q)
        return;
    nt_queue_stop(q);
    for (int i = 0; q->c && i < q->cfg->n; i++) {
        chan *c = &q->c[i];
        for (size_t j = 0; j < c->n; j++)
            item_free(c->items[j]);
        free(c->items);
        pthread_cond_destroy(&c->cv);
    }
    if (q->ob) {
        outbox_sync(q->ob);
        outbox_close(q->ob);
    }
    free(q->c);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

int nt_queue_submit(nt_queue *q, const nt_event *ev, uint64_t mask)
{
    char ik[256], okey[OUTBOX_KEY_MAX + 1];
    int added = 0, rc = 0;
    item *its[64] = {0};
    if (nt_event_key(ev, ik, sizeof ik) < 0)
        return -1;
    int64_t now_s = (int64_t)time(NULL);
    for (int i = 0; i < q->cfg->n && i < 64; i++) {
        if (!(mask & (1ull << i)))
            continue;
        const nt_channel *ch = &q->cfg->ch[i];
        int64_t release = (int64_t)nt_route_release(ch, ev->severity, (time_t)now_s);
        if (snprintf(okey, sizeof okey, "%s/%s", ch->name, ik) >= (int)sizeof okey)
            return -1;
        json_t *d = json_pack("{s:s, s:s, s:I, s:O}", "ch", ch->name, "key", ik, "release",
                              (json_int_t)release, "doc", ev->doc);
        char *data = d ? json_dumps(d, JSON_COMPACT) : NULL;
        json_decref(d);
        uint64_t seq = 0;
        int r = data ? outbox_put(q->ob, okey, data, strlen(data), 0, &seq) : OUTBOX_ERR_NOMEM;
        free(data);
        if (r < 0) {
            rc = -1;
            break;
        }
        if (r == 1)
            continue; /* pending already: the same event redelivered */
        item *it = calloc(1, sizeof *it);
        if (!it || !(it->key = strdup(ik))) {
            free(it);
            rc = -1; /* it is in the outbox: it goes out after a restart */
            break;
        }
        it->seq = seq;
        it->doc = json_incref(ev->doc);
        it->release = release;
        its[i] = it;
        added++;
    }
    /* one fsync for all channels: only now is the event accepted */
    if (outbox_sync(q->ob) < 0)
        rc = -1;
    int64_t t = now_ms();
    pthread_mutex_lock(&q->mu);
    q->changes += added > 0;
    for (int i = 0; i < q->cfg->n && i < 64; i++) {
        if (!its[i])
            continue;
        its[i]->since = t;
        if (rc < 0 || push(&q->c[i], its[i])) {
            item_free(its[i]);
            continue;
        }
        pthread_cond_signal(&q->c[i].cv);
    }
    pthread_mutex_unlock(&q->mu);
    return rc < 0 ? -1 : added;
}

int nt_queue_fill_status(nt_queue *q, json_t *metrics)
{
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    for (int i = 0; i < q->cfg->n && rc == 0; i++) {
        chan *c = &q->c[i];
        const char *n = c->ch->name;
        rc = status_add(metrics, "sent_total", 0, "channel", n, (double)c->sent) ||
             status_add(metrics, "events_sent_total", 0, "channel", n, (double)c->events_sent) ||
             status_add(metrics, "failed_total", 0, "channel", n, (double)c->failed) ||
             status_add(metrics, "retried_total", 0, "channel", n, (double)c->retried) ||
             status_add(metrics, "rejected_total", 0, "channel", n, (double)c->rejected) ||
             status_add(metrics, "queued", 1, "channel", n, (double)c->n);
    }
    pthread_mutex_unlock(&q->mu);
    return rc ? -1 : 0;
}

size_t nt_queue_channels(nt_queue *q, notify_channel_stat *out, size_t cap)
{
    size_t n = 0;
    pthread_mutex_lock(&q->mu);
    for (int i = 0; i < q->cfg->n && n < cap; i++, n++) {
        const chan *c = &q->c[i];
        notify_channel_stat *r = &out[n];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", c->ch->name);
        snprintf(r->type, sizeof r->type, "%s", nt_channel_type_name(c->ch->type));
        r->sent = c->sent;
        r->events_sent = c->events_sent;
        r->failed = c->failed;
        r->retried = c->retried;
        r->rejected = c->rejected;
        r->queued = c->n;
        r->last_sent_at = c->last_sent_at;
        r->last_failure_at = c->last_failure_at;
        memcpy(r->last_failure, c->last_failure, sizeof r->last_failure);
    }
    pthread_mutex_unlock(&q->mu);
    return n;
}

uint64_t nt_queue_changes(nt_queue *q)
{
    pthread_mutex_lock(&q->mu);
    uint64_t n = q->changes;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void nt_queue_set_mqtt(nt_queue *q, mqtt_client *m)
{
    pthread_mutex_lock(&q->mu);
    q->mqtt = m;
    pthread_mutex_unlock(&q->mu);
}

uint64_t nt_queue_pending(nt_queue *q)
{
    return outbox_pending(q->ob);
}
