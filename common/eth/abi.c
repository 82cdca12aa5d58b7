/*
 * abi — Solidity ABI words, selectors and dynamic bytes. Encoding writes the
 * head (one 32-byte word per argument: the value, or for dynamic types the
 * offset of its tail) and then each tail (length word + data padded to 32).
 * Decoding treats every offset and length as hostile: it checks each
 * addition for overflow and every range against the buffer.
 */
#include "eth/abi.h"

#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "eth/keccak.h"

void abi_selector(const char *signature, uint8_t out[4])
{
    uint8_t h[32];
    keccak256(signature, strlen(signature), h);
    memcpy(out, h, 4);
}

void abi_topic(const char *signature, uint8_t out[32])
{
    keccak256(signature, strlen(signature), out);
}

size_t abi_padded(size_t len)
{
    return (len + 31) & ~(size_t)31;
}

void abi_put_u64(uint8_t word[32], uint64_t v)
{
    memset(word, 0, 24);
    bytes_put_be64(word + 24, v);
}

void abi_put_address(uint8_t word[32], const uint8_t addr[20])
{
    memset(word, 0, 12);
    memcpy(word + 12, addr, 20);
}

int abi_get_u64(const uint8_t word[32], uint64_t *out)
{
    for (int i = 0; i < 24; i++)
        if (word[i])
            return -1;
    *out = bytes_get_be64(word + 24);
    return 0;
}

int abi_get_address(const uint8_t word[32], uint8_t addr[20])
{
    for (int i = 0; i < 12; i++)
        if (word[i])
            return -1;
    memcpy(addr, word + 12, 20);
    return 0;
}

static int is_dynamic(abi_type t)
{
    return t == ABI_BYTES || t == ABI_STRING || t == ABI_BYTES32_ARRAY;
}

/* Bytes of a dynamic argument's contents after its length word. */
static size_t tail_len(const abi_arg *a)
{
    return a->type == ABI_BYTES32_ARRAY ? a->len * ABI_WORD : abi_padded(a->len);
}

int abi_encode(const uint8_t *selector, const abi_arg *args, size_t n, uint8_t **out,
               size_t *outlen)
{
    size_t total, head, pos;
    uint8_t *buf, *p;

    *out = NULL;
    *outlen = 0;
    if (n > 1024)
        return -1;
    head = n * ABI_WORD;
    total = (selector ? 4 : 0) + head;
    for (size_t i = 0; i < n; i++) {
        if (is_dynamic(args[i].type)) {
            if (args[i].len > (SIZE_MAX / 64) || (args[i].len && !args[i].p))
                return -1;
            size_t add = ABI_WORD + tail_len(&args[i]);
            if (total > SIZE_MAX - add)
                return -1;
            total += add;
        } else if (args[i].type > ABI_BYTES32_ARRAY) {
            return -1;
        } else if (args[i].type != ABI_UINT && !args[i].p) {
            return -1;
        }
    }
    buf = calloc(1, total ? total : 1);
    if (!buf)
        return -1;
    p = buf;
    if (selector) {
        memcpy(p, selector, 4);
        p += 4;
    }
    pos = head; /* tail offset relative to the start of the tuple */
    for (size_t i = 0; i < n; i++) {
        uint8_t *w = p + i * ABI_WORD;
        switch (args[i].type) {
        case ABI_UINT:
            abi_put_u64(w, args[i].u);
            break;
        case ABI_ADDRESS:
            abi_put_address(w, args[i].p);
            break;
        case ABI_BYTES32:
            memcpy(w, args[i].p, 32);
            break;
        case ABI_BYTES:
        case ABI_STRING:
        case ABI_BYTES32_ARRAY: /* length word (bytes or elements), then the contents */
            abi_put_u64(w, pos);
            abi_put_u64(p + pos, args[i].len);
            if (args[i].len)
                memcpy(p + pos + ABI_WORD, args[i].p,
                       args[i].type == ABI_BYTES32_ARRAY ? args[i].len * ABI_WORD : args[i].len);
            pos += ABI_WORD + tail_len(&args[i]);
            break;
        }
    }
    *out = buf;
    *outlen = total;
    return 0;
}

int abi_get_bytes(const uint8_t *data, size_t len, size_t index, const uint8_t **p, size_t *plen)
{
    uint64_t off, n;

    if (index > len / ABI_WORD || (index + 1) * ABI_WORD > len)
        return -1;
    if (abi_get_u64(data + index * ABI_WORD, &off) < 0 || off > len || len - off < ABI_WORD)
        return -1;
    if (abi_get_u64(data + off, &n) < 0 || n > len - off - ABI_WORD)
        return -1;
    *p = data + off + ABI_WORD;
    *plen = (size_t)n;
    return 0;
}
