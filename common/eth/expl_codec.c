/*
 * expl_codec — see expl_codec.h. A template is a string whose literal
 * parts are the detector's words and whose slots (%M metric, %N number,
 * %U unit, %H clock, %W word, %S string, %T tail) hold what varies. The
 * encoder matches the text against each template in turn (backtracking
 * over the lengths of units and strings), then renders its parameters and
 * keeps the template only when the rendering is the text, byte for byte;
 * so a change in det_explain.c can only make records larger, never wrong.
 * The templates mirror services/detector/det_explain.c, det_multi.c and
 * det_fleet.c; tests/unit/test_expl_codec.c runs those code paths and
 * checks that every template matches what they produce.
 */
#include "eth/expl_codec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_TEXT 512 /* ANOMALY_EXPLANATION_MAX */
#define MAX_UNIT 31
#define MAX_STR 64

#define ISO "; isolated after %N splits where normal readings need %N, mostly by %W"

/* The order is part of the on-chain format: append only. */
static const char *const templates[] = {
    /* det_explain_point (with and without the isolation words; %T: extra, fleet) */
    "%M %N%U is far %W this sensor's usual %N-%N%U at %H" ISO "%T",
    "%M %N%U is far %W this sensor's usual %N-%N%U at %H%T",
    /* det_explain_context */
    "%M %N%U would be ordinary at another time (this sensor ranges %N-%N%U over the day) but not "
    "at %H, when %N-%N%U is expected" ISO "%T",
    "%M %N%U would be ordinary at another time (this sensor ranges %N-%N%U over the day) but not "
    "at %H, when %N-%N%U is expected%T",
    /* det_explain_change_start */
    "%M became erratic at %H: its noise is about %Nx the usual variance around the expected "
    "%N%U (change started)" ISO "%T",
    "%M became erratic at %H: its noise is about %Nx the usual variance around the expected "
    "%N%U (change started)%T",
    "%M shifted %W by %N%U from the expected %N%U and stays there (change started at %H)" ISO "%T",
    "%M shifted %W by %N%U from the expected %N%U and stays there (change started at %H)%T",
    /* det_explain_change_end */
    "%M change that began at %H has lasted %N h: accepted as the new normal, this sensor is "
    "being re-learned (change ended)%T",
    "%M change that began at %H ended after %N h: readings are back within the expected "
    "%N-%N%U (change ended)%T",
    /* det_explain_shape, _stuck, _dropout */
    "%M %N%U at %H ends a run of %N readings shaped like nothing in this sensor's previous %N: "
    "the nearest earlier run is %Nx its usual spread away, %N sd beyond how far runs usually "
    "are%T",
    "%M has been stuck at %N%U for %N readings; this sensor's value normally changes at least "
    "every %N readings%T",
    "%M is missing from this reading although the sensor sent it in each of its previous %N "
    "readings (value shown is the last one received)%T",
    /* det_multi.c */
    "The %N metrics of this sensor are back in their usual relation to each other (change "
    "ended)%T",
    "%M and %S moved together away from their usual relation to this sensor's other metrics "
    "for %N readings (multivariate distance T2 %N, usual below %N)%T",
    "%M moved away from its usual relation to this sensor's other metrics for %N readings "
    "(multivariate distance T2 %N, usual below %N)%T",
};
#define NTEMPLATES ((int)(sizeof templates / sizeof templates[0]))

/* det_fleet.c's suffix, tail kind 1 */
static const char fleet[] = "; %N of the other %N %S- sensors alerted on %M within %N min: a "
                            "fleet-wide event?";

/* %W: the words a template chooses between (append only). */
static const char *const words[] = {
    "above",
    "below",
    "up",
    "down",
    "its recent average",
    "its usual value for this time of day",
    "a sustained shift",
    "its usual noise",
    "the previous readings",
};
#define NWORDS ((int)(sizeof words / sizeof words[0]))

int expl_codec_templates(void)
{
    return NTEMPLATES;
}

/* ---- parameters -------------------------------------------------------- */

static int put_varint(uint8_t *out, size_t cap, size_t *o, uint64_t v)
{
    do {
        if (*o >= cap)
            return -1;
        uint8_t b = v & 0x7f;
        v >>= 7;
        out[(*o)++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
    return 0;
}

static int get_varint(const uint8_t *in, size_t len, size_t *i, uint64_t *v)
{
    *v = 0;
    for (int s = 0; s < 64; s += 7) {
        if (*i >= len)
            return -1;
        uint8_t b = in[(*i)++];
        if (s == 63 && b > 1)
            return -1; /* more than 64 bits */
        *v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

/* The detector's clock words for ts (det_explain.c, hhmm). */
static int minute_of_day(int64_t ts_ms)
{
    double t = fmod((double)ts_ms / 1000.0, 86400.0);
    if (t < 0)
        t += 86400.0;
    return (int)(t / 60.0);
}

/* ---- rendering (the decoder, and the encoder's check) ------------------ */

typedef struct {
    const uint8_t *in;
    size_t len, i;
    char *text;
    size_t cap, o;
    const char *metric;
    int64_t ts_ms;
    double value;   /* the record's value */
    int value_slot; /* 1 until the first %N, which is the value (0x03 form) */
    int unit_set;
    size_t unit_len;
    const uint8_t *unit; /* points into in */
} render_ctx;

static int emit(render_ctx *r, const void *p, size_t n)
{
    if (r->o + n >= r->cap)
        return -1;
    memcpy(r->text + r->o, p, n);
    r->o += n;
    return 0;
}

/* The detector's words for a reading's value (det_explain.c, det_num).
 * Returns the length, or -1 when v is not finite. */
static int value_words(char *buf, size_t n, double v)
{
    double a = fabs(v);
    if (!isfinite(v))
        return -1;
    int k = a >= 10 ? snprintf(buf, n, "%.1f", v)
            : a >= 1 || a == 0 ? snprintf(buf, n, "%.2f", v)
                               : snprintf(buf, n, "%.3g", v);
    return k > 0 && (size_t)k < n ? k : -1;
}

static int render_number(render_ctx *r)
{
    uint64_t v;
    char digits[24], buf[32];
    if (r->value_slot) {
        r->value_slot = 0;
        int k = value_words(buf, sizeof buf, r->value);
        return k < 0 ? -1 : emit(r, buf, (size_t)k);
    }
    if (get_varint(r->in, r->len, &r->i, &v) < 0)
        return -1;
    unsigned d = (unsigned)(v & 7);
    uint64_t zz = v >> 3;
    int neg = (int)(zz & 1);
    uint64_t m = (zz >> 1);
    if (neg)
        m += 1; /* zigzag: odd values are -(m + 1), so -0 cannot be written */
    int n = snprintf(digits, sizeof digits, "%0*llu", (int)d + 1, (unsigned long long)m);
    if (n < 0 || n >= (int)sizeof digits)
        return -1;
    size_t k = 0;
    if (neg)
        buf[k++] = '-';
    memcpy(buf + k, digits, (size_t)n - d);
    k += (size_t)n - d;
    if (d) {
        buf[k++] = '.';
        memcpy(buf + k, digits + n - d, d);
        k += d;
    }
    return emit(r, buf, k);
}

static int render_bytes(render_ctx *r, size_t n, const uint8_t **where)
{
    if (r->i + n > r->len || memchr(r->in + r->i, 0, n))
        return -1;
    if (where)
        *where = r->in + r->i;
    int rc = emit(r, r->in + r->i, n);
    r->i += n;
    return rc;
}

static int render(render_ctx *r, const char *tp)
{
    for (; *tp; tp++) {
        if (*tp != '%') {
            if (emit(r, tp, 1) < 0)
                return -1;
            continue;
        }
        uint64_t v;
        switch (*++tp) {
        case 'M':
            if (emit(r, r->metric, strlen(r->metric)) < 0)
                return -1;
            break;
        case 'N':
            if (render_number(r) < 0)
                return -1;
            break;
        case 'U':
            if (!r->unit_set) {
                if (r->i >= r->len || r->in[r->i] > MAX_UNIT)
                    return -1;
                r->unit_len = r->in[r->i++];
                r->unit_set = 1;
                if (r->unit_len &&
                    (emit(r, " ", 1) < 0 || render_bytes(r, r->unit_len, &r->unit) < 0))
                    return -1;
            } else if (r->unit_len && (emit(r, " ", 1) < 0 || emit(r, r->unit, r->unit_len) < 0)) {
                return -1;
            }
            break;
        case 'H': {
            char buf[16];
            if (get_varint(r->in, r->len, &r->i, &v) < 0 || v > 1440)
                return -1;
            unsigned m = v == 0 ? (unsigned)minute_of_day(r->ts_ms) : (unsigned)v - 1;
            if (m >= 1440)
                return -1;
            buf[0] = (char)('0' + m / 600);
            buf[1] = (char)('0' + m / 60 % 10);
            buf[2] = ':';
            buf[3] = (char)('0' + m % 60 / 10);
            buf[4] = (char)('0' + m % 10);
            memcpy(buf + 5, " UTC", 4);
            if (emit(r, buf, 9) < 0)
                return -1;
            break;
        }
        case 'W':
            if (r->i >= r->len || r->in[r->i] >= NWORDS)
                return -1;
            if (emit(r, words[r->in[r->i]], strlen(words[r->in[r->i]])) < 0)
                return -1;
            r->i++;
            break;
        case 'S':
            if (r->i >= r->len || r->in[r->i] < 1 || r->in[r->i] > MAX_STR)
                return -1;
            r->i++;
            if (render_bytes(r, r->in[r->i - 1], NULL) < 0)
                return -1;
            break;
        case 'T':
            if (r->i >= r->len)
                return -1;
            switch (r->in[r->i++]) {
            case 0:
                break;
            case 1:
                if (render(r, fleet) < 0)
                    return -1;
                break;
            case 2:
                if (get_varint(r->in, r->len, &r->i, &v) < 0 || v < 1 || v >= MAX_TEXT ||
                    render_bytes(r, (size_t)v, NULL) < 0)
                    return -1;
                break;
            default:
                return -1;
            }
            break;
        default:
            return -1; /* not reached: the templates are ours */
        }
    }
    return 0;
}

int expl_codec_decode(const uint8_t *in, size_t len, const char *metric, int64_t ts_ms, char *text,
                      size_t cap)
{
    return expl_codec_decode_v(in, len, metric, ts_ms, NAN, text, cap);
}

int expl_codec_decode_v(const uint8_t *in, size_t len, const char *metric, int64_t ts_ms,
                        double value, char *text, size_t cap)
{
    if (cap == 0)
        return -1;
    text[0] = 0;
    if (len == 0)
        return 0;
    int vs = in[0] == EXPL_CODEC_TEMPLATE_VALUE;
    if (vs && !isfinite(value))
        return -1;
    if (in[0] != EXPL_CODEC_TEMPLATE && !vs) {
        size_t skip = in[0] == EXPL_CODEC_ESCAPED;
        size_t n = len - skip;
        if (n >= cap || memchr(in + skip, 0, n) || (skip && (n == 0 || in[1] >= 0x20)))
            return -1;
        memcpy(text, in + skip, n);
        text[n] = 0;
        return (int)n;
    }
    if (len < 2 || in[1] >= NTEMPLATES)
        return -1;
    render_ctx r = {.in = in,
                    .len = len,
                    .i = 2,
                    .text = text,
                    .cap = cap,
                    .metric = metric,
                    .ts_ms = ts_ms,
                    .value = value,
                    .value_slot = vs};
    if (render(&r, templates[in[1]]) < 0 || r.i != len || r.value_slot) {
        text[0] = 0;
        return -1;
    }
    text[r.o] = 0;
    return (int)r.o;
}

/* ---- matching (the encoder) -------------------------------------------- */

typedef struct {
    const char *t;
    size_t tlen;
    const char *metric;
    int64_t ts_ms;
    uint8_t *out;
    size_t cap;
    const char *vtext; /* the value's words for the first %N (0x03 form), or NULL */
    int unit_set;
    size_t unit_at, unit_len; /* the unit's bytes in t (after the space) */
} match_ctx;

static int match(match_ctx *c, const char *tp, size_t ti, size_t o);

/* A decimal token at t[ti]: -?D+(.D+)? with at most 18 digits and 7 decimals. */
static int match_number(match_ctx *c, const char *tp, size_t ti, size_t o)
{
    if (c->vtext) { /* the record's value: no parameter */
        const char *v = c->vtext;
        size_t n = strlen(v);
        if (ti + n > c->tlen || memcmp(c->t + ti, v, n) != 0)
            return -1;
        c->vtext = NULL;
        int r = match(c, tp, ti + n, o);
        c->vtext = v;
        return r;
    }
    size_t k = ti, nd = 0, dec = 0;
    int neg = 0, point = 0;
    uint64_t m = 0;
    if (k < c->tlen && c->t[k] == '-') {
        neg = 1;
        k++;
    }
    for (; k < c->tlen; k++) {
        char ch = c->t[k];
        if (ch >= '0' && ch <= '9') {
            if (++nd > 18)
                return -1;
            m = m * 10 + (uint64_t)(ch - '0');
            dec += point;
        } else if (ch == '.' && !point && nd && k + 1 < c->tlen && c->t[k + 1] >= '0' &&
                   c->t[k + 1] <= '9') {
            point = 1;
        } else {
            break;
        }
    }
    if (nd == 0 || dec > 7 || (neg && m == 0))
        return -1;
    uint64_t zz = neg ? ((m - 1) << 1) | 1 : m << 1;
    if (put_varint(c->out, c->cap, &o, zz * 8 + dec) < 0)
        return -1;
    return match(c, tp, k, o);
}

static int match_unit(match_ctx *c, const char *tp, size_t ti, size_t o)
{
    if (c->unit_set) {
        if (c->unit_len == 0)
            return match(c, tp, ti, o);
        if (ti + 1 + c->unit_len > c->tlen || c->t[ti] != ' ' ||
            memcmp(c->t + ti + 1, c->t + c->unit_at, c->unit_len) != 0)
            return -1;
        return match(c, tp, ti + 1 + c->unit_len, o);
    }
    if (o >= c->cap)
        return -1;
    c->unit_set = 1;
    for (size_t n = 0; n <= MAX_UNIT; n++) {
        size_t used = n ? n + 1 : 0;
        if (ti + used > c->tlen || (n && c->t[ti] != ' '))
            break;
        if (o + 1 + n > c->cap)
            break;
        c->out[o] = (uint8_t)n;
        memcpy(c->out + o + 1, c->t + ti + 1, n);
        c->unit_at = ti + 1;
        c->unit_len = n;
        int r = match(c, tp, ti + used, o + 1 + n);
        if (r >= 0)
            return r;
    }
    c->unit_set = 0;
    return -1;
}

static int match_clock(match_ctx *c, const char *tp, size_t ti, size_t o)
{
    const char *s = c->t + ti;
    if (ti + 9 > c->tlen || s[2] != ':' || memcmp(s + 5, " UTC", 4) != 0)
        return -1;
    for (int k = 0; k < 5; k++)
        if (k != 2 && (s[k] < '0' || s[k] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), mi = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || mi > 59)
        return -1;
    int m = h * 60 + mi;
    if (put_varint(c->out, c->cap, &o, m == minute_of_day(c->ts_ms) ? 0 : (uint64_t)m + 1) < 0)
        return -1;
    return match(c, tp, ti + 9, o);
}

static int match_tail(match_ctx *c, size_t ti, size_t o)
{
    if (o >= c->cap)
        return -1;
    if (ti == c->tlen) {
        c->out[o] = 0;
        return (int)o + 1;
    }
    c->out[o] = 1;
    int r = match(c, fleet, ti, o + 1);
    if (r >= 0)
        return r;
    size_t n = c->tlen - ti, p = o;
    c->out[p++] = 2;
    if (put_varint(c->out, c->cap, &p, n) < 0 || p + n > c->cap)
        return -1;
    memcpy(c->out + p, c->t + ti, n);
    return (int)(p + n);
}

/* Match t[ti..] against the template from tp, writing parameters from
 * out[o]. Returns the total encoded length, or -1. */
static int match(match_ctx *c, const char *tp, size_t ti, size_t o)
{
    for (; *tp && *tp != '%'; tp++, ti++)
        if (ti >= c->tlen || c->t[ti] != *tp)
            return -1;
    if (!*tp)
        return ti == c->tlen ? (int)o : -1;
    char slot = tp[1];
    tp += 2;
    switch (slot) {
    case 'M': {
        size_t n = strlen(c->metric);
        if (ti + n > c->tlen || memcmp(c->t + ti, c->metric, n) != 0)
            return -1;
        return match(c, tp, ti + n, o);
    }
    case 'N':
        return match_number(c, tp, ti, o);
    case 'U':
        return match_unit(c, tp, ti, o);
    case 'H':
        return match_clock(c, tp, ti, o);
    case 'W':
        if (o >= c->cap)
            return -1;
        for (int w = 0; w < NWORDS; w++) {
            size_t n = strlen(words[w]);
            if (ti + n <= c->tlen && memcmp(c->t + ti, words[w], n) == 0) {
                c->out[o] = (uint8_t)w;
                int r = match(c, tp, ti + n, o + 1);
                if (r >= 0)
                    return r;
            }
        }
        return -1;
    case 'S':
        for (size_t n = 1; n <= MAX_STR && ti + n <= c->tlen && o + 1 + n <= c->cap; n++) {
            c->out[o] = (uint8_t)n;
            memcpy(c->out + o + 1, c->t + ti, n);
            int r = match(c, tp, ti + n, o + 1 + n);
            if (r >= 0)
                return r;
        }
        return -1;
    case 'T':
        return match_tail(c, ti, o);
    default:
        return -1;
    }
}

int expl_codec_encode(const char *text, const char *metric, int64_t ts_ms, uint8_t *out, size_t cap)
{
    return expl_codec_encode_v(text, metric, ts_ms, NAN, out, cap);
}

int expl_codec_encode_v(const char *text, const char *metric, int64_t ts_ms, double value,
                        uint8_t *out, size_t cap)
{
    size_t n = strnlen(text, MAX_TEXT);
    uint8_t tmp[MAX_TEXT + 2];
    char back[MAX_TEXT], vtext[32];
    int has_value = value_words(vtext, sizeof vtext, value) > 0;
    if (n == 0)
        return 0;
    /* each template with its first number as the value (0x03), then without (0x01) */
    for (int t = 0; t < 2 * NTEMPLATES && n < MAX_TEXT; t++) {
        int k = t / 2, vs = !(t & 1);
        if (vs && !has_value)
            continue;
        match_ctx c = {.t = text,
                       .tlen = n,
                       .metric = metric,
                       .ts_ms = ts_ms,
                       .out = tmp,
                       .cap = sizeof tmp,
                       .vtext = vs ? vtext : NULL};
        tmp[0] = vs ? EXPL_CODEC_TEMPLATE_VALUE : EXPL_CODEC_TEMPLATE;
        tmp[1] = (uint8_t)k;
        int len = match(&c, templates[k], 0, 2);
        /* kept only when it renders back to the very text (and is shorter) */
        if (len < 0 || (size_t)len >= n ||
            expl_codec_decode_v(tmp, (size_t)len, metric, ts_ms, value, back, sizeof back) !=
                (int)n ||
            memcmp(back, text, n) != 0)
            continue;
        if ((size_t)len > cap)
            return -1;
        memcpy(out, tmp, (size_t)len);
        return len;
    }
    size_t esc = (unsigned char)text[0] < 0x20;
    if (n + esc > cap)
        return -1;
    if (esc)
        out[0] = EXPL_CODEC_ESCAPED;
    memcpy(out + esc, text, n);
    return (int)(n + esc);
}
