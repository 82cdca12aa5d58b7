/*
 * cl_prove — `chainlogger prove ID`: show, with the contract's own view
 * function, that an anomaly id is logged on chain.
 *
 *   1. eth_getLogs(AnomalyLogged, topic1 = id) finds where it was logged:
 *      logger, seq, block, transaction (any logger; block ranges as verify).
 *   2. eth_getLogs(BatchLogged, logger) in that block finds the batch of
 *      that transaction whose seqs [firstSeq, firstSeq + count) hold it.
 *   3. The batch's leaves are that logger's AnomalyLogged events with those
 *      seqs, in seq order; their ids are re-derived from the records by
 *      alog_decode_log, so they are the content's ids, not just topics.
 *   4. merkle_proof() rebuilds the proof and root; the root must equal the
 *      event's; then isLogged(id, batch, proof) is asked with eth_call.
 * Only the last step decides "logged": the contract's answer against the
 * root it stored when the batch was logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alog.h"
#include "cl.h"
#include "hex.h"
#include "log.h"
#include "merkle.h"

#define RANGE 5000 /* blocks per eth_getLogs call, as in cl_verify.c */

int cl_batch_leaves(const alog_batch *b, json_t *logs, uint8_t (*leaves)[32])
{
    size_t k, found = 0;
    json_t *lg;
    uint8_t *have = calloc(b->count ? b->count : 1, 1);
    if (!have)
        return -1;
    json_array_foreach(logs, k, lg)
    {
        anomaly a;
        alog_proof p;
        if (alog_decode_log(lg, &a, &p) < 0 || strcasecmp(p.logger, b->logger) != 0 ||
            strcasecmp(p.tx_hash, b->tx_hash) != 0 || p.seq < b->first_seq ||
            p.seq - b->first_seq >= b->count)
            continue;
        uint64_t i = p.seq - b->first_seq;
        if (have[i] || hex_decode(leaves[i], 32, a.id) != 32)
            continue; /* (logger, seq) is unique on chain: a second one is not ours */
        have[i] = 1;
        found++;
    }
    free(have);
    return (int)found;
}

/* Find the batch of (tx, seq) among the BatchLogged events of `block`. */
static int find_batch(cl_eth *e, const uint8_t contract[20], const alog_proof *where,
                      alog_batch *out)
{
    uint8_t logger[20];
    json_t *logs = NULL, *lg;
    size_t k;
    int rc = 0;
    if (hex_decode(logger, 20, where->logger) != 20)
        return 0;
    if ((rc = cl_eth_batch_logs(e, contract, where->block_number, where->block_number, logger,
                                &logs)) < 0)
        return rc;
    rc = 0;
    json_array_foreach(logs, k, lg)
    {
        alog_batch b;
        if (alog_decode_batch_log(lg, &b) == 0 && strcasecmp(b.tx_hash, where->tx_hash) == 0 &&
            where->seq >= b.first_seq && where->seq - b.first_seq < b.count) {
            *out = b;
            rc = 1;
            break;
        }
    }
    json_decref(logs);
    return rc;
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char s[67];
    hex_encode(s, p, n, 1);
    return json_string(s);
}

/* Try to prove the id at `where`. Fills *res; returns 1 logged, 0 not, <0 chain error. */
static int prove_at(cl_eth *e, const uint8_t contract[20], const uint8_t id[32],
                    const alog_proof *where, json_t *res)
{
    alog_batch b;
    uint8_t logger[20], root[32], proof[MERKLE_MAX_DEPTH][32], (*leaves)[32] = NULL;
    size_t plen = 0;
    json_t *logs = NULL;
    int rc, logged = 0;

    json_object_set_new(res, "logger", json_string(where->logger));
    json_object_set_new(res, "seq", json_integer((json_int_t)where->seq));
    json_object_set_new(res, "tx_hash", json_string(where->tx_hash));
    json_object_set_new(res, "block_number", json_integer((json_int_t)where->block_number));
    if ((rc = find_batch(e, contract, where, &b)) <= 0) {
        if (rc == 0)
            json_object_set_new(res, "reason", json_string("no BatchLogged event for it"));
        return rc;
    }
    json_object_set_new(res, "batch", json_integer((json_int_t)b.batch));
    json_object_set_new(res, "index", json_integer((json_int_t)(where->seq - b.first_seq)));
    if (hex_decode(logger, 20, b.logger) != 20 || b.count == 0)
        return 0;
    if ((rc = cl_eth_logs(e, contract, b.block_number, b.block_number, NULL, logger, &logs)) < 0)
        return rc;
    leaves = malloc((size_t)b.count * 32);
    rc = CL_ERR_FATAL;
    if (!leaves)
        goto out;
    rc = 0;
    if (cl_batch_leaves(&b, logs, leaves) != (int)b.count) {
        json_object_set_new(res, "reason", json_string("batch records missing on chain"));
        goto out;
    }
    if (merkle_proof((const uint8_t(*)[32])leaves, b.count, (size_t)(where->seq - b.first_seq),
                     proof, &plen, root) < 0) {
        rc = CL_ERR_FATAL;
        goto out;
    }
    json_t *jp = json_array();
    for (size_t i = 0; i < plen; i++)
        json_array_append_new(jp, hex_json(proof[i], 32));
    json_object_set_new(res, "proof", jp);
    json_object_set_new(res, "root", hex_json(root, 32));
    if (memcmp(root, b.root, 32) != 0) {
        json_object_set_new(res, "reason", json_string("records do not match the batch root"));
        goto out;
    }
    if ((rc = cl_eth_is_logged(e, contract, id, b.batch, (const uint8_t(*)[32])proof, plen,
                               &logged)) < 0)
        goto out;
    rc = logged;
    if (!logged)
        json_object_set_new(res, "reason", json_string("isLogged returned false"));
out:
    free(leaves);
    json_decref(logs);
    return rc;
}

int cl_prove(cl_eth *e, const uint8_t contract[20], const char *id_hex)
{
    uint8_t id[32];
    char idn[67];
    uint64_t head;
    int rc, logged = 0;
    json_t *res = NULL, *ids = NULL;

    if (!id_hex || strlen(id_hex) != (strncasecmp(id_hex, "0x", 2) == 0 ? 66 : 64) ||
        hex_decode(id, 32, id_hex) != 32) {
        log_error("prove_invalid_id reason=\"want 64 hex digits, with or without 0x\"");
        return CL_ERR_FATAL;
    }
    hex_encode(idn, id, 32, 1);
    if ((rc = cl_eth_block_number(e, &head)) < 0)
        return rc;
    ids = json_pack("[s]", idn);
    res = json_object();
    json_object_set_new(res, "id", json_string(idn));
    for (uint64_t from = 0; from <= head && !logged; from += RANGE) {
        uint64_t to = from + RANGE - 1 > head ? head : from + RANGE - 1;
        json_t *logs = NULL, *lg;
        size_t k;
        if ((rc = cl_eth_logs(e, contract, from, to, ids, NULL, &logs)) < 0)
            goto out;
        json_array_foreach(logs, k, lg)
        {
            anomaly a;
            alog_proof where;
            if (alog_decode_log(lg, &a, &where) < 0)
                continue;
            /* The same anomaly may be logged by more than one logger: the first that proves wins.
             */
            if ((rc = prove_at(e, contract, id, &where, res)) < 0) {
                json_decref(logs);
                goto out;
            }
            if (rc == 1) {
                logged = 1;
                break;
            }
        }
        json_decref(logs);
    }
    if (!logged && !json_object_get(res, "reason"))
        json_object_set_new(res, "reason", json_string("no AnomalyLogged event with this id"));
    if (logged)
        json_object_del(res, "reason");
    json_object_set_new(res, "logged", json_boolean(logged));
    char *s = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!s) {
        rc = CL_ERR_FATAL;
        goto out;
    }
    printf("%s\n", s);
    free(s);
    rc = logged ? 0 : 1;
out:
    json_decref(ids);
    json_decref(res);
    return rc;
}
