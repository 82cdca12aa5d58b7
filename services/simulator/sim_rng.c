/*
 * sim_rng — see sim_rng.h. Reproducibility is a feature here (the detector's
 * accuracy benchmark compares runs), so nothing reads the clock or libc's rand().
 */
#include "sim_rng.h"

#include <math.h>
#include <string.h>

#include "base/fnv1a.h"
#include "base/splitmix64.h"

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void sim_rng_seed(sim_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64_next(&x);
}

uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double sim_rng_uniform(sim_rng *r)
{
    /* 53 random bits -> [0, 1) exactly representable. */
    return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

double sim_rng_range(sim_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * sim_rng_uniform(r);
}

double sim_rng_normal(sim_rng *r)
{
    double u, v, s;
    do {
        u = 2.0 * sim_rng_uniform(r) - 1.0;
        v = 2.0 * sim_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

double sim_rng_exp(sim_rng *r, double mean)
{
    /* 1 - U is in (0, 1], so log() never sees 0. */
    return -mean * log(1.0 - sim_rng_uniform(r));
}

uint64_t sim_hash_str(const char *s, uint64_t seed)
{
    uint64_t h = fnv1a_update(FNV1A_INIT ^ seed, s, strlen(s));
    return splitmix64_next(&h);
}
