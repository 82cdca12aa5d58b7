/*
 * abi — the subset of the Solidity contract ABI the stack needs: function
 * selectors and event topics (Keccak-256 of the canonical signature),
 * 32-byte words for uint/address/bytes32, and head/tail encoding of
 * dynamic `bytes`/`string` arguments, with bounds-checked decoding.
 * Reference: https://docs.soliditylang.org/en/latest/abi-spec.html
 */
#ifndef COMMON_ABI_H
#define COMMON_ABI_H

#include <stddef.h>
#include <stdint.h>

#define ABI_WORD 32

/** First 4 bytes of keccak256(signature), e.g. "transfer(address,uint256)"
 *  -> a9 05 9c bb. The signature must be canonical (no spaces, uint256 not uint).
 *  Thread-safe. */
void abi_selector(const char *signature, uint8_t out[4]);

/** Event topic0: keccak256(signature), e.g. "Transfer(address,address,uint256)". */
void abi_topic(const char *signature, uint8_t out[32]);

/** Round len up to a multiple of 32. */
size_t abi_padded(size_t len);

/** Write v as a big-endian uint256 word. */
void abi_put_u64(uint8_t word[32], uint64_t v);
/** Write a 20-byte address left-padded with zeros. */
void abi_put_address(uint8_t word[32], const uint8_t addr[20]);

/** Read a uint256 word that must fit in 64 bits.
 *  Returns: 0, or -1 when any of the upper 24 bytes is non-zero. */
int abi_get_u64(const uint8_t word[32], uint64_t *out);
/** Read an address word. Returns: 0, or -1 when the upper 12 bytes are not zero. */
int abi_get_address(const uint8_t word[32], uint8_t addr[20]);

typedef enum {
    ABI_UINT,    /* uint<N> up to 64 bits of value: `u` */
    ABI_ADDRESS, /* `p` points to 20 bytes */
    ABI_BYTES32, /* `p` points to 32 bytes */
    ABI_BYTES,   /* dynamic: `p`, `len` (p may be NULL when len is 0) */
    ABI_STRING,  /* dynamic: same encoding as bytes */
    ABI_BYTES32_ARRAY, /* dynamic bytes32[]: `p` points to `len` x 32 bytes (NULL when len is 0) */
} abi_type;

typedef struct {
    abi_type type;
    uint64_t u;
    const uint8_t *p;
    size_t len;
} abi_arg;

/** Encode `selector` (4 bytes, or NULL for constructor arguments / plain
 *  tuples) followed by the ABI encoding of args[0..n-1] as a tuple.
 *  Out: *out: malloc'd bytes owned by the caller (free); *outlen its size.
 *  Returns: 0, or -1 on an invalid type, size overflow or no memory. */
int abi_encode(const uint8_t *selector, const abi_arg *args, size_t n, uint8_t **out,
               size_t *outlen);

/** Locate the dynamic `bytes`/`string` argument whose offset word is head
 *  word number `index` of the tuple in data[0..len-1] (no selector).
 *  Out: *p points into data (not owned), *plen its length.
 *  Returns: 0, or -1 when the offset, length or contents run outside data
 *  (safe on arbitrary input). */
int abi_get_bytes(const uint8_t *data, size_t len, size_t index, const uint8_t **p, size_t *plen);

#endif
