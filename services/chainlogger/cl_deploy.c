/*
 * cl_deploy — `chainlogger deploy`: make sure an AnomalyLogger exists on
 * this chain and record its address in <state_dir>/contract-<chain_id>.json,
 * where the chain logger and the gateway look for it. Idempotent: an
 * address already recorded is reused when the chain has code there; after a
 * chain reset (no code) it deploys again. The deploying account becomes the
 * owner; the constructor authorises the logger account given (the owner
 * itself only in the dev set-up without an owner key, see main.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eth/abi.h"
#include "cl.h"
#include "base/hex.h"
#include "base/log.h"
#include "eth/contract_file.h"

void cl_contract_file(char *out, size_t cap, const char *state_dir, uint64_t chain_id)
{
    (void)contract_file_path(out, cap, state_dir, chain_id);
}

int cl_contract_load(const char *state_dir, uint64_t chain_id, uint8_t addr[20])
{
    return contract_file_read(state_dir, chain_id, addr) == 0 ? 0 : -1;
}

/* Send a transaction from the account and wait for its receipt.
 * Returns 0 with *receipt on status 1, CL_ERR_FATAL on revert, CL_ERR_CHAIN. */
static int transact(eth_client *e, const uint8_t *to, const uint8_t *data, size_t len,
                    json_t **receipt)
{
    uint64_t nonce, gas;
    uint8_t *raw = NULL, h[32];
    size_t rawlen;
    int rc;

    *receipt = NULL;
    if ((rc = eth_client_refresh_fees(e, 0)) < 0 ||
        (rc = eth_client_nonce(e, "pending", &nonce)) < 0)
        return rc;
    if ((rc = eth_client_estimate(e, to, data, len, &gas)) < 0) {
        log_error("estimate_failed reason=\"%s\"", e->err);
        return rc;
    }
    gas = gas + gas / 4; /* 25% margin */
    if (eth_client_sign(e, to, data, len, nonce, gas, &raw, &rawlen, h) < 0)
        return CL_ERR_FATAL;
    rc = eth_client_send_raw(e, raw, rawlen);
    free(raw);
    if (rc < 0)
        return rc == CL_ERR_NONCE ? CL_ERR_CHAIN : rc;
    rc = eth_client_wait_receipt(e, h, 60000, receipt, NULL);
    if (rc <= 0)
        return CL_ERR_CHAIN;
    const char *st = json_string_value(json_object_get(*receipt, "status"));
    if (!st || strcmp(st, "0x1") != 0) {
        log_error("transaction_reverted status=%s", st ? st : "?");
        json_decref(*receipt);
        *receipt = NULL;
        return CL_ERR_FATAL;
    }
    return 0;
}

int cl_deploy(eth_client *e, const char *state_dir, const char *contract_json,
              const uint8_t logger[20], uint8_t addr[20], int *deployed)
{
    char path[4096], ah[43];
    json_error_t jerr;
    json_t *art = NULL, *receipt = NULL;
    uint8_t *code = NULL;
    size_t size = 0;
    int rc;

    *deployed = 0;
    cl_contract_file(path, sizeof path, state_dir, e->chain_id);
    if (cl_contract_load(state_dir, e->chain_id, addr) == 0) {
        if ((rc = eth_client_code_size(e, addr, &size)) < 0)
            return rc;
        hex_encode(ah, addr, 20, 1);
        if (size > 0) {
            log_info("contract_present address=%s file=%s", ah, path);
            return 0;
        }
        log_warn("contract_missing address=%s reason=\"no code at the recorded address (chain "
                 "reset?); deploying again\"",
                 ah);
    }
    art = json_load_file(contract_json, 0, &jerr);
    const char *bc = art ? json_string_value(json_object_get(art, "bytecode")) : NULL;
    if (!bc || strlen(bc) < 4) {
        log_error("contract_json_invalid file=%s reason=\"%s\"", contract_json,
                  art ? "no bytecode" : jerr.text);
        rc = CL_ERR_FATAL;
        goto out;
    }
    size_t cap = strlen(bc) / 2 + 1 + 32;
    code = malloc(cap);
    long n = code ? hex_decode(code, cap - 32, bc) : -1;
    if (n <= 0) {
        log_error("contract_json_invalid file=%s reason=\"bytecode is not hex\"", contract_json);
        rc = CL_ERR_FATAL;
        goto out;
    }
    /* constructor(address logger): one ABI word after the code */
    memset(code + n, 0, 12);
    memcpy(code + n + 12, logger, 20);
    n += 32;
    if ((rc = transact(e, NULL, code, (size_t)n, &receipt)) < 0)
        goto out;
    const char *ca = json_string_value(json_object_get(receipt, "contractAddress"));
    if (!ca || hex_decode(addr, 20, ca) != 20) {
        log_error("deploy_no_address");
        rc = CL_ERR_FATAL;
        goto out;
    }
    hex_encode(ah, addr, 20, 1);
    if (contract_file_write(state_dir, e->chain_id, addr,
                            json_string_value(json_object_get(receipt, "transactionHash")),
                            json_string_value(json_object_get(receipt, "blockNumber")),
                            e->addr_hex) < 0) {
        log_error("contract_file_write_failed file=%s errno=%d", path, errno);
        rc = CL_ERR_FATAL;
        goto out;
    }
    log_info("contract_deployed address=%s file=%s", ah, path);
    *deployed = 1;
    rc = 0;
out:
    json_decref(art);
    json_decref(receipt);
    free(code);
    return rc;
}

int cl_set_logger(eth_client *e, const uint8_t contract[20], const uint8_t who[20], int add)
{
    uint8_t sel[4], *cd = NULL;
    size_t cdl;
    json_t *receipt = NULL;
    abi_selector(add ? "addLogger(address)" : "removeLogger(address)", sel);
    abi_arg a = {.type = ABI_ADDRESS, .p = who};
    if (abi_encode(sel, &a, 1, &cd, &cdl) < 0)
        return CL_ERR_FATAL;
    int rc = transact(e, contract, cd, cdl, &receipt);
    free(cd);
    json_decref(receipt);
    return rc;
}

/* An owner call with one address argument (or none when who is NULL). */
static int owner_call(eth_client *e, const uint8_t contract[20], const char *sig,
                      const uint8_t *who)
{
    uint8_t sel[4], *cd = NULL;
    size_t cdl;
    json_t *receipt = NULL;
    abi_selector(sig, sel);
    abi_arg a = {.type = ABI_ADDRESS, .p = who};
    if (abi_encode(sel, who ? &a : NULL, who ? 1 : 0, &cd, &cdl) < 0)
        return CL_ERR_FATAL;
    int rc = transact(e, contract, cd, cdl, &receipt);
    free(cd);
    json_decref(receipt);
    return rc;
}

int cl_transfer_ownership(eth_client *e, const uint8_t contract[20], const uint8_t who[20])
{
    return owner_call(e, contract, "transferOwnership(address)", who);
}

int cl_accept_ownership(eth_client *e, const uint8_t contract[20])
{
    return owner_call(e, contract, "acceptOwnership()", NULL);
}
