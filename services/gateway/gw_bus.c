/*
 * gw_bus — see gw_bus.h. The queue is a mutex-protected singly linked list;
 * the consumer takes the whole list at once, so the lock is held for a few
 * pointer assignments per wake-up however many messages arrived. The wake
 * callback runs only on the empty -> non-empty transition: lws_cancel_service
 * writes to a pipe, and one write per burst is enough.
 */
#include "gw_bus.h"
#include "base/bytes.h"
#include "base/clock.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const kind_names[] = {"anomaly", "reading", "logged", "alarm"};

const char *gw_kind_name(unsigned kind)
{
    switch (kind) {
    case GW_KIND_ANOMALY:
        return kind_names[0];
    case GW_KIND_READING:
        return kind_names[1];
    case GW_KIND_LOGGED:
        return kind_names[2];
    case GW_KIND_ALARM:
        return kind_names[3];
    default:
        return NULL;
    }
}

unsigned gw_kind_parse(const char *name)
{
    if (!name)
        return 0;
    for (unsigned i = 0; i < 4; i++)
        if (strcmp(name, kind_names[i]) == 0)
            return 1u << i;
    return 0;
}

size_t gw_frame_header(unsigned char *hdr, size_t n)
{
    hdr[0] = 0x81; /* FIN + opcode 1 (text) */
    if (n < 126) {
        hdr[1] = (unsigned char)n;
        return 2;
    }
    if (n <= 0xffff) {
        hdr[1] = 126;
        bytes_put_be16(hdr + 2, (uint16_t)n);
        return 4;
    }
    hdr[1] = 127;
    bytes_put_be64(hdr + 2, (uint64_t)n);
    return 10;
}

/* Lay out header + payload so the header ends exactly where the payload
 * starts: the payload is written at data + GW_FRAME_HDR_MAX and the header
 * right-aligned before it. */
static gw_msg *msg_alloc(unsigned kind, const char *sensor_id, size_t payload)
{
    if (payload > (size_t)-1 / 2)
        return NULL;
    gw_msg *m = malloc(sizeof *m + GW_FRAME_HDR_MAX + payload);
    if (!m)
        return NULL;
    m->next = NULL;
    m->refs = 1;
    m->kind = kind;
    m->sensor_id[0] = '\0';
    if (sensor_id) {
        size_t n = strnlen(sensor_id, SENSOR_ID_MAX - 1);
        memcpy(m->sensor_id, sensor_id, n);
        m->sensor_id[n] = '\0';
    }
    m->t_created = clock_mono();
    m->frame = NULL;
    m->len = 0;
    return m;
}

static void msg_seal(gw_msg *m, size_t payload)
{
    unsigned char hdr[GW_FRAME_HDR_MAX];
    size_t h = gw_frame_header(hdr, payload);
    unsigned char *start = m->data + GW_FRAME_HDR_MAX - h;
    memcpy(start, hdr, h);
    m->frame = start;
    m->len = h + payload;
}

gw_msg *gw_msg_wrap(unsigned kind, const char *sensor_id, const char *data_json, size_t n)
{
    const char *kname = gw_kind_name(kind);
    if (!kname)
        return NULL;
    return gw_msg_wrap_type(kname, kind, sensor_id, data_json, n);
}

gw_msg *gw_msg_wrap_type(const char *kname, unsigned kind, const char *sensor_id,
                         const char *data_json, size_t n)
{
    if (!kname)
        return NULL;
    /* The envelope is fixed text around a value jansson produced, so it is
     * valid JSON without re-encoding the (possibly large) value. */
    static const char p1[] = "{\"type\":\"", p2[] = "\",\"data\":", p3[] = "}";
    size_t kl = strlen(kname);
    size_t payload = (sizeof p1 - 1) + kl + (sizeof p2 - 1) + n + (sizeof p3 - 1);
    gw_msg *m = msg_alloc(kind, sensor_id, payload);
    if (!m)
        return NULL;
    unsigned char *w = m->data + GW_FRAME_HDR_MAX;
    memcpy(w, p1, sizeof p1 - 1);
    w += sizeof p1 - 1;
    memcpy(w, kname, kl);
    w += kl;
    memcpy(w, p2, sizeof p2 - 1);
    w += sizeof p2 - 1;
    memcpy(w, data_json, n);
    w += n;
    memcpy(w, p3, sizeof p3 - 1);
    msg_seal(m, payload);
    return m;
}

gw_msg *gw_msg_from_json(unsigned kind, const char *sensor_id, const json_t *data)
{
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15);
    char stack[4096];
    size_t n = json_dumpb(data, stack, sizeof stack, flags);
    if (n == 0)
        return NULL;
    if (n <= sizeof stack)
        return gw_msg_wrap(kind, sensor_id, stack, n);
    char *heap = malloc(n);
    if (!heap)
        return NULL;
    gw_msg *m = NULL;
    if (json_dumpb(data, heap, n, flags) == n)
        m = gw_msg_wrap(kind, sensor_id, heap, n);
    free(heap);
    return m;
}

void gw_msg_unref(gw_msg *m)
{
    if (m && --m->refs <= 0)
        free(m);
}

struct gw_bus {
    pthread_mutex_t mu;
    gw_msg *head, *tail;
    size_t n, max, high;
    uint64_t dropped;
    void (*wake)(void *);
    void *wake_arg;
};

int gw_bus_create(gw_bus **out, size_t max, void (*wake)(void *), void *wake_arg)
{
    gw_bus *b = calloc(1, sizeof *b);
    if (!b)
        return -1;
    pthread_mutex_init(&b->mu, NULL);
    b->max = max ? max : 100000;
    b->wake = wake;
    b->wake_arg = wake_arg;
    *out = b;
    return 0;
}

void gw_bus_set_wake(gw_bus *b, void (*wake)(void *), void *wake_arg)
{
    pthread_mutex_lock(&b->mu);
    b->wake = wake;
    b->wake_arg = wake_arg;
    pthread_mutex_unlock(&b->mu);
}

int gw_bus_push(gw_bus *b, gw_msg *m)
{
    pthread_mutex_lock(&b->mu);
    /* Under load readings go first: past half the bound only anomalies,
     * confirmations and alarms get in, so the stale readings are what is
     * dropped. */
    if (b->n >= b->max || (m->kind == GW_KIND_READING && b->n >= b->max / 2)) {
        b->dropped++;
        pthread_mutex_unlock(&b->mu);
        free(m);
        return -1;
    }
    int was_empty = b->head == NULL;
    m->next = NULL;
    if (b->tail)
        b->tail->next = m;
    else
        b->head = m;
    b->tail = m;
    b->n++;
    if (b->n > b->high)
        b->high = b->n;
    void (*wake)(void *) = b->wake;
    void *arg = b->wake_arg;
    pthread_mutex_unlock(&b->mu);
    if (was_empty && wake)
        wake(arg);
    return 0;
}

gw_msg *gw_bus_take(gw_bus *b)
{
    pthread_mutex_lock(&b->mu);
    gw_msg *list = b->head;
    b->head = b->tail = NULL;
    b->n = 0;
    pthread_mutex_unlock(&b->mu);
    return list;
}

gw_msg *gw_bus_take_n(gw_bus *b, size_t max, size_t *left)
{
    pthread_mutex_lock(&b->mu);
    gw_msg *list = b->head, *last = NULL;
    size_t k = 0;
    for (gw_msg *m = b->head; m && k < max; m = m->next, k++)
        last = m;
    if (last) {
        b->head = last->next;
        if (!b->head)
            b->tail = NULL;
        last->next = NULL;
    } else {
        list = NULL;
    }
    b->n -= k;
    if (left)
        *left = b->n;
    pthread_mutex_unlock(&b->mu);
    return list;
}

void gw_bus_stats_get(gw_bus *b, gw_bus_stats *out)
{
    pthread_mutex_lock(&b->mu);
    out->depth = b->n;
    out->high = b->high;
    out->capacity = b->max;
    out->dropped = b->dropped;
    pthread_mutex_unlock(&b->mu);
}

void gw_bus_destroy(gw_bus *b)
{
    if (!b)
        return;
    gw_msg *m = gw_bus_take(b);
    while (m) {
        gw_msg *next = m->next;
        free(m);
        m = next;
    }
    pthread_mutex_destroy(&b->mu);
    free(b);
}
