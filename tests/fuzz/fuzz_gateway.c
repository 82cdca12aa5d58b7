/*
 * fuzz_gateway — libFuzzer harness for the gateway's network-facing
 * parsers: REST requests (query arguments, POST bodies, the bearer token
 * check), WebSocket client messages, MQTT messages it consumes, static file
 * paths, Origin checks and cursors. Input layout and checks: nasty_gateway()
 * in nasty_gw.h.
 */
#include "base/log.h"
#include "nasty_gw.h"

static nasty_gw ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz", LOG_ERROR);
    if (nasty_gw_init(&ctx) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nasty_gateway(&ctx, data, size);
    return 0;
}
