/*
 * det_engine — see det_engine.h for the model and the decision rules.
 *
 * Layout: sensors live in an array of pointers in arrival order
 * (allocated once per new sensor), found by id through the common index
 * (store/hashmap: id -> position); each sensor holds a small array of
 * streams, one per metric, each a fixed-size struct (features, event
 * state, the remembered reading of a pending alert). Models are a short
 * array, one per metric name.
 */
#include "det_internal.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fnv1a.h"
#include "base/log.h"
#include "base/splitmix64.h"

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
    c->shape = 1;
    c->multi = 0; /* experimental (docs/detector.md, "Multivariate state") */
    c->max_sensors = 100000;
    c->max_metrics = 16;
    c->metric_min_readings = 50;
    det_shape_params_default(&c->shape_p);
    c->shape_calm_z = 8.0;
    c->burst_n = 600;
    c->burst_k = 4.0;
    c->disp_k = 1.5;
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

int det_config_set_units(det_config *c, const char *spec)
{
    c->nunits = 0;
    const char *p = spec ? spec : "";
    while (*p) {
        const char *end = strchr(p, ','), *eq = strchr(p, '=');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0) {
            if (!eq || eq >= p + len || eq == p || c->nunits >= DET_MAX_UNITS)
                return -1;
            size_t ml = (size_t)(eq - p), ul = len - ml - 1;
            if (ml >= READING_NAME_MAX || ul == 0 || ul >= DET_UNIT_MAX)
                return -1;
            memcpy(c->units[c->nunits].metric, p, ml);
            c->units[c->nunits].metric[ml] = 0;
            memcpy(c->units[c->nunits].unit, eq + 1, ul);
            c->units[c->nunits].unit[ul] = 0;
            c->nunits++;
        }
        p += len + (end ? 1 : 0);
    }
    return 0;
}

const char *det_engine_unit(const det_engine *e, const char *metric)
{
    for (int k = 0; k < e->cfg.nunits; k++)
        if (strcmp(e->cfg.units[k].metric, metric) == 0)
            return e->cfg.units[k].unit;
    return "";
}

/* Physical limits of the units we know: a reading beyond them is a broken
 * sensor or message. Nothing is assumed about any other unit. */
int det_physically_absurd(const char *unit, double v)
{
    if (strcmp(unit, "degC") == 0)
        return v > 150.0 || v < -90.0;
    if (strcmp(unit, "%RH") == 0)
        return v > 100.5 || v < -0.5;
    if (strcmp(unit, "hPa") == 0)
        return v > 1100.0 || v < 300.0;
    return 0;
}

/* A value a working sensor may hold for long: humidity saturates at 0 and
 * 100 %RH (fog, a desiccated room). For units we know nothing about, the
 * edge of the range seen is given the benefit of the doubt. */
int det_saturated(const char *unit, double v, const tsfeatures_state *fs)
{
    if (strcmp(unit, "%RH") == 0)
        return v >= 99.95 || v <= 0.05;
    if (strcmp(unit, "degC") == 0 || strcmp(unit, "hPa") == 0)
        return 0;
    return v >= fs->hi || v <= fs->lo;
}

/* ---- lifecycle -------------------------------------------------------- */

/* The sensor index's view of the records: the hash and id of the sensor
 * at position v of e->sensors (store/hashmap.h). */
static uint64_t index_hash(const void *ctx, uint64_t v)
{
    const det_engine *e = ctx;
    return fnv1a_str(e->sensors[v]->id);
}

static int index_eq(const void *ctx, uint64_t v, const void *key)
{
    const det_engine *e = ctx;
    return strcmp(e->sensors[v]->id, key) == 0;
}

int det_engine_create(det_engine **out, const det_config *cfg)
{
    *out = NULL;
    if (cfg->warmup < 2 || cfg->pool_cap < MIN_TRAIN || cfg->feat.lags < 1 ||
        cfg->feat.lags > TSFEATURES_MAX_LAGS || cfg->end_n < 1 || cfg->burst_n < 0 ||
        !(cfg->burst_k >= 1.0) || !(cfg->shape_calm_z > 0) || cfg->max_sensors < 1 ||
        cfg->max_metrics < READING_MAX_METRICS || cfg->max_metrics > MAX_MODELS ||
        ((cfg->shape || cfg->nshape > 0) && !det_shape_params_valid(&cfg->shape_p)))
        return -1;
    det_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return -1;
    e->cfg = *cfg;
    e->dim = tsfeatures_dim(&cfg->feat);
    e->cap = 1024;
    e->sensors = calloc(e->cap, sizeof(*e->sensors));
    hashmap_init(&e->index, 2 * e->cap, index_hash, index_eq, e);
    e->train_buf = malloc((size_t)cfg->pool_cap * e->dim * sizeof(float));
    e->rng = cfg->forest.seed ^ 0x5deece66dULL;
    int shape = cfg->shape || cfg->nshape > 0;
    if (shape)
        e->shape_scratch = malloc((size_t)cfg->shape_p.history * sizeof(double));
    if (!e->sensors || !e->train_buf || (shape && !e->shape_scratch)) {
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
    for (size_t k = 0; k < e->count; k++) {
        for (uint32_t j = 0; j < e->sensors[k]->nstreams; j++)
            det_shape_destroy(e->sensors[k]->streams[j].shape);
        free(e->sensors[k]->streams);
        free(e->sensors[k]);
    }
    free(e->sensors);
    hashmap_free(&e->index);
    for (int m = 0; m < e->nmodels; m++) {
        iforest_destroy(e->models[m].forest);
        free(e->models[m].pool);
    }
    free(e->train_buf);
    free(e->shape_scratch);
    free(e);
}

/* ---- sensors and streams ---------------------------------------------- */

static det_sensor *find_sensor(const det_engine *e, const char *id)
{
    uint64_t v;
    return hashmap_find(&e->index, fnv1a_str(id), id, &v) ? e->sensors[v] : NULL;
}

det_sensor *det_sensor_get(det_engine *e, const char *id)
{
    det_sensor *s = find_sensor(e, id);
    if (s)
        return s;
    det_limits_sensor_room(e);
    if (e->count == e->cap) {
        det_sensor **ns = realloc(e->sensors, 2 * e->cap * sizeof(*ns));
        if (!ns)
            return NULL;
        e->sensors = ns;
        e->cap *= 2;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    snprintf(s->id, sizeof(s->id), "%s", id);
    if (hashmap_insert(&e->index, fnv1a_str(s->id), e->count) != 0) {
        free(s);
        return NULL;
    }
    e->sensors[e->count++] = s;
    det_limits_touch(e, s);
    e->st.sensors = e->count;
    det_fleet_sensor_added(&e->fleet, id);
    return s;
}

int det_model_index(det_engine *e, const char *metric, int create)
{
    int free_slot = -1;
    if (!metric[0])
        return -1; /* "" names a freed slot (det_limits_model_release), never a metric */
    for (int m = 0; m < e->nmodels; m++) {
        if (strcmp(e->models[m].metric, metric) == 0)
            return m;
        if (free_slot < 0 && !e->models[m].metric[0])
            free_slot = m; /* freed by det_limits_model_release; keeps its pool */
    }
    if (!create || (free_slot < 0 && e->nmodels >= MAX_MODELS))
        return -1;
    int m = free_slot >= 0 ? free_slot : e->nmodels;
    det_model *md = &e->models[m];
    if (free_slot < 0) {
        memset(md, 0, sizeof(*md));
        md->pool = malloc((size_t)e->cfg.pool_cap * e->dim * sizeof(float));
        if (!md->pool)
            return -1;
    }
    snprintf(md->metric, sizeof(md->metric), "%s", metric);
    snprintf(md->unit, sizeof(md->unit), "%s", det_engine_unit(e, metric));
    md->version = -1;
    return free_slot >= 0 ? m : e->nmodels++;
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

det_stream *det_stream_get(det_engine *e, det_sensor *s, const char *metric, uint32_t weight)
{
    for (uint32_t k = 0; k < s->nstreams; k++)
        if (strcmp(e->models[s->streams[k].model].metric, metric) == 0)
            return &s->streams[k];
    /* Room was made before the reading (det_limits_stream_room). */
    if (s->nstreams >= (uint32_t)e->cfg.max_metrics) {
        e->st.metrics_refused++;
        return NULL;
    }
    int m = det_model_index(e, metric, 0);
    if (m < 0 && det_limits_model_admit(e, metric, weight))
        m = det_model_index(e, metric, 1);
    if (m < 0)
        return NULL;
    det_stream *ns = realloc(s->streams, (s->nstreams + 1) * sizeof(*ns));
    if (!ns)
        return NULL;
    e->models[m].users++;
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

/* ---- one reading ------------------------------------------------------- */

int det_alert_is_end(const anomaly *a)
{
    return strstr(a->explanation, DET_END_MARK) != NULL;
}

void det_emit(det_engine *e, det_sink *out, anomaly *a)
{
    if (!det_alert_is_end(a))
        det_fleet_mark(&e->fleet, a, out->fleet_window);
    anomaly_make_id(a);
    e->st.anomalies++;
    e->st.by_type[a->type]++;
    if (out->n < out->cap)
        out->alerts[out->n++] = *a;
}

/* Runs of identical values: the usual longest run (outside events and
 * saturation) is what makes a later, longer run "stuck". */
static void track_runs(det_stream *st, const det_model *md, double x)
{
    if (st->fs.nlag > 0 && (float)x == st->last) {
        if (st->same_run < UINT16_MAX)
            st->same_run++;
        return;
    }
    if (st->state == ST_IDLE && st->same_run > st->max_run &&
        !det_saturated(md->unit, st->last, &st->fs))
        st->max_run = st->same_run;
    st->same_run = 0;
}

/* A shape never seen before, while no other event of this stream is open
 * or was just reported: one alert of its own. */
static void shape_alert(det_engine *e, const det_sensor *sen, const det_model *md, double ts,
                        double x, const float *vec, const tsfeatures_info *info, double score,
                        int scored, const det_shape_info *shi, det_sink *out)
{
    det_pending cur = {.ts = ts,
                       .value = x,
                       .score = score > 0.5 ? score : 0.5,
                       .expected = info->expected,
                       .sd = info->expected_sd,
                       .version = md->version};
    int off = scored && fabs(vec[TSFEATURE_Z_CONTEXT]) >= e->cfg.z_min;
    anomaly a;
    det_alert_fill(&a, sen->id, md->metric, off ? ANOMALY_POINT : ANOMALY_CONTEXTUAL, &cur);
    det_explain_shape(&a, md->unit, &e->cfg.shape_p, shi);
    det_emit(e, out, &a);
}

/* A stream that keeps alerting is one disturbance, not a stream of news:
 * once it has raised about burst_k alerts within the last burst_n
 * readings (a decaying count), further alerts are folded into it (not
 * published; the stream stays in alarm) until the count decays. A
 * change whose start was folded has its end folded too; a physically
 * absurd value is never folded. Returns the alerts folded. */
static int fold_burst(det_engine *e, det_stream *st, const det_model *md, det_sink *out,
                      int na_before)
{
    const det_config *c = &e->cfg;
    if (c->burst_n <= 0)
        return 0;
    st->burst *= (float)(1.0 - 1.0 / c->burst_n);
    int keep = na_before;
    for (int k = na_before; k < out->n; k++) {
        anomaly *a = &out->alerts[k];
        int end = det_alert_is_end(a);
        int fold;
        if (end) {
            fold = st->fold_event;
            st->fold_event = 0;
        } else {
            fold = st->burst >= c->burst_k - 1 && !det_physically_absurd(md->unit, a->value);
            st->burst += 1.0f;
            st->fold_event = (uint8_t)(fold && st->state != ST_IDLE);
        }
        if (fold) { /* det_emit counted it as published */
            if (e->fold_fn)
                e->fold_fn(e->fold_ctx, a);
            e->st.folded++;
            e->st.anomalies--;
            e->st.by_type[a->type]--;
            continue;
        }
        out->alerts[keep++] = *a;
    }
    int folded = out->n - keep;
    out->n = keep;
    return folded;
}

/* A stream that alerted stays in alarm while it stays displaced: its
 * short average (deseasonalised: minus the daily shape) is more than
 * disp_k of its sds away from the level it had when the first alert came,
 * for at most change_max_s (then the new level is normal). A valve half
 * closed keeps a pump's flow low for as long as it is closed; its alert
 * came once, at the start. Returns 1 while displaced. */
static int displaced(const det_config *c, det_stream *st, double ts, double x,
                     const tsfeatures_info *info, int alerted)
{
    if (c->disp_k <= 0)
        return 0;
    double shape = st->fs.phase == 1 ? info->expected - st->fs.level : 0.0;
    double v = x - shape;
    if (!st->disp) {
        if (!alerted)
            return 0;
        st->disp = 1;
        /* The slow baseline: in the first day the mean of all readings
         * learned, later the deseasonalised level of about a day. */
        st->disp_ref = (float)st->fs.level;
        st->disp_sd = (float)info->expected_sd;
        double cap0 = 3.0 * c->disp_k * st->disp_sd, d0 = v - st->disp_ref;
        st->disp_ew = (float)(st->disp_ref + (d0 > cap0 ? cap0 : d0 < -cap0 ? -cap0 : d0));
        st->disp_ts = ts;
        return 1;
    }
    /* Each reading counts at most 3 x disp_k sds away: a single spike (the
     * alert itself) fades in a few readings, a level that stays away
     * keeps the average beyond disp_k. */
    double cap = 3.0 * c->disp_k * st->disp_sd, dv = v - st->disp_ref;
    dv = dv > cap ? cap : dv < -cap ? -cap : dv;
    st->disp_ew += (float)(2.0 / (c->feat.short_n + 1.0) * (st->disp_ref + dv - st->disp_ew));
    if (fabs(st->disp_ew - st->disp_ref) <= c->disp_k * st->disp_sd ||
        ts - st->disp_ts > c->change_max_s)
        st->disp = 0;
    return st->disp;
}

/* Learn a reading: features, the training pool, and (re)training. */
static void learn_reading(det_engine *e, det_stream *st, det_model *md, const float *vec)
{
    const det_config *c = &e->cfg;
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

static void process_metric(det_engine *e, det_sensor *sen, det_stream *st, double ts, double x,
                           det_result *res, det_sink *out, int frozen, det_multi_obs *ob)
{
    const det_config *c = &e->cfg;
    det_model *md = &e->models[st->model];
    float vec[TSFEATURES_MAX_DIM];
    tsfeatures_info info;
    if (tsfeatures_compute(&c->feat, &st->fs, ts, x, vec, &info) != 0)
        return;
    if (ob) { /* for the sensor's multivariate state (det_multi.c) */
        ob->have = 1;
        ob->z = vec[TSFEATURE_Z_CONTEXT];
        ob->x = x;
        ob->expected = info.expected;
        ob->sd = info.expected_sd;
        ob->phase = st->fs.phase == 1;
    }
    det_shape_info shi;
    int shape_hit = st->shape && det_shape_step(st->shape, x, e->shape_scratch, &shi);
    /* Peers "at the same time": within one run (shape window) of readings
     * at this stream's sampling interval (32 min at 2-minute readings). */
    out->fleet_window = c->shape_p.window * st->fs.interval;
    int na_before = out->n;

    int scored = md->forest && st->learned >= (uint32_t)c->warmup;
    /* Scored by the forest only when the decision needs it (det_decide),
     * or when every score is wanted (score_all: replay prints them). */
    double score = scored && c->score_all ? iforest_score(md->forest, vec) : NAN;
    track_runs(st, md, x);
    int learn = 1;
    if (scored) {
        e->st.scored++;
        learn = det_decide(e, sen, st, ts, x, vec, &info, md->forest, &score, &shi, out);
    }
    /* Its readings are still learned: a new shape is not a new level. */
    /* A new shape alerts when the reading is not calm by the criterion
     * that ends events (off what the daily profile expects, a shift, or a
     * noise change: a stream whose runs never repeat exactly, like the
     * weather, is not anomalous for that alone) or the shape stands out
     * far more than a weather-like stream's new runs do (shape_calm_z),
     * and its run holds no reading of an event already reported. */
    int shape_alerted = shape_hit && scored && (!det_calm(c, vec) || shi.z >= c->shape_calm_z) && out->n == na_before &&
                        st->state == ST_IDLE && st->since_alert >= (unsigned)c->shape_p.window;
    if (shape_alerted && isnan(score))
        score = iforest_score(md->forest, vec);
    if (isnan(score))
        score = 0.0; /* not needed: calm, or not scored yet */
    if (shape_alerted)
        shape_alert(e, sen, md, ts, x, vec, &info, score, scored, &shi, out);
    int folded = fold_burst(e, st, md, out, na_before);
    /* After an alert that opened no held state (a point, a new shape),
     * the stream stays in alarm until a reading is calm again. */
    int held = st->state == ST_POINT || st->state == ST_STUCK || st->state == ST_CHANGE ||
               st->state == ST_CONTEXT;
    if (held)
        st->hold = 0;
    else if (out->n > na_before || folded)
        st->hold = 1;
    else if (scored && det_calm(c, vec))
        st->hold = 0;
    /* A level can be left by a change, a contextual event or a new shape;
     * a point alert is a reading that stood out and came back (or an
     * absurd one), not a level. */
    int opened = 0;
    for (int k = na_before; k < out->n; k++)
        opened = opened || (!det_alert_is_end(&out->alerts[k]) &&
                            out->alerts[k].type != ANOMALY_POINT);
    int disp = displaced(c, st, ts, x, &info, opened);
    int alarm = held || st->hold || disp;

    st->was_absurd = (uint8_t)det_physically_absurd(md->unit, x);
    if (res) {
        res->value = x;
        res->score = score;
        res->scored = scored;
        res->flagged = !learn || shape_alerted; /* a new shape is still learned */
        res->in_alarm = alarm;
        res->alarm_changed = alarm != st->alarm;
    }
    st->alarm = (uint8_t)alarm;
    if (held || st->hold || out->n > na_before || st->state != ST_IDLE)
        st->since_alert = 0;
    else if (st->since_alert < UINT16_MAX)
        st->since_alert++;
    st->last = (float)x;
    learn = learn && !frozen; /* the sensor is (entering) a multivariate alarm */
    tsfeatures_update(&c->feat, &st->fs, ts, x, learn);
    if (learn)
        learn_reading(e, st, md, vec);
}

int det_engine_process(det_engine *e, const reading *r, det_result *res, anomaly *alerts, int cap)
{
    det_sink out = {.alerts = alerts, .cap = cap, .n = 0};
    det_sensor *s = det_sensor_get(e, r->sensor_id);
    if (!s)
        return -1;
    e->st.readings++;
    s->readings++;
    det_limits_touch(e, s);
    det_limits_stream_room(e, s, r);
    det_multi_obs ob[DET_MULTI_MAX];
    memset(ob, 0, sizeof(ob));
    int frozen = e->cfg.multi && (s->multi.alarm || s->multi.above > 0);
    /* The shape states are one heap block each, rarely in cache: ask for
     * them now, so they arrive while the first metric is featurised. */
    for (uint32_t k = 0; k < s->nstreams; k++)
        det_shape_prefetch(s->streams[k].shape);
    for (int k = 0; k < r->n; k++) {
        det_result *rk = res ? &res[k] : NULL;
        if (rk) {
            memset(rk, 0, sizeof(*rk));
            snprintf(rk->metric, sizeof(rk->metric), "%s", r->m[k].name);
            rk->value = r->m[k].value;
        }
        det_stream *st = det_stream_get(e, s, r->m[k].name, 1);
        if (!st)
            continue; /* too many metric names or out of memory: skip this metric */
        if (st->present < UINT32_MAX)
            st->present++;
        uint32_t si = (uint32_t)(st - s->streams);
        det_multi_obs *o = si < DET_MULTI_MAX ? &ob[si] : NULL;
        if (o) {
            o->res = rk ? k : -1;
            o->prev_alarm = st->alarm;
        }
        process_metric(e, s, st, r->ts, r->m[k].value, rk, &out, frozen, o);
    }
    if (e->cfg.multi)
        det_multi_row(e, s, r, ob, res, &out);
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
            det_alert_fill(&a, s->id, md->metric, ANOMALY_POINT, &p);
            a.expected_low = a.expected_high = NAN;
            out.fleet_window = e->cfg.shape_p.window * st->fs.interval;
            det_explain_dropout(&a, st->present);
            det_emit(e, &out, &a);
        }
        st->present = 0;
    }
    return out.n;
}

void det_engine_set_fold_hook(det_engine *e, void (*fn)(void *ctx, const anomaly *a), void *ctx)
{
    e->fold_fn = fn;
    e->fold_ctx = ctx;
}

void det_engine_stats(const det_engine *e, det_stats *out)
{
    *out = e->st;
}

size_t det_engine_bytes(const det_engine *e)
{
    size_t b =
        sizeof(*e) + e->cap * sizeof(*e->sensors) + hashmap_bytes(&e->index) +
        (size_t)e->cfg.pool_cap * e->dim * sizeof(float);
    for (size_t k = 0; k < e->count; k++)
        if (e->sensors[k]) {
            b += sizeof(det_sensor) + e->sensors[k]->nstreams * sizeof(det_stream);
            for (uint32_t j = 0; j < e->sensors[k]->nstreams; j++)
                if (e->sensors[k]->streams[j].shape)
                    b += det_shape_bytes(&e->cfg.shape_p);
        }
    for (int m = 0; m < e->nmodels; m++) {
        b += (size_t)e->cfg.pool_cap * e->dim * sizeof(float);
        if (e->models[m].forest)
            b += iforest_bytes(e->models[m].forest);
    }
    return b;
}
