/*
 * alog — the AnomalyLogger contract (contracts/AnomalyLogger.sol) seen from
 * C: the calldata that logs a batch of anomalies, and the decoding of its
 * events back into anomalies, so the chain logger writes and the gateway
 * and `chainlogger verify` read with the same code.
 */
#ifndef COMMON_ALOG_H
#define COMMON_ALOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"

/** Where an anomaly sits on chain. */
typedef struct {
    char tx_hash[67];  /* "0x" + 64 hex */
    uint64_t block_number;
    uint32_t log_index;
    char logger[43];   /* "0x" + 40 hex: the account that logged it */
    uint64_t seq;      /* the logger's sequence number for this anomaly */
} alog_proof;

/** Build the calldata of one transaction logging a[0..n-1], whose per-logger
 *  sequence numbers are first_seq, first_seq+1, ...
 *  Out: *out: malloc'd calldata owned by the caller (free); *len its size.
 *  Returns: 0, or -1 on invalid input (n == 0, too many, over-long strings) or no memory. */
int alog_encode_batch(const anomaly *a, size_t n, uint64_t first_seq, uint8_t **out, size_t *len);

/** topic0 of the per-anomaly event, as "0x" + 64 hex (static string). */
const char *alog_event_topic(void);

/** Decode one log object as returned by eth_getLogs or in a receipt's "logs".
 *  Returns: 0 and fills *out (and *proof when not NULL), or -1 when the log
 *  is not an AnomalyLogger event or is malformed (never crashes on bad input). */
int alog_decode_log(const json_t *log, anomaly *out, alog_proof *proof);

#endif
