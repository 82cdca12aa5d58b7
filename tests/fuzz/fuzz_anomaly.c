/*
 * fuzz_anomaly — libFuzzer harness for anomaly_from_json (common/bus/anomaly.h),
 * what the chain logger and the gateway read from anomalies/{sensor_id}.
 * Input layout and checks: nasty_anomaly() in nasty.h.
 */
#include "nasty.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nasty_anomaly(data, size);
    return 0;
}
