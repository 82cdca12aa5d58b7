/*
 * det_repeat — see det_repeat.h. One array searched linearly: entries are
 * the streams that folded an alert within the last second, a handful even
 * in a bad minute (a stream folds only after several published alerts),
 * and the cap bounds both memory and the scan.
 */
#include "det_repeat.h"

#include <stdlib.h>
#include <string.h>

struct det_repeat {
    alert_repeat *e;
    size_t n, cap;
};

int det_repeat_create(det_repeat **out, size_t cap)
{
    *out = NULL;
    if (cap < 1 || cap > 65536)
        return -1;
    det_repeat *r = calloc(1, sizeof *r);
    if (!r || !(r->e = calloc(cap, sizeof *r->e))) {
        free(r);
        return -1;
    }
    r->cap = cap;
    *out = r;
    return 0;
}

void det_repeat_destroy(det_repeat *r)
{
    if (!r)
        return;
    free(r->e);
    free(r);
}

int det_repeat_add(det_repeat *r, const anomaly *a)
{
    for (size_t i = 0; i < r->n; i++) {
        alert_repeat *s = &r->e[i];
        if (s->type == a->type && strcmp(s->sensor_id, a->sensor_id) == 0 &&
            strcmp(s->metric, a->metric) == 0) {
            alert_repeat_add(s, a);
            return 0;
        }
    }
    if (r->n == r->cap)
        return 1;
    alert_repeat_start(&r->e[r->n++], a);
    return 0;
}

size_t det_repeat_flush(det_repeat *r, void (*fn)(void *ctx, const alert_repeat *s), void *ctx)
{
    size_t n = r->n;
    for (size_t i = 0; i < n; i++)
        fn(ctx, &r->e[i]);
    r->n = 0;
    return n;
}

void det_repeat_swap(det_repeat *a, det_repeat *b)
{
    det_repeat t = *a;
    *a = *b;
    *b = t;
}
