/* Unit tests for common/store/journal: durability across reopen, state
 * transitions, duplicates, torn and corrupt tails, damage in the middle
 * (refused, never cut), compaction. */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
// clang-format on

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/journal.h"

static char dir[64], path[128];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/test_journal.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/j.log", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char tmp[160];
    unlink(path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    rmdir(dir);
    return 0;
}

static void mkid(uint8_t id[32], int i)
{
    memset(id, 0, 32);
    for (int k = 0; k < 32; k++)
        id[k] = (uint8_t)(i * 131 + k * 7 + (i >> 8));
    memcpy(id, &i, sizeof i);
}

static void fill(journal *j, int from, int to)
{
    for (int i = from; i < to; i++) {
        uint8_t id[32], data[40];
        uint64_t idx;
        mkid(id, i);
        memset(data, i & 0xff, sizeof data);
        assert_int_equal(journal_append(j, id, data, (size_t)(10 + i % 30), &idx), 0);
        assert_int_equal(idx, (uint64_t)i);
    }
}

static void test_roundtrip(void **state)
{
    (void)state;
    journal *j;
    uint8_t tx[32], id[32];
    journal_entry e;
    size_t dropped = 99;
    memset(tx, 0xaa, 32);

    assert_int_equal(journal_open(&j, path, 1, &dropped), 0);
    assert_int_equal(dropped, 0);
    fill(j, 0, 100);
    /* A duplicate id is reported, not appended. */
    mkid(id, 5);
    uint64_t idx = 0;
    assert_int_equal(journal_append(j, id, (const uint8_t *)"x", 1, &idx), 1);
    assert_int_equal(idx, 5);
    assert_int_equal(journal_count(j), 100);

    assert_int_equal(journal_mark_sent(j, 0, 50, 1000, 7, tx), 0);
    assert_int_equal(journal_mark_sent(j, 90, 20, 0, 0, tx), JOURNAL_ERR_ARG);
    for (int i = 0; i < 30; i++)
        assert_int_equal(
            journal_mark_confirmed(j, (uint64_t)i, 1000 + (uint64_t)i, tx, 42, (uint32_t)i), 0);
    assert_int_equal(journal_mark_confirmed(j, 3, 1003, tx, 42, 3), JOURNAL_ERR_STATE);
    assert_int_equal(journal_mark_sent(j, 0, 5, 1, 1, tx), JOURNAL_ERR_STATE);
    assert_int_equal(journal_sync(j), 0);
    assert_int_equal(journal_first_pending(j), 30);
    assert_int_equal(journal_next_seq(j), 1050);
    journal_close(j);

    /* Everything is back after reopening. */
    assert_int_equal(journal_open(&j, path, 1, &dropped), 0);
    assert_int_equal(dropped, 0);
    assert_int_equal(journal_count(j), 100);
    assert_int_equal(journal_first_pending(j), 30);
    assert_int_equal(journal_next_seq(j), 1050);
    assert_int_equal(journal_get(j, 10, &e), 0);
    assert_int_equal(e.state, JOURNAL_CONFIRMED);
    assert_int_equal(e.seq, 1010);
    assert_int_equal(e.block, 42);
    assert_int_equal(e.log_index, 10);
    assert_int_equal(journal_get(j, 40, &e), 0);
    assert_int_equal(e.state, JOURNAL_SENT);
    assert_int_equal(e.seq, 1040);
    assert_int_equal(e.nonce, 7);
    assert_memory_equal(e.tx_hash, tx, 32);
    assert_int_equal(journal_get(j, 77, &e), 0);
    assert_int_equal(e.state, JOURNAL_ACCEPTED);
    assert_int_equal(e.len, 10 + 77 % 30);
    assert_int_equal(e.data[0], 77);
    mkid(id, 77);
    assert_memory_equal(e.id, id, 32);
    assert_int_equal(journal_find(j, id), 77);
    mkid(id, 1000);
    assert_int_equal(journal_find(j, id), -1);
    assert_int_equal(journal_get(j, 100, &e), JOURNAL_ERR_ARG);

    /* Compaction keeps the state and shrinks the file (the S record of 50 entries
     * becomes per-entry S records, but the C records and A records stay). */
    uint64_t before = journal_file_size(j);
    assert_int_equal(journal_compact(j), 0);
    assert_true(journal_file_size(j) > 0);
    (void)before;
    fill(j, 100, 110); /* appending after compaction works */
    journal_close(j);
    assert_int_equal(journal_open(&j, path, 1, &dropped), 0);
    assert_int_equal(dropped, 0);
    assert_int_equal(journal_count(j), 110);
    assert_int_equal(journal_first_pending(j), 30);
    assert_int_equal(journal_get(j, 45, &e), 0);
    assert_int_equal(e.state, JOURNAL_SENT);
    assert_int_equal(e.seq, 1045);
    assert_int_equal(journal_get(j, 105, &e), 0);
    assert_int_equal(e.state, JOURNAL_ACCEPTED);
    journal_close(j);
}

static off_t fsize(void)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* A crash can leave any prefix of the last record on disk: every cut point
 * must reopen with the earlier records intact and the torn one gone. */
static void test_torn_tail(void **state)
{
    (void)state;
    journal *j;
    size_t dropped;
    unlink(path);
    assert_int_equal(journal_open(&j, path, 0, NULL), 0);
    fill(j, 0, 20);
    journal_close(j);
    off_t full20 = fsize();
    assert_int_equal(journal_open(&j, path, 0, NULL), 0);
    fill(j, 20, 21);
    journal_close(j);
    off_t full21 = fsize();
    assert_true(full21 > full20);
    for (off_t cut = full21 - 1; cut > full20; cut--) {
        assert_int_equal(truncate(path, cut), 0);
        assert_int_equal(journal_open(&j, path, 0, &dropped), 0);
        assert_int_equal(dropped, (size_t)(cut - full20));
        assert_int_equal(journal_count(j), 20);
        journal_close(j);
        assert_int_equal(fsize(), full20); /* the tail was cut on disk */
        /* re-append the 21st so the next iteration has it again */
        assert_int_equal(journal_open(&j, path, 0, NULL), 0);
        fill(j, 20, 21);
        journal_close(j);
        assert_int_equal(fsize(), full21);
    }
    /* A flipped bit in the last record (CRC mismatch) also drops only it. */
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, full21 - 3), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, full21 - 3), 1);
    close(fd);
    assert_int_equal(journal_open(&j, path, 0, &dropped), 0);
    assert_int_equal(journal_count(j), 20);
    assert_int_equal(dropped, (size_t)(full21 - full20));
    journal_close(j);
    /* Garbage appended after valid records (e.g. a preallocated block). */
    fd = open(path, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, "\xff\xff\xff\xff\x00\x00", 6), 6);
    close(fd);
    assert_int_equal(journal_open(&j, path, 0, &dropped), 0);
    assert_int_equal(dropped, 6);
    assert_int_equal(journal_count(j), 20);
    journal_close(j);
}

static void test_not_a_journal(void **state)
{
    (void)state;
    journal *j;
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    /* a valid-looking record that is not a header */
    uint8_t rec[9] = {1, 0, 0, 0, 0, 0, 0, 0, 'Z'};
    assert_int_equal(write(fd, rec, sizeof rec), (ssize_t)sizeof rec);
    close(fd);
    /* CRC wrong -> treated as a torn tail: the whole thing is cut, a new journal starts. */
    assert_int_equal(journal_open(&j, path, 0, NULL), 0);
    assert_int_equal(journal_count(j), 0);
    journal_close(j);
    /* A bigger file that does not start with a journal header is refused, untouched. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "this is not a journal at all, do not touch", 42), 42);
    close(fd);
    assert_int_equal(journal_open(&j, path, 0, NULL), JOURNAL_ERR_FORMAT);
    assert_int_equal(fsize(), 42);
    unlink(path);
    uint8_t big[JOURNAL_REC_MAX + 1] = {0}, id[32] = {1};
    assert_int_equal(journal_open(&j, path, 0, NULL), 0);
    assert_int_equal(journal_append(j, id, big, sizeof big, NULL), JOURNAL_ERR_ARG);
    assert_int_equal(journal_wait(j, 0, 10), 0);
    assert_int_equal(journal_append(j, id, big, 3, NULL), 0);
    assert_int_equal(journal_wait(j, 0, 10), 1);
    journal_close(j);
}

/* The MQTT thread appends while the sender thread reads and marks batches;
 * after reopening, every entry and transition is there, in order. */
typedef struct {
    journal *j;
    int n;
} thr_arg;

static void *appender(void *p)
{
    thr_arg *a = p;
    for (int i = 0; i < a->n; i++) {
        uint8_t id[32], data[16];
        mkid(id, 100000 + i);
        memset(data, i & 0xff, sizeof data);
        if (journal_append(a->j, id, data, sizeof data, NULL) != 0)
            return (void *)1;
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    journal *j;
    pthread_t th;
    unlink(path);
    assert_int_equal(journal_open(&j, path, 1, NULL), 0);
    thr_arg a = {j, 2000};
    assert_int_equal(pthread_create(&th, NULL, appender, &a), 0);
    uint64_t next = 0, seq = 0;
    uint8_t tx[32] = {7};
    while (next < 2000) {
        if (!journal_wait(j, next + 9, 1000) && journal_count(j) < next + 10)
            continue;
        journal_entry *e = malloc(sizeof(*e));
        for (uint64_t i = next; i < next + 10; i++) {
            assert_int_equal(journal_get(j, i, e), 0);
            assert_int_equal(e->state, JOURNAL_ACCEPTED);
        }
        free(e);
        assert_int_equal(journal_mark_sent(j, next, 10, seq, next / 10, tx), 0);
        assert_int_equal(journal_sync(j), 0);
        for (uint64_t i = next; i < next + 5; i++)
            assert_int_equal(journal_mark_confirmed(j, i, seq + (i - next), tx, i, 0), 0);
        next += 10;
        seq += 10;
    }
    void *ret;
    pthread_join(th, &ret);
    assert_null(ret);
    journal_close(j);
    assert_int_equal(journal_open(&j, path, 1, NULL), 0);
    assert_int_equal(journal_count(j), 2000);
    assert_int_equal(journal_next_seq(j), 2000);
    journal_entry *e = malloc(sizeof(*e));
    for (uint64_t i = 0; i < 2000; i++) {
        assert_int_equal(journal_get(j, i, e), 0);
        assert_int_equal(e->state, (i % 10) < 5 ? JOURNAL_CONFIRMED : JOURNAL_SENT);
        assert_int_equal(e->seq, i);
        uint8_t id[32];
        mkid(id, 100000 + (int)i);
        assert_memory_equal(e->id, id, 32);
    }
    free(e);
    journal_close(j);
}

/* Memory per confirmed entry is bounded whatever its payload: confirming
 * frees the payload and state (a confirmed entry keeps its id, for
 * duplicates, and its records' file offsets), while journal_get still
 * returns every field, read back from the file, before and after a sync,
 * after compaction, and through a read-only journal. */
static void test_confirmed_memory(void **state)
{
    (void)state;
    enum { N = 3000, PAYLOAD = 600 };
    journal *j, *ro;
    journal_mem m;
    uint8_t tx[32], data[PAYLOAD], id[32];
    journal_entry *e = malloc(sizeof(*e));
    assert_non_null(e);
    unlink(path);
    assert_int_equal(journal_open(&j, path, 0, NULL), 0);
    for (int i = 0; i < N; i++) {
        mkid(id, i);
        memset(data, i & 0xff, sizeof data);
        data[0] = (uint8_t)(i >> 8);
        assert_int_equal(journal_append(j, id, data, sizeof data, NULL), 0);
    }
    journal_mem_usage(j, &m);
    assert_int_equal(m.entries, N);
    assert_int_equal(m.live, N);
    assert_true(m.bytes / N >= PAYLOAD); /* pending entries hold their payload */
    for (int i = 0; i < N; i += 10) {
        memset(tx, i & 0xff, sizeof tx);
        assert_int_equal(journal_mark_sent(j, (uint64_t)i, 10, (uint64_t)i, (uint64_t)i / 10, tx),
                         0);
        for (int k = i; k < i + 10; k++)
            assert_int_equal(journal_mark_confirmed(j, (uint64_t)k, (uint64_t)k, tx,
                                                    1000 + (uint64_t)k / 10, (uint32_t)(k % 10)),
                             0);
    }
    /* Not synced yet: the confirmations are still buffered, and get must
     * still see them. */
    assert_int_equal(journal_get(j, N - 1, e), 0);
    assert_int_equal(e->state, JOURNAL_CONFIRMED);
    assert_int_equal(e->block, 1000 + (N - 1) / 10);
    journal_mem_usage(j, &m);
    assert_int_equal(m.entries, N);
    assert_int_equal(m.live, 0);
    /* The array (64 B, doubling) and the id index (8 B per slot, at most
     * half full, doubling): at most 2 x 64 + 4 x 8 = 160 bytes per entry,
     * against the 600-byte payload each held before. */
    assert_true(m.bytes <= (uint64_t)N * 160);
    assert_int_equal(journal_first_pending(j), N);
    assert_int_equal(journal_next_seq(j), N);

    for (int pass = 0; pass < 3; pass++) {
        journal *r = j;
        if (pass == 1)
            assert_int_equal(journal_compact(j), 0);
        if (pass == 2) {
            assert_int_equal(journal_sync(j), 0);
            assert_int_equal(journal_open_readonly(&ro, path), 0);
            r = ro;
            journal_mem_usage(ro, &m);
            assert_int_equal(m.live, 0);
            assert_true(m.bytes <= (uint64_t)N * 160);
        }
        for (int i = 0; i < N; i += 7) {
            assert_int_equal(journal_get(r, (uint64_t)i, e), 0);
            mkid(id, i);
            assert_memory_equal(e->id, id, 32);
            assert_int_equal(e->state, JOURNAL_CONFIRMED);
            assert_int_equal(e->seq, (uint64_t)i);
            assert_int_equal(e->block, 1000 + (uint64_t)i / 10);
            assert_int_equal(e->log_index, (uint32_t)(i % 10));
            memset(tx, (i / 10 * 10) & 0xff, sizeof tx);
            assert_memory_equal(e->tx_hash, tx, 32);
            assert_int_equal(e->len, PAYLOAD);
            assert_int_equal(e->data[0], (uint8_t)(i >> 8));
            assert_int_equal(e->data[PAYLOAD - 1], (uint8_t)(i & 0xff));
            assert_int_equal(journal_find(r, id), i);
        }
    }
    journal_close(ro);
    /* Duplicates of confirmed entries are still recognised. */
    mkid(id, 1234);
    uint64_t idx = 0;
    assert_int_equal(journal_append(j, id, data, 5, &idx), 1);
    assert_int_equal(idx, 1234);
    journal_close(j);
    /* After reopening, the confirmed entries take no payload memory. */
    assert_int_equal(journal_open(&j, path, 0, NULL), 0);
    journal_mem_usage(j, &m);
    assert_int_equal(m.entries, N);
    assert_int_equal(m.live, 0);
    assert_true(m.bytes <= (uint64_t)N * 160);
    assert_int_equal(journal_get(j, 2999, e), 0);
    assert_int_equal(e->data[0], (uint8_t)(2999 >> 8));
    journal_close(j);
    free(e);
}

static int64_t key_le(const uint8_t *data, size_t len)
{
    int64_t k = 0;
    if (len >= sizeof k)
        memcpy(&k, data, sizeof k);
    return k;
}

static void append_keyed(journal *j, int i, int sync)
{
    uint8_t id[32], data[64];
    int64_t k = i;
    uint64_t idx;
    mkid(id, i);
    memset(data, i & 0xff, sizeof data);
    memcpy(data, &k, sizeof k);
    assert_int_equal(
        journal_append_mode(j, id, data, sizeof data, &idx, sync ? JOURNAL_APPEND_SYNC : 0), 0);
    assert_int_equal(idx, (uint64_t)i);
}

static void confirm_range(journal *j, int from, int to)
{
    uint8_t tx[32];
    memset(tx, from & 0xff, sizeof tx);
    assert_int_equal(
        journal_mark_sent(j, (uint64_t)from, (uint32_t)(to - from), (uint64_t)from, 1, tx), 0);
    for (int k = from; k < to; k++)
        assert_int_equal(journal_mark_confirmed(j, (uint64_t)k, (uint64_t)k, tx, 7, 0), 0);
}

/* #6: with a window, memory stops growing with the number of confirmed
 * entries; evicted ids are still found in the file, pending entries are
 * never evicted, and the horizon tells which ids need the file. */
static void test_window(void **state)
{
    (void)state;
    enum { W = 1000, N = 20000 };
    journal *j;
    journal_mem m;
    uint64_t bytes_half = 0, idx;
    uint8_t id[32];
    journal_entry *e = malloc(sizeof(*e));
    assert_non_null(e);
    unlink(path);
    journal_opts o = {.do_fsync = 0, .window = W, .key = key_le};
    assert_int_equal(journal_open_opts(&j, path, &o, NULL), 0);
    assert_int_equal(journal_horizon(j), INT64_MIN);
    for (int i = 0; i < N; i += 10) {
        for (int k = i; k < i + 10; k++)
            append_keyed(j, k, 0);
        confirm_range(j, i, i + 10);
        if (i + 10 == N / 2) {
            journal_mem_usage(j, &m);
            bytes_half = m.bytes;
        }
    }
    journal_mem_usage(j, &m);
    assert_int_equal(m.entries, N);
    assert_true(m.entries - m.evicted >= W);
    assert_true(m.entries - m.evicted <= W + W / 4 + 10);
    /* Flat: the second half of the run added nothing. */
    assert_true(m.bytes <= bytes_half);
    assert_true(m.bytes <= (uint64_t)(W + W / 4) * 160 + 64 * 1024);
    int64_t h = journal_horizon(j);
    assert_true(h >= (int64_t)(m.evicted - 1) && h < N - W);
    /* Old ids: gone from memory, found in the file at their index. */
    mkid(id, 0);
    assert_int_equal(journal_find(j, id), -1);
    assert_int_equal(journal_get(j, 0, e), JOURNAL_ERR_ARG);
    assert_int_equal(journal_scan_id(j, id, &idx), 1);
    assert_int_equal(idx, 0);
    mkid(id, 7777);
    assert_int_equal(journal_scan_id(j, id, &idx), 1);
    assert_int_equal(idx, 7777);
    mkid(id, N + 5);
    assert_int_equal(journal_scan_id(j, id, &idx), 0);
    /* Recent ids: in memory, with their payload read back. */
    mkid(id, N - 1);
    assert_int_equal(journal_find(j, id), N - 1);
    assert_int_equal(journal_get(j, N - 1, e), 0);
    assert_int_equal(e->state, JOURNAL_CONFIRMED);
    assert_int_equal(journal_compact(j), JOURNAL_ERR_STATE);
    /* Pending entries stay, whatever the window. */
    uint64_t evicted = m.evicted;
    for (int k = N; k < N + 3 * W; k++)
        append_keyed(j, k, 0);
    journal_mem_usage(j, &m);
    assert_true(m.evicted <= (uint64_t)N);
    assert_true(m.evicted >= evicted);
    mkid(id, N);
    assert_int_equal(journal_find(j, id), N);
    assert_int_equal(journal_get(j, N, e), 0);
    assert_int_equal(e->state, JOURNAL_ACCEPTED);
    journal_close(j);

    /* Replayed with the window: the same bound, the same answers. */
    assert_int_equal(journal_open_opts(&j, path, &o, NULL), 0);
    journal_mem_usage(j, &m);
    assert_int_equal(m.entries, N + 3 * W);
    assert_true(m.evicted >= (uint64_t)N - W - W / 4 && m.evicted <= (uint64_t)N);
    assert_true(journal_horizon(j) < N);
    assert_int_equal(journal_first_pending(j), N);
    mkid(id, N + 3 * W - 1);
    assert_int_equal(journal_find(j, id), N + 3 * W - 1);
    mkid(id, 3);
    assert_int_equal(journal_find(j, id), -1);
    assert_int_equal(journal_scan_id(j, id, &idx), 1);
    assert_int_equal(idx, 3);
    {
        /* An old key not in memory: the append asks for a file lookup (2)
         * and writes nothing, for a duplicate and a new id alike (new keys,
         * above the horizon, are appended at once: append_keyed). Once
         * the caller has checked the file, JOURNAL_APPEND_CHECKED appends. */
        uint8_t d[64] = {0}, nid[32];
        int64_t k = 5;
        memcpy(d, &k, sizeof k);
        assert_int_equal(journal_append_mode(j, id, d, sizeof d, &idx, 0), 2);
        mkid(nid, N + 77777);
        assert_int_equal(journal_append_mode(j, nid, d, sizeof d, &idx, 0), 2);
        assert_int_equal(journal_count(j), N + 3 * W);
        assert_int_equal(journal_scan_id(j, nid, NULL), 0);
        assert_int_equal(journal_append_mode(j, nid, d, sizeof d, &idx, JOURNAL_APPEND_CHECKED), 0);
        assert_int_equal(idx, N + 3 * W);
        assert_int_equal(journal_scan_id(j, nid, &idx), 1);
        assert_int_equal(idx, N + 3 * W);
    }
    journal_close(j);
    /* Without a window every id is in memory again. */
    assert_int_equal(journal_open(&j, path, 0, NULL), 0);
    assert_int_equal(journal_find(j, id), 3);
    journal_close(j);
    free(e);
}

/* Group commit: journal_append_mode(.., 0) writes the record to the file
 * before it returns (another reader sees it: it survives the process), and
 * journal_sync makes it durable. */
static void test_append_nosync(void **state)
{
    (void)state;
    journal *j, *ro;
    uint8_t id[32];
    unlink(path);
    assert_int_equal(journal_open(&j, path, 1, NULL), 0);
    for (int i = 0; i < 50; i++)
        append_keyed(j, i, 0);
    assert_int_equal(journal_open_readonly(&ro, path), 0);
    assert_int_equal(journal_count(ro), 50);
    mkid(id, 49);
    assert_int_equal(journal_find(ro, id), 49);
    journal_close(ro);
    assert_int_equal(journal_sync(j), 0);
    assert_int_equal(journal_sync(j), 0); /* nothing new: no fsync, still 0 */
    journal_close(j);
}

/* The whole file, for byte-for-byte comparisons; *n its size. Caller frees. */
static uint8_t *slurp(size_t *n)
{
    off_t sz = fsize();
    uint8_t *b = malloc((size_t)sz + 1);
    assert_non_null(b);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, (size_t)sz, 0), sz);
    close(fd);
    *n = (size_t)sz;
    return b;
}

/* Offset of record k (0 = the header record), walking the length fields. */
static off_t record_offset(const uint8_t *b, size_t n, int k)
{
    size_t off = 0;
    for (int i = 0; i < k; i++) {
        assert_true(off + 8 <= n);
        off +=
            8 + (size_t)(b[off] | b[off + 1] << 8 | b[off + 2] << 16 | (uint32_t)b[off + 3] << 24);
    }
    return (off_t)off;
}

static void patch(off_t off, const void *bytes, size_t n)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
    close(fd);
}

/* Damage in the middle (valid records after it) is not a torn tail: open
 * refuses with JOURNAL_ERR_CORRUPT and the file is left byte for byte as it
 * was, whatever the damage (payload bit, length too large, length past the
 * end of the file, zeroed record). Before issue #19 the file was cut at the
 * bad record, silently dropping every (acknowledged) entry after it. */
static void test_corrupt_middle(void **state)
{
    (void)state;
    journal *j;
    size_t n, n2, dropped = 0;
    unlink(path);
    assert_int_equal(journal_open(&j, path, 0, NULL), 0);
    fill(j, 0, 30);
    journal_close(j);
    uint8_t *orig = slurp(&n);
    off_t r10 = record_offset(orig, n, 11); /* entry 10's 'A' record */
    const struct {
        off_t off;
        uint8_t bytes[4];
        size_t n;
    } damage[] = {
        {r10 + 8 + 5, {0}, 1},                  /* a payload byte: CRC mismatch */
        {r10, {0x00, 0x40, 0x00, 0x00}, 4},     /* length 16384 > MAX_PAYLOAD */
        {r10, {0xf0, 0x03, 0x00, 0x00}, 2},     /* length 1008: plausible, wrong */
        {r10, {0, 0, 0, 0}, 4},                 /* length 0 */
        {r10 + 4, {0x12, 0x34, 0x56, 0x78}, 4}, /* the CRC itself */
    };
    for (size_t d = 0; d < sizeof damage / sizeof damage[0]; d++) {
        uint8_t bytes[4];
        memcpy(bytes, damage[d].bytes, sizeof bytes);
        if (d == 0)
            bytes[0] = orig[r10 + 8 + 5] ^ 0x01;
        patch(damage[d].off, bytes, damage[d].n);
        uint8_t *before = slurp(&n2);
        assert_int_equal(journal_open(&j, path, 0, &dropped), JOURNAL_ERR_CORRUPT);
        assert_null(j);
        assert_int_equal(journal_open_readonly(&j, path), JOURNAL_ERR_CORRUPT);
        uint8_t *after = slurp(&n);
        assert_int_equal(n, n2); /* never shrinks */
        assert_memory_equal(after, before, n);
        free(before);
        free(after);
        patch(0, orig, n); /* restore */
        assert_int_equal(journal_open(&j, path, 0, &dropped), 0);
        assert_int_equal(journal_count(j), 30);
        journal_close(j);
    }
    /* The length of entry 26 pointing past the end of the file (it used to
     * look like a torn tail at the end): still damage, nothing cut. */
    off_t r26 = record_offset(orig, n, 27);
    uint32_t big = (uint32_t)(n - (size_t)r26 - 8 + 1);
    assert_true(big <= 1 + 32 + 2 + JOURNAL_REC_MAX);
    uint8_t le[4] = {(uint8_t)big, (uint8_t)(big >> 8), 0, 0};
    patch(r26, le, 4);
    assert_int_equal(journal_open(&j, path, 0, NULL), JOURNAL_ERR_CORRUPT);
    assert_int_equal(fsize(), (off_t)n);
    patch(0, orig, n);
    /* Damage in the last record only, with zeros after it (a crash that
     * left blocks unwritten): a torn tail, cut back to entry 28. */
    off_t r29 = record_offset(orig, n, 30);
    uint8_t zeros[4096] = {0};
    patch(r29 + 9, zeros, 3);
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, zeros, sizeof zeros), (ssize_t)sizeof zeros);
    close(fd);
    assert_int_equal(journal_open(&j, path, 0, &dropped), 0);
    assert_int_equal(journal_count(j), 29);
    assert_int_equal(dropped, n - (size_t)r29 + sizeof zeros);
    journal_close(j);
    assert_int_equal(fsize(), r29);
    free(orig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirmed_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_nosync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_middle, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
