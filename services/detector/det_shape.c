/* det_shape — see det_shape.h.
 *
 * Layout, chosen to fit ~3.9 KB per stream at the defaults:
 *   - the last `history` values as int16 codes, value = c0 + code x q,
 *     with q = 1/256 of the stream's robust spread (so +-128 spreads are
 *     kept exactly to 0.4 % of a spread; beyond that a value is clipped,
 *     which only makes an absurd run look a little less absurd). When the
 *     spread or the level moves far, the codes are re-quantised (rare);
 *   - the runs' nearest-neighbour distances of the last `history` values,
 *     one every `every` values, as uint16 (1/1024 spread units), with
 *     exact integer running sums for their mean and variance.
 * The discord search (history x window operations: 16 runs at a time in
 * AVX2 registers, or scalar with early abandon) runs once every `every`
 * values; det_shape_now runs it at any value, for
 * the engine's question "has this stream shown this run before?". */
#include "det_shape.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NORM_EVERY 64 /* values between refreshes of the robust spread */
#define START 50      /* values before the first distance enters the baseline */
#define MIN_BASE 100  /* values' worth of distances before anything is detected */
#define QSTEPS 256.0  /* codes per robust spread */
#define DSCALE 1024.0 /* baseline codes per spread of distance */
#ifndef SD_FLOOR
#define SD_FLOOR 0.5
#endif

struct det_shape {
    det_shape_params p;
    int B;             /* baseline ring length: history / every */
    long t;            /* values seen */
    double c0, q;      /* value = c0 + code x q; q = 0 before the first value */
    double scale;      /* robust spread, 0 until first computed */
    long nbase;        /* distances pushed into the baseline */
    int64_t bsum, bsq; /* sums over the baseline ring, in codes */
    long last;         /* index of the last detection */
    long nn_at;        /* start of the last search's nearest run, -1 none */
    int16_t *x;        /* last history values (ring, index t % history) */
    uint16_t *base;    /* last B distances (ring) */
};

void det_shape_params_default(det_shape_params *p)
{
    p->window = 16;
    p->history = 1500;
    p->every = 4;
    p->z = 4.5;
    p->gap = 300;
    p->confirm_z = 3.0;
}

int det_shape_params_valid(const det_shape_params *p)
{
    return p->window >= 2 && p->window <= 256 && p->history >= 8 * p->window &&
           p->history <= 100000 && p->every >= 1 && p->every <= p->window && p->z > 0 &&
           isfinite(p->z) && p->gap >= 0 && isfinite(p->confirm_z);
}

size_t det_shape_bytes(const det_shape_params *p)
{
    return sizeof(det_shape) + (size_t)p->history * sizeof(int16_t) +
           (size_t)(p->history / p->every) * sizeof(uint16_t);
}

int det_shape_create(det_shape **out, const det_shape_params *p)
{
    *out = NULL;
    if (!det_shape_params_valid(p))
        return -1;
    det_shape *d = calloc(1, det_shape_bytes(p));
    if (!d)
        return -1;
    d->p = *p;
    d->B = p->history / p->every;
    d->x = (int16_t *)(d + 1); /* one block: struct, codes, baseline */
    d->base = (uint16_t *)(d->x + p->history);
    d->last = -(long)p->gap - 1;
    d->nn_at = -1;
    *out = d;
    return 0;
}

void det_shape_destroy(det_shape *d)
{
    free(d);
}

static int16_t enc(const det_shape *d, double v)
{
    double k = nearbyint((v - d->c0) / d->q);
    return (int16_t)(k > 32767 ? 32767 : k < -32767 ? -32767 : k);
}

static double dec(const det_shape *d, int16_t k)
{
    return d->c0 + (double)k * d->q;
}

static long kept(const det_shape *d)
{
    return d->t < d->p.history ? d->t : d->p.history;
}

/* The codes of the kept values in ascending order, into out (n values;
 * tmp: n more as scratch). Two passes of a byte-wise radix sort: no
 * comparisons, no branch per value. */
static void sort_codes(const det_shape *d, long n, int16_t *out, uint16_t *tmp)
{
    long cnt[256];
    uint16_t *o = (uint16_t *)out;
    memset(cnt, 0, sizeof(cnt));
    for (long k = 0; k < n; k++)
        cnt[((uint16_t)d->x[k] ^ 0x8000u) & 0xff]++;
    for (long b = 0, at = 0; b < 256; b++) {
        long c = cnt[b];
        cnt[b] = at;
        at += c;
    }
    for (long k = 0; k < n; k++) {
        uint16_t key = (uint16_t)d->x[k] ^ 0x8000u;
        tmp[cnt[key & 0xff]++] = key;
    }
    memset(cnt, 0, sizeof(cnt));
    for (long k = 0; k < n; k++)
        cnt[tmp[k] >> 8]++;
    for (long b = 0, at = 0; b < 256; b++) {
        long c = cnt[b];
        cnt[b] = at;
        at += c;
    }
    for (long k = 0; k < n; k++)
        o[cnt[tmp[k] >> 8]++] = tmp[k] ^ 0x8000u;
}

/* Robust spread (1.4826 MAD) of the kept values, never 0; their median
 * in *med. The values decode monotonically from their codes, so the
 * sorted codes give the median, and the absolute deviations, smallest
 * first, are a merge of the two sides walked outward from it: the same
 * doubles, bit for bit, as selecting over the decoded values. tmp: at
 * least history doubles of scratch. */
static double spread(const det_shape *d, double *tmp, double *med)
{
    long n = kept(d);
    int16_t *c = (int16_t *)tmp;
    sort_codes(d, n, c, (uint16_t *)(c + n));
    *med = n % 2 ? dec(d, c[n / 2]) : 0.5 * (dec(d, c[n / 2 - 1]) + dec(d, c[n / 2]));
    /* deviations in ascending order: from the first value at or above the
     * median outward; dev[k] for k up to n / 2 is all the median needs */
    long a = 0, b = n; /* first index whose value is at or above the median */
    while (a < b) {
        long mid = a + (b - a) / 2;
        if (dec(d, c[mid]) - *med < 0)
            a = mid + 1;
        else
            b = mid;
    }
    long hi = a, lo = hi - 1, want = n / 2;
    double dev_prev = 0, dev = 0;
    double dl = lo >= 0 ? fabs(dec(d, c[lo]) - *med) : INFINITY;
    double dh = hi < n ? fabs(dec(d, c[hi]) - *med) : INFINITY;
    for (long k = 0; k <= want; k++) {
        dev_prev = dev;
        if (dl < dh) {
            dev = dl;
            lo--;
            dl = lo >= 0 ? fabs(dec(d, c[lo]) - *med) : INFINITY;
        } else {
            dev = dh;
            hi++;
            dh = hi < n ? fabs(dec(d, c[hi]) - *med) : INFINITY;
        }
    }
    double sc = 1.4826 * (n % 2 ? dev : 0.5 * (dev_prev + dev));
    if (sc <= 1e-9) { /* flat most of the time: fall back to the sd */
        double m = 0, v = 0;
        for (long k = 0; k < n; k++)
            m += dec(d, d->x[k]);
        m /= n;
        for (long k = 0; k < n; k++)
            v += (dec(d, d->x[k]) - m) * (dec(d, d->x[k]) - m);
        sc = sqrt(v / n);
        if (sc < fabs(*med) * 1e-3)
            sc = fabs(*med) * 1e-3;
        if (sc < 1e-6)
            sc = 1e-6;
    }
    return sc;
}

/* Refresh the spread; re-quantise when it or the level moved far from
 * what the codes were made for. */
static void refresh(det_shape *d, double *tmp)
{
    double med;
    d->scale = spread(d, tmp, &med);
    double want = d->scale / QSTEPS;
    if (d->q < want * 0.5 || d->q > want * 2.0 || fabs(med - d->c0) > 64.0 * d->scale) {
        long n = kept(d);
        double c0 = d->c0, q = d->q;
        d->c0 = med;
        d->q = want;
        for (long k = 0; k < n; k++)
            d->x[k] = enc(d, c0 + (double)d->x[k] * q);
    }
}

/* Distance (mean absolute difference, in spreads) from the run of the
 * last window values to its nearest earlier run that does not overlap it,
 * lies within the kept history and starts at least `window` values away
 * from `skip` (-1: none), or -1 when there is none yet. The index of the
 * run found goes to *at.
 *
 * The portable search (the AVX2 one, search_avx2 below, answers the same
 * on CPUs that have it): ring positions advance by increment and wrap,
 * no division per candidate. (A bound from
 * the sums of the runs' quarters instead of their whole sums skips more
 * candidates but costs more per candidate than it saves: measured 30 %
 * slower on NAB's machine_temperature.) */
/* L1 distance in codes from cur to the run starting at ring index s,
 * abandoned once it reaches best. */
static int64_t run_dist(const det_shape *d, long s, const int16_t *cur, int64_t best)
{
    const long m = d->p.window, h = d->p.history;
    int64_t sum = 0;
    if (s + m <= h) {
        /* newest first: a new run differs most at its end */
        const int16_t *c = d->x + s;
        for (long k = m - 1; k >= 0 && sum < best; k--)
            sum += labs((long)c[k] - cur[k]);
    } else {
        for (long k = m - 1; k >= 0 && sum < best; k--)
            sum += labs((long)d->x[(s + k) % h] - cur[k]);
    }
    return sum;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CAP 65535     /* distances at or above this saturate in the vector search */
#define LIN_MAX 4096  /* histories up to this many values are searched in a linear copy */

/* The vector search (AVX2): the L1 distances of 16 neighbouring
 * candidates at once, column by column, in saturating 16-bit sums; the
 * first minimum of each 8 from vphminposuw. Exact for every distance
 * below CAP (a saturated one is >= CAP); the caller falls back to the
 * scalar search when nothing below CAP is found. Candidates j in
 * [lo, hi] in order, so the first run at the minimum wins as in the
 * scalar search. Returns the best distance (CAP when none below it),
 * its start in *at. */
__attribute__((target("avx2"))) static int64_t search_avx2(const det_shape *d, const int16_t *cur,
                                                           long lo, long hi, long skip, long *at)
{
    const long m = d->p.window, h = d->p.history;
    __m256i bc[256];
    for (long k = 0; k < m; k++)
        bc[k] = _mm256_set1_epi16(cur[k]);
    const __m256i lane = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int64_t best = CAP;
    long j = lo;
    /* The default history fits a copy on the stack, in logical order: the
     * blocks then run over it without a ring wrap, the last one masked. */
    int16_t lin[LIN_MAX + 32];
    long nlin = d->t - lo;
    if (nlin <= LIN_MAX) {
        long s0 = lo % h, first = h - s0 < nlin ? h - s0 : nlin;
        memcpy(lin, d->x + s0, (size_t)first * sizeof(int16_t));
        memcpy(lin + first, d->x, (size_t)(nlin - first) * sizeof(int16_t));
        memset(lin + nlin, 0, 32 * sizeof(int16_t));
        for (long o = 0; o <= hi - lo; o += 16) {
            const int16_t *p = lin + o;
            __m256i acc = _mm256_setzero_si256();
            for (long k = 0; k < m; k++) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(p + k));
                __m256i df = _mm256_sub_epi16(_mm256_max_epi16(v, bc[k]), _mm256_min_epi16(v, bc[k]));
                acc = _mm256_adds_epu16(acc, df);
            }
            long jb = lo + o;
            if (hi - jb < 15) /* lanes past the last candidate do not count */
                acc = _mm256_or_si256(acc, _mm256_cmpgt_epi16(lane, _mm256_set1_epi16((int16_t)(hi - jb))));
            if (skip >= 0 && skip - m < jb + 15 && skip + m > jb) {
                __m256i rel = _mm256_add_epi16(lane, _mm256_set1_epi16((int16_t)(jb - skip)));
                __m256i lim = _mm256_set1_epi16((int16_t)m);
                __m256i in = _mm256_and_si256(_mm256_cmpgt_epi16(lim, rel),
                                              _mm256_cmpgt_epi16(rel, _mm256_sub_epi16(_mm256_setzero_si256(), lim)));
                acc = _mm256_or_si256(acc, in);
            }
            __m128i r0 = _mm_minpos_epu16(_mm256_castsi256_si128(acc));
            __m128i r1 = _mm_minpos_epu16(_mm256_extracti128_si256(acc, 1));
            int v0 = _mm_extract_epi16(r0, 0), v1 = _mm_extract_epi16(r1, 0);
            if (v0 < best) {
                best = v0;
                *at = jb + _mm_extract_epi16(r0, 1);
            }
            if (v1 < best) {
                best = v1;
                *at = jb + 8 + _mm_extract_epi16(r1, 1);
            }
        }
        return best;
    }
    while (j <= hi) {
        long s = j % h;
        /* a whole block of 16 whose every run lies inside the ring */
        if (j + 15 <= hi && s + 15 + m <= h) {
            const int16_t *p = d->x + s;
            __m256i acc = _mm256_setzero_si256();
            for (long k = 0; k < m; k++) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(p + k));
                __m256i df = _mm256_sub_epi16(_mm256_max_epi16(v, bc[k]), _mm256_min_epi16(v, bc[k]));
                acc = _mm256_adds_epu16(acc, df);
            }
            if (skip >= 0 && skip - m < j + 15 && skip + m > j) {
                /* lanes i with |j + i - skip| < m do not count */
                __m256i rel = _mm256_add_epi16(lane, _mm256_set1_epi16((int16_t)(j - skip)));
                __m256i lim = _mm256_set1_epi16((int16_t)m);
                __m256i in = _mm256_and_si256(_mm256_cmpgt_epi16(lim, rel),
                                              _mm256_cmpgt_epi16(rel, _mm256_sub_epi16(_mm256_setzero_si256(), lim)));
                acc = _mm256_or_si256(acc, in); /* saturated: never the minimum */
            }
            __m128i r0 = _mm_minpos_epu16(_mm256_castsi256_si128(acc));
            __m128i r1 = _mm_minpos_epu16(_mm256_extracti128_si256(acc, 1));
            int v0 = _mm_extract_epi16(r0, 0), v1 = _mm_extract_epi16(r1, 0);
            if (v0 < best) {
                best = v0;
                *at = j + _mm_extract_epi16(r0, 1);
            }
            if (v1 < best) {
                best = v1;
                *at = j + 8 + _mm_extract_epi16(r1, 1);
            }
            j += 16;
            continue;
        }
        if (!(skip >= 0 && labs(j - skip) < m)) {
            int64_t sum = run_dist(d, s, cur, best);
            if (sum < best) {
                best = sum;
                *at = j;
            }
        }
        j++;
    }
    return best;
}

static int force_scalar;

static int have_avx2(void)
{
    return !force_scalar && __builtin_cpu_supports("avx2");
}
#endif

static double nearest_from(const det_shape *d, long skip, long hint, long *at)
{
    const long m = d->p.window, h = d->p.history, t = d->t;
    long lo = t - h, hi = t - 2 * m; /* candidate starts [lo, hi] */
    if (lo < 0)
        lo = 0;
    *at = -1;
    if (hi < lo || d->scale <= 0)
        return -1.0;
    int16_t cur[256];
    int64_t csum = 0, wsum = 0;
    for (long k = 0; k < m; k++) {
        cur[k] = d->x[(t - m + k) % h];
        csum += cur[k];
        wsum += d->x[(lo + k) % h];
    }
    /* The sums of the two runs bound their L1 distance from below
     * (|sum a - sum b| <= sum |a - b|): most candidates are skipped on
     * the running sum alone, with the same result. */
    /* A run near the continuation of the last search's nearest one (the
     * hint) bounds the search from the start, so far fewer candidates are
     * measured in full. best starts one above its distance: the first run
     * at the minimum still wins, as in a search without the hint. */
#if defined(__x86_64__) && defined(__GNUC__)
    if (have_avx2()) {
        int64_t vb = search_avx2(d, cur, lo, hi, skip, at);
        if (vb < CAP && *at >= 0)
            return (double)vb * d->q / (double)m / d->scale;
        *at = -1; /* every run at CAP or beyond: the exact scalar search */
    }
#endif
    int64_t best = INT64_MAX;
    if (hint >= lo && hint <= hi && !(skip >= 0 && labs(hint - skip) < m))
        best = run_dist(d, hint % h, cur, INT64_MAX) + 1;
    long s = lo % h, e = (lo + m) % h; /* ring indices of j and j + m */
    for (long j = lo; j <= hi; j++) {
        if (j > lo) {
            wsum += d->x[e] - d->x[s];
            if (++s == h)
                s = 0;
            if (++e == h)
                e = 0;
        }
        if (skip >= 0 && labs(j - skip) < m)
            continue;
        int64_t lb = wsum - csum;
        if ((lb < 0 ? -lb : lb) >= best)
            continue;
        int64_t sum = run_dist(d, s, cur, best);
        if (sum < best) {
            best = sum;
            *at = j;
        }
    }
    if (*at < 0)
        return -1.0;
    return (double)best * d->q / (double)m / d->scale;
}

/* The search of det_shape_step, hinted by the previous one's answer. */
static double nearest(det_shape *d)
{
    long at;
    double raw = nearest_from(d, -1, d->nn_at >= 0 ? d->nn_at + d->p.every : -1, &at);
    d->nn_at = at;
    return raw;
}

static void judge(const det_shape *d, double raw, det_shape_info *info)
{
    memset(info, 0, sizeof(*info));
    long nb = d->nbase < d->B ? d->nbase : d->B;
    if (raw < 0 || nb * d->p.every < MIN_BASE)
        return;
    double mean = (double)d->bsum / nb, var = (double)d->bsq / nb - mean * mean;
    double sd = var > 0 ? sqrt(var) / DSCALE : 0.0;
    if (sd < SD_FLOOR * mean / DSCALE)
        sd = SD_FLOOR * mean / DSCALE;
    if (sd < 1e-6)
        sd = 1e-6;
    info->raw = raw;
    info->baseline = mean / DSCALE;
    info->z = (raw - info->baseline) / sd;
}

void det_shape_now(const det_shape *d, det_shape_info *info)
{
    /* Seen before means seen at least twice: the distance to the second
     * nearest run (away from the first), so that one earlier anomaly of
     * the same shape does not make this one normal. */
    long at = -1;
    double raw = -1.0;
    if (d->t >= START && nearest_from(d, -1, -1, &at) >= 0)
        raw = nearest_from(d, at, -1, &at);
    judge(d, raw, info);
    if (at >= 0) {
        const long m = d->p.window, h = d->p.history;
        info->tail = fabs(dec(d, d->x[(d->t - 1) % h]) - dec(d, d->x[(at + m - 1) % h]));
    }
}

static void push_base(det_shape *d, double raw)
{
    double k = nearbyint(raw * DSCALE);
    uint16_t v = (uint16_t)(k > 65535 ? 65535 : k < 0 ? 0 : k);
    int i = (int)(d->nbase % d->B);
    if (d->nbase >= d->B) {
        d->bsum -= d->base[i];
        d->bsq -= (int64_t)d->base[i] * d->base[i];
    }
    d->base[i] = v;
    d->bsum += v;
    d->bsq += (int64_t)v * v;
    d->nbase++;
}

int det_shape_step(det_shape *d, double value, double *scratch, det_shape_info *info)
{
    det_shape_info si;
    if (!info)
        info = &si;
    memset(info, 0, sizeof(*info));
    if (!isfinite(value))
        return 0;
    if (d->q == 0.0) { /* first value: a provisional code scale */
        d->c0 = value;
        d->q = fabs(value) > 1e-6 ? fabs(value) / 4096.0 : 1e-6;
    }
    d->x[d->t % d->p.history] = enc(d, value);
    d->t++;
    if (d->t < 2 * d->p.window + 10)
        return 0;
    if (d->t % NORM_EVERY == 0 || d->scale == 0.0)
        refresh(d, scratch);
    if (d->t < START || d->t % d->p.every != 0)
        return 0;
    double raw = nearest(d);
    if (raw < 0)
        return 0;
    judge(d, raw, info);
    int hit = 0;
    if (info->z > d->p.z && d->t - d->last > d->p.gap) {
        hit = 1;
        d->last = d->t;
    }
    push_base(d, raw);
    return hit;
}

void det_shape_prefetch(const det_shape *d)
{
    if (d) {
        __builtin_prefetch(d, 1);
        __builtin_prefetch((const char *)d + 64, 1);
    }
}

int det_shape_force_scalar(int on)
{
#if defined(__x86_64__) && defined(__GNUC__)
    int was = force_scalar;
    force_scalar = on;
    return was;
#else
    (void)on;
    return 1;
#endif
}

double det_shape_baseline(const det_shape *d)
{
    long nb = d->nbase < d->B ? d->nbase : d->B;
    if (nb * d->p.every < MIN_BASE)
        return -1.0;
    return (double)d->bsum / nb / DSCALE;
}

double det_shape_spread(const det_shape *d)
{
    return d->scale;
}
