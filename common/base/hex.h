/*
 * hex — hexadecimal encoding of byte strings, as Ethereum JSON-RPC uses it.
 */
#ifndef COMMON_HEX_H
#define COMMON_HEX_H

#include <stddef.h>
#include <stdint.h>

/** Write 2*len lowercase hex digits and a NUL to `out` (size >= 2*len+1),
 *  optionally preceded by "0x" (then size >= 2*len+3). Returns chars written. */
size_t hex_encode(char *out, const uint8_t *in, size_t len, int prefix_0x);

/** Decode hex text (optional "0x" prefix, even length, either case).
 *  Returns: number of bytes written, or -1 when the text is not hex, has
 *           odd length or would need more than `cap` bytes. */
long hex_decode(uint8_t *out, size_t cap, const char *in);

/** Parse a hex quantity such as "0x1b4" (JSON-RPC QUANTITY) into *out.
 *  Returns: 0, or -1 when it is not a hex number or exceeds 64 bits. */
int hex_to_u64(const char *in, uint64_t *out);

#endif
