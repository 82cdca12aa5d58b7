/*
 * Detector speed and memory benchmark (built by bench/detector.sh against
 * build/libcommon.a and the detector's engine).
 *
 *   speed OUTDIR [SENSORS]     (SENSORS for the memory figure, 10000)
 *
 * 1. Builds realistic feature vectors: 64 sensors with a daily cycle and
 *    noise, 5-minute readings, through tsfeatures (as the detector does).
 * 2. forest_rate: iforest_score per reading on those precomputed vectors,
 *    100 trees, psi 256, one core (plus the batch variant).
 * 3. pipeline_metric_rate: det_engine_process (features + scoring +
 *    classification + state lookup) on single-metric readings of 1000
 *    warmed-up sensors; pipeline_rate: the same on readings of three
 *    metrics (as the simulator sends them), counted per reading; latency:
 *    p50/p99 of single calls on three-metric readings.
 * 4. bytes_per_sensor: resident memory added by SENSORS sensors with three
 *    metrics each, default engine, each fed past its warm-up (301
 *    readings), divided by SENSORS.
 * Writes OUTDIR/train.f32 and OUTDIR/test.f32 (raw float32, dim in
 * OUTDIR/dim) so scikit-learn scores the very same data.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "det_engine.h"
#include "model/iforest.h"
#include "model/tsfeatures.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t rs = 88172645463325252ULL;
static double unif(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) * 0x1.0p-53;
}
static double gauss(void)
{
    double u = unif() + 1e-12, v = unif();
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static double signal(int sensor, double ts)
{
    double h = fmod(ts, 86400.0) / 3600.0;
    return 20.0 + sensor * 0.1 + 2.5 * cos((h - 15.0) / 24.0 * 2 * M_PI) + 0.2 * gauss() +
           (unif() < 0.001 ? 8.0 * (unif() < 0.5 ? -1 : 1) : 0.0);
}

/* A reading of three metrics as the simulator sends them. */
static void set3(reading *r, int sensor, double ts)
{
    double h = fmod(ts, 86400.0) / 3600.0;
    r->ts = ts;
    r->m[0].value = signal(sensor, ts);
    r->m[1].value = 45.0 - 8.0 * cos((h - 15.0) / 24.0 * 2 * M_PI) + 0.5 * gauss();
    r->m[2].value = 1005.0 + sensor * 0.01 + 0.3 * gauss();
}

static long rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = -1;
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    const int mem_sensors = argc > 2 ? atoi(argv[2]) : 10000;
    if (mem_sensors <= 0) {
        fprintf(stderr, "usage: speed OUTDIR [SENSORS]\n");
        return 2;
    }
    const int S = 64, PER = 4000; /* 64 sensors x 4000 readings (~14 days each) */
    tsfeatures_params fp;
    tsfeatures_params_default(&fp);
    const int dim = tsfeatures_dim(&fp);
    size_t n = (size_t)S * PER;
    float *vec = malloc(n * dim * sizeof(float));
    tsfeatures_state *st = calloc(S, sizeof(*st));
    double *scores = malloc(n * sizeof(double));
    if (!vec || !st || !scores)
        return 1;
    const double T0 = 1735689600.0;
    for (int s = 0; s < S; s++)
        tsfeatures_init(&st[s]);
    size_t k = 0;
    for (int i = 0; i < PER; i++)
        for (int s = 0; s < S; s++, k++) {
            double ts = T0 + i * 300.0, x = signal(s, ts);
            tsfeatures_compute(&fp, &st[s], ts, x, vec + k * dim, NULL);
            tsfeatures_update(&fp, &st[s], ts, x, 1);
        }
    /* Train on 4096 vectors from the second day on (as the detector's pool). */
    size_t train_n = 4096, off = (size_t)S * 400;
    iforest *f = NULL;
    if (iforest_train(&f, NULL, vec + off * dim, train_n, dim) != 0)
        return 1;
    char path[4096];
    snprintf(path, sizeof(path), "%s/train.f32", dir);
    FILE *o = fopen(path, "wb");
    fwrite(vec + off * dim, sizeof(float), train_n * dim, o);
    fclose(o);
    size_t test_n = n - off;
    snprintf(path, sizeof(path), "%s/test.f32", dir);
    o = fopen(path, "wb");
    fwrite(vec + off * dim, sizeof(float), test_n * dim, o);
    fclose(o);
    snprintf(path, sizeof(path), "%s/dim", dir);
    o = fopen(path, "w");
    fprintf(o, "%d\n", dim);
    fclose(o);

    /* forest alone, one reading at a time */
    double best = 1e30, sum = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        for (size_t i = 0; i < test_n; i++)
            sum += iforest_score(f, vec + (off + i) * dim);
        double dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    printf("bench: detector.forest_rate %.0f readings/s\n", test_n / best);
    best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        iforest_score_batch(f, vec + off * dim, test_n, scores);
        double dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    printf("bench: detector.forest_batch_rate %.0f readings/s\n", test_n / best);
    printf("bench: detector.forest_bytes %zu bytes\n", iforest_bytes(f));
    fprintf(stderr, "(checksum %.3f)\n", sum);

    /* full pipeline through the engine: 1000 warmed-up sensors */
    det_config cfg;
    det_config_default(&cfg);
    det_engine *e = NULL;
    if (det_engine_create(&e, &cfg) != 0)
        return 1;
    const int ES = 1000, WARM = 400, RUN = 300;
    reading r;
    anomaly alerts[8];
    memset(&r, 0, sizeof(r));
    r.n = 1;
    snprintf(r.m[0].name, sizeof(r.m[0].name), "temperature");
    char ids[1000][16];
    for (int s = 0; s < ES; s++)
        snprintf(ids[s], sizeof(ids[s]), "bench-%04d", s);
    for (int i = 0; i < WARM; i++)
        for (int s = 0; s < ES; s++) {
            memcpy(r.sensor_id, ids[s], sizeof(ids[s]));
            r.ts = T0 + i * 300.0;
            r.m[0].value = signal(s, r.ts);
            det_engine_process(e, &r, NULL, alerts, 8);
        }
    double t0 = now();
    for (int i = WARM; i < WARM + RUN; i++)
        for (int s = 0; s < ES; s++) {
            memcpy(r.sensor_id, ids[s], sizeof(ids[s]));
            r.ts = T0 + i * 300.0;
            r.m[0].value = signal(s, r.ts);
            det_engine_process(e, &r, NULL, alerts, 8);
        }
    double dt = now() - t0;
    printf("bench: detector.pipeline_metric_rate %.0f values/s\n", (double)ES * RUN / dt);
    det_engine_destroy(e);

    /* The same with readings as the simulator sends them: three metrics
     * (temperature, humidity, pressure) per reading; rate and latency per
     * reading. */
    if (det_engine_create(&e, &cfg) != 0)
        return 1;
    r.n = 3;
    snprintf(r.m[1].name, sizeof(r.m[1].name), "humidity");
    snprintf(r.m[2].name, sizeof(r.m[2].name), "pressure");
    for (int i = 0; i < WARM; i++)
        for (int s = 0; s < ES; s++) {
            memcpy(r.sensor_id, ids[s], sizeof(ids[s]));
            set3(&r, s, T0 + i * 300.0);
            det_engine_process(e, &r, NULL, alerts, 8);
        }
    t0 = now();
    for (int i = WARM; i < WARM + RUN; i++)
        for (int s = 0; s < ES; s++) {
            memcpy(r.sensor_id, ids[s], sizeof(ids[s]));
            set3(&r, s, T0 + i * 300.0);
            det_engine_process(e, &r, NULL, alerts, 8);
        }
    dt = now() - t0;
    printf("bench: detector.pipeline_rate %.0f readings/s\n", (double)ES * RUN / dt);
    double *lat = malloc((size_t)ES * RUN * sizeof(double));
    size_t li = 0;
    for (int i = WARM + RUN; i < WARM + 2 * RUN; i++)
        for (int s = 0; s < ES; s++) {
            memcpy(r.sensor_id, ids[s], sizeof(ids[s]));
            set3(&r, s, T0 + i * 300.0);
            double a = now();
            det_engine_process(e, &r, NULL, alerts, 8);
            lat[li++] = (now() - a) * 1e6;
        }
    qsort(lat, li, sizeof(double), cmpd);
    printf("bench: detector.latency_us %.2f us_p99\n", lat[(size_t)(li * 0.99)]);
    printf("bench: detector.latency_p50_us %.2f us\n", lat[li / 2]);
    det_stats ds;
    det_engine_stats(e, &ds);
    fprintf(stderr, "(pipeline: %llu scored, %llu anomalies)\n", (unsigned long long)ds.scored,
            (unsigned long long)ds.anomalies);
    det_engine_destroy(e);
    free(lat);

    /* memory: MS sensors x 3 metrics, default engine, each fed past its
     * warm-up (cfg.warmup + 1 readings, 5 minutes apart): RSS after minus
     * RSS before, over MS. Includes the three forests and training pools
     * (about 1 MiB, shared by all sensors). */
    const int MS = mem_sensors;
    long before = rss_bytes();
    if (det_engine_create(&e, &cfg) != 0)
        return 1;
    for (int i = 0; i <= cfg.warmup; i++)
        for (int s = 0; s < MS; s++) {
            snprintf(r.sensor_id, sizeof(r.sensor_id), "mem-%06d", s);
            set3(&r, s, T0 + i * 300.0);
            det_engine_process(e, &r, NULL, alerts, 8);
        }
    long after = rss_bytes();
    int scored = det_engine_is_scored(e, "mem-000000", "humidity");
    printf("bench: detector.bytes_per_sensor %.0f bytes\n", (double)(after - before) / MS);
    printf("bench: detector.rss_sensors %.1f MiB\n", (after - before) / 1048576.0);
    printf("bench: detector.engine_bytes_per_sensor %.0f bytes\n", (double)det_engine_bytes(e) / MS);
    fprintf(stderr, "(memory: %d sensors x 3 metrics, %d readings each, past warm-up: %s)\n", MS,
            cfg.warmup + 1, scored ? "yes" : "NO");
    det_engine_destroy(e);
    iforest_destroy(f);
    free(vec);
    free(st);
    free(scores);
    return 0;
}
