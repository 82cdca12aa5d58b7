/* Which threshold applies to a sensor: the mapping hook (per-sensor
 * "threshold" in the ingest mapping file) over THRESHOLDS_FILE overrides
 * (longest prefix) over the default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "detector/det_engine.h"

static double hook(void *ctx, const char *sensor_id)
{
    (void)ctx;
    if (strcmp(sensor_id, "greenhouse") == 0)
        return 0.65;
    if (strcmp(sensor_id, "bogus") == 0)
        return 1.5; /* out of range: ignored */
    return NAN;
}

static void test_threshold_precedence(void **state)
{
    (void)state;
    det_config c;
    det_config_default(&c);
    c.threshold = 0.55;
    c.noverrides = 2;
    snprintf(c.overrides[0].prefix, sizeof c.overrides[0].prefix, "green");
    c.overrides[0].threshold = 0.6;
    snprintf(c.overrides[1].prefix, sizeof c.overrides[1].prefix, "greenhouse-2");
    c.overrides[1].threshold = 0.7;
    det_engine *e = NULL;
    assert_int_equal(det_engine_create(&e, &c), 0);
    assert_true(det_engine_threshold(e, "office-1") == 0.55);
    assert_true(det_engine_threshold(e, "greenhouse") == 0.6);
    assert_true(det_engine_threshold(e, "greenhouse-2b") == 0.7);
    det_engine_destroy(e);

    c.threshold_hook = hook;
    assert_int_equal(det_engine_create(&e, &c), 0);
    assert_true(det_engine_threshold(e, "greenhouse") == 0.65);   /* hook wins */
    assert_true(det_engine_threshold(e, "greenhouse-2b") == 0.7); /* hook silent */
    assert_true(det_engine_threshold(e, "bogus") == 0.55);        /* hook out of range */
    det_engine_destroy(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_threshold_precedence)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
