/*
 * merkle — the per-batch Merkle tree of AnomalyLogger (definition in
 * merkle.h). Levels are reduced in place in one working copy of the
 * leaves: node k of the next level overwrites slot k, which the pairing
 * loop has already read (it reads slots 2k and 2k+1 >= k).
 */
#include "eth/merkle.h"

#include <stdlib.h>
#include <string.h>

#include "eth/keccak.h"

void merkle_node(const uint8_t a[32], const uint8_t b[32], uint8_t out[32])
{
    uint8_t buf[65];
    int swap = memcmp(a, b, 32) > 0;
    memcpy(buf, swap ? b : a, 32);
    memcpy(buf + 32, swap ? a : b, 32);
    buf[64] = 0xff; /* node marker: an id's preimage ends in its type byte 0..2 */
    keccak256(buf, sizeof buf, out);
}

/* Reduce one level of w nodes in place; returns the width of the next level. */
static size_t level_up(uint8_t (*nodes)[32], size_t w)
{
    size_t half = w / 2;
    for (size_t k = 0; k < half; k++)
        merkle_node(nodes[2 * k], nodes[2 * k + 1], nodes[k]);
    if (w & 1)
        memmove(nodes[half], nodes[w - 1], 32); /* odd last node: promoted */
    return w - half;
}

int merkle_proof(const uint8_t (*leaves)[32], size_t n, size_t index,
                 uint8_t proof[MERKLE_MAX_DEPTH][32], size_t *plen, uint8_t root[32])
{
    uint8_t(*w)[32];
    size_t len = 0;

    if (n == 0 || index >= n || n > SIZE_MAX / 32)
        return -1;
    w = malloc(n * 32);
    if (!w)
        return -1;
    memcpy(w, leaves, n * 32);
    for (size_t width = n, i = index; width > 1; i /= 2) {
        size_t sib = i ^ 1;
        if (sib < width && proof) /* no sibling: the odd last node, promoted */
            memcpy(proof[len++], w[sib], 32);
        width = level_up(w, width);
    }
    if (plen)
        *plen = len;
    if (root)
        memcpy(root, w[0], 32);
    free(w);
    return 0;
}

int merkle_root(const uint8_t (*leaves)[32], size_t n, uint8_t root[32])
{
    return merkle_proof(leaves, n, 0, NULL, NULL, root);
}

void merkle_fold(const uint8_t leaf[32], const uint8_t (*proof)[32], size_t plen, uint8_t root[32])
{
    uint8_t h[32];
    memcpy(h, leaf, 32);
    for (size_t i = 0; i < plen; i++)
        merkle_node(h, proof[i], h);
    memcpy(root, h, 32);
}

int merkle_verify(const uint8_t leaf[32], const uint8_t (*proof)[32], size_t plen,
                  const uint8_t root[32])
{
    uint8_t h[32];
    merkle_fold(leaf, proof, plen, h);
    return memcmp(h, root, 32) == 0;
}
