/*
 * rlp — Recursive Length Prefix encoding (Ethereum Yellow Paper, appendix B),
 * as needed to build transactions: byte strings, unsigned integers
 * (minimal big-endian, zero is the empty string) and nested lists.
 *
 * Usage:
 *     rlp_buf b; rlp_init(&b);
 *     size_t l = rlp_list_begin(&b);
 *     rlp_put_u64(&b, nonce); rlp_put_bytes(&b, to, 20);
 *     rlp_list_end(&b, l);
 *     if (b.err) ...; use b.data, b.len; rlp_free(&b);
 * Errors are sticky (b.err), so a sequence of puts needs one check at the end.
 */
#ifndef COMMON_RLP_H
#define COMMON_RLP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data; /* malloc'd, owned by the buffer */
    size_t len, cap;
    int err; /* -1 after any failure (no memory, unbalanced list) */
} rlp_buf;

/** Make b an empty buffer (no memory held until the first append).
 *  Out: b: caller-owned struct; release its data with rlp_free. */
void rlp_init(rlp_buf *b);
/** Free the buffer's memory; the struct may be re-initialised. */
void rlp_free(rlp_buf *b);

/** Append a byte string (a single byte < 0x80 encodes as itself). p may be NULL if n == 0. */
void rlp_put_bytes(rlp_buf *b, const uint8_t *p, size_t n);
/** Append an unsigned integer as its minimal big-endian byte string (0 -> 0x80). */
void rlp_put_u64(rlp_buf *b, uint64_t v);
/** Append a big-endian unsigned integer given as bytes, leading zeros stripped. */
void rlp_put_uint_be(rlp_buf *b, const uint8_t *p, size_t n);
/** Append bytes that are already RLP (e.g. a pre-encoded item). */
void rlp_put_raw(rlp_buf *b, const uint8_t *p, size_t n);

/** Start a list; returns a mark to pass to rlp_list_end. */
size_t rlp_list_begin(rlp_buf *b);
/** Close the list opened at `mark`: prefixes its payload with the list header. */
void rlp_list_end(rlp_buf *b, size_t mark);

#endif
