/* Unit tests for services/gateway/gw_onchain: the "onchain" object's
 * shape for a logged id (batch, index, root, proof, checked_at_block), a
 * batch of one (empty proof), a refused id (logged false with the reason
 * and what was found), a chain failure ({"logged": null, "error"}); the
 * bounded cache (hit, replace, FIFO eviction through 10 x its capacity
 * with every survivor still found, clear, capacity 0 caches nothing);
 * gw_onchain_check answering from the cache without touching the chain,
 * and refusing a malformed id or an unknown contract with a counted error.
 * Against a real chain: tests/integration/gateway_onchain.sh. */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
// clang-format on

#include <stdio.h>
#include <string.h>

#include "gateway/gw_onchain.h"

static void id_of(int i, char out[ANOMALY_ID_HEX])
{
    snprintf(out, ANOMALY_ID_HEX, "%064x", i);
}

static void test_json(void **state)
{
    (void)state;
    batch_proof bp;
    memset(&bp, 0, sizeof bp);
    bp.have_batch = 1;
    bp.batch.batch = 12;
    bp.index = 3;
    bp.have_proof = 1;
    memset(bp.root, 0xab, 32);
    memset(bp.proof[0], 0x01, 32);
    memset(bp.proof[1], 0x02, 32);
    bp.plen = 2;
    bp.logged = 1;
    json_t *o = gw_onchain_json(&bp, 1, 77, NULL);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "batch")), 12);
    assert_int_equal(json_integer_value(json_object_get(o, "index")), 3);
    assert_true(json_is_true(json_object_get(o, "logged")));
    assert_int_equal(json_integer_value(json_object_get(o, "checked_at_block")), 77);
    assert_string_equal(json_string_value(json_object_get(o, "root")),
                        "0xabababababababababababababababababababababababababababababababab");
    json_t *p = json_object_get(o, "proof");
    assert_int_equal(json_array_size(p), 2);
    assert_string_equal(json_string_value(json_array_get(p, 1)),
                        "0x0202020202020202020202020202020202020202020202020202020202020202");
    assert_null(json_object_get(o, "reason"));
    assert_null(json_object_get(o, "error"));
    json_decref(o);

    /* a batch of one: an empty proof array, not a missing member */
    bp.plen = 0;
    o = gw_onchain_json(&bp, 1, 77, NULL);
    assert_true(json_is_array(json_object_get(o, "proof")));
    assert_int_equal(json_array_size(json_object_get(o, "proof")), 0);
    json_decref(o);

    /* refused by the contract: false, with the reason */
    bp.plen = 2;
    bp.logged = 0;
    bp.reason = "isLogged returned false";
    o = gw_onchain_json(&bp, 0, 80, NULL);
    assert_true(json_is_false(json_object_get(o, "logged")));
    assert_string_equal(json_string_value(json_object_get(o, "reason")), "isLogged returned false");
    assert_int_equal(json_array_size(json_object_get(o, "proof")), 2);
    json_decref(o);

    /* no batch found: only what is known */
    memset(&bp, 0, sizeof bp);
    bp.reason = "no BatchLogged event for it";
    o = gw_onchain_json(&bp, 0, 80, NULL);
    assert_null(json_object_get(o, "batch"));
    assert_null(json_object_get(o, "proof"));
    assert_true(json_is_false(json_object_get(o, "logged")));
    json_decref(o);

    /* the chain could not be read: logged null and the error */
    o = gw_onchain_json(NULL, -1, 0, "connection refused");
    assert_true(json_is_null(json_object_get(o, "logged")));
    assert_string_equal(json_string_value(json_object_get(o, "error")), "connection refused");
    assert_int_equal(json_object_size(o), 2);
    json_decref(o);
    o = gw_onchain_json(NULL, -1, 0, NULL);
    assert_non_null(json_string_value(json_object_get(o, "error")));
    json_decref(o);
}

static void test_cache(void **state)
{
    (void)state;
    gw_onchain *oc = NULL;
    char id[ANOMALY_ID_HEX];
    const size_t cap = 37;
    assert_int_equal(gw_onchain_create(&oc, cap, 1, NULL), 0);
    id_of(1, id);
    assert_null(gw_onchain_cache_get(oc, id));
    json_t *v = json_pack("{s:i}", "n", 1);
    assert_int_equal(gw_onchain_cache_put(oc, id, v), 0);
    json_decref(v);
    json_t *got = gw_onchain_cache_get(oc, id);
    assert_int_equal(json_integer_value(json_object_get(got, "n")), 1);
    json_decref(got);
    /* replacing keeps one entry */
    v = json_pack("{s:i}", "n", 2);
    assert_int_equal(gw_onchain_cache_put(oc, id, v), 0);
    json_decref(v);
    assert_int_equal(gw_onchain_cache_size(oc), 1);
    got = gw_onchain_cache_get(oc, id);
    assert_int_equal(json_integer_value(json_object_get(got, "n")), 2);
    json_decref(got);
    /* 10 x the capacity: the newest cap stay, all found; older ones gone */
    for (int i = 100; i < 100 + 10 * (int)cap; i++) {
        id_of(i, id);
        v = json_pack("{s:i}", "n", i);
        assert_int_equal(gw_onchain_cache_put(oc, id, v), 0);
        json_decref(v);
        assert_true(gw_onchain_cache_size(oc) <= cap);
    }
    assert_int_equal(gw_onchain_cache_size(oc), cap);
    for (int i = 100; i < 100 + 10 * (int)cap; i++) {
        id_of(i, id);
        got = gw_onchain_cache_get(oc, id);
        if (i >= 100 + 9 * (int)cap) {
            assert_non_null(got);
            assert_int_equal(json_integer_value(json_object_get(got, "n")), i);
        } else {
            assert_null(got);
        }
        json_decref(got);
    }
    id_of(1, id);
    assert_null(gw_onchain_cache_get(oc, id));
    gw_onchain_cache_clear(oc);
    assert_int_equal(gw_onchain_cache_size(oc), 0);
    id_of(100 + 10 * (int)cap - 1, id);
    assert_null(gw_onchain_cache_get(oc, id));
    /* still usable after clearing */
    v = json_pack("{s:i}", "n", 5);
    assert_int_equal(gw_onchain_cache_put(oc, id, v), 0);
    json_decref(v);
    got = gw_onchain_cache_get(oc, id);
    assert_non_null(got);
    json_decref(got);
    assert_int_equal(gw_onchain_cache_put(oc, id, NULL), -1);
    gw_onchain_free(oc);

    /* capacity 0: nothing is cached */
    assert_int_equal(gw_onchain_create(&oc, 0, 1, NULL), 0);
    v = json_object();
    assert_int_equal(gw_onchain_cache_put(oc, id, v), -1);
    json_decref(v);
    assert_null(gw_onchain_cache_get(oc, id));
    gw_onchain_free(oc);
    gw_onchain_free(NULL);
}

static void test_check_without_chain(void **state)
{
    (void)state;
    gw_metrics m;
    gw_metrics_init(&m);
    gw_onchain *oc = NULL;
    char id[ANOMALY_ID_HEX];
    anomaly_log_proof where;
    memset(&where, 0, sizeof where);
    assert_int_equal(gw_onchain_create(&oc, 8, 1, &m), 0);
    /* a cached answer is served without any RPC (rpc is NULL here) */
    id_of(9, id);
    json_t *v = json_pack("{s:b, s:i}", "logged", 1, "batch", 4);
    gw_onchain_cache_put(oc, id, v);
    json_t *got =
        gw_onchain_check(oc, NULL, "0x0000000000000000000000000000000000000001", id, &where);
    assert_true(json_equal(got, v));
    json_decref(got);
    json_decref(v);
    assert_int_equal(gw_metrics_get(&m.onchain_cache_hits), 1);
    /* a malformed id and an unknown contract: counted errors, no RPC */
    got = gw_onchain_check(oc, NULL, "0x0000000000000000000000000000000000000001", "zz", &where);
    assert_true(json_is_null(json_object_get(got, "logged")));
    json_decref(got);
    id_of(10, id);
    got = gw_onchain_check(oc, NULL, "", id, &where);
    assert_true(json_is_null(json_object_get(got, "logged")));
    assert_non_null(json_string_value(json_object_get(got, "error")));
    json_decref(got);
    assert_int_equal(gw_metrics_get(&m.err[GW_ERR_ONCHAIN_CHECK]), 2);
    assert_int_equal(gw_metrics_get(&m.onchain_checks), 0);
    assert_null(gw_onchain_cache_get(oc, id)); /* errors are not cached */
    assert_string_equal(gw_metrics_err_name(GW_ERR_ONCHAIN_CHECK), "onchain_check");
    gw_onchain_free(oc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_check_without_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
