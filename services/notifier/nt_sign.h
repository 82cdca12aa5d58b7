/*
 * nt_sign — the webhook signature: HMAC-SHA256 (RFC 2104 with FIPS 180-4
 * SHA-256) of the body, keyed with the channel's secret, sent as
 * `X-Signature-256: sha256=<64 lowercase hex>` (GitHub's header). The
 * HMAC is OpenSSL's libcrypto, which libcurl already loads; checked
 * against RFC 4231's test vectors (tests/unit/test_notifier.c).
 */
#ifndef NT_SIGN_H
#define NT_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define NT_SIGN_HEADER_MAX 80 /* "sha256=" + 64 hex + NUL, rounded up */

/** HMAC-SHA256 of msg under key. Out: mac (32 bytes).
 *  Returns: 0, or -1 (NULL argument, libcrypto failure). Thread-safe. */
int nt_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len, uint8_t mac[32]);

/** The header value "sha256=<hex>" for body under secret (a C string).
 *  Out: out, at least NT_SIGN_HEADER_MAX bytes. Returns: 0 or -1. */
int nt_sign_header(const char *secret, const void *body, size_t len, char *out, size_t cap);

#endif
