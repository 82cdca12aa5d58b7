/* Unit tests for common/eth/merkle: the node hash against its definition, roots
 * against vectors computed independently (js-sha3 in Node, not this code)
 * and against the roots the AnomalyLogger contract itself stored on Ganache
 * (tests/chain/contract_test.c prints them), proofs for every leaf of every
 * tree size up to 70, and that wrong leaves, altered, truncated or extended
 * proofs do not verify. */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bus/anomaly.h"
#include "base/hex.h"
#include "eth/keccak.h"
#include "eth/merkle.h"

static void assert_hex32(const uint8_t *p, const char *want)
{
    char h[65];
    hex_encode(h, p, 32, 0);
    assert_string_equal(h, want);
}

/* Leaf i of the independent vectors: keccak256 of the decimal index. */
static void leaf(size_t i, uint8_t out[32])
{
    char s[24];
    int n = snprintf(s, sizeof s, "%zu", i);
    keccak256(s, (size_t)n, out);
}

static void test_node_definition(void **st)
{
    (void)st;
    uint8_t a[32], b[32], buf[65], want[32], got[32], got2[32];
    leaf(0, a);
    leaf(1, b);
    /* keccak256(min ++ max ++ 0xff) */
    int a_first = memcmp(a, b, 32) < 0;
    memcpy(buf, a_first ? a : b, 32);
    memcpy(buf + 32, a_first ? b : a, 32);
    buf[64] = 0xff;
    keccak256(buf, 65, want);
    merkle_node(a, b, got);
    merkle_node(b, a, got2);
    assert_memory_equal(got, want, 32);
    assert_memory_equal(got2, want, 32); /* commutative */
    memcpy(got, a, 32);
    merkle_node(got, b, got); /* out may alias an input */
    assert_memory_equal(got, want, 32);
}

/* Roots computed by separate Node code with js-sha3 (tools/node_modules):
 * the same definition written independently. */
static void test_independent_vectors(void **st)
{
    (void)st;
    static const struct {
        size_t n;
        const char *root;
    } v[] = {
        {1, "044852b2a670ade5407e78fb2863c51de9fcb96542a07186fe3aeda6bb8a116d"},
        {2, "ac1c75d88983f5392d3b2c0050cc73f127267ef6e9cf93492c78d6ad6a954c8a"},
        {3, "a2b4f433a02dfe083622873b17fe43e509d3c35b9693fe79a415d784fb4a6084"},
        {4, "ad93fbce1abab5da3da3cd4fb6cffdbe20fc52594af9db745d8e8618c7f5966c"},
        {5, "6adafa786e2fd1399747ce9cb602d329f3b8513d93c1503cf93e44d41d71a379"},
        {7, "61500939fb4284e9c6bdbb737dc6615be84eb3b346f8b4a4a1b157faf107accf"},
        {8, "86a3791fff468fc73bac2efefdec8b40e9a8b6ffab1c178d9931f85cbe0428e2"},
        {13, "d0ac1c520b68116d5455b0c0522c7caff28ede75a4183bca4a58ee1b22d2b623"},
        {50, "133e7880ed5e2f82693900ffcbcb2b4e22750afa540d543b1d0bdbb5828e05b7"},
        {200, "76ddedb5286e0c2411edfe16aee0b51a84126a4837a3196a7ed825d1082e58e3"},
    };
    static uint8_t leaves[200][32];
    uint8_t root[32];
    for (size_t i = 0; i < 200; i++)
        leaf(i, leaves[i]);
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        assert_int_equal(merkle_root((const uint8_t(*)[32])leaves, v[k].n, root), 0);
        assert_hex32(root, v[k].root);
    }
    /* one leaf: the root is the leaf itself */
    assert_int_equal(merkle_root((const uint8_t(*)[32])leaves, 1, root), 0);
    assert_memory_equal(root, leaves[0], 32);
}

/* The structure spelled out: odd last nodes are promoted unchanged. */
static void test_promotion(void **st)
{
    (void)st;
    uint8_t l[5][32], n01[32], n23[32], n0123[32], want[32], root[32];
    for (size_t i = 0; i < 5; i++)
        leaf(i, l[i]);
    merkle_node(l[0], l[1], n01);
    merkle_node(n01, l[2], want);
    assert_int_equal(merkle_root((const uint8_t(*)[32])l, 3, root), 0);
    assert_memory_equal(root, want, 32);
    merkle_node(l[2], l[3], n23);
    merkle_node(n01, n23, n0123);
    merkle_node(n0123, l[4], want);
    assert_int_equal(merkle_root((const uint8_t(*)[32])l, 5, root), 0);
    assert_memory_equal(root, want, 32);
}

/* The anomalies of tests/chain/contract_test.c (same fields, same ids). */
static void contract_ids(uint8_t ids[60][32])
{
    for (int i = 0; i < 60; i++) {
        anomaly a;
        memset(&a, 0, sizeof a);
        snprintf(a.sensor_id, sizeof a.sensor_id, "%s", i < 30 ? "room-1" : "line-7");
        snprintf(a.metric, sizeof a.metric, "temperature");
        a.ts = 1764100000.5 + i;
        a.type = (anomaly_type)(i % 3);
        anomaly_make_id(&a);
        assert_int_equal(hex_decode(ids[i], 32, a.id), 32);
    }
}

/* Roots the contract computed and stored on Ganache (batchRoot) for the
 * batches of contract_test: record 0 alone, records 1..50, and records
 * 50..55 sent again with record 50 already logged (so 51..55 only). */
static void test_contract_roots(void **st)
{
    (void)st;
    uint8_t ids[60][32], root[32];
    contract_ids(ids);
    assert_int_equal(merkle_root((const uint8_t(*)[32])ids, 1, root), 0);
    assert_hex32(root, "781ca0f4dd7c15ba03e37497d942d4127370529e609cf65f2cbd2696ded04b07");
    assert_int_equal(merkle_root((const uint8_t(*)[32])(ids + 1), 50, root), 0);
    assert_hex32(root, "a892c62d3b6bb609e2681dfba6d744e216460be306660eb8baf4a0e7f990e4c8");
    assert_int_equal(merkle_root((const uint8_t(*)[32])(ids + 51), 5, root), 0);
    assert_hex32(root, "ccec96b038291ca4f266d028e0d4936fc90c521ef2a06d1e6d2e1a5eb11adcdf");
}

static size_t ceil_log2(size_t n)
{
    size_t d = 0;
    while (((size_t)1 << d) < n)
        d++;
    return d;
}

static void test_proofs_every_leaf(void **st)
{
    (void)st;
    static uint8_t leaves[70][32];
    uint8_t root[32], r2[32], proof[MERKLE_MAX_DEPTH][32], bad[32];
    size_t plen;
    for (size_t i = 0; i < 70; i++)
        leaf(1000 + i, leaves[i]);
    for (size_t n = 1; n <= 70; n++) {
        assert_int_equal(merkle_root((const uint8_t(*)[32])leaves, n, root), 0);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(merkle_proof((const uint8_t(*)[32])leaves, n, i, proof, &plen, r2), 0);
            assert_memory_equal(r2, root, 32);
            assert_true(plen <= ceil_log2(n));
            assert_true(merkle_verify(leaves[i], (const uint8_t(*)[32])proof, plen, root));
            /* another leaf with this proof */
            assert_false(
                merkle_verify(leaves[(i + 1) % 70], (const uint8_t(*)[32])proof, plen, root));
            memcpy(bad, leaves[i], 32);
            bad[i % 32] ^= 0x01;
            assert_false(merkle_verify(bad, (const uint8_t(*)[32])proof, plen, root));
            for (size_t k = 0; k < plen; k++) { /* each element altered */
                proof[k][31 - k % 32] ^= 0x40;
                assert_false(merkle_verify(leaves[i], (const uint8_t(*)[32])proof, plen, root));
                proof[k][31 - k % 32] ^= 0x40;
            }
            if (plen > 0)
                assert_false(merkle_verify(leaves[i], (const uint8_t(*)[32])proof, plen - 1, root));
            memcpy(proof[plen], leaves[0], 32); /* extended by one element */
            assert_false(merkle_verify(leaves[i], (const uint8_t(*)[32])proof, plen + 1, root));
        }
    }
}

static void test_bad_args(void **st)
{
    (void)st;
    uint8_t l[2][32] = {{1}, {2}}, root[32], proof[MERKLE_MAX_DEPTH][32];
    size_t plen = 99;
    assert_int_equal(merkle_root((const uint8_t(*)[32])l, 0, root), -1);
    assert_int_equal(merkle_proof((const uint8_t(*)[32])l, 2, 2, proof, &plen, root), -1);
    assert_int_equal(merkle_proof((const uint8_t(*)[32])l, 0, 0, proof, &plen, root), -1);
    assert_int_equal(plen, 99);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_definition),   cmocka_unit_test(test_independent_vectors),
        cmocka_unit_test(test_promotion),         cmocka_unit_test(test_contract_roots),
        cmocka_unit_test(test_proofs_every_leaf), cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
