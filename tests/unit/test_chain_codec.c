/* Unit tests for the chain encodings: RLP, ABI, transaction signing and the
 * AnomalyLogger record/event codec, against published vectors where they
 * exist (Ethereum wiki RLP examples, the EIP-155 example transaction,
 * Ganache's deterministic keys) and round trips plus hostile input elsewhere. */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eth/abi.h"
#include "eth/anomaly_log.h"
#include "anomaly_log_test_util.h"
#include "bus/anomaly.h"
#include "base/hex.h"
#include "eth/keccak.h"
#include "eth/rlp.h"
#include "eth/tx.h"

static void assert_hex(const uint8_t *p, size_t n, const char *want)
{
    char *h = malloc(2 * n + 1);
    assert_non_null(h);
    hex_encode(h, p, n, 0);
    assert_string_equal(h, want);
    free(h);
}

static void assert_rlp(rlp_buf *b, const char *want)
{
    assert_int_equal(b->err, 0);
    assert_hex(b->data, b->len, want);
    rlp_free(b);
    rlp_init(b);
}

/* https://ethereum.org/en/developers/docs/data-structures-and-encoding/rlp/ examples. */
static void test_rlp_wiki(void **state)
{
    (void)state;
    rlp_buf b;
    rlp_init(&b);
    rlp_put_bytes(&b, (const uint8_t *)"dog", 3);
    assert_rlp(&b, "83646f67");

    size_t l = rlp_list_begin(&b);
    rlp_put_bytes(&b, (const uint8_t *)"cat", 3);
    rlp_put_bytes(&b, (const uint8_t *)"dog", 3);
    rlp_list_end(&b, l);
    assert_rlp(&b, "c88363617483646f67");

    rlp_put_bytes(&b, NULL, 0);
    assert_rlp(&b, "80");
    l = rlp_list_begin(&b);
    rlp_list_end(&b, l);
    assert_rlp(&b, "c0");
    rlp_put_u64(&b, 0);
    assert_rlp(&b, "80");
    uint8_t z = 0;
    rlp_put_bytes(&b, &z, 1);
    assert_rlp(&b, "00");
    rlp_put_u64(&b, 15);
    assert_rlp(&b, "0f");
    rlp_put_u64(&b, 1024);
    assert_rlp(&b, "820400");
    uint8_t x80 = 0x80;
    rlp_put_bytes(&b, &x80, 1);
    assert_rlp(&b, "8180");

    /* The set-theoretic representation of three: [ [], [[]], [ [], [[]] ] ] */
    size_t a = rlp_list_begin(&b);
    size_t s1 = rlp_list_begin(&b);
    rlp_list_end(&b, s1);
    size_t s2 = rlp_list_begin(&b);
    size_t s21 = rlp_list_begin(&b);
    rlp_list_end(&b, s21);
    rlp_list_end(&b, s2);
    size_t s3 = rlp_list_begin(&b);
    size_t s31 = rlp_list_begin(&b);
    rlp_list_end(&b, s31);
    size_t s32 = rlp_list_begin(&b);
    size_t s321 = rlp_list_begin(&b);
    rlp_list_end(&b, s321);
    rlp_list_end(&b, s32);
    rlp_list_end(&b, s3);
    rlp_list_end(&b, a);
    assert_rlp(&b, "c7c0c1c0c3c0c1c0");

    /* 56 bytes: long-string form 0xb8 0x38. */
    const char *lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
    rlp_put_bytes(&b, (const uint8_t *)lorem, strlen(lorem));
    assert_int_equal(b.len, 58);
    assert_int_equal(b.data[0], 0xb8);
    assert_int_equal(b.data[1], 0x38);
    assert_memory_equal(b.data + 2, lorem, 56);
    rlp_free(&b);

    /* A long list (payload > 55 bytes) gets the 0xf8 form. */
    l = rlp_list_begin(&b);
    for (int i = 0; i < 20; i++)
        rlp_put_bytes(&b, (const uint8_t *)"dog", 3);
    rlp_list_end(&b, l);
    assert_int_equal(b.err, 0);
    assert_int_equal(b.len, 82);
    assert_int_equal(b.data[0], 0xf8);
    assert_int_equal(b.data[1], 80);
    rlp_free(&b);

    /* Unbalanced list marks are an error, not a crash. */
    rlp_init(&b);
    rlp_list_end(&b, 5);
    assert_int_equal(b.err, -1);
    rlp_free(&b);
}

static void test_abi(void **state)
{
    (void)state;
    uint8_t sel[4], topic[32], *out;
    size_t n;
    abi_selector("transfer(address,uint256)", sel);
    assert_hex(sel, 4, "a9059cbb");
    abi_topic("Transfer(address,address,uint256)", topic);
    assert_hex(topic, 32, "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");

    /* f(uint256 123, bytes "hello") as a tuple. */
    abi_arg args[2] = {{.type = ABI_UINT, .u = 123},
                       {.type = ABI_BYTES, .p = (const uint8_t *)"hello", .len = 5}};
    assert_int_equal(abi_encode(NULL, args, 2, &out, &n), 0);
    assert_int_equal(n, 128);
    assert_hex(out, n,
               "000000000000000000000000000000000000000000000000000000000000007b"
               "0000000000000000000000000000000000000000000000000000000000000040"
               "0000000000000000000000000000000000000000000000000000000000000005"
               "68656c6c6f000000000000000000000000000000000000000000000000000000");
    const uint8_t *p;
    size_t pl;
    uint64_t v;
    assert_int_equal(abi_get_u64(out, &v), 0);
    assert_int_equal(v, 123);
    assert_int_equal(abi_get_bytes(out, n, 1, &p, &pl), 0);
    assert_int_equal(pl, 5);
    assert_memory_equal(p, "hello", 5);
    /* Hostile: offset beyond the data, length beyond the data, index beyond the head. */
    out[63] = 0x90;
    assert_int_equal(abi_get_bytes(out, n, 1, &p, &pl), -1);
    out[63] = 0x40;
    out[95] = 0x21;
    assert_int_equal(abi_get_bytes(out, n, 1, &p, &pl), -1);
    out[95] = 0x05;
    assert_int_equal(abi_get_bytes(out, n, 4, &p, &pl), -1);
    assert_int_equal(abi_get_bytes(out, 70, 1, &p, &pl), -1);
    out[40] = 1; /* offset word above 64 bits */
    assert_int_equal(abi_get_bytes(out, n, 1, &p, &pl), -1);
    free(out);

    uint8_t w[32], addr[20];
    memset(addr, 0xab, 20);
    abi_put_address(w, addr);
    memset(addr, 0, 20);
    assert_int_equal(abi_get_address(w, addr), 0);
    assert_int_equal(addr[19], 0xab);
    w[0] = 1;
    assert_int_equal(abi_get_address(w, addr), -1);
    assert_int_equal(abi_get_u64(w, &v), -1);
    assert_int_equal(abi_padded(0), 0);
    assert_int_equal(abi_padded(1), 32);
    assert_int_equal(abi_padded(32), 32);
    assert_int_equal(abi_padded(33), 64);
}

static void check_addr(const char *key, const char *addr)
{
    tx_key *k;
    char a[43];
    assert_int_equal(tx_key_from_hex(&k, key), 0);
    tx_key_address_hex(k, a);
    assert_string_equal(a, addr);
    tx_key_destroy(k);
}

static void test_addresses(void **state)
{
    (void)state;
    /* Ganache --wallet.deterministic accounts 0..2. */
    check_addr("0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d",
               "0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1");
    check_addr("6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1\n",
               "0xffcf8fdee72ac11b5c542428b35eef5769c409f0");
    check_addr("  0x6370fd033278c143179d81c5526140625662b8daa446c22ee2d73db3707e620c",
               "0x22d491bde2303f2f43325b2108d26f1eaba1e32b");
    /* The EIP-155 example key. */
    check_addr("0x4646464646464646464646464646464646464646464646464646464646464646",
               "0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f");
    tx_key *k;
    assert_int_equal(tx_key_from_hex(&k, "0x00"), -1);
    assert_int_equal(
        tx_key_from_hex(&k, "0000000000000000000000000000000000000000000000000000000000000000"),
        -1);
    assert_int_equal(
        tx_key_from_hex(&k, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
        -1);
    assert_int_equal(tx_key_from_hex(&k, "zz"), -1);
    assert_null(k);

    /* Contract addresses (widely quoted example: sender 0x6ac7...dbf0). */
    uint8_t sender[20], ca[20];
    assert_int_equal(hex_decode(sender, 20, "6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0"), 20);
    assert_int_equal(tx_create_address(sender, 0, ca), 0);
    assert_hex(ca, 20, "cd234a471b72ba2f1ccf0a70fcaba648a5eecd8d");
    assert_int_equal(tx_create_address(sender, 1, ca), 0);
    assert_hex(ca, 20, "343c43a37d37dff08ae8c4a11544c718abb4fcf8");
}

/* EIP-155's worked example. */
static void test_eip155(void **state)
{
    (void)state;
    tx_key *k;
    tx_fields f = {.type = TX_LEGACY,
                   .chain_id = 1,
                   .nonce = 9,
                   .gas_price = 20000000000ull,
                   .gas_limit = 21000,
                   .has_to = 1,
                   .value = 1000000000000000000ull};
    memset(f.to, 0x35, 20);
    uint8_t h[32], txh[32], *raw;
    size_t rawlen;
    assert_int_equal(tx_signing_hash(&f, h), 0);
    assert_hex(h, 32, "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
    assert_int_equal(
        tx_key_from_hex(&k, "4646464646464646464646464646464646464646464646464646464646464646"), 0);
    assert_int_equal(tx_sign(k, &f, &raw, &rawlen, txh), 0);
    assert_hex(
        raw, rawlen,
        "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a7640000"
        "8025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f"
        "761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83");
    uint8_t want[32];
    keccak256(raw, rawlen, want);
    assert_memory_equal(want, txh, 32);
    free(raw);
    f.type = 7;
    assert_int_equal(tx_sign(k, &f, &raw, &rawlen, txh), -1);
    tx_key_destroy(k);
}

/* EIP-1559: no official worked example, so check the envelope shape and
 * that the signature recovers the signer over the signing hash (which is
 * keccak256(0x02 || rlp(fields))). Ganache accepting these transactions is
 * checked by the integration tests. */
static void test_eip1559(void **state)
{
    (void)state;
    tx_key *k;
    uint8_t data[3] = {1, 2, 3}, h[32], txh[32], *raw, addr[20];
    size_t rawlen;
    tx_fields f = {.type = TX_EIP1559,
                   .chain_id = 1337,
                   .nonce = 0,
                   .max_priority_fee = 1000000000,
                   .max_fee = 3000000000,
                   .gas_limit = 100000,
                   .has_to = 1,
                   .data = data,
                   .data_len = 3};
    memset(f.to, 0x35, 20);
    assert_int_equal(
        tx_key_from_hex(&k, "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d"),
        0);
    tx_key_address(k, addr);
    assert_int_equal(tx_signing_hash(&f, h), 0);
    assert_int_equal(tx_sign(k, &f, &raw, &rawlen, txh), 0);
    assert_int_equal(raw[0], 0x02);
    assert_true(raw[1] >= 0xc0);
    /* Expected unsigned payload: 02 || rlp([0x0539, 0x80, 0x843b9aca00, 0x84b2d05e00,
     * 0x830186a0, 0x94 35.., 0x80, 0x83 010203, 0xc0]) */
    const char *prefix = "02f8";
    char rh[8];
    hex_encode(rh, raw, 2, 0);
    assert_memory_equal(rh, prefix, 4);
    /* Recover: the last 3 items are yParity, r, s; r and s are 32 bytes here
     * unless they have leading zeros, so recover via a re-sign: deterministic. */
    uint8_t *raw2, txh2[32];
    size_t rawlen2;
    assert_int_equal(tx_sign(k, &f, &raw2, &rawlen2, txh2), 0);
    assert_int_equal(rawlen, rawlen2);
    assert_memory_equal(raw, raw2, rawlen);
    free(raw2);
    /* Parse r, s, yParity from the tail: ... yParity(1 byte: 0x80 or 0x01) 0xa0 r(32) 0xa0 s(32)
     * (true for this vector: both r and s are full 32 bytes). */
    assert_true(rawlen > 67);
    const uint8_t *t = raw + rawlen - 67;
    assert_true(t[0] == 0x80 || t[0] == 0x01);
    assert_int_equal(t[1], 0xa0);
    assert_int_equal(t[34], 0xa0);
    uint8_t sig64[64];
    memcpy(sig64, t + 2, 32);
    memcpy(sig64 + 32, t + 35, 32);
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    secp256k1_ecdsa_recoverable_signature sig;
    secp256k1_pubkey pub;
    assert_true(secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, sig64,
                                                                    t[0] == 0x01 ? 1 : 0));
    assert_true(secp256k1_ecdsa_recover(ctx, &pub, &sig, h));
    uint8_t ser[65], ph[32];
    size_t serlen = 65;
    secp256k1_ec_pubkey_serialize(ctx, ser, &serlen, &pub, SECP256K1_EC_UNCOMPRESSED);
    keccak256(ser + 1, 64, ph);
    assert_memory_equal(ph + 12, addr, 20);
    secp256k1_context_destroy(ctx);
    free(raw);
    tx_key_destroy(k);
}

static anomaly sample(int i)
{
    anomaly a;
    memset(&a, 0, sizeof(a));
    snprintf(a.sensor_id, sizeof a.sensor_id, "sensor-%d", i);
    snprintf(a.metric, sizeof a.metric, "temperature");
    a.ts = 1764100000.123 + i;
    a.value = 1000.25 + i;
    a.score = 0.8312345678901234;
    a.type = (anomaly_type)(i % 3);
    snprintf(a.explanation, sizeof a.explanation, "temperature %d degC is far above 19.1..24.3", i);
    a.expected_low = a.expected_high = NAN;
    a.model_version = -1;
    anomaly_make_id(&a);
    return a;
}

static void test_anomaly_log_record(void **state)
{
    (void)state;
    uint8_t rec[ANOMALY_LOG_RECORD_MAX];
    anomaly a = sample(7), b;
    int n = anomaly_log_encode_record(&a, rec, sizeof rec);
    assert_true(n > 0);
    assert_int_equal(anomaly_log_decode_record(rec, (size_t)n, &b), 0);
    assert_string_equal(b.id, a.id); /* the preimage in the record gives anomaly_make_id's id */
    assert_string_equal(b.sensor_id, a.sensor_id);
    assert_string_equal(b.metric, a.metric);
    assert_true(llround(b.ts * 1000) == llround(a.ts * 1000));
    assert_memory_equal(&b.value, &a.value, 8); /* bit-exact */
    assert_memory_equal(&b.score, &a.score, 8);
    assert_int_equal(b.type, a.type);
    assert_string_equal(b.explanation, a.explanation);
    /* Truncated, extended or corrupted records are rejected. */
    assert_int_equal(anomaly_log_decode_record(rec, (size_t)n - 1, &b), -1);
    assert_int_equal(anomaly_log_decode_record(rec, (size_t)n + 1, &b), -1);
    for (int i = 0; i < n; i++) {
        uint8_t c[ANOMALY_LOG_RECORD_MAX];
        memcpy(c, rec, (size_t)n);
        c[i] ^= 0xff;
        (void)anomaly_log_decode_record(c, (size_t)n, &b); /* must not crash */
    }
    rec[0] = 0;
    assert_int_equal(anomaly_log_decode_record(rec, (size_t)n, &b), -1);
    /* Invalid anomalies are refused by the encoder. */
    anomaly bad = sample(1);
    bad.value = INFINITY;
    assert_int_equal(anomaly_log_encode_record(&bad, rec, sizeof rec), -1);
    bad = sample(1);
    bad.metric[0] = 0;
    assert_int_equal(anomaly_log_encode_record(&bad, rec, sizeof rec), -1);
    bad = sample(1);
    bad.type = 3;
    assert_int_equal(anomaly_log_encode_record(&bad, rec, sizeof rec), -1);
    bad = sample(1);
    assert_int_equal(anomaly_log_encode_record(&bad, rec, 10), -1);
}

/* Values and scores are stored as exact decimals when that is shorter
 * than 8 bytes, raw otherwise; every one decodes bit for bit. */
static void test_anomaly_log_numbers(void **state)
{
    (void)state;
    const double xs[] = {998.59,  25,  0, -4.11, 1000.25, 0.693163, 0.693163251234567, 1e300,
                         -0.0,    5e-324, 123456789.125, -0.001, 0.1 + 0.2, 71.2};
    uint8_t rec[ANOMALY_LOG_RECORD_MAX], raw[ANOMALY_LOG_RECORD_MAX];
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        anomaly a = sample(3), b;
        a.value = xs[i];
        a.score = xs[(i + 5) % (sizeof xs / sizeof xs[0])];
        int n = anomaly_log_encode_record(&a, rec, sizeof rec);
        int rn = anomaly_log_encode_record_raw(&a, raw, sizeof raw);
        assert_true(n > 0 && rn > 0);
        assert_true(rec[2] & 0x80); /* compact layout */
        assert_int_equal(anomaly_log_decode_record(rec, (size_t)n, &b), 0);
        assert_memory_equal(&b.value, &a.value, 8);
        assert_memory_equal(&b.score, &a.score, 8);
        assert_string_equal(b.explanation, a.explanation);
        /* the layout before compact numbers still decodes */
        assert_false(raw[2] & 0x80);
        assert_int_equal(anomaly_log_decode_record(raw, (size_t)rn, &b), 0);
        assert_memory_equal(&b.value, &a.value, 8);
        assert_memory_equal(&b.score, &a.score, 8);
    }
    /* 998.59 takes 3 bytes instead of 8 (a varint), a score with the wire's
     * 15 significant digits 7 (fixed), 1e300 stays raw */
    anomaly a = sample(3);
    a.value = 998.59;
    a.score = 0.693163251234567;
    int n = anomaly_log_encode_record(&a, rec, sizeof rec);
    assert_int_equal(rec[2] & 0x78, 0x48); /* value varint, score 7 bytes */
    int rn = anomaly_log_encode_record_raw(&a, raw, sizeof raw);
    assert_int_equal(rn - n, 5 + 1);
    a.value = 1e300;
    n = anomaly_log_encode_record(&a, rec, sizeof rec);
    assert_int_equal(rec[2] & 0x78, 0x08);
    /* the reserved bit, both forms for one number: refused; other flips never crash */
    anomaly b;
    rec[2] |= 0x04;
    assert_int_equal(anomaly_log_decode_record(rec, (size_t)n, &b), -1);
    rec[2] &= (uint8_t)~0x04;
    rec[2] |= 0x20;
    assert_int_equal(anomaly_log_decode_record(rec, (size_t)n, &b), -1);
    rec[2] &= (uint8_t)~0x28;
    (void)anomaly_log_decode_record(rec, (size_t)n, &b);
    rec[2] |= 0x50;
    (void)anomaly_log_decode_record(rec, (size_t)n, &b);
}

/* Build the log object the contract emits for (a, seq, logger), as a node
 * returns it (with "removed": false). */
static json_t *make_log(const anomaly *a, uint64_t seq, const uint8_t logger[20])
{
    json_t *log = anomaly_log_fixture_log(
        a, seq, logger, "0x1111111111111111111111111111111111111111111111111111111111111111");
    json_object_set_new(log, "removed", json_false());
    return log;
}

static void test_anomaly_log_log(void **state)
{
    (void)state;
    uint8_t logger[20];
    memset(logger, 0x90, 20);
    anomaly a = sample(3), b;
    anomaly_log_proof pr;
    json_t *log = make_log(&a, 77, logger);
    assert_non_null(log);
    assert_int_equal(anomaly_log_decode_log(log, &b, &pr), 0);
    assert_string_equal(b.id, a.id);
    assert_string_equal(b.explanation, a.explanation);
    assert_int_equal(pr.seq, 77);
    assert_int_equal(pr.block_number, 42);
    assert_int_equal(pr.log_index, 3);
    assert_string_equal(pr.logger, "0x9090909090909090909090909090909090909090");
    assert_string_equal(pr.tx_hash,
                        "0x1111111111111111111111111111111111111111111111111111111111111111");

    /* An id topic that does not match the record is rejected. */
    json_t *topics = json_object_get(log, "topics");
    json_array_set_new(
        topics, 1,
        json_string("0x2222222222222222222222222222222222222222222222222222222222222222"));
    assert_int_equal(anomaly_log_decode_log(log, &b, &pr), -1);
    json_decref(log);

    /* Other events, wrong shapes, garbage data. */
    log = make_log(&a, 1, logger);
    json_object_set_new(log, "removed", json_true());
    assert_int_equal(anomaly_log_decode_log(log, &b, NULL), -1);
    json_object_set_new(log, "removed", json_false());
    assert_int_equal(anomaly_log_decode_log(log, &b, NULL), 0);
    json_object_set_new(log, "data", json_string("0x1234"));
    assert_int_equal(anomaly_log_decode_log(log, &b, NULL), -1);
    json_object_set_new(log, "data", json_integer(5));
    assert_int_equal(anomaly_log_decode_log(log, &b, NULL), -1);
    json_object_set_new(log, "data", json_string("0xzz"));
    assert_int_equal(anomaly_log_decode_log(log, &b, NULL), -1);
    json_array_set_new(
        json_object_get(log, "topics"), 0,
        json_string("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"));
    assert_int_equal(anomaly_log_decode_log(log, &b, NULL), -1);
    json_object_set_new(log, "topics", json_string("x"));
    assert_int_equal(anomaly_log_decode_log(log, &b, NULL), -1);
    json_decref(log);
    assert_int_equal(anomaly_log_decode_log(NULL, &b, NULL), -1);
    json_t *arr = json_array();
    assert_int_equal(anomaly_log_decode_log(arr, &b, NULL), -1);
    json_decref(arr);
}

static void test_anomaly_log_batch(void **state)
{
    (void)state;
    anomaly a[50];
    uint8_t *cd, sel[4];
    size_t len;
    for (int i = 0; i < 50; i++)
        a[i] = sample(i);
    assert_int_equal(anomaly_log_encode_batch(a, 50, 100, &cd, &len), 0);
    abi_selector(ANOMALY_LOG_BATCH_SIG, sel);
    assert_memory_equal(cd, sel, 4);
    uint64_t seq;
    assert_int_equal(abi_get_u64(cd + 4, &seq), 0);
    assert_int_equal(seq, 100);
    const uint8_t *packed;
    size_t plen, off = 0;
    assert_int_equal(abi_get_bytes(cd + 4, len - 4, 1, &packed, &plen), 0);
    for (int i = 0; i < 50; i++) {
        anomaly b;
        size_t w = ((size_t)packed[off + 2] << 8) | packed[off + 3];
        /* compact numbers: the word's low 10 bits are the tail (numbers, explanation) */
        size_t rl = 4 + packed[off] + packed[off + 1] + 11 + ((w & 0x8000) ? (w & 0x3ff) : 16 + w);
        assert_int_equal(anomaly_log_decode_record(packed + off, rl, &b), 0);
        assert_string_equal(b.id, a[i].id);
        off += rl;
    }
    assert_int_equal(off, plen);
    free(cd);
    assert_int_equal(anomaly_log_encode_batch(a, 0, 0, &cd, &len), -1);
    a[10].value = NAN;
    assert_int_equal(anomaly_log_encode_batch(a, 50, 0, &cd, &len), -1);
    assert_null(cd);
}

/* bytes32[] as a dynamic argument: isLogged(bytes32,uint256,bytes32[]). */
static void test_abi_bytes32_array(void **st)
{
    (void)st;
    uint8_t sel[4], id[32], proof[2][32], *cd;
    size_t len;
    memset(id, 0x11, 32);
    memset(proof[0], 0xaa, 32);
    memset(proof[1], 0xbb, 32);
    abi_selector("isLogged(bytes32,uint256,bytes32[])", sel);
    abi_arg a[3] = {{.type = ABI_BYTES32, .p = id},
                    {.type = ABI_UINT, .u = 7},
                    {.type = ABI_BYTES32_ARRAY, .p = proof[0], .len = 2}};
    assert_int_equal(abi_encode(sel, a, 3, &cd, &len), 0);
    assert_int_equal(len, 4 + 6 * 32);
    uint64_t v;
    assert_memory_equal(cd + 4, id, 32);
    assert_int_equal(abi_get_u64(cd + 4 + 32, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(abi_get_u64(cd + 4 + 64, &v), 0);
    assert_int_equal(v, 96); /* offset of the array: after the three head words */
    assert_int_equal(abi_get_u64(cd + 4 + 96, &v), 0);
    assert_int_equal(v, 2); /* element count, not bytes */
    assert_memory_equal(cd + 4 + 128, proof[0], 32);
    assert_memory_equal(cd + 4 + 160, proof[1], 32);
    free(cd);
    /* empty array: offset, then a zero count */
    a[2].p = NULL;
    a[2].len = 0;
    assert_int_equal(abi_encode(sel, a, 3, &cd, &len), 0);
    assert_int_equal(len, 4 + 4 * 32);
    assert_int_equal(abi_get_u64(cd + 4 + 96, &v), 0);
    assert_int_equal(v, 0);
    free(cd);
    a[2].len = 1; /* elements without a pointer */
    assert_int_equal(abi_encode(sel, a, 3, &cd, &len), -1);
}

static json_t *batch_log(const char *data)
{
    char t0[67];
    snprintf(t0, sizeof t0, "%s", anomaly_log_batch_topic());
    return json_pack("{s:[s,s,s], s:s, s:s, s:s, s:s}", "topics", t0,
                     "0x0000000000000000000000000000000000000000000000000000000000000005",
                     "0x00000000000000000000000090f8bf6a479f320ead074411a4b0e7944ea8c9c1", "data",
                     data, "transactionHash",
                     "0x1111111111111111111111111111111111111111111111111111111111111111",
                     "blockNumber", "0x2a", "logIndex", "0x33");
}

static void test_anomaly_log_batch_log(void **st)
{
    (void)st;
    uint8_t t[32];
    char want[67];
    abi_topic("BatchLogged(uint256,address,uint64,uint32,bytes32)", t);
    hex_encode(want, t, 32, 1);
    assert_string_equal(anomaly_log_batch_topic(), want);
    const char *good = "0x"
                       "0000000000000000000000000000000000000000000000000000000000000064"
                       "0000000000000000000000000000000000000000000000000000000000000032"
                       "abababababababababababababababababababababababababababababababab";
    json_t *log = batch_log(good);
    anomaly_log_batch b;
    assert_int_equal(anomaly_log_decode_batch_log(log, &b), 0);
    assert_int_equal(b.batch, 5);
    assert_string_equal(b.logger, "0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1");
    assert_int_equal(b.first_seq, 100);
    assert_int_equal(b.count, 50);
    assert_int_equal(b.root[0], 0xab);
    assert_int_equal(b.block_number, 42);
    assert_int_equal(b.log_index, 0x33);
    /* an AnomalyLogged event is not a BatchLogged one */
    json_array_set_new(json_object_get(log, "topics"), 0, json_string(anomaly_log_event_topic()));
    assert_int_equal(anomaly_log_decode_batch_log(log, &b), -1);
    json_decref(log);
    /* removed by a reorg */
    log = batch_log(good);
    json_object_set_new(log, "removed", json_true());
    assert_int_equal(anomaly_log_decode_batch_log(log, &b), -1);
    json_decref(log);
    /* short data, count beyond uint32, missing tx hash, a 4th topic, not an object */
    log = batch_log("0x0000");
    assert_int_equal(anomaly_log_decode_batch_log(log, &b), -1);
    json_decref(log);
    log = batch_log("0x"
                    "0000000000000000000000000000000000000000000000000000000000000064"
                    "0000000000000000000000000000000000000000000000000000000100000000"
                    "abababababababababababababababababababababababababababababababab");
    assert_int_equal(anomaly_log_decode_batch_log(log, &b), -1);
    json_decref(log);
    log = batch_log(good);
    json_object_del(log, "transactionHash");
    assert_int_equal(anomaly_log_decode_batch_log(log, &b), -1);
    json_decref(log);
    log = batch_log(good);
    json_array_append_new(json_object_get(log, "topics"), json_string(want));
    assert_int_equal(anomaly_log_decode_batch_log(log, &b), -1);
    json_decref(log);
    log = json_string("x");
    assert_int_equal(anomaly_log_decode_batch_log(log, &b), -1);
    json_decref(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rlp_wiki),          cmocka_unit_test(test_abi),
        cmocka_unit_test(test_addresses),         cmocka_unit_test(test_eip155),
        cmocka_unit_test(test_eip1559),           cmocka_unit_test(test_anomaly_log_record),
        cmocka_unit_test(test_anomaly_log_numbers),
        cmocka_unit_test(test_anomaly_log_log),          cmocka_unit_test(test_anomaly_log_batch),
        cmocka_unit_test(test_abi_bytes32_array), cmocka_unit_test(test_anomaly_log_batch_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
