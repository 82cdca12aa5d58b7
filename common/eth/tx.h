/*
 * tx — Ethereum transaction signing with libsecp256k1 (recovery module):
 * legacy transactions with EIP-155 replay protection and EIP-1559
 * (type 2) transactions; addresses derived from keys; contract-creation
 * addresses. The raw bytes are ready for eth_sendRawTransaction.
 *
 * References: EIP-155 (v = recid + 2*chainId + 35), EIP-2718 (typed
 * envelope), EIP-1559 (fields and yParity), Yellow Paper appendix F.
 */
#ifndef COMMON_TX_H
#define COMMON_TX_H

#include <stddef.h>
#include <stdint.h>

enum { TX_LEGACY = 0, TX_EIP1559 = 2 };

typedef struct {
    int type; /* TX_LEGACY (EIP-155) or TX_EIP1559 */
    uint64_t chain_id;
    uint64_t nonce;
    uint64_t gas_limit;
    uint64_t gas_price;        /* wei, TX_LEGACY only */
    uint64_t max_priority_fee; /* wei, TX_EIP1559 only */
    uint64_t max_fee;          /* wei, TX_EIP1559 only */
    int has_to;                /* 0: contract creation */
    uint8_t to[20];
    uint64_t value;      /* wei (this stack never sends more than 2^64-1) */
    const uint8_t *data; /* calldata / init code, not owned; may be NULL when data_len is 0 */
    size_t data_len;
} tx_fields;

typedef struct tx_key tx_key; /* opaque: secp256k1 context + secret key + address */

/** Load a 32-byte secret key. The key material is copied into the object
 *  and wiped on destroy; never log it.
 *  Out: *out owned by the caller (tx_key_destroy).
 *  Returns: 0, or -1 for an invalid key (zero or >= the curve order) or no memory. */
int tx_key_create(tx_key **out, const uint8_t seckey[32]);
/** Parse a hex key ("0x" optional, surrounding whitespace ignored) and load it. Returns 0 or -1. */
int tx_key_from_hex(tx_key **out, const char *hex);
/** Wipe the key material and free the key. k may be NULL. */
void tx_key_destroy(tx_key *k);

/** The key's 20-byte address (keccak256 of the uncompressed public key, last 20 bytes). */
void tx_key_address(const tx_key *k, uint8_t addr[20]);
/** The address as "0x" + 40 lowercase hex into out[43]. */
void tx_key_address_hex(const tx_key *k, char out[43]);

/** The hash that is signed for these fields (EIP-155 or EIP-1559 rules).
 *  Returns: 0, or -1 on an invalid type or no memory. */
int tx_signing_hash(const tx_fields *f, uint8_t hash[32]);

/** Sign and serialise. Deterministic (RFC 6979): the same fields and key give
 *  the same raw bytes and hash. Not thread-safe per key object.
 *  Out: *raw: malloc'd signed transaction owned by the caller (free), *rawlen
 *       its size; txhash: keccak256(raw), the transaction hash.
 *  Returns: 0, or -1 on invalid fields or no memory. */
int tx_sign(tx_key *k, const tx_fields *f, uint8_t **raw, size_t *rawlen, uint8_t txhash[32]);

/** Address of a contract created by `sender` with `nonce`: keccak256(rlp([sender, nonce]))[12:]. */
int tx_create_address(const uint8_t sender[20], uint64_t nonce, uint8_t out[20]);

#endif
