/*
 * fuzz_ingest — libFuzzer harness for ingest_decode (common/ingest/ingest.h): every
 * device format the detector and the gateway accept from the broker
 * (native, Zigbee2MQTT, Tasmota, ESPHome states, SenML), routed by topic.
 * Input layout and checks: nasty_ingest() in nasty.h. Besides two built-in
 * mappings, every mapping file in FUZZ_INGEST_MAPPINGS (':'-separated;
 * scripts/fuzz.sh passes the mapping examples in config/) is a context.
 */
#include "base/log.h"
#include "nasty.h"

static nasty_ingest_set set;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz", LOG_ERROR);
    if (nasty_ingest_init(&set, getenv("FUZZ_INGEST_MAPPINGS")) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static reading out[16];
    int n;
    nasty_ingest(&set, data, size, out, &n);
    return 0;
}
