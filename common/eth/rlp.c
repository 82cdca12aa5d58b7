/*
 * rlp — encoder. Lists are built in place: rlp_list_begin remembers where
 * the payload starts, rlp_list_end computes the header once the payload
 * length is known and shifts the payload right to make room for it. Nested
 * lists just nest the marks.
 */
#include "eth/rlp.h"
#include "base/bytes.h"

#include <stdlib.h>
#include <string.h>

void rlp_init(rlp_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void rlp_free(rlp_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

static int reserve(rlp_buf *b, size_t extra)
{
    if (b->err)
        return -1;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->err = -1;
        return -1;
    }
    if (b->len + extra <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + extra)
        ncap *= 2;
    uint8_t *nd = realloc(b->data, ncap);
    if (!nd) {
        b->err = -1;
        return -1;
    }
    b->data = nd;
    b->cap = ncap;
    return 0;
}

/* Header for a payload of n bytes with short-form base `base` (0x80 string, 0xc0 list). */
static size_t header(uint8_t h[9], size_t n, uint8_t base)
{
    if (n <= 55) {
        h[0] = (uint8_t)(base + n);
        return 1;
    }
    size_t k = 0;
    for (size_t v = n; v; v >>= 8)
        k++;
    h[0] = (uint8_t)(base + 55 + k);
    for (size_t i = 0; i < k; i++)
        h[1 + i] = (uint8_t)(n >> (8 * (k - 1 - i)));
    return 1 + k;
}

void rlp_put_raw(rlp_buf *b, const uint8_t *p, size_t n)
{
    if (reserve(b, n) < 0)
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void rlp_put_bytes(rlp_buf *b, const uint8_t *p, size_t n)
{
    uint8_t h[9];
    if (n == 1 && p[0] < 0x80) {
        rlp_put_raw(b, p, 1);
        return;
    }
    size_t hl = header(h, n, 0x80);
    if (reserve(b, hl + n) < 0)
        return;
    rlp_put_raw(b, h, hl);
    rlp_put_raw(b, p, n);
}

void rlp_put_uint_be(rlp_buf *b, const uint8_t *p, size_t n)
{
    while (n > 0 && p[0] == 0) {
        p++;
        n--;
    }
    rlp_put_bytes(b, p, n);
}

void rlp_put_u64(rlp_buf *b, uint64_t v)
{
    uint8_t be[8];
    bytes_put_be64(be, v);
    rlp_put_uint_be(b, be, 8);
}

size_t rlp_list_begin(rlp_buf *b)
{
    return b->len;
}

void rlp_list_end(rlp_buf *b, size_t mark)
{
    uint8_t h[9];
    if (b->err)
        return;
    if (mark > b->len) {
        b->err = -1;
        return;
    }
    size_t n = b->len - mark;
    size_t hl = header(h, n, 0xc0);
    if (reserve(b, hl) < 0)
        return;
    memmove(b->data + mark + hl, b->data + mark, n);
    memcpy(b->data + mark, h, hl);
    b->len += hl;
}
