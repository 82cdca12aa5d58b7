/*
 * nasty.h — what each parser facing the network must do with any input,
 * written once and used twice: by the libFuzzer harnesses
 * (tests/fuzz/fuzz_<name>.c, run by `make fuzz`) and by the normal unit
 * test that replays every seed of tests/fuzz/corpus/ through every parser
 * (tests/unit/test_nasty.c, under ASan/UBSan too).
 *
 * For each parser: the layout of a fuzz input (which prefix bytes choose
 * what), the call, and its contract beyond memory safety — a negative
 * return comes with a non-empty, NUL-terminated reason; a success yields
 * fields inside their documented bounds; and where we have an encoder, a
 * decoded value survives encode -> decode (the detector, the chain logger
 * and the gateway re-publish what they decode). A broken contract calls
 * NASTY_CHECK, which the includer defines (abort() for libFuzzer, a cmocka
 * failure for the unit test).
 *
 * Each nasty_<parser>() returns a short outcome name that
 * tests/fuzz/corpus/EXPECTED compares with: "ok", "ok:N", "ignored",
 * "invalid", or reading_strerror()'s name of the error.
 */
#ifndef TESTS_FUZZ_NASTY_H
#define TESTS_FUZZ_NASTY_H

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/abi.h"
#include "eth/anomaly_log.h"
#include "bus/anomaly.h"
#include "base/hex.h"
#include "ingest/ingest.h"
#include "eth/keccak.h"
#include "bus/reading.h"
#include "eth/rpc.h"

#ifndef NASTY_CHECK
#define NASTY_CHECK(cond)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: contract violated: %s\n", __FILE__, __LINE__, #cond);  \
            abort();                                                                       \
        }                                                                                  \
    } while (0)
#endif

/* Findings reported to their owners and not fixed yet (listed with their
 * cause in docs/RELIABILITY.md). Unless NASTY_STRICT=1 is in the
 * environment, hitting one is reported once per process and counted, not
 * fatal, so fuzzing goes on past it to find new ones; remove the entry and
 * its NASTY_KNOWN when the fix lands. */
enum {
    NASTY_NKNOWN
};
static const char *const nasty_known_names[NASTY_NKNOWN + 1] = {
};
static unsigned long nasty_known_hits[NASTY_NKNOWN + 1]; /* +1: the list may be empty */

static inline void nasty_known_hit(int k, const char *cond)
{
    static int strict = -1;
    if (strict < 0) {
        const char *e = getenv("NASTY_STRICT");
        strict = e && *e == '1';
    }
    if (strict) {
        fprintf(stderr, "known finding (NASTY_STRICT=1): %s\n", nasty_known_names[k]);
        NASTY_CHECK(!cond);
    }
    if (nasty_known_hits[k]++ == 0)
        fprintf(stderr, "nasty: known finding hit (not fatal; NASTY_STRICT=1 makes it so): %s\n",
                nasty_known_names[k]);
}
#define NASTY_KNOWN(k, cond)                                                               \
    do {                                                                                   \
        if (!(cond))                                                                       \
            nasty_known_hit(k, #cond);                                                     \
    } while (0)

/* A fixed receipt time so runs are reproducible: 2025-11-25T00:00:00Z. */
#define NASTY_NOW 1764028800.0

/* The reason buffer of a failed call: NUL-terminated and not empty. */
static inline int nasty_err_ok(const char *err, size_t cap)
{
    return memchr(err, '\0', cap) != NULL && err[0] != '\0';
}

/* "line\nrest": copy the first line (up to cap-1 bytes) into `line`;
 * returns the offset of the rest, or 0 when no newline is in the first
 * `cap` bytes. */
static inline size_t nasty_split_line(const uint8_t *d, size_t n, char *line, size_t cap)
{
    const uint8_t *nl = memchr(d, '\n', n < cap ? n : cap);
    line[0] = '\0';
    if (!nl)
        return 0;
    size_t l = (size_t)(nl - d);
    memcpy(line, d, l);
    line[l] = '\0';
    return l + 1;
}

static inline int nasty_close(double x, double y)
{
    return x == y || fabs(x - y) <= 1e-13 * fmax(fabs(x), fabs(y));
}

/* ==== reading_decode_json ================================================
 * Input: the payload; when it starts with '@', the first line (without the
 * '@') is the sensor id, else the id is "fuzz-1". */
static inline void nasty_check_reading(const reading *r)
{
    NASTY_CHECK(sensor_id_valid(r->sensor_id));
    NASTY_CHECK(r->n >= 1 && r->n <= READING_MAX_METRICS);
    NASTY_CHECK(isfinite(r->ts) && r->ts >= 0 && r->ts <= NASTY_NOW + READING_MAX_FUTURE_S);
    for (int i = 0; i < r->n; i++) {
        NASTY_CHECK(memchr(r->m[i].name, '\0', READING_NAME_MAX) != NULL);
        NASTY_CHECK(r->m[i].name[0] != '\0');
        NASTY_CHECK(isfinite(r->m[i].value));
        for (int j = 0; j < i; j++)
            NASTY_CHECK(strcmp(r->m[i].name, r->m[j].name) != 0);
    }
}

static inline const char *nasty_reading(const uint8_t *data, size_t size)
{
    char sensor[96] = "fuzz-1", err[256];
    size_t off = 0;
    reading r, r2;

    if (size > 0 && data[0] == '@') {
        off = nasty_split_line(data + 1, size - 1, sensor, sizeof sensor);
        if (off == 0)
            return "-";
        off += 1;
    }
    memset(err, 0x55, sizeof err); /* catch a reason left unterminated */
    int rc = reading_decode_json(sensor, data + off, size - off, NASTY_NOW, &r, err, sizeof err);
    NASTY_CHECK(rc <= 0 && rc >= READING_ERR_FORMAT);
    if (rc < 0) {
        NASTY_CHECK(nasty_err_ok(err, sizeof err));
        return reading_strerror(rc);
    }
    NASTY_CHECK(strcmp(r.sensor_id, sensor) == 0);
    nasty_check_reading(&r);

    /* Round trip: the gateway re-publishes manual readings this way. */
    char buf[4096];
    int n = reading_encode_json(&r, buf, sizeof buf);
    NASTY_CHECK(n > 0 && (size_t)n < sizeof buf && buf[n] == '\0');
    rc = reading_decode_json(sensor, buf, (size_t)n, NASTY_NOW + 1, &r2, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "re-decode of %s failed: %s\n", buf, err);
    NASTY_CHECK(rc == 0);
    NASTY_CHECK(r2.n == r.n);
    NASTY_CHECK(fabs(r2.ts - r.ts) <= 1e-6 * fmax(1.0, fabs(r.ts)));
    for (int i = 0; i < r.n; i++) {
        int j = reading_find(&r2, r.m[i].name);
        NASTY_CHECK(j >= 0);
        NASTY_CHECK(nasty_close(r2.m[j].value, r.m[i].value) ||
                    fabs(r2.m[j].value - r.m[i].value) < 1e-300);
    }
    return "ok";
}

/* ==== anomaly_from_json ==================================================
 * Input: the payload. */
static inline void nasty_check_anomaly(const anomaly *a)
{
    NASTY_CHECK(strlen(a->id) == 64);
    for (int i = 0; i < 64; i++)
        NASTY_CHECK(isxdigit((unsigned char)a->id[i]) && !isupper((unsigned char)a->id[i]));
    NASTY_CHECK(sensor_id_valid(a->sensor_id));
    NASTY_CHECK(a->metric[0] != '\0' && memchr(a->metric, '\0', sizeof a->metric));
    NASTY_CHECK(anomaly_type_name(a->type) != NULL);
    NASTY_CHECK(isfinite(a->ts) && a->ts >= 0);
    NASTY_CHECK(isfinite(a->value));
    NASTY_CHECK(isfinite(a->score) && a->score >= 0 && a->score <= 1);
    NASTY_CHECK(memchr(a->explanation, '\0', sizeof a->explanation) != NULL);
}

static inline const char *nasty_anomaly(const uint8_t *data, size_t size)
{
    anomaly a, b;
    char err[256], buf[4096];

    memset(err, 0x55, sizeof err);
    int rc = anomaly_from_json(data, size, &a, err, sizeof err);
    NASTY_CHECK(rc <= 0 && rc >= READING_ERR_FORMAT);
    if (rc < 0) {
        NASTY_CHECK(nasty_err_ok(err, sizeof err));
        return reading_strerror(rc);
    }
    nasty_check_anomaly(&a);

    /* Round trip: the detector publishes with the encoder, the gateway
     * re-encodes what it decoded. */
    int n = anomaly_to_json(&a, buf, sizeof buf);
    if (n <= 0)
        fprintf(stderr, "anomaly_to_json failed on a decoded anomaly (explanation '%.80s')\n",
                a.explanation);
    NASTY_CHECK(n > 0 && buf[n] == '\0');
    rc = anomaly_from_json(buf, (size_t)n, &b, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "re-decode of %s failed: %s\n", buf, err);
    NASTY_CHECK(rc == 0);
    NASTY_CHECK(strcmp(a.id, b.id) == 0 && strcmp(a.sensor_id, b.sensor_id) == 0);
    NASTY_CHECK(strcmp(a.metric, b.metric) == 0 && a.type == b.type);
    NASTY_CHECK(strcmp(a.explanation, b.explanation) == 0);
    NASTY_CHECK(nasty_close(a.ts, b.ts) && nasty_close(a.value, b.value));
    NASTY_CHECK(nasty_close(a.score, b.score));
    /* A negative model_version means unknown; the encoder omits it. */
    NASTY_CHECK((a.model_version < 0 ? -1 : a.model_version) == b.model_version);
    return "ok";
}

/* ==== ingest_decode ======================================================
 * Contexts: two built-in mappings enabling every adapter (A: defaults and
 * the ESPHome groups below; B: prefixes, extra metrics, Fahrenheit units,
 * Tasmota device time), then the mapping files given to nasty_ingest_init
 * (the examples in config/).
 * Input: byte 0 picks the context (bits 4..7, modulo the number of
 * contexts) and the topic (bits 0..3: nasty_topics[i], or for 15 the first
 * line of the rest); the rest is the payload. */
static const char nasty_mapping_a[] =
    "{\"adapters\":{\"native\":{},\"zigbee2mqtt\":{},\"tasmota\":{},\"senml\":{},"
    "\"esphome\":{\"groups\":["
    "{\"sensor\":\"esp-1\",\"prefix\":\"home/esp1\",\"states\":["
    "{\"name\":\"temperature\",\"metric\":\"temperature\"},"
    "{\"name\":\"humidity\",\"metric\":\"humidity\"},"
    "{\"name\":\"pressure\",\"metric\":\"pressure\",\"unit\":\"Pa\"}]},"
    "{\"sensor\":\"esp-2\",\"states\":[{\"topic\":\"ha/x/state\",\"metric\":\"temp\","
    "\"unit\":\"\xc2\xb0"
    "F\"}]}]}},"
    "\"sensors\":[{\"source\":\"zigbee2mqtt\",\"name\":\"Living Room\",\"id\":\"living\","
    "\"profile\":\"indoor\",\"threshold\":0.7}]}";

static const char nasty_mapping_b[] =
    "{\"adapters\":{"
    "\"zigbee2mqtt\":{\"topic\":\"z2m/#\",\"id_prefix\":\"zb-\","
    "\"metrics\":[\"temperature\",\"humidity\",\"co2\",\"voc\"],"
    "\"units\":{\"temperature\":\"\xc2\xb0"
    "F\"}},"
    "\"tasmota\":{\"topic\":\"tasmota/tele/+/SENSOR\",\"id_prefix\":\"ts-\",\"device_time\":true,"
    "\"utc_offset_minutes\":-330,\"ignore\":[\"ESP32\",\"DS18B20\"]},"
    "\"senml\":{\"topics\":[\"senml/#\",\"lwm2m/+/senml\"],\"id_prefix\":\"sm-\","
    "\"metrics\":[\"temperature\",\"pressure\",\"co2\"]},"
    "\"esphome\":{\"groups\":[{\"sensor\":\"esp-3\",\"prefix\":\"e3\",\"component\":\"sensor\","
    "\"states\":[{\"name\":\"t\",\"metric\":\"temperature\",\"unit\":\"K\"},"
    "{\"name\":\"p\",\"metric\":\"pressure\",\"unit\":\"inHg\"}]}]}}}";

static const char *const nasty_topics[15] = {
    "sensors/fz-1/readings",              /* 0  native */
    "zigbee2mqtt/Living Room",            /* 1  zigbee2mqtt (A) */
    "tele/tasmota_1/SENSOR",              /* 2  tasmota (A) */
    "senml/dev1",                         /* 3  senml */
    "home/esp1/sensor/temperature/state", /* 4  esphome group esp-1 (A) */
    "home/esp1/sensor/humidity/state",    /* 5 */
    "home/esp1/sensor/pressure/state",    /* 6 */
    "ha/x/state",                         /* 7  esphome esp-2, degF (A) */
    "zigbee2mqtt/bridge/state",           /* 8  zigbee2mqtt's own topic */
    "z2m/kitchen/sensor",                 /* 9  zigbee2mqtt (B) */
    "tasmota/tele/plug/SENSOR",           /* 10 tasmota with device time (B) */
    "lwm2m/dev9/senml",                   /* 11 senml second filter (B) */
    "e3/sensor/t/state",                  /* 12 esphome esp-3 (B) */
    "e3/sensor/p/state",                  /* 13 */
    "sensors/a/b/readings",               /* 14 not a native topic */
};

#define NASTY_MAX_CTX 16
typedef struct {
    ingest *ctx[NASTY_MAX_CTX];
    int n;
} nasty_ingest_set;

/* Create the contexts; `mappings` is a ':'-separated list of mapping
 * files (or NULL). Returns 0, or -1 when a mapping is rejected. */
static inline int nasty_ingest_init(nasty_ingest_set *s, const char *mappings)
{
    char err[256];
    memset(s, 0, sizeof *s);
    if (ingest_create_from_json(&s->ctx[0], nasty_mapping_a, strlen(nasty_mapping_a), err,
                                sizeof err) != 0 ||
        ingest_create_from_json(&s->ctx[1], nasty_mapping_b, strlen(nasty_mapping_b), err,
                                sizeof err) != 0) {
        fprintf(stderr, "nasty: built-in mapping rejected: %s\n", err);
        return -1;
    }
    s->n = 2;
    char *list = mappings ? strdup(mappings) : NULL, *save = NULL;
    int rc = 0;
    for (char *p = list ? strtok_r(list, ":", &save) : NULL; p && s->n < NASTY_MAX_CTX;
         p = strtok_r(NULL, ":", &save)) {
        if (ingest_create(&s->ctx[s->n], p) != 0) {
            fprintf(stderr, "nasty: mapping %s rejected\n", p);
            rc = -1;
            break;
        }
        s->n++;
    }
    free(list);
    return rc;
}

static inline void nasty_ingest_free(nasty_ingest_set *s)
{
    for (int i = 0; i < s->n; i++)
        ingest_destroy(s->ctx[i]);
    s->n = 0;
}

/* Messages counted (by adapter or unmatched), and rejected ones. */
static inline unsigned long nasty_ingest_total(const ingest *ig, unsigned long *errors)
{
    ingest_counters c;
    ingest_counters_get(ig, &c);
    unsigned long t = c.unmatched, e = 0;
    for (int a = 0; a < INGEST_NADAPTERS; a++) {
        t += c.messages[a];
        e += c.errors[a];
    }
    *errors = e;
    return t;
}

/* Decode; `out` (cap 16) receives the readings. */
static inline const char *nasty_ingest(nasty_ingest_set *s, const uint8_t *data, size_t size,
                                       reading *out, int *nout)
{
    enum { CAP = 16 };
    static char outcome[16];
    char topic[256], err[256];
    size_t off = 1;

    *nout = 0;
    if (size < 1)
        return "-";
    ingest *ig = s->ctx[(data[0] >> 4) % s->n];
    unsigned t = data[0] & 15;
    if (t < 15) {
        snprintf(topic, sizeof topic, "%s", nasty_topics[t]);
    } else {
        size_t l = nasty_split_line(data + 1, size - 1, topic, sizeof topic);
        if (l == 0)
            return "-";
        off += l;
    }
    int cap = 1 + (int)(size % CAP); /* vary the room the caller gives */

    unsigned long err_before, err_after;
    unsigned long before = nasty_ingest_total(ig, &err_before);
    memset(err, 0x55, sizeof err);
    int rc = ingest_decode(ig, topic, data + off, size - off, NASTY_NOW, out, cap, err,
                           sizeof err);
    /* Every message is counted exactly once (by adapter, or unmatched), and
     * every rejected one as an error (the services export these counters). */
    NASTY_CHECK(nasty_ingest_total(ig, &err_after) == before + 1);
    NASTY_CHECK(err_after == err_before + (rc < 0));
    NASTY_CHECK(rc >= READING_ERR_FORMAT && rc <= cap);
    if (rc < 0) {
        NASTY_CHECK(nasty_err_ok(err, sizeof err));
        return reading_strerror(rc);
    }
    for (int i = 0; i < rc; i++)
        nasty_check_reading(&out[i]);
    *nout = rc;
    if (rc == 0)
        return "ignored";
    snprintf(outcome, sizeof outcome, "ok:%d", rc);
    return outcome;
}

/* ==== anomaly_log_decode_log / anomaly_log_decode_record ===============================
 * Input: byte 0 % 3 picks what the rest is:
 *   0: a JSON log object as eth_getLogs returns it -> anomaly_log_decode_log
 *   1: one packed record -> anomaly_log_decode_record; when it decodes, it is also
 *      wrapped in a well-formed log (topics derived as the contract does)
 *      that anomaly_log_decode_log must accept identically, and re-encoding it
 *      must give the same bytes
 *   2: the event's ABI data -> wrapped in a log whose topics match whatever
 *      record the data points at, so random offsets and lengths reach the
 *      record decoder */
static const char nasty_logger_topic[] =
    "0x00000000000000000000000090f8bf6a479f320ead074411a4b0e7944ea8c9c1";

static inline void nasty_check_chain_anomaly(const anomaly *a)
{
    NASTY_CHECK(strlen(a->id) == 64);
    size_t sl = strnlen(a->sensor_id, sizeof a->sensor_id);
    NASTY_CHECK(sl >= 1 && sl <= 64);
    size_t ml = strnlen(a->metric, sizeof a->metric);
    NASTY_CHECK(ml >= 1 && ml <= 31);
    NASTY_CHECK(strnlen(a->explanation, sizeof a->explanation) < sizeof a->explanation);
    NASTY_CHECK(anomaly_type_name(a->type) != NULL);
    NASTY_CHECK(isfinite(a->value) && isfinite(a->score) && isfinite(a->ts));
}

static inline json_t *nasty_hexstr(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 3);
    NASTY_CHECK(s != NULL);
    hex_encode(s, p, n, 1);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static inline json_t *nasty_make_log(const uint8_t *data, size_t dlen, const uint8_t id[32],
                                     const uint8_t sensor_hash[32])
{
    json_t *topics = json_pack("[s, o, o, s]", anomaly_log_event_topic(), nasty_hexstr(id, 32),
                               nasty_hexstr(sensor_hash, 32), nasty_logger_topic);
    json_t *log = json_pack("{s:o, s:o, s:s, s:s, s:s, s:b}", "topics", topics, "data",
                            nasty_hexstr(data, dlen), "transactionHash",
                            "0x1111111111111111111111111111111111111111111111111111111111111111",
                            "blockNumber", "0x2a", "logIndex", "0x3", "removed", 0);
    NASTY_CHECK(log != NULL);
    return log;
}

/* Topics the contract would emit for `rec`, when its lengths fit. */
static inline void nasty_derive_topics(const uint8_t *rec, size_t len, uint8_t id[32],
                                       uint8_t sh[32])
{
    memset(id, 0, 32);
    memset(sh, 0, 32);
    if (len < 4)
        return;
    size_t sl = rec[0], ml = rec[1], pre = sl + 1 + ml + 1 + 9;
    if (4 + pre > len)
        return;
    keccak256(rec + 4, pre, id);
    keccak256(rec + 4, sl, sh);
}

static inline const char *nasty_anomaly_log(const uint8_t *data, size_t size)
{
    anomaly a, b;
    anomaly_log_proof p;

    if (size < 1)
        return "-";
    const uint8_t *d = data + 1;
    size_t n = size - 1;
    int mode = data[0] % 3;
    if (mode == 0) {
        json_error_t jerr;
        json_t *log = json_loadb((const char *)d, n, 0, &jerr);
        if (!log)
            return "invalid";
        int rc = anomaly_log_decode_log(log, &a, &p);
        if (rc == 0) {
            nasty_check_chain_anomaly(&a);
            NASTY_CHECK(strlen(p.logger) == 42);
        }
        int rc2 = anomaly_log_decode_log(log, &b, NULL);
        NASTY_CHECK(rc2 == 0 || rc2 == -1 || rc2 == ANOMALY_LOG_OTHER_KIND);
        if (rc2 == 0)
            nasty_check_chain_anomaly(&b);
        json_decref(log);
        return rc == 0 ? "ok" : "invalid";
    }
    if (mode == 1) {
        uint8_t id[32], sh[32], again[ANOMALY_LOG_RECORD_MAX], *abi = NULL;
        size_t alen = 0;
        if (anomaly_log_decode_record(d, n, &a) != 0)
            return "invalid";
        nasty_check_chain_anomaly(&a);
        NASTY_CHECK(n <= ANOMALY_LOG_RECORD_MAX);
        nasty_derive_topics(d, n, id, sh);
        abi_arg args[2] = {{.type = ABI_UINT, .u = 7}, {.type = ABI_BYTES, .p = d, .len = n}};
        NASTY_CHECK(abi_encode(NULL, args, 2, &abi, &alen) == 0);
        json_t *log = nasty_make_log(abi, alen, id, sh);
        NASTY_CHECK(anomaly_log_decode_log(log, &b, &p) == 0);
        NASTY_CHECK(strcmp(a.id, b.id) == 0 && strcmp(a.sensor_id, b.sensor_id) == 0);
        NASTY_CHECK(p.seq == 7 && p.block_number == 42 && p.log_index == 3);
        json_decref(log);
        free(abi);
        /* Re-encoding gives the same content wherever ts_ms survives the
         * double it is decoded into (well inside 2^53) and the encoder's
         * range; the same bytes too, unless the record held as raw text an
         * explanation the encoder now stores as a template (eth/expl_codec.h). */
        if (fabs(a.ts) <= 1.0e11) {
            int m = anomaly_log_encode_record(&a, again, sizeof again);
            NASTY_CHECK(m > 0);
            NASTY_CHECK(anomaly_log_decode_record(again, (size_t)m, &b) == 0);
            NASTY_CHECK(strcmp(a.explanation, b.explanation) == 0 && strcmp(a.id, b.id) == 0 &&
                        memcmp(&a.value, &b.value, 8) == 0 && memcmp(&a.score, &b.score, 8) == 0);
            NASTY_CHECK(m <= (int)n || d[4 + d[0] + 1 + d[1] + 1 + 9 + 16] < 0x20);
        }
        return "ok";
    }
    uint8_t id[32] = {0}, sh[32] = {0};
    const uint8_t *rec;
    size_t reclen;
    if (abi_get_bytes(d, n, 1, &rec, &reclen) == 0) {
        NASTY_CHECK(rec >= d && reclen <= n && (size_t)(rec - d) <= n - reclen);
        nasty_derive_topics(rec, reclen, id, sh);
    }
    json_t *log = nasty_make_log(d, n, id, sh);
    int rc = anomaly_log_decode_log(log, &a, &p);
    if (rc == 0)
        nasty_check_chain_anomaly(&a);
    json_decref(log);
    return rc == 0 ? "ok" : "invalid";
}

/* ==== rpc_call / rpc_call_u64 ============================================
 * Input: byte 0 = flags (bit 0: rpc_call_u64 instead of rpc_call; bit 1:
 * the node answers HTTP 500 instead of 200), byte 1 = chunk size in which
 * the body arrives (0 = at once), rest = the response body. How the body
 * reaches rpc.c is the includer's business (a fake transfer for libFuzzer,
 * a loopback HTTP server in the unit test); this runs the call. */
static inline const char *nasty_rpc(rpc_client *c, const uint8_t *data, size_t size)
{
    char err[256];
    int rc;

    if (size < 2)
        return "-";
    memset(err, 0x55, sizeof err);
    if (data[0] & 1) {
        uint64_t v;
        rc = rpc_call_u64(c, "eth_blockNumber", NULL, &v, err, sizeof err);
    } else {
        json_t *res = NULL;
        rc = rpc_call(c, "eth_getLogs", json_pack("[{s:s}]", "fromBlock", "0x0"), &res, err,
                      sizeof err);
        NASTY_CHECK((rc == 0) == (res != NULL));
        json_decref(res);
    }
    NASTY_CHECK(rc == 0 || rc == RPC_ERR_TRANSPORT || rc == RPC_ERR_PARSE ||
                rc == RPC_ERR_REMOTE);
    if (rc < 0)
        NASTY_CHECK(nasty_err_ok(err, sizeof err) && err[0] != '\0');
    if (data[0] & 2)
        NASTY_CHECK(rc == RPC_ERR_TRANSPORT);
    switch (rc) {
    case 0: return "ok";
    case RPC_ERR_PARSE: return "parse";
    case RPC_ERR_REMOTE: return "remote";
    default: return "transport";
    }
}

#endif
