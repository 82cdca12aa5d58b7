/*
 * anomaly — see anomaly.h. The id hashes only what identifies the event
 * (sensor, metric, reading time, type), not the score or the explanation,
 * so a detector that re-scores the same reading after a restart produces
 * the same id and the chain logger can drop the duplicate.
 */
#include "bus/anomaly.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/bytes.h"
#include "base/errbuf.h"
#include "base/hex.h"
#include "base/jsonbuf.h"
#include "eth/keccak.h"

static const char *const type_names[] = {"point", "contextual", "change_point", "silent", "stuck"};

const char *anomaly_type_name(anomaly_type t)
{
    if ((int)t < 0 || (int)t > ANOMALY_STUCK)
        return NULL;
    return type_names[t];
}

int anomaly_type_parse(const char *name, anomaly_type *out)
{
    for (int i = 0; i <= ANOMALY_STUCK; i++) {
        if (name && strcmp(name, type_names[i]) == 0) {
            *out = (anomaly_type)i;
            return 0;
        }
    }
    return -1;
}

void anomaly_make_id(anomaly *a)
{
    keccak_ctx k;
    uint8_t d[32], be[8];
    int64_t ms = (int64_t)llround(a->ts * 1000.0);
    bytes_put_be64(be, (uint64_t)ms);
    uint8_t type = (uint8_t)a->type, zero = 0;
    keccak_init(&k);
    keccak_update(&k, a->sensor_id, strnlen(a->sensor_id, sizeof a->sensor_id));
    keccak_update(&k, &zero, 1);
    keccak_update(&k, a->metric, strnlen(a->metric, sizeof a->metric));
    keccak_update(&k, &zero, 1);
    keccak_update(&k, be, 8);
    keccak_update(&k, &type, 1);
    keccak_final(&k, d);
    hex_encode(a->id, d, 32, 0);
}

int anomaly_to_json(const anomaly *a, char *buf, size_t cap)
{
    int rc = -1;
    json_t *o = NULL;
    const char *tname = anomaly_type_name(a->type);
    if (!tname || !isfinite(a->ts) || !isfinite(a->value) || !isfinite(a->score))
        return -1;
    /* ts goes out in whole milliseconds, what the id commits to (anomaly_make_id):
     * with more digits the wire's 15 significant ones could round a time
     * just below half a millisecond up, and the receiver's recomputed id
     * would no longer match. */
    double ts_ms = (double)llround(a->ts * 1000.0) / 1000.0;
    o = json_pack("{s:s, s:s, s:f, s:s, s:f, s:f, s:s, s:s}", "id", a->id, "sensor_id",
                  a->sensor_id, "ts", ts_ms, "metric", a->metric, "value", a->value, "score",
                  a->score, "type", tname, "explanation", a->explanation);
    if (!o)
        goto out;
    if (isfinite(a->expected_low) && json_object_set_new(o, "expected_low", json_real(a->expected_low)))
        goto out;
    if (isfinite(a->expected_high) &&
        json_object_set_new(o, "expected_high", json_real(a->expected_high)))
        goto out;
    if (a->model_version >= 0 &&
        json_object_set_new(o, "model_version", json_integer(a->model_version)))
        goto out;
    rc = jsonbuf_dump(o, buf, cap);
out:
    json_decref(o);
    return rc;
}

static int copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* Copy at most cap-1 bytes of the UTF-8 string src, never splitting a
 * character: continuation bytes (10xxxxxx) at the cut are dropped with the
 * lead byte they belong to. */
static void copy_utf8_prefix(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int anomaly_from_json(const void *payload, size_t len, anomaly *out, char *err, size_t errlen)
{
    int rc = READING_ERR_FORMAT;
    json_error_t jerr;
    json_t *root = NULL;
    const char *id, *sensor, *metric, *type, *expl = "";
    double ts, value, score;
    json_t *lo = NULL, *hi = NULL, *ver = NULL;

    /* READING_ERR_TOO_LARGE and READING_ERR_JSON are jsonbuf's codes */
    if ((rc = jsonbuf_load(payload, len, READING_MAX_PAYLOAD, &root, err, errlen)) != 0)
        return rc;
    rc = READING_ERR_FORMAT;
    if (json_unpack_ex(root, &jerr, 0, "{s:s, s:s, s:F, s:s, s:F, s:F, s:s, s?s, s?o, s?o, s?o}",
                       "id", &id, "sensor_id", &sensor, "ts", &ts, "metric", &metric, "value",
                       &value, "score", &score, "type", &type, "explanation", &expl,
                       "expected_low", &lo, "expected_high", &hi, "model_version", &ver) != 0) {
        errbuf_set(err, errlen, "invalid anomaly: %s", jerr.text);
        rc = READING_ERR_TYPE;
        goto out;
    }
    memset(out, 0, sizeof *out);
    uint8_t idb[32];
    if (strlen(id) != 64 || hex_decode(idb, sizeof idb, id) != 32 ||
        copy_str(out->id, sizeof out->id, id)) {
        errbuf_set(err, errlen, "id must be 64 hex digits");
        goto out;
    }
    for (char *p = out->id; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    if (!sensor_id_valid(sensor) || copy_str(out->sensor_id, sizeof out->sensor_id, sensor)) {
        errbuf_set(err, errlen, "invalid sensor_id");
        rc = READING_ERR_SENSOR;
        goto out;
    }
    if (metric[0] == '\0' || copy_str(out->metric, sizeof out->metric, metric)) {
        errbuf_set(err, errlen, "invalid metric");
        goto out;
    }
    if (anomaly_type_parse(type, &out->type) != 0) {
        errbuf_set(err, errlen, "unknown type '%.20s'", type);
        goto out;
    }
    /* Bounds keep every accepted value re-encodable (see READING_MAX_ABS);
     * 1e13 s is some 300,000 years. */
    if (!isfinite(ts) || ts < 0 || ts > 1e13 || !isfinite(value) || fabs(value) > READING_MAX_ABS ||
        !isfinite(score) || score < 0 || score > 1) {
        errbuf_set(err, errlen, "ts, value or score out of range");
        rc = READING_ERR_TS;
        goto out;
    }
    out->ts = ts;
    out->value = value;
    out->score = score;
    /* Explanations longer than the buffer are cut, not rejected, and cut
     * on a character boundary so the text stays valid UTF-8 (jansson
     * refuses to encode it otherwise). */
    copy_utf8_prefix(out->explanation, sizeof out->explanation, expl);
    out->expected_low = json_is_number(lo) ? json_number_value(lo) : NAN;
    out->expected_high = json_is_number(hi) ? json_number_value(hi) : NAN;
    out->model_version = json_is_integer(ver) ? (long)json_integer_value(ver) : -1;
    rc = 0;
out:
    json_decref(root);
    return rc;
}
