/*
 * det_replay — see det_replay.h.
 *
 * Alerts can refer to an earlier row than the one being processed (a point
 * alert goes out when the next reading shows the stream is calm again), so
 * rows are held in a short ring and written when they leave it; an alert
 * is attached to the row it refers to (same ts and metric).
 */
#include "det_replay.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

#define LINE_MAX_BYTES 65536
#define RING 16
#define RING_MULTI 4096 /* several sensors interleave: a stream's previous row is further back */
#define MAX_WINDOWS 256

typedef struct {
    char sensor[SENSOR_ID_MAX];
    char ts_text[64];
    double ts;
    int n;
    det_result res[READING_MAX_METRICS];
    int alert[READING_MAX_METRICS]; /* anomaly_type, or -1 */
    int nab_hit;                    /* NAB mode: the engine raised an alert on this row */
    int end[READING_MAX_METRICS];   /* 1 when the alert ends a change */
    int alarm[READING_MAX_METRICS]; /* the stream is in an anomalous state at this row */
    char expl[READING_MAX_METRICS][ANOMALY_EXPLANATION_MAX];
} row;

typedef struct {
    double lo, hi;
} window;

int det_parse_time(const char *s, double *ts)
{
    while (*s == ' ' || *s == '"')
        s++;
    int y, mo, d, h = 0, mi = 0;
    double sec = 0;
    char sep;
    int n = sscanf(s, "%d-%d-%d%c%d:%d:%lf", &y, &mo, &d, &sep, &h, &mi, &sec);
    if (n >= 3) {
        if (n > 3 && sep != ' ' && sep != 'T')
            return -1;
        if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
            sec < 0 || sec >= 61)
            return -1;
        struct tm tm = {0};
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        time_t t = timegm(&tm);
        if (t == (time_t)-1)
            return -1;
        *ts = (double)t + sec;
        return 0;
    }
    char *end;
    double v = strtod(s, &end);
    while (*end == ' ' || *end == '"' || *end == '\r' || *end == '\n')
        end++;
    if (end == s || *end || !isfinite(v) || v < 0)
        return -1;
    *ts = v;
    return 0;
}

/* Split a CSV line in place on commas (no quoted commas in our inputs;
 * surrounding quotes and blanks are trimmed). Returns the field count. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    line[strcspn(line, "\r\n")] = 0;
    while (n < max) {
        char *c = strchr(p, ',');
        if (c)
            *c = 0;
        while (*p == ' ' || *p == '"')
            p++;
        size_t len = strlen(p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '"'))
            p[--len] = 0;
        f[n++] = p;
        if (!c)
            break;
        p = c + 1;
    }
    return n;
}

static void csv_text(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static int load_windows(const char *file, const char *key, window *w, int max)
{
    json_error_t jerr;
    json_t *root = json_load_file(file, 0, &jerr);
    int n = 0;
    if (!root) {
        log_warn("windows_unreadable file=%s err=%s", file, jerr.text);
        return 0;
    }
    json_t *list = json_object_get(root, key), *pair;
    size_t i;
    if (!json_is_array(list))
        log_warn("windows_missing file=%s key=%s", file, key);
    json_array_foreach(list, i, pair)
    {
        const char *a = json_string_value(json_array_get(pair, 0));
        const char *b = json_string_value(json_array_get(pair, 1));
        if (n < max && a && b && det_parse_time(a, &w[n].lo) == 0 &&
            det_parse_time(b, &w[n].hi) == 0)
            n++;
    }
    json_decref(root);
    return n;
}

static void write_row(FILE *out, const row *r, int nab, int multi, const window *w, int nw)
{
    if (!out)
        return;
    if (nab) {
        int label = 0;
        for (int k = 0; k < nw; k++)
            if (r->ts >= w[k].lo && r->ts <= w[k].hi)
                label = 1;
        /* A detection is a row on which the engine raised an alert that
         * opens an event (of any type, whichever row the alert is about:
         * NAB judges when a detector knew; a change's end alert says the
         * stream is back, it detects nothing); below it, the engine's forest score scaled into
         * [0, 0.5) keeps a ranking for threshold sweeps. */
        double s = r->nab_hit ? 1.0 : 0.4999 * r->res[0].score;
        fprintf(out, "%s,%.17g,%.6f,%d\n", r->ts_text, r->res[0].value, s, label);
        return;
    }
    for (int k = 0; k < r->n; k++) {
        if (multi)
            fprintf(out, "%s,", r->sensor);
        fprintf(out, "%s,%s,%.17g,%.6f,%d,", r->ts_text, r->res[k].metric, r->res[k].value,
                r->res[k].score, r->res[k].flagged);
        if (r->alert[k] >= 0) {
            fputs(anomaly_type_name((anomaly_type)r->alert[k]), out);
            fputc(',', out);
            csv_text(out, r->expl[k]);
        } else {
            fputc(',', out);
        }
        fprintf(out, ",%d\n", r->alarm[k]);
    }
}

/* Whether row r holds the reading of (sensor, metric); its index in *k. */
static int row_metric(const row *r, const char *sensor, const char *metric, int *k)
{
    if (strcmp(r->sensor, sensor) != 0)
        return 0;
    for (*k = 0; *k < r->n; (*k)++)
        if (strcmp(r->res[*k].metric, metric) == 0)
            return 1;
    return 0;
}

/* Attach an alert to the row it refers to (same ts and sensor; the newest
 * row, rows - 1, when it has left the ring) and mark the stream's alarm
 * state: on from the row an event started on, off from the row a change
 * ended on (the end is decided end_n readings later). */
static void attach_alert(row *ring, long ringn, long head, long rows, const anomaly *al, int nab)
{
    long tj = rows - 1;
    for (long j = rows - 1; j >= head && j >= rows - ringn; j--) {
        const row *c = &ring[j % ringn];
        if (fabs(c->ts - al->ts) < 1e-6 && strcmp(c->sensor, al->sensor_id) == 0) {
            tj = j;
            break;
        }
    }
    row *target = &ring[tj % ringn];
    int k0 = 0;
    while (k0 < target->n && strcmp(target->res[k0].metric, al->metric) != 0)
        k0++;
    if (k0 == target->n && k0 < READING_MAX_METRICS && !nab) {
        /* An alert about a metric missing from the row (dropout). */
        memset(&target->res[k0], 0, sizeof(target->res[k0]));
        snprintf(target->res[k0].metric, sizeof(target->res[k0].metric), "%s", al->metric);
        target->res[k0].value = NAN;
        target->alert[k0] = -1;
        target->alarm[k0] = 0;
        target->n++;
    }
    int end = det_alert_is_end(al);
    for (int k = 0; k < target->n; k++) {
        if (strcmp(target->res[k].metric, al->metric) == 0) {
            target->alert[k] = al->type;
            target->end[k] = end;
            snprintf(target->expl[k], sizeof(target->expl[k]), "%s", al->explanation);
        }
    }
    /* The alarm from the row the alert is about to the newest row. */
    for (long j = tj; j < rows; j++) {
        row *c = &ring[j % ringn];
        int k;
        if (!row_metric(c, al->sensor_id, al->metric, &k))
            continue;
        if (end)
            c->alarm[k] = 0;
        else if (j == tj)
            c->alarm[k] = 1;
    }
}

/* The metric names of the header's value columns. Returns 0 or -1 (logged). */
static int column_names(const char *csv_path, char **cols, int n, char names[][READING_NAME_MAX])
{
    for (int k = 0; k < n; k++) {
        if (!*cols[k] || strlen(cols[k]) >= READING_NAME_MAX) {
            log_error("replay_header file=%s: bad column name %d", csv_path, k + 2);
            return -1;
        }
        snprintf(names[k], READING_NAME_MAX, "%s", cols[k]);
    }
    return 0;
}

/* NAB windows of this series (key: --windows-key, or the CSV path's last
 * two components, category/file.csv). Returns how many were loaded. */
static int nab_windows(const char *csv_path, const det_replay_opts *o, window *win)
{
    char key[512];
    if (o->windows_key) {
        snprintf(key, sizeof(key), "%s", o->windows_key);
    } else {
        const char *p = csv_path + strlen(csv_path), *slash = NULL;
        int seen = 0;
        while (p > csv_path) {
            p--;
            if (*p == '/' && ++seen == 2) {
                slash = p + 1;
                break;
            }
        }
        snprintf(key, sizeof(key), "%s", slash ? slash : csv_path);
    }
    return load_windows(o->windows_file, key, win, MAX_WINDOWS);
}

/* ~130 lines: one pass over the rows whose steps all share the ring and the
 * row counters; the header, windows and alert attachment are split out. */
long det_replay_run(det_engine *e, const char *csv_path, const det_replay_opts *o, FILE *out)
{
    long rows = -1, bad = 0;
    char *line = NULL;
    row *ring = NULL;
    window win[MAX_WINDOWS];
    int nw = 0;
    FILE *fp = fopen(csv_path, "r");
    char *f[READING_MAX_METRICS + 2];
    char names[READING_MAX_METRICS][READING_NAME_MAX];
    if (!fp) {
        log_error("replay_open_failed file=%s", csv_path);
        return -1;
    }
    line = malloc(LINE_MAX_BYTES);
    if (!line)
        goto out;
    if (!fgets(line, LINE_MAX_BYTES, fp)) {
        log_error("replay_empty file=%s", csv_path);
        goto out;
    }
    int ncol = split(line, f, READING_MAX_METRICS + 2);
    /* A leading sensor_id column: several sensors in one file. */
    int multi = ncol > 2 && strcmp(f[0], "sensor_id") == 0;
    if (multi) {
        for (int k = 1; k < ncol; k++)
            f[k - 1] = f[k];
        ncol--;
    }
    long ringn = multi ? RING_MULTI : RING;
    ring = calloc((size_t)ringn, sizeof(*ring));
    if (!ring)
        goto out;
    if (ncol < 2) {
        log_error("replay_header file=%s: need a time column and at least one value column",
                  csv_path);
        goto out;
    }
    int nmet = ncol - 1;
    if (o->nab)
        nmet = 1;
    if (column_names(csv_path, f + 1, nmet, names) != 0)
        goto out;
    if (o->nab && o->windows_file)
        nw = nab_windows(csv_path, o, win);
    if (out) {
        if (o->nab)
            fputs("timestamp,value,anomaly_score,label\n", out);
        else
            fprintf(out, "%stimestamp,metric,value,score,flagged,type,explanation,in_alarm\n",
                    multi ? "sensor_id," : "");
    }

    rows = 0;
    long head = 0; /* rows written so far */
    anomaly alerts[2 * READING_MAX_METRICS + 4];
    while (fgets(line, LINE_MAX_BYTES, fp)) {
        int n = split(line, f, READING_MAX_METRICS + 2);
        if (n == 1 && !*f[0])
            continue; /* blank line */
        reading r;
        memset(&r, 0, sizeof(r));
        snprintf(r.sensor_id, sizeof(r.sensor_id), "%s", o->sensor_id ? o->sensor_id : "replay");
        if (multi) {
            if (n < 2 || !sensor_id_valid(f[0])) {
                if (bad++ < 5)
                    log_warn("replay_bad_row file=%s row=%ld reason=sensor_id", csv_path, rows + 2);
                continue;
            }
            snprintf(r.sensor_id, sizeof(r.sensor_id), "%s", f[0]);
            for (int k = 1; k < n; k++)
                f[k - 1] = f[k];
            n--;
        }
        if (det_parse_time(f[0], &r.ts) != 0) {
            if (bad++ < 5)
                log_warn("replay_bad_row file=%s row=%ld reason=time", csv_path, rows + 2);
            continue;
        }
        for (int k = 0; k < nmet && k + 1 < n; k++) {
            char *end;
            double v = strtod(f[k + 1], &end);
            if (end == f[k + 1] || *end || !isfinite(v))
                continue; /* missing or malformed cell */
            reading_add(&r, names[k], v);
        }
        if (r.n == 0) {
            if (bad++ < 5)
                log_warn("replay_bad_row file=%s row=%ld reason=no_value", csv_path, rows + 2);
            if (!o->nab)
                continue;
        }
        /* Free the ring slot of the oldest row. */
        if (rows - head >= ringn) {
            write_row(out, &ring[head % ringn], o->nab, multi, win, nw);
            head++;
        }
        row *cur = &ring[rows % ringn];
        memset(cur, 0, sizeof(*cur));
        snprintf(cur->sensor, sizeof(cur->sensor), "%s", r.sensor_id);
        snprintf(cur->ts_text, sizeof(cur->ts_text), "%s", f[0]);
        cur->ts = r.ts;
        cur->n = r.n;
        for (int k = 0; k < READING_MAX_METRICS; k++)
            cur->alert[k] = -1;
        int na = r.n ? det_engine_process(e, &r, cur->res, alerts,
                                          (int)(sizeof(alerts) / sizeof(alerts[0])))
                     : 0;
        if (o->nab && r.n == 0) { /* keep one output row per input row */
            cur->n = 1;
            snprintf(cur->res[0].metric, sizeof(cur->res[0].metric), "%s", names[0]);
            cur->res[0].value = NAN;
        }
        cur->nab_hit = 0; /* an alert that opens an event, not the one closing a change */
        for (int a = 0; a < na; a++)
            cur->nab_hit |= !det_alert_is_end(&alerts[a]);
        rows++;
        for (int k = 0; k < cur->n; k++)
            cur->alarm[k] = cur->res[k].in_alarm;
        for (int a = 0; a < na; a++)
            attach_alert(ring, ringn, head, rows, &alerts[a], o->nab);
    }
    while (head < rows) {
        write_row(out, &ring[head % ringn], o->nab, multi, win, nw);
        head++;
    }
    if (bad)
        log_warn("replay_bad_rows file=%s count=%ld", csv_path, bad);
out:
    free(line);
    free(ring);
    fclose(fp);
    return rows;
}
