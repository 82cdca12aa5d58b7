/*
 * keccak — Keccak-f[1600] sponge with rate 136 bytes (Keccak-256).
 * Reference: FIPS 202 section 3 for the permutation; Ethereum keeps the
 * pre-standard domain padding byte 0x01.
 */
#include "eth/keccak.h"

#include <string.h>

#include "base/bytes.h"

#define RATE 136

static const uint64_t rc[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};
static const int rotc[24] = {1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
                             27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44};
static const int piln[24] = {10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
                             15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1};

#define ROTL(x, y) (((x) << (y)) | ((x) >> (64 - (y))))

static void keccakf(uint64_t st[25])
{
    uint64_t bc[5], t;
    for (int r = 0; r < 24; r++) {
        for (int i = 0; i < 5; i++)
            bc[i] = st[i] ^ st[i + 5] ^ st[i + 10] ^ st[i + 15] ^ st[i + 20];
        for (int i = 0; i < 5; i++) {
            t = bc[(i + 4) % 5] ^ ROTL(bc[(i + 1) % 5], 1);
            for (int j = 0; j < 25; j += 5)
                st[j + i] ^= t;
        }
        t = st[1];
        for (int i = 0; i < 24; i++) {
            int j = piln[i];
            bc[0] = st[j];
            st[j] = ROTL(t, rotc[i]);
            t = bc[0];
        }
        for (int j = 0; j < 25; j += 5) {
            for (int i = 0; i < 5; i++)
                bc[i] = st[j + i];
            for (int i = 0; i < 5; i++)
                st[j + i] ^= (~bc[(i + 1) % 5]) & bc[(i + 2) % 5];
        }
        st[0] ^= rc[r];
    }
}

/* Lanes are little-endian: byte i of the state is byte (i%8) of lane i/8. */
static void xor_byte(uint64_t st[25], size_t i, uint8_t b)
{
    st[i / 8] ^= (uint64_t)b << (8 * (i % 8));
}

void keccak_init(keccak_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
}

void keccak_update(keccak_ctx *ctx, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        xor_byte(ctx->st, ctx->pos++, p[i]);
        if (ctx->pos == RATE) {
            keccakf(ctx->st);
            ctx->pos = 0;
        }
    }
}

void keccak_final(keccak_ctx *ctx, uint8_t out[32])
{
    xor_byte(ctx->st, ctx->pos, 0x01);
    xor_byte(ctx->st, RATE - 1, 0x80);
    keccakf(ctx->st);
    for (size_t i = 0; i < 4; i++)
        bytes_put_le64(out + 8 * i, ctx->st[i]);
}

void keccak256(const void *data, size_t len, uint8_t out[32])
{
    keccak_ctx c;
    keccak_init(&c);
    keccak_update(&c, data, len);
    keccak_final(&c, out);
}
