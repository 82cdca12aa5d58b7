/*
 * sim_csv — see sim_csv.h. CSV cells are numbers and ids restricted to
 * [A-Za-z0-9_.:-] (sensor_id_valid), so nothing needs quoting. windows.json
 * is built with jansson.
 */
#include "sim_csv.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/errbuf.h"

struct sim_csv {
    int single;
    int failed;
    char base[PATH_MAX]; /* directory, or file path without ".csv" */
    FILE *rows;
    FILE *labels;
    json_t *windows;
    char cur_key[SENSOR_ID_MAX + 8]; /* windows.json key of the current sensor file */
    char dirbase[NAME_MAX + 1];      /* last component of the directory (alias keys) */
};

void sim_csv_format_ts(double ts, char *buf, size_t cap)
{
    time_t t = (time_t)ts;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

int sim_csv_open(sim_csv **out, const char *path, char *err, size_t errlen)
{
    char p[PATH_MAX + 32];
    sim_csv *w = calloc(1, sizeof *w);
    if (!w) {
        errbuf_set(err, errlen, "out of memory");
        return -1;
    }
    size_t n = strlen(path);
    if (n + 1 > sizeof w->base) {
        errbuf_set(err, errlen, "%s: path too long", path);
        goto fail;
    }
    w->single = n > 4 && strcmp(path + n - 4, ".csv") == 0;
    memcpy(w->base, path, n + 1);
    if (w->single) {
        w->base[n - 4] = '\0';
        w->rows = fopen(path, "w");
        if (!w->rows) {
            errbuf_set(err, errlen, "%s: %s", path, strerror(errno));
            goto fail;
        }
        fputs("sensor_id,timestamp,temperature,humidity,pressure\n", w->rows);
        snprintf(p, sizeof p, "%s.labels.csv", w->base);
    } else {
        if (mkdir_p(path) < 0) {
            errbuf_set(err, errlen, "%s: cannot create directory: %s", path, strerror(errno));
            goto fail;
        }
        snprintf(p, sizeof p, "%s/labels.csv", w->base);
        /* NAB keys windows by "category/file.csv"; the detector's replay
         * looks up the last two path components, so also key each sensor
         * as "<directory name>/<sensor>.csv". */
        char tmp[PATH_MAX];
        memcpy(tmp, path, n + 1);
        while (n > 1 && tmp[n - 1] == '/')
            tmp[--n] = '\0';
        const char *slash = strrchr(tmp, '/');
        const char *base = slash ? slash + 1 : tmp;
        size_t bl = strlen(base);
        if (bl >= sizeof w->dirbase)
            bl = sizeof w->dirbase - 1;
        memcpy(w->dirbase, base, bl);
        w->dirbase[bl] = '\0';
    }
    w->labels = fopen(p, "w");
    if (!w->labels) {
        errbuf_set(err, errlen, "%s: %s", p, strerror(errno));
        goto fail;
    }
    fputs(SIM_CSV_LABEL_HEADER "\n", w->labels);
    w->windows = json_object();
    if (!w->windows) {
        errbuf_set(err, errlen, "out of memory");
        goto fail;
    }
    *out = w;
    return 0;
fail:
    sim_csv_close(w, NULL, 0);
    return -1;
}

int sim_csv_single(const sim_csv *w)
{
    return w->single;
}

int sim_csv_begin_sensor(sim_csv *w, const char *id, char *err, size_t errlen)
{
    if (w->single)
        return 0;
    if (w->rows && fclose(w->rows) != 0)
        w->failed = 1;
    w->rows = NULL;
    char p[PATH_MAX + SENSOR_ID_MAX + 8];
    snprintf(p, sizeof p, "%s/%s.csv", w->base, id);
    snprintf(w->cur_key, sizeof w->cur_key, "%s.csv", id);
    w->rows = fopen(p, "w");
    if (!w->rows) {
        errbuf_set(err, errlen, "%s: %s", p, strerror(errno));
        return -1;
    }
    json_t *arr = json_array();
    char alias[NAME_MAX + SENSOR_ID_MAX + 8];
    snprintf(alias, sizeof alias, "%s/%s.csv", w->dirbase, id);
    /* Both keys share one array, so add_window() fills both. */
    if (!arr || json_object_set(w->windows, alias, arr) != 0 ||
        json_object_set_new(w->windows, w->cur_key, arr) != 0) {
        errbuf_set(err, errlen, "out of memory");
        return -1;
    }
    fputs("timestamp,temperature,humidity,pressure\n", w->rows);
    return 0;
}

int sim_csv_write_label(FILE *f, const sim_label *l)
{
    char a[32], b[32];
    sim_csv_format_ts(l->start_ts, a, sizeof a);
    sim_csv_format_ts(l->end_ts, b, sizeof b);
    int n = fprintf(f, "%s,%s,%s,%s,%s,%s,%s,%.3f,%.3f,%d,%.6g\n", l->id, l->sensor_id,
                    sim_subtype_type(l->subtype), sim_subtype_name(l->subtype),
                    sim_metric_name(l->metric), a, b, l->start_ts, l->end_ts, l->nsamples,
                    l->magnitude);
    return n < 0 ? -1 : 0;
}

static int add_window(sim_csv *w, const sim_label *l)
{
    const char *key = w->single ? l->sensor_id : w->cur_key;
    json_t *arr = json_object_get(w->windows, key);
    if (!arr) {
        arr = json_array();
        if (!arr || json_object_set_new(w->windows, key, arr) != 0)
            return -1;
    }
    /* NAB writes window bounds with microseconds. */
    char a[32], b[32], a2[48], b2[48];
    sim_csv_format_ts(l->start_ts, a, sizeof a);
    sim_csv_format_ts(l->end_ts, b, sizeof b);
    snprintf(a2, sizeof a2, "%s.000000", a);
    snprintf(b2, sizeof b2, "%s.000000", b);
    return json_array_append_new(arr, json_pack("[s,s]", a2, b2));
}

int sim_csv_write(sim_csv *w, const sim_sample *smp)
{
    if (!w->rows)
        return -1;
    const reading *r = &smp->r;
    char ts[32];
    sim_csv_format_ts(r->ts, ts, sizeof ts);
    if (w->single)
        fprintf(w->rows, "%s,", r->sensor_id);
    fputs(ts, w->rows);
    for (int m = 0; m < SIM_NMETRICS; m++) {
        int i = reading_find(r, sim_metric_name(m));
        if (i >= 0)
            fprintf(w->rows, ",%.10g", r->m[i].value);
        else
            fputc(',', w->rows);
    }
    if (fputc('\n', w->rows) == EOF) {
        w->failed = 1;
        return -1;
    }
    if (smp->new_label) {
        if (sim_csv_write_label(w->labels, &smp->label) < 0 || add_window(w, &smp->label) < 0) {
            w->failed = 1;
            return -1;
        }
    }
    return 0;
}

int sim_csv_write_fleet(sim_csv *w, sim_fleet *f, unsigned long long *nreadings,
                        unsigned long long *nlabels, char *err, size_t errlen)
{
    sim_sample smp;
    unsigned long long nr = 0, nl = 0;
    int rc = -1;
    if (w->single) {
        while (sim_fleet_next(f, &smp) >= 0) {
            if (sim_csv_write(w, &smp) < 0)
                goto out;
            nr++;
            nl += (unsigned long long)smp.new_label;
        }
    } else {
        /* Sensors are independent (own random streams), so writing one
         * sensor's whole series after another gives the same data as the
         * time-ordered interleaving, with one open file at a time. */
        for (int i = 0; i < f->n; i++) {
            if (sim_csv_begin_sensor(w, f->s[i].id, err, errlen) < 0)
                return -1;
            while (sim_sensor_next(&f->s[i], &smp) == 0) {
                if (sim_csv_write(w, &smp) < 0)
                    goto out;
                nr++;
                nl += (unsigned long long)smp.new_label;
            }
        }
    }
    rc = 0;
out:
    if (rc < 0)
        errbuf_set(err, errlen, "%s: write failed: %s", w->base, strerror(errno));
    if (nreadings)
        *nreadings = nr;
    if (nlabels)
        *nlabels = nl;
    return rc;
}

int sim_csv_close(sim_csv *w, char *err, size_t errlen)
{
    if (!w)
        return 0;
    int rc = w->failed ? -1 : 0;
    if (w->rows && fclose(w->rows) != 0)
        rc = -1;
    if (w->labels && fclose(w->labels) != 0)
        rc = -1;
    if (w->windows && rc == 0) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, w->single ? "%s.windows.json" : "%s/windows.json", w->base);
        if (json_dump_file(w->windows, p, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
            rc = -1;
    }
    if (rc < 0)
        errbuf_set(err, errlen, "%s: write failed: %s", w->base, strerror(errno));
    json_decref(w->windows);
    free(w);
    return rc;
}
