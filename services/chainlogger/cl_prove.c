/*
 * cl_prove — `chainlogger prove ID`: show, with the contract's own view
 * function, that an anomaly id is logged on chain.
 *
 * eth_getLogs(AnomalyLogged, topic1 = id) finds where it was logged
 * (logger, seq, block, transaction; any logger; block ranges as verify);
 * common/eth/batch_proof then finds its batch, rebuilds the Merkle proof from
 * the batch's events and asks isLogged(id, batch, proof) with eth_call
 * (the same check the gateway's GET /api/anomalies/{id} runs). Only that
 * last call decides "logged": the contract's answer against the root it
 * stored when the batch was logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eth/anomaly_log.h"
#include "eth/batch_proof.h"
#include "cl.h"
#include "base/hex.h"
#include "base/log.h"

#define RANGE 5000 /* blocks per eth_getLogs call, as in cl_verify.c */

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char s[67];
    hex_encode(s, p, n, 1);
    return json_string(s);
}

/* Try to prove the id at `where`. Fills *res; returns 1 logged, 0 not, <0 chain error. */
static int prove_at(eth_client *e, const uint8_t contract[20], const uint8_t id[32],
                    const anomaly_log_proof *where, json_t *res)
{
    batch_proof bp;
    char addr[43];
    hex_encode(addr, contract, 20, 1);
    json_object_set_new(res, "logger", json_string(where->logger));
    json_object_set_new(res, "seq", json_integer((json_int_t)where->seq));
    json_object_set_new(res, "tx_hash", json_string(where->tx_hash));
    json_object_set_new(res, "block_number", json_integer((json_int_t)where->block_number));
    int rc = batch_proof_check(e->rpc, addr, id, where, 0, &bp, e->err, sizeof e->err);
    if (rc < 0) {
        log_warn("chain_error call=prove reason=\"%s\"", e->err);
        return rc == RPC_ERR_NOMEM ? CL_ERR_FATAL : CL_ERR_CHAIN;
    }
    if (bp.have_batch) {
        json_object_set_new(res, "batch", json_integer((json_int_t)bp.batch.batch));
        json_object_set_new(res, "index", json_integer((json_int_t)bp.index));
    }
    if (bp.have_proof) {
        json_t *jp = json_array();
        for (size_t i = 0; i < bp.plen; i++)
            json_array_append_new(jp, hex_json(bp.proof[i], 32));
        json_object_set_new(res, "proof", jp);
        json_object_set_new(res, "root", hex_json(bp.root, 32));
    }
    if (bp.reason)
        json_object_set_new(res, "reason", json_string(bp.reason));
    return rc;
}

int cl_prove(eth_client *e, const uint8_t contract[20], const char *id_hex)
{
    uint8_t id[32];
    char idn[67];
    uint64_t head;
    int rc, logged = 0;
    json_t *res = NULL, *ids = NULL, *topics = NULL, *logs = NULL;
    char addr[43];
    eth_log_filter f;
    eth_log_pager pg;
    anomaly_log_rec *rec = NULL;

    if (!id_hex || strlen(id_hex) != (strncasecmp(id_hex, "0x", 2) == 0 ? 66 : 64) ||
        hex_decode(id, 32, id_hex) != 32) {
        log_error("prove_invalid_id reason=\"want 64 hex digits, with or without 0x\"");
        return CL_ERR_FATAL;
    }
    hex_encode(idn, id, 32, 1);
    if ((rc = eth_client_block_number(e, &head)) < 0)
        return rc;
    ids = json_pack("[s]", idn);
    topics = eth_client_anomaly_topics(ids);
    hex_encode(addr, contract, 20, 1);
    eth_log_filter_init(&f, addr, topics);
    eth_client_pager(e, &pg, &f, 0, head, RANGE);
    res = json_object();
    if (!(rec = malloc(sizeof(*rec)))) {
        rc = CL_ERR_FATAL;
        goto out;
    }
    json_object_set_new(res, "id", json_string(idn));
    while (!logged && (rc = eth_client_pager_next(e, &pg, &logs)) == 1) {
        json_t *lg;
        size_t k;
        json_array_foreach(logs, k, lg)
        {
            anomaly_log_proof where;
            if (anomaly_log_decode_log_any(lg, rec, &where) < 0)
                continue;
            json_object_set_new(res, "kind",
                                json_string(rec->kind == 0 ? "anomaly" : "alarm_event"));
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
    if (rc < 0)
        goto out;
    if (!logged && !json_object_get(res, "reason"))
        json_object_set_new(res, "reason", json_string("no per-record event (Recorded, RecordLogged, AnomalyLogged) with this id"));
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
    json_decref(topics);
    json_decref(ids);
    json_decref(res);
    free(rec);
    return rc;
}
