/*
 * hashmap — see hashmap.h.
 */
#include "store/hashmap.h"

#include <stdlib.h>
#include <string.h>

void hashmap_init(hashmap *m, size_t min_cap, hashmap_hash_fn hash, hashmap_eq_fn eq,
                  const void *ctx)
{
    size_t c = 2;
    while (c < min_cap)
        c *= 2;
    *m = (hashmap){.min_cap = c, .hash = hash, .eq = eq, .ctx = ctx};
}

void hashmap_free(hashmap *m)
{
    free(m->slot);
    m->slot = NULL;
    m->cap = m->n = 0;
}

void hashmap_clear(hashmap *m)
{
    if (m->cap)
        memset(m->slot, 0, m->cap * sizeof *m->slot);
    m->n = 0;
}

/* Put v + 1 in the first empty slot of h's probe run (there is one). */
static void place(uint64_t *slot, size_t cap, uint64_t h, uint64_t v)
{
    size_t mask = cap - 1, i = (size_t)h & mask;
    while (slot[i])
        i = (i + 1) & mask;
    slot[i] = v + 1;
}

/* Move everything into a fresh array of ncap slots. */
static int rehash(hashmap *m, size_t ncap)
{
    uint64_t *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slot[i])
            place(ns, ncap, m->hash(m->ctx, m->slot[i] - 1), m->slot[i] - 1);
    free(m->slot);
    m->slot = ns;
    m->cap = ncap;
    return 0;
}

int hashmap_reserve(hashmap *m, size_t n)
{
    size_t c = m->min_cap;
    while (c < 2 * n)
        c *= 2;
    return c > m->cap ? rehash(m, c) : 0;
}

int hashmap_find(const hashmap *m, uint64_t h, const void *key, uint64_t *value)
{
    if (!m->cap)
        return 0;
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask; m->slot[i]; i = (i + 1) & mask) {
        if (m->eq(m->ctx, m->slot[i] - 1, key)) {
            *value = m->slot[i] - 1;
            return 1;
        }
    }
    return 0;
}

int hashmap_insert(hashmap *m, uint64_t h, uint64_t value)
{
    if ((m->n + 1) * 2 > m->cap && rehash(m, m->cap ? m->cap * 2 : m->min_cap) < 0)
        return -1;
    place(m->slot, m->cap, h, value);
    m->n++;
    return 0;
}

/* Empty slot i by backward-shift deletion (Knuth, TAOCP vol. 3, 6.4,
 * algorithm R): later members of the probe run move back into the hole
 * unless their home slot lies cyclically in (i, j]. */
static void delete_at(hashmap *m, size_t i)
{
    size_t mask = m->cap - 1;
    for (size_t j = (i + 1) & mask; m->slot[j]; j = (j + 1) & mask) {
        size_t k = (size_t)m->hash(m->ctx, m->slot[j] - 1) & mask;
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        m->slot[i] = m->slot[j];
        i = j;
    }
    m->slot[i] = 0;
    m->n--;
}

int hashmap_remove(hashmap *m, uint64_t h, const void *key)
{
    if (!m->cap)
        return 0;
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask; m->slot[i]; i = (i + 1) & mask) {
        if (m->eq(m->ctx, m->slot[i] - 1, key)) {
            delete_at(m, i);
            return 1;
        }
    }
    return 0;
}

size_t hashmap_bytes(const hashmap *m)
{
    return m->cap * sizeof *m->slot;
}
