/*
 * batch_proof — "is anomaly id X logged?" answered by the contract itself:
 * find the batch an AnomalyLogged event belongs to, rebuild that batch's
 * Merkle proof for the id from the chain's events, and ask the
 * contract's isLogged(id, batch, proof) with eth_call.
 *
 * Shared by `chainlogger prove` (services/chainlogger/cl_prove.c) and the
 * gateway's GET /api/anomalies/{id} ("onchain"), so both read the chain
 * the same way:
 *   1. eth_getLogs(BatchLogged, logger) in the anomaly's block: the batch
 *      of its transaction whose seqs [firstSeq, firstSeq + count) hold it.
 *   2. eth_getLogs(AnomalyLogged, logger) in that block: the batch's
 *      leaves are the logger's records with those seqs, in seq order; their
 *      ids are re-derived from the records by anomaly_log_decode_log, so they are
 *      the content's ids, not just topics.
 *   3. merkle_proof() rebuilds the proof and root; the root must equal the
 *      BatchLogged event's.
 *   4. isLogged(id, batch, proof) via eth_call at a given block.
 * Only step 4 decides "logged": the contract's answer against the root it
 * stored when the batch was logged. Steps 1-3 are pure functions over
 * decoded logs (batch_proof_find_batch, batch_proof_build), testable without
 * a chain.
 */
#ifndef COMMON_ETH_BATCH_PROOF_H
#define COMMON_ETH_BATCH_PROOF_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "eth/anomaly_log.h"
#include "eth/merkle.h"
#include "eth/rpc.h"

/** What the check found, filled step by step (later fields are valid only
 *  when the flags before them are set). */
typedef struct {
    int have_batch; /* step 1 found the BatchLogged event: batch, index */
    anomaly_log_batch batch;
    uint64_t index; /* the id's leaf: seq - batch.first_seq */
    int have_proof; /* step 3 built the proof: root, proof, plen */
    uint8_t root[32];
    uint8_t proof[MERKLE_MAX_DEPTH][32];
    size_t plen;
    int logged;         /* step 4: the contract's answer (1/0) */
    uint64_t block;     /* the block isLogged was asked at (0 = "latest") */
    const char *reason; /* static text when not logged, else NULL */
} batch_proof;

/** Step 1 over already-fetched logs: the BatchLogged event among
 *  batch_logs (eth_getLogs result) of where's transaction whose seq range
 *  holds where->seq.
 *  Out: *out. Returns: 1 found, 0 not. Never fails on malformed logs (skipped). */
int batch_proof_find_batch(const json_t *batch_logs, const anomaly_log_proof *where, anomaly_log_batch *out);

/** The leaves of batch b from AnomalyLogged logs (eth_getLogs result of its
 *  block, any order): leaves[i] = id of the record with seq first_seq + i
 *  logged by b's logger in b's transaction.
 *  Out: leaves (caller's array of b->count entries).
 *  Returns: how many leaves were found (b->count when all are there), or
 *  -1 when memory is short. */
int batch_proof_leaves(const anomaly_log_batch *b, const json_t *logs, uint8_t (*leaves)[32]);

/** Steps 2-3: build the proof for the record with `seq` in batch b from
 *  its block's AnomalyLogged logs; sets out->have_proof, root, proof,
 *  plen, index, or out->reason.
 *  Returns: 1 built and its root equals b's, 0 not (reason set), -1 no memory. */
int batch_proof_build(const anomaly_log_batch *b, const json_t *anomaly_logs, uint64_t seq,
                     batch_proof *out);

/** Calldata of isLogged(id, batch, proof[0..plen-1]).
 *  Out: *cd (malloc'd, caller frees), *cdl. Returns 0 or -1 (no memory). */
int batch_proof_is_logged_calldata(const uint8_t id[32], uint64_t batch, const uint8_t (*proof)[32],
                                  size_t plen, uint8_t **cd, size_t *cdl);

/** Decode isLogged's return data ("0x" + 64 hex, an ABI bool).
 *  Out: *logged. Returns 0, or -1 when it is not exactly a bool word. */
int batch_proof_is_logged_decode(const char *hex, int *logged);

/** All four steps against a node. Blocks on up to three JSON-RPC calls
 *  (each up to the client's timeout); not thread-safe per rpc client.
 *  In:  rpc: the client; contract: "0x" + 40 hex; id: the anomaly id;
 *       where: its AnomalyLogged event (anomaly_log_decode_log); block: the block
 *       to ask isLogged at (0 = "latest").
 *  Out: *out (zeroed first); err/errlen: the reason of a chain failure.
 *  Returns: 1 logged, 0 not logged (out->reason says why), or a negative
 *  RPC_ERR_* code when the chain could not be read (nothing decided). */
int batch_proof_check(rpc_client *rpc, const char *contract, const uint8_t id[32],
                     const anomaly_log_proof *where, uint64_t block, batch_proof *out, char *err,
                     size_t errlen);

#endif
