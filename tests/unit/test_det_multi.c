/* The per-sensor multivariate state (det_multi): chi-square limits,
 * Hotelling's T² against a known covariance, entering a multivariate alarm
 * on a small joint shift of several metrics and leaving it when they come
 * back, and the engine marking all of a sensor's streams with one alert. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka.h needs the three above first */
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "detector/det_engine.h"
#include "detector/det_multi.h"

/* Deterministic standard normal draws (xorshift + Box-Muller). */
static uint64_t rng = 88172645463325252ull;
static double unif(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((double)(rng >> 11) + 0.5) * 0x1.0p-53;
}
static double gauss(void)
{
    return sqrt(-2 * log(unif())) * cos(2 * M_PI * unif());
}

static void test_chi2(void **state)
{
    (void)state;
    /* Tables: chi2_8(0.999) = 26.12, chi2_8(0.99) = 20.09, chi2_3(0.999) = 16.27. */
    assert_true(fabs(det_multi_chi2(8, 0.999) - 26.12) < 0.3);
    assert_true(fabs(det_multi_chi2(8, 0.99) - 20.09) < 0.2);
    assert_true(fabs(det_multi_chi2(3, 0.999) - 16.27) < 0.5);
    assert_true(det_multi_chi2(4, 0.999) > det_multi_chi2(4, 0.99));
}

static void test_t2_known_covariance(void **state)
{
    (void)state;
    det_multi m;
    det_multi_init(&m, 2);
    assert_int_equal(m.k, 2);
    /* S = [[4, 2], [2, 3]] (the ridge is added to the diagonal). */
    m.cov[0] = (float)(4 - DET_MULTI_RIDGE);
    m.cov[1] = 2;
    m.cov[2] = (float)(3 - DET_MULTI_RIDGE);
    m.mean[0] = 10;
    m.mean[1] = -1;
    double z[2] = {11, 1}, c[2];
    /* d = (1, 2); S^-1 = [[3, -2], [-2, 4]] / 8; d' S^-1 d = 11/8. */
    double t2 = det_multi_t2(&m, z, c);
    assert_true(fabs(t2 - 1.375) < 1e-5);
    assert_true(fabs(c[0] + c[1] - t2) < 1e-9);
    /* Along the correlation costs less than across it. */
    double along[2] = {12, 1}, across[2] = {12, -3};
    assert_true(det_multi_t2(&m, along, NULL) < det_multi_t2(&m, across, NULL));
    /* Not positive definite: refused. */
    m.cov[1] = 5;
    assert_true(det_multi_t2(&m, z, NULL) < 0);
    /* One metric, or more than DET_MULTI_MAX: no state. */
    det_multi_init(&m, 1);
    assert_int_equal(m.k, 0);
    det_multi_init(&m, DET_MULTI_MAX + 1);
    assert_int_equal(m.k, 0);
}

/* Three metrics, the first two correlated; each within its own range. */
static void row(double *z, double shift)
{
    double a = gauss(), b = gauss(), c = gauss();
    z[0] = a + shift;
    z[1] = 0.8 * a + 0.6 * b - shift; /* the relation breaks: opposite moves */
    z[2] = c;
}

static void test_enter_leave(void **state)
{
    (void)state;
    det_multi m;
    det_multi_init(&m, 3);
    double z[3], t2;
    int enters = 0, leaves = 0;
    for (int i = 0; i < 3000; i++) { /* normal: warm-up, then no alarm */
        row(z, 0);
        int ev = det_multi_step(&m, z, 1, 300, &t2, NULL);
        enters += ev == DET_MULTI_ENTER;
        if (i < 300)
            assert_true(t2 < 0);
    }
    assert_int_equal(enters, 0);
    assert_int_equal(m.alarm, 0);
    /* A joint shift of one spread on two metrics. */
    int at = -1;
    for (int i = 0; i < 200; i++) {
        row(z, 1.0);
        int ev = det_multi_step(&m, z, 1, 300, &t2, NULL);
        if (ev == DET_MULTI_ENTER) {
            enters++;
            if (at < 0)
                at = i;
        }
        assert_int_not_equal(ev, DET_MULTI_LEAVE);
    }
    assert_int_equal(enters, 1);
    assert_true(at >= DET_MULTI_PERSIST - 1 && at < 60);
    assert_int_equal(m.alarm, 1);
    uint32_t n = m.n;
    int back = -1;
    for (int i = 0; i < 300; i++) {
        row(z, 0);
        int ev = det_multi_step(&m, z, 1, 300, &t2, NULL);
        if (ev == DET_MULTI_LEAVE) {
            leaves++;
            if (back < 0)
                back = i;
        }
    }
    assert_int_equal(leaves, 1);
    assert_true(back >= DET_MULTI_PERSIST - 1 && back < 100);
    assert_int_equal(m.alarm, 0);
    assert_true(m.n > n); /* learning again once out of the alarm */
}

/* Through the engine: one sensor of three metrics that move a little
 * together, each within its own range: all three streams in alarm, one
 * change_point alert naming what moved. */
static void test_engine(void **state)
{
    (void)state;
    det_config c;
    det_config_default(&c);
    c.warmup = 200;
    c.shape = 0;
    c.multi = 1; /* off by default */
    det_engine *e = NULL;
    assert_int_equal(det_engine_create(&e, &c), 0);
    reading r;
    det_result res[3];
    anomaly al[8];
    int multi_alerts = 0, in_alarm_rows = 0, alarm_all = 1;
    double t0 = 1.7e9;
    for (int i = 0; i < 1500; i++) {
        double z[3];
        row(z, i >= 1000 && i < 1200 ? 1.5 : 0);
        memset(&r, 0, sizeof(r));
        snprintf(r.sensor_id, sizeof(r.sensor_id), "pump-1");
        r.ts = t0 + i;
        reading_add(&r, "flow", 30 + z[0]);
        reading_add(&r, "pressure", 2 + 0.1 * z[1]);
        reading_add(&r, "current", 5 + 0.2 * z[2]);
        int na = det_engine_process(e, &r, res, al, 8);
        assert_true(na >= 0);
        for (int k = 0; k < na; k++)
            if (strstr(al[k].explanation, "usual relation") &&
                !strstr(al[k].explanation, "ended")) {
                multi_alerts++;
                assert_int_equal(al[k].type, ANOMALY_CHANGE_POINT);
                assert_string_equal(al[k].sensor_id, "pump-1");
            }
        if (i < 1000 && i > 400)
            assert_int_equal(res[0].in_alarm | res[1].in_alarm | res[2].in_alarm, 0);
        if (i >= 1050 && i < 1200) {
            in_alarm_rows += res[0].in_alarm;
            alarm_all &= res[0].in_alarm == res[1].in_alarm && res[1].in_alarm == res[2].in_alarm;
        }
    }
    assert_int_equal(multi_alerts, 1);
    assert_true(in_alarm_rows > 140);
    assert_true(alarm_all);
    det_engine_destroy(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chi2),
        cmocka_unit_test(test_t2_known_covariance),
        cmocka_unit_test(test_enter_leave),
        cmocka_unit_test(test_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
