/*
 * gw_peers — see gw_peers.h. A chained hash table of addresses (16 bytes,
 * IPv4 as IPv4-mapped IPv6), each with its connection count; an entry is
 * freed when its count falls to zero, so memory follows the number of
 * distinct connected addresses.
 */
#include "gw_peers.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/fnv1a.h"

#define BUCKETS 1024

struct gw_peer {
    unsigned char addr[16];
    long count;
    struct gw_peer *next;
};

struct gw_peers {
    long max;
    size_t naddr;
    gw_peer *bucket[BUCKETS];
};

int gw_peers_create(gw_peers **out, long max_per_ip)
{
    gw_peers *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->max = max_per_ip < 1 ? 1 : max_per_ip;
    *out = p;
    return 0;
}

void gw_peers_destroy(gw_peers *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < BUCKETS; i++)
        for (gw_peer *e = p->bucket[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
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

static size_t hash(const unsigned char key[16])
{
    return (size_t)(fnv1a_update(FNV1A_INIT, key, 16) % BUCKETS);
}

static gw_peer *find(const gw_peers *p, const unsigned char key[16])
{
    for (gw_peer *e = p->bucket[hash(key)]; e; e = e->next)
        if (memcmp(e->addr, key, 16) == 0)
            return e;
    return NULL;
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
    e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    memcpy(e->addr, key, 16);
    e->count = 1;
    size_t b = hash(key);
    e->next = p->bucket[b];
    p->bucket[b] = e;
    p->naddr++;
    return e;
}

void gw_peers_release(gw_peers *p, gw_peer *h)
{
    if (!h)
        return;
    if (--h->count > 0)
        return;
    for (gw_peer **pp = &p->bucket[hash(h->addr)]; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            free(h);
            p->naddr--;
            return;
        }
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
    return p->naddr;
}
