/* Unit tests for the alarm lifecycle record (eth/anomaly_log.h, record
 * kind 0x01): the layout byte by byte, the id against keccak256 of the
 * preimage built here by hand, round trips for every event, the mix with
 * anomaly records (kinds, one batch, the log decoder), and hostile input. */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly_log_test_util.h"
#include "base/bytes.h"
#include "base/hex.h"
#include "bus/alarm.h"
#include "eth/abi.h"
#include "eth/anomaly_log.h"
#include "eth/keccak.h"

static alarm_log_event sample_event(alarm_event_type ev, const char *by)
{
    alarm_log_event e;
    memset(&e, 0, sizeof e);
    strcpy(e.sensor_id, "room-1");
    strcpy(e.metric, "temperature");
    strcpy(e.alarm_id, "3f2a9c0d11e84b27");
    e.event = ev;
    e.at = 1733580000500;
    strcpy(e.by, by);
    assert_int_equal(anomaly_log_alarm_make_id(&e), 0);
    return e;
}

/* The layout of anomaly_log.h, built by hand, and the id over its preimage. */
static void test_layout_and_id(void **state)
{
    (void)state;
    alarm_log_event e = sample_event(ALARM_EV_ACKNOWLEDGED, "alice");
    uint8_t rec[ANOMALY_LOG_ALARM_RECORD_MAX], want[128], id[32];
    char idh[65];
    size_t p = 0;
    want[p++] = 0x00;
    want[p++] = 0x01;
    want[p++] = 6;  /* "room-1" */
    want[p++] = 11; /* "temperature" */
    want[p++] = 16; /* alarm id */
    want[p++] = 5;  /* "alice" */
    size_t pre = p;
    memcpy(want + p,
           "room-1\0temperature\0"
           "3f2a9c0d11e84b27\0",
           6 + 1 + 11 + 1 + 16 + 1);
    p += 6 + 1 + 11 + 1 + 16 + 1;
    bytes_put_be64(want + p, 1733580000500ULL);
    p += 8;
    want[p++] = 0x12; /* 0x10 + acknowledged */
    size_t prelen = p - pre;
    memcpy(want + p, "alice", 5);
    p += 5;
    int n = anomaly_log_encode_alarm(&e, rec, sizeof rec);
    assert_int_equal(n, (int)p);
    assert_memory_equal(rec, want, p);
    keccak256(want + pre, prelen, id);
    hex_encode(idh, id, 32, 0);
    assert_string_equal(e.id, idh);
    /* the kind and the timestamp the journal keys on */
    assert_int_equal(anomaly_log_record_kind(rec, (size_t)n), ANOMALY_LOG_KIND_ALARM);
    int64_t ts;
    assert_int_equal(anomaly_log_record_ts_ms(rec, (size_t)n, &ts), 0);
    assert_int_equal(ts, 1733580000500LL);
}

/* Every event round-trips; the id is deterministic (a re-delivery has the
 * same id) and differs between events, times, alarms and from the anomaly
 * id of the same stream and time. */
static void test_round_trip_and_ids(void **state)
{
    (void)state;
    static const alarm_event_type evs[] = {
        ALARM_EV_OPENED,         ALARM_EV_UPDATED, ALARM_EV_ACKNOWLEDGED, ALARM_EV_MUTED,
        ALARM_EV_FALSE_POSITIVE, ALARM_EV_CLEARED, ALARM_EV_REMINDER};
    char ids[7][65];
    for (size_t i = 0; i < 7; i++) {
        alarm_log_event e = sample_event(evs[i], i % 2 ? "bob" : ""), d;
        uint8_t rec[ANOMALY_LOG_ALARM_RECORD_MAX];
        int n = anomaly_log_encode_alarm(&e, rec, sizeof rec);
        assert_true(n > 0);
        assert_int_equal(anomaly_log_decode_alarm(rec, (size_t)n, &d), 0);
        assert_string_equal(d.id, e.id);
        assert_string_equal(d.sensor_id, e.sensor_id);
        assert_string_equal(d.metric, e.metric);
        assert_string_equal(d.alarm_id, e.alarm_id);
        assert_int_equal(d.event, e.event);
        assert_int_equal(d.at, e.at);
        assert_string_equal(d.by, e.by);
        anomaly_log_rec r;
        assert_int_equal(anomaly_log_decode_any(rec, (size_t)n, &r), 0);
        assert_int_equal(r.kind, ANOMALY_LOG_KIND_ALARM);
        assert_string_equal(anomaly_log_rec_id(&r), e.id);
        assert_string_equal(anomaly_log_rec_sensor(&r), "room-1");
        uint8_t again[ANOMALY_LOG_ALARM_RECORD_MAX];
        assert_int_equal(anomaly_log_encode_any(&r, again, sizeof again), n);
        assert_memory_equal(again, rec, (size_t)n);
        /* an anomaly record is not an alarm record */
        anomaly a;
        assert_int_equal(anomaly_log_decode_record(rec, (size_t)n, &a), -1);
        strcpy(ids[i], e.id);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(ids[k], ids[i]);
    }
    /* by is not part of the id: the same change is the same record id */
    alarm_log_event x = sample_event(ALARM_EV_MUTED, "carol"), y = sample_event(ALARM_EV_MUTED, "");
    assert_string_equal(x.id, y.id);
    y = sample_event(ALARM_EV_MUTED, "carol");
    y.at++;
    assert_int_equal(anomaly_log_alarm_make_id(&y), 0);
    assert_string_not_equal(x.id, y.id);
    y = sample_event(ALARM_EV_MUTED, "carol");
    strcpy(y.alarm_id, "3f2a9c0d11e84b28");
    assert_int_equal(anomaly_log_alarm_make_id(&y), 0);
    assert_string_not_equal(x.id, y.id);
    /* the anomaly of the same stream at the same time has another id */
    anomaly a;
    memset(&a, 0, sizeof a);
    strcpy(a.sensor_id, "room-1");
    strcpy(a.metric, "temperature");
    a.ts = 1733580000.5;
    a.type = ANOMALY_POINT;
    anomaly_make_id(&a);
    for (size_t i = 0; i < 7; i++)
        assert_string_not_equal(a.id, ids[i]);
}

/* From the gateway's event: only the audited events, fields as sent. */
static void test_from_event(void **state)
{
    (void)state;
    alarm_event ev;
    alarm_log_event le;
    memset(&ev, 0, sizeof ev);
    strcpy(ev.alarm.id, "3f2a9c0d11e84b27");
    strcpy(ev.alarm.sensor_id, "room-1");
    strcpy(ev.alarm.metric, "temperature");
    strcpy(ev.by, "alice");
    ev.at = 1733580000500;
    ev.event = ALARM_EV_ACKNOWLEDGED;
    assert_int_equal(anomaly_log_alarm_from_event(&ev, &le), 0);
    alarm_log_event want = sample_event(ALARM_EV_ACKNOWLEDGED, "alice");
    assert_string_equal(le.id, want.id);
    assert_string_equal(le.by, "alice");
    int logged[] = {1, 0, 1, 1, 1, 1, 0}; /* opened .. reminder */
    for (int e = ALARM_EV_OPENED; e <= ALARM_EV_REMINDER; e++) {
        ev.event = (alarm_event_type)e;
        assert_int_equal(anomaly_log_alarm_event_logged(ev.event), logged[e]);
        assert_int_equal(anomaly_log_alarm_from_event(&ev, &le), logged[e] ? 0 : -1);
    }
    /* a sensor-wide alarm (metric "all") and a null by */
    ev.event = ALARM_EV_OPENED;
    strcpy(ev.alarm.metric, ALARM_METRIC_SENSOR);
    ev.by[0] = 0;
    assert_int_equal(anomaly_log_alarm_from_event(&ev, &le), 0);
    assert_string_equal(le.by, "");
    ev.at = -1;
    assert_int_equal(anomaly_log_alarm_from_event(&ev, &le), -1);
}

/* Out-of-range fields are refused by the encoder; garbage never crashes
 * the decoder and malformed records are refused. */
static void test_bad_input(void **state)
{
    (void)state;
    uint8_t rec[ANOMALY_LOG_ALARM_RECORD_MAX], c[ANOMALY_LOG_ALARM_RECORD_MAX + 8];
    alarm_log_event e = sample_event(ALARM_EV_MUTED, "carol"), d, bad;
    int n = anomaly_log_encode_alarm(&e, rec, sizeof rec);
    assert_true(n > 0);
    assert_int_equal(anomaly_log_encode_alarm(&e, rec, (size_t)n - 1), -1); /* too small */
    bad = e;
    bad.sensor_id[0] = 0;
    assert_int_equal(anomaly_log_encode_alarm(&bad, c, sizeof c), -1);
    bad = e;
    bad.alarm_id[0] = 0;
    assert_int_equal(anomaly_log_encode_alarm(&bad, c, sizeof c), -1);
    bad = e;
    strcpy(bad.by, "eve\n");
    assert_int_equal(anomaly_log_encode_alarm(&bad, c, sizeof c), -1);
    bad = e;
    bad.event = (alarm_event_type)7;
    assert_int_equal(anomaly_log_encode_alarm(&bad, c, sizeof c), -1);
    bad = e;
    bad.at = -5;
    assert_int_equal(anomaly_log_encode_alarm(&bad, c, sizeof c), -1);
    bad = e;
    memset(bad.metric, 'm', sizeof bad.metric - 1); /* 31: the longest metric */
    assert_true(anomaly_log_encode_alarm(&bad, c, sizeof c) > 0);

    /* truncated and extended */
    assert_int_equal(anomaly_log_decode_alarm(rec, (size_t)n - 1, &d), -1);
    memcpy(c, rec, (size_t)n);
    c[n] = 'x';
    assert_int_equal(anomaly_log_decode_alarm(c, (size_t)n + 1, &d), -1);
    for (size_t k = 0; k < 6; k++)
        assert_int_equal(anomaly_log_decode_alarm(rec, k, &d), -1);
    /* an unknown kind */
    memcpy(c, rec, (size_t)n);
    c[1] = 0x02;
    assert_int_equal(anomaly_log_record_kind(c, (size_t)n), -1);
    anomaly_log_rec r;
    assert_int_equal(anomaly_log_decode_any(c, (size_t)n, &r), -1);
    /* an event code outside 0x10..0x16, a separator that is not 0, a NUL in by */
    size_t code_at = 6 + 6 + 1 + 11 + 1 + 16 + 1 + 8;
    memcpy(c, rec, (size_t)n);
    c[code_at] = 0x02; /* an anomaly type */
    assert_int_equal(anomaly_log_decode_alarm(c, (size_t)n, &d), -1);
    c[code_at] = 0x17;
    assert_int_equal(anomaly_log_decode_alarm(c, (size_t)n, &d), -1);
    memcpy(c, rec, (size_t)n);
    c[6 + 6] = '-';
    assert_int_equal(anomaly_log_decode_alarm(c, (size_t)n, &d), -1);
    memcpy(c, rec, (size_t)n);
    c[n - 1] = 0;
    assert_int_equal(anomaly_log_decode_alarm(c, (size_t)n, &d), -1);
    /* every single-byte corruption, and random bytes: no crash */
    for (int i = 0; i < n; i++)
        for (int v = 0; v < 256; v += 17) {
            memcpy(c, rec, (size_t)n);
            c[i] = (uint8_t)v;
            (void)anomaly_log_decode_any(c, (size_t)n, &r);
            int64_t ts;
            (void)anomaly_log_record_ts_ms(c, (size_t)n, &ts);
        }
    srand(7);
    for (int t = 0; t < 2000; t++) {
        size_t len = (size_t)(rand() % (int)sizeof c);
        for (size_t i = 0; i < len; i++)
            c[i] = (uint8_t)rand();
        c[0] = 0;
        c[1] = 1;
        (void)anomaly_log_decode_any(c, len, &r);
    }
}

/* The log object the contract emits for an alarm record (ABI data and
 * topics built here), and its batch next to anomalies. */
/* A log as eth_getLogs returns it: topics [topic0, 0x{id}, keccak(sensor),
 * the logger's address as a word], data_hex as data, fixed transaction
 * hash, block 0x2a, index 0x3. Returns a new reference. */
static json_t *log_fixture(const char *topic0, const char *id, const char *sensor,
                           const uint8_t logger[20], const char *data_hex)
{
    uint8_t t[32];
    char h[67];
    json_t *topics = json_array();
    json_array_append_new(topics, json_string(topic0));
    json_array_append_new(topics, json_sprintf("0x%s", id));
    keccak256(sensor, strlen(sensor), t);
    hex_encode(h, t, 32, 1);
    json_array_append_new(topics, json_string(h));
    abi_put_address(t, logger);
    hex_encode(h, t, 32, 1);
    json_array_append_new(topics, json_string(h));
    return json_pack("{s:o, s:s, s:s, s:s, s:s}", "topics", topics, "data", data_hex,
                     "transactionHash",
                     "0x1111111111111111111111111111111111111111111111111111111111111111",
                     "blockNumber", "0x2a", "logIndex", "0x3");
}

/* The anomaly of room-1 the log tests decode, with explanation expl. */
static anomaly sample_anomaly(const char *expl)
{
    anomaly an;
    memset(&an, 0, sizeof an);
    strcpy(an.sensor_id, "room-1");
    strcpy(an.metric, "temperature");
    an.ts = 1733580000.5;
    an.value = 81.5;
    an.score = 0.9;
    snprintf(an.explanation, sizeof an.explanation, "%s", expl);
    anomaly_make_id(&an);
    return an;
}

static void test_log_and_batch(void **state)
{
    (void)state;
    alarm_log_event e = sample_event(ALARM_EV_FALSE_POSITIVE, "bob");
    uint8_t rec[ANOMALY_LOG_ALARM_RECORD_MAX], logger[20], *data;
    char hex[1024];
    size_t dlen;
    int n = anomaly_log_encode_alarm(&e, rec, sizeof rec);
    abi_arg args[2] = {{.type = ABI_UINT, .u = 9}, {.type = ABI_BYTES, .p = rec, .len = (size_t)n}};
    assert_int_equal(abi_encode(NULL, args, 2, &data, &dlen), 0);
    hex_encode(hex, data, dlen, 1);
    free(data);
    memset(logger, 0x90, 20);
    json_t *log = log_fixture(anomaly_log_event_topic(), e.id, e.sensor_id, logger, hex);
    anomaly_log_rec r;
    anomaly_log_proof pr;
    assert_int_equal(anomaly_log_decode_log_any(log, &r, &pr), 0);
    assert_int_equal(r.kind, ANOMALY_LOG_KIND_ALARM);
    assert_string_equal(r.e.id, e.id);
    assert_string_equal(r.e.by, "bob");
    assert_int_equal(pr.seq, 9);
    /* readers of anomalies skip it, told apart from an invalid log */
    anomaly a;
    assert_int_equal(anomaly_log_decode_log(log, &a, &pr), ANOMALY_LOG_OTHER_KIND);
    /* the sensor topic must match the record */
    json_array_set_new(
        json_object_get(log, "topics"), 2,
        json_string("0x2222222222222222222222222222222222222222222222222222222222222222"));
    assert_int_equal(anomaly_log_decode_log_any(log, &r, &pr), -1);
    json_decref(log);

    /* An anomaly log still decodes through both functions. */
    anomaly an = sample_anomaly("x");
    log = anomaly_log_fixture_log(
        &an, 8, logger, "0x1111111111111111111111111111111111111111111111111111111111111111");
    assert_int_equal(anomaly_log_decode_log_any(log, &r, &pr), 0);
    assert_int_equal(r.kind, 0);
    assert_string_equal(anomaly_log_rec_id(&r), an.id);
    assert_int_equal(anomaly_log_decode_log(log, &a, &pr), 0);
    json_decref(log);
}

/* RecordLogged, the event the contract emits now: data = seq (8 bytes) ++
 * the record, no ABI framing; both kinds decode, and a short or garbled
 * data field is refused. */
static void test_packed_event(void **state)
{
    (void)state;
    uint8_t logger[20], data[8 + ANOMALY_LOG_RECORD_MAX];
    char hex[2 * sizeof data + 3];
    memset(logger, 0x90, 20);
    anomaly an = sample_anomaly("temperature 81.5 degC is far above this sensor's usual 19.1-24.3 "
                                "degC at 14:00 UTC");
    alarm_log_event e = sample_event(ALARM_EV_CLEARED, "dave");
    for (int kind = 0; kind < 2; kind++) {
        int n = kind == 0 ? anomaly_log_encode_record(&an, data + 8, sizeof data - 8)
                          : anomaly_log_encode_alarm(&e, data + 8, sizeof data - 8);
        assert_true(n > 0);
        bytes_put_be64(data, 123456);
        hex_encode(hex, data, 8 + (size_t)n, 1);
        const char *id = kind == 0 ? an.id : e.id;
        json_t *log = log_fixture(anomaly_log_record_topic(), id, "room-1", logger, hex);
        anomaly_log_rec r;
        anomaly_log_proof pr;
        assert_int_equal(anomaly_log_decode_log_any(log, &r, &pr), 0);
        assert_int_equal(r.kind, kind == 0 ? 0 : ANOMALY_LOG_KIND_ALARM);
        assert_string_equal(anomaly_log_rec_id(&r), id);
        assert_int_equal(pr.seq, 123456);
        if (kind == 0)
            assert_string_equal(r.a.explanation, an.explanation); /* stored as a template */
        anomaly a;
        assert_int_equal(anomaly_log_decode_log(log, &a, &pr),
                         kind == 0 ? 0 : ANOMALY_LOG_OTHER_KIND);
        /* one byte short, no record at all, not hex */
        hex[strlen(hex) - 2] = 0;
        json_object_set_new(log, "data", json_string(hex));
        assert_int_equal(anomaly_log_decode_log_any(log, &r, &pr), -1);
        json_object_set_new(log, "data", json_string("0x0000000000000001"));
        assert_int_equal(anomaly_log_decode_log_any(log, &r, &pr), -1);
        json_object_set_new(log, "data", json_string("0xzz"));
        assert_int_equal(anomaly_log_decode_log_any(log, &r, &pr), -1);
        json_decref(log);
    }
    /* the filter matches every per-record event */
    json_t *t0 = anomaly_log_event_topic0();
    assert_int_equal(json_array_size(t0), 3);
    assert_string_equal(json_string_value(json_array_get(t0, 0)), anomaly_log_recorded_topic());
    assert_string_equal(json_string_value(json_array_get(t0, 1)), anomaly_log_record_topic());
    assert_string_equal(json_string_value(json_array_get(t0, 2)), anomaly_log_event_topic());
    json_decref(t0);
}

/* Recorded(id, logger): no sensor topic, data = record ++ seq in 1..8 bytes. */
static void test_recorded_event(void **state)
{
    (void)state;
    uint8_t data[ANOMALY_LOG_RECORD_MAX + 16], t[32], logger[20];
    char hex[2 * sizeof data + 3], h[67];
    memset(logger, 0x5a, sizeof logger);
    anomaly an;
    memset(&an, 0, sizeof an);
    snprintf(an.sensor_id, sizeof an.sensor_id, "room-1");
    snprintf(an.metric, sizeof an.metric, "temperature");
    an.ts = 1764100000.5;
    an.value = 31.5;
    an.score = 0.912345678901234;
    snprintf(an.explanation, sizeof an.explanation, "temperature 31.5 is far above");
    anomaly_make_id(&an);
    alarm_log_event e = sample_event(ALARM_EV_OPENED, "");
    for (int kind = 0; kind < 2; kind++) {
        int n = kind == 0 ? anomaly_log_encode_record(&an, data, sizeof data)
                          : anomaly_log_encode_alarm(&e, data, sizeof data);
        assert_true(n > 0);
        const char *id = kind == 0 ? an.id : e.id;
        for (size_t k = 0; k <= 9; k++) {
            for (size_t i = 0; i < k; i++)
                data[(size_t)n + i] = (uint8_t)(i == k - 1 ? 0x42 : 0x01);
            hex_encode(hex, data, (size_t)n + k, 1);
            json_t *topics = json_array();
            json_array_append_new(topics, json_string(anomaly_log_recorded_topic()));
            json_array_append_new(topics, json_sprintf("0x%s", id));
            abi_put_address(t, logger);
            hex_encode(h, t, 32, 1);
            json_array_append_new(topics, json_string(h));
            json_t *log = json_pack(
                "{s:o, s:s, s:s, s:s, s:s}", "topics", topics, "data", hex, "transactionHash",
                "0x2222222222222222222222222222222222222222222222222222222222222222",
                "blockNumber", "0x7", "logIndex", "0x0");
            anomaly_log_rec r;
            anomaly_log_proof pr;
            int rc = anomaly_log_decode_log_any(log, &r, &pr);
            if (k == 0 || k > 8) { /* no seq, or more than 64 bits */
                assert_int_equal(rc, -1);
                json_decref(log);
                continue;
            }
            assert_int_equal(rc, 0);
            uint64_t want = 0;
            for (size_t i = 0; i < k; i++)
                want = want << 8 | data[(size_t)n + i];
            assert_int_equal(pr.seq, want);
            assert_string_equal(anomaly_log_rec_id(&r), id);
            assert_string_equal(pr.logger, "0x5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
            if (kind == 0) {
                assert_string_equal(r.a.explanation, an.explanation);
                assert_memory_equal(&r.a.value, &an.value, 8);
                assert_memory_equal(&r.a.score, &an.score, 8);
            }
            /* a wrong id topic is refused */
            json_array_set_new(topics, 1, json_string(h));
            assert_int_equal(anomaly_log_decode_log_any(log, &r, &pr), -1);
            json_decref(log);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_and_id), cmocka_unit_test(test_round_trip_and_ids),
        cmocka_unit_test(test_from_event),    cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_log_and_batch), cmocka_unit_test(test_packed_event),
        cmocka_unit_test(test_recorded_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
