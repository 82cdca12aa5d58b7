/*
 * hashmap — one open-addressing index for every table that looks records
 * up by key (journal ids, gateway sensors, cached anomalies, isLogged
 * answers). It maps a key to a 64-bit value, in practice the position of
 * the record in the caller's own array: the map stores only values, never
 * keys or records, and asks the caller (through two callbacks) for the
 * hash of a stored value's key and whether a stored value has a given key.
 * So the caller keeps its records where it likes, a slot costs 8 bytes,
 * and a lookup allocates nothing.
 *
 * Layout: linear probing over a power-of-two array of slots holding
 * value + 1 (0 = empty). Growth: an insert that would fill the table beyond
 * one half first doubles it (from min_cap on the first insert) and
 * re-inserts every value; call hashmap_reserve() up front to never grow on
 * the hot path. Removal is by backward-shift deletion, so no tombstones
 * accumulate and lookups stay short however many keys come and go.
 *
 * Keys: whatever the callbacks compare (strings, 32-byte ids, ...); the
 * caller passes the key's hash to every call (fnv1a_str of base/fnv1a.h for strings,
 * or bits of a key that is already uniform, such as a Keccak hash).
 *
 * Not thread-safe: the caller locks around every call, as around its
 * records (hashmap_find only reads, so concurrent finds under a read lock
 * are fine). None of the functions blocks.
 */
#ifndef COMMON_HASHMAP_H
#define COMMON_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

/** Hash of the key of the record that `value` designates (used when the
 *  table grows and when a removal shifts values back). */
typedef uint64_t (*hashmap_hash_fn)(const void *ctx, uint64_t value);

/** 1 when the record that `value` designates has key `key`, else 0. */
typedef int (*hashmap_eq_fn)(const void *ctx, uint64_t value, const void *key);

typedef struct {
    uint64_t *slot; /* value + 1; 0 = empty */
    size_t cap;     /* 0 (nothing allocated) or a power of two */
    size_t n;       /* values held */
    size_t min_cap; /* first allocation, a power of two >= 2 */
    hashmap_hash_fn hash;
    hashmap_eq_fn eq;
    const void *ctx; /* passed to the callbacks */
} hashmap;

/** Set up an empty map (allocates nothing).
 *  In: min_cap: slots of the first allocation; rounded up to a power of
 *               two, at least 2.
 *      hash, eq: the callbacks; ctx: their first argument (not owned). */
void hashmap_init(hashmap *m, size_t min_cap, hashmap_hash_fn hash, hashmap_eq_fn eq,
                  const void *ctx);

/** Free the slots; the map is then empty and may be used again. */
void hashmap_free(hashmap *m);

/** Remove every value, keeping the slots allocated (nothing can fail). */
void hashmap_clear(hashmap *m);

/** Make room for n values without growing later: the capacity becomes
 *  at least 2 x n (and min_cap), re-inserting what is held.
 *  Returns: 0, or -1 when out of memory (the map is unchanged). */
int hashmap_reserve(hashmap *m, size_t n);

/** Look a key up.
 *  Returns: 1 with *value set when found, 0 when absent.
 *  In: h: the key's hash (the same function the hash callback uses). */
int hashmap_find(const hashmap *m, uint64_t h, const void *key, uint64_t *value);

/** Add a value whose key has hash h. Does not look for an equal key:
 *  the caller finds first when keys may repeat.
 *  Returns: 0, or -1 when growing failed (out of memory; nothing added).
 *  In: value: anything but UINT64_MAX. */
int hashmap_insert(hashmap *m, uint64_t h, uint64_t value);

/** Remove the value whose key is `key` (hash h).
 *  Returns: 1 when removed, 0 when absent. */
int hashmap_remove(hashmap *m, uint64_t h, const void *key);

/** Bytes the slots take (for memory statistics). */
size_t hashmap_bytes(const hashmap *m);

#endif
