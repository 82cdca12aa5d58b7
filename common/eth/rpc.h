/*
 * rpc — Ethereum JSON-RPC 2.0 over HTTP(S) with libcurl: one reusable
 * connection per client, a timeout per call, errors as values.
 */
#ifndef COMMON_RPC_H
#define COMMON_RPC_H

#include <jansson.h>
#include <stdint.h>

typedef struct rpc_client rpc_client; /* opaque; not thread-safe: one per thread */

enum {
    RPC_ERR_TRANSPORT = -1, /* connection refused, timeout, HTTP error */
    RPC_ERR_PARSE = -2,     /* the response is not a valid JSON-RPC response */
    RPC_ERR_REMOTE = -3,    /* the node answered with a JSON-RPC error (message in err) */
    RPC_ERR_NOMEM = -4,
};

/** Create a client for `url` (copied) with a per-call timeout in ms.
 *  Out: *out, owned by the caller (rpc_client_destroy). Returns 0 or RPC_ERR_NOMEM. */
int rpc_client_create(rpc_client **out, const char *url, long timeout_ms);
/** Free the client and its connection. c may be NULL; no call may be in
 *  flight on it. */
void rpc_client_destroy(rpc_client *c);

/** Call `method` with `params` (a JSON array; the reference is stolen, even on error).
 *  Blocks up to the timeout.
 *  Out: *result: the "result" member, a new reference owned by the caller
 *       (json_decref), set only on success; err/errlen: reason on failure (may be NULL).
 *  Returns: 0 or a negative RPC_ERR_* code. */
int rpc_call(rpc_client *c, const char *method, json_t *params, json_t **result, char *err,
             size_t errlen);

/** Failed rpc_call()s in this process (all clients) with error `code`
 *  (RPC_ERR_TRANSPORT, _PARSE, _REMOTE or _NOMEM), since start; 0 for any
 *  other code. For status reports. Thread-safe. */
uint64_t rpc_error_count(int code);

/** Convenience: call a method whose result is a hex QUANTITY (eth_blockNumber,
 *  eth_chainId, eth_getTransactionCount, ...) and parse it.
 *  Returns: 0 or a negative RPC_ERR_* code. */
int rpc_call_u64(rpc_client *c, const char *method, json_t *params, uint64_t *out, char *err,
                 size_t errlen);

#endif
