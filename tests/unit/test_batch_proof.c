/* Unit tests for common/eth/batch_proof, the pure steps of the "is it logged?"
 * check shared by `chainlogger prove` and the gateway: finding an event's
 * batch among BatchLogged logs (wrong transaction, logger or seq range,
 * malformed logs skipped), collecting a batch's leaves from AnomalyLogged
 * logs in any order (other loggers, other transactions, seqs outside the
 * batch and repeated seqs ignored), the proof built from them (checked
 * with merkle_verify and against merkle_root), a root that does not match
 * or a missing record refused with a reason, and the isLogged calldata
 * and return value byte for byte. The RPC flow runs against Ganache in
 * tests/integration/gateway_onchain.sh and contract_proof.sh. */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/abi.h"
#include "eth/anomaly_log.h"
#include "anomaly_log_test_util.h"
#include "eth/batch_proof.h"
#include "base/hex.h"
#include "eth/keccak.h"
#include "eth/merkle.h"

#define TX_A "0x1111111111111111111111111111111111111111111111111111111111111111"
#define TX_B "0x2222222222222222222222222222222222222222222222222222222222222222"
static const uint8_t LOGGER1[20] = {0x90, 0xf8, 0xbf, 0x6a, 0x47, 0x9f, 0x32, 0x0e, 0xad, 0x07,
                                    0x44, 0x11, 0xa4, 0xb0, 0xe7, 0x94, 0x4e, 0xa8, 0xc9, 0xc1};
static const uint8_t LOGGER2[20] = {0xff, 0xcf, 0x8f, 0xdd, 0xe1, 0x7c, 0x13, 0x2f, 0x2b, 0x3a,
                                    0x7d, 0x0a, 0x4d, 0x2b, 0xe2, 0x43, 0xa6, 0x0b, 0x81, 0x15};

static anomaly sample(int i)
{
    anomaly a;
    memset(&a, 0, sizeof(a));
    snprintf(a.sensor_id, sizeof a.sensor_id, "sensor-%d", i % 4);
    snprintf(a.metric, sizeof a.metric, "temperature");
    a.ts = 1764100000.123 + i;
    a.value = 1000.25 + i;
    a.score = 0.83;
    a.type = (anomaly_type)(i % 3);
    snprintf(a.explanation, sizeof a.explanation, "reading %d is far above", i);
    a.expected_low = a.expected_high = NAN;
    a.model_version = -1;
    anomaly_make_id(&a);
    return a;
}

/* The BatchLogged log for (batch, logger, first_seq, count, root) in tx. */
static json_t *batch_log(uint64_t batch, const uint8_t logger[20], uint64_t first_seq,
                         uint64_t count, const uint8_t root[32], const char *tx)
{
    uint8_t w[32], data[96];
    char t1[67], t2[67], d[2 * 96 + 3];
    abi_put_u64(w, batch);
    hex_encode(t1, w, 32, 1);
    abi_put_address(w, logger);
    hex_encode(t2, w, 32, 1);
    abi_put_u64(data, first_seq);
    abi_put_u64(data + 32, count);
    memcpy(data + 64, root, 32);
    hex_encode(d, data, sizeof data, 1);
    return json_pack("{s:[s,s,s], s:s, s:s, s:s, s:s}", "topics", anomaly_log_batch_topic(), t1, t2,
                     "data", d, "transactionHash", tx, "blockNumber", "0x2a", "logIndex", "0x9");
}

static anomaly_log_proof where_of(const uint8_t logger[20], uint64_t seq, const char *tx)
{
    anomaly_log_proof p;
    memset(&p, 0, sizeof p);
    hex_encode(p.logger, logger, 20, 1);
    snprintf(p.tx_hash, sizeof p.tx_hash, "%s", tx);
    p.seq = seq;
    p.block_number = 42;
    return p;
}

static void test_find_batch(void **state)
{
    (void)state;
    uint8_t r1[32], r2[32], r3[32];
    memset(r1, 1, 32);
    memset(r2, 2, 32);
    memset(r3, 3, 32);
    json_t *logs = json_array();
    json_array_append_new(logs, json_string("not a log"));
    json_array_append_new(logs, batch_log(7, LOGGER1, 10, 5, r1, TX_A));  /* seqs 10..14 */
    json_array_append_new(logs, batch_log(8, LOGGER1, 15, 5, r2, TX_B));  /* 15..19, other tx */
    json_array_append_new(logs, batch_log(9, LOGGER2, 10, 50, r3, TX_A)); /* other logger */
    anomaly_log_batch b;
    anomaly_log_proof w = where_of(LOGGER1, 12, TX_A);
    assert_int_equal(batch_proof_find_batch(logs, &w, &b), 1);
    assert_int_equal(b.batch, 7);
    assert_memory_equal(b.root, r1, 32);
    w = where_of(LOGGER1, 16, TX_B);
    assert_int_equal(batch_proof_find_batch(logs, &w, &b), 1);
    assert_int_equal(b.batch, 8);
    w = where_of(LOGGER2, 40, TX_A);
    assert_int_equal(batch_proof_find_batch(logs, &w, &b), 1);
    assert_int_equal(b.batch, 9);
    /* the right range in the wrong transaction, past the end, before the start */
    w = where_of(LOGGER1, 16, TX_A);
    assert_int_equal(batch_proof_find_batch(logs, &w, &b), 0);
    w = where_of(LOGGER1, 20, TX_B);
    assert_int_equal(batch_proof_find_batch(logs, &w, &b), 0);
    w = where_of(LOGGER1, 9, TX_A);
    assert_int_equal(batch_proof_find_batch(logs, &w, &b), 0);
    json_decref(logs);
    json_t *notarray = json_object();
    assert_int_equal(batch_proof_find_batch(notarray, &w, &b), 0);
    json_decref(notarray);
}

/* A batch of n records (seqs 100..) in TX_A by LOGGER1, logs in a scrambled
 * order with noise around them. Out: ids. */
static json_t *batch_logs(int n, uint8_t (*ids)[32])
{
    json_t *logs = json_array();
    for (int k = 0; k < n; k++) {
        int i = (k * 7 + 3) % n; /* a permutation when gcd(7, n) = 1 */
        anomaly a = sample(i);
        assert_int_equal(hex_decode(ids[i], 32, a.id), 32);
        json_array_append_new(logs, anomaly_log_fixture_log(&a, 100 + (uint64_t)i, LOGGER1, TX_A));
    }
    anomaly x = sample(1000);
    json_array_append_new(logs, anomaly_log_fixture_log(&x, 101, LOGGER2, TX_A)); /* other logger */
    json_array_append_new(logs, anomaly_log_fixture_log(&x, 102, LOGGER1, TX_B)); /* other transaction */
    json_array_append_new(logs, anomaly_log_fixture_log(&x, 99, LOGGER1, TX_A));  /* before the batch */
    json_array_append_new(logs, anomaly_log_fixture_log(&x, 100 + (uint64_t)n, LOGGER1, TX_A)); /* after */
    json_array_append_new(logs, json_pack("{s:s}", "data", "0x")); /* malformed */
    return logs;
}

static void test_build(void **state)
{
    (void)state;
    const int sizes[] = {1, 2, 3, 5, 10, 50};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int n = sizes[s];
        uint8_t(*ids)[32] = calloc((size_t)n, 32), root[32];
        assert_non_null(ids);
        json_t *logs = batch_logs(n, ids);
        assert_int_equal(merkle_root((const uint8_t(*)[32])ids, (size_t)n, root), 0);
        json_t *blog = batch_log(3, LOGGER1, 100, (uint64_t)n, root, TX_A);
        anomaly_log_batch b;
        assert_int_equal(anomaly_log_decode_batch_log(blog, &b), 0);
        json_decref(blog);
        for (int i = 0; i < n; i++) {
            batch_proof bp;
            memset(&bp, 0, sizeof bp);
            assert_int_equal(batch_proof_build(&b, logs, 100 + (uint64_t)i, &bp), 1);
            assert_true(bp.have_proof);
            assert_null(bp.reason);
            assert_int_equal(bp.index, i);
            assert_memory_equal(bp.root, root, 32);
            assert_int_equal(merkle_verify(ids[i], (const uint8_t(*)[32])bp.proof, bp.plen, root),
                             1);
            if (n == 1) {
                assert_int_equal(bp.plen, 0);
                assert_memory_equal(bp.root, ids[0], 32);
            }
        }
        /* a seq outside the batch */
        batch_proof bp;
        memset(&bp, 0, sizeof bp);
        assert_int_equal(batch_proof_build(&b, logs, 100 + (uint64_t)n, &bp), 0);
        assert_non_null(bp.reason);
        /* the event's root differs from the records' */
        b.root[5] ^= 1;
        memset(&bp, 0, sizeof bp);
        assert_int_equal(batch_proof_build(&b, logs, 100, &bp), 0);
        assert_string_equal(bp.reason, "records do not match the batch root");
        b.root[5] ^= 1;
        /* a record missing on chain */
        json_array_remove(logs, 0);
        memset(&bp, 0, sizeof bp);
        assert_int_equal(batch_proof_build(&b, logs, 100, &bp), 0);
        assert_string_equal(bp.reason, "batch records missing on chain");
        assert_false(bp.have_proof);
        json_decref(logs);
        free(ids);
    }
}

static void test_leaves_duplicate_seq(void **state)
{
    (void)state;
    uint8_t ids[3][32], leaves[3][32];
    json_t *logs = batch_logs(3, ids);
    anomaly x = sample(77);
    /* a second record claiming seq 101 after the real one: the first stays */
    json_array_append_new(logs, anomaly_log_fixture_log(&x, 101, LOGGER1, TX_A));
    anomaly_log_batch b;
    memset(&b, 0, sizeof b);
    hex_encode(b.logger, LOGGER1, 20, 1);
    snprintf(b.tx_hash, sizeof b.tx_hash, "%s", TX_A);
    b.first_seq = 100;
    b.count = 3;
    assert_int_equal(batch_proof_leaves(&b, logs, leaves), 3);
    assert_memory_equal(leaves, ids, sizeof ids);
    /* a count beyond the records there are (seqs 100..103: the batch's three
     * and the noise record just after it): found < count */
    b.count = 5;
    uint8_t more[5][32];
    assert_int_equal(batch_proof_leaves(&b, logs, more), 4);
    json_decref(logs);
}

static void test_is_logged_abi(void **state)
{
    (void)state;
    uint8_t id[32], proof[2][32], *cd = NULL, sel[4];
    size_t cdl = 0;
    memset(id, 0xaa, 32);
    memset(proof[0], 0x11, 32);
    memset(proof[1], 0x22, 32);
    assert_int_equal(
        batch_proof_is_logged_calldata(id, 300, (const uint8_t(*)[32])proof, 2, &cd, &cdl), 0);
    /* selector, id, batch, offset of the array (3 words), its length, its elements */
    assert_int_equal(cdl, 4 + 32 * 6);
    abi_selector("isLogged(bytes32,uint256,bytes32[])", sel);
    assert_memory_equal(cd, sel, 4);
    assert_memory_equal(cd + 4, id, 32);
    uint64_t v;
    assert_int_equal(abi_get_u64(cd + 36, &v), 0);
    assert_int_equal(v, 300);
    assert_int_equal(abi_get_u64(cd + 68, &v), 0);
    assert_int_equal(v, 96);
    assert_int_equal(abi_get_u64(cd + 100, &v), 0);
    assert_int_equal(v, 2);
    assert_memory_equal(cd + 132, proof, 64);
    free(cd);
    /* an empty proof: a batch of one */
    assert_int_equal(batch_proof_is_logged_calldata(id, 0, NULL, 0, &cd, &cdl), 0);
    assert_int_equal(cdl, 4 + 32 * 4);
    assert_int_equal(abi_get_u64(cd + 100, &v), 0);
    assert_int_equal(v, 0);
    free(cd);

    int logged = -1;
    assert_int_equal(
        batch_proof_is_logged_decode(
            "0x0000000000000000000000000000000000000000000000000000000000000001", &logged),
        0);
    assert_int_equal(logged, 1);
    assert_int_equal(
        batch_proof_is_logged_decode(
            "0x0000000000000000000000000000000000000000000000000000000000000000", &logged),
        0);
    assert_int_equal(logged, 0);
    /* not a bool: 2, empty (no contract), short, long, not hex, NULL */
    assert_int_equal(
        batch_proof_is_logged_decode(
            "0x0000000000000000000000000000000000000000000000000000000000000002", &logged),
        -1);
    assert_int_equal(batch_proof_is_logged_decode("0x", &logged), -1);
    assert_int_equal(batch_proof_is_logged_decode("0x01", &logged), -1);
    assert_int_equal(
        batch_proof_is_logged_decode(
            "0x000000000000000000000000000000000000000000000000000000000000000100", &logged),
        -1);
    assert_int_equal(
        batch_proof_is_logged_decode(
            "0x00000000000000000000000000000000000000000000000000000000000000zz", &logged),
        -1);
    assert_int_equal(batch_proof_is_logged_decode(NULL, &logged), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_batch),
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_leaves_duplicate_seq),
        cmocka_unit_test(test_is_logged_abi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
