/*
 * wsbench — load generator and receiver for the gateway's WebSocket fan-out.
 *
 *   wsbench HOST PORT MQTT_URL CLIENTS RATE SECONDS
 *
 * Opens CLIENTS WebSocket connections to ws://HOST:PORT/ws, then publishes
 * RATE anomalies per second for SECONDS on anomalies/wsbench through the
 * broker (the gateway's real input path), and receives on every
 * connection. Each anomaly carries its sequence number in "value"; the
 * publish time of every sequence number is kept, so publish-to-client
 * latency is exact (same clock, same process).
 *
 * The receiver is one epoll thread with non-blocking sockets and a minimal
 * RFC 6455 parser (server frames are unmasked). It finds "value": in each
 * frame by scanning instead of parsing the JSON: at a million messages a
 * second a full JSON parse would measure the benchmark, not the gateway.
 *
 * Prints: delivered messages/s, expected messages/s, latency p50/p99/max
 * (ms), messages lost, clients closed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bus/anomaly.h"
#include "bus/mqtt.h"
#include "bus/topics.h"

#define BUF 262144
#define HIST_BINS 100000 /* 0.1 ms bins: 0..10 s */

typedef struct {
    int fd;
    unsigned char *buf;
    size_t len;
    int upgraded;
    int closed;
} conn;

static double *sent_at; /* monotonic s per sequence number */
static long total_msgs;
static volatile long published;
static uint64_t hist[HIST_BINS + 1];
static uint64_t received, late_max_bin;
static double lat_max, last_recv;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    mqtt_client *mq;
    long rate;
    long seconds;
} pub_args;

static void *publisher(void *arg)
{
    pub_args *p = arg;
    anomaly a;
    char buf[2048], topic[TOPICS_MAX];
    memset(&a, 0, sizeof a);
    strcpy(a.sensor_id, "wsbench");
    topics_anomaly(topic, sizeof topic, a.sensor_id);
    strcpy(a.metric, "temperature");
    a.type = ANOMALY_POINT;
    a.score = 0.9;
    a.expected_low = NAN;
    a.expected_high = NAN;
    a.model_version = -1;
    snprintf(a.explanation, sizeof a.explanation,
             "temperature reading is far above the expected 19.1..24.3 for this hour");
    double start = now_s();
    for (long i = 0; i < total_msgs; i++) {
        /* Pace: message i is due at start + i / rate. */
        double due = start + (double)i / (double)p->rate;
        double d = due - now_s();
        if (d > 0) {
            struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
            nanosleep(&ts, NULL);
        }
        a.ts = 1764000000.0 + (double)i / 1000.0;
        a.value = (double)i;
        anomaly_make_id(&a);
        int n = anomaly_to_json(&a, buf, sizeof buf);
        sent_at[i] = now_s();
        if (n < 0 || mqtt_client_publish(p->mq, topic, buf, (size_t)n, 0, 0) != 0)
            fprintf(stderr, "publish %ld failed\n", i);
        published = i + 1;
    }
    return NULL;
}

static int connect_ws(const char *host, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /ws HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     host, port);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void record(const unsigned char *p, size_t n, double t)
{
    /* Find "value": and read the sequence number after it. */
    const char *v = memmem(p, n, "\"value\":", 8);
    if (!v)
        return;
    long seq = strtol(v + 8, NULL, 10);
    if (seq < 0 || seq >= total_msgs)
        return;
    double lat = t - sent_at[seq];
    long bin = (long)(lat * 10000.0);
    if (bin < 0)
        bin = 0;
    if (bin > HIST_BINS)
        bin = HIST_BINS;
    hist[bin]++;
    last_recv = t;
    if (lat > lat_max)
        lat_max = lat;
    received++;
}

/* Consume complete frames from c->buf. */
static void parse(conn *c, double t)
{
    size_t off = 0;
    if (!c->upgraded) {
        unsigned char *e = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!e)
            return;
        if (memcmp(c->buf, "HTTP/1.1 101", 12) != 0) {
            c->closed = 1;
            return;
        }
        c->upgraded = 1;
        off = (size_t)(e - c->buf) + 4;
    }
    for (;;) {
        size_t avail = c->len - off;
        if (avail < 2)
            break;
        const unsigned char *h = c->buf + off;
        uint64_t plen = h[1] & 0x7f;
        size_t hl = 2;
        if (plen == 126) {
            if (avail < 4)
                break;
            plen = (uint64_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (plen == 127) {
            if (avail < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | h[2 + i];
            hl = 10;
        }
        if (avail < hl + plen)
            break;
        int opcode = h[0] & 0x0f;
        if (opcode == 1)
            record(h + hl, (size_t)plen, t);
        else if (opcode == 8)
            c->closed = 1;
        off += hl + plen;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
}

static double percentile(double q)
{
    uint64_t target = (uint64_t)ceil(q * (double)received), acc = 0;
    for (long i = 0; i <= HIST_BINS; i++) {
        acc += hist[i];
        if (acc >= target && target > 0)
            return (double)i / 10.0 + 0.05; /* bin centre, ms */
    }
    return NAN;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: wsbench HOST PORT MQTT_URL CLIENTS RATE SECONDS\n");
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    const char *mqtt_url = argv[3];
    int nclients = atoi(argv[4]);
    long rate = atol(argv[5]), seconds = atol(argv[6]);
    total_msgs = rate * seconds;
    sent_at = calloc((size_t)total_msgs, sizeof *sent_at);
    conn *cs = calloc((size_t)nclients, sizeof *cs);
    int ep = epoll_create1(0);
    if (!sent_at || !cs || ep < 0)
        return 1;

    for (int i = 0; i < nclients; i++) {
        cs[i].fd = connect_ws(host, port);
        cs[i].buf = malloc(BUF);
        if (cs[i].fd < 0 || !cs[i].buf) {
            fprintf(stderr, "connect %d failed: %s\n", i, strerror(errno));
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    /* Wait until every connection is upgraded. */
    struct epoll_event evs[256];
    double until = now_s() + 20;
    int upgraded = 0;
    while (upgraded < nclients && now_s() < until) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int k = 0; k < n; k++) {
            conn *c = evs[k].data.ptr;
            ssize_t r = read(c->fd, c->buf + c->len, BUF - c->len);
            if (r > 0) {
                c->len += (size_t)r;
                int was = c->upgraded;
                parse(c, now_s());
                upgraded += c->upgraded && !was;
            }
        }
    }
    if (upgraded < nclients) {
        fprintf(stderr, "only %d of %d clients upgraded\n", upgraded, nclients);
        return 1;
    }
    received = 0;
    memset(hist, 0, sizeof hist);

    mqtt_client *mq;
    mqtt_options mo = {.uris = mqtt_url,
                       .client_id = "wsbench-pub",
                       .clean_session = 1,
                       .max_buffered = 100000,
                       .max_inflight = 10000};
    if (mqtt_client_create(&mq, &mo) != 0 || mqtt_client_wait_connected(mq, 10000) != 0) {
        fprintf(stderr, "mqtt connect failed\n");
        return 1;
    }
    pub_args pa = {mq, rate, seconds};
    pthread_t th;
    double t0 = now_s();
    pthread_create(&th, NULL, publisher, &pa);

    uint64_t expected = (uint64_t)total_msgs * (uint64_t)nclients;
    double deadline = t0 + (double)seconds + 15;
    double last_progress = now_s();
    uint64_t last_received = 0;
    while (received < expected && now_s() < deadline) {
        int n = epoll_wait(ep, evs, 256, 100);
        double t = now_s();
        for (int k = 0; k < n; k++) {
            conn *c = evs[k].data.ptr;
            for (;;) {
                ssize_t r = read(c->fd, c->buf + c->len, BUF - c->len);
                if (r > 0) {
                    c->len += (size_t)r;
                    parse(c, t);
                    continue;
                }
                if (r == 0) {
                    c->closed = 1;
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                }
                break;
            }
        }
        if (received != last_received) {
            last_received = received;
            last_progress = t;
        } else if (published == total_msgs && t - last_progress > 3) {
            break; /* nothing more is coming */
        }
    }
    double t1 = now_s();
    pthread_join(th, NULL);
    int closed = 0;
    for (int i = 0; i < nclients; i++)
        closed += cs[i].closed;
    (void)t1;
    double dur = (received ? last_recv : t1) - t0;
    printf("clients %d\n", nclients);
    printf("published %ld\n", (long)published);
    printf("expected_rate %.0f\n", (double)expected / (double)seconds);
    printf("delivered_rate %.0f\n", (double)received / dur);
    printf("delivered %llu\n", (unsigned long long)received);
    printf("lost %llu\n", (unsigned long long)(expected - received));
    printf("p50_ms %.2f\n", percentile(0.50));
    printf("p99_ms %.2f\n", percentile(0.99));
    printf("max_ms %.2f\n", lat_max * 1000.0);
    printf("closed %d\n", closed);
    (void)late_max_bin;
    mqtt_client_destroy(mq);
    return 0;
}
