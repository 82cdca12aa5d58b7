/*
 * journal — see journal.h for the model. Implementation notes:
 * - Memory holds what the running service needs, and no more: for every
 *   entry its id (duplicate detection, through an open-addressing index) and
 *   the file offsets of its records; only while an entry is not CONFIRMED
 *   also its state, seq, nonce, tx hash and payload (the sender reads those
 *   to build and re-send batches). Confirming an entry frees that part, so a
 *   confirmed entry costs a fixed ~56 bytes + its index slot whatever its
 *   payload (it was ~0.8 KB each, and the audit trail has no end).
 *   journal_get of a confirmed entry reads its 'A' and 'C' records back
 *   from the file (pread at the remembered offsets, CRC checked): that is
 *   the rare path (`verify`, a duplicate of an already logged anomaly).
 * - The file is only appended to, and read in full once on open. Records
 *   are staged in a write buffer and written + fdatasync'd by journal_sync
 *   (journal_append syncs before returning, because its caller acknowledges
 *   the MQTT message afterwards).
 * - Only the tail can be torn: records are appended in order and each sync
 *   completes before the next acknowledgement. Replay stops at the first
 *   record whose length or CRC is wrong. What follows it is a torn tail
 *   only when no valid record follows: a crash during one journal_sync can
 *   leave any prefix of the records it wrote, blocks of zeros, or a
 *   record whose length landed but whose bytes did not; none of those
 *   records was acknowledged (the fdatasync had not returned). Only then
 *   is the file truncated at the bad record.
 *   A bad record with a valid one anywhere after it (found by searching
 *   byte by byte: the bad length cannot be trusted to find the next one)
 *   is not a torn write but damage in the middle (a bad sector, an edit,
 *   a copy gone wrong), and the records after it may be acknowledged
 *   anomalies. Cutting there would silently drop them, and skipping the
 *   bad record could renumber entries (S and C records name entries by
 *   index). So open refuses with JOURNAL_ERR_CORRUPT, logs the file, the
 *   bad record's offset and the next valid one's (journal_corrupt), and
 *   changes nothing; the operator keeps the file and decides (the chain
 *   logger exits with status 1; docs/RELIABILITY.md, "Journal damage").
 *   A record that checks out but makes no sense (an unknown entry) is not a
 *   torn write but a bug or tampering, and is reported as JOURNAL_ERR_FORMAT
 *   rather than silently dropped.
 */
#include "store/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/crc32c.h"
#include "base/deadline.h"
#include "base/log.h"
#include "store/hashmap.h"

#define MAGIC "IOTAJNL1"
#define HDR 8 /* u32 len + u32 crc */
#define MAX_PAYLOAD (1 + 32 + 2 + JOURNAL_REC_MAX)

/* What an entry needs until it is confirmed (one allocation with its payload). */
typedef struct {
    uint8_t state; /* ACCEPTED or SENT */
    uint16_t len;
    uint64_t seq, nonce;
    uint8_t tx_hash[32];
    uint8_t data[];
} live_entry;

/* Every entry, confirmed or not: a fixed size. */
typedef struct {
    uint8_t id[32];
    int64_t key;    /* the key function's value for the payload (0 without one) */
    uint64_t a_off; /* file offset of the entry's 'A' record */
    uint64_t c_off; /* file offset of its 'C' record (CONFIRMED only) */
    live_entry *lv; /* NULL once CONFIRMED */
} mem_entry;

#define C_LEN (1 + 8 + 8 + 32 + 8 + 4) /* payload bytes of a 'C' record */
#define S_LEN (1 + 8 + 4 + 8 + 8 + 32) /* payload bytes of an 'S' record */

struct journal {
    pthread_mutex_t io; /* serialises file I/O; taken before mu, never inside it */
    pthread_mutex_t mu; /* protects everything else; never held during I/O */
    pthread_cond_t grew;
    char *path;
    int fd;
    int do_fsync;
    int failed; /* sticky I/O failure, see flush_locked */
    int readonly;
    int dirty; /* records written since the last fdatasync */
    journal_key_fn keyfn;
    uint64_t window; /* entries kept in memory (0 = all) */
    uint64_t base;   /* entries 0..base-1 were evicted: e[0] is entry `base` */
    int64_t horizon; /* largest key among evicted entries */
    mem_entry *e;    /* entries base..n-1 */
    uint64_t n, cap; /* n: entries ever; cap: e's capacity */
    hashmap index;   /* id -> entry index - base (store/hashmap.h) */
    uint64_t first_pending;
    uint64_t next_seq;
    uint64_t size;       /* bytes written to the file */
    uint64_t inflight;   /* bytes flush() is writing (taken from wbuf, not in size yet) */
    uint64_t nlive;      /* entries with a live_entry */
    uint64_t live_bytes; /* their allocation sizes */
    uint8_t *wbuf;       /* staged records (under mu) */
    size_t wlen, wcap;
    uint8_t *iobuf; /* records being written (under io) */
    size_t iocap;
};


static uint64_t id_hash(const uint8_t id[32])
{
    return bytes_get_le64(id); /* ids are keccak outputs: already uniform */
}

/* The entry with index i (base <= i < n). */
#define ENTRY(j, i) (&(j)->e[(i) - (j)->base])

/* The index maps an id to its entry's position in e (index - base). */
static uint64_t index_hash(const void *ctx, uint64_t v)
{
    const journal *j = ctx;
    return id_hash(j->e[v].id);
}

static int index_eq(const void *ctx, uint64_t v, const void *key)
{
    const journal *j = ctx;
    return memcmp(j->e[v].id, key, 32) == 0;
}

/* Add entry idx to the index; the caller made room (index_grow). */
static void index_insert(journal *j, uint64_t idx)
{
    (void)hashmap_insert(&j->index, id_hash(ENTRY(j, idx)->id), idx - j->base);
}

/* (Re)build the index with room for `want` entries (at least 2 x want slots). */
static int index_rebuild(journal *j, uint64_t want)
{
    hashmap_free(&j->index);
    if (hashmap_reserve(&j->index, want) < 0)
        return JOURNAL_ERR_NOMEM;
    for (uint64_t i = j->base; i < j->n; i++)
        index_insert(j, i);
    return 0;
}

/* Room for one more entry, so that index_insert cannot fail. */
static int index_grow(journal *j)
{
    return hashmap_reserve(&j->index, j->n - j->base + 1) < 0 ? JOURNAL_ERR_NOMEM : 0;
}

static int64_t index_find(journal *j, const uint8_t id[32])
{
    uint64_t v;
    return hashmap_find(&j->index, id_hash(id), id, &v) ? (int64_t)(v + j->base) : -1;
}

/* Stage one record (header + payload) in the write buffer. */
static int stage(journal *j, const uint8_t *payload, size_t len)
{
    if (j->wlen + HDR + len > j->wcap) {
        size_t nc = j->wcap ? j->wcap : 4096;
        while (nc < j->wlen + HDR + len)
            nc *= 2;
        uint8_t *nb = realloc(j->wbuf, nc);
        if (!nb)
            return JOURNAL_ERR_NOMEM;
        j->wbuf = nb;
        j->wcap = nc;
    }
    bytes_put_le32(j->wbuf + j->wlen, len);
    bytes_put_le32(j->wbuf + j->wlen + 4, crc32c(payload, len));
    memcpy(j->wbuf + j->wlen + HDR, payload, len);
    j->wlen += HDR + len;
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Write staged records and fsync with both io and mu held (compaction only).
 * A failure is sticky: the in-memory state
 * may then be ahead of the disk (records staged by other callers were lost),
 * and carrying on could reuse a seq that a broadcast transaction already
 * holds. So the journal refuses further work, and the service exits and
 * recovers from the file, as databases do after an fsync error. */
static int flush_locked(journal *j)
{
    if (j->failed || (j->readonly && j->wlen))
        return JOURNAL_ERR_IO;
    if (j->readonly)
        return 0;
    if (j->wlen) {
        if (write_all(j->fd, j->wbuf, j->wlen) < 0) {
            log_error("journal_write_failed path=%s errno=%d error=\"%s\"", j->path, errno,
                      strerror(errno));
            /* Cut a partial record so the file stays replayable. */
            (void)ftruncate(j->fd, (off_t)j->size);
            j->wlen = 0;
            j->failed = 1;
            return JOURNAL_ERR_IO;
        }
        j->size += j->wlen;
        j->wlen = 0;
    }
    if (j->do_fsync && fdatasync(j->fd) < 0) {
        log_error("journal_fsync_failed path=%s errno=%d error=\"%s\"", j->path, errno,
                  strerror(errno));
        j->failed = 1;
        return JOURNAL_ERR_IO;
    }
    j->dirty = 0;
    return 0;
}

/* Write staged records and, when `sync`, fdatasync the file (also covering
 * records written earlier without one), without holding mu during the
 * I/O, so readers (the sender thread's journal_get) never wait for a disk
 * flush. Group commit: one write+fdatasync covers whatever every thread
 * staged before it started; the io mutex keeps the writes in staging order.
 * The caller holds io (not mu). */
static int flush_io_held(journal *j, int sync)
{
    int rc = 0, was_dirty;
    size_t len;
    uint64_t off;
    pthread_mutex_lock(&j->mu);
    if (j->failed || (j->readonly && j->wlen)) {
        rc = JOURNAL_ERR_IO;
        goto unlock;
    }
    if (j->readonly)
        goto unlock;
    uint8_t *t = j->iobuf;
    size_t tc = j->iocap;
    j->iobuf = j->wbuf;
    j->iocap = j->wcap;
    j->wbuf = t;
    j->wcap = tc;
    len = j->wlen;
    j->wlen = 0;
    off = j->size;
    j->inflight = len; /* records staged meanwhile land after these */
    was_dirty = j->dirty;
    if (sync)
        j->dirty = 0;
    pthread_mutex_unlock(&j->mu);

    int err = 0;
    if (len && write_all(j->fd, j->iobuf, len) < 0) {
        err = errno;
        log_error("journal_write_failed path=%s errno=%d error=\"%s\"", j->path, err,
                  strerror(err));
        (void)ftruncate(j->fd, (off_t)off); /* cut a partial record */
        rc = JOURNAL_ERR_IO;
    } else if (sync && (len || was_dirty) && j->do_fsync && fdatasync(j->fd) < 0) {
        log_error("journal_fsync_failed path=%s errno=%d error=\"%s\"", j->path, errno,
                  strerror(errno));
        rc = JOURNAL_ERR_IO;
    }
    pthread_mutex_lock(&j->mu);
    if (rc < 0)
        j->failed = 1; /* sticky, see flush_locked */
    else
        j->size += len;
    if (rc == 0 && !sync && len)
        j->dirty = 1;
    j->inflight = 0;
unlock:
    pthread_mutex_unlock(&j->mu);
    return rc;
}

static int flush(journal *j, int sync)
{
    pthread_mutex_lock(&j->io);
    int rc = flush_io_held(j, sync);
    pthread_mutex_unlock(&j->io);
    return rc;
}

/* File offset where the next staged record will land. Caller holds mu. */
static uint64_t next_offset(const journal *j)
{
    return j->size + j->inflight + j->wlen;
}

static void update_first_pending(journal *j)
{
    while (j->first_pending < j->n && ENTRY(j, j->first_pending)->lv == NULL)
        j->first_pending++;
}

/* Keep at most `window` entries in memory (plus a quarter of slack, so the
 * O(window) move and index rebuild happen once per window/4 appends): drop
 * the oldest ones, which must be CONFIRMED (a pending entry and everything
 * after it stay, whatever the window). Their ids leave the duplicate index;
 * `horizon` remembers the largest key among them, so callers know when
 * "not found" can no longer be trusted. Caller holds mu. */
static int evict(journal *j)
{
    if (!j->window || j->n - j->base <= j->window + j->window / 4)
        return 0;
    uint64_t upto = j->n - j->window;
    if (upto > j->first_pending)
        upto = j->first_pending;
    if (upto <= j->base)
        return 0;
    for (uint64_t i = j->base; i < upto; i++) {
        const mem_entry *e = ENTRY(j, i);
        if (e->key > j->horizon)
            j->horizon = e->key;
    }
    uint64_t drop = upto - j->base;
    memmove(j->e, j->e + drop, (size_t)(j->n - upto) * sizeof(*j->e));
    j->base = upto;
    /* A failed rebuild leaves no index at all: lookups would say "absent"
     * for entries that exist. So the journal fails (sticky), like an I/O error. */
    int rc = index_rebuild(j, j->n - j->base);
    if (rc < 0) {
        log_error("journal_index_rebuild_failed path=%s", j->path);
        j->failed = 1;
    }
    return rc;
}

static void live_free(journal *j, mem_entry *e)
{
    if (!e->lv)
        return;
    j->nlive--;
    j->live_bytes -= sizeof(*e->lv) + e->lv->len;
    free(e->lv);
    e->lv = NULL;
}

/* Apply a validated payload, whose record starts at file offset `off`, to
 * the in-memory state. On failure nothing has changed. */
static int apply(journal *j, const uint8_t *p, size_t len, uint64_t off)
{
    switch (p[0]) {
    case 'H':
        return len == 1 + 8 && memcmp(p + 1, MAGIC, 8) == 0 ? 0 : JOURNAL_ERR_FORMAT;
    case 'A': {
        if (len < 1 + 32 + 2)
            return JOURNAL_ERR_FORMAT;
        uint16_t dl = (uint16_t)bytes_get_le16(p + 33);
        if (dl > JOURNAL_REC_MAX || len != 1 + 32 + 2 + (size_t)dl)
            return JOURNAL_ERR_FORMAT;
        if (j->n - j->base == j->cap) {
            uint64_t nc = j->cap ? j->cap * 2 : 1024;
            mem_entry *ne = realloc(j->e, nc * sizeof(*ne));
            if (!ne)
                return JOURNAL_ERR_NOMEM;
            j->e = ne;
            j->cap = nc;
        }
        live_entry *lv = malloc(sizeof(*lv) + dl);
        if (!lv)
            return JOURNAL_ERR_NOMEM;
        memset(lv, 0, sizeof(*lv));
        lv->state = JOURNAL_ACCEPTED;
        lv->len = dl;
        memcpy(lv->data, p + 35, dl);
        mem_entry *e = &j->e[j->n - j->base];
        memcpy(e->id, p + 1, 32);
        e->key = j->keyfn ? j->keyfn(p + 35, dl) : 0;
        e->a_off = off;
        e->c_off = 0;
        e->lv = lv;
        /* The index covers entries 0..n-1 plus this one: grow it first (it
         * re-inserts 0..n-1), so a failure leaves the entry uncounted. */
        int grow_rc = index_grow(j);
        if (grow_rc < 0) {
            free(lv);
            e->lv = NULL;
            return grow_rc;
        }
        j->n++;
        index_insert(j, j->n - 1);
        j->nlive++;
        j->live_bytes += sizeof(*lv) + dl;
        (void)evict(j); /* a failure is sticky (j->failed), reported by the next flush */
        return 0;
    }
    case 'S': {
        if (len != S_LEN)
            return JOURNAL_ERR_FORMAT;
        uint64_t first = bytes_get_le64(p + 1), n = bytes_get_le32(p + 9);
        uint64_t seq = bytes_get_le64(p + 13), nonce = bytes_get_le64(p + 21);
        if (n == 0 || first >= j->n || n > j->n - first)
            return JOURNAL_ERR_FORMAT;
        if (first < j->base)
            return JOURNAL_ERR_STATE; /* evicted entries are all CONFIRMED */
        for (uint64_t i = 0; i < n; i++)
            if (!ENTRY(j, first + i)->lv)
                return JOURNAL_ERR_STATE;
        for (uint64_t i = 0; i < n; i++) {
            live_entry *lv = ENTRY(j, first + i)->lv;
            lv->state = JOURNAL_SENT;
            lv->seq = seq + i;
            lv->nonce = nonce;
            memcpy(lv->tx_hash, p + 29, 32);
        }
        if (seq + n > j->next_seq)
            j->next_seq = seq + n;
        return 0;
    }
    case 'C': {
        if (len != C_LEN)
            return JOURNAL_ERR_FORMAT;
        uint64_t idx = bytes_get_le64(p + 1);
        if (idx >= j->n)
            return JOURNAL_ERR_FORMAT;
        if (idx < j->base)
            return JOURNAL_ERR_STATE; /* evicted entries are all CONFIRMED */
        mem_entry *e = ENTRY(j, idx);
        if (!e->lv)
            return JOURNAL_ERR_STATE;
        /* From here on the record on disk is the only copy of the payload
         * and of the confirmation (journal_get reads them back). */
        live_free(j, e);
        e->c_off = off;
        uint64_t seq = bytes_get_le64(p + 9);
        if (seq + 1 > j->next_seq)
            j->next_seq = seq + 1;
        update_first_pending(j);
        (void)evict(j); /* the window may have been held back by this entry */
        return 0;
    }
    default:
        return JOURNAL_ERR_FORMAT;
    }
}

/* Stage a payload and apply it; on failure nothing is staged. */
static int record(journal *j, const uint8_t *p, size_t len)
{
    size_t saved = j->wlen;
    uint64_t off = next_offset(j);
    int rc = stage(j, p, len);
    if (rc < 0)
        return rc;
    rc = apply(j, p, len, off);
    if (rc < 0)
        j->wlen = saved;
    return rc;
}

/* Offset of the first whole record after `from` (not at it) whose length,
 * type and CRC are valid, searched byte by byte up to `size`: 0 when there
 * is none (no record starts at offset 0 after a bad one), or
 * JOURNAL_ERR_IO when the file cannot be mapped. */
static int64_t next_valid_record(int fd, uint64_t from, uint64_t size)
{
    if (size < from + 1 + HDR + 1)
        return 0;
    void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED)
        return JOURNAL_ERR_IO;
    const uint8_t *b = m;
    int64_t found = 0;
    for (uint64_t pos = from + 1; pos + HDR < size; pos++) {
        uint32_t len = (uint32_t)bytes_get_le32(b + pos);
        if (len == 0 || len > MAX_PAYLOAD || len > size - pos - HDR)
            continue;
        uint8_t t = b[pos + HDR];
        if ((t != 'H' && t != 'A' && t != 'S' && t != 'C') ||
            crc32c(b + pos + HDR, len) != (uint32_t)bytes_get_le32(b + pos + 4))
            continue;
        found = (int64_t)pos;
        break;
    }
    munmap(m, (size_t)size);
    return found;
}

static int replay(journal *j, size_t *dropped)
{
    const char *why = "end of file";
    int rc = 0;
    uint8_t hdr[HDR], *p = NULL;
    uint64_t good = 0;
    struct stat st;
    FILE *f = NULL;

    if (fstat(j->fd, &st) < 0)
        return JOURNAL_ERR_IO;
    int dupfd = dup(j->fd);
    if (dupfd < 0 || !(f = fdopen(dupfd, "rb"))) {
        if (dupfd >= 0)
            close(dupfd);
        return JOURNAL_ERR_IO;
    }
    if (fseeko(f, 0, SEEK_SET) < 0) {
        rc = JOURNAL_ERR_IO;
        goto out;
    }
    p = malloc(MAX_PAYLOAD);
    if (!p) {
        rc = JOURNAL_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        size_t got = fread(hdr, 1, HDR, f);
        if (got != HDR) {
            why = got ? "partial header" : "end of file";
            break;
        }
        uint32_t len = (uint32_t)bytes_get_le32(hdr), crc = (uint32_t)bytes_get_le32(hdr + 4);
        if (len == 0 || len > MAX_PAYLOAD) {
            why = "bad length";
            break;
        }
        if (fread(p, 1, len, f) != len) {
            why = "partial record";
            break;
        }
        if (crc32c(p, len) != crc) {
            why = "CRC mismatch";
            break;
        }
        if (good == 0 && p[0] != 'H') {
            rc = JOURNAL_ERR_FORMAT;
            goto out;
        }
        rc = apply(j, p, len, good);
        if (rc < 0) {
            log_error("journal_bad_record path=%s offset=%llu type=%c", j->path,
                      (unsigned long long)good, p[0]);
            goto out;
        }
        good += HDR + len;
    }
    if (good == 0 && (uint64_t)st.st_size >= HDR + 9) {
        /* Not even a whole header record, yet big enough to hold one: this
         * is some other file, not a torn creation. Never truncate it. */
        log_error("journal_not_a_journal path=%s", j->path);
        rc = JOURNAL_ERR_FORMAT;
        goto out;
    }
    if ((uint64_t)st.st_size > good) {
        /* A torn tail, or damage with valid records after it? (top of file) */
        int64_t next = next_valid_record(j->fd, good, (uint64_t)st.st_size);
        if (next < 0) {
            log_error("journal_scan_failed path=%s errno=%d error=\"%s\"", j->path, errno,
                      strerror(errno));
            rc = JOURNAL_ERR_IO;
            goto out;
        }
        if (next > 0) {
            log_error("journal_corrupt path=%s offset=%llu reason=\"%s\" next_valid_offset=%llu "
                      "size=%llu: valid records follow a bad one; nothing was cut or changed "
                      "(see docs/RELIABILITY.md, Journal damage)",
                      j->path, (unsigned long long)good, why, (unsigned long long)next,
                      (unsigned long long)st.st_size);
            rc = JOURNAL_ERR_CORRUPT;
            goto out;
        }
    }
    if ((uint64_t)st.st_size > good && !j->readonly) {
        /* Torn tail: cut it so the next append starts on a record boundary. */
        log_warn("journal_torn_tail path=%s kept=%llu dropped=%llu reason=\"%s\"", j->path,
                 (unsigned long long)good, (unsigned long long)(st.st_size - good), why);
        if (ftruncate(j->fd, (off_t)good) < 0 || fsync(j->fd) < 0) {
            rc = JOURNAL_ERR_IO;
            goto out;
        }
    }
    if (dropped)
        *dropped = (size_t)((uint64_t)st.st_size - good);
    j->size = good;
out:
    free(p);
    fclose(f);
    return rc;
}

static void free_entries(journal *j)
{
    for (uint64_t i = j->base; i < j->n; i++)
        live_free(j, ENTRY(j, i));
    free(j->e);
    hashmap_free(&j->index);
    j->e = NULL;
    j->n = j->cap = 0;
}

static int open_mode(journal **out, const char *path, const journal_opts *o, size_t *dropped,
                     int readonly);

int journal_open(journal **out, const char *path, int do_fsync, size_t *dropped)
{
    journal_opts o = {.do_fsync = do_fsync};
    return open_mode(out, path, &o, dropped, 0);
}

int journal_open_opts(journal **out, const char *path, const journal_opts *o, size_t *dropped)
{
    return open_mode(out, path, o, dropped, 0);
}

int journal_open_readonly(journal **out, const char *path)
{
    journal_opts o = {0};
    return open_mode(out, path, &o, NULL, 1);
}

static int open_mode(journal **out, const char *path, const journal_opts *o, size_t *dropped,
                     int readonly)
{
    int rc = JOURNAL_ERR_NOMEM;
    journal *j;

    *out = NULL;
    if (dropped)
        *dropped = 0;
    j = calloc(1, sizeof(*j));
    if (j)
        hashmap_init(&j->index, 1024, index_hash, index_eq, j);
    if (!j)
        return JOURNAL_ERR_NOMEM;
    j->fd = -1;
    pthread_mutex_init(&j->io, NULL);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->grew, NULL);
    j->do_fsync = o->do_fsync;
    j->window = o->window;
    j->keyfn = o->key;
    j->horizon = INT64_MIN;
    j->readonly = readonly;
    j->path = strdup(path);
    if (!j->path)
        goto out;
    j->fd = readonly ? open(path, O_RDONLY | O_CLOEXEC)
                     : open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (j->fd < 0) {
        log_error("journal_open_failed path=%s errno=%d error=\"%s\"", path, errno,
                  strerror(errno));
        rc = JOURNAL_ERR_IO;
        goto out;
    }
    rc = replay(j, dropped);
    if (rc < 0)
        goto out;
    if (j->size == 0 && !readonly) {
        uint8_t h[9] = {'H'};
        memcpy(h + 1, MAGIC, 8);
        if ((rc = record(j, h, sizeof h)) < 0 || (rc = flush(j, 1)) < 0)
            goto out;
    }
    *out = j;
    j = NULL;
    rc = 0;
out:
    journal_close(j);
    return rc;
}

void journal_close(journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0) {
        (void)flush(j, 1);
        close(j->fd);
    }
    free_entries(j);
    free(j->wbuf);
    free(j->iobuf);
    free(j->path);
    pthread_mutex_destroy(&j->io);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->grew);
    free(j);
}

int journal_append(journal *j, const uint8_t id[32], const uint8_t *data, size_t len,
                   uint64_t *index)
{
    return journal_append_mode(j, id, data, len, index, JOURNAL_APPEND_SYNC);
}

int journal_append_mode(journal *j, const uint8_t id[32], const uint8_t *data, size_t len,
                        uint64_t *index, int flags)
{
    uint8_t p[MAX_PAYLOAD];
    int rc;

    if (len > JOURNAL_REC_MAX)
        return JOURNAL_ERR_ARG;
    pthread_mutex_lock(&j->mu);
    int64_t found = index_find(j, id);
    if (found >= 0) {
        if (index)
            *index = (uint64_t)found;
        rc = 1;
        goto out;
    }
    /* Checked here, under mu, not by the caller beforehand: the sender's
     * confirmations move the window concurrently. */
    if (!(flags & JOURNAL_APPEND_CHECKED) && j->base > 0 &&
        (j->keyfn ? j->keyfn(data, len) : 0) <= j->horizon) {
        rc = 2;
        goto out;
    }
    p[0] = 'A';
    memcpy(p + 1, id, 32);
    bytes_put_le16(p + 33, len);
    memcpy(p + 35, data, len);
    rc = record(j, p, 35 + len);
    if (rc < 0)
        goto out;
    if (index)
        *index = j->n - 1;
    pthread_mutex_unlock(&j->mu);
    /* A failed flush leaves the journal failed (sticky): the caller must not
     * acknowledge, and the process restarts from the file. */
    rc = flush(j, flags & JOURNAL_APPEND_SYNC);
    pthread_mutex_lock(&j->mu);
    if (rc == 0)
        pthread_cond_broadcast(&j->grew);
out:
    pthread_mutex_unlock(&j->mu);
    return rc;
}

int journal_mark_sent(journal *j, uint64_t first, uint32_t n, uint64_t first_seq, uint64_t nonce,
                      const uint8_t tx_hash[32])
{
    uint8_t p[1 + 8 + 4 + 8 + 8 + 32];
    int rc;
    pthread_mutex_lock(&j->mu);
    if (n == 0 || first >= j->n || n > j->n - first) {
        rc = JOURNAL_ERR_ARG;
        goto out;
    }
    p[0] = 'S';
    bytes_put_le64(p + 1, first);
    bytes_put_le32(p + 9, n);
    bytes_put_le64(p + 13, first_seq);
    bytes_put_le64(p + 21, nonce);
    memcpy(p + 29, tx_hash, 32);
    rc = record(j, p, sizeof p);
out:
    pthread_mutex_unlock(&j->mu);
    return rc;
}

int journal_mark_confirmed(journal *j, uint64_t index, uint64_t seq, const uint8_t tx_hash[32],
                           uint64_t block, uint32_t log_index)
{
    uint8_t p[1 + 8 + 8 + 32 + 8 + 4];
    int rc;
    pthread_mutex_lock(&j->mu);
    if (index >= j->n) {
        rc = JOURNAL_ERR_ARG;
        goto out;
    }
    p[0] = 'C';
    bytes_put_le64(p + 1, index);
    bytes_put_le64(p + 9, seq);
    memcpy(p + 17, tx_hash, 32);
    bytes_put_le64(p + 49, block);
    bytes_put_le32(p + 57, log_index);
    rc = record(j, p, sizeof p);
out:
    pthread_mutex_unlock(&j->mu);
    return rc;
}

int journal_sync(journal *j)
{
    return flush(j, 1);
}

uint64_t journal_count(journal *j)
{
    pthread_mutex_lock(&j->mu);
    uint64_t n = j->n;
    pthread_mutex_unlock(&j->mu);
    return n;
}

uint64_t journal_first_pending(journal *j)
{
    pthread_mutex_lock(&j->mu);
    uint64_t n = j->first_pending;
    pthread_mutex_unlock(&j->mu);
    return n;
}

uint64_t journal_next_seq(journal *j)
{
    pthread_mutex_lock(&j->mu);
    uint64_t n = j->next_seq;
    pthread_mutex_unlock(&j->mu);
    return n;
}

uint64_t journal_file_size(journal *j)
{
    pthread_mutex_lock(&j->mu);
    uint64_t n = j->size + j->wlen;
    pthread_mutex_unlock(&j->mu);
    return n;
}

/* Read the record at file offset `off` into p[0..cap-1]: its length and CRC
 * must check out and it must be of `type`. Returns the payload length, or
 * JOURNAL_ERR_IO (read failed) / JOURNAL_ERR_FORMAT (not that record). */
static long read_record(int fd, uint64_t off, char type, uint8_t *p, size_t cap)
{
    uint8_t hdr[HDR];
    if (pread(fd, hdr, HDR, (off_t)off) != HDR)
        return JOURNAL_ERR_IO;
    uint32_t len = (uint32_t)bytes_get_le32(hdr), crc = (uint32_t)bytes_get_le32(hdr + 4);
    if (len == 0 || len > cap)
        return JOURNAL_ERR_FORMAT;
    if (pread(fd, p, len, (off_t)(off + HDR)) != (ssize_t)len)
        return JOURNAL_ERR_IO;
    if (crc32c(p, len) != crc || p[0] != (uint8_t)type)
        return JOURNAL_ERR_FORMAT;
    return (long)len;
}

/* Fill *out for a CONFIRMED entry from its 'A' and 'C' records on disk.
 * Caller holds io (so the fd and the offsets cannot change) and not mu. */
static int get_confirmed(journal *j, uint64_t index, journal_entry *out)
{
    uint8_t p[MAX_PAYLOAD];
    pthread_mutex_lock(&j->mu);
    if (index < j->base) { /* evicted meanwhile */
        pthread_mutex_unlock(&j->mu);
        return JOURNAL_ERR_ARG;
    }
    const mem_entry *e = ENTRY(j, index);
    uint64_t a_off = e->a_off, c_off = e->c_off;
    memcpy(out->id, e->id, 32);
    /* Confirmed by a record still staged (journal_mark_confirmed is
     * buffered): write it out first. */
    int staged = c_off + HDR + C_LEN > j->size;
    pthread_mutex_unlock(&j->mu);
    int rc;
    if (staged && (rc = flush_io_held(j, 1)) < 0)
        return rc;
    long n = read_record(j->fd, a_off, 'A', p, MAX_PAYLOAD);
    if (n < 0)
        goto bad;
    uint16_t dl = (uint16_t)bytes_get_le16(p + 33);
    if (n < 35 || dl > JOURNAL_REC_MAX || (size_t)n != 35 + (size_t)dl ||
        memcmp(p + 1, out->id, 32))
        goto bad;
    out->index = index;
    out->state = JOURNAL_CONFIRMED;
    out->nonce = 0;
    out->len = dl;
    memcpy(out->data, p + 35, dl);
    n = read_record(j->fd, c_off, 'C', p, C_LEN);
    if (n != C_LEN || bytes_get_le64(p + 1) != index)
        goto bad;
    out->seq = bytes_get_le64(p + 9);
    memcpy(out->tx_hash, p + 17, 32);
    out->block = bytes_get_le64(p + 49);
    out->log_index = (uint32_t)bytes_get_le32(p + 57);
    return 0;
bad:
    /* The file changed under us (or the disk failed): never make up an entry. */
    log_error("journal_reread_failed path=%s index=%llu", j->path, (unsigned long long)index);
    return n == JOURNAL_ERR_IO ? JOURNAL_ERR_IO : JOURNAL_ERR_FORMAT;
}

int journal_get(journal *j, uint64_t index, journal_entry *out)
{
    int rc = JOURNAL_ERR_ARG;
    pthread_mutex_lock(&j->mu);
    int inmem = index >= j->base && index < j->n;
    if (inmem && ENTRY(j, index)->lv) {
        const mem_entry *e = ENTRY(j, index);
        const live_entry *lv = e->lv;
        out->index = index;
        memcpy(out->id, e->id, 32);
        out->state = (journal_state)lv->state;
        out->seq = lv->seq;
        out->nonce = lv->nonce;
        memcpy(out->tx_hash, lv->tx_hash, 32);
        out->block = 0;
        out->log_index = 0;
        out->len = lv->len;
        memcpy(out->data, lv->data, lv->len);
        rc = 0;
    }
    int confirmed = inmem && !ENTRY(j, index)->lv;
    pthread_mutex_unlock(&j->mu);
    if (!confirmed)
        return rc;
    /* A confirmed entry never goes back, and entries are never removed, so
     * it is still confirmed once io is held. */
    pthread_mutex_lock(&j->io);
    rc = get_confirmed(j, index, out);
    pthread_mutex_unlock(&j->io);
    return rc;
}

void journal_mem_usage(journal *j, journal_mem *out)
{
    pthread_mutex_lock(&j->mu);
    out->entries = j->n;
    out->live = j->nlive;
    out->bytes = j->cap * sizeof(mem_entry) + hashmap_bytes(&j->index) + j->live_bytes;
    out->evicted = j->base;
    out->buffers = j->wcap + j->iocap;
    pthread_mutex_unlock(&j->mu);
}

int64_t journal_find(journal *j, const uint8_t id[32])
{
    pthread_mutex_lock(&j->mu);
    int64_t r = index_find(j, id);
    pthread_mutex_unlock(&j->mu);
    return r;
}

int journal_wait(journal *j, uint64_t count, int timeout_ms)
{
    struct timespec ts;
    deadline_after_ms(&ts, timeout_ms);
    pthread_mutex_lock(&j->mu);
    while (j->n <= count) {
        if (pthread_cond_timedwait(&j->grew, &j->mu, &ts) != 0)
            break;
    }
    int r = j->n > count;
    pthread_mutex_unlock(&j->mu);
    return r;
}

/* Write the current state of every entry to `fd` (compaction): one 'A'
 * record per entry, then its 'S' (SENT) or 'C' (CONFIRMED) record.
 * Confirmed entries' records are read back from the current file. Staged
 * in the write buffer and written in chunks, so the new file is never held
 * in memory whole. Out: noff[2i], noff[2i+1]: the new offsets of entry i's
 * 'A' and 'C' records. Returns the new file size, or a negative
 * JOURNAL_ERR_*. Caller holds io and mu, with nothing staged. */
static int64_t write_state(journal *j, int fd, uint64_t *noff)
{
    uint8_t p[MAX_PAYLOAD];
    uint64_t written = 0;
    int rc;
    p[0] = 'H';
    memcpy(p + 1, MAGIC, 8);
    if ((rc = stage(j, p, 9)) < 0)
        return rc;
    for (uint64_t i = 0; i < j->n; i++) {
        const mem_entry *e = &j->e[i];
        const live_entry *lv = e->lv;
        long al;
        /* (compaction runs only while nothing was evicted: base == 0) */
        if (lv) {
            /* The payload is in memory: no need to read it back. */
            p[0] = 'A';
            memcpy(p + 1, e->id, 32);
            bytes_put_le16(p + 33, lv->len);
            memcpy(p + 35, lv->data, lv->len);
            al = 35 + (long)lv->len;
        } else if ((al = read_record(j->fd, e->a_off, 'A', p, MAX_PAYLOAD)) < 35 ||
                   memcmp(p + 1, e->id, 32) != 0) {
            log_error("journal_compact_reread_failed path=%s index=%llu", j->path,
                      (unsigned long long)i);
            return al == JOURNAL_ERR_IO ? JOURNAL_ERR_IO : JOURNAL_ERR_FORMAT;
        }
        noff[2 * i] = written + j->wlen;
        if ((rc = stage(j, p, (size_t)al)) < 0)
            return rc;
        if (lv && lv->state == JOURNAL_SENT) {
            p[0] = 'S';
            bytes_put_le64(p + 1, i);
            bytes_put_le32(p + 9, 1);
            bytes_put_le64(p + 13, lv->seq);
            bytes_put_le64(p + 21, lv->nonce);
            memcpy(p + 29, lv->tx_hash, 32);
            rc = stage(j, p, S_LEN);
        } else if (!lv) {
            if (read_record(j->fd, e->c_off, 'C', p, C_LEN) != C_LEN ||
                bytes_get_le64(p + 1) != i) {
                log_error("journal_compact_reread_failed path=%s index=%llu", j->path,
                          (unsigned long long)i);
                return JOURNAL_ERR_FORMAT;
            }
            noff[2 * i + 1] = written + j->wlen;
            rc = stage(j, p, C_LEN);
        }
        if (rc < 0)
            return rc;
        if (j->wlen >= (1u << 20)) {
            if (write_all(fd, j->wbuf, j->wlen) < 0)
                return JOURNAL_ERR_IO;
            written += j->wlen;
            j->wlen = 0;
        }
    }
    if (write_all(fd, j->wbuf, j->wlen) < 0)
        return JOURNAL_ERR_IO;
    written += j->wlen;
    j->wlen = 0;
    return (int64_t)written;
}

int journal_compact(journal *j)
{
    int rc = JOURNAL_ERR_IO, fd = -1, dfd = -1;
    char *tmp = NULL, *dcopy = NULL;
    uint64_t *noff = NULL;
    if (j->readonly)
        return JOURNAL_ERR_IO;
    pthread_mutex_lock(&j->io);
    pthread_mutex_lock(&j->mu);
    if (j->base > 0) {
        /* Evicted entries have no offsets in memory to copy their records
         * from; compaction would only drop 'S' records anyway. */
        rc = JOURNAL_ERR_STATE;
        goto out;
    }
    if ((rc = flush_locked(j)) < 0)
        goto out;
    rc = JOURNAL_ERR_NOMEM;
    size_t pl = strlen(j->path);
    tmp = malloc(pl + 5);
    dcopy = strdup(j->path);
    noff = malloc((j->n ? j->n : 1) * 2 * sizeof(*noff));
    if (!tmp || !dcopy || !noff)
        goto out;
    memcpy(tmp, j->path, pl);
    memcpy(tmp + pl, ".tmp", 5);
    rc = JOURNAL_ERR_IO;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto out;
    int64_t nsize = write_state(j, fd, noff);
    j->wlen = 0;
    if (nsize < 0) {
        rc = (int)nsize;
        goto out;
    }
    rc = JOURNAL_ERR_IO;
    if (fsync(fd) < 0)
        goto out;
    if (rename(tmp, j->path) < 0)
        goto out;
    /* The rename is durable only once the directory is synced. */
    dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        (void)fsync(dfd);
    close(j->fd);
    j->fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (j->fd < 0) {
        log_error("journal_reopen_failed path=%s errno=%d error=\"%s\"", j->path, errno,
                  strerror(errno));
        j->failed = 1; /* no file to append to or read confirmed entries from */
        goto out;
    }
    for (uint64_t i = 0; i < j->n; i++) {
        j->e[i].a_off = noff[2 * i];
        if (!j->e[i].lv)
            j->e[i].c_off = noff[2 * i + 1];
    }
    j->size = (uint64_t)nsize;
    rc = 0;
out:
    if (rc < 0 && tmp)
        unlink(tmp);
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    free(tmp);
    free(dcopy);
    free(noff);
    pthread_mutex_unlock(&j->mu);
    pthread_mutex_unlock(&j->io);
    return rc;
}

int64_t journal_horizon(journal *j)
{
    pthread_mutex_lock(&j->mu);
    int64_t h = j->horizon;
    pthread_mutex_unlock(&j->mu);
    return h;
}

int journal_scan_id(journal *j, const uint8_t id[32], uint64_t *index)
{
    enum { CHUNK = 1 << 20 };
    int rc = 0;
    uint64_t off = 0, end, nA = 0;
    uint8_t *buf = malloc(CHUNK + MAX_PAYLOAD + HDR);
    if (!buf)
        return JOURNAL_ERR_NOMEM;
    /* io keeps the fd and the file's records where they are meanwhile. */
    pthread_mutex_lock(&j->io);
    pthread_mutex_lock(&j->mu);
    end = j->size;
    pthread_mutex_unlock(&j->mu);
    size_t have = 0, pos = 0; /* buf[pos..have) holds the file from offset off */
    while (off < end) {
        if (have - pos < HDR + MAX_PAYLOAD && off + (have - pos) < end) {
            memmove(buf, buf + pos, have - pos);
            have -= pos;
            pos = 0;
            uint64_t want = end - off - have;
            if (want > CHUNK)
                want = CHUNK;
            ssize_t r = pread(j->fd, buf + have, (size_t)want, (off_t)(off + have));
            if (r <= 0) {
                rc = JOURNAL_ERR_IO;
                break;
            }
            have += (size_t)r;
        }
        if (have - pos < HDR) {
            rc = JOURNAL_ERR_FORMAT;
            break;
        }
        uint32_t len = (uint32_t)bytes_get_le32(buf + pos);
        if (len == 0 || len > MAX_PAYLOAD || have - pos < HDR + len) {
            rc = JOURNAL_ERR_FORMAT;
            break;
        }
        const uint8_t *p = buf + pos + HDR;
        if (p[0] == 'A' && len >= 33) {
            if (memcmp(p + 1, id, 32) == 0) {
                /* Only now is the CRC worth checking: the hit must be real. */
                if (crc32c(p, len) != (uint32_t)bytes_get_le32(buf + pos + 4)) {
                    rc = JOURNAL_ERR_FORMAT;
                    break;
                }
                if (index)
                    *index = nA;
                rc = 1;
                break;
            }
            nA++;
        }
        pos += HDR + len;
        off += HDR + len;
    }
    pthread_mutex_unlock(&j->io);
    if (rc < 0)
        log_error("journal_scan_failed path=%s offset=%llu rc=%d", j->path, (unsigned long long)off,
                  rc);
    free(buf);
    return rc;
}
