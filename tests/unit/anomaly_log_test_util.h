/* Shared by the chain unit tests: the AnomalyLogged log object a node
 * returns from eth_getLogs for one anomaly, built from first principles
 * (ABI-encoded data, keccak topics), so decoders are tested against what
 * the contract emits rather than against themselves. Include after
 * cmocka.h. */
#ifndef ANOMALY_LOG_TEST_UTIL_H
#define ANOMALY_LOG_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "eth/abi.h"
#include "eth/anomaly_log.h"
#include "bus/anomaly.h"
#include "base/hex.h"
#include "eth/keccak.h"

/* The AnomalyLogged log for (a, seq, logger) in transaction tx, block 0x2a,
 * log index 3. Returns a new reference. */
static json_t *anomaly_log_fixture_log(const anomaly *a, uint64_t seq, const uint8_t logger[20],
                                const char *tx)
{
    uint8_t rec[ANOMALY_LOG_RECORD_MAX], t[32], *data;
    char hex[2 * 2048 + 3], h[67];
    size_t dlen;
    int n = anomaly_log_encode_record(a, rec, sizeof rec);
    assert_true(n > 0);
    abi_arg args[2] = {{.type = ABI_UINT, .u = seq},
                       {.type = ABI_BYTES, .p = rec, .len = (size_t)n}};
    assert_int_equal(abi_encode(NULL, args, 2, &data, &dlen), 0);
    hex_encode(hex, data, dlen, 1);
    free(data);
    json_t *topics = json_array();
    json_array_append_new(topics, json_string(anomaly_log_event_topic()));
    json_array_append_new(topics, json_sprintf("0x%s", a->id));
    keccak256(a->sensor_id, strlen(a->sensor_id), t);
    hex_encode(h, t, 32, 1);
    json_array_append_new(topics, json_string(h));
    abi_put_address(t, logger);
    hex_encode(h, t, 32, 1);
    json_array_append_new(topics, json_string(h));
    return json_pack("{s:o, s:s, s:s, s:s, s:s}", "topics", topics, "data", hex, "transactionHash",
                     tx, "blockNumber", "0x2a", "logIndex", "0x3");
}

#endif
