/* common/bus/alarm_state: the detector's retained alarm-state message. The
 * encoder writes the exact bytes the detector publishes; they decode back;
 * the decoder refuses anything a detector could not have written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka.h needs the three above first */
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bus/alarm_state.h"

static alarm_state sample(void)
{
    alarm_state s;
    memset(&s, 0, sizeof s);
    strcpy(s.sensor_id, "room-1");
    strcpy(s.metric, "temperature");
    s.in_alarm = 1;
    s.ts = 1733580000.5;
    return s;
}

static void test_encode_exact(void **state)
{
    (void)state;
    alarm_state s = sample();
    char buf[256];
    const char *want = "{\"sensor_id\":\"room-1\",\"metric\":\"temperature\",\"in_alarm\":true,"
                       "\"ts\":1733580000.5}";
    assert_int_equal(alarm_state_to_json(&s, buf, sizeof buf), (int)strlen(want));
    assert_string_equal(buf, want);
    s.in_alarm = 0;
    assert_true(alarm_state_to_json(&s, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "\"in_alarm\":false"));
    /* too small a buffer, NULLs and a non-finite time are refused */
    assert_int_equal(alarm_state_to_json(&s, buf, 20), -1);
    assert_int_equal(alarm_state_to_json(NULL, buf, sizeof buf), -1);
    s.ts = NAN;
    assert_int_equal(alarm_state_to_json(&s, buf, sizeof buf), -1);
}

static void test_round_trip(void **state)
{
    (void)state;
    alarm_state s = sample(), d;
    char buf[256], err[128];
    int n = alarm_state_to_json(&s, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(alarm_state_from_json(buf, (size_t)n, &d, err, sizeof err), 0);
    assert_string_equal(d.sensor_id, s.sensor_id);
    assert_string_equal(d.metric, s.metric);
    assert_int_equal(d.in_alarm, 1);
    assert_true(d.ts == s.ts);
}

static void test_bad_input(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "[]",
        "{\"sensor_id\":\"a\",\"metric\":\"t\",\"in_alarm\":true}",
        "{\"sensor_id\":\"a\",\"metric\":\"t\",\"in_alarm\":1,\"ts\":1}",
        "{\"sensor_id\":\"a b\",\"metric\":\"t\",\"in_alarm\":true,\"ts\":1}",
        "{\"sensor_id\":\"a\",\"metric\":\"\",\"in_alarm\":true,\"ts\":1}",
        "{\"sensor_id\":\"a\",\"metric\":\"t\",\"in_alarm\":true,\"ts\":\"1\"}",
        "{\"sensor_id\":\"a\",\"sensor_id\":\"b\",\"metric\":\"t\",\"in_alarm\":true,\"ts\":1}",
        "{\"sensor_id\":\"a\",\"metric\":\"0123456789012345678901234567890123\",\"in_alarm\":"
        "true,\"ts\":1}",
    };
    alarm_state d;
    char err[128];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        assert_int_equal(alarm_state_from_json(bad[i], strlen(bad[i]), &d, err, sizeof err), -1);
        assert_true(err[0] != 0);
    }
    char big[ALARM_STATE_MAX_PAYLOAD + 2];
    memset(big, ' ', sizeof big);
    assert_int_equal(alarm_state_from_json(big, sizeof big, &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "too large"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_exact),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
