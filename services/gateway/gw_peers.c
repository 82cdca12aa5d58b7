/*
 * gw_peers — see gw_peers.h. The connected addresses (16 bytes, IPv4 as
 * IPv4-mapped IPv6), each with its connection count, in an array indexed
 * by the common hash index (store/hashmap); an entry is freed when its
 * count falls to zero (the last one moves into its place), so memory
 * follows the number of distinct connected addresses. Entries are
 * allocated one by one: the handle a connection keeps never moves.
 */
#include "gw_peers.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/fnv1a.h"
#include "store/hashmap.h"

struct gw_peer {
    unsigned char addr[16];
    long count;
    size_t pos; /* index in peers[] */
};

struct gw_peers {
    long max;
    gw_peer **peers; /* connected addresses; cap slots, n used */
    size_t cap, n;
    hashmap index; /* address -> position in peers (store/hashmap) */
};

static uint64_t addr_hash(const unsigned char key[16])
{
    return fnv1a_update(FNV1A_INIT, key, 16);
}

static uint64_t index_hash(const void *ctx, uint64_t v)
{
    const gw_peers *p = ctx;
    return addr_hash(p->peers[v]->addr);
}

static int index_eq(const void *ctx, uint64_t v, const void *key)
{
    const gw_peers *p = ctx;
    return memcmp(p->peers[v]->addr, key, 16) == 0;
}

int gw_peers_create(gw_peers **out, long max_per_ip)
{
    gw_peers *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->max = max_per_ip < 1 ? 1 : max_per_ip;
    hashmap_init(&p->index, 64, index_hash, index_eq, p);
    *out = p;
    return 0;
}

void gw_peers_destroy(gw_peers *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->peers[i]);
    free(p->peers);
    hashmap_free(&p->index);
    free(p);
}

/* sa as 16 bytes (IPv4 mapped into IPv6). Returns 0, -1 for other families. */
static int key_of(const struct sockaddr *sa, socklen_t len, unsigned char key[16])
{
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        memset(key, 0, 10);
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &s4->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return 0;
    }
    return -1;
}

static gw_peer *find(const gw_peers *p, const unsigned char key[16])
{
    uint64_t v;
    return hashmap_find(&p->index, addr_hash(key), key, &v) ? p->peers[v] : NULL;
}

gw_peer *gw_peers_admit(gw_peers *p, const struct sockaddr *sa, socklen_t len)
{
    unsigned char key[16];
    if (key_of(sa, len, key) != 0)
        memset(key, 0, sizeof key); /* e.g. AF_UNIX: counted together */
    gw_peer *e = find(p, key);
    if (e) {
        if (e->count >= p->max)
            return NULL;
        e->count++;
        return e;
    }
    if (p->n == p->cap) {
        size_t nc = p->cap ? 2 * p->cap : 64;
        gw_peer **np = realloc(p->peers, nc * sizeof *np);
        if (!np)
            return NULL;
        p->peers = np;
        p->cap = nc;
    }
    e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    memcpy(e->addr, key, 16);
    e->count = 1;
    e->pos = p->n;
    if (hashmap_insert(&p->index, addr_hash(key), e->pos) != 0) {
        free(e);
        return NULL;
    }
    p->peers[p->n++] = e;
    return e;
}

void gw_peers_release(gw_peers *p, gw_peer *h)
{
    if (!h || --h->count > 0)
        return;
    /* Out of the index first (every position still valid), then the last
     * address moves into h's place and is re-indexed there. The re-insert
     * follows a removal, so the index does not grow and cannot fail. */
    (void)hashmap_remove(&p->index, addr_hash(h->addr), h->addr);
    size_t last = p->n - 1;
    if (h->pos != last) {
        gw_peer *m = p->peers[last];
        (void)hashmap_remove(&p->index, addr_hash(m->addr), m->addr);
        p->peers[h->pos] = m;
        m->pos = h->pos;
        (void)hashmap_insert(&p->index, addr_hash(m->addr), m->pos);
    }
    p->n--;
    free(h);
}

long gw_peers_count(const gw_peers *p, const struct sockaddr *sa, socklen_t len)
{
    unsigned char key[16];
    if (key_of(sa, len, key) != 0)
        memset(key, 0, sizeof key);
    const gw_peer *e = find(p, key);
    return e ? e->count : 0;
}

size_t gw_peers_addresses(const gw_peers *p)
{
    return p->n;
}
