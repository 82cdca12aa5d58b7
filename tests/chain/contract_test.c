/*
 * contract_test — drives AnomalyLogger on a real chain (RPC_URL) and checks
 * its behaviour: logging, batching, duplicate rejection, sequence gaps,
 * authorisation, input bounds, view functions, and that the events decode
 * with anomaly_log_decode_log into exactly what was sent; the per-batch Merkle
 * root (BatchLogged, batchRoot, batchCount) equals common/eth/merkle's root over
 * the fresh ids, and isLogged accepts each id's proof and refuses wrong
 * ids, wrong proofs and other batches. Run by
 * tests/integration/contract.sh after `chainlogger deploy` with key 0.
 *   contract_test RPC_URL CONTRACT OWNER_KEY OTHER_KEY
 * Prints "gas_per_anomaly batch=N gas=G" lines; exits 0 when every check passes.
 *   contract_test --keys RPC_URL CONTRACT OWNER_KEY LOGGER_KEY OTHER_KEY
 * On a contract deployed with a separate owner key (`chainlogger deploy`
 * with OWNER_PRIVATE_KEY): the logger key logs but cannot add loggers or
 * transfer ownership, the owner does not log, and ownership moves only when
 * the pending owner accepts (transferOwnership, then acceptOwnership).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eth/abi.h"
#include "eth/anomaly_log.h"
#include "eth/batch_proof.h"
#include "cl.h"
#include "base/hex.h"
#include "base/log.h"
#include "eth/merkle.h"

static int failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)

static uint8_t contract[20];

static anomaly mk(int i, const char *sensor)
{
    anomaly a;
    memset(&a, 0, sizeof a);
    snprintf(a.sensor_id, sizeof a.sensor_id, "%s", sensor);
    snprintf(a.metric, sizeof a.metric, "temperature");
    a.ts = 1764100000.5 + i;
    a.value = 1000.0 + i * 0.1;
    a.score = 0.9 - i * 0.001;
    a.type = (anomaly_type)(i % 3);
    snprintf(a.explanation, sizeof a.explanation, "temperature %.1f degC is far above 19.1..24.3",
             a.value);
    a.expected_low = a.expected_high = NAN;
    a.model_version = -1;
    anomaly_make_id(&a);
    return a;
}

/* Send data to the contract from e's account with a fixed gas limit; return the receipt. */
static json_t *send(eth_client *e, const uint8_t *data, size_t len)
{
    uint64_t nonce;
    uint8_t *raw, h[32];
    size_t rawlen;
    json_t *r = NULL;
    if (eth_client_nonce(e, "pending", &nonce) < 0 || eth_client_refresh_fees(e, 0) < 0)
        return NULL;
    if (eth_client_sign(e, contract, data, len, nonce, 5000000, &raw, &rawlen, h) < 0)
        return NULL;
    int rc = eth_client_send_raw(e, raw, rawlen);
    free(raw);
    if (rc < 0 || eth_client_wait_receipt(e, h, 30000, &r, NULL) != 1) {
        fprintf(stderr, "send failed: %s\n", e->err);
        return NULL;
    }
    return r;
}

static int ok(json_t *r)
{
    const char *s = r ? json_string_value(json_object_get(r, "status")) : NULL;
    return s && strcmp(s, "0x1") == 0;
}

static json_t *batch(eth_client *e, const anomaly *a, size_t n, uint64_t seq)
{
    uint8_t *cd;
    size_t cdl;
    if (anomaly_log_encode_batch(a, n, seq, &cd, &cdl) < 0)
        return NULL;
    json_t *r = send(e, cd, cdl);
    free(cd);
    return r;
}

static uint64_t view_u64(eth_client *e, const char *sig, const uint8_t *addr)
{
    uint8_t sel[4], *cd, *out;
    size_t cdl, ol;
    uint64_t v = UINT64_MAX;
    abi_selector(sig, sel);
    abi_arg a = {.type = ABI_ADDRESS, .p = addr};
    if (abi_encode(sel, &a, addr ? 1 : 0, &cd, &cdl) < 0)
        return v;
    if (eth_client_call(e, contract, cd, cdl, &out, &ol) == 0) {
        if (ol == 32)
            (void)abi_get_u64(out, &v);
        free(out);
    }
    free(cd);
    return v;
}

/* eth_call of a view taking one uint256 and returning one 32-byte word. */
static int view_word(eth_client *e, const char *sig, uint64_t arg, int has_arg, uint8_t out[32])
{
    uint8_t sel[4], *cd, *res;
    size_t cdl, rl;
    int rc = -1;
    abi_selector(sig, sel);
    abi_arg a = {.type = ABI_UINT, .u = arg};
    if (abi_encode(sel, &a, has_arg ? 1 : 0, &cd, &cdl) < 0)
        return -1;
    if (eth_client_call(e, contract, cd, cdl, &res, &rl) == 0) {
        if (rl == 32) {
            memcpy(out, res, 32);
            rc = 0;
        }
        free(res);
    }
    free(cd);
    return rc;
}

static uint64_t batch_count(eth_client *e)
{
    uint8_t w[32];
    uint64_t v = UINT64_MAX;
    if (view_word(e, "batchCount()", 0, 0, w) == 0)
        (void)abi_get_u64(w, &v);
    return v;
}

/* isLogged(id, batch, proof) on chain: 1, 0, or -1 when the call failed. */
static int is_logged(eth_client *e, const uint8_t id[32], uint64_t batch,
                     const uint8_t (*proof)[32], size_t plen)
{
    uint8_t *cd = NULL, *out = NULL;
    size_t cdl, outl;
    int v = -1;
    if (batch_proof_is_logged_calldata(id, batch, proof, plen, &cd, &cdl) != 0)
        return -1;
    if (eth_client_call(e, contract, cd, cdl, &out, &outl) == 0 && outl == 32) {
        uint64_t w;
        if (abi_get_u64(out, &w) == 0 && w <= 1)
            v = (int)w;
    }
    free(cd);
    free(out);
    return v;
}

static void hexprint(const char *what, const uint8_t *p)
{
    char h[67];
    hex_encode(h, p, 32, 1);
    printf("%s %s\n", what, h);
}

/* The receipt's BatchLogged event (the last log). Returns 0 or -1. */
static int receipt_batch(json_t *r, anomaly_log_batch *b)
{
    json_t *logs = json_object_get(r, "logs");
    size_t n = json_array_size(logs);
    return n ? anomaly_log_decode_batch_log(json_array_get(logs, n - 1), b) : -1;
}

/* The Merkle checks of one successful batch receipt that logged a[skip..n-1]
 * from seq0 + skip: the root (event, storage, common/eth/merkle) over the fresh
 * ids only, and isLogged for each id with its proof, against wrong ids,
 * altered and truncated proofs and another batch. Returns the batch number. */
static uint64_t check_root(eth_client *e, json_t *r, const anomaly *a, size_t n, size_t skip,
                           uint64_t seq0, uint64_t other_batch)
{
    anomaly_log_batch b;
    uint8_t(*ids)[32] = calloc(n, 32), root[32], stored[32], proof[MERKLE_MAX_DEPTH][32];
    size_t fresh = n - skip, plen;
    if (!ids)
        return UINT64_MAX;
    for (size_t i = 0; i < fresh; i++)
        hex_decode(ids[i], 32, a[skip + i].id);
    CHECK(receipt_batch(r, &b) == 0, "no BatchLogged event in the receipt");
    CHECK(b.count == fresh && b.first_seq == seq0 + skip, "BatchLogged count %u first %llu",
          b.count, (unsigned long long)b.first_seq);
    CHECK(merkle_root((const uint8_t(*)[32])ids, fresh, root) == 0, "merkle_root");
    CHECK(memcmp(root, b.root, 32) == 0, "event root differs from common/eth/merkle's");
    CHECK(view_word(e, "batchRoot(uint256)", b.batch, 1, stored) == 0 &&
              memcmp(stored, root, 32) == 0,
          "stored root differs");
    if (fresh == 1)
        CHECK(memcmp(root, ids[0], 32) == 0, "root of one record is not its id");
    hexprint("batch_root", root);
    for (size_t i = 0; i < fresh; i++) {
        CHECK(merkle_proof((const uint8_t(*)[32])ids, fresh, i, proof, &plen, NULL) == 0,
              "merkle_proof");
        CHECK(is_logged(e, ids[i], b.batch, (const uint8_t(*)[32])proof, plen) == 1,
              "isLogged false for record %zu of batch %llu", i, (unsigned long long)b.batch);
        if (i != 0 && i != fresh - 1 && i != fresh / 2)
            continue; /* the negative cases on a few records keep the test short */
        uint8_t wrong[32];
        memcpy(wrong, ids[i], 32);
        wrong[31] ^= 1;
        CHECK(is_logged(e, wrong, b.batch, (const uint8_t(*)[32])proof, plen) == 0,
              "isLogged true for a wrong id");
        CHECK(is_logged(e, ids[i], other_batch, (const uint8_t(*)[32])proof, plen) == 0,
              "isLogged true in another batch");
        CHECK(is_logged(e, ids[i], b.batch + 1000, (const uint8_t(*)[32])proof, plen) == 0,
              "isLogged true in a batch that does not exist");
        if (plen) {
            proof[plen / 2][0] ^= 0x80;
            CHECK(is_logged(e, ids[i], b.batch, (const uint8_t(*)[32])proof, plen) == 0,
                  "isLogged true for an altered proof");
            proof[plen / 2][0] ^= 0x80;
            CHECK(is_logged(e, ids[i], b.batch, (const uint8_t(*)[32])proof, plen - 1) == 0,
                  "isLogged true for a truncated proof");
        }
    }
    /* A skipped (re-sent) record is not a leaf: its id does not prove. */
    if (skip) {
        uint8_t sid[32];
        hex_decode(sid, 32, a[0].id);
        CHECK(merkle_proof((const uint8_t(*)[32])ids, fresh, 0, proof, &plen, NULL) == 0, "proof");
        CHECK(is_logged(e, sid, b.batch, (const uint8_t(*)[32])proof, plen) == 0,
              "a skipped record proves in the batch that skipped it");
    }
    free(ids);
    return b.batch;
}

/* Check that a successful receipt holds exactly the anomalies a[skip..n-1] with seqs from seq0. */
static void check_logs(json_t *r, const anomaly *a, size_t n, size_t skip, uint64_t seq0,
                       const char *logger)
{
    json_t *logs = json_object_get(r, "logs");
    /* one AnomalyLogged per fresh record, then one BatchLogged */
    CHECK(json_array_size(logs) == n - skip + 1, "expected %zu logs, got %zu", n - skip + 1,
          json_array_size(logs));
    for (size_t i = 0; i + 1 < json_array_size(logs) && skip + i < n; i++) {
        anomaly b;
        anomaly_log_proof p;
        const anomaly *x = &a[skip + i];
        CHECK(anomaly_log_decode_log(json_array_get(logs, i), &b, &p) == 0, "log %zu does not decode", i);
        CHECK(strcmp(b.id, x->id) == 0, "id differs at %zu", i);
        CHECK(strcmp(b.sensor_id, x->sensor_id) == 0 && strcmp(b.metric, x->metric) == 0 &&
                  llround(b.ts * 1000) == llround(x->ts * 1000) &&
                  memcmp(&b.value, &x->value, 8) == 0 && memcmp(&b.score, &x->score, 8) == 0 &&
                  b.type == x->type && strcmp(b.explanation, x->explanation) == 0,
              "fields differ at %zu", i);
        CHECK(p.seq == seq0 + skip + i, "seq %llu, want %llu", (unsigned long long)p.seq,
              (unsigned long long)(seq0 + skip + i));
        CHECK(strcasecmp(p.logger, logger) == 0, "logger %s", p.logger);
    }
}

static uint64_t gas_used(json_t *r)
{
    uint64_t g = 0;
    const char *s = json_string_value(json_object_get(r, "gasUsed"));
    if (s)
        (void)hex_to_u64(s, &g);
    return g;
}

/* A view returning one address: owner() or pendingOwner(). */
static int view_addr(eth_client *e, const char *sig, uint8_t out[20])
{
    uint8_t w[32];
    if (view_word(e, sig, 0, 0, w) < 0)
        return -1;
    memcpy(out, w + 12, 20);
    return 0;
}

/* Send an owner call (one address argument, or none when who is NULL) from
 * e's account with a fixed gas limit. Returns 1 when it succeeded, 0 when it
 * reverted or failed. */
static int owner_call(eth_client *e, const char *sig, const uint8_t *who)
{
    uint8_t sel[4], *cd;
    size_t cdl;
    abi_selector(sig, sel);
    abi_arg arg = {.type = ABI_ADDRESS, .p = who};
    if (abi_encode(sel, who ? &arg : NULL, who ? 1 : 0, &cd, &cdl) < 0)
        return 0;
    json_t *r = send(e, cd, cdl);
    free(cd);
    int good = ok(r);
    json_decref(r);
    return good;
}

#define ADDR_IS(e, sig, want, ...)                                                                 \
    do {                                                                                           \
        uint8_t got_[20];                                                                          \
        CHECK(view_addr(e, sig, got_) == 0 && memcmp(got_, want, 20) == 0, __VA_ARGS__);           \
    } while (0)

/* --keys: owner, logger and a third account; see the top of the file. */
static int keys_test(const char *url, const char *okey, const char *lkey, const char *xkey)
{
    tx_key *ko, *kl, *kx;
    eth_client eo, el, ex;
    static const uint8_t zero[20];
    if (tx_key_from_hex(&ko, okey) < 0 || tx_key_from_hex(&kl, lkey) < 0 ||
        tx_key_from_hex(&kx, xkey) < 0)
        return 2;
    if (eth_client_init(&eo, url, ko, 1337, 10000) < 0 ||
        eth_client_init(&el, url, kl, 1337, 10000) < 0 ||
        eth_client_init(&ex, url, kx, 1337, 10000) < 0 || eth_client_connect(&eo) < 0 ||
        eth_client_connect(&el) < 0 || eth_client_connect(&ex) < 0)
        return 2;

    ADDR_IS(&eo, "owner()", eo.addr, "the deployer is not the owner");
    ADDR_IS(&eo, "pendingOwner()", zero, "a pending owner after deploy");
    CHECK(view_u64(&eo, "isLogger(address)", el.addr) == 1, "the logger key is not a logger");
    CHECK(view_u64(&eo, "isLogger(address)", eo.addr) == 0, "the owner is a logger");

    /* The logger logs; the owner does not. */
    anomaly a[2] = {mk(0, "keys-1"), mk(1, "keys-1")};
    uint64_t seq = view_u64(&el, "nextSeq(address)", el.addr);
    json_t *r = batch(&el, a, 1, seq);
    CHECK(ok(r), "the logger key could not log");
    json_decref(r);
    r = batch(&eo, a + 1, 1, 0);
    CHECK(r && !ok(r), "the owner key logged without being a logger");
    json_decref(r);

    /* The always-online logger key can neither add loggers nor hand the contract over. */
    CHECK(!owner_call(&el, "addLogger(address)", ex.addr), "the logger key added a logger");
    CHECK(view_u64(&eo, "isLogger(address)", ex.addr) == 0, "isLogger after a refused add");
    CHECK(!owner_call(&el, "removeLogger(address)", el.addr), "the logger key removed a logger");
    CHECK(!owner_call(&el, "transferOwnership(address)", el.addr),
          "the logger key started an ownership transfer");
    ADDR_IS(&eo, "pendingOwner()", zero, "pending owner after a refused transfer");

    /* Two steps: transferOwnership names a pending owner, nothing else changes... */
    CHECK(owner_call(&eo, "transferOwnership(address)", ex.addr), "owner could not transfer");
    ADDR_IS(&eo, "owner()", eo.addr, "ownership moved before it was accepted");
    ADDR_IS(&eo, "pendingOwner()", ex.addr, "pending owner not set");
    CHECK(owner_call(&eo, "addLogger(address)", ex.addr),
          "the owner lost its rights while pending");
    CHECK(owner_call(&eo, "removeLogger(address)", ex.addr), "owner could not remove a logger");
    /* ... only the pending owner can accept ... */
    CHECK(!owner_call(&el, "acceptOwnership()", NULL), "a non-pending account accepted");
    CHECK(!owner_call(&eo, "acceptOwnership()", NULL), "the old owner accepted for the new one");
    ADDR_IS(&eo, "owner()", eo.addr, "owner changed by a refused accept");
    /* ... and then it owns the contract, and the old owner no longer does. */
    CHECK(owner_call(&ex, "acceptOwnership()", NULL), "the pending owner could not accept");
    ADDR_IS(&eo, "owner()", ex.addr, "owner not the new one after accept");
    ADDR_IS(&eo, "pendingOwner()", zero, "pending owner kept after accept");
    CHECK(!owner_call(&eo, "addLogger(address)", eo.addr), "the old owner still adds loggers");
    CHECK(!owner_call(&eo, "transferOwnership(address)", eo.addr),
          "the old owner still transfers ownership");
    CHECK(!owner_call(&ex, "acceptOwnership()", NULL), "accepted twice");

    /* A pending transfer can be cancelled (pending owner zero). */
    CHECK(owner_call(&ex, "transferOwnership(address)", eo.addr), "new owner could not transfer");
    CHECK(owner_call(&ex, "transferOwnership(address)", zero), "could not cancel a transfer");
    ADDR_IS(&eo, "pendingOwner()", zero, "cancel left a pending owner");
    CHECK(!owner_call(&eo, "acceptOwnership()", NULL), "accepted a cancelled transfer");
    ADDR_IS(&eo, "owner()", ex.addr, "owner changed by a cancelled transfer");

    printf("contract_test --keys: %s (%d failures)\n", failures ? "FAIL" : "OK", failures);
    eth_client_free(&eo);
    eth_client_free(&el);
    eth_client_free(&ex);
    tx_key_destroy(ko);
    tx_key_destroy(kl);
    tx_key_destroy(kx);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 7 && strcmp(argv[1], "--keys") == 0) {
        log_init("contract_test", LOG_WARN);
        if (hex_decode(contract, 20, argv[3]) != 20)
            return 2;
        return keys_test(argv[2], argv[4], argv[5], argv[6]);
    }
    if (argc < 5) {
        fprintf(stderr, "usage: contract_test RPC_URL CONTRACT OWNER_KEY OTHER_KEY\n");
        return 2;
    }
    log_init("contract_test", LOG_WARN);
    tx_key *k0, *k1;
    eth_client e0, e1;
    if (hex_decode(contract, 20, argv[2]) != 20 || tx_key_from_hex(&k0, argv[3]) < 0 ||
        tx_key_from_hex(&k1, argv[4]) < 0)
        return 2;
    if (eth_client_init(&e0, argv[1], k0, 1337, 10000) < 0 ||
        eth_client_init(&e1, argv[1], k1, 1337, 10000) < 0 || eth_client_connect(&e0) < 0 ||
        eth_client_connect(&e1) < 0)
        return 2;

    anomaly a[60];
    for (int i = 0; i < 60; i++)
        a[i] = mk(i, i < 30 ? "room-1" : "line-7");
    uint64_t seq = view_u64(&e0, "nextSeq(address)", e0.addr);
    uint64_t total0 = view_u64(&e0, "totalLogged()", NULL);
    CHECK(seq != UINT64_MAX, "nextSeq view failed");
    CHECK(view_u64(&e0, "isLogger(address)", e0.addr) == 1, "deployer is not a logger");
    CHECK(view_u64(&e0, "isLogger(address)", e1.addr) == 0, "other key is a logger");

    uint64_t nb0 = batch_count(&e0), b1 = UINT64_MAX, b50 = UINT64_MAX;
    CHECK(nb0 != UINT64_MAX, "batchCount view failed");

    /* 1. One anomaly: its batch root is its id. */
    json_t *r = batch(&e0, a, 1, seq);
    CHECK(ok(r), "single log failed");
    if (ok(r)) {
        check_logs(r, a, 1, 0, seq, e0.addr_hex);
        b1 = check_root(&e0, r, a, 1, 0, seq, nb0 + 1);
        CHECK(b1 == nb0, "first batch is %llu, want %llu", (unsigned long long)b1,
              (unsigned long long)nb0);
    }
    printf("gas_per_anomaly batch=1 gas=%llu\n", (unsigned long long)gas_used(r));
    json_decref(r);
    seq++;

    /* 2. A batch of 50 (seqs continue). */
    r = batch(&e0, a + 1, 50, seq);
    CHECK(ok(r), "batch of 50 failed");
    if (ok(r)) {
        check_logs(r, a + 1, 50, 0, seq, e0.addr_hex);
        b50 = check_root(&e0, r, a + 1, 50, 0, seq, b1);
    }
    uint64_t g50 = gas_used(r);
    CHECK(batch_count(&e0) == nb0 + 2, "batchCount not advanced");
    printf("gas_per_anomaly batch=50 gas=%llu\n", (unsigned long long)(g50 / 50));
    CHECK(g50 / 50 < 10000, "gas per anomaly at batch 50 is %llu (>= 10000)",
          (unsigned long long)(g50 / 50));
    json_decref(r);
    seq += 50;
    CHECK(view_u64(&e0, "nextSeq(address)", e0.addr) == seq, "nextSeq not advanced");
    CHECK(view_u64(&e0, "totalLogged()", NULL) == total0 + 51, "totalLogged wrong");
    CHECK(view_u64(&e0, "loggedBy(address)", e0.addr) >= 51, "loggedBy wrong");

    /* 3. The same batch again (a retried transaction): rejected, nothing logged. */
    r = batch(&e0, a + 1, 50, seq - 50);
    CHECK(r && !ok(r), "duplicate batch was accepted");
    CHECK(r && json_array_size(json_object_get(r, "logs")) == 0, "duplicate emitted logs");
    json_decref(r);
    CHECK(batch_count(&e0) == nb0 + 2, "a rejected duplicate batch counted as a batch");
    CHECK(view_u64(&e0, "totalLogged()", NULL) == total0 + 51, "duplicate changed totalLogged");

    /* 4. Overlap: the last already-logged anomaly plus 5 new ones: only the new ones log. */
    anomaly ov[6];
    ov[0] = a[50];
    for (int i = 0; i < 5; i++)
        ov[1 + i] = a[51 + i];
    r = batch(&e0, ov, 6, seq - 1);
    CHECK(ok(r), "overlapping batch failed");
    if (ok(r)) {
        check_logs(r, ov, 6, 1, seq - 1, e0.addr_hex);
        check_root(&e0, r, ov, 6, 1, seq - 1, b50); /* root over the 5 fresh ids only */
    }
    json_decref(r);
    seq += 5;

    /* 5. A gap in the sequence is rejected. */
    r = batch(&e0, a + 56, 1, seq + 1);
    CHECK(r && !ok(r), "seq gap accepted");
    json_decref(r);

    /* 6. Authorisation: a stranger cannot log, or authorise itself. */
    r = batch(&e1, a + 56, 1, 0);
    CHECK(r && !ok(r), "unauthorised sender logged");
    json_decref(r);
    uint8_t sel[4], *cd;
    size_t cdl;
    abi_selector("addLogger(address)", sel);
    abi_arg arg = {.type = ABI_ADDRESS, .p = e1.addr};
    abi_encode(sel, &arg, 1, &cd, &cdl);
    r = send(&e1, cd, cdl);
    CHECK(r && !ok(r), "non-owner could add a logger");
    json_decref(r);
    /* The owner authorises it: now it logs, with its own sequence. */
    r = send(&e0, cd, cdl);
    free(cd);
    CHECK(ok(r), "owner could not add a logger");
    json_decref(r);
    CHECK(view_u64(&e0, "isLogger(address)", e1.addr) == 1, "isLogger after add");
    uint64_t s1 = view_u64(&e0, "nextSeq(address)", e1.addr);
    r = batch(&e1, a + 56, 2, s1);
    CHECK(ok(r), "authorised second logger failed");
    if (ok(r))
        check_logs(r, a + 56, 2, 0, s1, e1.addr_hex);
    json_decref(r);
    CHECK(cl_set_logger(&e0, contract, e1.addr, 0) == 0, "owner could not remove a logger");
    r = batch(&e1, a + 58, 1, s1 + 2);
    CHECK(r && !ok(r), "removed logger still logs");
    json_decref(r);

    /* 7. Bounds: malformed records revert. */
    uint8_t rec[ANOMALY_LOG_RECORD_MAX];
    int rl = anomaly_log_encode_record(&a[59], rec, sizeof rec);
    struct {
        const char *what;
        int off;
        uint8_t val;
        int cut;
    } bad[] = {{"sensor_len 0", 0, 0, 0},
               {"sensor_len 65", 0, 65, 0},
               {"metric_len 32", 1, 32, 0},
               {"expl_len 512", 2, 2, 0},
               {"type 3", 4 + 6 + 1 + 11 + 1 + 8, 3, 0},
               {"separator", 4 + 6, 'x', 0},
               {"truncated", -1, 0, 5}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b[ANOMALY_LOG_RECORD_MAX];
        memcpy(b, rec, (size_t)rl);
        if (bad[i].off >= 0)
            b[bad[i].off] = bad[i].val;
        abi_selector(ANOMALY_LOG_BATCH_SIG, sel);
        abi_arg args[2] = {{.type = ABI_UINT, .u = seq},
                           {.type = ABI_BYTES, .p = b, .len = (size_t)rl - (size_t)bad[i].cut}};
        abi_encode(sel, args, 2, &cd, &cdl);
        r = send(&e0, cd, cdl);
        free(cd);
        CHECK(r && !ok(r), "malformed record accepted: %s", bad[i].what);
        json_decref(r);
    }
    /* An empty batch logs nothing and reverts. */
    abi_selector(ANOMALY_LOG_BATCH_SIG, sel);
    abi_arg eargs[2] = {{.type = ABI_UINT, .u = seq}, {.type = ABI_BYTES, .p = NULL, .len = 0}};
    abi_encode(sel, eargs, 2, &cd, &cdl);
    r = send(&e0, cd, cdl);
    free(cd);
    CHECK(r && !ok(r), "empty batch accepted");
    json_decref(r);
    CHECK(view_u64(&e0, "nextSeq(address)", e0.addr) == seq, "rejected batches moved nextSeq");

    /* 8. "Is it logged?" from events: eth_getLogs with topic1 = id finds exactly one. */
    json_t *ids = json_array(), *logs = NULL;
    json_array_append_new(ids, json_sprintf("0x%s", a[10].id));
    uint64_t head;
    CHECK(eth_client_block_number(&e0, &head) == 0 &&
              eth_client_logs(&e0, contract, 0, head, ids, &logs) == 0,
          "getLogs failed");
    CHECK(json_array_size(logs) == 1, "id lookup found %zu logs", json_array_size(logs));
    json_decref(logs);
    json_decref(ids);

    printf("contract_test: %s (%d failures)\n", failures ? "FAIL" : "OK", failures);
    eth_client_free(&e0);
    eth_client_free(&e1);
    tx_key_destroy(k0);
    tx_key_destroy(k1);
    return failures ? 1 : 0;
}
