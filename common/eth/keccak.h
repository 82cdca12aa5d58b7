/*
 * keccak — Keccak-256 as Ethereum uses it (the original Keccak padding
 * 0x01, not SHA3-256's 0x06). Used for transaction hashes, addresses,
 * event topics, function selectors and anomaly ids.
 */
#ifndef COMMON_KECCAK_H
#define COMMON_KECCAK_H

#include <stddef.h>
#include <stdint.h>

/** Incremental hashing state. Plain struct so it can live on the stack. */
typedef struct {
    uint64_t st[25];
    size_t pos; /* bytes absorbed into the current block */
} keccak_ctx;

/** Reset ctx to the empty state (caller-owned, e.g. on the stack). */
void keccak_init(keccak_ctx *ctx);
/** Absorb `len` bytes. `data` may be NULL when len is 0. */
void keccak_update(keccak_ctx *ctx, const void *data, size_t len);
/** Write the 32-byte digest; the context must be re-initialised to reuse it. */
void keccak_final(keccak_ctx *ctx, uint8_t out[32]);

/** One-shot Keccak-256 of `len` bytes into out[32]. Thread-safe. */
void keccak256(const void *data, size_t len, uint8_t out[32]);

#endif
