/*
 * fuzz_alog — libFuzzer harness for the AnomalyLogger event decoder
 * (alog_decode_log, alog_decode_record in common/alog.h): the trust
 * boundary for everything `chainlogger verify` and the gateway read back
 * from a JSON-RPC node. Input layout and checks: nasty_alog() in nasty.h.
 */
#include "nasty.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nasty_alog(data, size);
    return 0;
}
