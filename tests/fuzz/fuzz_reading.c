/*
 * fuzz_reading — libFuzzer harness for reading_decode_json (common/bus/reading.h),
 * the native format every sensor publishes on sensors/{id}/readings.
 * Input layout and checks: nasty_reading() in nasty.h.
 */
#include "nasty.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nasty_reading(data, size);
    return 0;
}
