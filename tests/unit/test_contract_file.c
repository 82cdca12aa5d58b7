/* common/eth/contract_file: the address file `chainlogger deploy` writes
 * and the chain logger and gateway read. Its path, the exact bytes written
 * (a reader of an older file must still understand it), round trip, and
 * the reader's refusals (absent, not JSON, no or bad address). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka.h needs the three above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eth/contract_file.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/test_contract_file.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void put(uint64_t chain_id, const char *text)
{
    char path[CONTRACT_FILE_PATH_MAX];
    assert_true(contract_file_path(path, sizeof path, dir, chain_id) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_path(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(contract_file_path(buf, sizeof buf, "./state", 1337), 26);
    assert_string_equal(buf, "./state/contract-1337.json");
    assert_int_equal(contract_file_path(buf, 27, "./state", 1337), 26);
    assert_int_equal(contract_file_path(buf, 26, "./state", 1337), CONTRACT_FILE_ERR);
    assert_string_equal(buf, "");
    assert_int_equal(contract_file_path(buf, sizeof buf, "s", UINT64_MAX), 36);
    assert_string_equal(buf, "s/contract-18446744073709551615.json");
    assert_int_equal(contract_file_path(buf, sizeof buf, NULL, 1), CONTRACT_FILE_ERR);
    assert_int_equal(contract_file_path(NULL, 8, "s", 1), CONTRACT_FILE_ERR);
}

static void test_write_read(void **state)
{
    (void)state;
    uint8_t addr[20], got[20];
    for (int i = 0; i < 20; i++)
        addr[i] = (uint8_t)(0xA0 + i);
    const char *tx = "0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    assert_int_equal(contract_file_write(dir, 1337, addr, tx, "0x1a",
                                         "0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1"),
                     0);
    /* the exact file, as cl_deploy always wrote it */
    char path[CONTRACT_FILE_PATH_MAX], text[1024];
    contract_file_path(path, sizeof path, dir, 1337);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_string_equal(text, "{\n"
                              "  \"chain_id\": 1337,\n"
                              "  \"address\": \"0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3\",\n"
                              "  \"tx_hash\": \"0x00112233445566778899aabbccddeeff00112233445566"
                              "778899aabbccddeeff\",\n"
                              "  \"block_number\": \"0x1a\",\n"
                              "  \"deployer\": \"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1\"\n"
                              "}\n");
    char tmp[CONTRACT_FILE_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0); /* no temporary left behind */
    memset(got, 0, sizeof got);
    assert_int_equal(contract_file_read(dir, 1337, got), 0);
    assert_memory_equal(got, addr, 20);
    /* another chain id is another file */
    assert_int_equal(contract_file_read(dir, 1, got), CONTRACT_FILE_ABSENT);
    /* rewriting replaces */
    addr[0] = 0x01;
    assert_int_equal(contract_file_write(dir, 1337, addr, tx, "0x1b", "0x00"), 0);
    assert_int_equal(contract_file_read(dir, 1337, got), 0);
    assert_int_equal(got[0], 0x01);
    /* missing arguments or an unwritable directory: an error, no file */
    assert_int_equal(contract_file_write(dir, 5, addr, NULL, "0x1", "0x0"), CONTRACT_FILE_ERR);
    assert_int_equal(contract_file_write(dir, 5, NULL, tx, "0x1", "0x0"), CONTRACT_FILE_ERR);
    assert_int_equal(contract_file_write("/nonexistent/dir", 5, addr, tx, "0x1", "0x0"),
                     CONTRACT_FILE_ERR);
    assert_int_equal(contract_file_read(dir, 5, got), CONTRACT_FILE_ABSENT);
}

static void test_read_refuses(void **state)
{
    (void)state;
    uint8_t got[20], before[20];
    memset(got, 0x77, sizeof got);
    memcpy(before, got, sizeof got);
    put(7, "not json");
    assert_int_equal(contract_file_read(dir, 7, got), CONTRACT_FILE_ABSENT);
    static const char *const invalid[] = {
        "{}",
        "{\"address\": 5}",
        "{\"address\": \"0x1234\"}",
        "{\"address\": \"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3\"}",   /* no 0x */
        "{\"address\": \"0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2zz\"}", /* not hex */
        "{\"address\": \"0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4\"}",
        "[\"0xa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3\"]",
    };
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        put(8, invalid[i]);
        assert_int_equal(contract_file_read(dir, 8, got), CONTRACT_FILE_INVALID);
        assert_memory_equal(got, before, 20);
    }
    /* upper case and 0X are fine */
    put(9, "{\"address\": \"0XA0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3\"}");
    assert_int_equal(contract_file_read(dir, 9, got), 0);
    assert_int_equal(got[19], 0xB3);
    assert_int_equal(contract_file_read(NULL, 9, got), CONTRACT_FILE_ERR);
    assert_int_equal(contract_file_read(dir, 9, NULL), CONTRACT_FILE_ERR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_write_read),
        cmocka_unit_test(test_read_refuses),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
