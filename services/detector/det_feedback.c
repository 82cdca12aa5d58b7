/*
 * det_feedback — see det_feedback.h. A few tolerances at most (one per
 * verdict on a distinct stream and kind), so one array searched linearly;
 * a lookup happens only for an alert about to be published.
 */
#include "det_feedback.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

typedef struct {
    char sensor_id[SENSOR_ID_MAX];
    char metric[READING_NAME_MAX];
    char kind[ALARM_KIND_MAX];
    double threshold;
} tolerance;

struct det_feedback {
    char *path;
    double margin;
    tolerance *t;
    size_t n;
};

static tolerance *find(const det_feedback *f, const char *s, const char *m, const char *k)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->t[i].sensor_id, s) == 0 && strcmp(f->t[i].metric, m) == 0 &&
            strcmp(f->t[i].kind, k) == 0)
            return &f->t[i];
    return NULL;
}

static tolerance *put(det_feedback *f, const char *s, const char *m, const char *k, double th)
{
    tolerance *t = find(f, s, m, k);
    if (!t) {
        if (f->n == DET_FEEDBACK_MAX) {
            memmove(&f->t[0], &f->t[1], sizeof f->t[0] * (DET_FEEDBACK_MAX - 1));
            f->n--;
        }
        t = &f->t[f->n++];
        memset(t, 0, sizeof *t);
        snprintf(t->sensor_id, sizeof t->sensor_id, "%s", s);
        snprintf(t->metric, sizeof t->metric, "%s", m);
        snprintf(t->kind, sizeof t->kind, "%s", k);
    }
    if (th > t->threshold)
        t->threshold = th > 1 ? 1 : th;
    return t;
}

static int save(const det_feedback *f)
{
    int rc = -1;
    char tmp[4200];
    FILE *fp = NULL;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < f->n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:f}", "sensor_id", f->t[i].sensor_id,
                                             "metric", f->t[i].metric, "kind", f->t[i].kind,
                                             "threshold", f->t[i].threshold));
    if (!arr || snprintf(tmp, sizeof tmp, "%s.tmp", f->path) >= (int)sizeof tmp ||
        !(fp = fopen(tmp, "w")))
        goto out;
    if (json_dumpf(arr, fp, JSON_COMPACT) != 0 || fflush(fp) != 0 || fsync(fileno(fp)) != 0)
        goto out;
    int c = fclose(fp);
    fp = NULL;
    if (c == 0 && rename(tmp, f->path) == 0)
        rc = 0;
out:
    if (fp)
        fclose(fp);
    json_decref(arr);
    return rc;
}

static void load(det_feedback *f)
{
    json_error_t jerr;
    if (access(f->path, F_OK) != 0)
        return;
    json_t *arr = json_load_file(f->path, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_array(arr)) {
        log_error("feedback_load_failed path=%s reason=\"%s\" action=ignored", f->path,
                  arr ? "not a JSON array" : jerr.text);
        json_decref(arr);
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(json_object_get(v, "sensor_id"));
        const char *m = json_string_value(json_object_get(v, "metric"));
        const char *k = json_string_value(json_object_get(v, "kind"));
        double th = json_number_value(json_object_get(v, "threshold"));
        if (s && sensor_id_valid(s) && m && m[0] && strlen(m) < READING_NAME_MAX &&
            alarm_kind_valid(k) && th > 0 && th <= 1)
            put(f, s, m, k, th);
    }
    json_decref(arr);
    log_info("feedback_loaded path=%s tolerances=%zu", f->path, f->n);
}

int det_feedback_create(det_feedback **out, const char *path, double margin)
{
    if (!(margin >= 0 && margin <= 1))
        return -1;
    det_feedback *f = calloc(1, sizeof *f);
    if (!f || !(f->t = calloc(DET_FEEDBACK_MAX, sizeof *f->t)) ||
        (path && !(f->path = strdup(path)))) {
        det_feedback_destroy(f);
        return -1;
    }
    f->margin = margin;
    if (f->path)
        load(f);
    *out = f;
    return 0;
}

void det_feedback_destroy(det_feedback *f)
{
    if (!f)
        return;
    free(f->t);
    free(f->path);
    free(f);
}

double det_feedback_add(det_feedback *f, const alarm_feedback *fb)
{
    tolerance *t = put(f, fb->sensor_id, fb->metric, fb->kind, fb->score + f->margin);
    double th = t->threshold;
    if (f->path && save(f) != 0) {
        log_error("feedback_save_failed path=%s", f->path);
        return -1;
    }
    return th;
}

int det_feedback_suppress(const det_feedback *f, const anomaly *a)
{
    const char *kind = anomaly_type_name(a->type);
    const tolerance *t = kind ? find(f, a->sensor_id, a->metric, kind) : NULL;
    /* a threshold of 1 silences the kind: scores are at most 1 */
    return t && (a->score < t->threshold || t->threshold >= 1);
}

size_t det_feedback_count(const det_feedback *f)
{
    return f->n;
}
