/*
 * det_silent — see det_silent.h. Sensors live in one array in arrival
 * order, indexed by id through store/hashmap; the periodic check walks the
 * array (a comparison per sensor, ~1 ms for 100,000 sensors).
 */
#include "det_silent.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fnv1a.h"
#include "store/hashmap.h"

#define ALPHA 0.1

typedef struct {
    char name[READING_NAME_MAX];
    double value;
    double run_start; /* arrival of the first reading of the current run */
    double usual;     /* longest run that ended, seconds */
    uint32_t runs;    /* runs that ended */
    uint8_t stuck;
    uint8_t gone;     /* stopped being sent (silent metric) */
    uint8_t optional; /* a person said its absence is fine: never judged */
    float tol;        /* stuck limit multiplier (tolerate doubles it) */
    uint32_t present; /* consecutive readings of the sensor that carried it */
    uint32_t missing; /* consecutive readings of the sensor without it */
} metric_state;

typedef struct {
    char id[SENSOR_ID_MAX];
    double last_seen;
    double interval; /* usual gap, seconds */
    double tol;      /* this sensor's deadline multiplier (tolerate doubles it) */
    uint32_t gaps;
    uint8_t silent;
    uint8_t nmetrics;
    metric_state m[READING_MAX_METRICS];
} sensor;

struct det_silent {
    det_silent_params p;
    sensor *s;
    size_t n, cap;
    hashmap idx;
    det_silent_stats st;
};

static uint64_t hash_of(const void *ctx, uint64_t v)
{
    const det_silent *d = ctx;
    return fnv1a_str(d->s[v].id);
}

static int eq_of(const void *ctx, uint64_t v, const void *key)
{
    const det_silent *d = ctx;
    return strcmp(d->s[v].id, key) == 0;
}

int det_silent_create(det_silent **out, const det_silent_params *p)
{
    if (!p || !(p->factor >= 1) || !(p->min_s >= 0) || !(p->stuck_factor >= 0) ||
        !(p->stuck_min_s >= 0))
        return -1;
    det_silent *d = calloc(1, sizeof *d);
    if (!d)
        return -1;
    d->p = *p;
    if (!d->p.max_sensors)
        d->p.max_sensors = 100000;
    hashmap_init(&d->idx, 64, hash_of, eq_of, d);
    *out = d;
    return 0;
}

void det_silent_destroy(det_silent *d)
{
    if (!d)
        return;
    hashmap_free(&d->idx);
    free(d->s);
    free(d);
}

static double deadline(const det_silent *d, const sensor *x)
{
    double t = d->p.factor * x->interval;
    return (t > d->p.min_s ? t : d->p.min_s) * x->tol;
}

static sensor *find(det_silent *d, const char *id, int add)
{
    uint64_t v, h = fnv1a_str(id);
    if (hashmap_find(&d->idx, h, id, &v))
        return &d->s[v];
    if (!add)
        return NULL;
    if (d->n >= d->p.max_sensors) {
        d->st.untracked++;
        return NULL;
    }
    if (d->n == d->cap) {
        size_t nc = d->cap ? 2 * d->cap : 64;
        sensor *p = realloc(d->s, nc * sizeof *p);
        if (!p)
            return NULL;
        d->s = p;
        d->cap = nc;
    }
    sensor *x = &d->s[d->n];
    memset(x, 0, sizeof *x);
    snprintf(x->id, sizeof x->id, "%s", id);
    x->tol = 1;
    if (hashmap_insert(&d->idx, h, d->n) != 0)
        return NULL;
    d->n++;
    d->st.sensors = d->n;
    return x;
}

static det_silent_event *next_event(det_silent_event *ev, int cap, int *n, const sensor *x,
                                    const char *metric, det_silent_kind kind, int in)
{
    if (*n >= cap)
        return NULL;
    det_silent_event *e = &ev[(*n)++];
    memset(e, 0, sizeof *e);
    snprintf(e->sensor_id, sizeof e->sensor_id, "%s", x->id);
    snprintf(e->metric, sizeof e->metric, "%s", metric);
    e->kind = kind;
    e->in_alarm = in;
    return e;
}

/* The stuck part of one metric of a reading. */
static void see_metric(det_silent *d, sensor *x, const reading_metric *rm, double now,
                       det_silent_event *ev, int cap, int *n)
{
    metric_state *m = NULL;
    for (int k = 0; k < x->nmetrics && !m; k++)
        if (strcmp(x->m[k].name, rm->name) == 0)
            m = &x->m[k];
    if (!m) {
        if (x->nmetrics == READING_MAX_METRICS)
            return;
        m = &x->m[x->nmetrics++];
        memset(m, 0, sizeof *m);
        snprintf(m->name, sizeof m->name, "%s", rm->name);
        m->value = rm->value;
        m->run_start = now;
        m->present = 1;
        m->tol = 1;
        return;
    }
    m->present++;
    m->missing = 0;
    if (m->gone) {
        m->gone = 0;
        d->st.silent_now--;
        m->value = rm->value;
        m->run_start = now; /* the gap is not a steady run */
        det_silent_event *e = next_event(ev, cap, n, x, m->name, DET_SILENT_KIND_SILENT, 0);
        if (e) {
            e->value = rm->value;
            snprintf(e->explanation, sizeof e->explanation, "%s is sent again", m->name);
        }
        return;
    }
    if (rm->value != m->value) {
        double len = now - m->run_start;
        if (m->stuck) {
            m->stuck = 0;
            d->st.stuck_now--;
            det_silent_event *e = next_event(ev, cap, n, x, m->name, DET_SILENT_KIND_STUCK, 0);
            if (e) {
                e->value = rm->value;
                e->last_seen = m->run_start;
                snprintf(e->explanation, sizeof e->explanation,
                         "%s changed again after %.0f s on one value", m->name, len);
            }
        } else {
            /* a stuck run is not usual: do not learn it */
            if (len > m->usual)
                m->usual = len;
            m->runs++;
        }
        m->value = rm->value;
        m->run_start = now;
        return;
    }
    if (m->stuck || d->p.stuck_factor <= 0 || m->runs < DET_SILENT_MIN_RUNS)
        return;
    double limit = d->p.stuck_factor * m->usual;
    if (limit < d->p.stuck_min_s)
        limit = d->p.stuck_min_s;
    limit *= m->tol;
    if (now - m->run_start < limit)
        return;
    det_silent_event *e = next_event(ev, cap, n, x, m->name, DET_SILENT_KIND_STUCK, 1);
    if (!e)
        return;
    m->stuck = 1;
    d->st.stuck_now++;
    d->st.stuck_total++;
    e->value = m->value;
    e->last_seen = m->run_start;
    e->deadline_s = limit;
    snprintf(e->explanation, sizeof e->explanation,
             "%s stuck at %g for %.0f s (its longest steady run so far: %.0f s)", m->name, m->value,
             now - m->run_start, m->usual);
}

/* A metric the sensor always sent (DET_SILENT_MIN_RUN_PRESENT readings in
 * a row) and that DET_SILENT_MISSING_READINGS readings in a row lacked. */
static void missing_metrics(det_silent *d, sensor *x, const reading *r, det_silent_event *ev,
                            int cap, int *n)
{
    for (int k = 0; k < x->nmetrics; k++) {
        metric_state *m = &x->m[k];
        if (reading_find(r, m->name) >= 0)
            continue;
        if (m->missing++ == 0 && m->present < DET_SILENT_MIN_PRESENT)
            m->present = 0; /* not "always sent": start counting again */
        if (m->gone || m->optional || m->present < DET_SILENT_MIN_PRESENT ||
            m->missing < DET_SILENT_MISSING)
            continue;
        det_silent_event *e = next_event(ev, cap, n, x, m->name, DET_SILENT_KIND_SILENT, 1);
        if (!e)
            return;
        m->gone = 1;
        m->present = 0;
        d->st.silent_now++;
        d->st.silent_total++;
        e->value = m->missing;
        snprintf(e->explanation, sizeof e->explanation,
                 "%s stopped: missing from the last %u readings of %s, which always carried it",
                 m->name, m->missing, x->id);
    }
}

int det_silent_seen(det_silent *d, const reading *r, double now, det_silent_event *ev, int cap)
{
    int n = 0;
    sensor *x = find(d, r->sensor_id, 1);
    if (!x)
        return 0;
    if (x->silent) {
        x->silent = 0;
        d->st.silent_now--;
        for (int k = 0; k < x->nmetrics; k++)
            x->m[k].run_start = now; /* the silence is not a steady run */
        det_silent_event *e =
            next_event(ev, cap, &n, x, DET_SILENT_METRIC, DET_SILENT_KIND_SILENT, 0);
        if (e) {
            e->value = now - x->last_seen;
            e->last_seen = x->last_seen;
            snprintf(e->explanation, sizeof e->explanation,
                     "%s sends again after %.0f s of silence", x->id, now - x->last_seen);
        }
    } else if (x->last_seen > 0 && now >= x->last_seen) {
        double gap = now - x->last_seen;
        /* a gap beyond the deadline was an outage, not the usual interval */
        if (x->gaps < DET_SILENT_MIN_GAPS || gap <= deadline(d, x)) {
            x->interval = x->gaps == 0 ? gap : (1 - ALPHA) * x->interval + ALPHA * gap;
            x->gaps++;
        }
    }
    x->last_seen = now;
    for (int k = 0; k < r->n; k++)
        see_metric(d, x, &r->m[k], now, ev, cap, &n);
    missing_metrics(d, x, r, ev, cap, &n);
    return n;
}

int det_silent_check(det_silent *d, double now, det_silent_event *ev, int cap)
{
    int n = 0;
    for (size_t i = 0; i < d->n && n < cap; i++) {
        sensor *x = &d->s[i];
        if (x->silent || x->gaps < DET_SILENT_MIN_GAPS)
            continue;
        double dl = deadline(d, x);
        if (now - x->last_seen < dl)
            continue;
        det_silent_event *e =
            next_event(ev, cap, &n, x, DET_SILENT_METRIC, DET_SILENT_KIND_SILENT, 1);
        x->silent = 1;
        d->st.silent_now++;
        d->st.silent_total++;
        e->value = now - x->last_seen;
        e->last_seen = x->last_seen;
        e->deadline_s = dl;
        snprintf(e->explanation, sizeof e->explanation,
                 "%s silent for %.0f s: it usually sends every %.1f s (deadline %.0f s)", x->id,
                 now - x->last_seen, x->interval, dl);
    }
    return n;
}

int det_silent_tolerate(det_silent *d, const char *sensor_id, const char *metric,
                        det_silent_kind kind)
{
    sensor *x = find(d, sensor_id, 0);
    if (!x)
        return -1;
    if (kind == DET_SILENT_KIND_SILENT && strcmp(metric, DET_SILENT_METRIC) == 0) {
        x->tol = x->tol * 2 > 1024 ? 1024 : x->tol * 2;
        return 0;
    }
    for (int k = 0; k < x->nmetrics; k++) {
        metric_state *m = &x->m[k];
        if (strcmp(m->name, metric) != 0)
            continue;
        if (kind == DET_SILENT_KIND_SILENT)
            m->optional = 1;
        else
            m->tol = m->tol * 2 > 1024 ? 1024 : m->tol * 2;
        return 0;
    }
    return -1;
}

void det_silent_stats_get(const det_silent *d, det_silent_stats *out)
{
    *out = d->st;
}

void det_silent_to_anomaly(const det_silent_event *e, double now, anomaly *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->sensor_id, sizeof out->sensor_id, "%s", e->sensor_id);
    snprintf(out->metric, sizeof out->metric, "%s", e->metric);
    out->ts = round(now * 1000) / 1000;
    out->value = e->value;
    out->score = 1;
    out->type = e->kind == DET_SILENT_KIND_SILENT ? ANOMALY_SILENT : ANOMALY_STUCK;
    snprintf(out->explanation, sizeof out->explanation, "%s", e->explanation);
    out->expected_low = out->expected_high = NAN;
    out->model_version = -1;
    anomaly_make_id(out);
}

/* ---- persistence --------------------------------------------------------- */

/* One line per sensor: id last_seen interval gaps silent tol (text: ids are
 * [A-Za-z0-9_.:-], so a space separates safely). */
#define SAVE_HEADER "det_silent 1"

int det_silent_save(const det_silent *d, const char *path)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int bad = fprintf(f, SAVE_HEADER "\n") < 0;
    for (size_t i = 0; i < d->n && !bad; i++) {
        const sensor *x = &d->s[i];
        bad = fprintf(f, "%s %.17g %.17g %u %u %.17g\n", x->id, x->last_seen, x->interval,
                      (unsigned)x->gaps, (unsigned)x->silent, x->tol) < 0;
    }
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int det_silent_load(det_silent *d, const char *path)
{
    char line[256], id[SENSOR_ID_MAX + 1];
    FILE *f = fopen(path, "r");
    if (!f)
        return 0; /* first start */
    int n = 0;
    if (!fgets(line, sizeof line, f) || strncmp(line, SAVE_HEADER, strlen(SAVE_HEADER)) != 0) {
        fclose(f);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        double last, interval, tol;
        unsigned gaps, silent;
        if (sscanf(line, "%65s %lf %lf %u %u %lf", id, &last, &interval, &gaps, &silent, &tol) !=
                6 ||
            !sensor_id_valid(id) || !isfinite(last) || !isfinite(interval) || interval < 0 ||
            !(tol >= 1 && tol <= 1024))
            continue; /* a damaged line loses one sensor's history, nothing else */
        sensor *x = find(d, id, 1);
        if (!x)
            break;
        x->last_seen = last;
        x->interval = interval;
        x->gaps = gaps;
        x->tol = tol;
        if (silent && !x->silent) {
            x->silent = 1;
            d->st.silent_now++;
        }
        n++;
    }
    fclose(f);
    return n;
}
