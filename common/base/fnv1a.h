/*
 * fnv1a — the 64-bit FNV-1a hash (Fowler, Noll, Vo; the parameters of
 * draft-eastlake-fnv): a byte-at-a-time hash, fast on short keys, used for
 * string keys of hash tables (store/hashmap.h), checksums of saved models
 * and seeds derived from names in the simulator. Not cryptographic: ids
 * that must resist collisions use Keccak-256 (eth/keccak.h). Static inline,
 * no state: thread-safe, never blocks.
 */
#ifndef COMMON_FNV1A_H
#define COMMON_FNV1A_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A_INIT 0xcbf29ce484222325ULL /* the 64-bit offset basis */

/** Continue a hash h (FNV1A_INIT to start) over n bytes at p.
 *  Returns: the updated hash. */
static inline uint64_t fnv1a_update(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t k = 0; k < n; k++)
        h = (h ^ b[k]) * 0x100000001b3ULL; /* the 64-bit FNV prime */
    return h;
}

/** The hash of a NUL-terminated string (its bytes, without the NUL). */
static inline uint64_t fnv1a_str(const char *s)
{
    uint64_t h = FNV1A_INIT;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

#endif
