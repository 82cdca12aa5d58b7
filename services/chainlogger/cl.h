/*
 * chainlogger internals shared by its files: contract deployment and the
 * address file (cl_deploy.c), key loading (cl_key.c), the batching sender
 * (cl_sender.c) and `verify` (cl_verify.c). The chain client itself is
 * common/eth/client (eth_client).
 * main.c parses configuration and wires these together.
 */
#ifndef CHAINLOGGER_CL_H
#define CHAINLOGGER_CL_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "eth/anomaly_log.h"
#include "eth/client.h"
#include "store/journal.h"
#include "bus/mqtt.h"
#include "eth/rpc.h"
#include "eth/tx.h"

/* ---- errors: the chain client's codes (common/eth/client.h) ---- */

enum {
    CL_ERR_CHAIN = ETH_ERR_CHAIN,             /* chain unreachable or in error: retry later */
    CL_ERR_NONCE = ETH_ERR_NONCE,             /* the node rejected the nonce: resync it */
    CL_ERR_UNDERPRICED = ETH_ERR_UNDERPRICED, /* replacement underpriced: bump fees */
    CL_ERR_FATAL = ETH_ERR_FATAL,             /* misconfiguration: do not retry */
    CL_ERR_FEE_CEILING = ETH_ERR_FEE_CEILING, /* node fee above MAX_FEE_PER_GAS: wait */
};

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
/** Deploy the contract from e's account (which becomes the owner) unless
 *  the recorded address has code; the constructor authorises `logger` as
 *  the first logger. Record the address. Blocks until the receipt.
 *  Out: addr, *deployed (1 when it deployed now). Returns 0, CL_ERR_CHAIN
 *  or CL_ERR_FATAL. */
int cl_deploy(eth_client *e, const char *state_dir, const char *contract_json,
              const uint8_t logger[20], uint8_t addr[20], int *deployed);
/** Owner call: addLogger(who) or removeLogger(who). Waits for the receipt.
 *  Returns 0, CL_ERR_CHAIN or CL_ERR_FATAL (reverted: not the owner). */
int cl_set_logger(eth_client *e, const uint8_t contract[20], const uint8_t who[20], int add);
/** Owner call: transferOwnership(who), step one of two: who becomes the
 *  pending owner. Waits for the receipt.
 *  Returns 0, CL_ERR_CHAIN or CL_ERR_FATAL (reverted: not the owner). */
int cl_transfer_ownership(eth_client *e, const uint8_t contract[20], const uint8_t who[20]);
/** acceptOwnership() from e's account, step two: the pending owner takes over.
 *  Returns 0, CL_ERR_CHAIN or CL_ERR_FATAL (reverted: not the pending owner). */
int cl_accept_ownership(eth_client *e, const uint8_t contract[20]);

/* ---- cl_sender.c ---- */

#define CL_MAX_PIPELINE 8

typedef struct {
    journal *j;
    eth_client *eth;
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

/** Publish chain/logged/{sensor} for a confirmed journal entry (an anomaly
 *  or an alarm event), with its seq and, when batch_no >= 0, its batch.
 *  Returns 0 or -1. */
int cl_publish_logged(mqtt_client *m, const journal_entry *e, int64_t batch_no);

/* ---- cl_intake.c: MQTT messages -> journal (see the file comment) ---- */

typedef struct {
    journal *j;
    mqtt_client *mqtt; /* for chain/logged of duplicates; may be NULL */
    int sync_each;     /* 1: fsync per anomaly (JOURNAL_SYNC=each); 0: group commit */
    int sync_ms;       /* group commit: fsync at most this often */
    volatile int *stop;
    /* counters (written by the MQTT thread, read by the status logger) */
    volatile uint64_t n_messages, n_accepted, n_invalid, n_dups, n_scans, n_commits;
    volatile uint64_t n_alarm_events, n_alarm_skipped; /* journalled / not for the chain */
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
/** The mqtt_message_cb for `alarms/events/{sensor_id}` (user = the
 *  cl_intake): a lifecycle event that goes on chain (opened, acknowledged,
 *  muted, false_positive, cleared) is journalled as an alarm event record
 *  under its deterministic id, so a re-delivery is a duplicate; "updated"
 *  and "reminder" are counted and dropped. Returns 1 (exits as
 *  cl_intake_message when the journal fails). Runs on paho's thread. */
int cl_intake_alarm_event(void *user, const char *topic, const void *payload, size_t len);
/** The journal key of a record: its anomaly's ts (or alarm event's at) in
 *  ms (INT64_MIN when malformed). */
int64_t cl_intake_key(const uint8_t *data, size_t len);
/** Start the group-commit thread (nothing with sync_each). Returns 0 or -1. */
int cl_intake_start(cl_intake *in);
/** Stop the committer (after *stop is set) and sync the journal a last time. */
void cl_intake_stop(cl_intake *in);

/* ---- cl_verify.c ---- */

/** Compare every anomaly logged on chain by `logger` with the journal.
 *  Prints a report to stdout. Returns 0 when everything matches, 1 when
 *  not, CL_ERR_CHAIN when the chain could not be read. */
int cl_verify(eth_client *e, const uint8_t contract[20], const uint8_t logger[20], journal *j,
              int verbose);

/* ---- cl_prove.c ---- */

/** `chainlogger prove ID`: find the record's batch from events, rebuild its
 *  Merkle proof and ask the contract's isLogged; print the JSON result
 *  {"id","kind","logger","seq","tx_hash","block_number","batch","index",
 *  "proof","root","logged"} (kind "anomaly" or "alarm_event"; plus
 *  "reason" when not logged) on stdout.
 *  Returns 0 logged, 1 not logged, CL_ERR_CHAIN or CL_ERR_FATAL (bad id). */
int cl_prove(eth_client *e, const uint8_t contract[20], const char *id_hex);

/* ---- misc ---- */
/** Journal path for this chain and contract under state_dir. */
void cl_journal_path(char *out, size_t cap, const char *state_dir, uint64_t chain_id,
                     const uint8_t contract[20]);

#endif
