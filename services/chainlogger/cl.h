/*
 * chainlogger internals shared by its files: the chain client (cl_eth.c),
 * contract deployment and the address file (cl_deploy.c), key loading
 * (cl_key.c), the batching sender (cl_sender.c) and `verify` (cl_verify.c).
 * main.c parses configuration and wires these together.
 */
#ifndef CHAINLOGGER_CL_H
#define CHAINLOGGER_CL_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "eth/anomaly_log.h"
#include "store/journal.h"
#include "bus/mqtt.h"
#include "eth/rpc.h"
#include "eth/tx.h"

/* ---- cl_eth.c: one account talking to one chain ---- */

enum {
    CL_ERR_CHAIN = -20,       /* chain unreachable or answered with an error: retry later */
    CL_ERR_NONCE = -21,       /* the node rejected the nonce (too low): resync it */
    CL_ERR_UNDERPRICED = -22, /* replacement underpriced: bump fees */
    CL_ERR_FATAL = -23,       /* misconfiguration (wrong chain id, no contract): do not retry */
};

typedef struct {
    rpc_client *rpc;
    tx_key *key; /* not owned */
    uint8_t addr[20];
    char addr_hex[43];
    uint64_t chain_id;
    int eip1559;           /* 1 when the latest block has baseFeePerGas */
    uint64_t base_fee;     /* wei, EIP-1559 */
    uint64_t priority_fee; /* wei, EIP-1559 */
    uint64_t gas_price;    /* wei, legacy */
    int fee_bump_pct;      /* extra percent on fees after "underpriced" */
    double fees_at;        /* monotonic seconds of the last fee refresh */
    char err[256];         /* last error text (never contains the key) */
} cl_eth;

/** Create the RPC client. Does not contact the chain. Returns 0 or -1. */
int cl_eth_init(cl_eth *e, const char *rpc_url, tx_key *key, uint64_t chain_id, long timeout_ms);
void cl_eth_free(cl_eth *e);
/** Check eth_chainId == chain_id and detect EIP-1559 support; refresh fees.
 *  Returns: 0, CL_ERR_CHAIN (unreachable) or CL_ERR_FATAL (other chain id). */
int cl_eth_connect(cl_eth *e);
/** Refresh fee parameters if older than max_age_s. Returns 0 or CL_ERR_CHAIN. */
int cl_eth_refresh_fees(cl_eth *e, double max_age_s);
/** eth_getTransactionCount(self, tag) ("latest" or "pending"). Returns 0 or CL_ERR_CHAIN. */
int cl_eth_nonce(cl_eth *e, const char *tag, uint64_t *nonce);
/** Sign a transaction to `to` (NULL: contract creation) with the current fees.
 *  Out: *raw (malloc'd, caller frees), *rawlen, txhash. Returns 0 or -1. */
int cl_eth_sign(cl_eth *e, const uint8_t *to, const uint8_t *data, size_t len, uint64_t nonce,
                uint64_t gas, uint8_t **raw, size_t *rawlen, uint8_t txhash[32]);
/** eth_sendRawTransaction. "already known" counts as success.
 *  Returns: 0, CL_ERR_NONCE, CL_ERR_UNDERPRICED or CL_ERR_CHAIN. */
int cl_eth_send_raw(cl_eth *e, const uint8_t *raw, size_t rawlen);
/** eth_getTransactionReceipt. Out: *receipt (new reference) when found.
 *  Returns: 1 found, 0 not (yet) known, CL_ERR_CHAIN. */
int cl_eth_receipt(cl_eth *e, const uint8_t txhash[32], json_t **receipt);
/** eth_call to `to` at "latest". Out: *out (malloc'd) / *outlen. Returns 0 or CL_ERR_CHAIN. */
int cl_eth_call(cl_eth *e, const uint8_t to[20], const uint8_t *data, size_t len, uint8_t **out,
                size_t *outlen);
/** eth_estimateGas for a call from self. Returns 0 or CL_ERR_CHAIN (also when it would revert). */
int cl_eth_estimate(cl_eth *e, const uint8_t *to, const uint8_t *data, size_t len, uint64_t *gas);
/** Size of the code at addr (0 = no contract). Returns 0 or CL_ERR_CHAIN. */
int cl_eth_code_size(cl_eth *e, const uint8_t addr[20], size_t *size);
/** eth_getLogs for the AnomalyLogger event of `contract` in [from, to] with
 *  optional topic filters (NULL = any): ids (a JSON array of "0x.." or NULL),
 *  logger (20 bytes or NULL). Out: *logs (new reference, a JSON array).
 *  Returns 0 or CL_ERR_CHAIN. */
int cl_eth_logs(cl_eth *e, const uint8_t contract[20], uint64_t from, uint64_t to, json_t *ids,
                const uint8_t *logger, json_t **logs);
/** eth_getLogs for BatchLogged events of `contract` in [from, to], of one
 *  logger (20 bytes) or of all (NULL). Out: *logs (new reference, a JSON
 *  array). Returns 0 or CL_ERR_CHAIN. */
int cl_eth_batch_logs(cl_eth *e, const uint8_t contract[20], uint64_t from, uint64_t to,
                      const uint8_t *logger, json_t **logs);
/** AnomalyLogger.batchRoot(batch) via eth_call (zero for no such batch).
 *  Returns 0 or CL_ERR_CHAIN. */
int cl_eth_batch_root(cl_eth *e, const uint8_t contract[20], uint64_t batch, uint8_t root[32]);
/** eth_blockNumber. Returns 0 or CL_ERR_CHAIN. */
int cl_eth_block_number(cl_eth *e, uint64_t *bn);
/** AnomalyLogger.nextSeq(logger) via eth_call. Returns 0 or CL_ERR_CHAIN. */
int cl_eth_next_seq(cl_eth *e, const uint8_t contract[20], const uint8_t logger[20], uint64_t *seq);
/** Wait for a receipt, polling with growing intervals, at most timeout_ms.
 *  Returns 1 found, 0 timeout, CL_ERR_CHAIN when the chain stayed unreachable. */
int cl_eth_wait_receipt(cl_eth *e, const uint8_t txhash[32], int timeout_ms, json_t **receipt,
                        volatile int *stop);

/* ---- cl_key.c ---- */

/** Load the signing key from key_file (refused when group/world accessible,
 *  except a Docker secret under /run/secrets/) or, when key_file is
 *  NULL/empty, from the hex string env_key.
 *  Returns 0 or -1 (reason logged, never the key). */
int cl_key_load(tx_key **out, const char *key_file, const char *env_key);

/** 1 when k is one of Ganache's or Anvil's well-known development accounts
 *  (their private keys are public), else 0. */
int cl_key_is_dev(const tx_key *k);

/** 0 when k may sign on chain_id; -1 (logged, saying why and what to do)
 *  for a development account on any chain but 1337 and 31337. */
int cl_key_check_chain(const tx_key *k, long chain_id);

/* ---- cl_deploy.c ---- */

/** Path of the address file: <state_dir>/contract-<chain_id>.json. */
void cl_contract_file(char *out, size_t cap, const char *state_dir, uint64_t chain_id);
/** Read the recorded address. Returns 0 (addr filled) or -1 when absent/invalid. */
int cl_contract_load(const char *state_dir, uint64_t chain_id, uint8_t addr[20]);
/** Deploy the contract unless the recorded address has code; record it.
 *  Out: addr. Returns 0, CL_ERR_CHAIN or CL_ERR_FATAL. */
int cl_deploy(cl_eth *e, const char *state_dir, const char *contract_json, uint8_t addr[20],
              int *deployed);
/** Owner call: addLogger(who) or removeLogger(who). Waits for the receipt.
 *  Returns 0, CL_ERR_CHAIN or CL_ERR_FATAL (reverted: not the owner). */
int cl_set_logger(cl_eth *e, const uint8_t contract[20], const uint8_t who[20], int add);

/* ---- cl_sender.c ---- */

#define CL_MAX_PIPELINE 8

typedef struct {
    journal *j;
    cl_eth *eth;
    const char *rpc_url; /* for the broadcaster's own connection */
    long rpc_timeout_ms;
    int pipeline; /* batches in flight (1 = strictly serial) */
    uint8_t contract[20];
    int batch_size;
    int max_delay_ms;
    int receipt_timeout_ms;
    mqtt_client *mqtt; /* for chain/logged; may be NULL */
    volatile int *stop;
    /* counters, read by the status logger */
    volatile uint64_t logged, batches, retries;
} cl_sender;

/** The sender loop: drains the journal into transactions until *stop.
 *  Returns 0 on stop, or CL_ERR_FATAL (journal I/O failure, contract gone). */
int cl_sender_run(cl_sender *s);

/** Publish chain/logged/{sensor} for a confirmed journal entry. Returns 0 or -1. */
int cl_publish_logged(mqtt_client *m, const journal_entry *e);

/* ---- cl_intake.c: MQTT messages -> journal (see the file comment) ---- */

typedef struct {
    journal *j;
    mqtt_client *mqtt; /* for chain/logged of duplicates; may be NULL */
    int sync_each;     /* 1: fsync per anomaly (JOURNAL_SYNC=each); 0: group commit */
    int sync_ms;       /* group commit: fsync at most this often */
    volatile int *stop;
    /* counters (written by the MQTT thread, read by the status logger) */
    volatile uint64_t n_messages, n_accepted, n_invalid, n_dups, n_scans, n_commits;
    /* internal */
    long fault_stall, fault_fail;
    pthread_t committer;
    int committer_started;
} cl_intake;

/** Read the fault-injection settings. Returns 0. */
int cl_intake_init(cl_intake *in);
/** The mqtt_message_cb of the chain logger (user = the cl_intake). Validates
 *  the anomaly and journals it; returns 1 (never 0: it exits the process
 *  when the journal fails, before paho acknowledges). Runs on paho's thread. */
int cl_intake_message(void *user, const char *topic, const void *payload, size_t len);
/** The journal key of a record: its anomaly's ts in ms (INT64_MIN when malformed). */
int64_t cl_intake_key(const uint8_t *data, size_t len);
/** Start the group-commit thread (nothing with sync_each). Returns 0 or -1. */
int cl_intake_start(cl_intake *in);
/** Stop the committer (after *stop is set) and sync the journal a last time. */
void cl_intake_stop(cl_intake *in);

/* ---- cl_verify.c ---- */

/** Compare every anomaly logged on chain by `logger` with the journal.
 *  Prints a report to stdout. Returns 0 when everything matches, 1 when
 *  not, CL_ERR_CHAIN when the chain could not be read. */
int cl_verify(cl_eth *e, const uint8_t contract[20], const uint8_t logger[20], journal *j,
              int verbose);

/* ---- cl_prove.c ---- */

/** `chainlogger prove ID`: find the anomaly's batch from events, rebuild its
 *  Merkle proof and ask the contract's isLogged; print the JSON result
 *  {"id","logger","seq","tx_hash","block_number","batch","index","proof",
 *  "root","logged"} (plus "reason" when not logged) on stdout.
 *  Returns 0 logged, 1 not logged, CL_ERR_CHAIN or CL_ERR_FATAL (bad id). */
int cl_prove(cl_eth *e, const uint8_t contract[20], const char *id_hex);

/* ---- misc ---- */
double cl_now(void); /* monotonic seconds */
void cl_sleep_ms(int ms, volatile int *stop);
/** Journal path for this chain and contract under state_dir. */
void cl_journal_path(char *out, size_t cap, const char *state_dir, uint64_t chain_id,
                     const uint8_t contract[20]);

#endif
