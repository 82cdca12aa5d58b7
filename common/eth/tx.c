/*
 * tx — build the RLP payload of a transaction twice: once without the
 * signature to get the signing hash, once with (v|yParity, r, s) appended.
 * The recovery id from secp256k1_ecdsa_sign_recoverable gives v; libsecp256k1
 * always produces low-s signatures, as Ethereum requires (EIP-2).
 */
#include "eth/tx.h"

#include <ctype.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/hex.h"
#include "eth/keccak.h"
#include "eth/rlp.h"

struct tx_key {
    secp256k1_context *ctx;
    uint8_t sk[32];
    uint8_t addr[20];
};

static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

int tx_key_create(tx_key **out, const uint8_t seckey[32])
{
    int rc = -1;
    tx_key *k;
    secp256k1_pubkey pub;
    uint8_t ser[65], h[32], seed[32];
    size_t serlen = sizeof(ser);

    *out = NULL;
    k = calloc(1, sizeof(*k));
    if (!k)
        return -1;
    k->ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!k->ctx)
        goto out;
    /* Blinding against side channels; failure to get entropy is not fatal. */
    if (getrandom(seed, sizeof(seed), 0) == (ssize_t)sizeof(seed) &&
        !secp256k1_context_randomize(k->ctx, seed))
        goto out;
    wipe(seed, sizeof(seed));
    if (!secp256k1_ec_seckey_verify(k->ctx, seckey))
        goto out;
    memcpy(k->sk, seckey, 32);
    if (!secp256k1_ec_pubkey_create(k->ctx, &pub, k->sk))
        goto out;
    secp256k1_ec_pubkey_serialize(k->ctx, ser, &serlen, &pub, SECP256K1_EC_UNCOMPRESSED);
    keccak256(ser + 1, 64, h); /* skip the 0x04 prefix */
    memcpy(k->addr, h + 12, 20);
    *out = k;
    k = NULL;
    rc = 0;
out:
    tx_key_destroy(k);
    return rc;
}

int tx_key_from_hex(tx_key **out, const char *hex)
{
    char buf[80];
    uint8_t sk[32];
    size_t n = 0;
    int rc;

    *out = NULL;
    while (*hex && isspace((unsigned char)*hex))
        hex++;
    while (hex[n] && !isspace((unsigned char)hex[n]) && n < sizeof(buf) - 1) {
        buf[n] = hex[n];
        n++;
    }
    buf[n] = 0;
    rc = hex_decode(sk, sizeof(sk), buf) == 32 ? tx_key_create(out, sk) : -1;
    wipe(buf, sizeof(buf));
    wipe(sk, sizeof(sk));
    return rc;
}

void tx_key_destroy(tx_key *k)
{
    if (!k)
        return;
    if (k->ctx)
        secp256k1_context_destroy(k->ctx);
    wipe(k, sizeof(*k));
    free(k);
}

void tx_key_address(const tx_key *k, uint8_t addr[20])
{
    memcpy(addr, k->addr, 20);
}

void tx_key_address_hex(const tx_key *k, char out[43])
{
    hex_encode(out, k->addr, 20, 1);
}

/* The unsigned field list shared by signing and serialisation, without the
 * list header. Legacy: nonce, gasPrice, gas, to, value, data.
 * 1559: chainId, nonce, maxPriorityFee, maxFee, gas, to, value, data, accessList. */
static void put_fields(rlp_buf *b, const tx_fields *f)
{
    if (f->type == TX_EIP1559) {
        rlp_put_u64(b, f->chain_id);
        rlp_put_u64(b, f->nonce);
        rlp_put_u64(b, f->max_priority_fee);
        rlp_put_u64(b, f->max_fee);
    } else {
        rlp_put_u64(b, f->nonce);
        rlp_put_u64(b, f->gas_price);
    }
    rlp_put_u64(b, f->gas_limit);
    rlp_put_bytes(b, f->has_to ? f->to : NULL, f->has_to ? 20 : 0);
    rlp_put_u64(b, f->value);
    rlp_put_bytes(b, f->data, f->data_len);
    if (f->type == TX_EIP1559) {
        size_t al = rlp_list_begin(b); /* empty access list */
        rlp_list_end(b, al);
    }
}

/* Serialise: 1559 is 0x02 || rlp(list); legacy is rlp(list). With sig == NULL the
 * signing payload (legacy: EIP-155 appends chainId, 0, 0). */
static int encode(const tx_fields *f, const uint8_t *sig64, int recid, rlp_buf *b)
{
    if (f->type != TX_LEGACY && f->type != TX_EIP1559)
        return -1;
    if (f->data_len && !f->data)
        return -1;
    rlp_init(b);
    if (f->type == TX_EIP1559) {
        uint8_t t = 0x02;
        rlp_put_raw(b, &t, 1);
    }
    size_t l = rlp_list_begin(b);
    put_fields(b, f);
    if (!sig64) {
        if (f->type == TX_LEGACY) {
            rlp_put_u64(b, f->chain_id);
            rlp_put_u64(b, 0);
            rlp_put_u64(b, 0);
        }
    } else {
        if (f->type == TX_EIP1559)
            rlp_put_u64(b, (uint64_t)recid);
        else
            rlp_put_u64(b, (uint64_t)recid + 35 + 2 * f->chain_id);
        rlp_put_uint_be(b, sig64, 32);
        rlp_put_uint_be(b, sig64 + 32, 32);
    }
    rlp_list_end(b, l);
    if (b->err) {
        rlp_free(b);
        return -1;
    }
    return 0;
}

int tx_signing_hash(const tx_fields *f, uint8_t hash[32])
{
    rlp_buf b;
    if (encode(f, NULL, 0, &b) < 0)
        return -1;
    keccak256(b.data, b.len, hash);
    rlp_free(&b);
    return 0;
}

int tx_sign(tx_key *k, const tx_fields *f, uint8_t **raw, size_t *rawlen, uint8_t txhash[32])
{
    uint8_t h[32], sig64[64];
    secp256k1_ecdsa_recoverable_signature sig;
    int recid;
    rlp_buf b;

    *raw = NULL;
    *rawlen = 0;
    if (tx_signing_hash(f, h) < 0)
        return -1;
    if (!secp256k1_ecdsa_sign_recoverable(k->ctx, &sig, h, k->sk, NULL, NULL))
        return -1;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(k->ctx, sig64, &recid, &sig);
    if (encode(f, sig64, recid, &b) < 0)
        return -1;
    keccak256(b.data, b.len, txhash);
    *raw = b.data; /* hand the buffer over */
    *rawlen = b.len;
    return 0;
}

int tx_create_address(const uint8_t sender[20], uint64_t nonce, uint8_t out[20])
{
    rlp_buf b;
    uint8_t h[32];
    rlp_init(&b);
    size_t l = rlp_list_begin(&b);
    rlp_put_bytes(&b, sender, 20);
    rlp_put_u64(&b, nonce);
    rlp_list_end(&b, l);
    if (b.err) {
        rlp_free(&b);
        return -1;
    }
    keccak256(b.data, b.len, h);
    rlp_free(&b);
    memcpy(out, h + 12, 20);
    return 0;
}
