/* Unit tests of the ingest module: the native adapter. */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on
#include <string.h>

#include "ingest.h"

static int dec(ingest *ig, const char *topic, const char *payload, reading *out, int cap)
{
    char err[128];
    return ingest_decode(ig, topic, payload, strlen(payload), 1700000000.0, out, cap, err,
                         sizeof err);
}

static void test_native_topics(void **state)
{
    (void)state;
    ingest *ig;
    assert_int_equal(ingest_create(&ig, NULL), 0);
    int n = 0;
    const char *const *t = ingest_topics(ig, &n);
    assert_int_equal(n, 1);
    assert_string_equal(t[0], "sensors/+/readings");
    ingest_destroy(ig);
}

static void test_native_decode(void **state)
{
    (void)state;
    ingest *ig;
    reading r[2];
    assert_int_equal(ingest_create(&ig, NULL), 0);
    assert_int_equal(dec(ig, "sensors/kitchen-1/readings",
                         "{\"ts\":1699999999.5,\"temperature\":21.4,\"humidity\":40}", r, 2),
                     1);
    assert_string_equal(r[0].sensor_id, "kitchen-1");
    assert_true(r[0].ts == 1699999999.5);
    assert_int_equal(r[0].n, 2);
    assert_true(r[0].m[reading_find(&r[0], "temperature")].value == 21.4);
    /* no ts: receipt time */
    assert_int_equal(dec(ig, "sensors/a/readings", "{\"pressure\":1013.2}", r, 2), 1);
    assert_true(r[0].ts == 1700000000.0);
    ingest_destroy(ig);
}

static void test_native_errors(void **state)
{
    (void)state;
    ingest *ig;
    reading r[1];
    assert_int_equal(ingest_create(&ig, NULL), 0);
    /* not ours: ignored */
    assert_int_equal(dec(ig, "other/a/readings", "{\"temperature\":1}", r, 1), 0);
    assert_int_equal(dec(ig, "sensors/a/readings/x", "{\"temperature\":1}", r, 1), 0);
    assert_int_equal(dec(ig, "sensors//readings", "{\"temperature\":1}", r, 1), 0);
    /* bad ids */
    assert_int_equal(dec(ig, "sensors/a b/readings", "{\"temperature\":1}", r, 1),
                     READING_ERR_SENSOR);
    assert_int_equal(dec(ig, "sensors/a/b/readings", "{\"temperature\":1}", r, 1),
                     READING_ERR_SENSOR);
    assert_int_equal(dec(ig, "sensors/+/readings", "{\"temperature\":1}", r, 1),
                     READING_ERR_SENSOR);
    /* bad payloads */
    assert_int_equal(dec(ig, "sensors/a/readings", "{\"temperature\":", r, 1), READING_ERR_JSON);
    assert_int_equal(dec(ig, "sensors/a/readings", "[1]", r, 1), READING_ERR_TYPE);
    assert_int_equal(dec(ig, "sensors/a/readings", "{\"x\":\"y\"}", r, 1), READING_ERR_NO_METRIC);
    assert_int_equal(dec(ig, "sensors/a/readings", "{\"temperature\":NaN}", r, 1),
                     READING_ERR_JSON);
    ingest_destroy(ig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_topics),
        cmocka_unit_test(test_native_decode),
        cmocka_unit_test(test_native_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
