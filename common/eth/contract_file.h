/*
 * contract_file — where a deployed AnomalyLogger's address is recorded:
 * <state_dir>/contract-<chain_id>.json, written by `chainlogger deploy`
 * and read by the chain logger and the gateway (which share the state
 * directory). One file per chain id, so one state directory can serve a
 * test chain and a real one. The file (2-space indented JSON, newline):
 *
 *   {
 *     "chain_id": 1337,
 *     "address": "0x<40 hex>",
 *     "tx_hash": "0x<64 hex>",
 *     "block_number": "0x1",
 *     "deployer": "0x<40 hex>"
 *   }
 *
 * Readers need only "address". The writer replaces the file atomically
 * (temporary file, fsync, rename), so a reader sees the old or the new
 * record, never half of one.
 */
#ifndef COMMON_CONTRACT_FILE_H
#define COMMON_CONTRACT_FILE_H

#include <stddef.h>
#include <stdint.h>

#define CONTRACT_FILE_PATH_MAX 4096 /* path buffer the functions below use */

#define CONTRACT_FILE_ABSENT (-1)  /* no file, unreadable, or not JSON */
#define CONTRACT_FILE_INVALID (-2) /* JSON without a valid "address" */
#define CONTRACT_FILE_ERR (-3)     /* argument or path too long, or a write failed */

/** The file's path, <state_dir>/contract-<chain_id>.json.
 *  Returns: its length, or CONTRACT_FILE_ERR when an argument is NULL or
 *           the path needs cap bytes or more (buf is then "" when cap > 0).
 *  Out: buf: caller-owned, cap bytes.
 *  Thread-safe. */
int contract_file_path(char *buf, size_t cap, const char *state_dir, uint64_t chain_id);

/** Read the recorded address ("0x"/"0X" and 40 hex digits, either case).
 *  Returns: 0 with addr filled, CONTRACT_FILE_ABSENT, CONTRACT_FILE_INVALID
 *           or CONTRACT_FILE_ERR (addr untouched on failure).
 *  Out: addr: 20 bytes.
 *  Blocks on file I/O; thread-safe. */
int contract_file_read(const char *state_dir, uint64_t chain_id, uint8_t addr[20]);

/** Record a deployment (format above), replacing any earlier record
 *  atomically.
 *  Returns: 0, or CONTRACT_FILE_ERR (errno tells why when a system call
 *           failed; the earlier record, if any, is then intact).
 *  In:  addr: the contract; tx_hash, block_number: as the receipt gives
 *       them (JSON-RPC hex strings); deployer: "0x..." address text.
 *  Blocks on file I/O and fsync; not safe against a concurrent writer of
 *  the same file (one deploy at a time). */
int contract_file_write(const char *state_dir, uint64_t chain_id, const uint8_t addr[20],
                        const char *tx_hash, const char *block_number, const char *deployer);

#endif
