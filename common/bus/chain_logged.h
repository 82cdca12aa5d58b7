/*
 * chain_logged — the confirmation the chain logger publishes on
 * `chain/logged/{sensor_id}` (bus/topics.h) once an anomaly's transaction
 * receipt shows it on chain, and the gateway reads to mark the anomaly
 * logged:
 *
 *   {"id":"<64 hex>","tx_hash":"0x<64 hex>","block_number":12,"log_index":0,
 *    "seq":41,"batch":7}
 *
 * Compact, members in this order. `id` is the anomaly's id (bus/anomaly.h),
 * or an alarm lifecycle event's on-chain id (eth/anomaly_log.h, record
 * kind 0x01); the sensor id is the topic's last level, not a member.
 * `log_index` is optional on input (older loggers did not send it); `seq`
 * (the logger's sequence number of the record) and `batch` (the contract's
 * batch number, whose Merkle root covers it) are optional too: the logger
 * leaves `batch` out when it confirmed the record from eth_getLogs rather
 * than from its own receipt.
 */
#ifndef COMMON_CHAIN_LOGGED_H
#define COMMON_CHAIN_LOGGED_H

#include <stddef.h>
#include <stdint.h>

#include "bus/anomaly.h"

#define CHAIN_LOGGED_TX_HEX 67        /* "0x" + 64 hex digits + NUL */
#define CHAIN_LOGGED_MAX_PAYLOAD 4096 /* larger payloads are rejected unparsed */

typedef struct {
    char id[ANOMALY_ID_HEX];           /* 64 hex digits */
    char tx_hash[CHAIN_LOGGED_TX_HEX]; /* "0x" + 64 hex digits, case as received */
    int64_t block_number;              /* >= 0 */
    int64_t log_index;                 /* >= 0, or -1 when absent */
    int64_t seq;                       /* >= 0, or -1 when absent */
    int64_t batch;                     /* >= 0, or -1 when absent */
} chain_logged;

/** Encode as the compact JSON above (log_index, seq, batch omitted when negative).
 *  Returns: the length written (without the NUL), or -1 when an argument
 *           is NULL or the text does not fit in cap bytes.
 *  Out: buf: caller-owned, cap bytes, NUL-terminated on success.
 *  In:  c:   the confirmation; its strings are not validated.
 *  Thread-safe; allocates only jansson's temporary. */
int chain_logged_to_json(const chain_logged *c, char *buf, size_t cap);

/** Decode and validate a confirmation: `id` 64 hex digits, `tx_hash` "0x"
 *  and 64 hex digits, `block_number` a non-negative integer, `log_index`
 *  absent or a non-negative integer; other members are ignored.
 *  Returns: 0, or -1 with a reason in err (payload over
 *           CHAIN_LOGGED_MAX_PAYLOAD bytes, invalid JSON, duplicate
 *           members, not an object, a field missing or invalid).
 *  Out: out: filled on 0 (undefined otherwise).
 *       err: caller-owned, errlen bytes (may be NULL).
 *  In:  payload, len: the message (need not be NUL-terminated).
 *  Thread-safe. */
int chain_logged_from_json(const void *payload, size_t len, chain_logged *out, char *err,
                           size_t errlen);

#endif
