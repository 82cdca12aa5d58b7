/* Detector limits (services/detector/det_limits.c, issue #19 item 4):
 * invented sensor ids evict the least recently seen sensor and no more
 * than DETECTOR_MAX_SENSORS are kept; a sensor's new metric evicts its
 * least recently seen stream; junk metric names cannot take every model
 * slot, and a real name still gets one during a flood; metric names are
 * escaped in file names; on load, the most used models come first. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "detector/det_internal.h"

static det_engine *make(int max_sensors, int max_metrics, int min_readings)
{
    det_config c;
    det_config_default(&c);
    c.warmup = 20;
    c.pool_cap = 64;
    c.forest.ntrees = 10;
    c.shape = 0;
    c.max_sensors = max_sensors;
    c.max_metrics = max_metrics;
    c.metric_min_readings = min_readings;
    det_engine *e = NULL;
    assert_int_equal(det_engine_create(&e, &c), 0);
    return e;
}

/* One reading of sensor id with metrics names[0..n-1] (value v each). */
static void feed(det_engine *e, const char *id, double ts, const char **names, int n, double v)
{
    reading r;
    memset(&r, 0, sizeof r);
    snprintf(r.sensor_id, sizeof r.sensor_id, "%s", id);
    r.ts = ts;
    for (int k = 0; k < n; k++)
        assert_int_equal(reading_add(&r, names[k], v + k + 0.01 * fmod(ts, 7)), 0);
    anomaly a[8];
    assert_true(det_engine_process(e, &r, NULL, a, 8) >= 0);
}

static int has_sensor(const det_engine *e, const char *id)
{
    for (size_t k = 0; k < e->count; k++)
        if (strcmp(e->sensors[k]->id, id) == 0)
            return 1;
    return 0;
}

static int has_stream(const det_engine *e, const char *id, const char *metric)
{
    for (size_t k = 0; k < e->count; k++) {
        const det_sensor *s = e->sensors[k];
        if (strcmp(s->id, id) != 0)
            continue;
        for (uint32_t j = 0; j < s->nstreams; j++)
            if (strcmp(e->models[s->streams[j].model].metric, metric) == 0)
                return 1;
    }
    return 0;
}

static int model_slots_used(const det_engine *e)
{
    int n = 0;
    for (int m = 0; m < e->nmodels; m++)
        n += e->models[m].metric[0] != '\0';
    return n;
}

static void test_sensor_lru(void **state)
{
    (void)state;
    det_engine *e = make(3, 16, 50);
    const char *t[] = {"temperature"};
    feed(e, "a", 1, t, 1, 20);
    feed(e, "b", 2, t, 1, 20);
    feed(e, "c", 3, t, 1, 20);
    feed(e, "a", 4, t, 1, 20); /* a seen again: b is now the least recent */
    feed(e, "d", 5, t, 1, 20);
    det_stats st;
    det_engine_stats(e, &st);
    assert_int_equal(st.sensors, 3);
    assert_int_equal(st.sensor_evictions, 1);
    assert_true(has_sensor(e, "a") && has_sensor(e, "c") && has_sensor(e, "d"));
    assert_false(has_sensor(e, "b"));
    /* A flood of invented ids: memory stays bounded, a sensor that keeps
     * reporting is never the one evicted, and every id is still found
     * through the index after the moves. */
    char id[32];
    for (int k = 0; k < 5000; k++) {
        snprintf(id, sizeof id, "junk-%d", k);
        feed(e, id, 10 + k, t, 1, 20);
        feed(e, "a", 10 + k, t, 1, 20);
    }
    det_engine_stats(e, &st);
    assert_int_equal(st.sensors, 3);
    assert_int_equal(st.streams, 3);
    assert_int_equal(st.sensor_evictions, 1 + 5000 - 1 + 1); /* c, d, then all junk but the last */
    assert_true(has_sensor(e, "a") && has_sensor(e, "junk-4999"));
    assert_true(det_engine_bytes(e) < 4u << 20);
    det_engine_destroy(e);
}

static void test_metric_lru(void **state)
{
    (void)state;
    det_engine *e = make(10, 8, 50);
    const char *m8[] = {"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"};
    feed(e, "s", 1, m8, 8, 10);
    const char *recent[] = {"m1", "m2", "m3", "m4", "m5", "m6", "m7"};
    feed(e, "s", 2, recent, 7, 10); /* m0 is now the least recently seen */
    const char *nw[] = {"m8"};
    feed(e, "s", 3, nw, 1, 10);
    assert_false(has_stream(e, "s", "m0"));
    assert_true(has_stream(e, "s", "m8") && has_stream(e, "s", "m1"));
    det_stats st;
    det_engine_stats(e, &st);
    assert_int_equal(st.stream_evictions, 1);
    assert_int_equal(st.streams, 8);
    /* A reading never evicts its own metrics: with 8 streams all in the
     * reading, a ninth name cannot be added by evicting one of them (the
     * reading holds at most 8, so this is the boundary). */
    det_engine_destroy(e);
}

static void test_junk_metric_names(void **state)
{
    (void)state;
    det_engine *e = make(100, 16, 50);
    /* 400 junk names from 50 invented sensors. */
    char names[8][32];
    const char *p[8];
    for (int k = 0; k < 50; k++) {
        char id[16];
        snprintf(id, sizeof id, "j%d", k);
        for (int i = 0; i < 8; i++) {
            snprintf(names[i], sizeof names[i], "junk%d_%d", k, i);
            p[i] = names[i];
        }
        feed(e, id, k, p, 8, 1);
    }
    assert_true(model_slots_used(e) <= MAX_MODELS / 2);
    det_stats st;
    det_engine_stats(e, &st);
    assert_true(st.metrics_refused >= 400 - MAX_MODELS / 2);
    /* A real metric during a continuing flood of new names still gets a
     * slot once seen in 50 readings, and then learns and trains. */
    const char *t[] = {"temperature"};
    int k = 0;
    for (int r = 0; r < 200; r++) {
        feed(e, "real", 1000 + r, t, 1, 20);
        for (int i = 0; i < 8; i++) {
            snprintf(names[i], sizeof names[i], "flood%d", k++);
            p[i] = names[i];
        }
        feed(e, "j0", 1000 + r, p, 8, 1);
    }
    assert_true(has_stream(e, "real", "temperature"));
    assert_true(det_engine_model_version(e, "temperature") >= 0);
    assert_true(model_slots_used(e) <= MAX_MODELS / 2 + 1);
    det_engine_destroy(e);
}

static void test_file_names_and_load_order(void **state)
{
    (void)state;
    char out[3 * READING_NAME_MAX];
    assert_int_equal(det_limits_file_name("../../etc/passwd", out, sizeof out), 0);
    assert_null(strchr(out, '/'));
    assert_string_equal(out, "..%2F..%2Fetc%2Fpasswd");
    assert_int_equal(det_limits_file_name("temperature", out, sizeof out), 0);
    assert_string_equal(out, "temperature"); /* plain names keep their file names */
    assert_int_equal(det_limits_file_name("a/b", out, 4), -1);

    char dir[64], path[160];
    snprintf(dir, sizeof dir, "/tmp/test_det_limits.%d", (int)getpid());
    /* 32 little-used models whose names need escaping, then one much used
     * model: 33 files for 32 slots. */
    det_engine *e = make(1000, 16, 1);
    char name[32];
    const char *p[1] = {name};
    for (int m = 0; m < MAX_MODELS; m++) {
        snprintf(name, sizeof name, "j/%02d", m);
        for (int r = 0; r < 30; r++)
            feed(e, "junk", r, p, 1, m);
    }
    assert_int_equal(model_slots_used(e), MAX_MODELS);
    assert_int_equal(det_engine_save(e, dir), 0);
    det_engine_destroy(e);
    snprintf(path, sizeof path, "%s/forest-j%%2F00.bin", dir);
    assert_int_equal(access(path, F_OK), 0); /* escaped, inside dir */
    det_engine *g = make(1000, 16, 1);
    const char *t[] = {"temperature"};
    for (int r = 0; r < 400; r++)
        feed(g, "real", r, t, 1, 20);
    long ver = det_engine_model_version(g, "temperature");
    assert_true(ver >= 0);
    /* (overwrites sensors.bin: only the models matter here) */
    assert_int_equal(det_engine_save(g, dir), 0);
    det_engine_destroy(g);
    det_engine *h = make(1000, 16, 1);
    assert_true(det_engine_load(h, dir) >= 0);
    assert_int_equal(det_engine_model_version(h, "temperature"), ver);
    assert_int_equal(model_slots_used(h), MAX_MODELS);
    det_engine_destroy(h);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    log_init("test", LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sensor_lru),
        cmocka_unit_test(test_metric_lru),
        cmocka_unit_test(test_junk_metric_names),
        cmocka_unit_test(test_file_names_and_load_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
