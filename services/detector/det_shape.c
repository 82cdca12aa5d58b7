/* det_shape — see det_shape.h. */
#include "det_shape.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NORM_EVERY 64 /* values between refreshes of the robust spread */
#define START 50      /* first value whose raw distance enters the baseline */
#define MIN_BASE 100  /* raw distances needed before anything is detected */

struct det_shape {
    det_shape_params p;
    long cap;     /* values kept in x: 2 (history + 2 window) */
    long base, n; /* values seen: n; index of x[0]: base */
    double scale; /* robust spread, 0 until first computed */
    int nraw, iraw;
    long last;   /* index of the last detection */
    double *x;   /* recent values (cap) */
    double *raw; /* ring of previous raw distances (history) */
};

void det_shape_params_default(det_shape_params *p)
{
    p->window = 16;
    p->history = 2000;
    p->z = 4.5;
    p->gap = 300;
    p->confirm_z = 3.0;
}

int det_shape_params_valid(const det_shape_params *p)
{
    return p->window >= 2 && p->window <= 256 && p->history >= 8 * p->window &&
           p->history <= 100000 && p->z > 0 && isfinite(p->z) && p->gap >= 0 &&
           isfinite(p->confirm_z);
}

size_t det_shape_bytes(const det_shape_params *p)
{
    return sizeof(det_shape) +
           (size_t)(2 * (p->history + 2 * p->window) + p->history) * sizeof(double);
}

int det_shape_create(det_shape **out, const det_shape_params *p)
{
    *out = NULL;
    if (!det_shape_params_valid(p))
        return -1;
    det_shape *d = calloc(1, sizeof(*d));
    if (!d)
        return -1;
    d->p = *p;
    d->cap = 2L * (p->history + 2L * p->window);
    d->x = malloc((size_t)(d->cap + p->history) * sizeof(double));
    if (!d->x) {
        free(d);
        return -1;
    }
    d->raw = d->x + d->cap; /* one block: x then raw */
    d->last = -(long)p->gap - 1;
    *out = d;
    return 0;
}

void det_shape_destroy(det_shape *d)
{
    if (!d)
        return;
    free(d->x);
    free(d);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(double *v, int n) /* sorts v */
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Robust spread of the values with indices [lo, hi), never 0. */
static double spread(const det_shape *d, long lo, long hi, double *tmp)
{
    int n = (int)(hi - lo);
    const double *h = d->x + (lo - d->base);
    memcpy(tmp, h, (size_t)n * sizeof(double));
    double med = median_of(tmp, n);
    for (int k = 0; k < n; k++)
        tmp[k] = fabs(h[k] - med);
    double sc = 1.4826 * median_of(tmp, n);
    if (sc <= 1e-9) { /* flat most of the time: fall back to the sd */
        double m = 0, v = 0;
        for (int k = 0; k < n; k++)
            m += h[k];
        m /= n;
        for (int k = 0; k < n; k++)
            v += (h[k] - m) * (h[k] - m);
        sc = sqrt(v / n);
        if (sc < fabs(med) * 1e-3)
            sc = fabs(med) * 1e-3;
        if (sc < 1e-6)
            sc = 1e-6;
    }
    return sc;
}

int det_shape_step(det_shape *d, double value, double *scratch, det_shape_info *info)
{
    const long m = d->p.window, hist = d->p.history;
    if (info)
        memset(info, 0, sizeof(*info));
    if (!isfinite(value))
        return 0;
    if (d->n - d->base == d->cap) { /* keep the newest history + 2 window values */
        long keep = hist + 2 * m;
        memmove(d->x, d->x + (d->cap - keep), (size_t)keep * sizeof(double));
        d->base += d->cap - keep;
    }
    long t = d->n++;
    d->x[t - d->base] = value;
    double raw = 0.0;
    if (t >= 2 * m - 1 + 10) {
        if (t % NORM_EVERY == 0 || d->scale == 0.0)
            d->scale = spread(d, t - hist > 0 ? t - hist : 0, t, scratch);
        long i = t - m + 1; /* start of the current shingle */
        long lo = i - hist > 0 ? i - hist : 0, hi = i - m;
        const double *cur = d->x + (i - d->base);
        double best = INFINITY;
        for (long j = lo; j < hi; j++) {
            const double *s = d->x + (j - d->base);
            double sum = 0.0;
            for (long k = 0; k < m; k++)
                sum += fabs(s[k] - cur[k]);
            if (sum < best)
                best = sum;
        }
        raw = best / (double)m / d->scale;
    }
    if (t < START)
        return 0;
    int hit = 0;
    if (d->nraw >= MIN_BASE) {
        double mean = 0, v = 0;
        for (int k = 0; k < d->nraw; k++)
            mean += d->raw[k];
        mean /= d->nraw;
        for (int k = 0; k < d->nraw; k++)
            v += (d->raw[k] - mean) * (d->raw[k] - mean);
        double sd = sqrt(v / d->nraw);
        if (sd < 1e-6)
            sd = 1e-6;
        double z = (raw - mean) / sd;
        if (info) {
            info->raw = raw;
            info->baseline = mean;
            info->z = z;
        }
        if (z > d->p.z && t - d->last > d->p.gap) {
            hit = 1;
            d->last = t;
        }
    }
    d->raw[d->iraw] = raw;
    d->iraw = (d->iraw + 1) % (int)hist;
    if (d->nraw < hist)
        d->nraw++;
    return hit;
}
