/*
 * client — see client.h. The chain logger's facade (was
 * services/chainlogger/cl_eth.c) plus the one eth_getLogs call and the one
 * block-range pager of the stack.
 *
 * Fee arithmetic saturates: the node supplies base fee, tip and gas price,
 * and 2 x base fee + tip, or a bump on top, must never wrap around to a
 * small number nor grow past the configured ceilings.
 */
#define _GNU_SOURCE
#include "eth/client.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "base/hex.h"
#include "base/log.h"
#include "eth/abi.h"
#include "eth/anomaly_log.h"

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

int eth_client_init(eth_client *e, const char *rpc_url, tx_key *key, uint64_t chain_id,
                    long timeout_ms)
{
    memset(e, 0, sizeof(*e));
    if (rpc_client_create(&e->rpc, rpc_url, timeout_ms) < 0)
        return -1;
    e->key = key;
    e->chain_id = chain_id;
    e->max_fee_per_gas = ETH_CLIENT_DEFAULT_MAX_FEE;
    e->max_priority_fee = ETH_CLIENT_DEFAULT_MAX_PRIORITY_FEE;
    if (key) {
        tx_key_address(key, e->addr);
        tx_key_address_hex(key, e->addr_hex);
    }
    return 0;
}

void eth_client_free(eth_client *e)
{
    rpc_client_destroy(e->rpc);
    e->rpc = NULL;
}

static int chain_err(eth_client *e, const char *what)
{
    log_rate(1, 5, LOG_WARN, "chain_error call=%s reason=\"%s\"", what, e->err);
    return ETH_ERR_CHAIN;
}

int eth_client_refresh_fees(eth_client *e, double max_age_s)
{
    double now = clock_mono();
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

int eth_client_connect(eth_client *e)
{
    uint64_t id;
    if (rpc_call_u64(e->rpc, "eth_chainId", json_array(), &id, e->err, sizeof e->err) < 0)
        return chain_err(e, "eth_chainId");
    if (id != e->chain_id) {
        log_error("chain_id_mismatch configured=%llu node=%llu", (unsigned long long)e->chain_id,
                  (unsigned long long)id);
        return ETH_ERR_FATAL;
    }
    e->fees_at = 0;
    int rc = eth_client_refresh_fees(e, 0);
    if (rc == 0)
        log_info("chain_connected chain_id=%llu tx_type=%s account=%s", (unsigned long long)id,
                 e->eip1559 ? "eip1559" : "legacy-eip155", e->addr_hex);
    return rc;
}

int eth_client_nonce(eth_client *e, const char *tag, uint64_t *nonce)
{
    json_t *p = json_array();
    json_array_append_new(p, json_string(e->addr_hex));
    json_array_append_new(p, json_string(tag));
    if (rpc_call_u64(e->rpc, "eth_getTransactionCount", p, nonce, e->err, sizeof e->err) < 0)
        return chain_err(e, "eth_getTransactionCount");
    return 0;
}

int eth_client_block_number(eth_client *e, uint64_t *bn)
{
    if (rpc_call_u64(e->rpc, "eth_blockNumber", json_array(), bn, e->err, sizeof e->err) < 0)
        return chain_err(e, "eth_blockNumber");
    return 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static uint64_t bump(uint64_t v, int pct)
{
    return sat_add(v, sat_mul(v / 100, (uint64_t)(pct > 0 ? pct : 0)));
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

int eth_client_fees(const eth_client *e, uint64_t *max_fee, uint64_t *prio)
{
    uint64_t floor;
    if (e->eip1559) {
        floor = e->base_fee;
        /* 2x base fee: stays includable through several full blocks of base-fee growth. */
        *max_fee = bump(sat_add(sat_mul(2, e->base_fee), e->priority_fee), e->fee_bump_pct);
        *prio = bump(e->priority_fee, e->fee_bump_pct);
        *max_fee = min_u64(*max_fee, e->max_fee_per_gas);
        *prio = min_u64(min_u64(*prio, e->max_priority_fee), *max_fee);
    } else {
        floor = e->gas_price;
        *max_fee = min_u64(bump(e->gas_price, e->fee_bump_pct), e->max_fee_per_gas);
        *prio = 0;
    }
    /* Under the node's own floor the transaction could never be included:
     * refuse rather than sign at the ceiling and wait forever. */
    return floor > e->max_fee_per_gas ? ETH_ERR_FEE_CEILING : 0;
}

int eth_client_bump_fees(eth_client *e)
{
    uint64_t max_fee, prio;
    int at_ceiling = eth_client_fees(e, &max_fee, &prio) < 0 || max_fee >= e->max_fee_per_gas;
    if (e->fee_bump_pct + ETH_CLIENT_BUMP_STEP_PCT > ETH_CLIENT_MAX_BUMP_PCT || at_ceiling) {
        log_rate(45, 30, LOG_WARN,
                 "fee_bump_limit bump_pct=%d max_fee=%" PRIu64 " max_fee_per_gas=%" PRIu64,
                 e->fee_bump_pct, max_fee, e->max_fee_per_gas);
        return 0;
    }
    e->fee_bump_pct += ETH_CLIENT_BUMP_STEP_PCT;
    return 1;
}

int eth_client_sign(eth_client *e, const uint8_t *to, const uint8_t *data, size_t len,
                    uint64_t nonce, uint64_t gas, uint8_t **raw, size_t *rawlen, uint8_t txhash[32])
{
    tx_fields f = {0};
    uint64_t max_fee, prio;
    if (eth_client_fees(e, &max_fee, &prio) < 0) {
        e->fee_refusals++;
        e->fees_at = 0; /* ask the node again on the next refresh */
        snprintf(e->err, sizeof e->err, "node fee %" PRIu64 " wei above MAX_FEE_PER_GAS %" PRIu64,
                 e->eip1559 ? e->base_fee : e->gas_price, e->max_fee_per_gas);
        log_rate(46, 10, LOG_ERROR,
                 "fee_above_ceiling tx_type=%s node_fee=%" PRIu64 " max_fee_per_gas=%" PRIu64
                 " refusals=%" PRIu64 " action=wait",
                 e->eip1559 ? "eip1559" : "legacy", e->eip1559 ? e->base_fee : e->gas_price,
                 e->max_fee_per_gas, (uint64_t)e->fee_refusals);
        return ETH_ERR_FEE_CEILING;
    }
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
        f.max_priority_fee = prio;
        f.max_fee = max_fee;
    } else {
        f.type = TX_LEGACY;
        f.gas_price = max_fee;
    }
    return tx_sign(e->key, &f, raw, rawlen, txhash) < 0 ? -1 : 0;
}

int eth_client_send_raw(eth_client *e, const uint8_t *raw, size_t rawlen)
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
            return ETH_ERR_NONCE;
        if (strcasestr(e->err, "underpriced"))
            return ETH_ERR_UNDERPRICED;
    }
    return chain_err(e, "eth_sendRawTransaction");
}

int eth_client_receipt(eth_client *e, const uint8_t txhash[32], json_t **receipt)
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

int eth_client_wait_receipt(eth_client *e, const uint8_t txhash[32], int timeout_ms,
                            json_t **receipt, volatile int *stop)
{
    double end = clock_mono() + timeout_ms / 1000.0;
    int wait = 0, rc = 0;
    for (;;) {
        rc = eth_client_receipt(e, txhash, receipt);
        if (rc == 1)
            return 1;
        if (clock_mono() >= end || (stop && *stop))
            return rc < 0 ? rc : 0;
        /* Instamining dev chains answer at once; real chains take seconds. */
        wait = wait == 0 ? 5 : (wait * 2 > 500 ? 500 : wait * 2);
        clock_sleep_ms(wait, stop);
    }
}

static json_t *call_obj(eth_client *e, const uint8_t *to, const uint8_t *data, size_t len)
{
    json_t *o = json_object();
    if (e->key) /* without a key (read-only commands) the call has no sender */
        json_object_set_new(o, "from", json_string(e->addr_hex));
    if (to)
        json_object_set_new(o, "to", hexstr(to, 20));
    json_object_set_new(o, "data", hexstr(data, len));
    return o;
}

int eth_client_call(eth_client *e, const uint8_t to[20], const uint8_t *data, size_t len,
                    uint8_t **out, size_t *outlen)
{
    json_t *p = json_array(), *r = NULL;
    json_array_append_new(p, call_obj(e, to, data, len));
    json_array_append_new(p, json_string("latest"));
    *out = NULL;
    *outlen = 0;
    if (rpc_call(e->rpc, "eth_call", p, &r, e->err, sizeof e->err) < 0)
        return chain_err(e, "eth_call");
    int rc = ETH_ERR_CHAIN;
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

int eth_client_estimate(eth_client *e, const uint8_t *to, const uint8_t *data, size_t len,
                        uint64_t *gas)
{
    json_t *p = json_array();
    json_array_append_new(p, call_obj(e, to, data, len));
    if (rpc_call_u64(e->rpc, "eth_estimateGas", p, gas, e->err, sizeof e->err) < 0)
        return chain_err(e, "eth_estimateGas");
    return 0;
}

int eth_client_code_size(eth_client *e, const uint8_t addr[20], size_t *size)
{
    json_t *p = json_array(), *r = NULL;
    json_array_append_new(p, hexstr(addr, 20));
    json_array_append_new(p, json_string("latest"));
    if (rpc_call(e->rpc, "eth_getCode", p, &r, e->err, sizeof e->err) < 0)
        return chain_err(e, "eth_getCode");
    int rc = ETH_ERR_CHAIN;
    if (json_is_string(r)) {
        size_t l = strlen(json_string_value(r));
        *size = l >= 2 ? (l - 2) / 2 : 0;
        rc = 0;
    }
    json_decref(r);
    return rc;
}

int eth_client_next_seq(eth_client *e, const uint8_t contract[20], const uint8_t logger[20],
                        uint64_t *seq)
{
    uint8_t sel[4], *cd = NULL, *out = NULL;
    size_t cdl, outl;
    abi_selector("nextSeq(address)", sel);
    abi_arg a = {.type = ABI_ADDRESS, .p = logger};
    if (abi_encode(sel, &a, 1, &cd, &cdl) < 0)
        return ETH_ERR_CHAIN;
    int rc = eth_client_call(e, contract, cd, cdl, &out, &outl);
    free(cd);
    if (rc < 0)
        return rc;
    rc = outl == 32 && abi_get_u64(out, seq) == 0 ? 0 : ETH_ERR_CHAIN;
    if (rc < 0)
        snprintf(e->err, sizeof e->err, "nextSeq returned %zu bytes (no contract?)", outl);
    free(out);
    return rc;
}

/* eth_call returning exactly one 32-byte word. */
static int call_word(eth_client *e, const uint8_t contract[20], const uint8_t *cd, size_t cdl,
                     uint8_t word[32], const char *what)
{
    uint8_t *out = NULL;
    size_t outl = 0;
    int rc = eth_client_call(e, contract, cd, cdl, &out, &outl);
    if (rc < 0)
        return rc;
    rc = 0;
    if (outl != 32) {
        snprintf(e->err, sizeof e->err, "%s returned %zu bytes (no contract?)", what, outl);
        rc = ETH_ERR_CHAIN;
    } else {
        memcpy(word, out, 32);
    }
    free(out);
    return rc;
}

int eth_client_batch_root(eth_client *e, const uint8_t contract[20], uint64_t batch,
                          uint8_t root[32])
{
    uint8_t sel[4], *cd = NULL;
    size_t cdl;
    abi_selector("batchRoot(uint256)", sel);
    abi_arg a = {.type = ABI_UINT, .u = batch};
    if (abi_encode(sel, &a, 1, &cd, &cdl) < 0)
        return ETH_ERR_CHAIN;
    int rc = call_word(e, contract, cd, cdl, root, "batchRoot");
    free(cd);
    return rc;
}

/* ---- event logs ------------------------------------------------------ */

/* The method name, once: the stack's only eth_getLogs call is below. */
static const char GET_LOGS[] = "eth_getLogs";

static json_t *qty_or_latest(uint64_t v)
{
    return v == ETH_BLOCK_LATEST ? json_string("latest") : qty(v);
}

void eth_log_filter_init(eth_log_filter *f, const char *address, json_t *topics)
{
    snprintf(f->address, sizeof f->address, "%s", address ? address : "");
    f->topics = topics;
}

int eth_logs_get(rpc_client *rpc, const eth_log_filter *f, uint64_t from, uint64_t to,
                 json_t **logs, char *err, size_t errlen)
{
    json_t *filter, *res = NULL;
    *logs = NULL;
    filter = json_pack("{s:s, s:o, s:o}", "address", f->address, "fromBlock", qty(from), "toBlock",
                       qty_or_latest(to));
    if (!filter || (f->topics && json_object_set(filter, "topics", f->topics) != 0)) {
        json_decref(filter);
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return RPC_ERR_NOMEM;
    }
    int rc = rpc_call(rpc, GET_LOGS, json_pack("[o]", filter), &res, err, errlen);
    if (rc < 0)
        return rc;
    if (!json_is_array(res)) {
        json_decref(res);
        if (err && errlen)
            snprintf(err, errlen, "%s result is not an array", GET_LOGS);
        return ETH_LOGS_ERR_SHAPE;
    }
    *logs = res;
    return 0;
}

void eth_log_pager_init(eth_log_pager *p, rpc_client *rpc, const eth_log_filter *f, uint64_t first,
                        uint64_t last, const eth_log_paging *opt)
{
    memset(p, 0, sizeof *p);
    p->rpc = rpc;
    p->filter = *f;
    p->opt = *opt;
    if (p->opt.range_min < 1)
        p->opt.range_min = 1;
    p->range = opt->range < 1 ? 1 : opt->range;
    p->first = first;
    p->last = last;
    p->done = first > last;
}

static int adaptive(const eth_log_pager *p)
{
    return p->opt.logs_high > 0 && p->opt.range_min < p->opt.range_max;
}

int eth_log_pager_next(eth_log_pager *p, json_t **logs, char *err, size_t errlen)
{
    *logs = NULL;
    p->retry = 0;
    if (p->done)
        return 0;
    uint64_t span = p->last - p->first; /* blocks in the span, minus one */
    if (p->opt.backward) {
        p->to = p->last;
        p->from = span >= p->range - 1 ? p->last - (p->range - 1) : p->first;
    } else {
        p->from = p->first;
        p->to = span >= p->range - 1 ? p->first + (p->range - 1) : p->last;
    }
    p->calls++;
    int rc = eth_logs_get(p->rpc, &p->filter, p->from, p->to, logs, err, errlen);
    if (rc < 0) {
        /* A node may refuse or time out on a big answer: try a smaller page. */
        if (adaptive(p) && p->range > p->opt.range_min) {
            p->range /= 2;
            p->retry = 1;
        }
        return rc;
    }
    size_t n = json_array_size(*logs);
    if (adaptive(p)) {
        if (n > p->opt.logs_high && p->range > p->opt.range_min)
            p->range /= 2;
        else if (n < p->opt.logs_low && p->range < p->opt.range_max)
            p->range *= 2;
    }
    if (p->opt.backward) {
        if (p->from == p->first)
            p->done = 1;
        else
            p->last = p->from - 1;
    } else {
        if (p->to == p->last)
            p->done = 1;
        else
            p->first = p->to + 1;
    }
    return 1;
}

/* ---- event logs through an eth_client -------------------------------- */

json_t *eth_client_anomaly_topics(json_t *ids)
{
    json_t *t = json_array();
    if (!t)
        return NULL;
    json_array_append_new(t, anomaly_log_event_topic0()); /* any per-record event */
    json_array_append_new(t, ids ? json_incref(ids) : json_null());
    return t;
}

json_t *eth_client_batch_topics(const uint8_t *logger)
{
    json_t *t = json_array();
    if (!t)
        return NULL;
    json_array_append_new(t, json_string(anomaly_log_batch_topic()));
    json_array_append_new(t, json_null()); /* any batch */
    if (logger) {
        uint8_t w[32];
        abi_put_address(w, logger);
        json_array_append_new(t, hexstr(w, 32));
    }
    return t;
}

static int client_logs(eth_client *e, const uint8_t contract[20], uint64_t from, uint64_t to,
                       json_t *topics, json_t **logs)
{
    char addr[43];
    eth_log_filter f;
    *logs = NULL;
    if (!topics) {
        snprintf(e->err, sizeof e->err, "out of memory");
        return chain_err(e, GET_LOGS);
    }
    hex_encode(addr, contract, 20, 1);
    eth_log_filter_init(&f, addr, topics);
    int rc = eth_logs_get(e->rpc, &f, from, to, logs, e->err, sizeof e->err);
    json_decref(topics);
    return rc < 0 ? chain_err(e, GET_LOGS) : 0;
}

int eth_client_logs(eth_client *e, const uint8_t contract[20], uint64_t from, uint64_t to,
                    json_t *ids, json_t **logs)
{
    return client_logs(e, contract, from, to, eth_client_anomaly_topics(ids), logs);
}

int eth_client_batch_logs(eth_client *e, const uint8_t contract[20], uint64_t from, uint64_t to,
                          const uint8_t *logger, json_t **logs)
{
    return client_logs(e, contract, from, to, eth_client_batch_topics(logger), logs);
}

void eth_client_pager(eth_client *e, eth_log_pager *p, const eth_log_filter *f, uint64_t first,
                      uint64_t last, uint64_t range)
{
    eth_log_paging opt = {.range = range, .range_min = range, .range_max = range};
    eth_log_pager_init(p, e->rpc, f, first, last, &opt);
}

int eth_client_pager_next(eth_client *e, eth_log_pager *p, json_t **logs)
{
    int rc = eth_log_pager_next(p, logs, e->err, sizeof e->err);
    return rc < 0 ? chain_err(e, GET_LOGS) : rc;
}
