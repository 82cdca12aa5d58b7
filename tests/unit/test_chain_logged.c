/* common/bus/chain_logged: the chain/logged message. The encoder writes the
 * exact bytes the chain logger always published; what it writes decodes
 * back; the decoder refuses anything a logger could not have written, with
 * the reason the gateway logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka.h needs the three above first */
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "bus/chain_logged.h"

#define ID "3f1c5a0b9e7d2c4f6a8b0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f7"
#define TX "0x9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9"

static chain_logged sample(void)
{
    chain_logged c;
    memset(&c, 0, sizeof c);
    strcpy(c.id, ID);
    strcpy(c.tx_hash, TX);
    c.block_number = 1234567;
    c.log_index = 3;
    c.seq = c.batch = -1;
    return c;
}

static void test_encode_exact(void **state)
{
    (void)state;
    chain_logged c = sample();
    char buf[512];
    const char *want =
        "{\"id\":\"" ID "\",\"tx_hash\":\"" TX "\",\"block_number\":1234567,\"log_index\":3}";
    assert_int_equal(chain_logged_to_json(&c, buf, sizeof buf), (int)strlen(want));
    assert_string_equal(buf, want);
    /* without a log index the member is left out */
    c.log_index = -1;
    const char *want2 = "{\"id\":\"" ID "\",\"tx_hash\":\"" TX "\",\"block_number\":1234567}";
    assert_int_equal(chain_logged_to_json(&c, buf, sizeof buf), (int)strlen(want2));
    assert_string_equal(buf, want2);
    /* too small a buffer, or no arguments: -1 */
    assert_int_equal(chain_logged_to_json(&c, buf, strlen(want2)), -1);
    assert_int_equal(chain_logged_to_json(NULL, buf, sizeof buf), -1);
    assert_int_equal(chain_logged_to_json(&c, NULL, sizeof buf), -1);
}

static void test_round_trip(void **state)
{
    (void)state;
    char buf[512], err[128];
    long long blocks[] = {0, 1, 4294967296LL, 9007199254740993LL};
    long long idx[] = {-1, 0, 7, 4294967295LL};
    for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++)
        for (size_t i = 0; i < sizeof idx / sizeof *idx; i++) {
            chain_logged c = sample(), d;
            c.block_number = blocks[b];
            c.log_index = idx[i];
            int n = chain_logged_to_json(&c, buf, sizeof buf);
            assert_true(n > 0);
            memset(&d, 0x5a, sizeof d);
            assert_int_equal(chain_logged_from_json(buf, (size_t)n, &d, err, sizeof err), 0);
            assert_string_equal(d.id, c.id);
            assert_string_equal(d.tx_hash, c.tx_hash);
            assert_int_equal(d.block_number, c.block_number);
            assert_int_equal(d.log_index, c.log_index);
            assert_int_equal(d.seq, -1);
            assert_int_equal(d.batch, -1);
        }
    /* seq and batch (the on-chain proof of an alarm event) round-trip */
    {
        chain_logged c = sample(), d;
        c.seq = 41;
        c.batch = 7;
        int n = chain_logged_to_json(&c, buf, sizeof buf);
        assert_string_equal(buf, "{\"id\":\"" ID "\",\"tx_hash\":\"" TX
                                 "\",\"block_number\":1234567,\"log_index\":3,\"seq\":41,"
                                 "\"batch\":7}");
        assert_int_equal(chain_logged_from_json(buf, (size_t)n, &d, err, sizeof err), 0);
        assert_int_equal(d.seq, 41);
        assert_int_equal(d.batch, 7);
        const char *neg =
            "{\"id\":\"" ID "\",\"tx_hash\":\"" TX "\",\"block_number\":1,\"seq\":-1}";
        assert_int_equal(chain_logged_from_json(neg, strlen(neg), &d, err, sizeof err), -1);
        const char *str =
            "{\"id\":\"" ID "\",\"tx_hash\":\"" TX "\",\"block_number\":1,\"batch\":\"1\"}";
        assert_int_equal(chain_logged_from_json(str, strlen(str), &d, err, sizeof err), -1);
    }
    /* upper-case hex and 0X are accepted and kept as sent; extra members ignored */
    const char *up = "{\"id\":\"3F1C5A0B9E7D2C4F6A8B0C1D2E3F405162738495A6B7C8D9E0F1A2B3C4D5E6F7\","
                     "\"tx_hash\":\"0X9A8B7C6D5E4F30211203F4E5D6C7B8A99A8B7C6D5E4F30211203F4E5D6C7B"
                     "8A9\",\"block_number\":5,\"extra\":[1]}";
    chain_logged d;
    assert_int_equal(chain_logged_from_json(up, strlen(up), &d, err, sizeof err), 0);
    assert_string_equal(d.tx_hash,
                        "0X9A8B7C6D5E4F30211203F4E5D6C7B8A99A8B7C6D5E4F30211203F4E5D6C7B8A9");
    assert_int_equal(d.log_index, -1);
}

static void test_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *payload, *reason;
    } bad[] = {
        {"", "invalid JSON"},
        {"{", "invalid JSON"},
        {"[1]", "not a JSON object"},
        {"\"x\"", "invalid JSON"}, /* jansson wants an array or object */
        {"{}", "id must be 64 hex digits"},
        {"{\"id\":\"abc\",\"tx_hash\":\"" TX "\",\"block_number\":1}", "id must be 64 hex digits"},
        {"{\"id\":\"" ID "0\",\"tx_hash\":\"" TX "\",\"block_number\":1}",
         "id must be 64 hex digits"},
        {"{\"id\":\"0x" ID "\",\"tx_hash\":\"" TX "\",\"block_number\":1}",
         "id must be 64 hex digits"},
        {"{\"id\":\"" ID "\",\"tx_hash\":\"" ID "\",\"block_number\":1}",
         "tx_hash must be 0x and 64 hex digits"},
        {"{\"id\":\"" ID "\",\"tx_hash\":\"0xzz\",\"block_number\":1}",
         "tx_hash must be 0x and 64 hex digits"},
        {"{\"id\":\"" ID "\",\"tx_hash\":5,\"block_number\":1}",
         "tx_hash must be 0x and 64 hex digits"},
        {"{\"id\":\"" ID "\",\"tx_hash\":\"" TX "\"}",
         "block_number must be a non-negative integer"},
        {"{\"id\":\"" ID "\",\"tx_hash\":\"" TX "\",\"block_number\":-1}",
         "block_number must be a non-negative integer"},
        {"{\"id\":\"" ID "\",\"tx_hash\":\"" TX "\",\"block_number\":1.5}",
         "block_number must be a non-negative integer"},
        {"{\"id\":\"" ID "\",\"tx_hash\":\"" TX "\",\"block_number\":\"0x1\"}",
         "block_number must be a non-negative integer"},
        {"{\"id\":\"" ID "\",\"tx_hash\":\"" TX "\",\"block_number\":1,\"log_index\":-2}",
         "log_index must be a non-negative integer"},
        {"{\"id\":\"" ID "\",\"tx_hash\":\"" TX "\",\"block_number\":1,\"log_index\":null}",
         "log_index must be a non-negative integer"},
        {"{\"id\":\"" ID "\",\"id\":\"" ID "\",\"tx_hash\":\"" TX "\",\"block_number\":1}",
         "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        chain_logged d;
        char err[160] = "";
        assert_int_equal(
            chain_logged_from_json(bad[i].payload, strlen(bad[i].payload), &d, err, sizeof err),
            -1);
        if (strncmp(err, bad[i].reason, strlen(bad[i].reason)) != 0)
            fail_msg("payload %zu: reason \"%s\", want \"%s\"", i, err, bad[i].reason);
    }
    /* too large: refused before parsing */
    static char big[CHAIN_LOGGED_MAX_PAYLOAD + 2];
    memset(big, ' ', sizeof big - 1);
    char err[64];
    chain_logged d;
    assert_int_equal(chain_logged_from_json(big, sizeof big - 1, &d, err, sizeof err), -1);
    assert_string_equal(err, "payload too large");
    /* no output, or no error buffer: still a clean -1 */
    assert_int_equal(chain_logged_from_json("{}", 2, NULL, err, sizeof err), -1);
    assert_int_equal(chain_logged_from_json("{}", 2, &d, NULL, 0), -1);
    assert_int_equal(chain_logged_from_json(NULL, 0, &d, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_exact),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
