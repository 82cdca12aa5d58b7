/* Unit tests for the simulator's configuration and output modules:
 * profile files (shipped and malformed), fleet specs, start dates, the
 * label JSON and the dataset CSV layout. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
// clang-format on

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "simulator/sim_clock.h"
#include "simulator/sim_csv.h"
#include "simulator/sim_fleet.h"
#include "simulator/sim_gen.h"
#include "simulator/sim_profile.h"

static const char *shipped = "services/simulator/profiles.json";

static void test_shipped_profiles(void **state)
{
    (void)state;
    sim_profile_set set;
    char err[256];
    if (sim_profiles_load(shipped, &set, err, sizeof err) != 0)
        fail_msg("%s", err);
    const char *need[] = {"office", "server_room", "outdoor_temperate", "outdoor_tropical",
                          "cold_store"};
    for (int i = 0; i < 5; i++)
        assert_true(sim_profiles_find(&set, need[i]) >= 0);
    assert_true(strlen(set.fleet) > 0);
    sim_fleet_entry e[SIM_FLEET_MAX];
    assert_true(sim_fleet_parse(set.fleet, &set, e, SIM_FLEET_MAX, err, sizeof err) >= 5);
    const sim_profile *p = &set.p[sim_profiles_find(&set, "cold_store")];
    assert_true(p->m[SIM_TEMPERATURE].base < -10);
    assert_true(p->m[SIM_TEMPERATURE].cycle_period_s > 0);
    assert_true(set.p[sim_profiles_find(&set, "outdoor_tropical")].latitude < 10);
    sim_profiles_free(&set);
}

/* Malformed documents fail with a message that names the problem. */
static void expect_error(const char *json, const char *needle)
{
    sim_profile_set set = {0};
    char err[256] = "";
    int rc = sim_profiles_parse(json, strlen(json), &set, err, sizeof err);
    if (rc != -1)
        fail_msg("accepted: %s", json);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not mention '%s'", err, needle);
    assert_null(set.p);
}

static void test_malformed_profiles(void **state)
{
    (void)state;
    expect_error("{\"profiles\": [", "invalid JSON at line 1");
    expect_error("[]", "top level");
    expect_error("{}", "'profiles' must be a non-empty array");
    expect_error("{\"profiles\": []}", "non-empty");
    expect_error("{\"profiles\": [{}]}", "profiles[0]: missing 'name'");
    expect_error("{\"profiles\": [42]}", "profiles[0]: must be an object");
    expect_error("{\"profiles\": [{\"name\": \"a b\"}]}", "may only hold");
    expect_error("{\"profiles\": [{\"name\": \"x\", \"intervall_s\": 60}]}",
                 "profile 'x': unknown key 'intervall_s'");
    expect_error("{\"profiles\": [{\"name\": \"x\", \"temperature\": {\"dialy_amp\": 1}}]}",
                 "profile 'x'.temperature: unknown key 'dialy_amp'");
    expect_error("{\"profiles\": [{\"name\": \"x\", \"temperature\": {\"base\": \"20\"}}]}",
                 "temperature.base: must be a number");
    expect_error("{\"profiles\": [{\"name\": \"x\", \"interval_s\": 0}]}",
                 "interval_s: 0 is outside");
    expect_error("{\"profiles\": [{\"name\": \"x\", \"interval_s\": 1.5}]}", "whole number");
    expect_error("{\"profiles\": [{\"name\": \"x\", \"latitude\": 91}]}", "latitude");
    expect_error("{\"profiles\": [{\"name\": \"x\", \"humidity\": {\"base\": 0}}]}",
                 "relative humidity");
    expect_error("{\"profiles\": [{\"name\": \"x\", \"humidity\": {\"follow\": 2}}]}", "follow");
    expect_error("{\"profiles\": [{\"name\": \"x\", \"pressure\": []}]}", "must be an object");
    expect_error("{\"profiles\": [{\"name\": \"x\"}, {\"name\": \"x\"}]}", "defined twice");
    expect_error("{\"profiles\": [{\"name\": \"x\"}, {\"name\": \"y\", \"id_prefix\": \"x\"}]}",
                 "share id_prefix");
    expect_error("{\"profiles\": [{\"name\": \"x\"}], \"fleet\": 3}", "'fleet' must be a string");
    expect_error("{\"profiles\": [{\"name\": \"x\"}], \"sensors\": 3}", "unknown top-level key");
    expect_error("{\"profiles\": [{\"name\": \"x\", \"name\": \"y\"}]}", "invalid JSON");

    /* Minimal valid profile: defaults fill the rest. */
    const char *ok = "{\"profiles\": [{\"name\": \"x\"}]}";
    sim_profile_set set;
    char err[256];
    assert_int_equal(sim_profiles_parse(ok, strlen(ok), &set, err, sizeof err), 0);
    assert_int_equal(set.n, 1);
    assert_string_equal(set.p[0].id_prefix, "x");
    assert_true(set.p[0].interval_s == 60);
    assert_true(set.p[0].m[SIM_PRESSURE].base == 1013.25);
    sim_profiles_free(&set);
}

static void test_profile_file_errors(void **state)
{
    (void)state;
    sim_profile_set set = {0};
    char err[256];
    assert_int_equal(sim_profiles_load("/nonexistent/profiles.json", &set, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/profiles.json"));
    char path[] = "/tmp/simprof.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *bad = "{\"profiles\": [{\"name\": \"x\",\n \"noise\": 1}]}";
    assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    assert_int_equal(sim_profiles_load(path, &set, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "unknown key 'noise'"));
    unlink(path);
}

static void test_fleet_spec(void **state)
{
    (void)state;
    sim_profile_set set;
    char err[256];
    assert_int_equal(sim_profiles_load(shipped, &set, err, sizeof err), 0);
    sim_fleet_entry e[4];
    assert_int_equal(
        sim_fleet_parse("office:3, server_room , cold_store:0", &set, e, 4, err, sizeof err), 3);
    assert_int_equal(e[0].count, 3);
    assert_int_equal(e[1].count, 1);
    assert_int_equal(e[2].count, 0);
    assert_int_equal(sim_fleet_parse("ofice:3", &set, e, 4, err, sizeof err), -1);
    assert_non_null(strstr(err, "no such profile"));
    assert_int_equal(sim_fleet_parse("office:x", &set, e, 4, err, sizeof err), -1);
    assert_int_equal(sim_fleet_parse("office:-1", &set, e, 4, err, sizeof err), -1);
    assert_int_equal(sim_fleet_parse("", &set, e, 4, err, sizeof err), -1);
    assert_int_equal(sim_fleet_parse("a,b,c,d,e", &set, e, 4, err, sizeof err), -1);

    /* Scaling keeps proportions and hits the total exactly. */
    sim_fleet_entry f[3] = {{0, 3}, {1, 1}, {2, 2}};
    assert_int_equal(sim_fleet_scale(f, 3, 10000), 10000);
    assert_int_equal(f[0].count + f[1].count + f[2].count, 10000);
    assert_int_equal(f[0].count, 5000);
    assert_true(f[1].count == 1667 || f[1].count == 1666);
    sim_fleet_entry g[2] = {{0, 1}, {1, 1}};
    assert_int_equal(sim_fleet_scale(g, 2, 3), 3);
    assert_int_equal(g[0].count, 2); /* tie: the earlier entry */

    /* Ids are stable: <prefix>-NNNN per profile. */
    sim_fleet fl;
    sim_fleet_entry h[2] = {{sim_profiles_find(&set, "office"), 2},
                            {sim_profiles_find(&set, "cold_store"), 1}};
    assert_int_equal(sim_fleet_init(&fl, &set, h, 2, 1, 1735689600, INFINITY, NULL), 0);
    assert_int_equal(fl.n, 3);
    assert_string_equal(fl.s[0].id, "office-0001");
    assert_string_equal(fl.s[1].id, "office-0002");
    assert_string_equal(fl.s[2].id, "cold_store-0001");
    for (int i = 0; i < 3; i++)
        assert_true(sensor_id_valid(fl.s[i].id));
    sim_fleet_free(&fl);
    sim_profiles_free(&set);
}

static void test_parse_time(void **state)
{
    (void)state;
    double t;
    assert_int_equal(sim_parse_time("2025-01-01", &t), 0);
    assert_true(t == 1735689600.0);
    assert_int_equal(sim_parse_time("2025-01-01T06:30:00Z", &t), 0);
    assert_true(t == 1735689600.0 + 6.5 * 3600);
    assert_int_equal(sim_parse_time("2025-01-01 06:30:00", &t), 0);
    assert_true(t == 1735689600.0 + 6.5 * 3600);
    assert_int_equal(sim_parse_time("2025-01-01T06:30:00+02:00", &t), 0);
    assert_true(t == 1735689600.0 + 4.5 * 3600);
    assert_int_equal(sim_parse_time("1735689600", &t), 0);
    assert_true(t == 1735689600.0);
    assert_int_equal(sim_parse_time("now", &t), 0);
    assert_true(fabs(t - clock_wall()) < 5);
    assert_int_equal(sim_parse_time("yesterday", &t), -1);
    assert_int_equal(sim_parse_time("2025-13-45", &t), -1);
    assert_int_equal(sim_parse_time("2025-01-01Tjunk", &t), -1);
    assert_int_equal(sim_parse_time("", &t), -1);
    char buf[32];
    sim_csv_format_ts(1735689600.0 + 3661, buf, sizeof buf);
    assert_string_equal(buf, "2025-01-01 01:01:01");
}

static void test_clock_and_bucket(void **state)
{
    (void)state;
    sim_clock c;
    sim_clock_start(&c, 1000.0, 1440);
    double now = sim_clock_now(&c);
    assert_true(now >= 1000.0 && now < 1000.0 + 1440 * 0.5);
    /* A reading one simulated minute ahead is due in 60/1440 s. */
    double w = sim_clock_wait_s(&c, 1060.0);
    assert_true(w > 0.02 && w <= 60.0 / 1440 + 1e-9);
    sim_clock_start(&c, 1000.0, 0);
    assert_true(sim_clock_wait_s(&c, 1e12) <= 0);
    /* Bucket: 100/s allows a burst of 10, then asks to wait ~10 ms. */
    sim_bucket b;
    sim_bucket_init(&b, 100);
    int ok = 0;
    for (int i = 0; i < 50; i++)
        ok += sim_bucket_take(&b) == 0;
    assert_true(ok >= 10 && ok <= 12);
    double wait = sim_bucket_take(&b);
    assert_true(wait > 0 && wait <= 0.011);
    sim_bucket_init(&b, 0);
    for (int i = 0; i < 1000; i++)
        assert_true(sim_bucket_take(&b) == 0);
}

static void test_label_json(void **state)
{
    (void)state;
    sim_label l = {0};
    strcpy(l.id, "office-0001-e00003");
    strcpy(l.sensor_id, "office-0001");
    l.subtype = SIM_SUB_LEVEL_SHIFT;
    l.metric = SIM_HUMIDITY;
    l.start_ts = 1735995416.5;
    l.end_ts = 1736000000.0;
    l.nsamples = 77;
    l.magnitude = -3.25;
    char buf[512];
    int n = sim_label_encode_json(&l, buf, sizeof buf);
    assert_true(n > 0);
    json_error_t jerr;
    json_t *o = json_loads(buf, 0, &jerr);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "id")), "office-0001-e00003");
    assert_string_equal(json_string_value(json_object_get(o, "type")), "change_point");
    assert_string_equal(json_string_value(json_object_get(o, "subtype")), "level_shift");
    assert_string_equal(json_string_value(json_object_get(o, "metric")), "humidity");
    assert_true(json_number_value(json_object_get(o, "start_ts")) == 1735995416.5);
    assert_true(json_number_value(json_object_get(o, "end_ts")) == 1736000000.0);
    assert_int_equal(json_integer_value(json_object_get(o, "nsamples")), 77);
    assert_true(json_number_value(json_object_get(o, "magnitude")) == -3.25);
    json_decref(o);
    assert_int_equal(sim_label_encode_json(&l, buf, 20), -1);
}

/* Count lines of a file; return the first line in `first`. */
static int read_lines(const char *path, char *first, size_t cap, int *empty_cells)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (n == 0 && first)
            snprintf(first, cap, "%s", line);
        if (empty_cells && (strstr(line, ",,") || line[strlen(line) - 2] == ','))
            (*empty_cells)++;
        n++;
    }
    fclose(f);
    return n;
}

/* Dataset mode: the directory layout has one file per sensor with the
 * documented header and one row per reading; labels.csv and windows.json
 * hold every event; the single-file layout has the same data. */
static void test_csv_dataset(void **state)
{
    (void)state;
    sim_profile_set set;
    char err[256];
    assert_int_equal(sim_profiles_load(shipped, &set, err, sizeof err), 0);
    sim_anomaly_cfg acfg;
    sim_anomaly_defaults(&acfg);
    assert_int_equal(sim_anomaly_mix_parse("dropout:1,spike:1", &acfg, err, sizeof err), 0);
    acfg.rate_per_day = 10;
    acfg.warmup_readings = 10;
    sim_fleet_entry e[2] = {{sim_profiles_find(&set, "office"), 2},
                            {sim_profiles_find(&set, "outdoor_tropical"), 1}};
    double start = 1735689600.0, stop = start + 2 * 86400.0;
    char dir[] = "/tmp/simcsv.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512], first[512];

    sim_fleet f;
    assert_int_equal(sim_fleet_init(&f, &set, e, 2, 5, start, stop, &acfg), 0);
    sim_csv *w;
    snprintf(path, sizeof path, "%s/ds", dir);
    assert_int_equal(sim_csv_open(&w, path, err, sizeof err), 0);
    assert_int_equal(sim_csv_single(w), 0);
    unsigned long long nr, nl;
    assert_int_equal(sim_csv_write_fleet(w, &f, &nr, &nl, err, sizeof err), 0);
    assert_int_equal(sim_csv_close(w, err, sizeof err), 0);
    sim_fleet_free(&f);
    assert_true(nr == 2 * 2880 + 1440);
    assert_true(nl > 20);

    int empty = 0;
    snprintf(path, sizeof path, "%s/ds/office-0001.csv", dir);
    assert_int_equal(read_lines(path, first, sizeof first, &empty), 2881);
    assert_string_equal(first, "timestamp,temperature,humidity,pressure\n");
    snprintf(path, sizeof path, "%s/ds/outdoor_tropical-0001.csv", dir);
    assert_int_equal(read_lines(path, NULL, 0, &empty), 1441);
    snprintf(path, sizeof path, "%s/ds/office-0002.csv", dir);
    assert_int_equal(read_lines(path, NULL, 0, &empty), 2881);
    snprintf(path, sizeof path, "%s/ds/labels.csv", dir);
    assert_int_equal(read_lines(path, first, sizeof first, NULL), (int)nl + 1);
    assert_string_equal(first, SIM_CSV_LABEL_HEADER "\n");
    assert_true(empty > 5); /* dropouts leave empty cells */

    snprintf(path, sizeof path, "%s/ds/windows.json", dir);
    json_error_t jerr;
    json_t *win = json_load_file(path, 0, &jerr);
    assert_non_null(win);
    size_t nwin = 0;
    const char *key;
    json_t *arr;
    json_object_foreach(win, key, arr)
    {
        if (!strchr(key, '/'))
            nwin += json_array_size(arr);
    }
    assert_int_equal(nwin, nl);
    assert_non_null(json_object_get(win, "office-0001.csv"));
    /* NAB-style alias "<dir>/<file>.csv" with the same windows */
    assert_true(json_equal(json_object_get(win, "ds/office-0001.csv"),
                           json_object_get(win, "office-0001.csv")));
    json_decref(win);

    /* Single file, same seed: the same rows (with a sensor_id column). */
    assert_int_equal(sim_fleet_init(&f, &set, e, 2, 5, start, stop, &acfg), 0);
    snprintf(path, sizeof path, "%s/all.csv", dir);
    assert_int_equal(sim_csv_open(&w, path, err, sizeof err), 0);
    assert_int_equal(sim_csv_single(w), 1);
    unsigned long long nr2, nl2;
    assert_int_equal(sim_csv_write_fleet(w, &f, &nr2, &nl2, err, sizeof err), 0);
    assert_int_equal(sim_csv_close(w, err, sizeof err), 0);
    sim_fleet_free(&f);
    assert_true(nr2 == nr && nl2 == nl);
    assert_int_equal(read_lines(path, first, sizeof first, NULL), (int)nr + 1);
    assert_string_equal(first, "sensor_id,timestamp,temperature,humidity,pressure\n");
    snprintf(path, sizeof path, "%s/all.labels.csv", dir);
    assert_int_equal(read_lines(path, NULL, 0, NULL), (int)nl + 1);

    /* Office-0001's rows in all.csv equal office-0001.csv's rows. */
    char a[512], b[512];
    snprintf(path, sizeof path, "%s/all.csv", dir);
    FILE *fa = fopen(path, "r");
    snprintf(path, sizeof path, "%s/ds/office-0001.csv", dir);
    FILE *fb = fopen(path, "r");
    assert_non_null(fa);
    assert_non_null(fb);
    assert_non_null(fgets(b, sizeof b, fb)); /* header */
    int matched = 0;
    while (fgets(a, sizeof a, fa)) {
        if (strncmp(a, "office-0001,", 12) != 0)
            continue;
        assert_non_null(fgets(b, sizeof b, fb));
        assert_string_equal(a + 12, b);
        matched++;
    }
    assert_int_equal(matched, 2880);
    fclose(fa);
    fclose(fb);

    /* Unwritable destination: a clear error. */
    assert_int_equal(sim_csv_open(&w, "/proc/nope/x.csv", err, sizeof err), -1);
    assert_non_null(strstr(err, "/proc/nope/x.csv"));

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    sim_profiles_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_profiles),    cmocka_unit_test(test_malformed_profiles),
        cmocka_unit_test(test_profile_file_errors), cmocka_unit_test(test_fleet_spec),
        cmocka_unit_test(test_parse_time),          cmocka_unit_test(test_clock_and_bucket),
        cmocka_unit_test(test_label_json),          cmocka_unit_test(test_csv_dataset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
