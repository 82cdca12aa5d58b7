/* Unit tests for the small shared helpers: errbuf, jsonbuf, deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "base/deadline.h"
#include "base/errbuf.h"
#include "base/jsonbuf.h"
#include "bus/reading.h"

static void test_errbuf(void **state)
{
    (void)state;
    char err[8];
    errbuf_set(NULL, 10, "ignored %d", 1); /* no buffer: nothing happens */
    memset(err, 'x', sizeof err);
    errbuf_set(err, 0, "ignored");
    assert_int_equal(err[0], 'x'); /* zero size: nothing written */
    errbuf_set(err, sizeof err, "n=%d", 42);
    assert_string_equal(err, "n=42");
    errbuf_set(err, sizeof err, "%s", "much too long for eight bytes");
    assert_string_equal(err, "much to"); /* truncated, NUL-terminated */
}

static void test_jsonbuf_parse(void **state)
{
    (void)state;
    char err[128];
    json_t *root = (json_t *)1;
    assert_int_equal(
        jsonbuf_parse("{\"a\":1}", 7, JSON_OBJECT, "want object", &root, err, sizeof err), 0);
    assert_true(json_is_object(root));
    json_decref(root);

    assert_int_equal(jsonbuf_parse("[1]", 3, JSON_OBJECT, "want object", &root, err, sizeof err),
                     READING_ERR_TYPE);
    assert_null(root);
    assert_string_equal(err, "want object");
    assert_int_equal(jsonbuf_parse("[1]", 3, JSON_ARRAY, "want array", &root, err, sizeof err), 0);
    json_decref(root);

    const char *dup = "{\"t\":1,\"t\":2}";
    assert_int_equal(jsonbuf_parse(dup, strlen(dup), JSON_OBJECT, "x", &root, err, sizeof err),
                     READING_ERR_JSON);
    assert_null(root);
    assert_int_equal(jsonbuf_parse("{\"t\":NaN}", 9, JSON_OBJECT, "x", &root, err, sizeof err),
                     READING_ERR_JSON);

    static char big[READING_MAX_PAYLOAD + 2];
    memset(big, ' ', sizeof big);
    big[0] = '{';
    big[sizeof big - 1] = '}';
    assert_int_equal(
        jsonbuf_parse(big, READING_MAX_PAYLOAD, JSON_OBJECT, "x", &root, err, sizeof err),
        READING_ERR_JSON); /* within the bound: parsed (and unterminated) */
    assert_int_equal(jsonbuf_parse(big, sizeof big, JSON_OBJECT, "x", &root, err, sizeof err),
                     READING_ERR_TOO_LARGE);
    assert_null(root);
}

static void test_jsonbuf_dump(void **state)
{
    (void)state;
    char buf[32];
    json_t *o = json_pack("{s:f, s:s}", "v", 0.1, "a", "b");
    assert_non_null(o);
    int n = jsonbuf_dump(o, buf, sizeof buf);
    assert_string_equal(buf, "{\"v\":0.1,\"a\":\"b\"}"); /* compact, ordered, 15 digits */
    assert_int_equal(n, (int)strlen(buf));
    assert_int_equal(jsonbuf_dump(o, buf, (size_t)n), -1); /* no room for the NUL */
    assert_int_equal(jsonbuf_dump(o, buf, (size_t)n + 1), n);
    assert_int_equal(jsonbuf_dump(NULL, buf, sizeof buf), -1);
    json_decref(o);
}

static void test_deadline(void **state)
{
    (void)state;
    long cases[] = {0, 1, 999, 1000, 1500, 30000};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct timespec before, d, after;
        clock_gettime(CLOCK_REALTIME, &before);
        deadline_after_ms(&d, cases[i]);
        clock_gettime(CLOCK_REALTIME, &after);
        assert_true(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
        double ds = (double)d.tv_sec + (double)d.tv_nsec / 1e9;
        double lo = (double)before.tv_sec + (double)before.tv_nsec / 1e9 + cases[i] / 1e3;
        double hi = (double)after.tv_sec + (double)after.tv_nsec / 1e9 + cases[i] / 1e3;
        assert_true(ds >= lo - 1e-6 && ds <= hi + 1e-6);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errbuf),
        cmocka_unit_test(test_jsonbuf_parse),
        cmocka_unit_test(test_jsonbuf_dump),
        cmocka_unit_test(test_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
