/* The detector's intake ring (det_intake) and gap counter (det_gaps):
 * every message comes out once, whole and in order, across many wraps of
 * a small ring with a slow consumer (the producer waits, nothing dropped);
 * a message too large for the ring and a push that waited past its
 * timeout are dropped and counted; batches bracket the callbacks; a regular
 * series with holes counts exactly the missing readings, an irregular one
 * none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka.h needs the three above first */
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detector/det_intake.h"

typedef struct {
    long next;      /* sequence number expected next */
    long bad;       /* messages out of order or corrupt */
    int in_batch;   /* 1 between batch(1) and batch(0) */
    long outside;   /* messages delivered outside a batch */
    useconds_t nap; /* per message: a slow consumer */
    volatile int block;
} sink;

static void on_msg(void *user, const char *topic, const void *payload, size_t len)
{
    sink *s = user;
    char want_topic[64], want[512];
    snprintf(want_topic, sizeof want_topic, "sensors/s%ld/readings", s->next % 7);
    size_t n = (size_t)(s->next * 37 % 400);
    for (size_t i = 0; i < n; i++)
        want[i] = (char)('a' + (s->next + (long)i) % 26);
    if (strcmp(topic, want_topic) != 0 || len != n || memcmp(payload, want, n) != 0)
        s->bad++;
    if (!s->in_batch)
        s->outside++;
    s->next++;
    while (s->block)
        usleep(1000);
    if (s->nap)
        usleep(s->nap);
}

static void on_batch(void *user, int begin)
{
    ((sink *)user)->in_batch = begin;
}

static void push_seq(det_intake *q, long i)
{
    char topic[64], payload[512];
    snprintf(topic, sizeof topic, "sensors/s%ld/readings", i % 7);
    size_t n = (size_t)(i * 37 % 400);
    for (size_t k = 0; k < n; k++)
        payload[k] = (char)('a' + (i + (long)k) % 26);
    assert_int_equal(det_intake_push(q, topic, payload, n), 0);
}

static void test_ring_order_and_wraps(void **state)
{
    (void)state;
    sink s = {.nap = 0};
    det_intake *q = NULL;
    assert_int_equal(det_intake_create(&q, 65536, 10000, on_msg, on_batch, &s), 0);
    const long N = 20000; /* ~4 MB through a 64 KiB ring: dozens of wraps */
    for (long i = 0; i < N; i++) {
        if (i == 5000)
            s.nap = 20; /* slow down: the producer must wait, not drop */
        if (i == 6000)
            s.nap = 0;
        push_seq(q, i);
    }
    assert_int_equal(det_intake_drain(q, 20000), 0);
    det_intake_stats st;
    det_intake_stats_get(q, &st);
    assert_int_equal(st.pushed, N);
    assert_int_equal(st.processed, N);
    assert_int_equal(st.dropped, 0);
    assert_true(st.full_waits > 0);
    assert_true(st.batches > 0 && st.batches <= (uint64_t)N);
    assert_int_equal(st.depth, 0);
    det_intake_destroy(q);
    assert_int_equal(s.next, N);
    assert_int_equal(s.bad, 0);
    assert_int_equal(s.outside, 0);
}

static void test_ring_drops_counted(void **state)
{
    (void)state;
    sink s = {.block = 1};
    det_intake *q = NULL;
    assert_int_equal(det_intake_create(&q, 65536, 50, on_msg, NULL, &s), 0);
    static char big[20000];
    /* More than a quarter of the ring: refused at once. */
    assert_int_equal(det_intake_push(q, "t", big, sizeof big), -1);
    /* The consumer is stuck in message 0: fill the ring, then time out. */
    long i = 0, refused = -1;
    s.next = 0;
    for (; i < 2000 && refused < 0; i++) {
        char topic[64], payload[512];
        snprintf(topic, sizeof topic, "sensors/s%ld/readings", i % 7);
        size_t n = (size_t)(i * 37 % 400);
        for (size_t k = 0; k < n; k++)
            payload[k] = (char)('a' + (i + (long)k) % 26);
        if (det_intake_push(q, topic, payload, n) != 0)
            refused = i;
    }
    assert_true(refused > 100);
    det_intake_stats st;
    det_intake_stats_get(q, &st);
    assert_int_equal(st.dropped, 2);
    assert_int_equal(st.pushed, refused);
    assert_true(st.high >= (size_t)refused - 1);
    s.block = 0;
    assert_int_equal(det_intake_drain(q, 10000), 0);
    det_intake_destroy(q);
    assert_int_equal(s.next, refused);
    assert_int_equal(s.bad, 0);
}

static void test_gaps(void **state)
{
    (void)state;
    det_gaps *g = NULL;
    assert_int_equal(det_gaps_create(&g, 10), 0);
    uint64_t m = 0;
    /* Every 60 s, readings 10, 11 and 20 missing: 3. */
    for (int i = 0; i < 30; i++)
        if (i != 10 && i != 11 && i != 20)
            m += det_gaps_note(g, "regular", 1764000000.0 + 60 * i);
    assert_int_equal(m, 3);
    /* A repeat and an older reading count nothing and change nothing. */
    assert_int_equal(det_gaps_note(g, "regular", 1764000000.0 + 60 * 29), 0);
    assert_int_equal(det_gaps_note(g, "regular", 1764000000.0), 0);
    assert_int_equal(det_gaps_note(g, "regular", 1764000000.0 + 60 * 30), 0);
    /* Irregular intervals never establish a cadence. */
    double t = 1764000000.0, steps[] = {10, 37, 5, 80, 21, 300, 2, 44, 90, 13};
    uint64_t irr = 0;
    for (int i = 0; i < 10; i++)
        irr += det_gaps_note(g, "irregular", t += steps[i]);
    assert_int_equal(irr, 0);
    assert_int_equal(det_gaps_total(g), 3);
    det_gaps_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_order_and_wraps),
        cmocka_unit_test(test_ring_drops_counted),
        cmocka_unit_test(test_gaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
