/*
 * alog — AnomalyLogger calldata and event decoding; the record layout is
 * documented in anomaly_log.h and mirrored by contracts/AnomalyLogger.sol. The
 * decoder is the trust boundary for everything read back from a node, so
 * it checks every length, and re-derives the id and sensor hash from the
 * record to confirm the indexed topics.
 */
#include "eth/anomaly_log.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eth/abi.h"
#include "eth/expl_codec.h"
#include "base/hex.h"
#include "eth/keccak.h"
#include "base/bytes.h"

static uint64_t dbl_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static double bits_dbl(uint64_t u)
{
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static int encode_record(const anomaly *a, uint8_t *out, size_t cap, int raw);

int anomaly_log_encode_record(const anomaly *a, uint8_t *out, size_t cap)
{
    return encode_record(a, out, cap, 0);
}

int anomaly_log_encode_record_raw(const anomaly *a, uint8_t *out, size_t cap)
{
    return encode_record(a, out, cap, 1);
}

/* ---- compact numbers (layout in anomaly_log.h) ------------------------- */

#define W_COMPACT 0x8000 /* the header word: compact numbers, bits 0..9 the tail length */
#define W_VALUE_VAR 0x4000 /* the value as a decimal varint */
#define W_SCORE_VAR 0x2000
#define W_VALUE_F7 0x1000 /* the value as a 7-byte decimal */
#define W_SCORE_F7 0x0800
#define W_RESERVED 0x0400
#define W_TAIL 0x03ff

/* How a number of a compact tail is stored. */
enum { NUM_RAW, NUM_VAR, NUM_F7 };

static int put_uvarint(uint8_t *out, uint64_t v)
{
    int n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        out[n++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
    return n;
}

/* Returns the bytes read (1..10), or -1 when truncated or over 64 bits. */
static int get_uvarint(const uint8_t *in, size_t len, uint64_t *v)
{
    *v = 0;
    for (int s = 0, i = 0; s < 64; s += 7, i++) {
        if ((size_t)i >= len || (s == 63 && in[i] > 1))
            return -1;
        *v |= (uint64_t)(in[i] & 0x7f) << s;
        if (!(in[i] & 0x80))
            return i + 1;
    }
    return -1;
}

/* The double of the decimal zz / 10^d (zz: zigzag of the digits m): the
 * digits printed and read back (strtod rounds correctly, so every reader
 * gets the same bits). Returns 0, or -1 when malformed. */
static int dec_value(uint64_t zz, unsigned d, double *out)
{
    char digits[32], buf[48];
    uint64_t m = (zz >> 1) + (zz & 1);
    int n = snprintf(digits, sizeof digits, "%0*llu", (int)d + 1, (unsigned long long)m);
    if (n < 0 || n >= (int)sizeof digits)
        return -1;
    snprintf(buf, sizeof buf, "%s%.*s.%s", zz & 1 ? "-" : "", n - (int)d, digits, digits + n - d);
    *out = strtod(buf, NULL);
    return isfinite(*out) ? 0 : -1;
}

/* The shortest decimal -?m/10^d that strtod reads back as x, as zigzag(m)
 * and d. Returns 0, or -1 when there is none without an exponent. */
static int dec_parse(double x, uint64_t *zz, unsigned *d)
{
    char buf[40];
    if (!isfinite(x) || (x == 0 && signbit(x)))
        return -1;
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) != x)
            continue;
        const char *c = buf;
        int neg = *c == '-', point = 0;
        unsigned nd = 0;
        uint64_t m = 0;
        *d = 0;
        for (c += neg; *c; c++) {
            if (*c == '.' && !point) {
                point = 1;
            } else if (*c >= '0' && *c <= '9' && nd < 18) {
                m = m * 10 + (uint64_t)(*c - '0');
                nd++;
                *d += (unsigned)point;
            } else {
                return -1; /* an exponent */
            }
        }
        if (neg && m == 0)
            return -1;
        *zz = neg ? ((m - 1) << 1) | 1 : m << 1;
        return 0;
    }
    return -1;
}

/* x in its shortest exact form: a varint of zigzag(m) * 8 + d (d <= 7)
 * when under 8 bytes, else 7 bytes big-endian of zigzag(m) * 16 + d
 * (d <= 15) when that fits, else raw. Out: *form. Returns the length
 * (1..7), or 0 (NUM_RAW). The round trip is checked bit for bit. */
static int dec_encode(double x, uint8_t out[10], int *form)
{
    uint64_t zz;
    unsigned d;
    double back;
    *form = NUM_RAW;
    if (dec_parse(x, &zz, &d) < 0)
        return 0;
    if (d <= 7 && zz < (1ULL << 49)) {
        int n = put_uvarint(out, zz * 8 + d);
        if (n < 8 && dec_value(zz, d, &back) == 0 && memcmp(&back, &x, 8) == 0) {
            *form = NUM_VAR;
            return n;
        }
    }
    if (d <= 15 && zz < (1ULL << 52) && dec_value(zz, d, &back) == 0 &&
        memcmp(&back, &x, 8) == 0) {
        uint64_t v = zz * 16 + d;
        for (int i = 0; i < 7; i++)
            out[i] = (uint8_t)(v >> (8 * (6 - i)));
        *form = NUM_F7;
        return 7;
    }
    return 0;
}

/* One number of a compact tail at in[0..len-1] in its form.
 * Returns the bytes read, or -1. */
static int get_number(const uint8_t *in, size_t len, int form, double *x)
{
    uint64_t v = 0;
    int n;
    switch (form) {
    case NUM_RAW:
        if (len < 8)
            return -1;
        *x = bits_dbl(bytes_get_be64(in));
        return 8;
    case NUM_VAR:
        n = get_uvarint(in, len, &v);
        return n > 0 && dec_value(v >> 3, (unsigned)(v & 7), x) == 0 ? n : -1;
    default:
        if (len < 7)
            return -1;
        for (int i = 0; i < 7; i++)
            v = v << 8 | in[i];
        return dec_value(v >> 4, (unsigned)(v & 15), x) == 0 ? 7 : -1;
    }
}

/* The form of the value (k 0) or score (k 1) in header word w. */
static int num_form(unsigned w, int k)
{
    if (!(w & W_COMPACT))
        return NUM_RAW;
    unsigned var = k ? W_SCORE_VAR : W_VALUE_VAR, f7 = k ? W_SCORE_F7 : W_VALUE_F7;
    if ((w & var) && (w & f7))
        return -1;
    return (w & var) ? NUM_VAR : (w & f7) ? NUM_F7 : NUM_RAW;
}

static int encode_record(const anomaly *a, uint8_t *out, size_t cap, int raw)
{
    size_t sl = strnlen(a->sensor_id, sizeof a->sensor_id);
    size_t ml = strnlen(a->metric, sizeof a->metric);
    size_t n, p = 4;
    uint8_t ex[511], num[2][10];
    int nl[2] = {0, 0}, form[2] = {NUM_RAW, NUM_RAW};

    if (sl < 1 || sl > 64 || ml < 1 || ml > 31)
        return -1;
    if (!isfinite(a->ts) || !isfinite(a->value) || !isfinite(a->score) || fabs(a->ts) > 9.0e15 ||
        (int)a->type < 0 || (int)a->type > ANOMALY_CHANGE_POINT)
        return -1;
    int64_t ts_ms = (int64_t)llround(a->ts * 1000.0);
    /* the explanation as its template and parameters where one matches (eth/expl_codec.h) */
    int exl = raw ? (int)strnlen(a->explanation, sizeof a->explanation)
                  : expl_codec_encode_v(a->explanation, a->metric, ts_ms, a->value, ex, sizeof ex);
    if (exl < 0 || exl > 511)
        return -1;
    if (raw)
        memcpy(ex, a->explanation, (size_t)exl);
    size_t el = (size_t)exl;
    if (!raw) {
        nl[0] = dec_encode(a->value, num[0], &form[0]);
        nl[1] = dec_encode(a->score, num[1], &form[1]);
    }
    size_t tl = (size_t)(nl[0] ? nl[0] : 8) + (size_t)(nl[1] ? nl[1] : 8) + el;
    n = 4 + sl + 1 + ml + 1 + 9 + tl;
    if (n > cap)
        return -1;
    out[0] = (uint8_t)sl;
    out[1] = (uint8_t)ml;
    bytes_put_be16(out + 2, raw ? (uint16_t)el
                                : (uint16_t)(W_COMPACT | (form[0] == NUM_VAR ? W_VALUE_VAR : 0) |
                                             (form[0] == NUM_F7 ? W_VALUE_F7 : 0) |
                                             (form[1] == NUM_VAR ? W_SCORE_VAR : 0) |
                                             (form[1] == NUM_F7 ? W_SCORE_F7 : 0) | tl));
    memcpy(out + p, a->sensor_id, sl);
    p += sl;
    out[p++] = 0;
    memcpy(out + p, a->metric, ml);
    p += ml;
    out[p++] = 0;
    bytes_put_be64(out + p, (uint64_t)ts_ms);
    p += 8;
    out[p++] = (uint8_t)a->type;
    double x[2] = {a->value, a->score};
    for (int k = 0; k < 2; k++) {
        if (nl[k]) {
            memcpy(out + p, num[k], (size_t)nl[k]);
            p += (size_t)nl[k];
        } else {
            bytes_put_be64(out + p, dbl_bits(x[k]));
            p += 8;
        }
    }
    memcpy(out + p, ex, el);
    return (int)n;
}

/* The tail length (value, score, explanation) of an anomaly record's
 * header word w, or -1 when w is out of range. */
static long tail_len(unsigned w)
{
    if (!(w & W_COMPACT))
        return w <= 511 ? (long)w + 16 : -1;
    return (w & W_RESERVED) || (w & W_TAIL) > 527 ? -1 : (long)(w & W_TAIL);
}

/* Length of the record starting at rec (header only), or 0 if malformed. */
static size_t record_len(const uint8_t *rec, size_t avail)
{
    if (avail < 4)
        return 0;
    size_t sl = rec[0], ml = rec[1];
    long tl = tail_len(bytes_get_be16(rec + 2));
    if (sl < 1 || sl > 64 || ml < 1 || ml > 31 || tl < 0)
        return 0;
    size_t n = 4 + sl + 1 + ml + 1 + 9 + (size_t)tl;
    return n <= avail ? n : 0;
}

/* ---- alarm event records (kind 0x01) ---------------------------------- */

int anomaly_log_alarm_event_logged(alarm_event_type ev)
{
    return ev == ALARM_EV_OPENED || ev == ALARM_EV_ACKNOWLEDGED || ev == ALARM_EV_MUTED ||
           ev == ALARM_EV_FALSE_POSITIVE || ev == ALARM_EV_CLEARED;
}

/* Lengths of an alarm event's fields; 0 when one is out of range. */
static int alarm_lens(const alarm_log_event *ev, size_t *sl, size_t *ml, size_t *al, size_t *bl)
{
    *sl = strnlen(ev->sensor_id, sizeof ev->sensor_id);
    *ml = strnlen(ev->metric, sizeof ev->metric);
    *al = strnlen(ev->alarm_id, sizeof ev->alarm_id);
    *bl = strnlen(ev->by, sizeof ev->by);
    if (*sl < 1 || *sl > 64 || *ml < 1 || *ml > 31 || *al < 1 || *al > 64 || *bl > 64 ||
        ev->at < 0 || (int)ev->event < 0 || ev->event > ALARM_EV_REMINDER)
        return 0;
    if (*bl && !alarm_who_valid(ev->by))
        return 0;
    return 1;
}

int anomaly_log_encode_alarm(const alarm_log_event *ev, uint8_t *out, size_t cap)
{
    size_t sl, ml, al, bl, p = 6;
    if (!alarm_lens(ev, &sl, &ml, &al, &bl))
        return -1;
    size_t n = 6 + sl + 1 + ml + 1 + al + 1 + 9 + bl;
    if (n > cap)
        return -1;
    out[0] = 0;
    out[1] = ANOMALY_LOG_KIND_ALARM;
    out[2] = (uint8_t)sl;
    out[3] = (uint8_t)ml;
    out[4] = (uint8_t)al;
    out[5] = (uint8_t)bl;
    memcpy(out + p, ev->sensor_id, sl);
    p += sl;
    out[p++] = 0;
    memcpy(out + p, ev->metric, ml);
    p += ml;
    out[p++] = 0;
    memcpy(out + p, ev->alarm_id, al);
    p += al;
    out[p++] = 0;
    bytes_put_be64(out + p, (uint64_t)ev->at);
    p += 8;
    out[p++] = (uint8_t)(ANOMALY_LOG_ALARM_CODE + ev->event);
    memcpy(out + p, ev->by, bl);
    return (int)n;
}

/* Length of the alarm record at rec (header only), or 0 if malformed. */
static size_t alarm_record_len(const uint8_t *rec, size_t avail)
{
    if (avail < 6 || rec[0] != 0 || rec[1] != ANOMALY_LOG_KIND_ALARM)
        return 0;
    size_t sl = rec[2], ml = rec[3], al = rec[4], bl = rec[5];
    if (sl < 1 || sl > 64 || ml < 1 || ml > 31 || al < 1 || al > 64 || bl > 64)
        return 0;
    size_t n = 6 + sl + 1 + ml + 1 + al + 1 + 9 + bl;
    return n <= avail ? n : 0;
}

/* Copy a NUL-terminated field of length n from p (which must hold no NUL
 * and be followed by one). Returns 0 or -1. */
static int take_field(char *dst, const uint8_t *p, size_t n)
{
    if (memchr(p, 0, n) || p[n] != 0)
        return -1;
    memcpy(dst, p, n);
    dst[n] = 0;
    return 0;
}

int anomaly_log_decode_alarm(const uint8_t *rec, size_t len, alarm_log_event *out)
{
    size_t n = alarm_record_len(rec, len);
    if (n == 0 || n != len)
        return -1;
    size_t sl = rec[2], ml = rec[3], al = rec[4], bl = rec[5];
    const uint8_t *pre = rec + 6, *p = pre;
    size_t prelen = sl + 1 + ml + 1 + al + 1 + 9;
    uint8_t id[32];

    memset(out, 0, sizeof(*out));
    if (take_field(out->sensor_id, p, sl) < 0)
        return -1;
    p += sl + 1;
    if (take_field(out->metric, p, ml) < 0)
        return -1;
    p += ml + 1;
    if (take_field(out->alarm_id, p, al) < 0)
        return -1;
    p += al + 1;
    out->at = (int64_t)bytes_get_be64(p);
    p += 8;
    if (out->at < 0 || *p < ANOMALY_LOG_ALARM_CODE ||
        *p > ANOMALY_LOG_ALARM_CODE + ALARM_EV_REMINDER)
        return -1;
    out->event = (alarm_event_type)(*p++ - ANOMALY_LOG_ALARM_CODE);
    if (memchr(p, 0, bl))
        return -1;
    memcpy(out->by, p, bl);
    out->by[bl] = 0;
    if (bl && !alarm_who_valid(out->by))
        return -1;
    keccak256(pre, prelen, id);
    hex_encode(out->id, id, 32, 0);
    return 0;
}

int anomaly_log_alarm_make_id(alarm_log_event *ev)
{
    uint8_t rec[ANOMALY_LOG_ALARM_RECORD_MAX], id[32];
    int n = anomaly_log_encode_alarm(ev, rec, sizeof rec);
    if (n < 0)
        return -1;
    keccak256(rec + 6, (size_t)n - 6 - rec[5], id);
    hex_encode(ev->id, id, 32, 0);
    return 0;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

int anomaly_log_alarm_from_event(const alarm_event *in, alarm_log_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    if (!anomaly_log_alarm_event_logged(in->event))
        return -1;
    copy_str(ev->sensor_id, sizeof ev->sensor_id, in->alarm.sensor_id);
    copy_str(ev->metric, sizeof ev->metric, in->alarm.metric);
    copy_str(ev->alarm_id, sizeof ev->alarm_id, in->alarm.id);
    copy_str(ev->by, sizeof ev->by, in->by);
    ev->event = in->event;
    ev->at = in->at;
    return anomaly_log_alarm_make_id(ev);
}

/* ---- any kind ---------------------------------------------------------- */

/* Length of the record of either kind at rec (header only; it may be
 * followed by more bytes), or 0 when malformed. */
static size_t any_record_len(const uint8_t *rec, size_t avail)
{
    if (avail >= 1 && rec[0] == 0)
        return alarm_record_len(rec, avail);
    return record_len(rec, avail);
}

int anomaly_log_record_kind(const uint8_t *rec, size_t len)
{
    if (len < 2)
        return -1;
    if (rec[0] != 0)
        return 0;
    return rec[1] == ANOMALY_LOG_KIND_ALARM ? ANOMALY_LOG_KIND_ALARM : -1;
}

int anomaly_log_decode_any(const uint8_t *rec, size_t len, anomaly_log_rec *out)
{
    int k = anomaly_log_record_kind(rec, len);
    out->kind = k;
    if (k == 0)
        return anomaly_log_decode_record(rec, len, &out->a);
    if (k == ANOMALY_LOG_KIND_ALARM)
        return anomaly_log_decode_alarm(rec, len, &out->e);
    return -1;
}

int anomaly_log_encode_any(const anomaly_log_rec *r, uint8_t *out, size_t cap)
{
    if (r->kind == 0)
        return anomaly_log_encode_record(&r->a, out, cap);
    if (r->kind == ANOMALY_LOG_KIND_ALARM)
        return anomaly_log_encode_alarm(&r->e, out, cap);
    return -1;
}

const char *anomaly_log_rec_id(const anomaly_log_rec *r)
{
    return r->kind == 0 ? r->a.id : r->e.id;
}

const char *anomaly_log_rec_sensor(const anomaly_log_rec *r)
{
    return r->kind == 0 ? r->a.sensor_id : r->e.sensor_id;
}

int anomaly_log_record_ts_ms(const uint8_t *rec, size_t len, int64_t *ts_ms)
{
    if (anomaly_log_record_kind(rec, len) == ANOMALY_LOG_KIND_ALARM) {
        size_t an = alarm_record_len(rec, len);
        if (an == 0 || an != len)
            return -1;
        *ts_ms = (int64_t)bytes_get_be64(rec + 6 + rec[2] + 1 + rec[3] + 1 + rec[4] + 1);
        return 0;
    }
    size_t n = record_len(rec, len);
    if (n == 0 || n != len)
        return -1;
    *ts_ms = (int64_t)bytes_get_be64(rec + 4 + rec[0] + 1 + rec[1] + 1);
    return 0;
}

int anomaly_log_decode_record(const uint8_t *rec, size_t len, anomaly *out)
{
    size_t n = record_len(rec, len);
    if (n == 0 || n != len)
        return -1;
    size_t sl = rec[0], ml = rec[1];
    unsigned w = bytes_get_be16(rec + 2);
    const uint8_t *pre = rec + 4, *p = rec + 4;
    size_t prelen = sl + 1 + ml + 1 + 9;
    uint8_t id[32];

    memset(out, 0, sizeof(*out));
    if (memchr(p, 0, sl) || p[sl] != 0)
        return -1;
    memcpy(out->sensor_id, p, sl);
    p += sl + 1;
    if (memchr(p, 0, ml) || p[ml] != 0)
        return -1;
    memcpy(out->metric, p, ml);
    p += ml + 1;
    int64_t ts_ms = (int64_t)bytes_get_be64(p);
    out->ts = (double)ts_ms / 1000.0;
    p += 8;
    if (*p > ANOMALY_CHANGE_POINT)
        return -1;
    out->type = (anomaly_type)*p++;
    const uint8_t *end = rec + n;
    int vf = num_form(w, 0), sf = num_form(w, 1);
    int vn = vf < 0 ? -1 : get_number(p, (size_t)(end - p), vf, &out->value);
    if (vn < 0)
        return -1;
    p += vn;
    int sn = sf < 0 ? -1 : get_number(p, (size_t)(end - p), sf, &out->score);
    if (sn < 0)
        return -1;
    p += sn;
    size_t el = (size_t)(end - p);
    if (!isfinite(out->value) || !isfinite(out->score) || el > 511)
        return -1;
    if (expl_codec_decode_v(p, el, out->metric, ts_ms, out->value, out->explanation,
                            sizeof out->explanation) < 0)
        return -1;
    out->expected_low = out->expected_high = NAN;
    out->model_version = -1;
    keccak256(pre, prelen, id);
    hex_encode(out->id, id, 32, 0);
    return 0;
}

int anomaly_log_encode_batch(const anomaly *a, size_t n, uint64_t first_seq, uint8_t **out, size_t *len)
{
    int rc = -1;
    uint8_t *packed = NULL, sel[4];
    size_t plen = 0;

    *out = NULL;
    *len = 0;
    if (n == 0 || n > ANOMALY_LOG_MAX_BATCH)
        return -1;
    packed = malloc(n * ANOMALY_LOG_RECORD_MAX);
    if (!packed)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int r = anomaly_log_encode_record(&a[i], packed + plen, ANOMALY_LOG_RECORD_MAX);
        if (r < 0)
            goto out;
        plen += (size_t)r;
    }
    abi_selector(ANOMALY_LOG_BATCH_SIG, sel);
    abi_arg args[2] = {
        {.type = ABI_UINT, .u = first_seq},
        {.type = ABI_BYTES, .p = packed, .len = plen},
    };
    rc = abi_encode(sel, args, 2, out, len);
out:
    free(packed);
    return rc;
}

static char topic_hex[67], batch_topic_hex[67], record_topic_hex[67], recorded_topic_hex[67];
static pthread_once_t topic_once = PTHREAD_ONCE_INIT;
static void topic_init(void)
{
    uint8_t t[32];
    abi_topic(ANOMALY_LOG_EVENT_SIG, t);
    hex_encode(topic_hex, t, 32, 1);
    abi_topic(ANOMALY_LOG_BATCH_EVENT_SIG, t);
    hex_encode(batch_topic_hex, t, 32, 1);
    abi_topic(ANOMALY_LOG_RECORD_EVENT_SIG, t);
    hex_encode(record_topic_hex, t, 32, 1);
    abi_topic(ANOMALY_LOG_RECORDED_EVENT_SIG, t);
    hex_encode(recorded_topic_hex, t, 32, 1);
}

const char *anomaly_log_recorded_topic(void)
{
    pthread_once(&topic_once, topic_init);
    return recorded_topic_hex;
}

const char *anomaly_log_record_topic(void)
{
    pthread_once(&topic_once, topic_init);
    return record_topic_hex;
}

json_t *anomaly_log_event_topic0(void)
{
    return json_pack("[s, s, s]", anomaly_log_recorded_topic(), anomaly_log_record_topic(),
                     anomaly_log_event_topic());
}

const char *anomaly_log_event_topic(void)
{
    pthread_once(&topic_once, topic_init);
    return topic_hex;
}

const char *anomaly_log_batch_topic(void)
{
    pthread_once(&topic_once, topic_init);
    return batch_topic_hex;
}

/* Read a JSON-RPC hex quantity member; 0 or -1. */
static int get_qty(const json_t *o, const char *key, uint64_t *v)
{
    json_t *j = json_object_get(o, key);
    return json_is_string(j) && hex_to_u64(json_string_value(j), v) == 0 ? 0 : -1;
}

static int get_b32(const json_t *j, uint8_t out[32])
{
    return json_is_string(j) && strlen(json_string_value(j)) == 66 &&
                   hex_decode(out, 32, json_string_value(j)) == 32
               ? 0
               : -1;
}

int anomaly_log_decode_log(const json_t *log, anomaly *out, anomaly_log_proof *proof)
{
    anomaly_log_rec *r = malloc(sizeof(*r));
    if (!r)
        return -1;
    int rc = anomaly_log_decode_log_any(log, r, proof);
    if (rc == 0 && r->kind != 0)
        rc = ANOMALY_LOG_OTHER_KIND;
    if (rc == 0)
        *out = r->a;
    free(r);
    return rc;
}

int anomaly_log_decode_log_any(const json_t *log, anomaly_log_rec *out, anomaly_log_proof *proof)
{
    int rc = -1;
    uint8_t t[4][32], addr[20], h[32], *data = NULL;
    const uint8_t *rec;
    size_t reclen;
    uint64_t seq, bn = 0, li = 0;
    json_t *topics, *jd, *rm;
    const char *ds;
    long dl;

    if (!json_is_object(log))
        return -1;
    rm = json_object_get(log, "removed");
    if (json_is_true(rm))
        return -1;
    /* Recorded(id, logger): 3 topics; RecordLogged and AnomalyLogged (id,
     * sensorHash, logger): 4. The first two carry packed data. */
    topics = json_object_get(log, "topics");
    size_t nt = json_array_size(topics);
    if (!json_is_array(topics) || (nt != 3 && nt != 4))
        return -1;
    for (size_t i = 0; i < nt; i++)
        if (get_b32(json_array_get(topics, i), t[i]) < 0)
            return -1;
    const char *t0 = json_string_value(json_array_get(topics, 0));
    int packed = nt == 3 ? strcasecmp(t0, anomaly_log_recorded_topic()) == 0
                         : strcasecmp(t0, anomaly_log_record_topic()) == 0;
    if (!packed && (nt != 4 || strcasecmp(t0, anomaly_log_event_topic()) != 0))
        return -1;
    if (abi_get_address(t[nt - 1], addr) < 0)
        return -1;
    jd = json_object_get(log, "data");
    if (!json_is_string(jd))
        return -1;
    ds = json_string_value(jd);
    size_t dslen = strlen(ds);
    if (dslen > 2 * 65536 + 2 || dslen < 2)
        return -1;
    data = malloc(dslen / 2 + 1);
    if (!data)
        return -1;
    dl = hex_decode(data, dslen / 2 + 1, ds);
    if (packed && nt == 3) {
        /* record ++ seq (big-endian, 1..8 bytes: what the record's header leaves) */
        size_t rl = dl > 0 ? any_record_len(data, (size_t)dl) : 0;
        if (rl == 0 || (size_t)dl - rl < 1 || (size_t)dl - rl > 8)
            goto out;
        seq = 0;
        for (size_t i = rl; i < (size_t)dl; i++)
            seq = seq << 8 | data[i];
        rec = data;
        reclen = rl;
    } else if (packed) {
        /* seq (8 bytes) ++ record */
        if (dl < 8 + 2)
            goto out;
        seq = bytes_get_be64(data);
        rec = data + 8;
        reclen = (size_t)dl - 8;
    } else if (dl < 96 || abi_get_u64(data, &seq) < 0 ||
               abi_get_bytes(data, (size_t)dl, 1, &rec, &reclen) < 0) {
        goto out;
    }
    if (anomaly_log_decode_any(rec, reclen, out) < 0)
        goto out;
    /* The contract derives both topics from the record; check they agree. */
    uint8_t idb[32];
    const char *sensor = anomaly_log_rec_sensor(out);
    if (hex_decode(idb, 32, anomaly_log_rec_id(out)) != 32 || memcmp(idb, t[1], 32) != 0)
        goto out;
    keccak256(sensor, strlen(sensor), h);
    if (nt == 4 && memcmp(h, t[2], 32) != 0)
        goto out;
    if (proof) {
        memset(proof, 0, sizeof(*proof));
        json_t *th = json_object_get(log, "transactionHash");
        uint8_t txh[32];
        if (get_b32(th, txh) == 0)
            hex_encode(proof->tx_hash, txh, 32, 1);
        if (get_qty(log, "blockNumber", &bn) < 0 || get_qty(log, "logIndex", &li) < 0 ||
            li > UINT32_MAX)
            goto out;
        proof->block_number = bn;
        proof->log_index = (uint32_t)li;
        hex_encode(proof->logger, addr, 20, 1);
        proof->seq = seq;
    }
    rc = 0;
out:
    free(data);
    return rc;
}

int anomaly_log_decode_batch_log(const json_t *log, anomaly_log_batch *out)
{
    uint8_t t[3][32], data[96], addr[20];
    uint64_t v, bn, li;
    json_t *topics, *jd;

    if (!json_is_object(log) || json_is_true(json_object_get(log, "removed")))
        return -1;
    topics = json_object_get(log, "topics");
    if (!json_is_array(topics) || json_array_size(topics) != 3)
        return -1;
    for (size_t i = 0; i < 3; i++)
        if (get_b32(json_array_get(topics, i), t[i]) < 0)
            return -1;
    if (strcasecmp(json_string_value(json_array_get(topics, 0)), anomaly_log_batch_topic()) != 0)
        return -1;
    jd = json_object_get(log, "data");
    /* (uint64 firstSeq, uint32 count, bytes32 root): three static words */
    if (!json_is_string(jd) || strlen(json_string_value(jd)) != 2 + 2 * sizeof data ||
        hex_decode(data, sizeof data, json_string_value(jd)) != (long)sizeof data)
        return -1;
    memset(out, 0, sizeof(*out));
    if (abi_get_u64(t[1], &out->batch) < 0 || abi_get_address(t[2], addr) < 0 ||
        abi_get_u64(data, &out->first_seq) < 0 || abi_get_u64(data + 32, &v) < 0 ||
        v > UINT32_MAX)
        return -1;
    out->count = (uint32_t)v;
    memcpy(out->root, data + 64, 32);
    hex_encode(out->logger, addr, 20, 1);
    if (get_b32(json_object_get(log, "transactionHash"), data) < 0 ||
        get_qty(log, "blockNumber", &bn) < 0 || get_qty(log, "logIndex", &li) < 0 ||
        li > UINT32_MAX)
        return -1;
    hex_encode(out->tx_hash, data, 32, 1);
    out->block_number = bn;
    out->log_index = (uint32_t)li;
    return 0;
}
