/*
 * nt_sign — see nt_sign.h.
 */
#include "nt_sign.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "base/hex.h"

int nt_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len, uint8_t mac[32])
{
    unsigned int n = 0;
    if (!key || (!msg && len) || !mac || keylen > 1u << 30)
        return -1;
    if (!HMAC(EVP_sha256(), key, (int)keylen, msg ? msg : (const void *)"", len, mac, &n) ||
        n != 32)
        return -1;
    return 0;
}

int nt_sign_header(const char *secret, const void *body, size_t len, char *out, size_t cap)
{
    uint8_t mac[32];
    if (!secret || !out || cap < 7 + 64 + 1)
        return -1;
    if (nt_hmac_sha256(secret, strlen(secret), body, len, mac))
        return -1;
    memcpy(out, "sha256=", 7);
    hex_encode(out + 7, mac, 32, 0);
    return 0;
}
