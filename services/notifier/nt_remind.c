/*
 * nt_remind — see nt_remind.h. Few alarms are open at once (they are
 * per stream and fold their anomalies), so a plain array is searched.
 */
#include "nt_remind.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nt_route.h"

#define MAXCH 64
#define ALARM_KEEP_MAX 32 /* bus/alarm.h lists at most this many per sensor */

typedef struct {
    char id[65];
    char sensor_id[65];
    json_t *alarm;           /* the alarm object (owned) */
    int64_t last_due[MAXCH]; /* per channel: due time of the last reminder emitted (or skipped) */
} followed;

struct nt_remind {
    pthread_mutex_t mu;
    const nt_config *cfg;
    followed *f;
    size_t n, cap;
};

nt_remind *nt_remind_new(const nt_config *cfg)
{
    nt_remind *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    r->cfg = cfg;
    return r;
}

void nt_remind_free(nt_remind *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        json_decref(r->f[i].alarm);
    free(r->f);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static long find(nt_remind *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->f[i].id, id) == 0)
            return (long)i;
    return -1;
}

static void drop(nt_remind *r, long i)
{
    json_decref(r->f[i].alarm);
    r->f[i] = r->f[--r->n];
}

static int64_t period_ms(const nt_channel *ch)
{
    return (int64_t)(ch->remind_min * 60000.0);
}

/* Follow (or update) an active unacknowledged alarm (mu held). */
static void follow(nt_remind *r, const char *id, const char *sensor_id, int64_t opened_at,
                   json_t *alarm, int64_t now_ms)
{
    long i = find(r, id);
    if (i < 0) {
        if (r->n == r->cap) {
            size_t nc = r->cap ? r->cap * 2 : 16;
            followed *nf = realloc(r->f, nc * sizeof *nf);
            if (!nf)
                return;
            r->f = nf;
            r->cap = nc;
        }
        followed *x = &r->f[r->n++];
        memset(x, 0, sizeof *x);
        snprintf(x->id, sizeof x->id, "%s", id);
        snprintf(x->sensor_id, sizeof x->sensor_id, "%s", sensor_id);
        /* the last reminder already due counts as sent: none late after a restart */
        for (int c = 0; c < r->cfg->n && c < MAXCH; c++) {
            int64_t p = period_ms(&r->cfg->ch[c]);
            x->last_due[c] = (p > 0 && now_ms > opened_at)
                                 ? opened_at + (now_ms - opened_at) / p * p
                                 : opened_at;
        }
        i = (long)r->n - 1;
    }
    json_t *copy = json_deep_copy(alarm);
    if (copy) {
        json_decref(r->f[i].alarm);
        r->f[i].alarm = copy;
    }
}

void nt_remind_observe(nt_remind *r, const nt_event *ev, int64_t now_ms)
{
    json_t *a = json_object_get(ev->doc, "alarm");
    pthread_mutex_lock(&r->mu);
    long i = find(r, ev->id);
    if (ev->type == NT_EV_TEST || ev->type == NT_EV_REMINDER) {
        /* not a change of the alarm */
    } else if (!ev->active || ev->acked || ev->type == NT_EV_FALSE_POSITIVE) {
        if (i >= 0)
            drop(r, i);
    } else {
        follow(r, ev->id, ev->sensor_id, ev->opened_at, a, now_ms);
    }
    pthread_mutex_unlock(&r->mu);
}

int nt_remind_sensor(nt_remind *r, const char *sensor_id, const void *payload, size_t len,
                     int64_t now_ms)
{
    json_t *doc = json_loadb(payload, len, 0, NULL);
    json_t *active = json_object_get(doc, "active");
    if (!json_is_array(active)) {
        json_decref(doc);
        return -1;
    }
    /* a list cut short (active_total > listed) cannot say what is not open */
    json_t *tot = json_object_get(doc, "active_total");
    int partial = json_is_integer(tot) && (size_t)json_integer_value(tot) > json_array_size(active);
    pthread_mutex_lock(&r->mu);
    char keep[ALARM_KEEP_MAX][65];
    size_t nkeep = 0;
    for (size_t k = 0; k < json_array_size(active); k++) {
        json_t *a = json_array_get(active, k);
        /* validate as an event would be: wrap it */
        json_t *wrap =
            json_pack("{s:s, s:I, s:O}", "event", "updated", "at", (json_int_t)now_ms, "alarm", a);
        nt_event ev;
        char err[128];
        if (wrap && nt_event_from_doc(wrap, &ev, err, sizeof err) == 0) {
            if (strcmp(ev.sensor_id, sensor_id) == 0 && ev.active && !ev.acked) {
                follow(r, ev.id, ev.sensor_id, ev.opened_at, a, now_ms);
                if (nkeep < ALARM_KEEP_MAX)
                    snprintf(keep[nkeep++], sizeof keep[0], "%s", ev.id);
            }
            nt_event_free(&ev);
        }
        json_decref(wrap);
    }
    /* the sensor's other followed alarms are no longer active-unacked */
    for (size_t i = 0; i < r->n;) {
        int listed = strcmp(r->f[i].sensor_id, sensor_id) != 0;
        for (size_t k = 0; !listed && k < nkeep; k++)
            listed = strcmp(r->f[i].id, keep[k]) == 0;
        if (!listed && !partial)
            drop(r, (long)i);
        else
            i++;
    }
    pthread_mutex_unlock(&r->mu);
    json_decref(doc);
    return 0;
}

int nt_remind_tick(nt_remind *r, int64_t now_ms, nt_remind_emit_fn emit, void *user)
{
    int emitted = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++) {
        followed *x = &r->f[i];
        for (int c = 0; c < r->cfg->n && c < MAXCH; c++) {
            int64_t p = period_ms(&r->cfg->ch[c]);
            if (p <= 0 || now_ms < x->last_due[c] + p)
                continue;
            int64_t due = x->last_due[c] + p;
            json_t *doc = json_pack("{s:s, s:I, s:n, s:O}", "event", "reminder", "at",
                                    (json_int_t)due, "by", "alarm", x->alarm);
            nt_event ev;
            char err[128];
            int ok = doc && nt_event_from_doc(doc, &ev, err, sizeof err) == 0;
            json_decref(doc);
            if (!ok)
                continue;
            int send = nt_route_match(&r->cfg->ch[c], &ev);
            if (!send || emit(user, &ev, 1ull << c) == 0) {
                /* skip reminders missed meanwhile: the next is due one period from now */
                x->last_due[c] = due + (now_ms - due) / p * p;
                emitted += send;
            }
            nt_event_free(&ev);
        }
    }
    pthread_mutex_unlock(&r->mu);
    return emitted;
}

size_t nt_remind_count(nt_remind *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}
