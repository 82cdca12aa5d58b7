/*
 * cl_eth — the chain logger's view of one chain through JSON-RPC: chain id
 * check, EIP-1559 detection (baseFeePerGas in the latest block), fees,
 * nonces, signing and sending raw transactions, receipts, calls, logs.
 * Every node error becomes CL_ERR_CHAIN (retry later) unless it is one the
 * caller must act on (nonce too low, replacement underpriced).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "eth/abi.h"
#include "eth/anomaly_log.h"
#include "cl.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/clock.h"

double cl_now(void)
{
    return clock_mono();
}

void cl_sleep_ms(int ms, volatile int *stop)
{
    while (ms > 0 && !(stop && *stop)) {
        int step = ms > 50 ? 50 : ms;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static json_t *hexstr(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 3);
    if (!s)
        return NULL;
    hex_encode(s, p, n, 1);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static json_t *qty(uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
    return json_string(b);
}

int cl_eth_init(cl_eth *e, const char *rpc_url, tx_key *key, uint64_t chain_id, long timeout_ms)
{
    memset(e, 0, sizeof(*e));
    if (rpc_client_create(&e->rpc, rpc_url, timeout_ms) < 0)
        return -1;
    e->key = key;
    e->chain_id = chain_id;
    if (key) {
        tx_key_address(key, e->addr);
        tx_key_address_hex(key, e->addr_hex);
    }
    return 0;
}

void cl_eth_free(cl_eth *e)
{
    rpc_client_destroy(e->rpc);
    e->rpc = NULL;
}

static int chain_err(cl_eth *e, const char *what)
{
    log_rate(1, 5, LOG_WARN, "chain_error call=%s reason=\"%s\"", what, e->err);
    return CL_ERR_CHAIN;
}

int cl_eth_refresh_fees(cl_eth *e, double max_age_s)
{
    double now = cl_now();
    if (e->fees_at > 0 && now - e->fees_at < max_age_s)
        return 0;
    json_t *blk = NULL;
    int rc = rpc_call(e->rpc, "eth_getBlockByNumber", json_pack("[s,b]", "latest", 0), &blk, e->err,
                      sizeof e->err);
    if (rc < 0)
        return chain_err(e, "eth_getBlockByNumber");
    json_t *bf = json_is_object(blk) ? json_object_get(blk, "baseFeePerGas") : NULL;
    uint64_t v;
    if (json_is_string(bf) && hex_to_u64(json_string_value(bf), &v) == 0) {
        e->eip1559 = 1;
        e->base_fee = v;
        uint64_t prio;
        if (rpc_call_u64(e->rpc, "eth_maxPriorityFeePerGas", json_array(), &prio, e->err,
                         sizeof e->err) < 0)
            prio = 1000000000ull; /* 1 gwei when the node has no opinion */
        e->priority_fee = prio;
    } else {
        e->eip1559 = 0;
        if (rpc_call_u64(e->rpc, "eth_gasPrice", json_array(), &v, e->err, sizeof e->err) < 0) {
            json_decref(blk);
            return chain_err(e, "eth_gasPrice");
        }
        e->gas_price = v;
    }
    json_decref(blk);
    e->fees_at = now;
    return 0;
}

int cl_eth_connect(cl_eth *e)
{
    uint64_t id;
    if (rpc_call_u64(e->rpc, "eth_chainId", json_array(), &id, e->err, sizeof e->err) < 0)
        return chain_err(e, "eth_chainId");
    if (id != e->chain_id) {
        log_error("chain_id_mismatch configured=%llu node=%llu", (unsigned long long)e->chain_id,
                  (unsigned long long)id);
        return CL_ERR_FATAL;
    }
    e->fees_at = 0;
    int rc = cl_eth_refresh_fees(e, 0);
    if (rc == 0)
        log_info("chain_connected chain_id=%llu tx_type=%s account=%s", (unsigned long long)id,
                 e->eip1559 ? "eip1559" : "legacy-eip155", e->addr_hex);
    return rc;
}

int cl_eth_nonce(cl_eth *e, const char *tag, uint64_t *nonce)
{
    json_t *p = json_array();
    json_array_append_new(p, json_string(e->addr_hex));
    json_array_append_new(p, json_string(tag));
    if (rpc_call_u64(e->rpc, "eth_getTransactionCount", p, nonce, e->err, sizeof e->err) < 0)
        return chain_err(e, "eth_getTransactionCount");
    return 0;
}

int cl_eth_block_number(cl_eth *e, uint64_t *bn)
{
    if (rpc_call_u64(e->rpc, "eth_blockNumber", json_array(), bn, e->err, sizeof e->err) < 0)
        return chain_err(e, "eth_blockNumber");
    return 0;
}

static uint64_t bump(uint64_t v, int pct)
{
    return v + v / 100 * (uint64_t)pct;
}

int cl_eth_sign(cl_eth *e, const uint8_t *to, const uint8_t *data, size_t len, uint64_t nonce,
                uint64_t gas, uint8_t **raw, size_t *rawlen, uint8_t txhash[32])
{
    tx_fields f = {0};
    f.chain_id = e->chain_id;
    f.nonce = nonce;
    f.gas_limit = gas;
    f.data = data;
    f.data_len = len;
    if (to) {
        f.has_to = 1;
        memcpy(f.to, to, 20);
    }
    if (e->eip1559) {
        f.type = TX_EIP1559;
        f.max_priority_fee = bump(e->priority_fee, e->fee_bump_pct);
        /* 2x base fee: stays includable through several full blocks of base-fee growth. */
        f.max_fee = bump(2 * e->base_fee + e->priority_fee, e->fee_bump_pct);
    } else {
        f.type = TX_LEGACY;
        f.gas_price = bump(e->gas_price, e->fee_bump_pct);
    }
    return tx_sign(e->key, &f, raw, rawlen, txhash);
}

int cl_eth_send_raw(cl_eth *e, const uint8_t *raw, size_t rawlen)
{
    json_t *p = json_array(), *r = NULL;
    json_array_append_new(p, hexstr(raw, rawlen));
    int rc = rpc_call(e->rpc, "eth_sendRawTransaction", p, &r, e->err, sizeof e->err);
    json_decref(r);
    if (rc == 0)
        return 0;
    if (rc == RPC_ERR_REMOTE) {
        /* Messages differ between nodes; these cover geth, Ganache, Anvil. */
        if (strcasestr(e->err, "already known") || strcasestr(e->err, "known transaction") ||
            strcasestr(e->err, "already imported"))
            return 0;
        if (strcasestr(e->err, "nonce too low") || strcasestr(e->err, "correct nonce") ||
            strcasestr(e->err, "nonce is too low"))
            return CL_ERR_NONCE;
        if (strcasestr(e->err, "underpriced"))
            return CL_ERR_UNDERPRICED;
    }
    return chain_err(e, "eth_sendRawTransaction");
}

int cl_eth_receipt(cl_eth *e, const uint8_t txhash[32], json_t **receipt)
{
    json_t *p = json_array(), *r = NULL;
    json_array_append_new(p, hexstr(txhash, 32));
    *receipt = NULL;
    if (rpc_call(e->rpc, "eth_getTransactionReceipt", p, &r, e->err, sizeof e->err) < 0)
        return chain_err(e, "eth_getTransactionReceipt");
    if (json_is_object(r) && json_is_string(json_object_get(r, "blockNumber"))) {
        *receipt = r;
        return 1;
    }
    json_decref(r);
    return 0;
}

int cl_eth_wait_receipt(cl_eth *e, const uint8_t txhash[32], int timeout_ms, json_t **receipt,
                        volatile int *stop)
{
    double end = cl_now() + timeout_ms / 1000.0;
    int wait = 0, rc = 0;
    for (;;) {
        rc = cl_eth_receipt(e, txhash, receipt);
        if (rc == 1)
            return 1;
        if (cl_now() >= end || (stop && *stop))
            return rc < 0 ? rc : 0;
        /* Instamining dev chains answer at once; real chains take seconds. */
        wait = wait == 0 ? 5 : (wait * 2 > 500 ? 500 : wait * 2);
        cl_sleep_ms(wait, stop);
    }
}

static json_t *call_obj(cl_eth *e, const uint8_t *to, const uint8_t *data, size_t len)
{
    json_t *o = json_object();
    if (e->key) /* without a key (read-only commands) the call has no sender */
        json_object_set_new(o, "from", json_string(e->addr_hex));
    if (to)
        json_object_set_new(o, "to", hexstr(to, 20));
    json_object_set_new(o, "data", hexstr(data, len));
    return o;
}

int cl_eth_call(cl_eth *e, const uint8_t to[20], const uint8_t *data, size_t len, uint8_t **out,
                size_t *outlen)
{
    json_t *p = json_array(), *r = NULL;
    json_array_append_new(p, call_obj(e, to, data, len));
    json_array_append_new(p, json_string("latest"));
    *out = NULL;
    *outlen = 0;
    if (rpc_call(e->rpc, "eth_call", p, &r, e->err, sizeof e->err) < 0)
        return chain_err(e, "eth_call");
    int rc = CL_ERR_CHAIN;
    if (json_is_string(r)) {
        const char *s = json_string_value(r);
        size_t cap = strlen(s) / 2 + 1;
        *out = malloc(cap);
        long n = *out ? hex_decode(*out, cap, s) : -1;
        if (n >= 0) {
            *outlen = (size_t)n;
            rc = 0;
        } else {
            free(*out);
            *out = NULL;
        }
    }
    json_decref(r);
    if (rc < 0)
        snprintf(e->err, sizeof e->err, "eth_call result is not hex");
    return rc;
}

int cl_eth_estimate(cl_eth *e, const uint8_t *to, const uint8_t *data, size_t len, uint64_t *gas)
{
    json_t *p = json_array();
    json_array_append_new(p, call_obj(e, to, data, len));
    if (rpc_call_u64(e->rpc, "eth_estimateGas", p, gas, e->err, sizeof e->err) < 0)
        return chain_err(e, "eth_estimateGas");
    return 0;
}

int cl_eth_code_size(cl_eth *e, const uint8_t addr[20], size_t *size)
{
    json_t *p = json_array(), *r = NULL;
    json_array_append_new(p, hexstr(addr, 20));
    json_array_append_new(p, json_string("latest"));
    if (rpc_call(e->rpc, "eth_getCode", p, &r, e->err, sizeof e->err) < 0)
        return chain_err(e, "eth_getCode");
    int rc = CL_ERR_CHAIN;
    if (json_is_string(r)) {
        size_t l = strlen(json_string_value(r));
        *size = l >= 2 ? (l - 2) / 2 : 0;
        rc = 0;
    }
    json_decref(r);
    return rc;
}

/* eth_getLogs on the contract for blocks from..to with `topics` (stolen);
 * topic `logger`, when given, is appended as the last (indexed address). */
static int get_logs(cl_eth *e, const uint8_t contract[20], uint64_t from, uint64_t to,
                    json_t *topics, const uint8_t *logger, json_t **logs)
{
    json_t *f, *p, *r = NULL;
    uint8_t w[32];
    *logs = NULL;
    if (logger) {
        abi_put_address(w, logger);
        json_array_append_new(topics, hexstr(w, 32));
    }
    f = json_pack("{s:o, s:o, s:o, s:o}", "address", hexstr(contract, 20), "fromBlock", qty(from),
                  "toBlock", qty(to), "topics", topics);
    p = json_array();
    json_array_append_new(p, f);
    if (rpc_call(e->rpc, "eth_getLogs", p, &r, e->err, sizeof e->err) < 0)
        return chain_err(e, "eth_getLogs");
    if (!json_is_array(r)) {
        json_decref(r);
        snprintf(e->err, sizeof e->err, "eth_getLogs result is not an array");
        return chain_err(e, "eth_getLogs");
    }
    *logs = r;
    return 0;
}

int cl_eth_logs(cl_eth *e, const uint8_t contract[20], uint64_t from, uint64_t to, json_t *ids,
                const uint8_t *logger, json_t **logs)
{
    json_t *topics = json_array();
    json_array_append_new(topics, json_string(anomaly_log_event_topic()));
    json_array_append_new(topics, ids ? json_incref(ids) : json_null());
    if (logger)
        json_array_append_new(topics, json_null()); /* any sensor */
    return get_logs(e, contract, from, to, topics, logger, logs);
}

int cl_eth_next_seq(cl_eth *e, const uint8_t contract[20], const uint8_t logger[20], uint64_t *seq)
{
    uint8_t sel[4], *cd = NULL, *out = NULL;
    size_t cdl, outl;
    abi_selector("nextSeq(address)", sel);
    abi_arg a = {.type = ABI_ADDRESS, .p = logger};
    if (abi_encode(sel, &a, 1, &cd, &cdl) < 0)
        return CL_ERR_CHAIN;
    int rc = cl_eth_call(e, contract, cd, cdl, &out, &outl);
    free(cd);
    if (rc < 0)
        return rc;
    rc = outl == 32 && abi_get_u64(out, seq) == 0 ? 0 : CL_ERR_CHAIN;
    if (rc < 0)
        snprintf(e->err, sizeof e->err, "nextSeq returned %zu bytes (no contract?)", outl);
    free(out);
    return rc;
}

int cl_eth_batch_logs(cl_eth *e, const uint8_t contract[20], uint64_t from, uint64_t to,
                      const uint8_t *logger, json_t **logs)
{
    json_t *topics = json_array();
    json_array_append_new(topics, json_string(anomaly_log_batch_topic()));
    json_array_append_new(topics, json_null()); /* any batch */
    return get_logs(e, contract, from, to, topics, logger, logs);
}

/* eth_call returning exactly one 32-byte word. */
static int call_word(cl_eth *e, const uint8_t contract[20], const uint8_t *cd, size_t cdl,
                     uint8_t word[32], const char *what)
{
    uint8_t *out = NULL;
    size_t outl = 0;
    int rc = cl_eth_call(e, contract, cd, cdl, &out, &outl);
    if (rc < 0)
        return rc;
    rc = 0;
    if (outl != 32) {
        snprintf(e->err, sizeof e->err, "%s returned %zu bytes (no contract?)", what, outl);
        rc = CL_ERR_CHAIN;
    } else {
        memcpy(word, out, 32);
    }
    free(out);
    return rc;
}

int cl_eth_batch_root(cl_eth *e, const uint8_t contract[20], uint64_t batch, uint8_t root[32])
{
    uint8_t sel[4], *cd = NULL;
    size_t cdl;
    abi_selector("batchRoot(uint256)", sel);
    abi_arg a = {.type = ABI_UINT, .u = batch};
    if (abi_encode(sel, &a, 1, &cd, &cdl) < 0)
        return CL_ERR_CHAIN;
    int rc = call_word(e, contract, cd, cdl, root, "batchRoot");
    free(cd);
    return rc;
}
