/* Unit tests for store/hashmap, base/fnv1a.h and the byte-order helpers of base/bytes.h:
 * the map against a brute-force model under random inserts and removals
 * (with a deliberately poor hash so probe runs are long and wrap around),
 * growth and reserve, and the byte helpers against fixed byte strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/bytes.h"
#include "base/splitmix64.h"
#include "base/fnv1a.h"
#include "store/hashmap.h"

#define NKEYS 3000

typedef struct {
    char key[NKEYS][24];
    int present[NKEYS];
    unsigned bits; /* keep only this many hash bits: forces collisions */
} model;

static uint64_t key_hash(const model *md, const char *k)
{
    uint64_t h = fnv1a_str(k);
    return md->bits < 64 ? h & ((1ULL << md->bits) - 1) : h;
}

static uint64_t cb_hash(const void *ctx, uint64_t v)
{
    const model *md = ctx;
    return key_hash(md, md->key[v]);
}

static int cb_eq(const void *ctx, uint64_t v, const void *key)
{
    const model *md = ctx;
    return strcmp(md->key[v], key) == 0;
}

static void check_all(const hashmap *m, const model *md)
{
    size_t n = 0;
    for (int i = 0; i < NKEYS; i++) {
        uint64_t v = UINT64_MAX;
        int found = hashmap_find(m, key_hash(md, md->key[i]), md->key[i], &v);
        assert_int_equal(found, md->present[i]);
        if (found)
            assert_int_equal(v, (uint64_t)i);
        n += (size_t)md->present[i];
    }
    assert_int_equal(m->n, n);
    assert_true(m->cap == 0 || m->n * 2 <= m->cap); /* load stays at most one half */
}

static void run_model(unsigned bits)
{
    static model md;
    memset(&md, 0, sizeof md);
    md.bits = bits;
    for (int i = 0; i < NKEYS; i++)
        snprintf(md.key[i], sizeof md.key[i], "sensor-%d", i);
    hashmap m;
    hashmap_init(&m, 8, cb_hash, cb_eq, &md);
    uint64_t rng = 42;
    for (int step = 0; step < 20000; step++) {
        int i = (int)(splitmix64_next(&rng) % NKEYS);
        const char *k = md.key[i];
        if (md.present[i]) {
            assert_int_equal(hashmap_remove(&m, key_hash(&md, k), k), 1);
            md.present[i] = 0;
            assert_int_equal(hashmap_remove(&m, key_hash(&md, k), k), 0); /* gone */
        } else {
            assert_int_equal(hashmap_insert(&m, key_hash(&md, k), (uint64_t)i), 0);
            md.present[i] = 1;
        }
        if (step % 997 == 0)
            check_all(&m, &md);
    }
    check_all(&m, &md);
    hashmap_free(&m);
    assert_int_equal(m.cap, 0);
    memset(md.present, 0, sizeof md.present);
    check_all(&m, &md); /* empty after free, and usable again */
}

static void test_hashmap_model(void **state)
{
    (void)state;
    run_model(64); /* a good hash */
    run_model(4);  /* 16 home slots for 3000 keys: long, wrapping probe runs */
}

static void test_hashmap_growth(void **state)
{
    (void)state;
    static model md;
    memset(&md, 0, sizeof md);
    md.bits = 64;
    for (int i = 0; i < NKEYS; i++)
        snprintf(md.key[i], sizeof md.key[i], "k%d", i);
    hashmap m;
    hashmap_init(&m, 1000, cb_hash, cb_eq, &md);
    assert_int_equal(m.min_cap, 1024); /* rounded up to a power of two */
    assert_int_equal(hashmap_bytes(&m), 0);
    assert_int_equal(hashmap_insert(&m, key_hash(&md, "k0"), 0), 0);
    assert_int_equal(m.cap, 1024); /* first allocation: min_cap */
    md.present[0] = 1;
    for (int i = 1; i <= 512; i++) {
        assert_int_equal(hashmap_insert(&m, key_hash(&md, md.key[i]), (uint64_t)i), 0);
        md.present[i] = 1;
    }
    assert_int_equal(m.cap, 2048); /* the 513th value doubled it */
    assert_int_equal(hashmap_bytes(&m), 2048 * sizeof(uint64_t));
    assert_int_equal(hashmap_reserve(&m, 2000), 0);
    assert_int_equal(m.cap, 4096);
    size_t cap = m.cap;
    for (int i = 513; i < 2000; i++) {
        assert_int_equal(hashmap_insert(&m, key_hash(&md, md.key[i]), (uint64_t)i), 0);
        md.present[i] = 1;
    }
    assert_int_equal(m.cap, cap); /* reserved: no growth */
    assert_int_equal(hashmap_reserve(&m, 10), 0);
    assert_int_equal(m.cap, cap); /* never shrinks */
    check_all(&m, &md);
    hashmap_clear(&m);
    assert_int_equal(m.cap, cap); /* cleared, still allocated */
    memset(md.present, 0, sizeof md.present);
    check_all(&m, &md);
    hashmap_free(&m);
}

static void test_fnv1a(void **state)
{
    (void)state;
    /* Published FNV-1a 64 vectors (draft-eastlake-fnv, section 8). */
    assert_true(fnv1a_str("") == 0xcbf29ce484222325ULL);
    assert_true(fnv1a_str("a") == 0xaf63dc4c8601ec8cULL);
    assert_true(fnv1a_str("foobar") == 0x85944171f73967e8ULL);
    /* update continues a hash: in two pieces, the same as in one. */
    assert_true(fnv1a_update(fnv1a_update(FNV1A_INIT, "foo", 3), "bar", 3) == fnv1a_str("foobar"));
}

static void test_bytes(void **state)
{
    (void)state;
    uint8_t b[8];
    bytes_put_be64(b, 0x0102030405060708ULL);
    assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_true(bytes_get_be64(b) == 0x0102030405060708ULL);
    bytes_put_le64(b, 0x0102030405060708ULL);
    assert_memory_equal(b, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    assert_true(bytes_get_le64(b) == 0x0102030405060708ULL);
    bytes_put_le32(b, 0xa1b2c3d4u);
    assert_memory_equal(b, "\xd4\xc3\xb2\xa1", 4);
    assert_int_equal(bytes_get_le32(b), 0xa1b2c3d4u);
    bytes_put_be16(b, 0xbeef);
    assert_memory_equal(b, "\xbe\xef", 2);
    assert_int_equal(bytes_get_be16(b), 0xbeef);
    bytes_put_le16(b, 0xbeef);
    assert_memory_equal(b, "\xef\xbe", 2);
    assert_int_equal(bytes_get_le16(b), 0xbeef);
    bytes_put_be64(b, UINT64_MAX); /* high bits survive (no sign extension) */
    assert_true(bytes_get_be64(b) == UINT64_MAX && bytes_get_le64(b) == UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashmap_model),
        cmocka_unit_test(test_hashmap_growth),
        cmocka_unit_test(test_fnv1a),
        cmocka_unit_test(test_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
