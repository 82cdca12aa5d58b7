/* Unit tests for the compact explanations on chain (eth/expl_codec.h):
 * the texts come from the detector's own code (det_explain.c's functions
 * with a trained forest and without, det_fleet.c's suffix, det_multi's
 * formats through the engine is not reachable here: see the multi test),
 * over thousands of random values, units and times; each must be stored
 * as a template (not raw) and come back byte for byte, through the codec
 * and through a whole AnomalyLogger record. Then garbage: errors, never a
 * crash. */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
// clang-format on

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/splitmix64.h"
#include "detector/det_internal.h"
#include "eth/anomaly_log.h"
#include "eth/expl_codec.h"
#include "model/iforest.h"

static uint64_t rng = 42;
static double uni(void)
{
    return (double)(splitmix64_next(&rng) >> 11) / 9007199254740992.0;
}

/* A value of a random magnitude (1e-3 .. 1e5), either sign. */
static double any_value(void)
{
    double v = pow(10.0, -3.0 + 8.0 * uni()) * (uni() < 0.2 ? -1 : 1);
    return uni() < 0.05 ? 0.0 : v;
}

static const char *const units[] = {"", "degC", "%RH", "hPa", "°C", "m/s", "ppm", "W"};
static const char *const metrics[] = {"temperature", "humidity", "pressure", "co2", "x"};

static int n_template, n_total;
static size_t bytes_text, bytes_coded;

/* The text of a must be stored as a template and come back exactly, alone
 * and inside a record. */
static void check(const anomaly *a, int must_be_template)
{
    uint8_t enc[600], rec[ANOMALY_LOG_RECORD_MAX];
    char back[ANOMALY_EXPLANATION_MAX];
    int64_t ts_ms = llround(a->ts * 1000.0);
    int n = expl_codec_encode(a->explanation, a->metric, ts_ms, enc, sizeof enc);
    assert_true(n >= 0);
    n_total++;
    if (n > 0 && enc[0] == EXPL_CODEC_TEMPLATE)
        n_template++;
    else if (must_be_template)
        fail_msg("no template for \"%s\"", a->explanation);
    bytes_text += strlen(a->explanation);
    bytes_coded += (size_t)n;
    assert_int_equal(expl_codec_decode(enc, (size_t)n, a->metric, ts_ms, back, sizeof back),
                     (int)strlen(a->explanation));
    assert_string_equal(back, a->explanation);
    /* the same through a whole record */
    anomaly b;
    int rl = anomaly_log_encode_record(a, rec, sizeof rec);
    assert_true(rl > 0);
    assert_int_equal(anomaly_log_decode_record(rec, (size_t)rl, &b), 0);
    assert_string_equal(b.explanation, a->explanation);
    assert_string_equal(b.id, a->id);
    /* truncated parameters never decode, and never crash */
    for (int k = 1; k < n; k++)
        (void)expl_codec_decode(enc, (size_t)k, a->metric, ts_ms, back, sizeof back);
    if (n > 2 && enc[0] == EXPL_CODEC_TEMPLATE)
        assert_int_equal(expl_codec_decode(enc, (size_t)n - 1, a->metric, ts_ms, back, sizeof back),
                         -1);
}

static det_engine *engine(void)
{
    det_config c;
    det_config_default(&c);
    det_engine *e = NULL;
    assert_int_equal(det_engine_create(&e, &c), 0);
    return e;
}

/* A model of dimension e->dim, with a forest trained on noise or none. */
static void model(det_model *md, const det_engine *e, const char *metric, const char *unit,
                  int forest)
{
    memset(md, 0, sizeof *md);
    snprintf(md->metric, sizeof md->metric, "%s", metric);
    snprintf(md->unit, sizeof md->unit, "%s", unit);
    if (forest) {
        float x[256 * TSFEATURES_MAX_DIM];
        for (int i = 0; i < 256 * e->dim; i++)
            x[i] = (float)(uni() * 2 - 1);
        assert_int_equal(iforest_train(&md->forest, NULL, x, 256, e->dim), 0);
    }
}

static det_pending pending(const det_engine *e)
{
    det_pending p;
    memset(&p, 0, sizeof p);
    p.ts = 1764000000.0 + uni() * 86400.0 * 30;
    p.value = any_value();
    p.expected = p.value + any_value();
    p.sd = fabs(any_value()) / 3 + 0.01;
    p.score = 0.55 + 0.45 * uni();
    p.day_lo = p.expected - fabs(any_value());
    p.day_hi = p.expected + fabs(any_value());
    for (int j = 0; j < e->dim; j++)
        p.vec[j] = (float)(uni() * 8 - 4);
    p.version = 3;
    return p;
}

/* Every det_explain.c function, with and without a forest, over random values. */
static void test_det_explain_round_trip(void **state)
{
    (void)state;
    det_engine *e = engine();
    for (int round = 0; round < 400; round++) {
        det_model md;
        const char *metric = metrics[round % 5], *unit = units[round % 8];
        model(&md, e, metric, unit, round % 2);
        det_pending p = pending(e);
        anomaly a;
        static const char *const extras[] = {NULL, " (a value no working sensor reports)"};

        det_alert_fill(&a, "room-1", metric, ANOMALY_POINT, &p);
        det_explain_point(e, &md, &a, &p, extras[round % 3 == 0]);
        anomaly_make_id(&a);
        check(&a, 1);

        det_alert_fill(&a, "room-1", metric, ANOMALY_CONTEXTUAL, &p);
        det_explain_context(e, &md, &a, &p);
        anomaly_make_id(&a);
        check(&a, 1);

        for (int ch = CH_SHIFT; ch <= CH_SPREAD; ch++) {
            det_alert_fill(&a, "room-1", metric, ANOMALY_CHANGE_POINT, &p);
            det_explain_change_start(e, &md, &a, &p, ch);
            anomaly_make_id(&a);
            check(&a, 1);
        }
        for (int settled = 0; settled <= 1; settled++) {
            det_alert_fill(&a, "room-1", metric, ANOMALY_CHANGE_POINT, &p);
            det_explain_change_end(&a, unit, &p, p.ts - uni() * 86400, settled);
            anomaly_make_id(&a);
            check(&a, 1);
        }
        det_shape_params sp;
        det_shape_params_default(&sp);
        det_shape_info si = {.raw = uni() * 20, .baseline = 1, .z = uni() * 12};
        det_alert_fill(&a, "room-1", metric, ANOMALY_CONTEXTUAL, &p);
        det_explain_shape(&a, unit, &sp, &si);
        anomaly_make_id(&a);
        check(&a, 1);

        det_alert_fill(&a, "room-1", metric, ANOMALY_POINT, &p);
        det_explain_stuck(&a, unit, 10 + (unsigned)(uni() * 1000), 2 + (unsigned)(uni() * 50));
        anomaly_make_id(&a);
        check(&a, 1);

        det_alert_fill(&a, "room-1", metric, ANOMALY_POINT, &p);
        det_explain_dropout(&a, 100 + (unsigned)(uni() * 10000));
        anomaly_make_id(&a);
        check(&a, 1);
        iforest_destroy(md.forest);
    }
    det_engine_destroy(e);
    printf("explanations: %d, as templates: %d, %zu bytes of text -> %zu coded (%.1f%%)\n", n_total,
           n_template, bytes_text, bytes_coded, 100.0 * (double)bytes_coded / (double)bytes_text);
}

/* det_fleet.c's suffix on a point explanation: the fleet tail. */
static void test_fleet_suffix(void **state)
{
    (void)state;
    det_engine *e = engine();
    det_fleet *f = calloc(1, sizeof *f);
    assert_non_null(f);
    const char *ids[] = {"floor3-a", "floor3-b", "floor3-c", "floor3-d"};
    for (int i = 0; i < 4; i++)
        det_fleet_sensor_added(f, ids[i]);
    det_model md;
    model(&md, e, "temperature", "degC", 1);
    int suffixed = 0;
    for (int i = 0; i < 4; i++) {
        det_pending p = pending(e);
        p.ts = 1764000000.0 + i * 30;
        anomaly a;
        det_alert_fill(&a, ids[i], "temperature", ANOMALY_POINT, &p);
        det_explain_point(e, &md, &a, &p, NULL);
        suffixed += det_fleet_mark(f, &a, 600) > 0;
        anomaly_make_id(&a);
        check(&a, 1);
    }
    assert_true(suffixed >= 2);
    iforest_destroy(md.forest);
    free(f);
    det_engine_destroy(e);
}

/* Texts no template fits are stored raw and still come back; raw text
 * starting with a control byte is escaped; old raw records still decode. */
static void test_raw_fallback(void **state)
{
    (void)state;
    uint8_t enc[600];
    char back[512];
    const char *texts[] = {
        "anything at all",
        "temperature 1e-05 degC is far above this sensor's usual 1-2 degC at 10:00 UTC",
        "\x01starts with a control byte", "\x02 too", "x"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        int n = expl_codec_encode(texts[i], "temperature", 0, enc, sizeof enc);
        assert_true(n > 0);
        assert_int_not_equal(enc[0], EXPL_CODEC_TEMPLATE);
        assert_int_equal(expl_codec_decode(enc, (size_t)n, "temperature", 0, back, sizeof back),
                         (int)strlen(texts[i]));
        assert_string_equal(back, texts[i]);
    }
    assert_int_equal(expl_codec_encode("", "t", 0, enc, sizeof enc), 0);
    assert_int_equal(expl_codec_decode(enc, 0, "t", 0, back, sizeof back), 0);
    assert_string_equal(back, "");
    /* too small an output */
    assert_int_equal(expl_codec_encode("anything at all", "t", 0, enc, 4), -1);
}

/* 0x03: the first number is the record's value as the detector prints it. */
static void test_value_form(void **state)
{
    (void)state;
    const char *t = "temperature 31.5 degC is far above this sensor's usual 20.1-24.3 degC at "
                    "10:12 UTC";
    uint8_t v[600], o[600];
    char back[512];
    int64_t ts = 1764000000000;
    int n = expl_codec_encode_v(t, "temperature", ts, 31.46, v, sizeof v);
    int m = expl_codec_encode(t, "temperature", ts, o, sizeof o);
    assert_true(n > 0 && m > 0 && n < m);
    assert_int_equal(v[0], EXPL_CODEC_TEMPLATE_VALUE);
    assert_int_equal(o[0], EXPL_CODEC_TEMPLATE);
    assert_int_equal(expl_codec_decode_v(v, (size_t)n, "temperature", ts, 31.46, back, sizeof back),
                     (int)strlen(t));
    assert_string_equal(back, t);
    /* without the value, or with another one, not this text */
    assert_int_equal(expl_codec_decode(v, (size_t)n, "temperature", ts, back, sizeof back), -1);
    assert_int_equal(expl_codec_decode_v(v, (size_t)n, "temperature", ts, NAN, back, sizeof back),
                     -1);
    assert_true(expl_codec_decode_v(v, (size_t)n, "temperature", ts, 40, back, sizeof back) > 0);
    assert_string_not_equal(back, t);
    /* a value printed otherwise than in the text: the 0x01 form */
    n = expl_codec_encode_v(t, "temperature", ts, 3.0, v, sizeof v);
    assert_int_equal(n, m);
    assert_memory_equal(v, o, (size_t)m);
    /* small values: two decimals from 1, three significant digits below */
    const char *u = "humidity 0.123 is far below this sensor's usual 20.1-24.3 at 10:12 UTC";
    n = expl_codec_encode_v(u, "humidity", ts, 0.12345, v, sizeof v);
    assert_int_equal(v[0], EXPL_CODEC_TEMPLATE_VALUE);
    assert_true(expl_codec_decode_v(v, (size_t)n, "humidity", ts, 0.12345, back, sizeof back) > 0);
    assert_string_equal(back, u);
}

/* Garbage: a clear error, never a crash. */
static void test_garbage(void **state)
{
    (void)state;
    uint8_t g[64];
    char back[512], small[8];
    /* unknown template, truncated varint, over-long varint, bad word, bad tail */
    const uint8_t bad[][6] = {
        {0x01, 0xff},       {0x01, 0x0c, 0x80}, {0x01, 0x0c, 0xff, 0xff, 0xff, 0xff},
        {0x01, 0x07, 0x40}, {0x02, 0x41},       {0x01}};
    const size_t blen[] = {2, 3, 6, 3, 2, 1};
    for (size_t i = 0; i < sizeof blen / sizeof *blen; i++)
        assert_int_equal(expl_codec_decode(bad[i], blen[i], "t", 0, back, sizeof back), -1);
    /* NUL in raw text; a text too long for the output */
    const uint8_t nul[] = {'a', 0, 'b'};
    assert_int_equal(expl_codec_decode(nul, 3, "t", 0, back, sizeof back), -1);
    const uint8_t longer[] = "0123456789";
    assert_int_equal(expl_codec_decode(longer, 10, "t", 0, small, sizeof small), -1);
    /* random bytes after a template header */
    for (int t = 0; t < 20000; t++) {
        size_t n = 2 + (size_t)(splitmix64_next(&rng) % 40);
        for (size_t i = 0; i < n; i++)
            g[i] = (uint8_t)splitmix64_next(&rng);
        g[0] = EXPL_CODEC_TEMPLATE;
        g[1] %= (uint8_t)(expl_codec_templates() + 1);
        int r = expl_codec_decode(g, n, "temperature", 1764000000000, back, sizeof back);
        assert_true(r >= -1);
        if (r >= 0)
            assert_int_equal((int)strlen(back), r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_det_explain_round_trip),
        cmocka_unit_test(test_fleet_suffix),
        cmocka_unit_test(test_raw_fallback),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_value_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
