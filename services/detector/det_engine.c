/*
 * det_engine — see det_engine.h for the model and the decision rules.
 *
 * Layout: sensors live in an open-addressing hash table of pointers
 * (allocated once per new sensor); each sensor holds a small array of
 * streams, one per metric, each a fixed-size struct (features, event
 * state, the remembered reading of a pending alert). Models are a short
 * array, one per metric name.
 */
#include "det_engine.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/splitmix64.h"

#define MAX_MODELS 32
#define MIN_TRAIN 64     /* vectors needed for a first forest */
#define NOISE_MIN 2.0    /* log2 step-variance ratio of a noise change (recent ~7x usual) */
#define PRESENT_MIN 100  /* consecutive readings with a metric before its absence is a dropout */
#define EVENT_COOLDOWN 2 /* readings after an event before a candidate may start a new one */

enum { ST_IDLE = 0, ST_PENDING, ST_POINT, ST_STUCK, ST_CHANGE, ST_CONTEXT };
enum { CH_SHIFT = 0, CH_SPREAD = 1 };

typedef struct {
    char metric[READING_NAME_MAX];
    iforest *forest;
    long version;
    float *pool; /* pool_cap x dim */
    uint32_t pool_n;
    uint64_t pool_seen;
    uint32_t since_train;
} det_model;

/* The reading an alert is pending on, with what is needed to explain it. */
typedef struct {
    double ts, value, score, expected, sd, day_lo, day_hi;
    double prev;  /* the value before this reading (the level a jump left) */
    double noise; /* tsfeatures_info.step_noise of this reading */
    float vec[TSFEATURES_MAX_DIM];
    long version;
} det_pending;

typedef struct {
    int16_t model;    /* index into e->models */
    uint8_t state;    /* ST_* */
    uint8_t change;   /* CH_* of an active change */
    uint32_t learned; /* readings learned */
    uint32_t present; /* consecutive readings carrying this metric */
    uint16_t calm, cooldown, same_run, max_run, pend_n;
    float last;
    double ev_ts;                  /* start of the active event */
    double base_v, base_exp, jump; /* a jump-started change: level left, its expectation, size */
    double calm_ts;                /* first reading of the current calm run (when it ended) */
    double calm_v;                 /* its value */
    double back_v, back_exp,
        back;             /* a step back towards normal: level reached, its expectation, size */
    uint8_t was_absurd;   /* the previous reading was physically absurd */
    uint8_t routine;      /* learning a change that recurs at this time of day */
    int32_t rt_day;       /* day (ts / 86400) that rt_*[0] describe */
    uint64_t rt_start[2]; /* bins where an event started, [0] today, [1] yesterday */
    uint64_t rt_flag[2];  /* bins spent inside an event, today / yesterday */
    det_pending p;
    tsfeatures_state fs;
    det_shape *shape; /* owned; NULL unless cfg.shape (not persisted: re-learned) */
} det_stream;

typedef struct {
    char id[SENSOR_ID_MAX];
    uint32_t readings;
    uint32_t nstreams;
    det_stream *streams;
} det_sensor;

struct det_engine {
    det_config cfg;
    int dim;
    det_model models[MAX_MODELS];
    int nmodels;
    long version; /* last model version handed out */
    det_sensor **table;
    size_t cap, count;
    uint64_t rng;
    float *train_buf;
    double *shape_scratch; /* cfg.shape_p.history doubles, for det_shape_step */
    det_stats st;
};

/* ---- configuration ---------------------------------------------------- */

void det_config_default(det_config *c)
{
    memset(c, 0, sizeof(*c));
    c->warmup = 300;
    c->retrain_every = 20000;
    c->pool_cap = 4096;
    iforest_params_default(&c->forest);
    tsfeatures_params_default(&c->feat);
    c->threshold = 0.55;
    c->z_min = 6.0;
    c->shift_min = 4.0;
    c->spread_min = 3.0;
    c->z_absurd = 25.0;
    c->jump_min = 12.0;
    c->end_n = 6;
    c->stuck_min = 10;
    c->change_max_s = 86400.0;
    c->shape = 0;
    det_shape_params_default(&c->shape_p);
}

int det_config_load_thresholds(det_config *c, const char *path, char *err, size_t errlen)
{
    int rc = -1;
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr), *def, *sensors;
    if (!root) {
        snprintf(err, errlen, "%s: %s (line %d)", path, jerr.text, jerr.line);
        goto out;
    }
    def = json_object_get(root, "default");
    if (def) {
        if (!json_is_number(def) || json_number_value(def) <= 0 || json_number_value(def) >= 1) {
            snprintf(err, errlen, "%s: \"default\" must be a number in (0, 1)", path);
            goto out;
        }
        c->threshold = json_number_value(def);
    }
    sensors = json_object_get(root, "sensors");
    if (sensors) {
        const char *key;
        json_t *v;
        if (!json_is_object(sensors)) {
            snprintf(err, errlen, "%s: \"sensors\" must be an object", path);
            goto out;
        }
        c->noverrides = 0;
        json_object_foreach(sensors, key, v)
        {
            if (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) >= 1 ||
                strlen(key) >= SENSOR_ID_MAX || c->noverrides >= DET_MAX_OVERRIDES) {
                snprintf(err, errlen,
                         "%s: sensor \"%.64s\": threshold must be in (0, 1) "
                         "(at most %d entries)",
                         path, key, DET_MAX_OVERRIDES);
                goto out;
            }
            det_override *o = &c->overrides[c->noverrides++];
            snprintf(o->prefix, sizeof(o->prefix), "%s", key);
            o->threshold = json_number_value(v);
        }
    }
    json_t *shape = json_object_get(root, "shape"), *v;
    if (shape) {
        size_t i;
        if (!json_is_array(shape) || json_array_size(shape) > DET_MAX_OVERRIDES) {
            snprintf(err, errlen,
                     "%s: \"shape\" must be an array of at most %d sensor ids or prefixes", path,
                     DET_MAX_OVERRIDES);
            goto out;
        }
        c->nshape = 0;
        json_array_foreach(shape, i, v)
        {
            const char *id = json_string_value(v);
            if (!id || !*id || strlen(id) >= SENSOR_ID_MAX) {
                snprintf(err, errlen, "%s: \"shape\"[%zu] must be a sensor id or prefix", path, i);
                goto out;
            }
            snprintf(c->shape_prefixes[c->nshape++], SENSOR_ID_MAX, "%s", id);
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

double det_engine_threshold(const det_engine *e, const char *sensor_id)
{
    size_t best = 0;
    double thr = e->cfg.threshold;
    if (e->cfg.threshold_hook) {
        double h = e->cfg.threshold_hook(e->cfg.threshold_ctx, sensor_id);
        if (h > 0 && h < 1)
            return h;
    }
    for (int k = 0; k < e->cfg.noverrides; k++) {
        const det_override *o = &e->cfg.overrides[k];
        size_t n = strlen(o->prefix);
        if (n > best && strncmp(sensor_id, o->prefix, n) == 0) {
            best = n;
            thr = o->threshold;
        }
    }
    return thr;
}

const char *det_metric_unit(const char *metric)
{
    if (strcmp(metric, "temperature") == 0)
        return "degC";
    if (strcmp(metric, "humidity") == 0)
        return "%RH";
    if (strcmp(metric, "pressure") == 0)
        return "hPa";
    return "";
}

/* Values no sensor of that kind can report: always a point anomaly. */
static int physically_absurd(const char *metric, double v)
{
    if (strcmp(metric, "temperature") == 0)
        return v > 150.0 || v < -90.0;
    if (strcmp(metric, "humidity") == 0)
        return v > 100.5 || v < -0.5;
    if (strcmp(metric, "pressure") == 0)
        return v > 1100.0 || v < 300.0;
    return 0;
}

/* A value a working sensor may hold for long: humidity saturates at 0 and
 * 100 %RH (fog, a desiccated room). For metrics we know nothing about,
 * the edge of the range seen is given the benefit of the doubt. */
static int saturated(const char *metric, double v, const tsfeatures_state *fs)
{
    if (strcmp(metric, "humidity") == 0)
        return v >= 99.95 || v <= 0.05;
    if (strcmp(metric, "temperature") == 0 || strcmp(metric, "pressure") == 0)
        return 0;
    return v >= fs->hi || v <= fs->lo;
}

/* ---- lifecycle -------------------------------------------------------- */

int det_engine_create(det_engine **out, const det_config *cfg)
{
    *out = NULL;
    if (cfg->warmup < 2 || cfg->pool_cap < MIN_TRAIN || cfg->feat.lags < 1 ||
        cfg->feat.lags > TSFEATURES_MAX_LAGS || cfg->end_n < 1 ||
        ((cfg->shape || cfg->nshape > 0) && !det_shape_params_valid(&cfg->shape_p)))
        return -1;
    det_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return -1;
    e->cfg = *cfg;
    e->dim = tsfeatures_dim(&cfg->feat);
    e->cap = 1024;
    e->table = calloc(e->cap, sizeof(*e->table));
    e->train_buf = malloc((size_t)cfg->pool_cap * e->dim * sizeof(float));
    e->rng = cfg->forest.seed ^ 0x5deece66dULL;
    int shape = cfg->shape || cfg->nshape > 0;
    if (shape)
        e->shape_scratch = malloc((size_t)cfg->shape_p.history * sizeof(double));
    if (!e->table || !e->train_buf || (shape && !e->shape_scratch)) {
        det_engine_destroy(e);
        return -1;
    }
    *out = e;
    return 0;
}

void det_engine_destroy(det_engine *e)
{
    if (!e)
        return;
    for (size_t k = 0; k < e->cap && e->table; k++) {
        if (e->table[k]) {
            for (uint32_t j = 0; j < e->table[k]->nstreams; j++)
                det_shape_destroy(e->table[k]->streams[j].shape);
            free(e->table[k]->streams);
            free(e->table[k]);
        }
    }
    free(e->table);
    for (int m = 0; m < e->nmodels; m++) {
        iforest_destroy(e->models[m].forest);
        free(e->models[m].pool);
    }
    free(e->train_buf);
    free(e->shape_scratch);
    free(e);
}

/* ---- sensors and streams ---------------------------------------------- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static det_sensor **slot_of(det_sensor **table, size_t cap, const char *id)
{
    size_t i = hash_str(id) & (cap - 1);
    while (table[i] && strcmp(table[i]->id, id) != 0)
        i = (i + 1) & (cap - 1);
    return &table[i];
}

static det_sensor *find_sensor(const det_engine *e, const char *id)
{
    return *slot_of(e->table, e->cap, id);
}

static int grow_table(det_engine *e)
{
    size_t ncap = e->cap * 2;
    det_sensor **nt = calloc(ncap, sizeof(*nt));
    if (!nt)
        return -1;
    for (size_t k = 0; k < e->cap; k++)
        if (e->table[k])
            *slot_of(nt, ncap, e->table[k]->id) = e->table[k];
    free(e->table);
    e->table = nt;
    e->cap = ncap;
    return 0;
}

static det_sensor *get_sensor(det_engine *e, const char *id)
{
    det_sensor **slot = slot_of(e->table, e->cap, id);
    if (*slot)
        return *slot;
    if ((e->count + 1) * 10 > e->cap * 7) {
        if (grow_table(e) != 0)
            return NULL;
        slot = slot_of(e->table, e->cap, id);
    }
    det_sensor *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    snprintf(s->id, sizeof(s->id), "%s", id);
    *slot = s;
    e->count++;
    e->st.sensors = e->count;
    return s;
}

static int model_index(det_engine *e, const char *metric, int create)
{
    for (int m = 0; m < e->nmodels; m++)
        if (strcmp(e->models[m].metric, metric) == 0)
            return m;
    if (!create || e->nmodels >= MAX_MODELS)
        return -1;
    det_model *md = &e->models[e->nmodels];
    memset(md, 0, sizeof(*md));
    md->pool = malloc((size_t)e->cfg.pool_cap * e->dim * sizeof(float));
    if (!md->pool)
        return -1;
    snprintf(md->metric, sizeof(md->metric), "%s", metric);
    md->version = -1;
    return e->nmodels++;
}

static int wants_shape(const det_config *c, const char *sensor_id)
{
    if (c->shape)
        return 1;
    for (int k = 0; k < c->nshape; k++)
        if (strncmp(sensor_id, c->shape_prefixes[k], strlen(c->shape_prefixes[k])) == 0)
            return 1;
    return 0;
}

static det_stream *get_stream(det_engine *e, det_sensor *s, const char *metric)
{
    for (uint32_t k = 0; k < s->nstreams; k++)
        if (strcmp(e->models[s->streams[k].model].metric, metric) == 0)
            return &s->streams[k];
    int m = model_index(e, metric, 1);
    if (m < 0)
        return NULL;
    det_stream *ns = realloc(s->streams, (s->nstreams + 1) * sizeof(*ns));
    if (!ns)
        return NULL;
    s->streams = ns;
    det_stream *st = &ns[s->nstreams++];
    memset(st, 0, sizeof(*st));
    st->model = (int16_t)m;
    tsfeatures_init(&st->fs);
    /* Without memory for it the stream is still scored by the forest. */
    if (wants_shape(&e->cfg, s->id) && det_shape_create(&st->shape, &e->cfg.shape_p) != 0)
        st->shape = NULL;
    e->st.streams++;
    return st;
}

/* ---- models ----------------------------------------------------------- */

/* Reservoir sampling (Vitter's algorithm R) with a floor: the first
 * pool_cap vectors are all kept, later ones replace a random slot with
 * probability pool_cap/seen, but never below 1/4, so the pool keeps
 * following a slowly drifting normal. */
static void pool_add(det_engine *e, det_model *md, const float *vec)
{
    md->pool_seen++;
    size_t cap = (size_t)e->cfg.pool_cap, slot;
    if (md->pool_n < cap) {
        slot = md->pool_n++;
    } else {
        uint64_t r = splitmix64_next(&e->rng);
        double keep = (double)cap / (double)md->pool_seen;
        if (keep < 0.25)
            keep = 0.25;
        if ((double)(r >> 11) * 0x1.0p-53 >= keep)
            return;
        slot = splitmix64_next(&e->rng) % cap;
    }
    memcpy(md->pool + slot * e->dim, vec, (size_t)e->dim * sizeof(float));
}

static int train_model(det_engine *e, det_model *md)
{
    iforest *f = NULL;
    iforest_params p = e->cfg.forest;
    p.seed = e->cfg.forest.seed + (uint64_t)(e->version + 1);
    int rc = iforest_train(&f, &p, md->pool, md->pool_n, e->dim);
    if (rc != 0) {
        log_warn("train_failed metric=%s n=%u err=%s", md->metric, md->pool_n,
                 iforest_strerror(rc));
        return -1;
    }
    iforest_destroy(md->forest);
    md->forest = f;
    md->version = ++e->version;
    md->since_train = 0;
    e->st.trainings++;
    log_info("model_trained metric=%s version=%ld vectors=%u trees=%d psi=%d", md->metric,
             md->version, md->pool_n, iforest_ntrees(f), iforest_psi(f));
    return 0;
}

long det_engine_model_version(const det_engine *e, const char *metric)
{
    for (int m = 0; m < e->nmodels; m++)
        if (strcmp(e->models[m].metric, metric) == 0)
            return e->models[m].forest ? e->models[m].version : -1;
    return -1;
}

int det_engine_is_scored(const det_engine *e, const char *sensor_id, const char *metric)
{
    det_sensor *s = find_sensor(e, sensor_id);
    if (!s)
        return 0;
    for (uint32_t k = 0; k < s->nstreams; k++) {
        const det_stream *st = &s->streams[k];
        const det_model *md = &e->models[st->model];
        if (strcmp(md->metric, metric) == 0)
            return md->forest && st->learned >= (uint32_t)e->cfg.warmup;
    }
    return 0;
}

/* ---- explanations ----------------------------------------------------- */

static const char *feature_words(int j)
{
    switch (j) {
    case TSFEATURE_Z_RECENT:
        return "its recent average";
    case TSFEATURE_Z_CONTEXT:
        return "its usual value for this time of day";
    case TSFEATURE_SHIFT:
        return "a sustained shift";
    case TSFEATURE_SPREAD:
        return "its usual noise";
    default:
        return "the previous readings";
    }
}

/* Compact number: 48.2, 1013.25 -> 1013.2, 0.0123 */
static void num(char *buf, size_t n, double v)
{
    double a = fabs(v);
    if (a >= 100)
        snprintf(buf, n, "%.1f", v);
    else if (a >= 10)
        snprintf(buf, n, "%.1f", v);
    else if (a >= 1 || a == 0)
        snprintf(buf, n, "%.2f", v);
    else
        snprintf(buf, n, "%.3g", v);
}

static void hhmm(char *buf, size_t n, double ts)
{
    double t = fmod(ts, 86400.0);
    if (t < 0)
        t += 86400.0;
    int m = (int)(t / 60.0);
    snprintf(buf, n, "%02d:%02d UTC", m / 60, m % 60);
}

/* Fill everything of an anomaly but the explanation text. */
static void fill_alert(anomaly *a, const char *sensor_id, const char *metric, anomaly_type type,
                       const det_pending *p)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->sensor_id, sizeof(a->sensor_id), "%s", sensor_id);
    snprintf(a->metric, sizeof(a->metric), "%s", metric);
    a->ts = p->ts;
    a->value = p->value;
    a->score = p->score < 0 ? 0 : p->score > 1 ? 1 : p->score;
    a->type = type;
    a->expected_low = p->expected - 3.0 * p->sd;
    a->expected_high = p->expected + 3.0 * p->sd;
    a->model_version = p->version;
}

/* Which feature isolated the reading and after how many splits. */
static void isolation_words(const det_engine *e, const det_model *md, const det_pending *p,
                            char *buf, size_t n)
{
    double contrib[IFOREST_MAX_DIM], splits = 0, normal = 0;
    if (!md->forest) {
        buf[0] = 0;
        return;
    }
    iforest_explain(md->forest, p->vec, contrib, &splits, &normal);
    int best = 0;
    for (int j = 1; j < e->dim; j++)
        if (contrib[j] > contrib[best])
            best = j;
    snprintf(buf, n, "; isolated after %.1f splits where normal readings need %.1f, mostly by %s",
             splits, normal, feature_words(best));
}

static void explain_point(const det_engine *e, const det_model *md, anomaly *a,
                          const det_pending *p, const char *extra)
{
    const char *unit = det_metric_unit(a->metric);
    char v[32], lo[32], hi[32], at[32], iso[160];
    num(v, sizeof(v), p->value);
    num(lo, sizeof(lo), a->expected_low);
    num(hi, sizeof(hi), a->expected_high);
    hhmm(at, sizeof(at), p->ts);
    isolation_words(e, md, p, iso, sizeof(iso));
    const char *dir = p->value > p->expected ? "above" : "below";
    snprintf(a->explanation, sizeof(a->explanation),
             "%s %s%s%s is far %s this sensor's usual %s-%s%s%s at %s%s%s", a->metric, v,
             *unit ? " " : "", unit, dir, lo, hi, *unit ? " " : "", unit, at, iso,
             extra ? extra : "");
}

static void explain_context(const det_engine *e, const det_model *md, anomaly *a,
                            const det_pending *p)
{
    const char *unit = det_metric_unit(a->metric);
    const char *sp = *unit ? " " : "";
    char v[32], lo[32], hi[32], dlo[32], dhi[32], at[32], iso[160];
    num(v, sizeof(v), p->value);
    num(lo, sizeof(lo), a->expected_low);
    num(hi, sizeof(hi), a->expected_high);
    num(dlo, sizeof(dlo), p->day_lo);
    num(dhi, sizeof(dhi), p->day_hi);
    hhmm(at, sizeof(at), p->ts);
    isolation_words(e, md, p, iso, sizeof(iso));
    snprintf(a->explanation, sizeof(a->explanation),
             "%s %s%s%s would be ordinary at another time (this sensor ranges %s-%s%s%s over "
             "the day) but not at %s, when %s-%s%s%s is expected%s",
             a->metric, v, sp, unit, dlo, dhi, sp, unit, at, lo, hi, sp, unit, iso);
}

static void explain_change_start(const det_engine *e, const det_model *md, anomaly *a,
                                 const det_pending *p, int change)
{
    const char *unit = det_metric_unit(a->metric);
    const char *sp = *unit ? " " : "";
    char d[32], ex[32], at[32], iso[160];
    num(d, sizeof(d), fabs(p->value - p->expected));
    num(ex, sizeof(ex), p->expected);
    hhmm(at, sizeof(at), p->ts);
    isolation_words(e, md, p, iso, sizeof(iso));
    if (change == CH_SPREAD) {
        double ratio = exp2(p->vec[TSFEATURE_SPREAD] + 1.0);
        snprintf(a->explanation, sizeof(a->explanation),
                 "%s became erratic at %s: its noise is about %.0fx the usual variance around "
                 "the expected %s%s%s (change started)%s",
                 a->metric, at, ratio, ex, sp, unit, iso);
    } else {
        snprintf(a->explanation, sizeof(a->explanation),
                 "%s shifted %s by %s%s%s from the expected %s%s%s and stays there (change "
                 "started at %s)%s",
                 a->metric, p->value > p->expected ? "up" : "down", d, sp, unit, ex, sp, unit, at,
                 iso);
    }
}

static void explain_change_end(anomaly *a, const det_pending *p, double start_ts, int settled)
{
    const char *unit = det_metric_unit(a->metric);
    const char *sp = *unit ? " " : "";
    char lo[32], hi[32], at[32];
    num(lo, sizeof(lo), a->expected_low);
    num(hi, sizeof(hi), a->expected_high);
    hhmm(at, sizeof(at), start_ts);
    double hours = (p->ts - start_ts) / 3600.0;
    if (settled)
        snprintf(a->explanation, sizeof(a->explanation),
                 "%s change that began at %s has lasted %.1f h: accepted as the new normal, "
                 "this sensor is being re-learned (change ended)",
                 a->metric, at, hours);
    else
        snprintf(a->explanation, sizeof(a->explanation),
                 "%s change that began at %s ended after %.1f h: readings are back within the "
                 "expected %s-%s%s%s (change ended)",
                 a->metric, at, hours, lo, hi, sp, unit);
}

static void explain_shape(anomaly *a, const det_shape_params *sp, const det_shape_info *si)
{
    const char *unit = det_metric_unit(a->metric);
    char v[32], at[32];
    num(v, sizeof(v), a->value);
    hhmm(at, sizeof(at), a->ts);
    snprintf(a->explanation, sizeof(a->explanation),
             "%s %s%s%s at %s ends a run of %d readings shaped like nothing in this sensor's "
             "previous %d: the nearest earlier run is %.1fx its usual spread away, %.1f sd "
             "beyond how far runs usually are",
             a->metric, v, *unit ? " " : "", unit, at, sp->window, sp->history, si->raw, si->z);
}

/* ---- the decision ----------------------------------------------------- */

static int emit(det_engine *e, anomaly *alerts, int cap, int *na, anomaly *a)
{
    anomaly_make_id(a);
    e->st.anomalies++;
    e->st.by_type[a->type]++;
    if (*na < cap)
        alerts[(*na)++] = *a;
    return 0;
}

/* Is this a value that is usual at another time of day (contextual)
 * rather than a new level (change point)? Judged on the pending reading:
 * the onset was smooth (no step from the previous reading) and the value
 * is closer to what is expected 12 hours away, or inside the day's range. */
static int looks_contextual(const det_engine *e, const det_stream *st, const det_pending *p)
{
    if (!st->fs.phase)
        return 0; /* no daily profile yet: no context to judge by */
    double dev = fabs(p->value - p->expected);
    double step = fabs(p->vec[TSFEATURE_DELTA1]);
    if (step > e->cfg.z_min)
        return 0; /* it jumped: a level change */
    double other, osd;
    if (tsfeatures_expected(&st->fs, p->ts + 43200.0, &other, &osd) &&
        fabs(p->value - other) < 0.5 * dev)
        return 1;
    return p->value >= p->day_lo && p->value <= p->day_hi;
}

/* ---- routines -----------------------------------------------------------
 * A change that starts at the same time of day as one did yesterday, and
 * covers the hours yesterday's did, is a routine (a heating schedule, a
 * daily shift pattern) or proof that the learned daily profile is wrong
 * there (it was learned from a day with an undetected event in it): either
 * way it is learned rather than reported again, and the profile bins it
 * touches are rewritten quickly. Two 48-bit masks per day. */

static void routine_roll(det_stream *st, double ts)
{
    int32_t day = (int32_t)floor(ts / 86400.0);
    if (day == st->rt_day)
        return;
    int next = day == st->rt_day + 1;
    st->rt_start[1] = next ? st->rt_start[0] : 0;
    st->rt_flag[1] = next ? st->rt_flag[0] : 0;
    st->rt_start[0] = st->rt_flag[0] = 0;
    st->rt_day = day;
}

static int bin_near(uint64_t mask, int b)
{
    int lo = (b + TSFEATURES_BINS - 1) % TSFEATURES_BINS, hi = (b + 1) % TSFEATURES_BINS;
    return (int)(((mask >> b) | (mask >> lo) | (mask >> hi)) & 1u);
}

/* Learn this reading as part of a routine: rewrite its bin once a day. */
static void routine_learn(det_stream *st, double ts)
{
    int b = tsfeatures_bin(ts);
    if (!((st->rt_flag[0] >> b) & 1u))
        tsfeatures_relearn_bin(&st->fs, ts);
    st->rt_flag[0] |= 1ull << b;
}

static void reset_stream(det_stream *st)
{
    int16_t model = st->model;
    det_shape *shape = st->shape; /* shapes stay known across a new normal */
    memset(st, 0, sizeof(*st));
    st->model = model;
    st->shape = shape;
    tsfeatures_init(&st->fs);
}

/* An event is over: back to normal, where the next EVENT_COOLDOWN
 * readings may not start another event unless physically absurd (see
 * ST_IDLE), so the tail of this one is not reported a second time. */
static void end_event(det_stream *st)
{
    st->state = ST_IDLE;
    st->cooldown = EVENT_COOLDOWN;
}

static void process_metric(det_engine *e, det_sensor *sen, det_stream *st, double ts, double x,
                           det_result *res, anomaly *alerts, int cap, int *na)
{
    const det_config *c = &e->cfg;
    det_model *md = &e->models[st->model];
    float vec[TSFEATURES_MAX_DIM];
    tsfeatures_info info;
    if (tsfeatures_compute(&c->feat, &st->fs, ts, x, vec, &info) != 0)
        return;
    det_shape_info shi;
    int shape_hit = st->shape && det_shape_step(st->shape, x, e->shape_scratch, &shi);
    int na_before = *na;

    int scored = md->forest && st->learned >= (uint32_t)c->warmup;
    double score = scored ? iforest_score(md->forest, vec) : 0.0;
    int repeated = st->fs.nlag > 0 && (float)x == st->last;
    if (repeated) {
        if (st->same_run < UINT16_MAX)
            st->same_run++;
    } else {
        if (st->state == ST_IDLE && st->same_run > st->max_run &&
            !saturated(md->metric, st->last, &st->fs))
            st->max_run = st->same_run;
        st->same_run = 0;
    }

    int learn = 1;
    if (scored) {
        e->st.scored++;
        double zc = vec[TSFEATURE_Z_CONTEXT], zr = vec[TSFEATURE_Z_RECENT];
        double sh = vec[TSFEATURE_SHIFT], sp = vec[TSFEATURE_SPREAD];
        int absurd = physically_absurd(md->metric, x) ||
                     (fabs(zc) >= c->z_absurd && fabs(zr) >= c->z_absurd);
        /* A step far beyond this sensor's usual reading-to-reading change
         * is material even when the value stays inside the range the
         * weather makes usual: outdoor residual spreads are wide, the
         * noise between two readings is not. The value must also stand
         * out from the recent readings (half z_min of their spread), so a
         * smooth, slow signal's small step is not an event. */
        double jump = fabs(vec[TSFEATURE_DELTA1]);
        int jumped = st->fs.nlag > 0 && jump >= c->jump_min && fabs(zr) >= c->z_min / 2;
        int material =
            fabs(zc) >= c->z_min || fabs(sh) >= c->shift_min || sp >= c->spread_min || jumped;
        /* With the shape detector on, a run shaped like one seen before
         * (a stream that spikes every hour, a square wave) is this
         * stream's normal, however the forest scores the reading. */
        int seen_shape = st->shape && !(shi.z >= c->shape_p.confirm_z);
        int candidate =
            absurd || (score >= det_engine_threshold(e, sen->id) && material && !seen_shape);
        int calm_now =
            fabs(sh) < c->shift_min / 2 && fabs(zc) < c->z_min / 2 && sp < c->spread_min / 2;
        unsigned stuck_need = (unsigned)c->stuck_min;
        if (stuck_need < 2u * st->max_run + 2u)
            stuck_need = 2u * st->max_run + 2u;
        det_pending cur = {.ts = ts,
                           .value = x,
                           .score = score,
                           .expected = info.expected,
                           .sd = info.expected_sd,
                           .prev = st->fs.nlag > 0 ? st->fs.lag[0] : x,
                           .noise = info.step_noise,
                           .version = md->version};
        memcpy(cur.vec, vec, sizeof(cur.vec));
        if (candidate)
            tsfeatures_day_range(&st->fs, &cur.day_lo, &cur.day_hi);
        anomaly a;

        /* A physically absurd value always alerts, whatever the stream is
         * doing (an open change, a stuck run, a pending spike): it is a
         * broken sensor or a broken message, never part of another event.
         * A run of absurd values is one event. */
        int insane = physically_absurd(md->metric, x);
        int handled = 0;
        if (insane && st->state != ST_IDLE && !st->was_absurd) {
            if (st->state == ST_PENDING) {
                fill_alert(&a, sen->id, md->metric, ANOMALY_POINT, &st->p);
                explain_point(e, md, &a, &st->p, NULL);
                emit(e, alerts, cap, na, &a);
                st->state = ST_POINT;
            } else if (st->state == ST_STUCK) {
                st->state = ST_POINT;
            }
            fill_alert(&a, sen->id, md->metric, ANOMALY_POINT, &cur);
            explain_point(e, md, &a, &cur, " (a value no working sensor reports)");
            emit(e, alerts, cap, na, &a);
            learn = 0;
            handled = 1;
        } else if (insane && st->state != ST_IDLE) {
            learn = 0; /* the same absurd run */
            handled = 1;
        }

#ifdef DET_TRACE
        {
            static const char *tr_id, *tr_m;
            if (!tr_id) {
                tr_id = getenv("TRACE_ID") ? getenv("TRACE_ID") : "";
                tr_m = getenv("TRACE_M") ? getenv("TRACE_M") : "";
            }
            if (strcmp(tr_id, sen->id) == 0 && strcmp(tr_m, md->metric) == 0)
                fprintf(stderr,
                        "T %.0f x=%.3f st=%d cd=%d sc=%.3f zc=%.2f zr=%.2f sh=%.2f sp=%.2f d1=%.2f "
                        "cand=%d mat=%d jumped=%d exp=%.2f esd=%.3f rt=%d\n",
                        ts, x, st->state, st->cooldown, score, zc, zr, sh, sp, jump, candidate,
                        material, jumped, info.expected, info.expected_sd, st->routine);
        }
#endif
        routine_roll(st, ts);
        int bin = tsfeatures_bin(ts);
        if (st->state == ST_IDLE && st->routine && !handled) {
            /* Still inside the hours yesterday's event covered: learn. */
            if (!bin_near(st->rt_flag[1] | st->rt_start[1], bin))
                st->routine = 0;
            else if (candidate && !absurd && !jumped) {
                routine_learn(st, ts);
                handled = 1;
            }
        }

        /* Stuck: the value has not moved for far longer than usual, and
         * not at a saturation limit (100 %RH in fog is real). Checked in
         * an open change too: a sensor that froze is a new event. */
        if (!handled && st->same_run + 1u >= stuck_need && !saturated(md->metric, x, &st->fs) &&
            (st->state == ST_IDLE || st->state == ST_CHANGE || st->state == ST_CONTEXT)) {
            st->state = ST_IDLE;
            st->routine = 0;
            st->cooldown = 0;
        }

        switch (handled ? -1 : st->state) {
        case ST_IDLE:
            if (st->cooldown > 0)
                st->cooldown--;
            if (st->same_run + 1u >= stuck_need && !saturated(md->metric, x, &st->fs)) {
                fill_alert(&a, sen->id, md->metric, ANOMALY_POINT, &cur);
                a.score = score > 0.5 ? score : 0.5;
                char v[32];
                num(v, sizeof(v), x);
                snprintf(a.explanation, sizeof(a.explanation),
                         "%s has been stuck at %s%s%s for %u readings; this sensor's value "
                         "normally changes at least every %u readings",
                         md->metric, v, *det_metric_unit(md->metric) ? " " : "",
                         det_metric_unit(md->metric), st->same_run + 1u, st->max_run + 1u);
                emit(e, alerts, cap, na, &a);
                st->state = ST_STUCK;
                learn = 0;
            } else if (candidate && (st->cooldown == 0 || absurd)) {
                learn = 0;
                if (absurd) {
                    fill_alert(&a, sen->id, md->metric, ANOMALY_POINT, &cur);
                    explain_point(e, md, &a, &cur,
                                  physically_absurd(md->metric, x)
                                      ? " (a value no working sensor reports)"
                                      : NULL);
                    emit(e, alerts, cap, na, &a);
                    st->state = ST_POINT;
                } else {
                    st->p = cur;
                    st->pend_n = 1;
                    st->state = ST_PENDING;
                }
            }
            break;
        case ST_PENDING: {
            /* A jump that holds: the reading after it is still more than
             * half the jump away from the level it left. */
            double pj = st->p.value - st->p.prev;
            int pjump = fabs(st->p.vec[TSFEATURE_DELTA1]) >= c->jump_min;
            int holds =
                pjump && (x - st->p.prev) * pj > 0 && fabs(x - st->p.prev) >= 0.5 * fabs(pj);
            /* Straight back to the level it left: a spike or a drop. */
            int returned = pjump && fabs(x - st->p.prev) < 0.5 * fabs(pj);
            /* Jumping again, elsewhere: the noise grew. */
            int erratic = pjump && jumped && !holds && !returned;
            int pbin = tsfeatures_bin(st->p.ts);
            if (!returned && (candidate || holds) && bin_near(st->rt_start[1], pbin)) {
                /* It started at this time yesterday too: a routine. */
                st->rt_start[0] |= 1ull << pbin;
                routine_learn(st, st->p.ts);
                routine_learn(st, ts);
                st->routine = 1;
                st->state = ST_IDLE;
            } else if (!returned && (candidate || holds)) {
                learn = 0;
                st->rt_start[0] |= 1ull << pbin;
                /* Sustained: a change point or a contextual anomaly. */
                /* A noise change raises the reading-to-reading steps; a
                 * shift or an out-of-hours value raises only the residual
                 * (both raise the residual variance, the spread feature). */
                int spread =
                    (st->p.vec[TSFEATURE_SPREAD] >= c->spread_min && st->p.noise >= NOISE_MIN) ||
                    (sp >= c->spread_min && fabs(sh) < c->shift_min &&
                     info.step_noise >= NOISE_MIN) ||
                    erratic;
                st->jump = (pjump && !spread) ? pj : 0.0;
                st->base_v = st->p.prev;
                st->base_exp = st->p.expected;
                if (!spread && !pjump && looks_contextual(e, st, &st->p)) {
                    fill_alert(&a, sen->id, md->metric, ANOMALY_CONTEXTUAL, &st->p);
                    explain_context(e, md, &a, &st->p);
                    st->state = ST_CONTEXT;
                } else {
                    st->change = spread ? CH_SPREAD : CH_SHIFT;
                    fill_alert(&a, sen->id, md->metric, ANOMALY_CHANGE_POINT, &st->p);
                    explain_change_start(e, md, &a, &st->p, st->change);
                    st->state = ST_CHANGE;
                }
                emit(e, alerts, cap, na, &a);
                st->ev_ts = st->p.ts;
                st->calm = 0;
            } else {
                /* Back to normal at once: it was a point anomaly. */
                fill_alert(&a, sen->id, md->metric, ANOMALY_POINT, &st->p);
                explain_point(e, md, &a, &st->p, NULL);
                emit(e, alerts, cap, na, &a);
                end_event(st);
            }
            break;
        }
        case ST_POINT:
            if (candidate) {
                learn = 0;
            } else {
                end_event(st);
            }
            break;
        case ST_STUCK:
            if (repeated) {
                learn = 0;
            } else {
                end_event(st);
            }
            break;
        case ST_CHANGE:
        case ST_CONTEXT:
            learn = 0;
            st->rt_flag[0] |= 1ull << bin;
            /* A step back towards the expectation, of at least half the
             * deviation just before it: the change ended there (a drift
             * or a shift snapping back). From then on the readings are
             * judged against the level the step reached, moved along with
             * the expected daily course, because the expectation learned
             * before the change may be stale by now (weather). */
            double prev_v = st->fs.nlag > 0 ? st->fs.lag[0] : x;
            double dev_prev = prev_v - info.expected, stepv = x - prev_v;
            if (st->fs.nlag > 0 && !st->was_absurd && jump >= c->jump_min && stepv * dev_prev < 0 &&
                fabs(stepv) >= 0.5 * fabs(dev_prev) && st->change == CH_SHIFT) {
                st->jump = 0.0;
                st->back = stepv;
                st->back_v = x;
                st->back_exp = info.expected;
                calm_now = 1;
            } else if (st->back != 0.0) {
                double lvl = st->back_v + (info.expected - st->back_exp);
                calm_now = fabs(x - lvl) < 0.35 * fabs(st->back) && !jumped;
                if (!calm_now)
                    st->back = 0.0;
            } else if (st->jump != 0.0) {
                /* Back when it jumps back (a step of at least half the
                 * first, the other way), or when near the level the jump
                 * left, moved along with the expected daily course since. */
                double back = st->base_v + (info.expected - st->base_exp);
                double step = st->fs.nlag > 0 && !st->was_absurd ? x - st->fs.lag[0] : 0.0;
                if (step * st->jump < 0 && fabs(step) >= 0.5 * fabs(st->jump)) {
                    st->jump = 0.0;
                    calm_now = 1;
                } else {
                    calm_now = calm_now && fabs(x - back) < 0.35 * fabs(st->jump);
                }
            } else if (st->change == CH_SPREAD) {
                calm_now = calm_now && !jumped;
            }
            if (calm_now && st->calm == 0) {
                st->calm_ts = ts;
                st->calm_v = x;
            }
            st->calm = calm_now ? st->calm + 1 : 0;
            if (st->calm >= c->end_n) {
                if (st->state == ST_CHANGE) {
                    /* Decided end_n calm readings later, but the change
                     * ended at the first of them: the alert says when. */
                    cur.ts = st->calm_ts;
                    cur.value = st->calm_v;
                    fill_alert(&a, sen->id, md->metric, ANOMALY_CHANGE_POINT, &cur);
                    explain_change_end(&a, &cur, st->ev_ts, 0);
                    emit(e, alerts, cap, na, &a);
                }
                end_event(st);
                st->back = 0.0;
                learn = 1;
            } else if (ts - st->ev_ts > c->change_max_s) {
                /* Never back: the old normal is gone. No alert (nothing
                 * ended; the start was reported), the sensor is re-learned. */
                log_info("change_accepted sensor=%s metric=%s hours=%.1f", sen->id, md->metric,
                         (ts - st->ev_ts) / 3600.0);
                reset_stream(st);
                learn = 1;
            }
            break;
        }
    }

    /* A shape never seen before, while no other event of this stream is
     * open or was just reported: one alert of its own. Its readings are
     * still learned: a new shape is not a new level. */
    if (shape_hit && *na == na_before && st->state == ST_IDLE) {
        det_pending cur = {.ts = ts,
                           .value = x,
                           .score = score > 0.5 ? score : 0.5,
                           .expected = info.expected,
                           .sd = info.expected_sd,
                           .version = md->version};
        int off = scored && fabs(vec[TSFEATURE_Z_CONTEXT]) >= c->z_min;
        anomaly a;
        fill_alert(&a, sen->id, md->metric, off ? ANOMALY_POINT : ANOMALY_CONTEXTUAL, &cur);
        explain_shape(&a, &c->shape_p, &shi);
        emit(e, alerts, cap, na, &a);
    }

    st->was_absurd = (uint8_t)physically_absurd(md->metric, x);
    if (res) {
        res->value = x;
        res->score = score;
        res->scored = scored;
        res->flagged = !learn;
    }
    st->last = (float)x;
    tsfeatures_update(&c->feat, &st->fs, ts, x, learn);
    if (!learn)
        return;
    st->learned++;
    if (st->learned > (uint32_t)c->warmup / 2)
        pool_add(e, md, vec);
    md->since_train++;
    /* First forest as soon as one stream is warm: at least MIN_TRAIN
     * vectors, or what a short warm-up provides. */
    uint32_t need = (uint32_t)c->warmup / 2 < MIN_TRAIN ? (uint32_t)c->warmup / 2 : MIN_TRAIN;
    if (need < 8)
        need = 8;
    if ((!md->forest && st->learned >= (uint32_t)c->warmup && md->pool_n >= need) ||
        (md->forest && md->since_train >= (uint32_t)c->retrain_every))
        train_model(e, md);
}

int det_engine_process(det_engine *e, const reading *r, det_result *res, anomaly *alerts, int cap)
{
    int na = 0;
    det_sensor *s = get_sensor(e, r->sensor_id);
    if (!s)
        return -1;
    e->st.readings++;
    s->readings++;
    for (int k = 0; k < r->n; k++) {
        det_result *rk = res ? &res[k] : NULL;
        if (rk) {
            memset(rk, 0, sizeof(*rk));
            snprintf(rk->metric, sizeof(rk->metric), "%s", r->m[k].name);
            rk->value = r->m[k].value;
        }
        det_stream *st = get_stream(e, s, r->m[k].name);
        if (!st)
            continue; /* too many metric names or out of memory: skip this metric */
        if (st->present < UINT32_MAX)
            st->present++;
        process_metric(e, s, st, r->ts, r->m[k].value, rk, alerts, cap, &na);
    }
    /* Dropout: a metric this sensor always sends is missing. */
    for (uint32_t k = 0; k < s->nstreams; k++) {
        det_stream *st = &s->streams[k];
        const det_model *md = &e->models[st->model];
        if (reading_find(r, md->metric) >= 0)
            continue;
        if (st->present >= PRESENT_MIN && md->forest && st->learned >= (uint32_t)e->cfg.warmup) {
            anomaly a;
            det_pending p = {.ts = r->ts,
                             .value = st->last,
                             .score = 1.0,
                             .expected = st->last,
                             .sd = 0,
                             .version = md->version};
            fill_alert(&a, s->id, md->metric, ANOMALY_POINT, &p);
            a.expected_low = a.expected_high = NAN;
            snprintf(a.explanation, sizeof(a.explanation),
                     "%s is missing from this reading although the sensor sent it in each of "
                     "its previous %u readings (value shown is the last one received)",
                     md->metric, st->present);
            emit(e, alerts, cap, &na, &a);
        }
        st->present = 0;
    }
    return na;
}

void det_engine_stats(const det_engine *e, det_stats *out)
{
    *out = e->st;
}

size_t det_engine_bytes(const det_engine *e)
{
    size_t b =
        sizeof(*e) + e->cap * sizeof(*e->table) + (size_t)e->cfg.pool_cap * e->dim * sizeof(float);
    for (size_t k = 0; k < e->cap; k++)
        if (e->table[k]) {
            b += sizeof(det_sensor) + e->table[k]->nstreams * sizeof(det_stream);
            for (uint32_t j = 0; j < e->table[k]->nstreams; j++)
                if (e->table[k]->streams[j].shape)
                    b += det_shape_bytes(&e->cfg.shape_p);
        }
    for (int m = 0; m < e->nmodels; m++) {
        b += (size_t)e->cfg.pool_cap * e->dim * sizeof(float);
        if (e->models[m].forest)
            b += iforest_bytes(e->models[m].forest);
    }
    return b;
}

/* ---- persistence --------------------------------------------------------
 * forest-<metric>.bin: "DETM", version, model version, metric name, the
 *   training pool, FNV-1a checksum, then the forest (iforest_write).
 * sensors.bin: "DETS", version, sizeof(det_stream), count, then per sensor
 *   its id, reading count, streams (metric name + raw det_stream), and a
 *   trailing FNV-1a checksum. The raw struct ties the file to this build's
 *   layout: the size check rejects files from a different layout, which
 *   then means a fresh warm-up, never garbage. */

#define DETM_VERSION 1
#define DETS_VERSION 3

typedef struct {
    FILE *fp;
    uint64_t h;
    int err;
} wr;

static void wr_bytes(wr *w, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t k = 0; k < n; k++) {
        w->h ^= b[k];
        w->h *= 0x100000001b3ULL;
    }
    if (fwrite(p, 1, n, w->fp) != n)
        w->err = 1;
}

static int rd_bytes(wr *w, void *p, size_t n)
{
    if (fread(p, 1, n, w->fp) != n)
        return -1;
    const unsigned char *b = p;
    for (size_t k = 0; k < n; k++) {
        w->h ^= b[k];
        w->h *= 0x100000001b3ULL;
    }
    return 0;
}

static int finish_file(FILE *fp, const char *tmp, const char *path, int err)
{
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0)
        err = 1;
    if (fclose(fp) != 0)
        err = 1;
    if (!err && rename(tmp, path) != 0)
        err = 1;
    if (err) {
        log_error("save_failed file=%s err=%s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int save_model(const det_engine *e, const det_model *md, const char *dir)
{
    char path[4096], tmp[4100];
    snprintf(path, sizeof(path), "%s/forest-%s.bin", dir, md->metric);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        log_error("save_failed file=%s err=%s", tmp, strerror(errno));
        return -1;
    }
    wr w = {.fp = fp, .h = 0xcbf29ce484222325ULL};
    uint32_t v = DETM_VERSION, dim = (uint32_t)e->dim, n = md->pool_n;
    int64_t ver = md->version;
    wr_bytes(&w, "DETM", 4);
    wr_bytes(&w, &v, 4);
    wr_bytes(&w, &ver, 8);
    wr_bytes(&w, md->metric, sizeof(md->metric));
    wr_bytes(&w, &dim, 4);
    wr_bytes(&w, &n, 4);
    wr_bytes(&w, &md->pool_seen, 8);
    wr_bytes(&w, md->pool, (size_t)n * dim * sizeof(float));
    uint64_t h = w.h;
    wr_bytes(&w, &h, 8);
    if (!w.err && iforest_write(md->forest, fp) != 0)
        w.err = 1;
    return finish_file(fp, tmp, path, w.err);
}

static int load_model(det_engine *e, const char *path)
{
    int rc = -1;
    FILE *fp = fopen(path, "rb");
    iforest *f = NULL;
    if (!fp)
        return -1;
    wr r = {.fp = fp, .h = 0xcbf29ce484222325ULL};
    char magic[4], metric[READING_NAME_MAX];
    uint32_t v, dim, n;
    int64_t ver;
    uint64_t seen, h, stored;
    if (rd_bytes(&r, magic, 4) || memcmp(magic, "DETM", 4) || rd_bytes(&r, &v, 4) ||
        v != DETM_VERSION || rd_bytes(&r, &ver, 8) || rd_bytes(&r, metric, sizeof(metric)) ||
        rd_bytes(&r, &dim, 4) || dim != (uint32_t)e->dim || rd_bytes(&r, &n, 4) ||
        n > (uint32_t)e->cfg.pool_cap || rd_bytes(&r, &seen, 8))
        goto out;
    metric[sizeof(metric) - 1] = 0;
    int m = model_index(e, metric, 1);
    if (m < 0)
        goto out;
    det_model *md = &e->models[m];
    if (rd_bytes(&r, md->pool, (size_t)n * dim * sizeof(float)))
        goto out;
    h = r.h;
    if (fread(&stored, 1, 8, fp) != 8 || stored != h)
        goto out;
    if (iforest_read(&f, fp) != 0 || iforest_dim(f) != e->dim)
        goto out;
    iforest_destroy(md->forest);
    md->forest = f;
    f = NULL;
    md->version = ver;
    md->pool_n = n;
    md->pool_seen = seen;
    md->since_train = 0;
    if (ver > e->version)
        e->version = ver;
    rc = 0;
out:
    if (rc != 0)
        log_warn("model_rejected file=%s (corrupt or from another version)", path);
    iforest_destroy(f);
    fclose(fp);
    return rc;
}

static int save_sensors(const det_engine *e, const char *dir)
{
    char path[4096], tmp[4100];
    snprintf(path, sizeof(path), "%s/sensors.bin", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        log_error("save_failed file=%s err=%s", tmp, strerror(errno));
        return -1;
    }
    wr w = {.fp = fp, .h = 0xcbf29ce484222325ULL};
    uint32_t v = DETS_VERSION, ss = sizeof(det_stream), dim = (uint32_t)e->dim;
    uint64_t count = e->count;
    wr_bytes(&w, "DETS", 4);
    wr_bytes(&w, &v, 4);
    wr_bytes(&w, &ss, 4);
    wr_bytes(&w, &dim, 4);
    wr_bytes(&w, &count, 8);
    for (size_t k = 0; k < e->cap; k++) {
        const det_sensor *s = e->table[k];
        if (!s)
            continue;
        wr_bytes(&w, s->id, sizeof(s->id));
        wr_bytes(&w, &s->readings, 4);
        wr_bytes(&w, &s->nstreams, 4);
        for (uint32_t j = 0; j < s->nstreams; j++) {
            wr_bytes(&w, e->models[s->streams[j].model].metric, READING_NAME_MAX);
            det_stream copy = s->streams[j];
            copy.shape = NULL; /* a pointer means nothing in a file */
            wr_bytes(&w, &copy, sizeof(det_stream));
        }
    }
    uint64_t h = w.h;
    wr_bytes(&w, &h, 8);
    return finish_file(fp, tmp, path, w.err);
}

static int load_sensors(det_engine *e, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/sensors.bin", dir);
    FILE *raw = fopen(path, "rb");
    if (!raw)
        return 0;
    /* Check the trailing checksum over the whole file before trusting any
     * of it, then parse from memory. */
    unsigned char *buf = NULL;
    long size = -1;
    if (fseek(raw, 0, SEEK_END) == 0)
        size = ftell(raw);
    rewind(raw);
    if (size >= 8)
        buf = malloc((size_t)size);
    int whole = buf && fread(buf, 1, (size_t)size, raw) == (size_t)size;
    fclose(raw);
    if (!whole) {
        free(buf);
        log_warn("sensors_rejected file=%s (unreadable); sensors warm up again", path);
        return buf || size < 8 ? 0 : -1;
    }
    uint64_t h0 = 0xcbf29ce484222325ULL, stored0;
    for (long k = 0; k < size - 8; k++) {
        h0 ^= buf[k];
        h0 *= 0x100000001b3ULL;
    }
    memcpy(&stored0, buf + size - 8, 8);
    if (h0 != stored0) {
        free(buf);
        log_warn("sensors_rejected file=%s (checksum mismatch); sensors warm up again", path);
        return 0;
    }
    FILE *fp = fmemopen(buf, (size_t)size, "rb");
    if (!fp) {
        free(buf);
        return -1;
    }
    int loaded = 0, ok = 0;
    wr r = {.fp = fp, .h = 0xcbf29ce484222325ULL};
    char magic[4];
    uint32_t v, ss, dim;
    uint64_t count, stored;
    if (rd_bytes(&r, magic, 4) || memcmp(magic, "DETS", 4) || rd_bytes(&r, &v, 4) ||
        v != DETS_VERSION || rd_bytes(&r, &ss, 4) || ss != sizeof(det_stream) ||
        rd_bytes(&r, &dim, 4) || dim != (uint32_t)e->dim || rd_bytes(&r, &count, 8))
        goto out;
    for (uint64_t i = 0; i < count; i++) {
        char id[SENSOR_ID_MAX];
        uint32_t readings, ns;
        if (rd_bytes(&r, id, sizeof(id)) || rd_bytes(&r, &readings, 4) || rd_bytes(&r, &ns, 4) ||
            ns > MAX_MODELS)
            goto out;
        id[SENSOR_ID_MAX - 1] = 0;
        if (!sensor_id_valid(id))
            goto out;
        det_sensor *s = get_sensor(e, id);
        if (!s)
            goto out;
        s->readings = readings;
        for (uint32_t j = 0; j < ns; j++) {
            char metric[READING_NAME_MAX];
            det_stream tmp;
            if (rd_bytes(&r, metric, sizeof(metric)) || rd_bytes(&r, &tmp, sizeof(tmp)))
                goto out;
            metric[READING_NAME_MAX - 1] = 0;
            if (!tsfeatures_state_valid(&tmp.fs) || tmp.state > ST_CONTEXT) {
                /* The checksum held, so the framing is sound: skip only this
                 * stream (it warms up again), keep the sensors after it. */
                log_warn("sensor_stream_rejected file=%s sensor=%s metric=%s (invalid state); "
                         "it warms up again",
                         path, id, metric);
                continue;
            }
            det_stream *st = get_stream(e, s, metric);
            if (!st)
                goto out;
            int16_t model = st->model;
            det_shape *shape = st->shape;
            *st = tmp;
            st->model = model;
            st->shape = shape;
        }
        loaded++;
    }
    if (fread(&stored, 1, 8, fp) != 8 || stored != r.h)
        goto out;
    ok = 1;
out:
    fclose(fp);
    free(buf);
    if (!ok) {
        log_warn("sensors_rejected file=%s restored=%d (corrupt or from another build); "
                 "affected sensors warm up again",
                 path, loaded);
    }
    return loaded;
}

int det_engine_save(det_engine *e, const char *dir)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        log_error("save_failed dir=%s err=%s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int m = 0; m < e->nmodels; m++)
        if (e->models[m].forest && save_model(e, &e->models[m], dir) != 0)
            rc = -1;
    if (save_sensors(e, dir) != 0)
        rc = -1;
    return rc;
}

int det_engine_load(det_engine *e, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* fresh start */
    /* Models first: streams refer to them by metric name. */
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 10 && strncmp(de->d_name, "forest-", 7) == 0 &&
            strcmp(de->d_name + n - 4, ".bin") == 0) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            if (load_model(e, path) == 0)
                log_info("model_loaded file=%s version=%ld", path, e->version);
        }
    }
    closedir(d);
    return load_sensors(e, dir);
}
