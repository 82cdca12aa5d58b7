/* Isolation Forest against its definition: c(n), score bounds, outliers
 * above inliers, determinism by seed, batch = single, explanations, and
 * the model file (round trip bit-exact, corruption rejected). */
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
#include <unistd.h>

#include "model/iforest.h"

#define N 2000
#define DIM 3

/* Deterministic Gaussian-ish data (sum of uniforms), independent of libc rand. */
static uint64_t st = 12345;
static double unif(void)
{
    st = st * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(st >> 11) * 0x1.0p-53;
}
static double gauss(void)
{
    double s = 0;
    for (int k = 0; k < 12; k++)
        s += unif();
    return s - 6.0;
}
static float *make_data(size_t n, int dim)
{
    float *x = malloc(n * (size_t)dim * sizeof(float));
    assert_non_null(x);
    for (size_t k = 0; k < n * (size_t)dim; k++)
        x[k] = (float)gauss();
    return x;
}

static void test_c_values(void **state)
{
    (void)state;
    const double g = 0.5772156649015329;
    assert_true(iforest_c(0) == 0.0);
    assert_true(iforest_c(1) == 0.0);
    assert_true(iforest_c(2) == 1.0);
    assert_true(fabs(iforest_c(3) - (2 * (log(2) + g) - 4.0 / 3.0)) < 1e-12);
    /* c(256) = 2 (ln 255 + gamma) - 2*255/256 ~= 10.2448 */
    assert_true(fabs(iforest_c(256) - 10.244770920116851) < 1e-9);
    /* c grows like 2 ln n */
    assert_true(iforest_c(1024) > iforest_c(256));
}

static void test_score_bounds_and_outlier(void **state)
{
    (void)state;
    float *x = make_data(N, DIM);
    iforest *f = NULL;
    assert_int_equal(iforest_train(&f, NULL, x, N, DIM), 0);
    assert_int_equal(iforest_ntrees(f), 100);
    assert_int_equal(iforest_psi(f), 256);
    assert_int_equal(iforest_depth(f), 8);
    double mean = 0;
    for (size_t i = 0; i < N; i++) {
        double s = iforest_score(f, x + i * DIM);
        assert_true(s > 0.0 && s <= 1.0);
        mean += s;
    }
    mean /= N;
    assert_true(mean < 0.5);
    float out[DIM] = {8.0f, 0.0f, 0.0f};
    double so = iforest_score(f, out);
    assert_true(so > 0.55); /* scikit-learn gives 0.58 here */
    assert_true(so > mean + 0.12);
    float centre[DIM] = {0, 0, 0};
    assert_true(iforest_score(f, centre) < 0.45);
    /* An absurd value is still within bounds. */
    float absurd[DIM] = {1e30f, -1e30f, 0};
    double sa = iforest_score(f, absurd);
    assert_true(sa > 0.6 && sa <= 1.0);
    iforest_destroy(f);
    free(x);
}

static void test_determinism(void **state)
{
    (void)state;
    float *x = make_data(N, DIM);
    iforest_params p;
    iforest_params_default(&p);
    p.seed = 42;
    iforest *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(iforest_train(&a, &p, x, N, DIM), 0);
    assert_int_equal(iforest_train(&b, &p, x, N, DIM), 0);
    p.seed = 43;
    assert_int_equal(iforest_train(&c, &p, x, N, DIM), 0);
    assert_true(iforest_equal(a, b));
    assert_false(iforest_equal(a, c));
    float q[DIM] = {1.5f, -0.3f, 2.0f};
    assert_true(iforest_score(a, q) == iforest_score(b, q));
    iforest_destroy(a);
    iforest_destroy(b);
    iforest_destroy(c);
    free(x);
}

static void test_batch_equals_single(void **state)
{
    (void)state;
    float *x = make_data(N, DIM);
    iforest_params p;
    iforest_params_default(&p);
    p.ntrees = 37; /* not a multiple of the interleave width */
    iforest *f = NULL;
    assert_int_equal(iforest_train(&f, &p, x, N, DIM), 0);
    double *s = malloc(N * sizeof(double));
    assert_non_null(s);
    iforest_score_batch(f, x, N - 3, s); /* not a multiple of the block */
    for (size_t i = 0; i < N - 3; i++)
        assert_true(s[i] == iforest_score(f, x + i * DIM));
    free(s);
    iforest_destroy(f);
    free(x);
}

static void test_small_sample_and_params(void **state)
{
    (void)state;
    float *x = make_data(50, DIM);
    iforest *f = NULL;
    assert_int_equal(iforest_train(&f, NULL, x, 50, DIM), 0);
    assert_int_equal(iforest_psi(f), 50); /* n < psi: all points */
    float q[DIM] = {0, 0, 0};
    double s = iforest_score(f, q);
    assert_true(s > 0.0 && s <= 1.0);
    iforest_destroy(f);
    /* constant data cannot be split: every path is c(n), score 0.5 */
    float cst[20 * DIM];
    for (int k = 0; k < 20 * DIM; k++)
        cst[k] = 1.0f;
    assert_int_equal(iforest_train(&f, NULL, cst, 20, DIM), 0);
    assert_true(fabs(iforest_score(f, q) - 0.5) < 1e-6);
    iforest_destroy(f);
    /* invalid arguments */
    assert_int_equal(iforest_train(&f, NULL, x, 1, DIM), IFOREST_ERR_ARG);
    assert_int_equal(iforest_train(&f, NULL, x, 50, 0), IFOREST_ERR_ARG);
    assert_int_equal(iforest_train(&f, NULL, x, 50, IFOREST_MAX_DIM + 1), IFOREST_ERR_ARG);
    x[7] = NAN;
    assert_int_equal(iforest_train(&f, NULL, x, 50, DIM), IFOREST_ERR_ARG);
    assert_null(f);
    free(x);
}

static void test_explain(void **state)
{
    (void)state;
    float *x = make_data(N, DIM);
    iforest *f = NULL;
    assert_int_equal(iforest_train(&f, NULL, x, N, DIM), 0);
    float q[DIM] = {0.0f, 9.0f, 0.1f}; /* outlying in feature 1 only */
    double contrib[DIM], splits, normal;
    double s = iforest_explain(f, q, contrib, &splits, &normal);
    assert_true(s == iforest_score(f, q));
    assert_true(contrib[1] > contrib[0] && contrib[1] > contrib[2]);
    assert_true(fabs(contrib[0] + contrib[1] + contrib[2] - 1.0) < 1e-9);
    assert_true(splits < 0.75 * normal);
    assert_true(fabs(normal - iforest_c(256)) < 1e-12);
    float c0[DIM] = {0, 0, 0};
    double splits0;
    iforest_explain(f, c0, NULL, &splits0, NULL);
    assert_true(splits0 > splits + 1);
    iforest_destroy(f);
    free(x);
}

static char *tmpname(void)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/test_iforest.%d.bin", (int)getpid());
    return path;
}

static void test_save_load(void **state)
{
    (void)state;
    float *x = make_data(N, DIM);
    iforest *f = NULL, *g = NULL;
    assert_int_equal(iforest_train(&f, NULL, x, N, DIM), 0);
    const char *path = tmpname();
    assert_int_equal(iforest_save(f, path), 0);
    assert_int_equal(iforest_load(&g, path), 0);
    assert_true(iforest_equal(f, g));
    for (size_t i = 0; i < 100; i++)
        assert_true(iforest_score(f, x + i * DIM) == iforest_score(g, x + i * DIM));
    iforest_destroy(g);
    g = NULL;

    /* corrupt one byte in the body: checksum mismatch */
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, 1000, SEEK_SET);
    int ch = fgetc(fp);
    fseek(fp, 1000, SEEK_SET);
    fputc(ch ^ 0x40, fp);
    fclose(fp);
    assert_int_equal(iforest_load(&g, path), IFOREST_ERR_CHECKSUM);
    assert_null(g);

    /* wrong magic */
    assert_int_equal(iforest_save(f, path), 0);
    fp = fopen(path, "r+b");
    fputc('X', fp);
    fclose(fp);
    assert_int_equal(iforest_load(&g, path), IFOREST_ERR_FORMAT);

    /* truncated */
    assert_int_equal(iforest_save(f, path), 0);
    assert_int_equal(truncate(path, 500), 0);
    assert_int_equal(iforest_load(&g, path), IFOREST_ERR_IO);

    /* missing */
    unlink(path);
    assert_int_equal(iforest_load(&g, path), IFOREST_ERR_IO);
    iforest_destroy(f);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c_values),
        cmocka_unit_test(test_score_bounds_and_outlier),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_batch_equals_single),
        cmocka_unit_test(test_small_sample_and_params),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_save_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
