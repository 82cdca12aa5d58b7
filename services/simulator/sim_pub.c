/*
 * sim_pub — see sim_pub.h for why there are two back ends.
 *
 * The fast back end speaks just enough MQTT 3.1.1 (OASIS standard, 2014):
 * CONNECT/CONNACK (3.1, 3.2), PUBLISH at QoS 0 (3.3: no packet id, no
 * acknowledgement), PINGREQ (3.12) and DISCONNECT (3.14). Incoming bytes
 * (PINGRESP) are read and discarded; an end of stream means the broker
 * closed the connection.
 */
#include "sim_pub.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/log.h"
#include "bus/mqtt.h"
#include "sim_clock.h"

#define PUB_MAX_URIS 16
#define PUB_BUF 65536
#define PUB_KEEPALIVE_S 30
#define PUB_IO_TIMEOUT_S 5
#define PAHO_WINDOW 500

struct sim_pub {
    int fast;
    sim_pub_stats st;
    /* paho back end */
    mqtt_client *mc;
    unsigned window; /* publishes since the last drain */
    /* fast back end */
    char *uris_buf;
    char *host[PUB_MAX_URIS], *port[PUB_MAX_URIS];
    int nuris, cur;
    char *client_id, *username, *password;
    int fd;
    double last_io, next_retry, backoff;
    size_t len;     /* bytes in buf */
    unsigned nmsgs; /* PUBLISH packets in buf */
    unsigned char buf[PUB_BUF];
};

static int uri_is_plain(const char *u)
{
    return strncmp(u, "tcp://", 6) == 0 || strncmp(u, "mqtt://", 7) == 0;
}

/* Split "tcp://h:p,mqtt://h2:p2" into host/port pairs (in place in uris_buf). */
static int parse_uris(sim_pub *p, const char *uris)
{
    p->uris_buf = strdup(uris);
    if (!p->uris_buf)
        return -1;
    char *save = NULL;
    for (char *tok = strtok_r(p->uris_buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!uri_is_plain(tok)) {
            log_error("sim_pub_bad_uri uri=%s reason=\"fast publisher needs tcp:// or mqtt://\"",
                      tok);
            return -1;
        }
        char *h = strstr(tok, "://") + 3;
        char *colon = strrchr(h, ':');
        if (p->nuris >= PUB_MAX_URIS)
            return -1;
        if (*h == '[') { /* IPv6 literal: [::1]:1883 */
            char *close = strchr(h, ']');
            if (!close)
                return -1;
            *close = '\0';
            h++;
            colon = close[1] == ':' ? close + 1 : NULL;
        }
        if (colon) {
            *colon = '\0';
            p->port[p->nuris] = colon + 1;
        } else {
            p->port[p->nuris] = "1883";
        }
        p->host[p->nuris] = h;
        p->nuris++;
    }
    return p->nuris > 0 ? 0 : -1;
}

static void put16(unsigned char **w, size_t v)
{
    bytes_put_be16(*w, (uint16_t)v);
    *w += 2;
}

static void put_str(unsigned char **w, const char *s, size_t n)
{
    put16(w, n);
    memcpy(*w, s, n);
    *w += n;
}

/* MQTT "remaining length": 7 bits per byte, high bit = more (3.1.1 s2.2.3). */
static size_t put_varlen(unsigned char *w, size_t v)
{
    size_t n = 0;
    do {
        unsigned char b = v % 128;
        v /= 128;
        w[n++] = v ? (unsigned char)(b | 0x80) : b;
    } while (v && n < 4);
    return n;
}

static void fast_close(sim_pub *p, const char *why)
{
    if (p->fd < 0)
        return;
    close(p->fd);
    p->fd = -1;
    p->st.dropped += p->nmsgs;
    p->len = 0;
    p->nmsgs = 0;
    p->next_retry = clock_mono() + p->backoff;
    log_warn("mqtt_disconnected backend=fast reason=\"%s\" retry_in_s=%.1f", why, p->backoff);
}

static int write_all(sim_pub *p, const void *data, size_t len)
{
    const unsigned char *d = data;
    while (len > 0) {
        ssize_t n = send(p->fd, d, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fast_close(p, n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
                              ? "broker stopped reading"
                              : strerror(errno));
            return -1;
        }
        d += n;
        len -= (size_t)n;
    }
    p->last_io = clock_mono();
    return 0;
}

static int fast_flush(sim_pub *p)
{
    if (p->fd < 0)
        return -1;
    if (p->len == 0)
        return 0;
    unsigned n = p->nmsgs;
    if (write_all(p, p->buf, p->len) < 0)
        return -1; /* fast_close counted the buffered messages as dropped */
    p->st.sent += n;
    p->len = 0;
    p->nmsgs = 0;
    return 0;
}

/* One connection attempt to URI i: TCP connect, CONNECT, CONNACK, each
 * bounded by 2 s so an unreachable broker cannot stall the simulator. */
static int fast_connect_one(sim_pub *p, int i)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int fd = -1, rc = -1;
    if (getaddrinfo(p->host[i], p->port[i], &hints, &res) != 0 || !res)
        goto out;
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto out;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        goto out;
    if (connect(fd, res->ai_addr, res->ai_addrlen) < 0 && errno != EINPROGRESS)
        goto out;
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    if (poll(&pfd, 1, 2000) != 1)
        goto out;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0)
        goto out;
    if (fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
        goto out;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* we batch ourselves */
    struct timeval tv = {.tv_sec = PUB_IO_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct timeval rtv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rtv, sizeof rtv);

    /* CONNECT: protocol name "MQTT", level 4 (3.1.1), clean session. */
    size_t cid = strlen(p->client_id), un = p->username ? strlen(p->username) : 0,
           pw = p->password ? strlen(p->password) : 0;
    /* Bounded so the CONNECT body always fits vh (2 + 4 + 4 + 3 x (2 + len)). */
    if (cid > 256 || un > 1024 || pw > 1024)
        goto out;
    unsigned char vh[4096], *w = vh;
    put_str(&w, "MQTT", 4);
    *w++ = 4;
    *w++ = (unsigned char)(0x02 | (p->username ? 0x80 : 0) | (p->password ? 0x40 : 0));
    put16(&w, PUB_KEEPALIVE_S);
    put_str(&w, p->client_id, cid);
    if (p->username)
        put_str(&w, p->username, un);
    if (p->password)
        put_str(&w, p->password, pw);
    unsigned char hdr[5] = {0x10};
    size_t hl = 1 + put_varlen(hdr + 1, (size_t)(w - vh));
    if (send(fd, hdr, hl, MSG_NOSIGNAL) != (ssize_t)hl ||
        send(fd, vh, (size_t)(w - vh), MSG_NOSIGNAL) != (ssize_t)(w - vh))
        goto out;
    unsigned char ack[4];
    size_t got = 0;
    while (got < 4) {
        ssize_t n = recv(fd, ack + got, 4 - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto out;
        got += (size_t)n;
    }
    if (ack[0] != 0x20 || ack[1] != 0x02 || ack[3] != 0) {
        log_rate(20, 10.0, LOG_ERROR, "mqtt_connect_refused backend=fast uri=%s:%s code=%u",
                 p->host[i], p->port[i], ack[3]);
        goto out;
    }
    p->fd = fd;
    fd = -1;
    p->last_io = clock_mono();
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (res)
        freeaddrinfo(res);
    return rc;
}

static int fast_connect(sim_pub *p)
{
    for (int k = 0; k < p->nuris; k++) {
        int i = (p->cur + k) % p->nuris;
        if (fast_connect_one(p, i) == 0) {
            p->cur = i;
            p->backoff = 0.5;
            log_info("mqtt_connected backend=fast broker=%s:%s", p->host[i], p->port[i]);
            return 0;
        }
    }
    log_rate(21, 10.0, LOG_WARN, "mqtt_connect_failed backend=fast retry_in_s=%.1f", p->backoff);
    p->next_retry = clock_mono() + p->backoff;
    p->backoff = p->backoff * 2 > 8 ? 8 : p->backoff * 2;
    return -1;
}

int sim_pub_create(sim_pub **out, const sim_pub_options *opt)
{
    const char *mode = opt->mode ? opt->mode : "auto";
    int plain = 1;
    {
        /* every URI plain TCP? */
        const char *u = opt->uris;
        while (u && *u) {
            while (*u == ' ' || *u == ',')
                u++;
            if (!*u)
                break;
            if (!uri_is_plain(u))
                plain = 0;
            u = strchr(u, ',');
        }
    }
    int fast;
    if (strcmp(mode, "fast") == 0) {
        if (opt->qos != 0 || !plain) {
            log_error("sim_pub_invalid reason=\"the fast publisher does QoS 0 over tcp:// only\"");
            return -1;
        }
        fast = 1;
    } else if (strcmp(mode, "paho") == 0) {
        fast = 0;
    } else if (strcmp(mode, "auto") == 0) {
        fast = opt->qos == 0 && plain;
    } else {
        log_error("sim_pub_invalid mode=%s reason=\"expected auto, fast or paho\"", mode);
        return -1;
    }
    sim_pub *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->fd = -1;
    p->fast = fast;
    p->backoff = 0.5;
    if (!fast) {
        mqtt_options mo = {0};
        mo.uris = opt->uris;
        mo.client_id = opt->client_id;
        mo.username = opt->username;
        mo.password = opt->password;
        mo.ca_file = opt->ca_file;
        mo.clean_session = 1;
        mo.max_buffered = 100000;
        if (mqtt_client_create(&p->mc, &mo) < 0)
            goto fail;
        *out = p;
        return 0;
    }
    p->client_id = strdup(opt->client_id);
    p->username = opt->username ? strdup(opt->username) : NULL;
    p->password = opt->password ? strdup(opt->password) : NULL;
    if (!p->client_id || (opt->username && !p->username) || (opt->password && !p->password))
        goto fail;
    if (parse_uris(p, opt->uris) < 0)
        goto fail;
    fast_connect(p); /* failure is not fatal: poll() retries */
    *out = p;
    return 0;
fail:
    sim_pub_destroy(p);
    return -1;
}

const char *sim_pub_kind(const sim_pub *p)
{
    return p->fast ? "fast" : "paho";
}

int sim_pub_connected(sim_pub *p)
{
    return p->fast ? p->fd >= 0 : mqtt_client_is_connected(p->mc);
}

int sim_pub_wait_connected(sim_pub *p, int timeout_ms)
{
    if (!p->fast)
        return mqtt_client_wait_connected(p->mc, timeout_ms);
    double end = clock_mono() + timeout_ms / 1000.0;
    while (p->fd < 0) {
        double now = clock_mono();
        if (now >= end)
            return -1;
        if (now >= p->next_retry)
            fast_connect(p);
        else
            usleep(20000);
    }
    return 0;
}

int sim_pub_publish(sim_pub *p, const char *topic, const void *payload, size_t len, int qos)
{
    if (!p->fast) {
        /* Keep paho's command queue short: its send thread slows down as
         * the queue grows, and an unbounded queue is unbounded memory.
         * Waiting for it to drain every PAHO_WINDOW messages is the
         * back-pressure (skipped while disconnected: paho then buffers up
         * to max_buffered and refuses the rest, which we count). */
        if (++p->window >= PAHO_WINDOW) {
            p->window = 0;
            if (mqtt_client_is_connected(p->mc))
                mqtt_client_flush(p->mc, 10000);
        }
        if (mqtt_client_publish(p->mc, topic, payload, len, qos, 0) < 0) {
            p->st.dropped++;
            return -1;
        }
        p->st.sent++;
        return 0;
    }
    if (p->fd < 0) {
        p->st.dropped++;
        return -1;
    }
    size_t tl = strlen(topic);
    if (tl > 65535 || len > 128 * 1024 * 1024) {
        p->st.dropped++;
        return -1;
    }
    unsigned char hdr[8];
    hdr[0] = 0x30; /* PUBLISH, QoS 0, no DUP, no RETAIN */
    size_t hl = 1 + put_varlen(hdr + 1, 2 + tl + len);
    size_t total = hl + 2 + tl + len;
    if (total > PUB_BUF - p->len && fast_flush(p) < 0) {
        p->st.dropped++;
        return -1;
    }
    if (total > PUB_BUF) { /* larger than the buffer: write it straight through */
        unsigned char t2[2];
        bytes_put_be16(t2, (uint16_t)tl);
        if (write_all(p, hdr, hl) < 0 || write_all(p, t2, 2) < 0 || write_all(p, topic, tl) < 0 ||
            write_all(p, payload, len) < 0) {
            p->st.dropped++;
            return -1;
        }
        p->st.sent++;
        return 0;
    }
    unsigned char *w = p->buf + p->len;
    memcpy(w, hdr, hl);
    w += hl;
    put_str(&w, topic, tl);
    memcpy(w, payload, len);
    p->len += total;
    p->nmsgs++;
    return 0;
}

void sim_pub_poll(sim_pub *p)
{
    if (!p->fast)
        return;
    double now = clock_mono();
    if (p->fd < 0) {
        if (now >= p->next_retry && fast_connect(p) == 0)
            p->st.reconnects++;
        return;
    }
    if (fast_flush(p) < 0)
        return;
    if (now - p->last_io > PUB_KEEPALIVE_S / 2.0) {
        static const unsigned char ping[2] = {0xC0, 0x00};
        if (write_all(p, ping, 2) < 0)
            return;
    }
    unsigned char junk[512];
    for (;;) {
        ssize_t n = recv(p->fd, junk, sizeof junk, MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n == 0) {
            fast_close(p, "broker closed the connection");
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            fast_close(p, strerror(errno));
        }
        break;
    }
}

int sim_pub_flush(sim_pub *p, int timeout_ms)
{
    if (!p->fast)
        return mqtt_client_flush(p->mc, timeout_ms);
    return fast_flush(p);
}

void sim_pub_get_stats(const sim_pub *p, sim_pub_stats *st)
{
    *st = p->st;
}

void sim_pub_destroy(sim_pub *p)
{
    if (!p)
        return;
    if (p->mc) {
        mqtt_client_flush(p->mc, 1000);
        mqtt_client_destroy(p->mc);
    }
    if (p->fd >= 0 && fast_flush(p) == 0) {
        static const unsigned char disc[2] = {0xE0, 0x00};
        write_all(p, disc, 2);
    }
    if (p->fd >= 0)
        close(p->fd);
    free(p->uris_buf);
    free(p->client_id);
    free(p->username);
    free(p->password);
    free(p);
}
