/*
 * alog — the AnomalyLogger contract (contracts/AnomalyLogger.sol) seen from
 * C: the calldata that logs a batch of anomalies, and the decoding of its
 * events back into anomalies, so the chain logger writes and the gateway
 * and `chainlogger verify` read with the same code.
 *
 * On-chain encoding (one "record" per anomaly; all integers big-endian):
 *
 *   off  size  field
 *   0    1     sensor_len  (1..64)
 *   1    1     metric_len  (1..31)
 *   2    2     w: expl_len (0..511; value and score raw), or compact numbers:
 *              0x8000 | vv << 14 | sv << 13 | vf << 12 | sf << 11 |
 *              tail_len (bits 0..9, <= 527; bit 10 zero), tail_len the
 *              bytes after the preimage
 *   4    sl    sensor_id            \
 *        1     0x00                  |  the id preimage of anomaly_make_id():
 *        ml    metric                |  the contract hashes these bytes itself,
 *        1     0x00                  |  so an on-chain id always matches its
 *        8     ts_ms (int64)         |  content
 *        1     type (0..2)          /
 *        8     value  (IEEE-754 binary64 bits, exact); compact with vv:
 *              1..7 bytes, the LEB128 varint of zigzag(m) * 8 + d for the
 *              shortest decimal m / 10^d (d <= 7) that strtod reads back
 *              as the same binary64 (only when shorter than 8 bytes);
 *              with vf: 7 bytes, big-endian zigzag(m) * 16 + d (d <= 15;
 *              a score of 15 significant digits); never both
 *        8     score  (the same, with sv / sf)
 *        el    explanation (the rest of the tail): its detector template
 *              and parameters, or the raw UTF-8 text when no template fits
 *              (eth/expl_codec.h; records written before that hold raw
 *              text and still decode)
 *
 * logBatch(uint64 firstSeq, bytes packed) takes the records concatenated;
 * record i carries the logger's sequence number firstSeq + i. For each it
 * emits
 *   Recorded(bytes32 indexed id, address indexed logger)
 * with as data, packed (not ABI): the record, then its seq big-endian in
 * the fewest bytes (1..8) holding firstSeq + 200 (so readers take the
 * record's length from its header; the rest is the seq). Contracts
 * deployed before emitted RecordLogged(bytes32 indexed id, bytes32 indexed
 * sensorHash, address indexed logger) with data seq (8 bytes) then the
 * record, or AnomalyLogged(bytes32 indexed id, bytes32 indexed sensorHash,
 * address indexed logger, uint64 seq, bytes record) with ABI data; the
 * decoder reads all three (sensorHash = keccak256(sensor_id) checked where
 * present). Timestamps are kept to the
 * millisecond (ts decodes as ts_ms / 1000.0); value and score are exact.
 * expected_low/high and model_version are not stored (NaN / -1 on decode).
 *
 * Record kinds. The first byte of an anomaly record is sensor_len, never 0,
 * so a record starting with 0x00 is of another kind, named by its second
 * byte. Anomaly records written before kinds existed decode unchanged.
 *
 * Kind 0x01, an alarm lifecycle event (the gateway's `alarms/events/...`,
 * bus/alarm.h; only opened, acknowledged, muted, false_positive and cleared
 * are logged, not "updated" repeats nor reminders):
 *
 *   off  size  field
 *   0    1     0x00        (marker: not an anomaly record)
 *   1    1     0x01        (kind: alarm event, layout 1)
 *   2    1     sensor_len  (1..64)
 *   3    1     metric_len  (1..31)
 *   4    1     alarm_len   (1..64)
 *   5    1     by_len      (0..64; 0 = the gateway itself, "by": null)
 *   6    sl    sensor_id            \
 *        1     0x00                  |  the id preimage, hashed by the
 *        ml    metric                |  contract as for anomalies; its
 *        1     0x00                  |  last byte is 0x10 + the event
 *        al    alarm id              |  (alarm_event_type: 0x10 opened,
 *        1     0x00                  |  0x12 acknowledged, 0x13 muted,
 *        8     at (int64 Unix ms)    |  0x14 false_positive, 0x15
 *        1     0x10 + event         /   cleared), never an anomaly type
 *                                       (0..2) nor a Merkle node (0xff)
 *        bl    by (who acted, printable bytes)
 *
 * So an event's id is keccak256(sensor 0x00 metric 0x00 alarm_id 0x00 at
 * code): deterministic, a re-delivered event has the same id and the
 * journal logs it once. The contract emits the same per-record event for
 * every kind and puts alarm events in the batch
 * Merkle tree like anomalies, so `chainlogger prove` and `verify` work on
 * both. Alarm events do not carry the alarm's note, severity nor
 * muted_until (the gateway's history has them).
 *
 * After the records, each logBatch emits
 *   BatchLogged(uint256 indexed batch, address indexed logger,
 *               uint64 firstSeq, uint32 count, bytes32 root)
 * for the records it actually logged (seqs firstSeq .. firstSeq+count-1;
 * re-sent ones below the logger's nextSeq are skipped and not counted);
 * root is the Merkle root over their ids (common/eth/merkle.h), also stored on
 * chain as batchRoot(batch).
 */
#ifndef COMMON_ETH_ANOMALY_LOG_H
#define COMMON_ETH_ANOMALY_LOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "bus/alarm.h"
#include "bus/anomaly.h"
#include "bus/reading.h"

#define ANOMALY_LOG_MAX_BATCH 200 /* records per logBatch (the contract enforces it) */
#define ANOMALY_LOG_RECORD_MAX (4 + 64 + 1 + 31 + 1 + 9 + 16 + 511)
#define ANOMALY_LOG_EVENT_SIG                                                                      \
    "AnomalyLogged(bytes32,bytes32,address,uint64,bytes)" /* before packed events */
#define ANOMALY_LOG_RECORD_EVENT_SIG                                                               \
    "RecordLogged(bytes32,bytes32,address)" /* before Recorded (with a sensor topic) */
#define ANOMALY_LOG_RECORDED_EVENT_SIG "Recorded(bytes32,address)"
#define ANOMALY_LOG_BATCH_SIG "logBatch(uint64,bytes)"
#define ANOMALY_LOG_BATCH_EVENT_SIG "BatchLogged(uint256,address,uint64,uint32,bytes32)"
#define ANOMALY_LOG_IS_LOGGED_SIG "isLogged(bytes32,uint256,bytes32[])"

#define ANOMALY_LOG_KIND_ALARM 0x01 /* the kind byte of an alarm event record */
#define ANOMALY_LOG_ALARM_CODE 0x10 /* event code = this + alarm_event_type */
#define ANOMALY_LOG_ALARM_RECORD_MAX (6 + 64 + 1 + 31 + 1 + 64 + 1 + 9 + 64)
#define ANOMALY_LOG_OTHER_KIND (-2) /* decode_log: a valid record, not an anomaly */

/** An alarm lifecycle event as logged on chain (record kind 0x01). */
typedef struct {
    char id[ANOMALY_ID_HEX]; /* 64 hex: keccak256 of the preimage (layout above) */
    char sensor_id[SENSOR_ID_MAX];
    char metric[READING_NAME_MAX];
    char alarm_id[ALARM_ID_MAX];
    alarm_event_type event;
    int64_t at;             /* Unix ms */
    char by[ALARM_WHO_MAX]; /* "" = null (the gateway itself) */
} alarm_log_event;

/** Any on-chain record: an anomaly or an alarm event. */
typedef struct {
    int kind;          /* 0: anomaly; ANOMALY_LOG_KIND_ALARM: alarm event */
    anomaly a;         /* kind 0 */
    alarm_log_event e; /* kind ANOMALY_LOG_KIND_ALARM */
} anomaly_log_rec;

/** Where an anomaly sits on chain. */
typedef struct {
    char tx_hash[67]; /* "0x" + 64 hex */
    uint64_t block_number;
    uint32_t log_index;
    char logger[43]; /* "0x" + 40 hex: the account that logged it */
    uint64_t seq;    /* the logger's sequence number for this anomaly */
} anomaly_log_proof;

/** One logBatch call as its BatchLogged event tells it. */
typedef struct {
    uint64_t batch;     /* batch number (0, 1, ...) */
    char logger[43];    /* "0x" + 40 hex */
    uint64_t first_seq; /* seq of the first record it logged */
    uint32_t count;     /* records it logged (seqs first_seq .. first_seq + count - 1) */
    uint8_t root[32];   /* Merkle root over their ids */
    char tx_hash[67];
    uint64_t block_number;
    uint32_t log_index;
} anomaly_log_batch;

/** Encode one anomaly as a record (layout above) into out[0..cap-1].
 *  Returns: the record length, or -1 when a field is out of range (empty or
 *  over-long sensor/metric, non-finite value/score/ts, bad type) or cap is too small. */
int anomaly_log_encode_record(const anomaly *a, uint8_t *out, size_t cap);

/** anomaly_log_encode_record with the explanation as raw text, the layout
 *  before compact explanations (eth/expl_codec.h): for the gas benchmark's
 *  reference figure. Returns as anomaly_log_encode_record. */
int anomaly_log_encode_record_raw(const anomaly *a, uint8_t *out, size_t cap);

/** Decode one record from rec[0..len-1] (the whole buffer must be exactly one record).
 *  Out: *out (id is computed from the preimage). Returns 0 or -1 when malformed. */
int anomaly_log_decode_record(const uint8_t *rec, size_t len, anomaly *out);

/** The timestamp of a record of either kind (an alarm event's `at`), in
 *  ms, without decoding the rest (the chain logger's journal orders its
 *  duplicate window by it).
 *  Returns: 0 and *ts_ms, or -1 when rec[0..len-1] is not one record. */
int anomaly_log_record_ts_ms(const uint8_t *rec, size_t len, int64_t *ts_ms);

/** 1 when ev is logged on chain (opened, acknowledged, muted,
 *  false_positive, cleared), 0 for "updated" and "reminder". */
int anomaly_log_alarm_event_logged(alarm_event_type ev);

/** Fill ev (a record, id computed) from a lifecycle event of the gateway.
 *  Returns: 0, or -1 when the event is not logged on chain
 *  (anomaly_log_alarm_event_logged) or a field is out of range (sensor,
 *  metric, alarm id, by as the layout above; at < 0). Thread-safe. */
int anomaly_log_alarm_from_event(const alarm_event *in, alarm_log_event *ev);

/** Set ev->id from its other fields (keccak256 of the preimage above).
 *  Returns 0, or -1 when a field is out of range. */
int anomaly_log_alarm_make_id(alarm_log_event *ev);

/** Encode one alarm event record into out[0..cap-1] (ev->id is not read).
 *  Returns: the record length, or -1 when a field is out of range or cap
 *  is too small. */
int anomaly_log_encode_alarm(const alarm_log_event *ev, uint8_t *out, size_t cap);

/** Decode one alarm event record (exactly rec[0..len-1]); the id is
 *  computed from the preimage. Returns 0, or -1 when malformed (not kind
 *  0x01, lengths, separators, an unknown event code, a control byte in by). */
int anomaly_log_decode_alarm(const uint8_t *rec, size_t len, alarm_log_event *out);

/** The kind of rec[0..len-1] by its first bytes: 0 anomaly,
 *  ANOMALY_LOG_KIND_ALARM, or -1 (empty, or an unknown kind). */
int anomaly_log_record_kind(const uint8_t *rec, size_t len);

/** Decode a record of any kind. Returns 0 (out->kind says which), or -1. */
int anomaly_log_decode_any(const uint8_t *rec, size_t len, anomaly_log_rec *out);

/** Re-encode a decoded record (of its kind). Returns the length or -1. */
int anomaly_log_encode_any(const anomaly_log_rec *r, uint8_t *out, size_t cap);

/** The id (64 hex) and sensor id of a decoded record of either kind. */
const char *anomaly_log_rec_id(const anomaly_log_rec *r);
const char *anomaly_log_rec_sensor(const anomaly_log_rec *r);

/** Build the calldata of one transaction logging a[0..n-1], whose per-logger
 *  sequence numbers are first_seq, first_seq+1, ...
 *  Out: *out: malloc'd calldata owned by the caller (free); *len its size.
 *  Returns: 0, or -1 on invalid input (n == 0, too many, over-long strings) or no memory. */
int anomaly_log_encode_batch(const anomaly *a, size_t n, uint64_t first_seq, uint8_t **out, size_t *len);

/** topic0 of the per-record events, as "0x" + 64 hex (static strings):
 *  anomaly_log_recorded_topic() of Recorded (id and logger topics, packed
 *  data: what the contract emits now), anomaly_log_record_topic() of
 *  RecordLogged (id, sensor hash and logger topics, packed data),
 *  anomaly_log_event_topic() of AnomalyLogged (ABI data; both from
 *  contracts deployed before). Thread-safe. */
const char *anomaly_log_event_topic(void);
const char *anomaly_log_record_topic(void);
const char *anomaly_log_recorded_topic(void);
/** The topic0 filter matching every per-record event (a JSON array: any of
 *  them), for eth_getLogs. Topic 1 is the id in all of them; the logger is
 *  topic 2 of Recorded but topic 3 of the others, so readers filter by
 *  logger (and by sensor) on the decoded record, not on the node.
 *  Returns a new reference, NULL when out of memory. */
json_t *anomaly_log_event_topic0(void);

/** Decode one log object as returned by eth_getLogs or in a receipt's "logs".
 *  Returns: 0 and fills *out (and *proof when not NULL), or -1 when the log
 *  is not an AnomalyLogger event, is malformed, its id or sensor topic does
 *  not match its record, or it was removed by a reorg ("removed": true);
 *  ANOMALY_LOG_OTHER_KIND (-2) when it is a valid record of another kind
 *  (an alarm event: anomaly_log_decode_log_any). Never crashes on bad input. */
int anomaly_log_decode_log(const json_t *log, anomaly *out, anomaly_log_proof *proof);

/** anomaly_log_decode_log for a record of any kind (an alarm event too).
 *  Returns: 0 and fills *out (and *proof), or -1 as anomaly_log_decode_log.
 *  (anomaly_log_decode_log itself returns ANOMALY_LOG_OTHER_KIND for a valid
 *  alarm event record, so readers of anomalies can skip it silently.) */
int anomaly_log_decode_log_any(const json_t *log, anomaly_log_rec *out, anomaly_log_proof *proof);

/** topic0 of BatchLogged, as "0x" + 64 hex (static string). Thread-safe. */
const char *anomaly_log_batch_topic(void);

/** Decode one BatchLogged log (eth_getLogs or receipt form).
 *  Returns: 0 and fills *out, or -1 when it is not a BatchLogged event, is
 *  malformed (lengths, out-of-range words, missing tx hash/block/log index)
 *  or was removed by a reorg. Never crashes on bad input. */
int anomaly_log_decode_batch_log(const json_t *log, anomaly_log_batch *out);

#endif
