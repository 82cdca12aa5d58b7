/*
 * journal — the chain logger's durable, append-only write-ahead log of
 * anomalies and their on-chain progress.
 *
 * Each anomaly is an entry (numbered 0, 1, 2, ... in acceptance order)
 * that moves through
 *     ACCEPTED --(batch signed: seq, nonce, tx hash)--> SENT --(receipt)--> CONFIRMED
 * and every transition is one record appended to the file. On open, the
 * records are replayed to rebuild the entries; a bad record (its length or
 * CRC-32C wrong) is a torn tail (a crash in the middle of a write) only when
 * no valid record follows it anywhere in the file: that tail is cut off. A
 * bad record with valid ones after it is damage, not a crash: open refuses
 * with JOURNAL_ERR_CORRUPT and leaves the file as it is, so no acknowledged
 * anomaly is ever dropped silently (details at the top of journal.c).
 * Compaction rewrites the file with the minimum records for the current
 * state (write to a temp file, fsync, rename).
 *
 * Record: u32 payload length (LE) | u32 CRC-32C of payload (LE) | payload;
 * payload[0] is the record type. The file starts with a header record.
 *
 * Thread-safety: every function locks the journal's mutex, so the MQTT
 * callback can append while the sender thread reads and marks entries.
 */
#ifndef COMMON_JOURNAL_H
#define COMMON_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct journal journal; /* opaque */

typedef enum {
    JOURNAL_ACCEPTED = 0,
    JOURNAL_SENT = 1,
    JOURNAL_CONFIRMED = 2,
} journal_state;

#define JOURNAL_REC_MAX 1024 /* largest payload an entry may carry */

/** One entry, as returned by journal_get (a copy). */
typedef struct {
    uint64_t index;
    uint8_t id[32];
    journal_state state;
    uint64_t seq;        /* SENT, CONFIRMED */
    uint64_t nonce;      /* SENT: nonce of the transaction that carries it */
    uint8_t tx_hash[32]; /* SENT: last transaction sent; CONFIRMED: the one that logged it */
    uint64_t block;      /* CONFIRMED */
    uint32_t log_index;  /* CONFIRMED */
    uint16_t len;        /* bytes in data */
    uint8_t data[JOURNAL_REC_MAX]; /* the payload given to journal_append */
} journal_entry;

enum {
    JOURNAL_ERR_IO = -1, /* read/write/fsync failed (errno logged) */
    JOURNAL_ERR_NOMEM = -2,
    JOURNAL_ERR_ARG = -3,    /* bad argument (index out of range, payload too long) */
    JOURNAL_ERR_STATE = -4,  /* transition not allowed from the entry's state */
    JOURNAL_ERR_FORMAT = -5, /* not a journal file (bad header) */
    JOURNAL_ERR_CORRUPT = -6 /* a bad record with valid ones after it (logged as
                                journal_corrupt with its offset); the file is untouched */
};

/** Maps an entry's payload to an ordering key (the chain logger: the
 *  anomaly's timestamp), used to tell which ids left the memory window. */
typedef int64_t (*journal_key_fn)(const uint8_t *data, size_t len);

typedef struct {
    int do_fsync;       /* 1 to fsync on every journal_sync (0 only for benchmarks/tests) */
    uint64_t window;    /* keep the ids of only the newest `window` entries in memory
                           (and up to a quarter more); 0 = all. Older entries leave only
                           once CONFIRMED; see journal_horizon for duplicate checks. */
    journal_key_fn key; /* NULL: every key is 0 */
} journal_opts;

/** Open (creating if absent) the journal at `path`, replay it, and cut a torn tail.
 *  Args: do_fsync: 1 to fsync on every journal_sync (0 only for benchmarks/tests).
 *  Out: *out owned by the caller (journal_close); *dropped (may be NULL): bytes
 *       discarded from a torn tail.
 *  Returns: 0 or a negative JOURNAL_ERR_*: JOURNAL_ERR_CORRUPT when a bad
 *  record has valid ones after it (nothing cut, the file unchanged).
 *  May block on disk I/O (and read the whole rest of the file after a bad record). */
int journal_open(journal **out, const char *path, int do_fsync, size_t *dropped);
/** journal_open with options (a bounded memory window, a key function).
 *  With a window, entries older than it are "evicted": journal_get and
 *  journal_find no longer know them (see journal_horizon), and
 *  journal_compact returns JOURNAL_ERR_STATE once any was evicted.
 *  Returns: 0 or a negative JOURNAL_ERR_*. */
int journal_open_opts(journal **out, const char *path, const journal_opts *o, size_t *dropped);
/** Open an existing journal for reading only (e.g. `verify` while the service
 *  runs): a torn tail is ignored, not cut, and every write returns JOURNAL_ERR_IO.
 *  Returns: 0 or a negative JOURNAL_ERR_* (JOURNAL_ERR_CORRUPT as journal_open). */
int journal_open_readonly(journal **out, const char *path);
/** Flush what is still buffered (best effort: a failure is not reported;
 *  callers that need durability call journal_sync first), close the file
 *  and free the journal. j may be NULL. No other thread may use j. */
void journal_close(journal *j);

/** Append a new ACCEPTED entry with `id` and payload data[0..len-1], then
 *  fsync, so the entry survives a crash once this returns 0.
 *  Out: *index (may be NULL): the entry's index (also for a duplicate).
 *  Returns: 0 when appended, 1 when an entry with this id already exists
 *  (nothing written), or a negative JOURNAL_ERR_*. */
int journal_append(journal *j, const uint8_t id[32], const uint8_t *data, size_t len,
                   uint64_t *index);
enum {
    JOURNAL_APPEND_SYNC = 1,    /* fsync before returning (as journal_append) */
    JOURNAL_APPEND_CHECKED = 2, /* the caller searched the file (journal_scan_id):
                                   the id is in no evicted entry */
};
/** journal_append with flags. Without JOURNAL_APPEND_SYNC the record is
 *  written to the file (write(2): it survives the death of this process, not
 *  a power loss or kernel crash) but not fsync'd; the next journal_sync, by
 *  any thread, makes it durable (the file stays in append order, so that
 *  sync covers every earlier record too).
 *  With a window (journal_open_opts), an id not in memory whose key is not
 *  above journal_horizon() may be an evicted entry: unless
 *  JOURNAL_APPEND_CHECKED, nothing is written and 2 is returned; the caller
 *  then searches the file with journal_scan_id and, when absent, appends
 *  again with JOURNAL_APPEND_CHECKED (only safe when no other thread
 *  appends meanwhile, as in the chain logger: one MQTT callback thread).
 *  Returns: 0 appended, 1 duplicate (in memory), 2 look in the file first,
 *  or a negative JOURNAL_ERR_*. */
int journal_append_mode(journal *j, const uint8_t id[32], const uint8_t *data, size_t len,
                        uint64_t *index, int flags);

/** Record that entries first..first+n-1 (ACCEPTED or SENT) were signed into
 *  the transaction tx_hash with `nonce`, carrying seqs first_seq.. in order.
 *  Buffered: call journal_sync before broadcasting the transaction.
 *  Returns: 0 or a negative JOURNAL_ERR_* (nothing changed then). */
int journal_mark_sent(journal *j, uint64_t first, uint32_t n, uint64_t first_seq, uint64_t nonce,
                      const uint8_t tx_hash[32]);

/** Record that entry `index` is on chain (SENT or ACCEPTED -> CONFIRMED) with
 *  the given seq. Buffered; call journal_sync to make it durable.
 *  Returns: 0, or a negative JOURNAL_ERR_*. Confirming a CONFIRMED entry again is an error. */
int journal_mark_confirmed(journal *j, uint64_t index, uint64_t seq, const uint8_t tx_hash[32],
                           uint64_t block, uint32_t log_index);

/** Write buffered records and fsync (skipped when nothing was written since
 *  the last one, so a periodic committer costs nothing while idle).
 *  Returns 0 or JOURNAL_ERR_IO. */
int journal_sync(journal *j);

/** Number of entries. */
uint64_t journal_count(journal *j);
/** Index of the first entry that is not CONFIRMED (journal_count when none). */
uint64_t journal_first_pending(journal *j);
/** Highest seq ever assigned + 1 (0 when none). */
uint64_t journal_next_seq(journal *j);

/** Copy entry `index` into *out. A not yet CONFIRMED entry is copied from
 *  memory. A CONFIRMED one keeps only its id in memory: its payload and
 *  confirmation are read back from the file (may block on disk I/O, and
 *  first writes out a confirmation still buffered).
 *  Returns: 0, JOURNAL_ERR_ARG (no such entry), or for a confirmed entry
 *  JOURNAL_ERR_IO / JOURNAL_ERR_FORMAT when its records cannot be read back. */
int journal_get(journal *j, uint64_t index, journal_entry *out);
/** Find the entry with `id` among those in memory. Returns its index, or -1.
 *  With a window, -1 is final only for a payload whose key is above
 *  journal_horizon() (journal_append_mode checks this itself). */
int64_t journal_find(journal *j, const uint8_t id[32]);
/** The largest key among the entries evicted from the memory window
 *  (INT64_MIN while none was): an entry with a larger key cannot be one of them. */
int64_t journal_horizon(journal *j);
/** Look for an 'A' record with `id` in the file itself (reads it from the
 *  start: the slow path for ids older than the window). Blocks appends
 *  meanwhile. Out: *index (may be NULL): the entry's index when found.
 *  Returns: 1 found, 0 not, or a negative JOURNAL_ERR_*. */
int journal_scan_id(journal *j, const uint8_t id[32], uint64_t *index);

/** Block until journal_count() > `count` or timeout_ms elapses.
 *  Returns 1 when there are more entries, 0 on timeout. */
int journal_wait(journal *j, uint64_t count, int timeout_ms);

/** Rewrite the file with one record per entry state (temp file, fsync, rename):
 *  drops the 'S' records of confirmed entries and repeated ones. Every entry
 *  stays, confirmed ones included: the file is the local copy of the audit
 *  trail that `verify` compares with the chain and that duplicate detection
 *  rebuilds its ids from after a restart. Blocks every other call meanwhile.
 *  Returns 0 or a negative JOURNAL_ERR_* (the old file stays valid on failure). */
int journal_compact(journal *j);

/** Bytes in the journal file (for compaction policy and metrics). */
uint64_t journal_file_size(journal *j);

/** Memory the journal holds, for tests and metrics. */
typedef struct {
    uint64_t entries; /* all entries */
    uint64_t live;    /* entries not CONFIRMED: these keep their payload in memory */
    uint64_t bytes;   /* heap bytes for the entries: the fixed-size array, the id
                         index, and the live entries' state and payloads */
    uint64_t buffers; /* write buffers (bounded by what one sync stages) */
    uint64_t evicted; /* entries no longer in memory (the window moved past them) */
} journal_mem;
/** Fill *out with the journal's current memory use. */
void journal_mem_usage(journal *j, journal_mem *out);

#endif
