/* Streaming features: the daily profile is learned from ts (not the wall
 * clock), spikes, contextual values and level shifts show in the right
 * features, flagged readings are not absorbed, compute has no side effect. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <stdint.h>
#include <time.h>
#include <string.h>

#include "model/tsfeatures.h"

#define T0 1609459200.0 /* 2021-01-01 00:00:00 UTC */
#define STEP 300.0      /* 5-minute readings */

/* A daily cycle: 20 +- 3 with its maximum at 15:00 UTC, tiny deterministic noise. */
static double daily(double ts)
{
    double h = fmod(ts, 86400.0) / 3600.0;
    double noise = 0.05 * sin(ts * 0.37);
    return 20.0 + 3.0 * cos((h - 15.0) / 24.0 * 2 * M_PI) + noise;
}

static void feed(const tsfeatures_params *p, tsfeatures_state *s, double from, double to)
{
    for (double ts = from; ts < to; ts += STEP)
        tsfeatures_update(p, s, ts, daily(ts), 1);
}

static void test_profile_learned(void **state)
{
    (void)state;
    tsfeatures_params p;
    tsfeatures_params_default(&p);
    tsfeatures_state s;
    tsfeatures_init(&s);
    float f[TSFEATURES_MAX_DIM];
    tsfeatures_info info;
    feed(&p, &s, T0, T0 + 4 * 86400);
    assert_int_equal(tsfeatures_dim(&p), 7);
    double ts = T0 + 4 * 86400 + 15 * 3600; /* 15:00, the daily max */
    assert_int_equal(tsfeatures_compute(&p, &s, ts, daily(ts), f, &info), 0);
    assert_true(info.profile_ready);
    assert_true(fabs(info.expected - daily(ts)) < 0.3);
    assert_true(fabs(f[TSFEATURE_Z_CONTEXT]) < 4);
    assert_true(fabs(info.hour - 15.0) < 1e-9);
    assert_int_equal(info.day_of_year, 5);
    double dlo, dhi;
    tsfeatures_day_range(&s, &dlo, &dhi);
    assert_true(dlo < 17.2 && dhi > 22.8);
    /* 03:00 expected near the minimum */
    ts = T0 + 4 * 86400 + 3 * 3600;
    tsfeatures_compute(&p, &s, ts, daily(ts), f, &info);
    assert_true(fabs(info.expected - daily(ts)) < 0.3);
}

static void test_compute_is_pure_and_spike(void **state)
{
    (void)state;
    tsfeatures_params p;
    tsfeatures_params_default(&p);
    tsfeatures_state s, copy;
    tsfeatures_init(&s);
    feed(&p, &s, T0, T0 + 3 * 86400);
    memcpy(&copy, &s, sizeof(s));
    float f[TSFEATURES_MAX_DIM];
    double ts = T0 + 3 * 86400;
    assert_int_equal(tsfeatures_compute(&p, &s, ts, 1000.0, f, NULL), 0);
    assert_memory_equal(&copy, &s, sizeof(s));
    assert_true(f[TSFEATURE_Z_RECENT] > 50);
    assert_true(f[TSFEATURE_Z_CONTEXT] > 50);
    assert_true(f[TSFEATURE_DELTA1] > 50);
    /* a flagged reading moves the lags but not the statistics */
    double mean = s.mean, level = s.level, rvar = s.rvar;
    tsfeatures_update(&p, &s, ts, 1000.0, 0);
    assert_true(s.mean == mean && s.level == level && s.rvar == rvar);
    assert_true(s.lag[0] == 1000.0f);
    /* non-finite input is rejected */
    assert_int_equal(tsfeatures_compute(&p, &s, ts, NAN, f, NULL), -1);
    assert_int_equal(tsfeatures_compute(&p, &s, INFINITY, 1.0, f, NULL), -1);
    assert_true(tsfeatures_state_valid(&s));
    s.var = NAN;
    assert_false(tsfeatures_state_valid(&s));
}

static void test_contextual(void **state)
{
    (void)state;
    tsfeatures_params p;
    tsfeatures_params_default(&p);
    tsfeatures_state s;
    tsfeatures_init(&s);
    feed(&p, &s, T0, T0 + 4 * 86400);
    float f[TSFEATURES_MAX_DIM];
    tsfeatures_info info;
    /* 03:00 (the minimum, ~17) with the afternoon's 23: normal for the day, not for the hour */
    double ts = T0 + 4 * 86400 + 3 * 3600;
    tsfeatures_compute(&p, &s, ts, 23.0, f, &info);
    assert_true(f[TSFEATURE_Z_CONTEXT] > 8);
    double dlo, dhi;
    tsfeatures_day_range(&s, &dlo, &dhi);
    assert_true(23.0 > dlo && 23.0 < dhi);
}

static void test_level_shift(void **state)
{
    (void)state;
    tsfeatures_params p;
    tsfeatures_params_default(&p);
    tsfeatures_state s;
    tsfeatures_init(&s);
    feed(&p, &s, T0, T0 + 4 * 86400);
    float f[TSFEATURES_MAX_DIM];
    double ts = T0 + 4 * 86400, prev_shift = 0;
    /* +1.5 sustained and flagged (not learned): each reading's shift grows */
    for (int k = 0; k < 6; k++, ts += STEP) {
        double x = daily(ts) + 1.5;
        tsfeatures_compute(&p, &s, ts, x, f, NULL);
        assert_true(f[TSFEATURE_SHIFT] > prev_shift);
        prev_shift = f[TSFEATURE_SHIFT];
        tsfeatures_update(&p, &s, ts, x, 0);
    }
    assert_true(prev_shift > 3);
}

static void test_first_readings(void **state)
{
    (void)state;
    tsfeatures_params p;
    tsfeatures_params_default(&p);
    tsfeatures_state s;
    tsfeatures_init(&s);
    float f[TSFEATURES_MAX_DIM];
    tsfeatures_info info;
    assert_int_equal(tsfeatures_compute(&p, &s, T0, 5.0, f, &info), 0);
    for (int j = 0; j < tsfeatures_dim(&p); j++)
        assert_true(f[j] == 0.0f);
    assert_false(info.profile_ready);
    /* a flat line stays at z = 0 */
    for (int k = 0; k < 100; k++)
        tsfeatures_update(&p, &s, T0 + k * STEP, 5.0, 1);
    tsfeatures_compute(&p, &s, T0 + 100 * STEP, 5.0, f, NULL);
    for (int j = 0; j < tsfeatures_dim(&p); j++)
        if (j != TSFEATURE_SPREAD)
            assert_true(isfinite(f[j]) && fabs(f[j]) < 1e-3);
    assert_true(f[TSFEATURE_SPREAD] == -1.0f); /* quieter than usual: log2(1/2) */
}

/* The recent mean covers at least recent_s seconds: a 1 Hz stream's
 * expectation does not follow a new level within a minute, a 60 s
 * stream's still follows it within its 60 readings. */
static double recent_after_step(double step_s)
{
    tsfeatures_params p;
    tsfeatures_params_default(&p);
    tsfeatures_state s;
    tsfeatures_init(&s);
    double ts = T0;
    for (int i = 0; i < 600; i++, ts += step_s)
        tsfeatures_update(&p, &s, ts, 0.0, 1);
    for (int i = 0; i < 60; i++, ts += step_s)
        tsfeatures_update(&p, &s, ts, 10.0, 1);
    float v[TSFEATURES_MAX_DIM];
    tsfeatures_info info;
    assert_int_equal(tsfeatures_compute(&p, &s, ts, 10.0, v, &info), 0);
    return info.recent_mean;
}

static void test_recent_covers_seconds(void **state)
{
    (void)state;
    double fast = recent_after_step(1.0), slow = recent_after_step(60.0);
    assert_true(fast > 2.5 && fast < 4.5); /* 1 - (1 - 2/301)^60 = 0.33 */
    assert_true(slow > 8.0);               /* 1 - (1 - 2/61)^60 = 0.86 */
}

/* A machine cooling down for hours below anything seen: with hold_z the
 * residual spread does not learn the excursion's own size, so it keeps
 * standing out; without, the spread grows with it. */
static double spread_after_cooling(double hold_z)
{
    tsfeatures_params p;
    tsfeatures_params_default(&p);
    p.hold_z = hold_z;
    tsfeatures_state s;
    tsfeatures_init(&s);
    double ts = T0;
    for (int i = 0; i < 3 * 288; i++, ts += STEP)
        tsfeatures_update(&p, &s, ts, 100.0 + 2.0 * sin(i * 0.7), 1);
    for (int i = 0; i < 144; i++, ts += STEP) /* 12 h, down 1 per reading */
        tsfeatures_update(&p, &s, ts, 100.0 - i + 2.0 * sin(i * 0.7), 1);
    float v[TSFEATURES_MAX_DIM];
    tsfeatures_info info;
    assert_int_equal(tsfeatures_compute(&p, &s, ts, 0.0, v, &info), 0);
    return info.expected_sd;
}

static void test_spread_held_in_excursion(void **state)
{
    (void)state;
    double held = spread_after_cooling(3.0), learned = spread_after_cooling(0.0);
    /* measured 20.4 against 40.7: the spread learned until the values left
     * the range seen, then held */
    assert_true(held < 0.6 * learned);
}

/* An office: the daily cycle, and 4 units less from 07:00 to 19:00 on
 * Saturdays and Sundays (UTC); noise of about 0.3 so the weekly rhythm is
 * many residual sds. weekend = 0 gives the same stream without it. */
static double office(double ts, int weekend)
{
    long d = (long)floor(ts / 86400.0);
    int dow = (int)((d + 4) % 7); /* 0 = Sunday */
    double h = fmod(ts, 86400.0) / 3600.0;
    double v = daily(ts) + 0.3 * sin(ts * 0.0123) * cos(ts * 0.0071);
    if (weekend && (dow == 0 || dow == 6) && h >= 7 && h < 19)
        v -= 4.0;
    return v;
}

static double week_error(int weekend, uint32_t *on)
{
    tsfeatures_params p;
    tsfeatures_params_default(&p);
    tsfeatures_state s;
    tsfeatures_init(&s);
    double end = T0 + 22 * 86400; /* 2021-01-23, a Saturday */
    for (double ts = T0; ts < end; ts += STEP)
        tsfeatures_update(&p, &s, ts, office(ts, weekend), 1);
    *on = s.wk_on;
    double worst = 0;
    for (double ts = end; ts < end + 3 * 86400; ts += 3600) { /* Sat, Sun, Mon */
        float f[TSFEATURES_MAX_DIM];
        tsfeatures_info info;
        assert_int_equal(tsfeatures_compute(&p, &s, ts, office(ts, weekend), f, &info), 0);
        double h = fmod(ts, 86400.0) / 3600.0;
        if ((h < 6 || h > 8) && (h < 18 || h > 20) && /* away from the weekend's edges */
            fabs(info.expected - office(ts, weekend)) > worst)
            worst = fabs(info.expected - office(ts, weekend));
        tsfeatures_update(&p, &s, ts, office(ts, weekend), 1);
    }
    print_message("week rhythm %d: on %u, worst error %.3f\n", weekend, *on, worst);
    return worst;
}

static void test_week(void **state)
{
    (void)state;
    uint32_t on;
    /* A weekly rhythm is learned: weekend and Monday are both expected
     * (measured worst error 0.91; 3.3 with the week never switched on). */
    double err = week_error(1, &on);
    assert_int_equal(on, 1);
    assert_true(err < 1.5);
    /* No weekly rhythm: the week stays off. */
    err = week_error(0, &on);
    assert_int_equal(on, 0);
    assert_true(err < 0.6); /* measured 0.34 */
}

/* The day of year the features report is gmtime_r's, to the second:
 * year ends, leap days (2000, 2024, 2100 is none), before 1970, far
 * future, and random instants in between. */
static void test_day_of_year_as_gmtime(void **state)
{
    (void)state;
    tsfeatures_params p;
    tsfeatures_params_default(&p);
    tsfeatures_state st;
    tsfeatures_init(&st);
    float v[TSFEATURES_MAX_DIM];
    double fixed[] = {0, 86399, 86400, 951782399, 951782400, 951868800, 978307199, 978307200,
                      1709164800, 1735689599, 1735689600, 4107542399, 4107542400, 4107628800,
                      253402300799.0, 253402300800.0, -1, -86400, -86401, -2208988800.0, 1e12};
    uint64_t rs = 99;
    for (int k = 0; k < 200000; k++) {
        double ts;
        if (k < (int)(sizeof(fixed) / sizeof(fixed[0]))) {
            ts = fixed[k];
        } else {
            rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
            ts = (double)(rs >> 11) * 0x1.0p-53 * 2.6e11 - 1e10;
        }
        tsfeatures_info info;
        assert_int_equal(tsfeatures_compute(&p, &st, ts, 1.0, v, &info), 0);
        time_t tt = (time_t)ts;
        struct tm tm;
        int want = gmtime_r(&tt, &tm) ? tm.tm_yday + 1 : 0;
        if (info.day_of_year != want)
            fail_msg("ts %.0f: day %d, gmtime_r %d", ts, info.day_of_year, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_learned), cmocka_unit_test(test_compute_is_pure_and_spike),
        cmocka_unit_test(test_contextual),      cmocka_unit_test(test_level_shift),
        cmocka_unit_test(test_first_readings),
        cmocka_unit_test(test_recent_covers_seconds),
        cmocka_unit_test(test_spread_held_in_excursion),
        cmocka_unit_test(test_week),
        cmocka_unit_test(test_day_of_year_as_gmtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
