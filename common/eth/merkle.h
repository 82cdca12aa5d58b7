/*
 * merkle — the Merkle tree AnomalyLogger keeps per batch
 * (contracts/AnomalyLogger.sol), built off chain: the root of a batch's ids
 * and the proof that one id is in it, for `chainlogger prove` and `verify`.
 *
 * The tree (the contract's definition, byte for byte):
 *   leaves  the 32-byte ids of the records a batch actually logged, in seq order
 *   node    keccak256(min(a, b) ++ max(a, b) ++ 0xff), a and b compared as
 *           256-bit big-endian numbers (memcmp order); 65 bytes hashed
 *   levels  pair nodes 0-1, 2-3, ... of a level; an odd last node is
 *           promoted unchanged to the next level
 *   root    the last node left; for a single leaf, the leaf itself
 * A proof is the list of siblings met on the way from the leaf to the root,
 * bottom-up, with promoted levels omitted. Because pairs are sorted, no
 * left/right flags are needed: verifying folds node(h, p) over the proof.
 */
#ifndef COMMON_MERKLE_H
#define COMMON_MERKLE_H

#include <stddef.h>
#include <stdint.h>

/* Levels above the leaves of a tree of up to 2^64 leaves: the longest proof. */
#define MERKLE_MAX_DEPTH 64

/** The inner node over two children (order does not matter).
 *  Out: out (may alias a or b). Thread-safe. */
void merkle_node(const uint8_t a[32], const uint8_t b[32], uint8_t out[32]);

/** Root of the tree over leaves[0..n-1].
 *  Out: root. Allocates a working copy of the leaves (freed before returning).
 *  Returns: 0, or -1 when n is 0 or memory is short. Thread-safe. */
int merkle_root(const uint8_t (*leaves)[32], size_t n, uint8_t root[32]);

/** Proof for leaves[index] in the tree over leaves[0..n-1], and the root.
 *  Out: proof[0..*plen-1] (caller's array of MERKLE_MAX_DEPTH entries),
 *       *plen, root (may be NULL).
 *  Returns: 0, or -1 when n is 0, index >= n or memory is short. Thread-safe. */
int merkle_proof(const uint8_t (*leaves)[32], size_t n, size_t index,
                 uint8_t proof[MERKLE_MAX_DEPTH][32], size_t *plen, uint8_t root[32]);

/** The root that `leaf` and proof[0..plen-1] lead to (what the contract's
 *  isLogged computes before comparing it with the stored root).
 *  Out: root. Thread-safe. */
void merkle_fold(const uint8_t leaf[32], const uint8_t (*proof)[32], size_t plen, uint8_t root[32]);

/** Whether leaf and proof[0..plen-1] lead to root.
 *  Returns: 1 when they do, 0 otherwise. Thread-safe. */
int merkle_verify(const uint8_t leaf[32], const uint8_t (*proof)[32], size_t plen,
                  const uint8_t root[32]);

#endif
