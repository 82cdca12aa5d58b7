/* The shape detector (det_shape) alone and inside the engine: a periodic
 * series stays silent, a run shaped like nothing before is detected once,
 * spikes that recur are learned as this stream's normal, and the option
 * follows the sensors it is configured for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka.h needs the three above first */
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detector/det_engine.h"
#include "detector/det_shape.h"

/* A wave with period 48 and a little deterministic noise. */
static double wave(long t)
{
    return 50.0 + 10.0 * sin(2 * M_PI * (double)t / 48.0) + 0.2 * sin(t * 12.9898);
}

static void test_params(void **state)
{
    (void)state;
    det_shape_params p;
    det_shape_params_default(&p);
    assert_int_equal(p.window, 16);
    assert_int_equal(p.history, 1500);
    assert_true(det_shape_params_valid(&p));
    p.history = 8 * p.window - 1;
    assert_false(det_shape_params_valid(&p));
    det_shape_params_default(&p);
    p.z = NAN;
    assert_false(det_shape_params_valid(&p));
    det_shape *d = (det_shape *)1;
    assert_int_equal(det_shape_create(&d, &p), -1);
    assert_null(d);
}

static void test_periodic_silent_novel_found(void **state)
{
    (void)state;
    det_shape_params p;
    det_shape_params_default(&p);
    p.history = 500;
    p.gap = 100;
    det_shape *d = NULL;
    assert_int_equal(det_shape_create(&d, &p), 0);
    double *scratch = malloc((size_t)p.history * sizeof(double));
    assert_non_null(scratch);
    det_shape_info si;
    long t = 0;
    int hits = 0;
    for (; t < 3000; t++)
        hits += det_shape_step(d, wave(t), scratch, &si);
    assert_int_equal(hits, 0); /* the same shape again and again */
    assert_true(si.raw < 1.0);

    /* NaN is ignored, not learned. */
    assert_int_equal(det_shape_step(d, NAN, scratch, &si), 0);

    /* The wave stops at its mean for 20 readings: within the usual range,
     * never this shape. Detected once, while it happens. */
    long first = -1;
    for (long k = 0; k < 20; k++, t++) {
        int hit = det_shape_step(d, 50.0, scratch, &si);
        assert_false(hit && first >= 0); /* once */
        if (hit)
            first = k;
    }
    assert_true(first >= 0 && first < 20);
    hits = 0;
    /* Another odd run 50 readings later: inside the gap, not reported. */
    for (long k = 0; k < 30; k++, t++)
        hits += det_shape_step(d, wave(t), scratch, NULL);
    for (long k = 0; k < 20; k++, t++)
        hits += det_shape_step(d, 42.0, scratch, NULL);
    assert_int_equal(hits, 0);
    free(scratch);
    det_shape_destroy(d);
}

/* The vector search and the portable scalar one give the same answers,
 * bit for bit, on every value: a noisy wave with level shifts, spikes far
 * beyond the saturating vector sums (the scalar fallback), a repeated odd
 * run (det_shape_now's second-nearest search, with its skipped zone), a
 * window that is no multiple of 16 and a ring that wraps mid-block. */
static void test_vector_same_as_scalar(void **state)
{
    (void)state;
    /* the last: a history too long for the stack copy (the ring blocks) */
    int windows[] = {16, 7, 23, 16}, histories[] = {499, 499, 499, 4500};
    for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
        det_shape_params p;
        det_shape_params_default(&p);
        p.window = windows[w];
        p.history = histories[w];
        p.every = w == 1 ? 1 : 4;
        det_shape *a = NULL, *b = NULL;
        assert_int_equal(det_shape_create(&a, &p), 0);
        assert_int_equal(det_shape_create(&b, &p), 0);
        double *scratch = malloc((size_t)p.history * sizeof(double));
        assert_non_null(scratch);
        uint64_t rs = 12345;
        int saturated = 0;
        long steps = p.history > 1000 ? 7000 : 4000;
        for (long t = 0; t < steps; t++) {
            rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
            double noise = (double)(rs >> 11) * 0x1.0p-53 - 0.5;
            double v = wave(t) + noise + (t / 700 % 2 ? 30.0 : 0.0);
            if (t % 911 == 500)
                v += 1e5; /* far beyond the vector sums' cap */
            if (t >= steps / 2 && t < steps / 2 + 400)
                v = 1e6 * (t % 2); /* every run at the cap: the scalar fallback */
            if (t % 333 < 12)
                v = 100.0 - (double)(t % 333); /* an odd run that comes back */
            det_shape_info sa, sb, na, nb;
            det_shape_force_scalar(1);
            int ha = det_shape_step(a, v, scratch, &sa);
            det_shape_now(a, &na);
            det_shape_force_scalar(0);
            int hb = det_shape_step(b, v, scratch, &sb);
            det_shape_now(b, &nb);
            assert_int_equal(ha, hb);
            assert_memory_equal(&sa, &sb, sizeof(sa));
            assert_memory_equal(&na, &nb, sizeof(na));
            /* a distance the vector sums cannot hold: the fallback ran */
            saturated += sa.raw * 256.0 * p.window >= 65535.0;
        }
        assert_true(saturated > 0);
        free(scratch);
        det_shape_destroy(a);
        det_shape_destroy(b);
    }
}

static det_engine *engine(int shape_all, const char *prefix)
{
    det_config c;
    det_config_default(&c);
    c.forest.ntrees = 50;
    c.shape = shape_all;
    c.shape_p.history = 500;
    c.shape_p.gap = 100;
    c.burst_n = 0; /* what the shape detector does alone (bursts: test_det_engine) */
    if (prefix) {
        c.nshape = 1;
        snprintf(c.shape_prefixes[0], SENSOR_ID_MAX, "%s", prefix);
    }
    det_engine *e = NULL;
    assert_int_equal(det_engine_create(&e, &c), 0);
    return e;
}

/* Feed n readings of value f(t) to a sensor; count alerts, and the shape
 * alerts among them (by their explanation). */
static void feed(det_engine *e, const char *id, long t0, long n, double (*f)(long), int *alerts,
                 int *shapes)
{
    anomaly out[8];
    for (long t = t0; t < t0 + n; t++) {
        reading r;
        memset(&r, 0, sizeof(r));
        snprintf(r.sensor_id, sizeof(r.sensor_id), "%s", id);
        r.ts = 1.7e9 + 300.0 * (double)t;
        reading_add(&r, "load", f(t));
        int na = det_engine_process(e, &r, NULL, out, 8);
        assert_true(na >= 0);
        for (int k = 0; k < na; k++) {
            (*alerts)++;
            if (strstr(out[k].explanation, "shaped like nothing")) {
                (*shapes)++;
                assert_true(out[k].type == ANOMALY_CONTEXTUAL || out[k].type == ANOMALY_POINT);
                assert_true(out[k].score >= 0.5 && out[k].score <= 1.0);
            }
        }
    }
}

static double flat_middle(long t)
{
    return t >= 3000 && t < 3024 ? 50.0 : wave(t);
}

static void test_engine_selected_sensors(void **state)
{
    (void)state;
    det_engine *e = engine(0, "srv-");
    int a1 = 0, s1 = 0, a2 = 0, s2 = 0;
    feed(e, "srv-1", 0, 3100, flat_middle, &a1, &s1);
    feed(e, "room-1", 0, 3100, flat_middle, &a2, &s2);
    print_message("flat middle: srv-1 %d alerts (%d by shape), room-1 %d\n", a1, s1, a2);
    assert_int_equal(s1, 1); /* found once, by shape */
    assert_int_equal(s2, 0); /* not configured for room-1 */

    /* Saved and loaded: the shape state is re-learned, nothing dangles. */
    char dir[] = "/tmp/test_det_shape.XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(det_engine_save(e, dir), 0);
    det_engine_destroy(e);
    e = engine(0, "srv-");
    assert_int_equal(det_engine_load(e, dir), 2);
    a1 = s1 = 0;
    feed(e, "srv-1", 3100, 600, wave, &a1, &s1);
    assert_int_equal(s1, 0);
    det_engine_destroy(e);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A spike every 96 readings (two periods of the wave: the same run each
 * time), always the same: the forest flags spikes, the
 * shape detector has seen the run before and holds the alerts back. */
static double spiky(long t)
{
    return wave(t) + (t % 96 == 0 ? 60.0 : 0.0);
}

static void test_recurring_spikes_learned(void **state)
{
    (void)state;
    int a_off = 0, s_off = 0, a_on = 0, s_on = 0, w = 0, ws = 0;
    det_engine *off = engine(0, NULL), *on = engine(1, NULL);
    feed(off, "s", 0, 1500, spiky, &w, &ws); /* both learn first */
    feed(on, "s", 0, 1500, spiky, &w, &ws);
    feed(off, "s", 1500, 3000, spiky, &a_off, &s_off);
    feed(on, "s", 1500, 3000, spiky, &a_on, &s_on);
    print_message("recurring spikes: %d alerts without shape, %d with\n", a_off, a_on);
    assert_int_equal(s_off, 0);
    assert_true(a_off >= 10); /* the forest alone alerts on the spikes */
    assert_true(a_on * 5 <= a_off);
    det_engine_destroy(off);
    det_engine_destroy(on);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_periodic_silent_novel_found),
        cmocka_unit_test(test_vector_same_as_scalar),
        cmocka_unit_test(test_engine_selected_sensors),
        cmocka_unit_test(test_recurring_spikes_learned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
