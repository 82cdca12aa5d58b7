/*
 * fuzz_anomaly_log — libFuzzer harness for the AnomalyLogger event decoder
 * (anomaly_log_decode_log, anomaly_log_decode_record in common/eth/anomaly_log.h): the trust
 * boundary for everything `chainlogger verify` and the gateway read back
 * from a JSON-RPC node. Input layout and checks: nasty_anomaly_log() in nasty.h.
 */
#include "nasty.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nasty_anomaly_log(data, size);
    return 0;
}
