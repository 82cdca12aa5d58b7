/*
 * gw_notify — see gw_notify.h. Each notifier instance's latest report is
 * kept as the validated document bus/notify.h rebuilt; GET flattens the
 * rows of every instance into one list (the dashboard's table).
 */
#include "gw_notify.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "bus/notify.h"
#include "bus/topics.h"


typedef struct {
    char instance[NOTIFY_NAME_MAX];
    int64_t received; /* Unix ms */
    json_t *doc;      /* bus/notify.h's report, validated */
} report;

struct gw_notify {
    pthread_mutex_t mu;
    report v[GW_NOTIFY_MAX_INSTANCES];
    size_t n;
};

int gw_notify_create(gw_notify **out)
{
    gw_notify *n = calloc(1, sizeof *n);
    if (!n)
        return -1;
    pthread_mutex_init(&n->mu, NULL);
    *out = n;
    return 0;
}

void gw_notify_destroy(gw_notify *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        json_decref(n->v[i].doc);
    pthread_mutex_destroy(&n->mu);
    free(n);
}

/* The slot of an instance, or NULL (mu held). */
static report *find(gw_notify *n, const char *instance)
{
    for (size_t i = 0; i < n->n; i++)
        if (strcmp(n->v[i].instance, instance) == 0)
            return &n->v[i];
    return NULL;
}

int gw_notify_put(gw_notify *n, const char *topic, const void *payload, size_t len,
                  int64_t received, char *err, size_t errlen)
{
    const char *inst = topics_notify_channels_instance(topic);
    json_t *doc = NULL;
    int rc = -1;
    if (!inst || strlen(inst) >= NOTIFY_NAME_MAX) {
        snprintf(err, errlen, "not notify/channels/{instance}");
        return -1;
    }
    if (len && notify_channels_parse(payload, len, &doc, err, errlen))
        return -1;
    if (doc && strcmp(json_string_value(json_object_get(doc, "instance")), inst) != 0) {
        snprintf(err, errlen, "the report's instance is not the topic's");
        json_decref(doc);
        return -1;
    }
    pthread_mutex_lock(&n->mu);
    report *r = find(n, inst);
    if (!doc) { /* a cleared retained message: that notifier is gone */
        if (r) {
            json_decref(r->doc);
            *r = n->v[--n->n];
        }
        rc = 0;
    } else if (r || n->n < GW_NOTIFY_MAX_INSTANCES) {
        if (!r) {
            r = &n->v[n->n++];
            memset(r, 0, sizeof *r);
            snprintf(r->instance, sizeof r->instance, "%s", inst);
        }
        json_decref(r->doc);
        r->doc = doc;
        r->received = received;
        doc = NULL;
        rc = 0;
    } else {
        snprintf(err, errlen, "more than %d notifier instances", GW_NOTIFY_MAX_INSTANCES);
    }
    pthread_mutex_unlock(&n->mu);
    json_decref(doc);
    return rc;
}

/* One row of the answer: the reported row plus instance, failing and
 * reported_at. */
static json_t *row(const report *r, const json_t *ch)
{
    json_t *o = json_deep_copy(ch);
    json_int_t ok = json_integer_value(json_object_get(ch, "last_sent_at"));
    json_int_t bad = json_integer_value(json_object_get(ch, "last_failure_at"));
    if (!o || json_object_set_new(o, "instance", json_string(r->instance)) ||
        json_object_set_new(o, "failing", json_boolean(bad > ok)) ||
        json_object_set(o, "reported_at", json_object_get(r->doc, "ts"))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void gw_notify_api_channels(gw *g, const gw_request *rq, gw_response *rs)
{
    (void)rq;
    gw_notify *n = g->notify;
    json_t *rows = json_array(), *who = json_array();
    int64_t now = (int64_t)(clock_wall() * 1000);
    int ok = rows && who;
    if (n) {
        pthread_mutex_lock(&n->mu);
        for (size_t i = 0; ok && i < n->n; i++) {
            const report *r = &n->v[i];
            json_int_t ts = json_integer_value(json_object_get(r->doc, "ts"));
            size_t k;
            json_t *ch;
            ok = !json_array_append_new(who, json_pack("{s:s, s:I, s:f}", "instance", r->instance,
                                                       "reported_at", ts, "age_s",
                                                       now > ts ? (now - ts) / 1000.0 : 0.0));
            json_array_foreach(json_object_get(r->doc, "channels"), k, ch)
            {
                if (ok)
                    ok = !json_array_append_new(rows, row(r, ch));
            }
        }
        pthread_mutex_unlock(&n->mu);
    }
    if (!ok) {
        json_decref(rows);
        json_decref(who);
        gw_api_error(rs, 500, "internal", "out of memory");
        return;
    }
    gw_api_json(rs, 200, json_pack("{s:o, s:o}", "channels", rows, "notifiers", who));
}

/* 1 when some notifier reported a channel of that name, 0 when none has
 * it, -1 when no notifier has reported (nothing to check against). */
static int known_channel(gw_notify *n, const char *name)
{
    int rc = -1;
    if (!n)
        return -1;
    pthread_mutex_lock(&n->mu);
    for (size_t i = 0; i < n->n && rc != 1; i++) {
        size_t k;
        json_t *ch;
        rc = 0;
        json_array_foreach(json_object_get(n->v[i].doc, "channels"), k, ch)
        {
            if (strcmp(json_string_value(json_object_get(ch, "name")), name) == 0)
                rc = 1;
        }
    }
    pthread_mutex_unlock(&n->mu);
    return rc;
}

void gw_notify_api_test(gw *g, const gw_request *rq, gw_response *rs)
{
    char name[NOTIFY_NAME_MAX], err[160], buf[128];
    if (notify_test_from_json(rq->body, rq->body_len, name, sizeof name, err, sizeof err)) {
        gw_api_error_counted(g, rs, 400, "body", err);
        return;
    }
    if (name[0] && known_channel(g->notify, name) == 0) {
        gw_api_error_counted(g, rs, 404, "not_found", "no notifier reports a channel of that name");
        return;
    }
    int len = notify_test_to_json(name, buf, sizeof buf);
    if (len < 0 || !g->mqtt ||
        mqtt_client_publish(g->mqtt, topics_notify_test(), buf, (size_t)len, 1, 0) != 0) {
        gw_metrics_err(&g->metrics, GW_ERR_PUBLISH);
        gw_api_error(rs, 503, "broker_unavailable", "the broker is not accepting messages");
        return;
    }
    log_info("notify_test_requested channel=%s", name[0] ? name : "(all)");
    gw_api_json(rs, 202,
           json_pack("{s:b, s:o}", "published", 1, "channel",
                     name[0] ? json_string(name) : json_null()));
}
