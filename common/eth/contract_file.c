/*
 * contract_file — see contract_file.h. The path format, the reader and the
 * writer of the address file, once, for `chainlogger deploy`, the chain
 * logger and the gateway.
 */
#include "eth/contract_file.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hex.h"

int contract_file_path(char *buf, size_t cap, const char *state_dir, uint64_t chain_id)
{
    if (!buf || cap == 0 || !state_dir)
        return CONTRACT_FILE_ERR;
    int n = snprintf(buf, cap, "%s/contract-%llu.json", state_dir, (unsigned long long)chain_id);
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return CONTRACT_FILE_ERR;
    }
    return n;
}

int contract_file_read(const char *state_dir, uint64_t chain_id, uint8_t addr[20])
{
    char path[CONTRACT_FILE_PATH_MAX];
    uint8_t b[20];
    json_error_t jerr;
    if (!addr || contract_file_path(path, sizeof path, state_dir, chain_id) < 0)
        return CONTRACT_FILE_ERR;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        return CONTRACT_FILE_ABSENT;
    const char *a = json_string_value(json_object_get(root, "address"));
    /* 42 characters decoding to 20 bytes: "0x"/"0X" and 40 hex digits. */
    int rc = a && strlen(a) == 42 && hex_decode(b, sizeof b, a) == 20 ? 0 : CONTRACT_FILE_INVALID;
    if (rc == 0)
        memcpy(addr, b, sizeof b);
    json_decref(root);
    return rc;
}

static int write_atomic(const char *path, const char *text)
{
    char tmp[CONTRACT_FILE_PATH_MAX + 8];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return CONTRACT_FILE_ERR;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return CONTRACT_FILE_ERR;
    int ok =
        fputs(text, f) >= 0 && fputc('\n', f) != EOF && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) < 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return CONTRACT_FILE_ERR;
    }
    return 0;
}

int contract_file_write(const char *state_dir, uint64_t chain_id, const uint8_t addr[20],
                        const char *tx_hash, const char *block_number, const char *deployer)
{
    char path[CONTRACT_FILE_PATH_MAX], ah[43];
    char *text = NULL;
    int rc = CONTRACT_FILE_ERR;
    if (!addr || !tx_hash || !block_number || !deployer ||
        contract_file_path(path, sizeof path, state_dir, chain_id) < 0) {
        errno = EINVAL;
        return CONTRACT_FILE_ERR;
    }
    hex_encode(ah, addr, 20, 1);
    json_t *rec =
        json_pack("{s:I, s:s, s:s, s:s, s:s}", "chain_id", (json_int_t)chain_id, "address", ah,
                  "tx_hash", tx_hash, "block_number", block_number, "deployer", deployer);
    text = rec ? json_dumps(rec, JSON_INDENT(2)) : NULL;
    if (!text) {
        errno = ENOMEM;
        goto out;
    }
    rc = write_atomic(path, text);
out:
    free(text);
    json_decref(rec);
    return rc;
}
