/*
 * det_store — the detector engine's models and sensor states on disk
 * (det_engine_save / det_engine_load in det_engine.h).
 *
 * forest-<metric>.bin: "DETM", version, model version, metric name, the
 *   training pool, FNV-1a checksum, then the forest (iforest_write).
 * sensors.bin: "DETS", version, sizeof(det_stream), count, then per sensor
 *   its id, reading count, streams (metric name + raw det_stream), and a
 *   trailing FNV-1a checksum. The raw struct ties the file to this build's
 *   layout: the size check rejects files from a different layout, which
 *   then means a fresh warm-up, never garbage. */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "det_internal.h"

#define DETM_VERSION 1
#define DETS_VERSION 7 /* 5: det_stream.burst, fold_event; 6: disp_*; 7: tsfeatures week */

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
    char path[4096], tmp[4100], name[3 * READING_NAME_MAX];
    /* Escaped: a metric name comes from the sensors (det_limits.c). */
    if (det_limits_file_name(md->metric, name, sizeof name) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/forest-%s.bin", dir, name);
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
    int m = det_model_index(e, metric, 1);
    if (m < 0)
        goto out;
    det_model *md = &e->models[m];
    if (md->forest) { /* the same metric under an older file name: keep the one seen most */
        log_warn("model_duplicate file=%s metric=%s (kept the one loaded first)", path, metric);
        fclose(fp);
        return -1;
    }
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
    for (size_t k = 0; k < e->count; k++) {
        const det_sensor *s = e->sensors[k];
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
        det_sensor *s = det_sensor_get(e, id);
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
            /* A stream that learned enough counts as that many readings of
             * its metric; a junk name restored from an older file gets no
             * model slot and is dropped here. */
            det_stream *st = det_stream_get(e, s, metric, tmp.learned);
            if (!st) {
                log_warn("sensor_stream_dropped file=%s sensor=%s metric=%s (no model slot or "
                         "metric limit)",
                         path, id, metric);
                continue;
            }
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

/* A model file found on load, with how many vectors its metric has seen. */
typedef struct {
    char name[256];
    uint64_t seen;
} model_file;

/* The pool_seen field of a model file's header, 0 when unreadable. */
static uint64_t model_seen(const char *path)
{
    unsigned char hdr[4 + 4 + 8 + READING_NAME_MAX + 4 + 4 + 8];
    uint64_t seen = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    if (fread(hdr, 1, sizeof hdr, fp) == sizeof hdr && memcmp(hdr, "DETM", 4) == 0)
        memcpy(&seen, hdr + sizeof hdr - 8, 8);
    fclose(fp);
    return seen;
}

static int by_seen_desc(const void *a, const void *b)
{
    const model_file *x = a, *y = b;
    return x->seen < y->seen ? 1 : x->seen > y->seen ? -1 : strcmp(x->name, y->name);
}

int det_engine_load(det_engine *e, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* fresh start */
    /* Models first: streams refer to them by metric name. The most used
     * first (pool_seen), so that when there are more files than slots the
     * metrics seen least (junk) are the ones left out. */
    model_file *files = NULL;
    size_t nf = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n > 10 && n < sizeof files[0].name && strncmp(de->d_name, "forest-", 7) == 0 &&
            strcmp(de->d_name + n - 4, ".bin") == 0) {
            if (nf == cap) {
                model_file *nfiles = realloc(files, (cap ? 2 * cap : 64) * sizeof(*files));
                if (!nfiles)
                    break;
                files = nfiles;
                cap = cap ? 2 * cap : 64;
            }
            char path[4096];
            snprintf(files[nf].name, sizeof files[nf].name, "%s", de->d_name);
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            files[nf++].seen = model_seen(path);
        }
    }
    closedir(d);
    if (nf > 0)
        qsort(files, nf, sizeof(*files), by_seen_desc);
    for (size_t k = 0; k < nf; k++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, files[k].name);
        if (e->nmodels >= MAX_MODELS) {
            log_warn("model_skipped file=%s (all %d model slots used by metrics seen more)", path,
                     MAX_MODELS);
            continue;
        }
        if (load_model(e, path) == 0)
            log_info("model_loaded file=%s version=%ld", path, e->version);
    }
    free(files);
    return load_sensors(e, dir);
}
