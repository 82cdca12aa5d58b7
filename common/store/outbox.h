/*
 * outbox — a durable queue of things still to deliver, each under a unique
 * key: put (fsync) ... done. The notifier keeps one delivery per (event,
 * channel) in it, so that an event counts as accepted only once it is on
 * disk and every one is delivered at least once across a kill -9.
 *
 * The file is append-only: a put writes an 'E' record (seq, key, data), a
 * done a 'D' record (seq). On open the records are replayed; the entries
 * with no 'D' are pending again, in seq order. A record whose length or
 * CRC-32C is wrong ends the replay: it is a torn tail (a crash in the
 * middle of a write) and is cut off, its size reported in *dropped. When
 * delivered entries make up most of the file, it is compacted (the pending
 * entries rewritten to a temp file, fsync, rename, fsync of the directory).
 *
 * Record: u32 payload length (LE) | u32 CRC-32C of payload (LE) | payload,
 * payload[0] the type: 'H' header ("IOTADOB1"), 'E' u64 seq (LE) | u16 key
 * length (LE) | key | data, 'D' u64 seq (LE).
 *
 * Durability: outbox_put with sync writes and fsyncs before it returns; a
 * done is written (it survives the death of the process) but fsync'd only
 * by the next outbox_sync or put, so after a power loss a delivered entry
 * may come back and be delivered again (at least once, never lost).
 *
 * Thread-safety: every function takes the outbox's mutex, so an MQTT
 * callback may put while a delivery thread marks entries done.
 */
#ifndef COMMON_OUTBOX_H
#define COMMON_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

typedef struct outbox outbox; /* opaque */

#define OUTBOX_KEY_MAX 255        /* key bytes, without NUL */
#define OUTBOX_DATA_MAX (1 << 20) /* data bytes per entry */

enum {
    OUTBOX_ERR_IO = -1, /* open/read/write/fsync failed (errno logged) */
    OUTBOX_ERR_NOMEM = -2,
    OUTBOX_ERR_ARG = -3,    /* bad argument: empty or long key, long data, unknown seq */
    OUTBOX_ERR_FORMAT = -4, /* the file is not an outbox (bad header) */
};

/** Open (creating if absent) the outbox at `path` and replay it, cutting a
 *  torn tail.
 *  In:  do_fsync: 1 to fsync (0 only in tests and benchmarks).
 *  Out: *out owned by the caller (outbox_close); *dropped (may be NULL):
 *       bytes cut from a torn tail.
 *  Returns: 0 or a negative OUTBOX_ERR_*. May block on disk I/O. */
int outbox_open(outbox **out, const char *path, int do_fsync, size_t *dropped);

/** Close the file and free everything. o may be NULL. No other thread may use o. */
void outbox_close(outbox *o);

/** Add a pending entry.
 *  In:  key: 1..OUTBOX_KEY_MAX bytes, NUL-terminated, unique among pending
 *       entries; data/len: at most OUTBOX_DATA_MAX bytes (copied);
 *       sync: 1 to fsync before returning (the entry then survives a crash
 *       and a power loss), 0 to leave it to a later outbox_sync (it survives
 *       the death of the process already).
 *  Out: *seq (may be NULL): the entry's number (also for a duplicate).
 *  Returns: 0 added, 1 an entry with this key is pending already (nothing
 *  written), or a negative OUTBOX_ERR_*. May block on disk I/O. */
int outbox_put(outbox *o, const char *key, const void *data, size_t len, int sync, uint64_t *seq);

/** Mark entry `seq` delivered (written, not fsync'd; see above). May
 *  compact the file. Returns: 0, OUTBOX_ERR_ARG when seq is not pending,
 *  or OUTBOX_ERR_IO. May block on disk I/O. */
int outbox_done(outbox *o, uint64_t seq);

/** fsync what was written since the last sync (nothing when idle).
 *  Returns: 0 or OUTBOX_ERR_IO. */
int outbox_sync(outbox *o);

/** Visit each pending entry in seq order; key and data are valid only
 *  during the call, which must not call back into the outbox. Stops when
 *  fn returns non-zero. Returns: that value, or 0. */
typedef int (*outbox_visit_fn)(void *user, uint64_t seq, const char *key, const void *data,
                               size_t len);
int outbox_foreach(outbox *o, outbox_visit_fn fn, void *user);

/** Rewrite the file with only the pending entries (temp file, fsync,
 *  rename). Returns: 0 or OUTBOX_ERR_IO/NOMEM (the old file stays valid). */
int outbox_compact(outbox *o);

/** Number of pending entries. */
size_t outbox_pending(outbox *o);
/** Bytes in the file. */
uint64_t outbox_file_size(outbox *o);

#endif
