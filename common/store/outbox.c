/*
 * outbox — see outbox.h for the file format and the durability rules.
 *
 * In memory: the pending entries in an array in seq order (seq only grows,
 * so a done finds its entry by binary search); a done only marks the entry
 * dead, and the array is squeezed when the dead make up half of it. A
 * hashmap indexes the live entries by key, so a put of a key that is still
 * pending (an MQTT redelivery) is refused without touching the file.
 *
 * Every record goes to the file with one write(2) as it is made (no
 * user-space buffer), so a record either survives the death of the process
 * or is a torn tail; fsync (fdatasync) is the only thing sync adds.
 */
#include "store/outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/crc32c.h"
#include "base/fnv1a.h"
#include "base/log.h"
#include "store/hashmap.h"

#define HDR 8 /* u32 len + u32 crc */
#define MAGIC "IOTADOB1"
#define COMPACT_MIN_BYTES (1u << 20) /* never compact a file smaller than this */

typedef struct {
    uint64_t seq;
    char *key;
    uint8_t *data;
    size_t len;
    int dead;
} entry;

struct outbox {
    pthread_mutex_t mu;
    char *path;
    int fd;
    int do_fsync;
    int dirty; /* written since the last fsync */
    uint64_t size;
    uint64_t next_seq;
    uint64_t live_bytes; /* payload bytes of the pending entries' 'E' records */
    entry *e;
    size_t n, cap, ndead;
    hashmap by_key; /* live entries: value = seq */
};


/* Index of the entry with seq (dead or not) by binary search, or -1. */
static long find_seq(const outbox *o, uint64_t seq)
{
    size_t lo = 0, hi = o->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (o->e[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < o->n && o->e[lo].seq == seq) ? (long)lo : -1;
}

static uint64_t key_hash(const void *ctx, uint64_t value)
{
    long i = find_seq(ctx, value);
    return i < 0 ? 0 : fnv1a_str(((const outbox *)ctx)->e[i].key);
}

static int key_eq(const void *ctx, uint64_t value, const void *key)
{
    long i = find_seq(ctx, value);
    return i >= 0 && strcmp(((const outbox *)ctx)->e[i].key, key) == 0;
}

/* Write one record (header + payload) with a single write(2). */
static int write_record(int fd, const uint8_t *payload, size_t len, uint64_t *size)
{
    uint8_t *buf = malloc(HDR + len);
    if (!buf)
        return OUTBOX_ERR_NOMEM;
    bytes_put_le32(buf, (uint32_t)len);
    bytes_put_le32(buf + 4, crc32c(payload, len));
    memcpy(buf + HDR, payload, len);
    size_t off = 0;
    int rc = 0;
    while (off < HDR + len) {
        ssize_t w = write(fd, buf + off, HDR + len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            log_error("outbox_write_failed errno=%d error=\"%s\"", errno, strerror(errno));
            rc = OUTBOX_ERR_IO;
            break;
        }
        off += (size_t)w;
    }
    if (size)
        *size += off;
    free(buf);
    return rc;
}

/* An 'E' record's payload in a new allocation (*out, *outlen). */
static int e_payload(uint64_t seq, const char *key, const void *data, size_t len, uint8_t **out,
                     size_t *outlen)
{
    size_t kl = strlen(key), n = 1 + 8 + 2 + kl + len;
    uint8_t *p = malloc(n);
    if (!p)
        return OUTBOX_ERR_NOMEM;
    p[0] = 'E';
    bytes_put_le64(p + 1, seq);
    bytes_put_le16(p + 9, (uint16_t)kl);
    memcpy(p + 11, key, kl);
    if (len)
        memcpy(p + 11 + kl, data, len);
    *out = p;
    *outlen = n;
    return 0;
}

static int sync_fd(outbox *o)
{
    if (o->dirty && o->do_fsync && fdatasync(o->fd) < 0) {
        log_error("outbox_fsync_failed path=%s errno=%d error=\"%s\"", o->path, errno,
                  strerror(errno));
        return OUTBOX_ERR_IO;
    }
    o->dirty = 0;
    return 0;
}

/* Append an entry to the in-memory table (key and data copied). */
static int add_entry(outbox *o, uint64_t seq, const char *key, size_t kl, const uint8_t *data,
                     size_t len)
{
    if (o->n == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 64;
        entry *ne = realloc(o->e, nc * sizeof *ne);
        if (!ne)
            return OUTBOX_ERR_NOMEM;
        o->e = ne;
        o->cap = nc;
    }
    entry *x = &o->e[o->n];
    x->key = malloc(kl + 1);
    x->data = malloc(len ? len : 1);
    if (!x->key || !x->data) {
        free(x->key);
        free(x->data);
        return OUTBOX_ERR_NOMEM;
    }
    memcpy(x->key, key, kl);
    x->key[kl] = '\0';
    if (len)
        memcpy(x->data, data, len);
    x->len = len;
    x->seq = seq;
    x->dead = 0;
    o->n++;
    if (hashmap_insert(&o->by_key, fnv1a_str(x->key), seq) < 0) {
        o->n--;
        free(x->key);
        free(x->data);
        return OUTBOX_ERR_NOMEM;
    }
    o->live_bytes += 11 + kl + len + HDR;
    return 0;
}

/* Drop the dead entries from the array (the map holds seqs, not positions,
 * so it stays valid). */
static void squeeze(outbox *o)
{
    size_t w = 0;
    for (size_t i = 0; i < o->n; i++) {
        if (o->e[i].dead) {
            free(o->e[i].key);
            free(o->e[i].data);
        } else {
            o->e[w++] = o->e[i];
        }
    }
    o->n = w;
    o->ndead = 0;
}

static void kill_entry(outbox *o, long i)
{
    entry *x = &o->e[i];
    hashmap_remove(&o->by_key, fnv1a_str(x->key), x->key);
    x->dead = 1;
    o->live_bytes -= 11 + strlen(x->key) + x->len + HDR;
    o->ndead++;
    if (o->ndead > 32 && o->ndead * 2 > o->n)
        squeeze(o);
}

/* Replay the file's records into memory. Returns the number of good bytes
 * (the torn tail starts there) or a negative OUTBOX_ERR_*. */
static long long replay(outbox *o, const uint8_t *buf, size_t size)
{
    size_t off = 0;
    int header = 0;
    while (off + HDR <= size) {
        uint32_t len = bytes_get_le32(buf + off);
        if (len == 0 || len > size - off - HDR ||
            crc32c(buf + off + HDR, len) != bytes_get_le32(buf + off + 4))
            break;
        const uint8_t *p = buf + off + HDR;
        if (!header) {
            if (len != 1 + strlen(MAGIC) || p[0] != 'H' || memcmp(p + 1, MAGIC, strlen(MAGIC)))
                return OUTBOX_ERR_FORMAT;
            header = 1;
        } else if (p[0] == 'E' && len >= 11) {
            uint64_t seq = bytes_get_le64(p + 1);
            uint16_t kl = bytes_get_le16(p + 9);
            if (kl == 0 || kl > OUTBOX_KEY_MAX || (size_t)11 + kl > len)
                break;
            int rc = add_entry(o, seq, (const char *)p + 11, kl, p + 11 + kl, len - 11 - kl);
            if (rc < 0)
                return rc;
            if (seq >= o->next_seq)
                o->next_seq = seq + 1;
        } else if (p[0] == 'D' && len == 9) {
            long i = find_seq(o, bytes_get_le64(p + 1));
            if (i >= 0 && !o->e[i].dead)
                kill_entry(o, i);
        } else {
            break; /* an unknown record type: treated as the end, like a bad CRC */
        }
        off += HDR + len;
    }
    if (!header && size > 0 && off == 0 && size >= HDR)
        return OUTBOX_ERR_FORMAT;
    return (long long)off;
}

static int read_all(int fd, uint8_t **out, size_t *size)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return OUTBOX_ERR_IO;
    size_t n = (size_t)st.st_size, off = 0;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return OUTBOX_ERR_NOMEM;
    while (off < n) {
        ssize_t r = pread(fd, buf + off, n - off, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return OUTBOX_ERR_IO;
        }
        off += (size_t)r;
    }
    *out = buf;
    *size = n;
    return 0;
}

static int write_header(outbox *o, int fd, uint64_t *size)
{
    uint8_t h[1 + sizeof MAGIC - 1];
    h[0] = 'H';
    memcpy(h + 1, MAGIC, sizeof MAGIC - 1);
    (void)o;
    return write_record(fd, h, sizeof h, size);
}

int outbox_open(outbox **out, const char *path, int do_fsync, size_t *dropped)
{
    int rc = 0;
    uint8_t *buf = NULL;
    size_t size = 0;
    if (!out || !path)
        return OUTBOX_ERR_ARG;
    *out = NULL;
    if (dropped)
        *dropped = 0;
    outbox *o = calloc(1, sizeof *o);
    if (!o)
        return OUTBOX_ERR_NOMEM;
    pthread_mutex_init(&o->mu, NULL);
    o->do_fsync = do_fsync;
    o->fd = -1;
    hashmap_init(&o->by_key, 64, key_hash, key_eq, o);
    o->path = strdup(path);
    if (!o->path) {
        rc = OUTBOX_ERR_NOMEM;
        goto out;
    }
    o->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (o->fd < 0) {
        log_error("outbox_open_failed path=%s errno=%d error=\"%s\"", path, errno, strerror(errno));
        rc = OUTBOX_ERR_IO;
        goto out;
    }
    if ((rc = read_all(o->fd, &buf, &size)) < 0)
        goto out;
    long long good = replay(o, buf, size);
    if (good < 0) {
        rc = (int)good;
        if (rc == OUTBOX_ERR_FORMAT)
            log_error("outbox_not_an_outbox path=%s", path);
        goto out;
    }
    if ((size_t)good < size) {
        log_warn("outbox_torn_tail path=%s dropped_bytes=%zu", path, size - (size_t)good);
        if (dropped)
            *dropped = size - (size_t)good;
        if (ftruncate(o->fd, (off_t)good) < 0 || (do_fsync && fsync(o->fd) < 0)) {
            rc = OUTBOX_ERR_IO;
            goto out;
        }
    }
    o->size = (uint64_t)good;
    if (lseek(o->fd, (off_t)good, SEEK_SET) < 0) {
        rc = OUTBOX_ERR_IO;
        goto out;
    }
    if (good == 0) {
        if ((rc = write_header(o, o->fd, &o->size)) < 0)
            goto out;
        o->dirty = 1;
        if ((rc = sync_fd(o)) < 0)
            goto out;
    }
    squeeze(o);
out:
    free(buf);
    if (rc < 0) {
        outbox_close(o);
        return rc;
    }
    *out = o;
    return 0;
}

void outbox_close(outbox *o)
{
    if (!o)
        return;
    if (o->fd >= 0)
        close(o->fd);
    for (size_t i = 0; i < o->n; i++) {
        free(o->e[i].key);
        free(o->e[i].data);
    }
    free(o->e);
    hashmap_free(&o->by_key);
    free(o->path);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

int outbox_put(outbox *o, const char *key, const void *data, size_t len, int sync, uint64_t *seq)
{
    if (!o || !key || (!data && len))
        return OUTBOX_ERR_ARG;
    size_t kl = strlen(key);
    if (kl == 0 || kl > OUTBOX_KEY_MAX || len > OUTBOX_DATA_MAX)
        return OUTBOX_ERR_ARG;
    uint8_t *p = NULL;
    size_t plen = 0;
    int rc = 0;
    pthread_mutex_lock(&o->mu);
    uint64_t found;
    if (hashmap_find(&o->by_key, fnv1a_str(key), key, &found)) {
        if (seq)
            *seq = found;
        rc = 1;
        goto out;
    }
    uint64_t s = o->next_seq;
    if ((rc = e_payload(s, key, data, len, &p, &plen)) < 0)
        goto out;
    if ((rc = write_record(o->fd, p, plen, &o->size)) < 0)
        goto out;
    o->dirty = 1;
    o->next_seq++;
    if ((rc = add_entry(o, s, key, kl, data, len)) < 0)
        goto out;
    if (sync && (rc = sync_fd(o)) < 0)
        goto out;
    if (seq)
        *seq = s;
out:
    pthread_mutex_unlock(&o->mu);
    free(p);
    return rc;
}

/* Rewrite the file; called with mu held. */
static int compact_locked(outbox *o)
{
    int rc = 0, fd = -1;
    uint64_t size = 0;
    size_t pl = strlen(o->path);
    char *tmp = malloc(pl + 5), *dir = strdup(o->path);
    if (!tmp || !dir) {
        rc = OUTBOX_ERR_NOMEM;
        goto out;
    }
    memcpy(tmp, o->path, pl);
    memcpy(tmp + pl, ".tmp", 5);
    fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = OUTBOX_ERR_IO;
        goto out;
    }
    if ((rc = write_header(o, fd, &size)) < 0)
        goto out;
    for (size_t i = 0; i < o->n; i++) {
        if (o->e[i].dead)
            continue;
        uint8_t *p;
        size_t plen;
        if ((rc = e_payload(o->e[i].seq, o->e[i].key, o->e[i].data, o->e[i].len, &p, &plen)) < 0)
            goto out;
        rc = write_record(fd, p, plen, &size);
        free(p);
        if (rc < 0)
            goto out;
    }
    if ((o->do_fsync && fsync(fd) < 0) || rename(tmp, o->path) < 0) {
        log_error("outbox_compact_failed path=%s errno=%d error=\"%s\"", o->path, errno,
                  strerror(errno));
        rc = OUTBOX_ERR_IO;
        goto out;
    }
    if (o->do_fsync) { /* the rename itself must survive a power loss */
        int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    close(o->fd);
    o->fd = fd;
    fd = -1;
    o->size = size;
    o->dirty = 0;
    squeeze(o);
out:
    if (fd >= 0) {
        close(fd);
        if (tmp)
            unlink(tmp);
    }
    free(tmp);
    free(dir);
    return rc;
}

int outbox_done(outbox *o, uint64_t seq)
{
    if (!o)
        return OUTBOX_ERR_ARG;
    int rc = 0;
    pthread_mutex_lock(&o->mu);
    long i = find_seq(o, seq);
    if (i < 0 || o->e[i].dead) {
        rc = OUTBOX_ERR_ARG;
        goto out;
    }
    uint8_t p[9];
    p[0] = 'D';
    bytes_put_le64(p + 1, seq);
    if ((rc = write_record(o->fd, p, sizeof p, &o->size)) < 0)
        goto out;
    o->dirty = 1;
    kill_entry(o, i);
    /* Delivered entries are most of the file: rewrite it. A failure leaves
     * the old file, which is still right, so it is only logged. */
    if (o->size > COMPACT_MIN_BYTES && o->size > 4 * (o->live_bytes + 64))
        (void)compact_locked(o);
out:
    pthread_mutex_unlock(&o->mu);
    return rc;
}

int outbox_sync(outbox *o)
{
    if (!o)
        return OUTBOX_ERR_ARG;
    pthread_mutex_lock(&o->mu);
    int rc = sync_fd(o);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

int outbox_foreach(outbox *o, outbox_visit_fn fn, void *user)
{
    int rc = 0;
    if (!o || !fn)
        return 0;
    pthread_mutex_lock(&o->mu);
    for (size_t i = 0; i < o->n && rc == 0; i++)
        if (!o->e[i].dead)
            rc = fn(user, o->e[i].seq, o->e[i].key, o->e[i].data, o->e[i].len);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

int outbox_compact(outbox *o)
{
    if (!o)
        return OUTBOX_ERR_ARG;
    pthread_mutex_lock(&o->mu);
    int rc = compact_locked(o);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

size_t outbox_pending(outbox *o)
{
    pthread_mutex_lock(&o->mu);
    size_t n = o->n - o->ndead;
    pthread_mutex_unlock(&o->mu);
    return n;
}

uint64_t outbox_file_size(outbox *o)
{
    pthread_mutex_lock(&o->mu);
    uint64_t n = o->size;
    pthread_mutex_unlock(&o->mu);
    return n;
}
