/*
 * gw_status — see gw_status.h. Reports are few (one per service instance)
 * and small, and /metrics is scraped every few seconds, so rendering walks
 * every report once per family; nothing is cached between scrapes.
 */
#include "gw_status.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char service[STATUS_NAME_MAX], instance[STATUS_NAME_MAX];
    char prefix[8 + STATUS_NAME_MAX]; /* "iotad_<service>_", service made a valid name */
    double ts, interval_s, received;
    int final;
    json_t *metrics;
} inst;

struct gw_status {
    pthread_mutex_t mu;
    inst v[GW_STATUS_MAX_INSTANCES];
    size_t n;
};

int gw_status_create(gw_status **out)
{
    gw_status *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return 0;
}

void gw_status_destroy(gw_status *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        json_decref(s->v[i].metrics);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

size_t gw_status_count(gw_status *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int gw_status_put(gw_status *s, status_report *r, double received)
{
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    inst *it = NULL;
    for (size_t i = 0; i < s->n && !it; i++)
        if (strcmp(s->v[i].service, r->service) == 0 && strcmp(s->v[i].instance, r->instance) == 0)
            it = &s->v[i];
    if (!it && s->n < GW_STATUS_MAX_INSTANCES) {
        it = &s->v[s->n++];
        memset(it, 0, sizeof *it);
        memcpy(it->service, r->service, sizeof it->service);
        memcpy(it->instance, r->instance, sizeof it->instance);
        /* Service names may hold '.', ':', '-' and capitals (topic levels);
         * metric names may not. */
        size_t k = (size_t)snprintf(it->prefix, sizeof it->prefix, "iotad_");
        for (const char *p = r->service; *p && k + 2 < sizeof it->prefix; p++) {
            char c = *p;
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            it->prefix[k++] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) ? c : '_';
        }
        it->prefix[k++] = '_';
        it->prefix[k] = '\0';
    }
    if (it) {
        json_decref(it->metrics);
        it->metrics = r->metrics;
        r->metrics = NULL;
        it->ts = r->ts;
        it->interval_s = r->interval_s;
        it->final = r->final;
        it->received = received;
        rc = 0;
    }
    pthread_mutex_unlock(&s->mu);
    status_report_free(r);
    return rc;
}

static void family_name(const inst *it, const json_t *m, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", it->prefix, json_string_value(json_object_get(m, "name")));
}

static void sample(gw_buf *b, const char *fam, const inst *it, const json_t *m)
{
    const char *lk = NULL, *lv = NULL;
    json_t *labels = json_object_get(m, "labels"), *v;
    json_object_foreach(labels, lk, v)
    {
        lv = json_string_value(v);
        break;
    }
    /* Label values were restricted by status_parse to printable ASCII
     * without '"' or '\\', so they need no escaping here. */
    gw_buf_printf(b, "%s{instance=\"%s\"", fam, it->instance);
    if (lk && lv)
        gw_buf_printf(b, ",%s=\"%s\"", lk, lv);
    gw_buf_printf(b, "} %.15g\n", json_number_value(json_object_get(m, "value")));
}

void gw_status_render(gw_status *s, gw_buf *b, double now)
{
    char fam[2 * STATUS_NAME_MAX + 16], other[sizeof fam];
    pthread_mutex_lock(&s->mu);
    json_t *done = json_object(); /* families already written */
    for (size_t i = 0; done && i < s->n; i++) {
        size_t k;
        json_t *m;
        json_array_foreach(s->v[i].metrics, k, m)
        {
            family_name(&s->v[i], m, fam, sizeof fam);
            if (json_object_get(done, fam))
                continue;
            const char *type = json_string_value(json_object_get(m, "type"));
            json_object_set_new(done, fam, json_true());
            gw_buf_printf(b, "# HELP %s Reported by %s on status/%s/+.\n# TYPE %s %s\n", fam,
                          s->v[i].service, s->v[i].service, fam, type);
            /* Every sample of this family, from this and later instances,
             * of the same type (a type clash is skipped, not mixed). */
            for (size_t j = i; j < s->n; j++) {
                size_t k2;
                json_t *m2;
                json_array_foreach(s->v[j].metrics, k2, m2)
                {
                    if (j == i && k2 < k)
                        continue;
                    family_name(&s->v[j], m2, other, sizeof other);
                    if (strcmp(other, fam) == 0 &&
                        strcmp(json_string_value(json_object_get(m2, "type")), type) == 0)
                        sample(b, fam, &s->v[j], m2);
                }
            }
        }
    }
    json_decref(done);
    gw_buf_printf(b, "# HELP iotad_status_age_seconds Seconds since a service instance's last "
                     "status report (by its own clock).\n"
                     "# TYPE iotad_status_age_seconds gauge\n");
    for (size_t i = 0; i < s->n; i++) {
        double age = now - s->v[i].ts;
        gw_buf_printf(b, "iotad_status_age_seconds{service=\"%s\",instance=\"%s\"} %.1f\n",
                      s->v[i].service, s->v[i].instance, age > 0 ? age : 0.0);
    }
    gw_buf_printf(b, "# HELP iotad_status_up 1 while a service instance reports on time (age "
                     "under 3 intervals + 5 s, not stopped); 0 when stale or stopped.\n"
                     "# TYPE iotad_status_up gauge\n");
    for (size_t i = 0; i < s->n; i++) {
        double age = now - s->v[i].ts;
        int up = !s->v[i].final && age < 3 * s->v[i].interval_s + 5;
        gw_buf_printf(b, "iotad_status_up{service=\"%s\",instance=\"%s\"} %d\n", s->v[i].service,
                      s->v[i].instance, up);
    }
    pthread_mutex_unlock(&s->mu);
}
