/*
 * test_nasty — every nasty input through every parser facing the network,
 * in the normal test run (and again under ASan/UBSan with leak checks).
 *
 * The inputs are the fuzzers' seed corpora (tests/fuzz/corpus/<harness>/,
 * written by tests/fuzz/seeds.py) plus giants generated here: 10 MB
 * payloads, 30,000-deep nesting, thousands of fields. The per-parser input
 * layout and contract checks are shared with the libFuzzer harnesses
 * (tests/fuzz/nasty.h), so a contract the fuzzer enforces is also enforced
 * here on every commit. On top of "no crash, clean error code":
 *   - tests/fuzz/corpus/EXPECTED gives the outcome each seed must have
 *     (ok, the error name, the number of readings);
 *   - a valid message decoded before and after each nasty one comes out the
 *     same (nothing valid is lost, no state is corrupted);
 *   - JSON-RPC responses go through real libcurl from a loopback HTTP
 *     server thread, not a fake.
 * The corpus is found from NASTY_CORPUS, else tests/fuzz/corpus under the
 * current directory or above the test binary.
 */
#define _GNU_SOURCE /* strcasestr */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

/* Name of the input being run, for failure messages. */
static char cur_input[PATH_MAX + 64];

#define NASTY_CHECK(cond)                                                                  \
    do {                                                                                   \
        if (!(cond))                                                                       \
            fail_msg("%s: contract violated: %s (%s:%d)", cur_input, #cond, __FILE__,      \
                     __LINE__);                                                            \
    } while (0)

#include "../fuzz/nasty.h"
#include "../fuzz/nasty_gw.h"

/* ---- corpus ------------------------------------------------------------ */

typedef struct {
    char harness[32];
    char name[128];
    char expect[32];
    uint8_t *data;
    size_t len;
} seed;

static char corpus_dir[PATH_MAX];
static char root_dir[PATH_MAX];
static seed *seeds;
static size_t nseeds;

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int find_corpus(void)
{
    const char *env = getenv("NASTY_CORPUS");
    if (env && is_dir(env)) {
        snprintf(corpus_dir, sizeof corpus_dir, "%s", env);
        snprintf(root_dir, sizeof root_dir, "%s/../../..", env);
        return 0;
    }
    char base[PATH_MAX];
    /* the working directory (tests/run.sh runs from the root), then the
     * directories above the binary (build/tests/, build/asan/tests/) */
    const char *starts[2] = {".", NULL};
    ssize_t n = readlink("/proc/self/exe", base, sizeof base - 1);
    if (n > 0) {
        base[n] = '\0';
        char *slash = strrchr(base, '/');
        if (slash)
            *slash = '\0';
        starts[1] = base;
    }
    for (int s = 0; s < 2; s++) {
        if (!starts[s])
            continue;
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", starts[s]);
        for (int up = 0; up < 5; up++) {
            char cand[PATH_MAX + 32];
            snprintf(cand, sizeof cand, "%s/tests/fuzz/corpus", dir);
            if (is_dir(cand) && snprintf(corpus_dir, sizeof corpus_dir, "%s", cand) <
                                    (int)sizeof corpus_dir) {
                snprintf(root_dir, sizeof root_dir, "%s", dir);
                return 0;
            }
            size_t l = strlen(dir);
            if (l + 4 >= sizeof dir)
                break;
            memcpy(dir + l, "/..", 4);
        }
    }
    return -1;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0)
        goto out;
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)n + 1);
    if (!buf)
        goto out;
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
        goto out;
    }
    *len = (size_t)n;
out:
    fclose(f);
    return buf;
}

/* Load every line of EXPECTED and its file; every file of the corpus must
 * be listed there (a seed without an expectation is a mistake). */
static int load_seeds(void **state)
{
    (void)state;
    char path[PATH_MAX + 32], line[512];
    log_init("test_nasty", LOG_ERROR);
    if (find_corpus() != 0) {
        fprintf(stderr, "test_nasty: tests/fuzz/corpus not found (set NASTY_CORPUS)\n");
        return -1;
    }
    snprintf(path, sizeof path, "%s/EXPECTED", corpus_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char key[200], expect[32], *slash;
        if (sscanf(line, "%199s %31s", key, expect) != 2 || !(slash = strchr(key, '/')))
            continue;
        if (nseeds == cap) {
            cap = cap ? cap * 2 : 256;
            seed *ns = realloc(seeds, cap * sizeof *ns);
            if (!ns)
                return -1;
            seeds = ns;
        }
        seed *s = &seeds[nseeds];
        memset(s, 0, sizeof *s);
        *slash = '\0';
        if (snprintf(s->harness, sizeof s->harness, "%s", key) >= (int)sizeof s->harness ||
            snprintf(s->name, sizeof s->name, "%s", slash + 1) >= (int)sizeof s->name ||
            snprintf(path, sizeof path, "%s/%s/%s", corpus_dir, s->harness, s->name) >=
                (int)sizeof path) {
            fprintf(stderr, "test_nasty: name too long in EXPECTED: %s\n", key);
            fclose(f);
            return -1;
        }
        memcpy(s->expect, expect, sizeof s->expect);
        s->data = read_file(path, &s->len);
        if (!s->data) {
            fprintf(stderr, "test_nasty: cannot read %s\n", path);
            fclose(f);
            return -1;
        }
        nseeds++;
    }
    fclose(f);
    return nseeds > 0 ? 0 : -1;
}

static int free_seeds(void **state)
{
    (void)state;
    for (size_t i = 0; i < nseeds; i++)
        free(seeds[i].data);
    free(seeds);
    seeds = NULL;
    nseeds = 0;
    return 0;
}

/* Mapping examples shipped in config/ that configure adapters. */
static void config_mappings(char *out, size_t cap)
{
    char pat[PATH_MAX + 32];
    glob_t g;
    out[0] = '\0';
    snprintf(pat, sizeof pat, "%s/config/*.json", root_dir);
    if (glob(pat, 0, NULL, &g) != 0)
        return;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        size_t len;
        uint8_t *d = read_file(g.gl_pathv[i], &len);
        if (!d)
            continue;
        d[len] = '\0';
        if (strstr((char *)d, "\"adapters\"") && strlen(out) + strlen(g.gl_pathv[i]) + 2 < cap) {
            if (out[0])
                strcat(out, ":");
            strcat(out, g.gl_pathv[i]);
        }
        free(d);
    }
    globfree(&g);
}

/* ---- a loopback JSON-RPC "node" that answers what it is told ------------ */

static struct {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t lock;
    const uint8_t *body;
    size_t len;
    int status;
    volatile int stop;
} srv = {.fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER};

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one HTTP request (headers and a Content-Length body) and discard it. */
static int read_request(int fd)
{
    char buf[8192];
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        if (have == sizeof buf - 1)
            return -1;
        ssize_t r = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (r <= 0)
            return -1;
        have += (size_t)r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t clen = 0;
    char *cl = strcasestr(buf, "content-length:");
    if (cl)
        clen = strtoul(cl + 15, NULL, 10);
    size_t got = have - (size_t)(end + 4 - buf);
    while (got < clen) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static void *serve(void *arg)
{
    (void)arg;
    while (!srv.stop) {
        int c = accept(srv.fd, NULL, NULL);
        if (c < 0)
            continue;
        if (!srv.stop && read_request(c) == 0) {
            pthread_mutex_lock(&srv.lock);
            char hdr[256];
            int hl = snprintf(hdr, sizeof hdr,
                              "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                              "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                              srv.status, srv.len);
            if (send_all(c, hdr, (size_t)hl) == 0)
                send_all(c, srv.body, srv.len);
            pthread_mutex_unlock(&srv.lock);
        }
        close(c);
    }
    return NULL;
}

static int server_start(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (srv.fd < 0 || bind(srv.fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(srv.fd, 16) != 0 || getsockname(srv.fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    srv.port = ntohs(a.sin_port);
    srv.stop = 0;
    return pthread_create(&srv.thread, NULL, serve, NULL) == 0 ? 0 : -1;
}

static void server_stop(void)
{
    srv.stop = 1;
    /* wake accept() */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (s >= 0) {
        if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
            /* nothing to wake */
        }
        close(s);
    }
    pthread_join(srv.thread, NULL);
    close(srv.fd);
    srv.fd = -1;
}

/* Run one rpc-layout input (nasty.h) against the loopback node. */
static const char *run_rpc(rpc_client *c, const uint8_t *d, size_t n)
{
    if (n < 2)
        return "-";
    pthread_mutex_lock(&srv.lock);
    srv.status = (d[0] & 2) ? 500 : 200;
    srv.body = d + 2;
    srv.len = n - 2;
    pthread_mutex_unlock(&srv.lock);
    const char *outcome = nasty_rpc(c, d, n);
    /* The client may give up on a bad answer while the server is still
     * sending it (under the lock): wait for that before the caller reuses
     * or frees the buffer, and leave the server nothing to send. */
    pthread_mutex_lock(&srv.lock);
    srv.body = NULL;
    srv.len = 0;
    pthread_mutex_unlock(&srv.lock);
    return outcome;
}

static rpc_client *rpc_new(void)
{
    char url[64];
    rpc_client *c = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", srv.port);
    assert_int_equal(rpc_client_create(&c, url, 10000), 0);
    return c;
}

/* ---- tests --------------------------------------------------------------- */

/* Every seed has the outcome EXPECTED gives it. */
static void test_expected_outcomes(void **state)
{
    (void)state;
    nasty_ingest_set set;
    static reading out[16];
    int n, bad = 0, checked = 0;
    char maps[4096];

    assert_int_equal(server_start(), 0);
    rpc_client *c = rpc_new();
    for (size_t i = 0; i < nseeds; i++) {
        const seed *s = &seeds[i];
        const char *got;
        snprintf(cur_input, sizeof cur_input, "%s/%s", s->harness, s->name);
        /* a fresh ingest context per seed: ESPHome grouping is stateful */
        config_mappings(maps, sizeof maps);
        assert_int_equal(nasty_ingest_init(&set, maps), 0);
        if (strcmp(s->harness, "reading") == 0)
            got = nasty_reading(s->data, s->len);
        else if (strcmp(s->harness, "anomaly") == 0)
            got = nasty_anomaly(s->data, s->len);
        else if (strcmp(s->harness, "ingest") == 0)
            got = nasty_ingest(&set, s->data, s->len, out, &n);
        else if (strcmp(s->harness, "anomaly_log") == 0)
            got = nasty_anomaly_log(s->data, s->len);
        else if (strcmp(s->harness, "rpc") == 0)
            got = run_rpc(c, s->data, s->len);
        else if (strcmp(s->harness, "gateway") == 0) {
            nasty_gw gwc; /* fresh: the sensor table is state */
            assert_int_equal(nasty_gw_init(&gwc), 0);
            got = nasty_gateway(&gwc, s->data, s->len);
            nasty_gw_free(&gwc);
        } else {
            fail_msg("%s: no parser for harness '%s'", cur_input, s->harness);
            got = "-";
        }
        nasty_ingest_free(&set);
        if (strcmp(s->expect, "-") == 0)
            continue;
        checked++;
        if (strcmp(got, s->expect) != 0) {
            fprintf(stderr, "  %s: expected %s, got %s\n", cur_input, s->expect, got);
            bad++;
        }
    }
    rpc_client_destroy(c);
    server_stop();
    fprintf(stderr, "  %zu seeds, %d with an expected outcome, %d wrong\n", nseeds, checked, bad);
    assert_int_equal(bad, 0);
}

/* Every seed, whatever harness it was written for, through every parser
 * (the bytes as they are, and the payload under every ingest topic). */
static void test_every_input_every_parser(void **state)
{
    (void)state;
    nasty_ingest_set set;
    static reading out[16];
    int n;
    char maps[4096];
    static uint8_t buf[70000];

    nasty_gw gwc;
    config_mappings(maps, sizeof maps);
    assert_int_equal(nasty_ingest_init(&set, maps), 0);
    assert_int_equal(nasty_gw_init(&gwc), 0);
    assert_int_equal(server_start(), 0);
    rpc_client *c = rpc_new();
    for (size_t i = 0; i < nseeds; i++) {
        const seed *s = &seeds[i];
        snprintf(cur_input, sizeof cur_input, "%s/%s (as every format)", s->harness, s->name);
        nasty_reading(s->data, s->len);
        nasty_anomaly(s->data, s->len);
        nasty_anomaly_log(s->data, s->len);
        nasty_ingest(&set, s->data, s->len, out, &n);
        run_rpc(c, s->data, s->len);
        nasty_gateway(&gwc, s->data, s->len);
        /* the payload (after any prefix byte) on every topic of every context */
        size_t skip = strcmp(s->harness, "reading") == 0 || strcmp(s->harness, "anomaly") == 0
                          ? 0
                          : (strcmp(s->harness, "rpc") == 0 ? 2 : 1);
        if (s->len < skip || s->len - skip + 1 > sizeof buf)
            continue;
        memcpy(buf + 1, s->data + skip, s->len - skip);
        for (int ctx = 0; ctx < set.n; ctx++) {
            for (int t = 0; t < 15; t++) {
                buf[0] = (uint8_t)(ctx << 4 | t);
                nasty_ingest(&set, buf, s->len - skip + 1, out, &n);
            }
        }
        /* and to every gateway entry point (REST as the body of a POST) */
        for (int m = 1; m < 7; m++) {
            buf[0] = (uint8_t)m;
            nasty_gateway(&gwc, buf, s->len - skip + 1);
        }
        static const char post[] = "\0P /api/readings\nBearer " NASTY_GW_TOKEN "\n";
        static uint8_t req[sizeof post + sizeof buf];
        memcpy(req, post, sizeof post - 1);
        memcpy(req + sizeof post - 1, buf + 1, s->len - skip);
        nasty_gateway(&gwc, req, sizeof post - 1 + s->len - skip);
    }
    rpc_client_destroy(c);
    server_stop();
    nasty_gw_free(&gwc);
    nasty_ingest_free(&set);
}

/* Build `pre` + `body` in a new buffer. */
static uint8_t *cat(const char *pre, size_t plen, const uint8_t *body, size_t blen, size_t *len)
{
    uint8_t *p = malloc(plen + blen);
    assert_non_null(p);
    memcpy(p, pre, plen);
    memcpy(p + plen, body, blen);
    *len = plen + blen;
    return p;
}

static uint8_t *make_big(size_t mb, size_t *len)
{
    const char head[] = "{\"temperature\":21.5,\"pad\":\"", tail[] = "\"}";
    size_t n = mb * 1024 * 1024;
    uint8_t *p = malloc(n);
    assert_non_null(p);
    memcpy(p, head, sizeof head - 1);
    memset(p + sizeof head - 1, 'x', n - (sizeof head - 1) - (sizeof tail - 1));
    memcpy(p + n - (sizeof tail - 1), tail, sizeof tail - 1);
    *len = n;
    return p;
}

static uint8_t *make_deep(size_t levels, size_t *len)
{
    uint8_t *p = malloc(2 * levels);
    assert_non_null(p);
    memset(p, '[', levels);
    memset(p + levels, ']', levels);
    *len = 2 * levels;
    return p;
}

/* {"m0":0,"m1":1,...}: a fixed pattern of digits, so printing it is safe. */
static uint8_t *make_fields(size_t nfields, size_t *len)
{
    uint8_t *p = malloc(nfields * 16 + 2);
    assert_non_null(p);
    size_t o = 0;
    p[o++] = '{';
    for (size_t i = 0; i < nfields; i++)
        o += (size_t)sprintf((char *)p + o, "%s\"m%zu\":%zu", i ? "," : "", i, i);
    p[o++] = '}';
    *len = o;
    return p;
}

/* Inputs too big to commit: each parser rejects them cleanly with the
 * right code (or, for a JSON-RPC node, accepts a big valid answer). */
static void test_giants(void **state)
{
    (void)state;
    size_t blen, dlen, flen, l;
    uint8_t *big = make_big(10, &blen);
    uint8_t *deep = make_deep(30000, &dlen);   /* 60 kB: under the payload cap */
    uint8_t *fields = make_fields(5000, &flen); /* < 64 kB */
    nasty_ingest_set set;
    static reading out[16];
    int n;

    snprintf(cur_input, sizeof cur_input, "generated 10 MB payload");
    assert_string_equal(nasty_reading(big, blen), "too_large");
    assert_string_equal(nasty_anomaly(big, blen), "too_large");
    snprintf(cur_input, sizeof cur_input, "generated 30000-deep nesting");
    assert_string_equal(nasty_reading(deep, dlen), "json");
    assert_string_equal(nasty_anomaly(deep, dlen), "json");
    snprintf(cur_input, sizeof cur_input, "generated 5000 fields");
    assert_string_equal(nasty_reading(fields, flen), "too_many");
    assert_string_equal(nasty_anomaly(fields, flen), "type");

    assert_int_equal(nasty_ingest_init(&set, NULL), 0);
    for (int t = 0; t < 15; t++) {
        /* topics 9..13 are those of context 1 (nasty.h) */
        char pre[1] = {(char)((t >= 9 && t <= 13 ? 1 : 0) << 4 | t)};
        if (t == 8 || t == 14)
            continue; /* bridge topic, non-topic: not payloads of a reading */
        uint8_t *p = cat(pre, 1, big, blen, &l);
        snprintf(cur_input, sizeof cur_input, "generated 10 MB on %s", nasty_topics[t]);
        const char *got = nasty_ingest(&set, p, l, out, &n);
        if (strcmp(got, "too_large") != 0)
            fail_msg("%s: expected too_large, got %s", cur_input, got);
        free(p);
        p = cat(pre, 1, deep, dlen, &l);
        snprintf(cur_input, sizeof cur_input, "generated deep nesting on %s", nasty_topics[t]);
        got = nasty_ingest(&set, p, l, out, &n);
        if (strncmp(got, "ok", 2) == 0 || strcmp(got, "ignored") == 0)
            fail_msg("%s: accepted (%s)", cur_input, got);
        free(p);
        p = cat(pre, 1, fields, flen, &l);
        snprintf(cur_input, sizeof cur_input, "generated 5000 fields on %s", nasty_topics[t]);
        nasty_ingest(&set, p, l, out, &n); /* contract checks only: adapters filter fields */
        free(p);
    }
    nasty_ingest_free(&set);

    /* The chain node: a 10 MB valid answer is fine (eth_getLogs can be
     * big), 10 MB of garbage and deep nesting are parse errors. */
    assert_int_equal(server_start(), 0);
    rpc_client *c = rpc_new();
    const char ok_head[] = "\0\0{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"";
    uint8_t *p = malloc(blen + 64);
    assert_non_null(p);
    memcpy(p, ok_head, sizeof ok_head - 1);
    memset(p + sizeof ok_head - 1, 'a', blen);
    memcpy(p + sizeof ok_head - 1 + blen, "\"}", 2);
    snprintf(cur_input, sizeof cur_input, "generated 10 MB JSON-RPC result");
    assert_string_equal(run_rpc(c, p, sizeof ok_head - 1 + blen + 2), "ok");
    memset(p + 2, 0xff, blen);
    snprintf(cur_input, sizeof cur_input, "generated 10 MB of 0xff from the node");
    assert_string_equal(run_rpc(c, p, blen + 2), "parse");
    free(p);
    uint8_t *deep_rpc = cat("\0\0", 2, deep, dlen, &l);
    snprintf(cur_input, sizeof cur_input, "generated deep nesting from the node");
    assert_string_equal(run_rpc(c, deep_rpc, l), "parse");
    free(deep_rpc);
    rpc_client_destroy(c);
    server_stop();

    free(big);
    free(deep);
    free(fields);
}

static int same_reading(const reading *a, const reading *b)
{
    if (strcmp(a->sensor_id, b->sensor_id) != 0 || a->n != b->n || a->ts != b->ts)
        return 0;
    for (int i = 0; i < a->n; i++) {
        int j = reading_find(b, a->m[i].name);
        if (j < 0 || b->m[j].value != a->m[i].value)
            return 0;
    }
    return 1;
}

/* Decode `payload` on topic index t of context 0; expect exactly one reading. */
static void decode_one(nasty_ingest_set *set, int t, const char *payload, reading *r)
{
    uint8_t buf[256];
    static reading out[16];
    int n;
    size_t l = strlen(payload);
    buf[0] = (uint8_t)t;
    memcpy(buf + 1, payload, l);
    const char *got = nasty_ingest(set, buf, l + 1, out, &n);
    if (n != 1)
        fail_msg("%s: valid message on %s gave %s", cur_input, nasty_topics[t], got);
    *r = out[0];
}

/* A valid message before and after each nasty one decodes the same, on the
 * same context; and an ESPHome group collecting values across messages
 * keeps what it has when a nasty state arrives in between. */
static void test_valid_survives_nasty(void **state)
{
    (void)state;
    nasty_ingest_set set;
    static reading out[16];
    reading before[3], after[3];
    int n;
    const char *valid[3] = {"{\"ts\":1764028000,\"temperature\":21.4,\"humidity\":40}",
                            "{\"temperature\":21.4,\"humidity\":40.5,\"battery\":97}",
                            "[{\"bn\":\"dev1:\",\"bt\":1764028000,\"n\":\"temp\",\"v\":21.4}]"};
    const int vtopic[3] = {0, 1, 3};

    assert_int_equal(nasty_ingest_init(&set, NULL), 0);
    for (size_t i = 0; i < nseeds; i++) {
        const seed *s = &seeds[i];
        if (strcmp(s->harness, "ingest") != 0)
            continue;
        snprintf(cur_input, sizeof cur_input, "valid around ingest/%s", s->name);
        for (int v = 0; v < 3; v++)
            decode_one(&set, vtopic[v], valid[v], &before[v]);
        nasty_ingest(&set, s->data, s->len, out, &n);
        for (int v = 0; v < 3; v++) {
            decode_one(&set, vtopic[v], valid[v], &after[v]);
            if (!same_reading(&before[v], &after[v]))
                fail_msg("%s: %s decodes differently after it", cur_input, nasty_topics[vtopic[v]]);
        }
    }
    nasty_ingest_free(&set);

    /* ESPHome: temperature, <nasty humidity state>, humidity, pressure ->
     * one reading with all three. */
    static const char *const bad_states[] = {"nan", "unavailable", "", "1e999", "21,4",
                                             "0x10", "inf", "abc", "                   "};
    for (size_t b = 0; b < sizeof bad_states / sizeof bad_states[0]; b++) {
        snprintf(cur_input, sizeof cur_input, "esphome group around state '%s'", bad_states[b]);
        uint8_t buf[64];
        assert_int_equal(nasty_ingest_init(&set, NULL), 0);
        buf[0] = 4;
        memcpy(buf + 1, "21.5", 4);
        assert_string_equal(nasty_ingest(&set, buf, 5, out, &n), "ignored");
        buf[0] = 5;
        size_t bl = strlen(bad_states[b]);
        memcpy(buf + 1, bad_states[b], bl);
        const char *got = nasty_ingest(&set, buf, bl + 1, out, &n);
        assert_true(strncmp(got, "ok", 2) != 0 && strcmp(got, "ignored") != 0);
        memcpy(buf + 1, "40.5", 4);
        assert_string_equal(nasty_ingest(&set, buf, 5, out, &n), "ignored");
        buf[0] = 6;
        memcpy(buf + 1, "101325", 6);
        assert_string_equal(nasty_ingest(&set, buf, 7, out, &n), "ok:1");
        assert_int_equal(out[0].n, 3);
        assert_string_equal(out[0].sensor_id, "esp-1");
        int ti = reading_find(&out[0], "temperature"), pi = reading_find(&out[0], "pressure");
        assert_true(ti >= 0 && pi >= 0);
        assert_true(fabs(out[0].m[ti].value - 21.5) < 1e-9);
        assert_true(fabs(out[0].m[pi].value - 1013.25) < 1e-9);
        nasty_ingest_free(&set);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expected_outcomes),
        cmocka_unit_test(test_every_input_every_parser),
        cmocka_unit_test(test_giants),
        cmocka_unit_test(test_valid_survives_nasty),
    };
    int rc = cmocka_run_group_tests(tests, load_seeds, free_seeds);
    for (int k = 0; k < NASTY_NKNOWN; k++)
        if (nasty_known_hits[k])
            fprintf(stderr, "known finding hit %lu times (tests/fuzz/nasty.h): %s\n",
                    nasty_known_hits[k], nasty_known_names[k]);
    return rc;
}
