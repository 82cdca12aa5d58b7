/*
 * journal — see journal.h for the model. Implementation notes:
 * - The whole state lives in memory (an array of entries plus an open-
 *   addressing index by id); the file is only appended to, and read once on
 *   open. Records are staged in a write buffer and written + fdatasync'd by
 *   journal_sync (journal_append syncs before returning, because its caller
 *   acknowledges the MQTT message afterwards).
 * - Only the tail can be torn: records are appended in order and each sync
 *   completes before the next acknowledgement. So replay stops at the first
 *   record whose length or CRC is wrong and truncates the file there.
 *   A record that checks out but makes no sense (an unknown entry) is not a
 *   torn write but a bug or tampering, and is reported as JOURNAL_ERR_FORMAT
 *   rather than silently dropped.
 */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "log.h"

#define MAGIC "IOTAJNL1"
#define HDR 8 /* u32 len + u32 crc */
#define MAX_PAYLOAD (1 + 32 + 2 + JOURNAL_REC_MAX)

typedef struct {
    uint8_t id[32];
    uint8_t state;
    uint16_t len;
    uint32_t log_index;
    uint64_t seq, nonce, block;
    uint8_t tx_hash[32];
    uint8_t *data;
} mem_entry;

struct journal {
    pthread_mutex_t io; /* serialises file I/O; taken before mu, never inside it */
    pthread_mutex_t mu; /* protects everything else; never held during I/O */
    pthread_cond_t grew;
    char *path;
    int fd;
    int do_fsync;
    int failed; /* sticky I/O failure, see flush_locked */
    int readonly;
    mem_entry *e;
    uint64_t n, cap;
    uint64_t *slots; /* index + 1, 0 = empty */
    uint64_t nslots;
    uint64_t first_pending;
    uint64_t next_seq;
    uint64_t size; /* bytes in the file, including staged ones once written */
    uint8_t *wbuf; /* staged records (under mu) */
    size_t wlen, wcap;
    uint8_t *iobuf; /* records being written (under io) */
    size_t iocap;
};

/* CRC-32C (Castagnoli), reflected, table-driven. */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
}
static uint32_t crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    while (n--)
        c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t id_hash(const uint8_t id[32])
{
    return get_le(id, 8); /* ids are keccak outputs: already uniform */
}

static int index_insert(journal *j, uint64_t idx);

static int index_grow(journal *j)
{
    uint64_t ns = j->nslots ? j->nslots * 2 : 1024;
    uint64_t *s = calloc(ns, sizeof(*s));
    if (!s)
        return JOURNAL_ERR_NOMEM;
    free(j->slots);
    j->slots = s;
    j->nslots = ns;
    for (uint64_t i = 0; i < j->n; i++)
        index_insert(j, i);
    return 0;
}

static int index_insert(journal *j, uint64_t idx)
{
    uint64_t m = j->nslots - 1, h = id_hash(j->e[idx].id) & m;
    while (j->slots[h])
        h = (h + 1) & m;
    j->slots[h] = idx + 1;
    return 0;
}

static int64_t index_find(journal *j, const uint8_t id[32])
{
    if (!j->nslots)
        return -1;
    uint64_t m = j->nslots - 1, h = id_hash(id) & m;
    while (j->slots[h]) {
        uint64_t i = j->slots[h] - 1;
        if (memcmp(j->e[i].id, id, 32) == 0)
            return (int64_t)i;
        h = (h + 1) & m;
    }
    return -1;
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
    put_le(j->wbuf + j->wlen, len, 4);
    put_le(j->wbuf + j->wlen + 4, crc32c(payload, len), 4);
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
            log_error("journal_write_failed path=%s errno=%d", j->path, errno);
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
        log_error("journal_fsync_failed path=%s errno=%d", j->path, errno);
        j->failed = 1;
        return JOURNAL_ERR_IO;
    }
    return 0;
}

/* Write staged records and fsync them, without holding mu during the I/O,
 * so readers (the sender thread's journal_get) never wait for a disk flush.
 * Group commit: one write+fdatasync covers whatever every thread staged
 * before it started; the io mutex keeps the writes in staging order. */
static int flush(journal *j)
{
    int rc = 0;
    size_t len;
    uint64_t off;
    pthread_mutex_lock(&j->io);
    pthread_mutex_lock(&j->mu);
    if (j->failed || (j->readonly && j->wlen)) {
        rc = JOURNAL_ERR_IO;
        goto unlock_both;
    }
    if (j->readonly)
        goto unlock_both;
    uint8_t *t = j->iobuf;
    size_t tc = j->iocap;
    j->iobuf = j->wbuf;
    j->iocap = j->wcap;
    j->wbuf = t;
    j->wcap = tc;
    len = j->wlen;
    j->wlen = 0;
    off = j->size;
    pthread_mutex_unlock(&j->mu);

    int err = 0;
    if (len && write_all(j->fd, j->iobuf, len) < 0) {
        err = errno;
        log_error("journal_write_failed path=%s errno=%d", j->path, err);
        (void)ftruncate(j->fd, (off_t)off); /* cut a partial record */
        rc = JOURNAL_ERR_IO;
    } else if (j->do_fsync && fdatasync(j->fd) < 0) {
        log_error("journal_fsync_failed path=%s errno=%d", j->path, errno);
        rc = JOURNAL_ERR_IO;
    }
    pthread_mutex_lock(&j->mu);
    if (rc < 0)
        j->failed = 1; /* sticky, see flush_locked */
    else
        j->size += len;
unlock_both:
    pthread_mutex_unlock(&j->mu);
    pthread_mutex_unlock(&j->io);
    return rc;
}

static void update_first_pending(journal *j)
{
    while (j->first_pending < j->n && j->e[j->first_pending].state == JOURNAL_CONFIRMED)
        j->first_pending++;
}

/* Apply a validated payload to the in-memory state. */
static int apply(journal *j, const uint8_t *p, size_t len)
{
    switch (p[0]) {
    case 'H':
        return len == 1 + 8 && memcmp(p + 1, MAGIC, 8) == 0 ? 0 : JOURNAL_ERR_FORMAT;
    case 'A': {
        if (len < 1 + 32 + 2)
            return JOURNAL_ERR_FORMAT;
        uint16_t dl = (uint16_t)get_le(p + 33, 2);
        if (dl > JOURNAL_REC_MAX || len != 1 + 32 + 2 + (size_t)dl)
            return JOURNAL_ERR_FORMAT;
        if (j->n == j->cap) {
            uint64_t nc = j->cap ? j->cap * 2 : 1024;
            mem_entry *ne = realloc(j->e, nc * sizeof(*ne));
            if (!ne)
                return JOURNAL_ERR_NOMEM;
            j->e = ne;
            j->cap = nc;
        }
        mem_entry *e = &j->e[j->n];
        memset(e, 0, sizeof(*e));
        memcpy(e->id, p + 1, 32);
        e->len = dl;
        e->data = malloc(dl ? dl : 1);
        if (!e->data)
            return JOURNAL_ERR_NOMEM;
        memcpy(e->data, p + 35, dl);
        e->state = JOURNAL_ACCEPTED;
        j->n++;
        if (j->n * 2 > j->nslots) {
            int rc = index_grow(j);
            if (rc < 0)
                return rc;
        } else {
            index_insert(j, j->n - 1);
        }
        return 0;
    }
    case 'S': {
        if (len != 1 + 8 + 4 + 8 + 8 + 32)
            return JOURNAL_ERR_FORMAT;
        uint64_t first = get_le(p + 1, 8), n = get_le(p + 9, 4);
        uint64_t seq = get_le(p + 13, 8), nonce = get_le(p + 21, 8);
        if (n == 0 || first >= j->n || n > j->n - first)
            return JOURNAL_ERR_FORMAT;
        for (uint64_t i = 0; i < n; i++)
            if (j->e[first + i].state == JOURNAL_CONFIRMED)
                return JOURNAL_ERR_STATE;
        for (uint64_t i = 0; i < n; i++) {
            mem_entry *e = &j->e[first + i];
            e->state = JOURNAL_SENT;
            e->seq = seq + i;
            e->nonce = nonce;
            memcpy(e->tx_hash, p + 29, 32);
        }
        if (seq + n > j->next_seq)
            j->next_seq = seq + n;
        return 0;
    }
    case 'C': {
        if (len != 1 + 8 + 8 + 32 + 8 + 4)
            return JOURNAL_ERR_FORMAT;
        uint64_t idx = get_le(p + 1, 8);
        if (idx >= j->n)
            return JOURNAL_ERR_FORMAT;
        mem_entry *e = &j->e[idx];
        if (e->state == JOURNAL_CONFIRMED)
            return JOURNAL_ERR_STATE;
        e->state = JOURNAL_CONFIRMED;
        e->seq = get_le(p + 9, 8);
        memcpy(e->tx_hash, p + 17, 32);
        e->block = get_le(p + 49, 8);
        e->log_index = (uint32_t)get_le(p + 57, 4);
        if (e->seq + 1 > j->next_seq)
            j->next_seq = e->seq + 1;
        update_first_pending(j);
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
    int rc = stage(j, p, len);
    if (rc < 0)
        return rc;
    rc = apply(j, p, len);
    if (rc < 0)
        j->wlen = saved;
    return rc;
}

static int replay(journal *j, size_t *dropped)
{
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
        if (fread(hdr, 1, HDR, f) != HDR)
            break;
        uint32_t len = (uint32_t)get_le(hdr, 4), crc = (uint32_t)get_le(hdr + 4, 4);
        if (len == 0 || len > MAX_PAYLOAD)
            break;
        if (fread(p, 1, len, f) != len || crc32c(p, len) != crc)
            break;
        if (good == 0 && p[0] != 'H') {
            rc = JOURNAL_ERR_FORMAT;
            goto out;
        }
        rc = apply(j, p, len);
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
    if ((uint64_t)st.st_size > good && !j->readonly) {
        /* Torn tail: cut it so the next append starts on a record boundary. */
        log_warn("journal_torn_tail path=%s kept=%llu dropped=%llu", j->path,
                 (unsigned long long)good, (unsigned long long)(st.st_size - good));
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
    for (uint64_t i = 0; i < j->n; i++)
        free(j->e[i].data);
    free(j->e);
    free(j->slots);
    j->e = NULL;
    j->slots = NULL;
    j->n = j->cap = j->nslots = 0;
}

static int open_mode(journal **out, const char *path, int do_fsync, size_t *dropped, int readonly);

int journal_open(journal **out, const char *path, int do_fsync, size_t *dropped)
{
    return open_mode(out, path, do_fsync, dropped, 0);
}

int journal_open_readonly(journal **out, const char *path)
{
    return open_mode(out, path, 0, NULL, 1);
}

static int open_mode(journal **out, const char *path, int do_fsync, size_t *dropped, int readonly)
{
    int rc = JOURNAL_ERR_NOMEM;
    journal *j;

    *out = NULL;
    if (dropped)
        *dropped = 0;
    pthread_once(&crc_once, crc_init);
    j = calloc(1, sizeof(*j));
    if (!j)
        return JOURNAL_ERR_NOMEM;
    j->fd = -1;
    pthread_mutex_init(&j->io, NULL);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->grew, NULL);
    j->do_fsync = do_fsync;
    j->readonly = readonly;
    j->path = strdup(path);
    if (!j->path)
        goto out;
    j->fd = readonly ? open(path, O_RDONLY | O_CLOEXEC)
                     : open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (j->fd < 0) {
        log_error("journal_open_failed path=%s errno=%d", path, errno);
        rc = JOURNAL_ERR_IO;
        goto out;
    }
    rc = replay(j, dropped);
    if (rc < 0)
        goto out;
    if (j->size == 0 && !readonly) {
        uint8_t h[9] = {'H'};
        memcpy(h + 1, MAGIC, 8);
        if ((rc = record(j, h, sizeof h)) < 0 || (rc = flush(j)) < 0)
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
        (void)flush(j);
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
    p[0] = 'A';
    memcpy(p + 1, id, 32);
    put_le(p + 33, len, 2);
    memcpy(p + 35, data, len);
    rc = record(j, p, 35 + len);
    if (rc < 0)
        goto out;
    if (index)
        *index = j->n - 1;
    pthread_mutex_unlock(&j->mu);
    /* A failed flush leaves the journal failed (sticky): the caller must not
     * acknowledge, and the process restarts from the file. */
    rc = flush(j);
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
    put_le(p + 1, first, 8);
    put_le(p + 9, n, 4);
    put_le(p + 13, first_seq, 8);
    put_le(p + 21, nonce, 8);
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
    put_le(p + 1, index, 8);
    put_le(p + 9, seq, 8);
    memcpy(p + 17, tx_hash, 32);
    put_le(p + 49, block, 8);
    put_le(p + 57, log_index, 4);
    rc = record(j, p, sizeof p);
out:
    pthread_mutex_unlock(&j->mu);
    return rc;
}

int journal_sync(journal *j)
{
    return flush(j);
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

int journal_get(journal *j, uint64_t index, journal_entry *out)
{
    int rc = JOURNAL_ERR_ARG;
    pthread_mutex_lock(&j->mu);
    if (index < j->n) {
        const mem_entry *e = &j->e[index];
        out->index = index;
        memcpy(out->id, e->id, 32);
        out->state = (journal_state)e->state;
        out->seq = e->seq;
        out->nonce = e->nonce;
        memcpy(out->tx_hash, e->tx_hash, 32);
        out->block = e->block;
        out->log_index = e->log_index;
        out->len = e->len;
        memcpy(out->data, e->data, e->len);
        rc = 0;
    }
    pthread_mutex_unlock(&j->mu);
    return rc;
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

/* Serialise the current state of every entry into the write buffer. */
static int stage_state(journal *j)
{
    uint8_t p[MAX_PAYLOAD];
    int rc;
    p[0] = 'H';
    memcpy(p + 1, MAGIC, 8);
    if ((rc = stage(j, p, 9)) < 0)
        return rc;
    for (uint64_t i = 0; i < j->n; i++) {
        const mem_entry *e = &j->e[i];
        p[0] = 'A';
        memcpy(p + 1, e->id, 32);
        put_le(p + 33, e->len, 2);
        memcpy(p + 35, e->data, e->len);
        if ((rc = stage(j, p, 35 + (size_t)e->len)) < 0)
            return rc;
        if (e->state == JOURNAL_SENT) {
            p[0] = 'S';
            put_le(p + 1, i, 8);
            put_le(p + 9, 1, 4);
            put_le(p + 13, e->seq, 8);
            put_le(p + 21, e->nonce, 8);
            memcpy(p + 29, e->tx_hash, 32);
            rc = stage(j, p, 61);
        } else if (e->state == JOURNAL_CONFIRMED) {
            p[0] = 'C';
            put_le(p + 1, i, 8);
            put_le(p + 9, e->seq, 8);
            memcpy(p + 17, e->tx_hash, 32);
            put_le(p + 49, e->block, 8);
            put_le(p + 57, e->log_index, 4);
            rc = stage(j, p, 61);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int journal_compact(journal *j)
{
    int rc = JOURNAL_ERR_IO, fd = -1, dfd = -1;
    char *tmp = NULL, *dcopy = NULL;
    if (j->readonly)
        return JOURNAL_ERR_IO;
    pthread_mutex_lock(&j->io);
    pthread_mutex_lock(&j->mu);
    if ((rc = flush_locked(j)) < 0)
        goto out;
    rc = JOURNAL_ERR_NOMEM;
    size_t pl = strlen(j->path);
    tmp = malloc(pl + 5);
    dcopy = strdup(j->path);
    if (!tmp || !dcopy)
        goto out;
    memcpy(tmp, j->path, pl);
    memcpy(tmp + pl, ".tmp", 5);
    rc = JOURNAL_ERR_IO;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto out;
    if ((rc = stage_state(j)) < 0) {
        j->wlen = 0;
        goto out;
    }
    rc = JOURNAL_ERR_IO;
    if (write_all(fd, j->wbuf, j->wlen) < 0 || fsync(fd) < 0) {
        j->wlen = 0;
        goto out;
    }
    uint64_t nsize = j->wlen;
    j->wlen = 0;
    if (rename(tmp, j->path) < 0)
        goto out;
    /* The rename is durable only once the directory is synced. */
    dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        (void)fsync(dfd);
    close(j->fd);
    j->fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (j->fd < 0) {
        log_error("journal_reopen_failed path=%s errno=%d", j->path, errno);
        goto out;
    }
    j->size = nsize;
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
    pthread_mutex_unlock(&j->mu);
    pthread_mutex_unlock(&j->io);
    return rc;
}
