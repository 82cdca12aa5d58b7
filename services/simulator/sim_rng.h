/*
 * sim_rng — the simulator's deterministic random numbers.
 *
 * xoshiro256** (Blackman & Vigna) seeded through splitmix64. Every sensor
 * owns its own streams, derived from the run seed and the sensor id, so a
 * sensor's series does not depend on which other sensors run, on their
 * order, or on whether output goes to CSV or MQTT.
 */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} sim_rng;

/** Seed `r` from a 64-bit value (any value, including 0, is fine). */
void sim_rng_seed(sim_rng *r, uint64_t seed);

/** Next 64 random bits. */
uint64_t sim_rng_next(sim_rng *r);

/** Uniform double in [0, 1). */
double sim_rng_uniform(sim_rng *r);

/** Uniform double in [lo, hi). */
double sim_rng_range(sim_rng *r, double lo, double hi);

/** Standard normal deviate (Marsaglia polar method; no cached spare, so the
 *  stream position depends only on the number of calls). */
double sim_rng_normal(sim_rng *r);

/** Exponential deviate with the given mean. */
double sim_rng_exp(sim_rng *r, double mean);

/** Stable 64-bit hash of a string (FNV-1a then splitmix64 finaliser), used
 *  to derive per-sensor and per-site seeds. */
uint64_t sim_hash_str(const char *s, uint64_t seed);

#endif
