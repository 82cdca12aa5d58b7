/* common/store/outbox: pending entries survive a reopen, done ones do not
 * come back, a torn tail is cut, a duplicate key is refused while pending,
 * compaction keeps exactly the pending entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
/* cmocka.h needs the three above first */
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/outbox.h"

static char path[256];

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/test_outbox_%d.bin", (int)getpid());
    unlink(path);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

typedef struct {
    char keys[64][32];
    int n;
} seen;

static int collect(void *user, uint64_t seq, const char *key, const void *data, size_t len)
{
    seen *s = user;
    (void)seq;
    assert_true(s->n < 64);
    assert_int_equal(len, strlen(key) + 5);
    assert_memory_equal(data, "data-", 5);
    assert_memory_equal((const char *)data + 5, key, strlen(key));
    snprintf(s->keys[s->n++], sizeof s->keys[0], "%s", key);
    return 0;
}

static void put(outbox *o, const char *key, uint64_t *seq)
{
    char data[64];
    int n = snprintf(data, sizeof data, "data-%s", key);
    assert_int_equal(outbox_put(o, key, data, (size_t)n, 1, seq), 0);
}

static void test_reopen(void **state)
{
    (void)state;
    outbox *o;
    uint64_t s[5];
    assert_int_equal(outbox_open(&o, path, 1, NULL), 0);
    put(o, "a", &s[0]);
    put(o, "b", &s[1]);
    put(o, "c", &s[2]);
    assert_true(s[0] < s[1] && s[1] < s[2]);
    /* a pending key is refused, and names the pending entry */
    uint64_t d;
    assert_int_equal(outbox_put(o, "b", "x", 1, 1, &d), 1);
    assert_int_equal(d, s[1]);
    assert_int_equal(outbox_done(o, s[1]), 0);
    assert_int_equal(outbox_done(o, s[1]), OUTBOX_ERR_ARG); /* not pending any more */
    assert_int_equal(outbox_done(o, 999), OUTBOX_ERR_ARG);
    assert_int_equal(outbox_pending(o), 2);
    /* the key is free again once done */
    put(o, "b", &s[3]);
    assert_true(s[3] > s[2]);
    outbox_close(o);

    size_t dropped = 1;
    assert_int_equal(outbox_open(&o, path, 1, &dropped), 0);
    assert_int_equal(dropped, 0);
    seen v = {0};
    outbox_foreach(o, collect, &v);
    assert_int_equal(v.n, 3);
    assert_string_equal(v.keys[0], "a");
    assert_string_equal(v.keys[1], "c");
    assert_string_equal(v.keys[2], "b");
    /* seqs keep growing after a reopen */
    put(o, "d", &s[4]);
    assert_true(s[4] > s[3]);
    outbox_close(o);
}

static void test_torn_tail(void **state)
{
    (void)state;
    outbox *o;
    assert_int_equal(outbox_open(&o, path, 1, NULL), 0);
    put(o, "one", NULL);
    put(o, "two", NULL);
    outbox_close(o);
    /* a crash in the middle of the last write: cut a few bytes off */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 3), 0);
    size_t dropped = 0;
    assert_int_equal(outbox_open(&o, path, 1, &dropped), 0);
    assert_true(dropped > 0);
    seen v = {0};
    outbox_foreach(o, collect, &v);
    assert_int_equal(v.n, 1);
    assert_string_equal(v.keys[0], "one");
    /* the file is usable again after the cut */
    put(o, "three", NULL);
    outbox_close(o);
    assert_int_equal(outbox_open(&o, path, 1, &dropped), 0);
    assert_int_equal(dropped, 0);
    assert_int_equal(outbox_pending(o), 2);
    outbox_close(o);
}

static void test_not_an_outbox(void **state)
{
    (void)state;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hello world, not an outbox", 26), 26);
    close(fd);
    outbox *o = NULL;
    assert_int_equal(outbox_open(&o, path, 1, NULL), OUTBOX_ERR_FORMAT);
    assert_null(o);
}

static void test_bad_args(void **state)
{
    (void)state;
    outbox *o;
    assert_int_equal(outbox_open(&o, path, 0, NULL), 0);
    char big[OUTBOX_KEY_MAX + 2];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(outbox_put(o, "", "x", 1, 0, NULL), OUTBOX_ERR_ARG);
    assert_int_equal(outbox_put(o, big, "x", 1, 0, NULL), OUTBOX_ERR_ARG);
    assert_int_equal(outbox_put(o, NULL, "x", 1, 0, NULL), OUTBOX_ERR_ARG);
    assert_int_equal(outbox_put(o, "k", NULL, 1, 0, NULL), OUTBOX_ERR_ARG);
    assert_int_equal(outbox_pending(o), 0);
    outbox_close(o);
}

/* Many puts and dones: the file is compacted on the way, and the pending
 * set after a reopen is exactly what a model says. */
static void test_compaction_model(void **state)
{
    (void)state;
    outbox *o;
    enum { N = 6000 };
    static uint64_t seqs[N];
    static char live[N];
    char data[1024];
    memset(data, 'z', sizeof data);
    assert_int_equal(outbox_open(&o, path, 0, NULL), 0);
    unsigned x = 12345;
    for (int i = 0; i < N; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(outbox_put(o, key, data, sizeof data, 0, &seqs[i]), 0);
        live[i] = 1;
        x = x * 1103515245u + 12345u;
        int j = (int)((x >> 8) % (unsigned)(i + 1));
        if (live[j] && (x & 3)) {
            assert_int_equal(outbox_done(o, seqs[j]), 0);
            live[j] = 0;
        }
    }
    size_t want = 0;
    for (int i = 0; i < N; i++)
        want += live[i];
    assert_int_equal(outbox_pending(o), want);
    /* compaction keeps the file within 4x of what is pending (+1 MiB) */
    assert_true(outbox_file_size(o) < 4 * (uint64_t)(want + 1) * (sizeof data + 64) + (1u << 20));
    outbox_close(o);
    assert_int_equal(outbox_open(&o, path, 0, NULL), 0);
    assert_int_equal(outbox_pending(o), want);
    for (int i = 0; i < N; i++)
        assert_int_equal(outbox_done(o, seqs[i]), live[i] ? 0 : OUTBOX_ERR_ARG);
    assert_int_equal(outbox_pending(o), 0);
    /* nothing pending: the file was compacted down (6 MB were put) */
    assert_true(outbox_file_size(o) < (1u << 20) + 2048);
    assert_int_equal(outbox_compact(o), 0);
    assert_true(outbox_file_size(o) < 64);
    outbox_close(o);
    assert_int_equal(outbox_open(&o, path, 0, NULL), 0);
    assert_int_equal(outbox_pending(o), 0);
    outbox_close(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_an_outbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_model, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
