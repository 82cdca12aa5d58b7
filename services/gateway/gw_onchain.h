/*
 * gw_onchain — the "onchain" member of GET /api/anomalies/{id}: the
 * contract's own answer to "is this id logged?" (isLogged(id, batch,
 * proof) via eth_call, common/eth/batch_proof), with the batch, the leaf index,
 * the batch root and the Merkle proof a client can re-check itself, and a
 * bounded per-id cache of those answers.
 *
 *   {"batch": N, "index": i, "root": "0x..", "proof": ["0x..", ...],
 *    "logged": true|false, "checked_at_block": B}
 *   not logged:           the same as far as it got, plus "reason"
 *   chain not readable:   {"logged": null, "error": "..."} (never cached)
 *
 * An answer is cached once the anomaly's block has `confirmations`
 * confirmations at the block the contract was asked at: from then on it
 * cannot change (the contract writes each batch root once), unless the
 * chain itself is reset, when gw_chain clears the cache. The cache keeps
 * the newest `cap` answers (FIFO eviction, hash lookup).
 *
 * Not thread-safe: used by the gateway's verifier thread only (gw_chain).
 */
#ifndef GW_ONCHAIN_H
#define GW_ONCHAIN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "eth/anomaly_log.h"
#include "eth/batch_proof.h"
#include "gw_metrics.h"
#include "eth/rpc.h"

typedef struct gw_onchain gw_onchain; /* opaque */

/** Create the checker with a cache of at most cap answers (0 = no cache)
 *  and the confirmations an answer needs before it is cached (<= 1: as
 *  soon as its block is in the chain).
 *  In: metrics: borrowed, counted into (may be NULL).
 *  Out: *out (gw_onchain_free). Returns 0 or -1 (no memory). */
int gw_onchain_create(gw_onchain **out, size_t cap, long confirmations, gw_metrics *metrics);

/** Free the checker and its cache. NULL is ok. */
void gw_onchain_free(gw_onchain *oc);

/** The onchain object for anomaly `id` (64 lower-case hex, no 0x) logged at
 *  `where`: from the cache, or asked of the chain (eth_blockNumber, then
 *  batch_proof_check at that block). Blocks on up to four JSON-RPC calls.
 *  In:  rpc: the verifier's client; contract: "0x" + 40 hex.
 *  Returns: a new object (caller owns), or NULL only when memory is short.
 *  A chain failure is an object with "logged": null and "error", counted
 *  as GW_ERR_ONCHAIN_CHECK. */
json_t *gw_onchain_check(gw_onchain *oc, rpc_client *rpc, const char *contract, const char *id,
                         const anomaly_log_proof *where);

/** The object for a finished batch_proof_check (exposed for tests).
 *  In: bp: its result; rc: its return value (1, 0, or < 0 with err the
 *      reason); block: the block it was asked at.
 *  Returns: a new object, or NULL when memory is short. */
json_t *gw_onchain_json(const batch_proof *bp, int rc, uint64_t block, const char *err);

/** Cache access (exposed for tests). get: a new reference to the cached
 *  object for id, or NULL. put: remember obj (a reference is taken) for
 *  id, replacing an older answer, evicting the oldest when full; returns 0
 *  or -1 (no memory, or no cache). clear: forget everything. size: how
 *  many answers are cached. */
json_t *gw_onchain_cache_get(gw_onchain *oc, const char *id);
int gw_onchain_cache_put(gw_onchain *oc, const char *id, json_t *obj);
void gw_onchain_cache_clear(gw_onchain *oc);
size_t gw_onchain_cache_size(const gw_onchain *oc);

#endif
