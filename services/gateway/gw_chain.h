/*
 * gw_chain — the gateway's view of the chain: a follower thread that reads
 * AnomalyLogger events with eth_getLogs into the cache (gw_cache) and keeps
 * up with new blocks by polling eth_blockNumber, and a verifier thread that
 * re-fetches one anomaly's transaction receipt on demand to check its proof.
 *
 * The verifier also adds the contract's own isLogged answer ("onchain",
 * gw_onchain) to a single anomaly's verification.
 *
 * Two threads with one rpc_client each (rpc clients are not thread-safe),
 * so a long catch-up scan never delays a verification and neither ever runs
 * on the lws thread.
 *
 * Contract address: CONTRACT_ADDRESS when given, otherwise read from
 * $STATE_DIR/contract-<chain_id>.json ({"address": "0x..."}, written by
 * `chainlogger deploy`), re-read every poll until it appears.
 */
#ifndef GW_CHAIN_H
#define GW_CHAIN_H

#include <stdint.h>

#include "eth/anomaly_log.h"
#include "gw_bus.h"
#include "gw_cache.h"
#include "gw_metrics.h"

typedef struct gw_chain gw_chain; /* opaque */

typedef struct {
    const char *rpc_url; /* copied */
    long chain_id;
    const char *contract;  /* "0x" + 40 hex, or NULL to read the state file; copied */
    const char *state_dir; /* copied */
    long poll_ms;          /* head polling interval; 0 = 500 */
    long timeout_ms;       /* per JSON-RPC call; 0 = 10000 */
    gw_cache *cache;       /* borrowed */
    gw_bus *bus;           /* borrowed; new chain events are pushed as "logged"; may be NULL */
    gw_metrics *metrics;   /* borrowed */
    void (*wake)(void *);  /* called when a verification completes (e.g. lws_cancel_service) */
    void *wake_arg;
    long proof_cache_max;     /* isLogged answers cached per id (gw_onchain); 0 = none */
    long proof_confirmations; /* confirmations before an answer is cached; <= 1: at once */
} gw_chain_options;

typedef struct {
    int reachable; /* the last call (within 3 polls) succeeded */
    int has_contract;
    char contract[43];
    uint64_t head;      /* latest block number seen */
    uint64_t synced;    /* events read up to and including this block */
    int caught_up;      /* synced reached head at least once */
    long chain_id_seen; /* eth_chainId answer, -1 until known */
    double last_ok;     /* Unix s of the last successful call, 0 = never */
} gw_chain_status;

/** Start both threads. Out: *out, owned by the caller (gw_chain_stop).
 *  Returns 0, or -1 (no memory, thread creation failed; reason logged). */
int gw_chain_start(gw_chain **out, const gw_chain_options *opt);

/** Stop the threads (waits for an in-flight call, at most its timeout) and
 *  free everything, including jobs not yet taken. NULL is ok. */
void gw_chain_stop(gw_chain *c);

/** Snapshot of the follower's state. Thread-safe. */
void gw_chain_status_get(gw_chain *c, gw_chain_status *out);

/** What a job asks of the verifier thread. The archive kinds serve what the
 *  bounded cache evicted, from the chain itself. */
typedef enum {
    GW_JOB_VERIFY = 0, /* verify item_json/proof (a cached anomaly) against its receipt,
                          and ask the contract's isLogged ("onchain") */
    GW_JOB_VERIFY_ID,  /* find `id` on chain (eth_getLogs by its indexed topic), then verify */
    GW_JOB_PAGE, /* read the page `q` from the chain (eth_getLogs backwards from q's cursor) */
} gw_job_kind;

/** A job for the verifier thread: a verification of one anomaly against
 *  its transaction receipt, or a read of evicted anomalies from the chain. */
typedef struct gw_verify_job {
    struct gw_verify_job *next;
    /* In (set by the submitter) */
    gw_job_kind kind;
    char *item_json; /* GW_JOB_VERIFY: the cached item (owned by the job) */
    anomaly_log_proof proof;
    char id[ANOMALY_ID_HEX]; /* GW_JOB_VERIFY_ID: lower-case hex, no 0x */
    gw_cache_query q;        /* GW_JOB_PAGE: q.sensor_id points at sensor_buf or is NULL */
    char sensor_buf[SENSOR_ID_MAX];
    json_t *extra; /* GW_JOB_PAGE: members added to the page document (owned) */
    void *user;    /* the submitter's handle (e.g. its HTTP session) */
    int abandoned; /* set by the submitter's thread when nobody waits any more */
    /* Out (set by the verifier) */
    char *result_json; /* the complete response document (owned by the job) */
    int status;        /* HTTP status to answer with */
} gw_verify_job;

/** Maximum number of eth_getLogs calls one archive page may make; a page
 *  that has not filled up by then ends with a cursor to continue from. */
#define GW_ARCHIVE_MAX_CALLS 16

/** Queue a job; the verifier owns it until it appears in gw_chain_take_done().
 *  Returns 0, or -1 when the queue is full (the caller keeps the job). */
int gw_chain_verify_submit(gw_chain *c, gw_verify_job *job);

/** Take all completed jobs (linked by ->next); the caller owns and frees
 *  them with gw_verify_job_free(). Thread-safe. */
gw_verify_job *gw_chain_take_done(gw_chain *c);

void gw_verify_job_free(gw_verify_job *job);

/** Redact credentials from an RPC URL for display: drops user:password@
 *  and any query string. Out: out/cap (always NUL-terminated). */
void gw_chain_redact_url(const char *url, char *out, size_t cap);

/** Build the verification result for one anomaly from a receipt (the
 *  verifier's logic, exposed for tests).
 *  In:  item_json: the cached item; proof: its proof; contract: the
 *       contract address; receipt: eth_getTransactionReceipt result (may be
 *       NULL or json null); head: current block number (0 = unknown).
 *  Returns a new object: the item's members plus "verified" (bool) and
 *  "verification" {"reason", "checks": {...}, "confirmations"}; NULL when
 *  item_json does not parse. */
json_t *gw_chain_verify_result(const char *item_json, const anomaly_log_proof *proof, const char *contract,
                               const json_t *receipt, uint64_t head);

#endif
