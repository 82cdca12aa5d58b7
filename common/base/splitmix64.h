/*
 * splitmix64 — the 64-bit generator of Steele, Lea & Flood (2014), used
 * where the stack needs small, fast, reproducible randomness: forest
 * training (iforest), the detector's training-pool sampling, and seeding
 * and hashing in the simulator. Saved models, benchmarks and simulated
 * data sets depend on its exact output, so there is one copy of it.
 * Header-only (static inline): it sits in hot loops.
 */
#ifndef COMMON_SPLITMIX64_H
#define COMMON_SPLITMIX64_H

#include <stdint.h>

/** Advance the state and return the next 64-bit output.
 *  Returns: the next value of the sequence.
 *  In/Out: s: the caller-owned state (any value, including 0, is a seed).
 *  Not thread-safe on a shared state; allocates nothing. */
static inline uint64_t splitmix64_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#endif
