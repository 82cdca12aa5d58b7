/*
 * client — the one Ethereum client of the stack, on top of common/eth/rpc.
 *
 * Two layers:
 *
 *  1. Reading contract events over any rpc_client (the gateway and
 *     batch_proof hold bare rpc clients): eth_logs_get is the only place
 *     that sends eth_getLogs, and eth_log_pager is the only loop that pages
 *     over block ranges. A pager walks a span of blocks forwards or
 *     backwards in ranges of `range` blocks; with thresholds set it adapts
 *     the range to the density of events (halve after a failed call or a
 *     page of more than logs_high logs, double below logs_low), so a sparse
 *     chain of millions of blocks and a dense one both read in few calls.
 *
 *  2. eth_client: one account talking to one chain (the chain logger):
 *     chain id check, EIP-1559 detection (baseFeePerGas in the latest
 *     block), fees under configured ceilings, nonces, signing and sending
 *     raw transactions, receipts, calls, logs. Every node error becomes
 *     ETH_ERR_CHAIN (retry later) unless it is one the caller must act on
 *     (nonce too low, replacement underpriced, fee above the ceiling).
 *
 * Fees come from the node, which is not trusted with money: every sum and
 * product of fees saturates at UINT64_MAX, the fee bump after "replacement
 * underpriced" is bounded (ETH_CLIENT_MAX_BUMP_PCT), a signed fee never
 * exceeds max_fee_per_gas / max_priority_fee, and when the node's base fee
 * (or legacy gas price) alone is above max_fee_per_gas nothing is signed.
 */
#ifndef COMMON_ETH_CLIENT_H
#define COMMON_ETH_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "eth/rpc.h"
#include "eth/tx.h"

/* ---- event logs over an rpc_client ---------------------------------- */

enum {
    /* eth_logs_get: the node answered, but the result is not a JSON array. */
    ETH_LOGS_ERR_SHAPE = -5,
};

/** What eth_getLogs asks for, apart from the block range: the contract
 *  and the topics, a JSON array sent exactly as given (each position a
 *  topic string, null for "any", or an array of alternatives). */
typedef struct {
    char address[43]; /* "0x" + 40 hex */
    json_t *topics;   /* borrowed: keep it alive while the filter is used; NULL = none */
} eth_log_filter;

/** Fill f: address copied (at most 42 characters), topics borrowed. */
void eth_log_filter_init(eth_log_filter *f, const char *address, json_t *topics);

/** Block number meaning "latest" as `to` of eth_logs_get. */
#define ETH_BLOCK_LATEST UINT64_MAX

/** eth_getLogs(filter, fromBlock = from, toBlock = to) (to ==
 *  ETH_BLOCK_LATEST: "latest"). Blocks up to the rpc client's timeout.
 *  Thread-safety: as the rpc client (one thread per client).
 *  Out: *logs: the result array, a new reference owned by the caller,
 *       set only on success; err/errlen: the reason on failure (may be NULL).
 *  Returns: 0, a negative RPC_ERR_* code from rpc_call, or
 *           ETH_LOGS_ERR_SHAPE when the result is not an array. */
int eth_logs_get(rpc_client *rpc, const eth_log_filter *f, uint64_t from, uint64_t to,
                 json_t **logs, char *err, size_t errlen);

/** How a pager walks its span. range_min == range_max (or logs_high == 0)
 *  gives fixed pages of `range` blocks; a failed call is then final. */
typedef struct {
    int backward;       /* 0: oldest block first; 1: newest first */
    uint64_t range;     /* blocks in the first page (>= 1) */
    uint64_t range_min; /* never halve below this (>= 1) */
    uint64_t range_max; /* stop doubling once the range reaches this */
    size_t logs_high;   /* halve after a page of more logs than this (0: never adapt) */
    size_t logs_low;    /* double after a page of fewer logs than this */
} eth_log_paging;

/** A walk over the blocks [first, last] in pages. Plain struct on the
 *  caller's stack; the public fields may be read between calls. Not
 *  thread-safe: one thread per pager (and per rpc client). */
typedef struct {
    rpc_client *rpc; /* borrowed */
    eth_log_filter filter;
    eth_log_paging opt;
    uint64_t first, last; /* the span still to read (empty when done) */
    int done;
    /* after eth_log_pager_next: */
    uint64_t from, to; /* the page just read (or just attempted, on failure) */
    uint64_t range;    /* blocks in the next page */
    int retry;         /* after a failure: 1 when the range was halved, so calling
                          eth_log_pager_next again retries a smaller page */
    unsigned calls;    /* eth_getLogs calls made, failed ones included */
} eth_log_pager;

/** Start a walk of [first, last] (empty when first > last) with filter f
 *  (copied; the strings it points to are borrowed) and paging opt. */
void eth_log_pager_init(eth_log_pager *p, rpc_client *rpc, const eth_log_filter *f, uint64_t first,
                        uint64_t last, const eth_log_paging *opt);

/** Read the next page: one eth_getLogs over [p->from, p->to]. Blocks up to
 *  the rpc timeout. On success the span shrinks past the page and the range
 *  adapts to the page's number of logs. On failure the span is kept and,
 *  when adaptive and above range_min, the range is halved (p->retry = 1).
 *  Out: *logs: the page's result array (new reference, caller frees), set
 *       only when 1 is returned; err/errlen: reason on failure (may be NULL).
 *  Returns: 1 a page was read, 0 the span is done (no call made), or a
 *           negative code of eth_logs_get. */
int eth_log_pager_next(eth_log_pager *p, json_t **logs, char *err, size_t errlen);

/* ---- eth_client: one account on one chain --------------------------- */

enum {
    ETH_ERR_CHAIN = -20,       /* chain unreachable or answered with an error: retry later */
    ETH_ERR_NONCE = -21,       /* the node rejected the nonce (too low): resync it */
    ETH_ERR_UNDERPRICED = -22, /* replacement underpriced: bump fees */
    ETH_ERR_FATAL = -23,       /* misconfiguration (wrong chain id, no contract): do not retry */
    ETH_ERR_FEE_CEILING = -24, /* the node's fee is above max_fee_per_gas: wait, retry later */
};

/** Default ceilings (wei) set by eth_client_init: 1000 gwei per gas, 100 gwei tip. */
#define ETH_CLIENT_DEFAULT_MAX_FEE 1000000000000ull
#define ETH_CLIENT_DEFAULT_MAX_PRIORITY_FEE 100000000000ull
/** Fee bumps after "replacement underpriced" add 20 % each, up to this total. */
#define ETH_CLIENT_BUMP_STEP_PCT 20
#define ETH_CLIENT_MAX_BUMP_PCT 200

/** One account on one chain. Fields are readable by the owner; set the
 *  ceilings after eth_client_init. Not thread-safe: one thread per client,
 *  except the counter, which other threads may read. */
typedef struct {
    rpc_client *rpc;
    tx_key *key; /* not owned; NULL for read-only use */
    uint8_t addr[20];
    char addr_hex[43];
    uint64_t chain_id;
    int eip1559;                    /* 1 when the latest block has baseFeePerGas */
    uint64_t base_fee;              /* wei, EIP-1559, as the node said */
    uint64_t priority_fee;          /* wei, EIP-1559, as the node said */
    uint64_t gas_price;             /* wei, legacy, as the node said */
    uint64_t max_fee_per_gas;       /* ceiling on max_fee / gas_price signed (wei) */
    uint64_t max_priority_fee;      /* ceiling on the tip signed (wei) */
    int fee_bump_pct;               /* extra percent on fees after "underpriced" */
    double fees_at;                 /* monotonic seconds of the last fee refresh */
    volatile uint64_t fee_refusals; /* signings refused: node fee above the ceiling */
    char err[256];                  /* last error text (never contains the key) */
} eth_client;

/** Create the RPC client (copies rpc_url); does not contact the chain. The
 *  fee ceilings start at the ETH_CLIENT_DEFAULT_* values. key is borrowed
 *  (may be NULL: no signing, calls have no "from").
 *  Returns 0 or -1 (out of memory). */
int eth_client_init(eth_client *e, const char *rpc_url, tx_key *key, uint64_t chain_id,
                    long timeout_ms);
/** Free the RPC client. Safe on an initialised client only, once. */
void eth_client_free(eth_client *e);
/** Check eth_chainId == chain_id, detect EIP-1559 and refresh fees. Blocks.
 *  Returns: 0, ETH_ERR_CHAIN (unreachable) or ETH_ERR_FATAL (other chain id). */
int eth_client_connect(eth_client *e);
/** Refresh the fee parameters if older than max_age_s (0: now). Blocks.
 *  Returns 0 or ETH_ERR_CHAIN. */
int eth_client_refresh_fees(eth_client *e, double max_age_s);
/** The fees a transaction signed now would carry: the node's fees (2 x base
 *  fee + tip as max fee, EIP-1559; gas price, legacy) plus fee_bump_pct,
 *  saturating, then clamped to the ceilings. Does not block.
 *  Out: *max_fee, *prio (EIP-1559) or *max_fee = gas price, *prio = 0 (legacy).
 *  Returns: 0, or ETH_ERR_FEE_CEILING when the node's base fee (legacy: gas
 *  price) alone is above max_fee_per_gas (outputs then hold the clamped
 *  values, for the log). */
int eth_client_fees(const eth_client *e, uint64_t *max_fee, uint64_t *prio);
/** After "replacement underpriced": raise fee_bump_pct by one step unless
 *  it is at ETH_CLIENT_MAX_BUMP_PCT or the fees are already at the ceiling.
 *  Returns 1 when bumped, 0 when at the limit (logged, rate-limited). */
int eth_client_bump_fees(eth_client *e);
/** eth_getTransactionCount(self, tag) ("latest" or "pending"). Blocks.
 *  Returns 0 or ETH_ERR_CHAIN. */
int eth_client_nonce(eth_client *e, const char *tag, uint64_t *nonce);
/** Sign a transaction to `to` (20 bytes; NULL: contract creation) with the
 *  fees of eth_client_fees. Does not block. Needs a key.
 *  Out: *raw (malloc'd, caller frees), *rawlen, txhash.
 *  Returns: 0, ETH_ERR_FEE_CEILING (nothing signed; error logged, counted in
 *  fee_refusals, and the fees are refreshed on the next refresh call), or
 *  -1 (signing failed). */
int eth_client_sign(eth_client *e, const uint8_t *to, const uint8_t *data, size_t len,
                    uint64_t nonce, uint64_t gas, uint8_t **raw, size_t *rawlen,
                    uint8_t txhash[32]);
/** eth_sendRawTransaction. "already known" counts as success. Blocks.
 *  Returns: 0, ETH_ERR_NONCE, ETH_ERR_UNDERPRICED or ETH_ERR_CHAIN. */
int eth_client_send_raw(eth_client *e, const uint8_t *raw, size_t rawlen);
/** eth_getTransactionReceipt. Blocks.
 *  Out: *receipt (new reference, caller frees) when found, else NULL.
 *  Returns: 1 found, 0 not (yet) known, ETH_ERR_CHAIN. */
int eth_client_receipt(eth_client *e, const uint8_t txhash[32], json_t **receipt);
/** Wait for a receipt, polling with growing intervals (5 ms .. 500 ms), at
 *  most timeout_ms, or until *stop (stop may be NULL). Blocks.
 *  Out: *receipt as eth_client_receipt.
 *  Returns: 1 found, 0 timeout, ETH_ERR_CHAIN when the chain stayed unreachable. */
int eth_client_wait_receipt(eth_client *e, const uint8_t txhash[32], int timeout_ms,
                            json_t **receipt, volatile int *stop);
/** eth_call to `to` at "latest" (from self when there is a key). Blocks.
 *  Out: *out (malloc'd, caller frees; NULL on error) / *outlen.
 *  Returns 0 or ETH_ERR_CHAIN. */
int eth_client_call(eth_client *e, const uint8_t to[20], const uint8_t *data, size_t len,
                    uint8_t **out, size_t *outlen);
/** eth_estimateGas for a call from self. Blocks.
 *  Returns 0 or ETH_ERR_CHAIN (also when it would revert). */
int eth_client_estimate(eth_client *e, const uint8_t *to, const uint8_t *data, size_t len,
                        uint64_t *gas);
/** Size in bytes of the code at addr (0 = no contract). Blocks.
 *  Returns 0 or ETH_ERR_CHAIN. */
int eth_client_code_size(eth_client *e, const uint8_t addr[20], size_t *size);
/** eth_blockNumber. Blocks. Returns 0 or ETH_ERR_CHAIN. */
int eth_client_block_number(eth_client *e, uint64_t *bn);

/** The topics of the per-record events (Recorded, RecordLogged,
 *  AnomalyLogged: anomaly_log_event_topic0): [topic0s, ids or null].
 *  ids: a JSON array of "0x" + 64 hex ids (any of them), borrowed; NULL = any.
 *  No logger filter: its topic position differs between the events, so
 *  callers check the decoded logger (anomaly_log_proof.logger).
 *  Returns a new reference (caller frees), NULL when out of memory. */
json_t *eth_client_anomaly_topics(json_t *ids);
/** The topics of BatchLogged(batch, logger) events: [topic0, null] and,
 *  with a logger (20 bytes), [.., logger word]. Returns a new reference. */
json_t *eth_client_batch_topics(const uint8_t *logger);

/** eth_getLogs for the per-record events of `contract` in [from, to] in
 *  one call, with ids as eth_client_anomaly_topics (every logger's). Blocks.
 *  Out: *logs (new reference, a JSON array; caller frees).
 *  Returns 0 or ETH_ERR_CHAIN (logged as chain_error). */
int eth_client_logs(eth_client *e, const uint8_t contract[20], uint64_t from, uint64_t to,
                    json_t *ids, json_t **logs);
/** The same for BatchLogged events of one logger (20 bytes) or all (NULL). */
int eth_client_batch_logs(eth_client *e, const uint8_t contract[20], uint64_t from, uint64_t to,
                          const uint8_t *logger, json_t **logs);
/** Start a pager over [first, last] on this client's connection, in fixed
 *  pages of `range` blocks, oldest first. The client must outlive the pager. */
void eth_client_pager(eth_client *e, eth_log_pager *p, const eth_log_filter *f, uint64_t first,
                      uint64_t last, uint64_t range);
/** eth_log_pager_next with the error logged as chain_error (text in e->err).
 *  Blocks. Returns 1 (page in *logs, caller frees), 0 done, or ETH_ERR_CHAIN. */
int eth_client_pager_next(eth_client *e, eth_log_pager *p, json_t **logs);

/** AnomalyLogger.batchRoot(batch) via eth_call (zero for no such batch).
 *  Blocks. Returns 0 or ETH_ERR_CHAIN. */
int eth_client_batch_root(eth_client *e, const uint8_t contract[20], uint64_t batch,
                          uint8_t root[32]);
/** AnomalyLogger.nextSeq(logger) via eth_call. Blocks. Returns 0 or ETH_ERR_CHAIN. */
int eth_client_next_seq(eth_client *e, const uint8_t contract[20], const uint8_t logger[20],
                        uint64_t *seq);

#endif
