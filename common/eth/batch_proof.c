/*
 * batch_proof — see batch_proof.h. The logic moved here from
 * services/chainlogger/cl_prove.c so the gateway runs the very same check.
 */
#include "eth/batch_proof.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/hex.h"
#include "eth/abi.h"
#include "eth/client.h"

int batch_proof_find_batch(const json_t *batch_logs, const anomaly_log_proof *where, anomaly_log_batch *out)
{
    size_t k;
    json_t *lg;
    if (!json_is_array(batch_logs))
        return 0;
    json_array_foreach(batch_logs, k, lg)
    {
        anomaly_log_batch b;
        if (anomaly_log_decode_batch_log(lg, &b) == 0 && strcasecmp(b.logger, where->logger) == 0 &&
            strcasecmp(b.tx_hash, where->tx_hash) == 0 && where->seq >= b.first_seq &&
            where->seq - b.first_seq < b.count) {
            *out = b;
            return 1;
        }
    }
    return 0;
}

int batch_proof_leaves(const anomaly_log_batch *b, const json_t *logs, uint8_t (*leaves)[32])
{
    size_t k, found = 0;
    json_t *lg;
    uint8_t *have = calloc(b->count ? b->count : 1, 1);
    if (!have)
        return -1;
    anomaly_log_rec *r = malloc(sizeof(*r));
    if (!r) {
        free(have);
        return -1;
    }
    json_array_foreach(logs, k, lg)
    {
        anomaly_log_proof p;
        /* any record kind: alarm events are leaves of the batch tree too */
        if (anomaly_log_decode_log_any(lg, r, &p) < 0 || strcasecmp(p.logger, b->logger) != 0 ||
            strcasecmp(p.tx_hash, b->tx_hash) != 0 || p.seq < b->first_seq ||
            p.seq - b->first_seq >= b->count)
            continue;
        uint64_t i = p.seq - b->first_seq;
        if (have[i] || hex_decode(leaves[i], 32, anomaly_log_rec_id(r)) != 32)
            continue; /* (logger, seq) is unique on chain: a second one is not ours */
        have[i] = 1;
        found++;
    }
    free(have);
    free(r);
    return (int)found;
}

int batch_proof_build(const anomaly_log_batch *b, const json_t *anomaly_logs, uint64_t seq, batch_proof *out)
{
    uint8_t(*leaves)[32] = NULL;
    int rc = 0;
    out->have_proof = 0;
    if (b->count == 0 || seq < b->first_seq || seq - b->first_seq >= b->count) {
        out->reason = "seq outside its batch";
        return 0;
    }
    out->index = seq - b->first_seq;
    leaves = malloc((size_t)b->count * 32);
    if (!leaves)
        return -1;
    int found = batch_proof_leaves(b, anomaly_logs, leaves);
    if (found < 0) {
        rc = -1;
        goto out;
    }
    if (found != (int)b->count) {
        out->reason = "batch records missing on chain";
        goto out;
    }
    if (merkle_proof((const uint8_t(*)[32])leaves, b->count, (size_t)out->index, out->proof,
                     &out->plen, out->root) < 0) {
        rc = -1;
        goto out;
    }
    out->have_proof = 1;
    if (memcmp(out->root, b->root, 32) != 0) {
        out->reason = "records do not match the batch root";
        goto out;
    }
    rc = 1;
out:
    free(leaves);
    return rc;
}

int batch_proof_is_logged_calldata(const uint8_t id[32], uint64_t batch, const uint8_t (*proof)[32],
                                  size_t plen, uint8_t **cd, size_t *cdl)
{
    uint8_t sel[4];
    abi_selector(ANOMALY_LOG_IS_LOGGED_SIG, sel);
    abi_arg a[3] = {{.type = ABI_BYTES32, .p = id},
                    {.type = ABI_UINT, .u = batch},
                    {.type = ABI_BYTES32_ARRAY, .p = plen ? proof[0] : NULL, .len = plen}};
    return abi_encode(sel, a, 3, cd, cdl) < 0 ? -1 : 0;
}

int batch_proof_is_logged_decode(const char *hex, int *logged)
{
    uint8_t w[33];
    uint64_t v;
    /* 33 bytes of room so longer answers are seen as such, not cut to a word. */
    if (!hex || hex_decode(w, sizeof w, hex) != 32 || abi_get_u64(w, &v) < 0 || v > 1)
        return -1;
    *logged = (int)v;
    return 0;
}

static json_t *qty(uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "0x%" PRIx64, v);
    return json_string(b);
}

/* eth_getLogs of `contract` in one block with topics [topic0, null, logger
 * (indexed address)] for BatchLogged (logger_pos 2), or [topic0] for the
 * per-record events (logger_pos 0: the logger is topic 2 of Recorded but 3
 * of the older events, so batch_proof_build checks it on the decoded log).
 * topic0 (a string, or an array of alternatives) is stolen. */
static int block_logs(rpc_client *rpc, const char *contract, uint64_t block, json_t *topic0,
                      int logger_pos, const char *logger_hex, json_t **out, char *err,
                      size_t errlen)
{
    uint8_t addr[20], w[32];
    char wt[67];
    eth_log_filter f;
    *out = NULL;
    if (hex_decode(addr, 20, logger_hex) != 20) {
        json_decref(topic0);
        snprintf(err, errlen, "bad logger address in the event");
        return RPC_ERR_PARSE;
    }
    abi_put_address(w, addr);
    hex_encode(wt, w, 32, 1);
    json_t *topics = json_array();
    if (!topics || !topic0) {
        json_decref(topics);
        json_decref(topic0);
        return RPC_ERR_NOMEM;
    }
    json_array_append_new(topics, topic0);
    for (int i = 1; i < logger_pos; i++)
        json_array_append_new(topics, json_null());
    if (logger_pos > 0)
        json_array_append_new(topics, json_string(wt));
    eth_log_filter_init(&f, contract, topics);
    int rc = eth_logs_get(rpc, &f, block, block, out, err, errlen);
    json_decref(topics);
    return rc == ETH_LOGS_ERR_SHAPE ? RPC_ERR_PARSE : rc;
}

int batch_proof_check(rpc_client *rpc, const char *contract, const uint8_t id[32],
                     const anomaly_log_proof *where, uint64_t block, batch_proof *out, char *err,
                     size_t errlen)
{
    json_t *logs = NULL, *res = NULL;
    uint8_t *cd = NULL;
    size_t cdl;
    int rc;

    memset(out, 0, sizeof *out);
    out->block = block;
    /* 1. the batch: BatchLogged(uint256 indexed batch, address indexed logger, ...) */
    if ((rc = block_logs(rpc, contract, where->block_number, json_string(anomaly_log_batch_topic()),
                         2, where->logger, &logs, err, errlen)) < 0)
        goto out;
    out->have_batch = batch_proof_find_batch(logs, where, &out->batch);
    json_decref(logs);
    logs = NULL;
    if (!out->have_batch) {
        out->reason = "no BatchLogged event for it";
        rc = 0;
        goto out;
    }
    out->index = where->seq - out->batch.first_seq;
    /* 2-3. the leaves: the per-record events of the block (batch_proof_build keeps this logger's) */
    if ((rc = block_logs(rpc, contract, out->batch.block_number, anomaly_log_event_topic0(), 0,
                         out->batch.logger, &logs, err, errlen)) < 0)
        goto out;
    if ((rc = batch_proof_build(&out->batch, logs, where->seq, out)) <= 0) {
        if (rc < 0) {
            snprintf(err, errlen, "out of memory");
            rc = RPC_ERR_NOMEM;
        }
        goto out;
    }
    /* 4. the contract's own answer */
    if (batch_proof_is_logged_calldata(id, out->batch.batch, (const uint8_t(*)[32])out->proof,
                                      out->plen, &cd, &cdl) < 0) {
        snprintf(err, errlen, "out of memory");
        rc = RPC_ERR_NOMEM;
        goto out;
    }
    char *hex = malloc(2 * cdl + 3);
    if (!hex) {
        snprintf(err, errlen, "out of memory");
        rc = RPC_ERR_NOMEM;
        goto out;
    }
    hex_encode(hex, cd, cdl, 1);
    json_t *call = json_pack("{s:s, s:s}", "to", contract, "data", hex);
    free(hex);
    if (!call) {
        rc = RPC_ERR_NOMEM;
        goto out;
    }
    rc = rpc_call(rpc, "eth_call",
                  json_pack("[o, o]", call, block ? qty(block) : json_string("latest")), &res, err,
                  errlen);
    if (rc < 0)
        goto out;
    if (batch_proof_is_logged_decode(json_string_value(res), &out->logged) < 0) {
        snprintf(err, errlen, "isLogged returned no bool (no contract at this block?)");
        rc = RPC_ERR_PARSE;
        goto out;
    }
    if (!out->logged)
        out->reason = "isLogged returned false";
    rc = out->logged;
out:
    free(cd);
    json_decref(logs);
    json_decref(res);
    return rc;
}
