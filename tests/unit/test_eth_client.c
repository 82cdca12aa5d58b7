/* Unit tests for common/eth/client: the block-range pager against a tiny
 * JSON-RPC server on a loopback port (it records each eth_getLogs request
 * and answers from a script: logs, a node error, a wrong shape), and the
 * fee ceilings (saturating arithmetic, bounded bump, refusal to sign). */
#define _GNU_SOURCE /* strcasestr */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
// clang-format on

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/hex.h"
#include "eth/client.h"

/* ---- the scripted node ---------------------------------------------- */

enum { ANS_LOGS, ANS_ERROR, ANS_HTTP500, ANS_NOT_ARRAY };

typedef struct {
    int kind;
    int nlogs; /* ANS_LOGS: this many dummy log objects */
} answer;

#define MAXREQ 32
static int lfd, port;
static const answer *script;
static int nscript;
static json_t *requests[MAXREQ]; /* the params[0] filter of each request */
static int nreq;

static int read_request(int c, char *buf, size_t cap)
{
    size_t have = 0;
    for (;;) {
        ssize_t n = recv(c, buf + have, cap - 1 - have, 0);
        if (n <= 0)
            return -1;
        have += (size_t)n;
        buf[have] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        const char *cl = strcasestr(buf, "content-length:");
        size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;
        if (have >= (size_t)(end + 4 - buf) + want)
            return (int)(end + 4 - buf);
    }
}

static void reply(int c, const char *status, const char *body)
{
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: "
                      "%zu\r\nConnection: close\r\n\r\n",
                      status, strlen(body));
    (void)!send(c, head, (size_t)hl, MSG_NOSIGNAL);
    (void)!send(c, body, strlen(body), MSG_NOSIGNAL);
}

static void *server(void *arg)
{
    (void)arg;
    static char buf[65536];
    for (int i = 0; i < nscript; i++) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            return NULL;
        int off = read_request(c, buf, sizeof buf);
        json_t *req = off >= 0 ? json_loads(buf + off, 0, NULL) : NULL;
        if (nreq < MAXREQ)
            requests[nreq++] = json_incref(json_array_get(json_object_get(req, "params"), 0));
        json_decref(req);
        const answer *a = &script[i];
        if (a->kind == ANS_HTTP500) {
            reply(c, "500 Internal Server Error", "{}");
        } else if (a->kind == ANS_ERROR) {
            reply(c, "200 OK",
                  "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32005,\"message\":"
                  "\"query returned more than 10000 results\"}}");
        } else if (a->kind == ANS_NOT_ARRAY) {
            reply(c, "200 OK", "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"logs\":[]}}");
        } else {
            json_t *logs = json_array();
            for (int k = 0; k < a->nlogs; k++)
                json_array_append_new(logs, json_pack("{s:i}", "n", k));
            json_t *r = json_pack("{s:s, s:i, s:o}", "jsonrpc", "2.0", "id", 1, "result", logs);
            char *s = json_dumps(r, JSON_COMPACT);
            reply(c, "200 OK", s);
            free(s);
            json_decref(r);
        }
        close(c);
    }
    return NULL;
}

static void start(const answer *s, int n, pthread_t *th, char url[64])
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 16), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
    port = ntohs(a.sin_port);
    script = s;
    nscript = n;
    for (int i = 0; i < nreq; i++) /* the previous test's */
        json_decref(requests[i]);
    nreq = 0;
    snprintf(url, 64, "http://127.0.0.1:%d", port);
    assert_int_equal(pthread_create(th, NULL, server, NULL), 0);
}

static void stop(pthread_t th)
{
    pthread_join(th, NULL);
    close(lfd);
}

/* Request i asked for exactly blocks [from, to]. */
static void assert_range(int i, uint64_t from, uint64_t to)
{
    uint64_t f, t;
    assert_true(i < nreq);
    assert_int_equal(hex_to_u64(json_string_value(json_object_get(requests[i], "fromBlock")), &f),
                     0);
    assert_int_equal(hex_to_u64(json_string_value(json_object_get(requests[i], "toBlock")), &t), 0);
    assert_int_equal(f, from);
    assert_int_equal(t, to);
}

#define CONTRACT "0x00000000000000000000000000000000000000aa"

static void test_pager_fixed_pages_and_error(void **state)
{
    (void)state;
    /* [0, 12] in pages of 5: [0,4] [5,9] fail mid-way. */
    const answer s[] = {{ANS_LOGS, 2}, {ANS_ERROR, 0}};
    pthread_t th;
    char url[64], err[128];
    start(s, 2, &th, url);
    rpc_client *rpc;
    assert_int_equal(rpc_client_create(&rpc, url, 5000), 0);
    json_t *topics = json_pack("[s, n]", "0x"
                                         "11111111111111111111111111111111"
                                         "11111111111111111111111111111111");
    eth_log_filter f;
    eth_log_filter_init(&f, CONTRACT, topics);
    eth_log_paging po = {.range = 5, .range_min = 5, .range_max = 5};
    eth_log_pager pg;
    eth_log_pager_init(&pg, rpc, &f, 0, 12, &po);
    json_t *logs = NULL;

    assert_int_equal(eth_log_pager_next(&pg, &logs, err, sizeof err), 1);
    assert_int_equal(json_array_size(logs), 2);
    json_decref(logs);
    assert_int_equal(pg.from, 0);
    assert_int_equal(pg.to, 4);
    /* The error in the middle of the span: reported, not retried (fixed pages). */
    assert_true(eth_log_pager_next(&pg, &logs, err, sizeof err) == RPC_ERR_REMOTE);
    assert_null(logs);
    assert_int_equal(pg.retry, 0);
    assert_int_equal(pg.done, 0);
    assert_string_equal(err, "query returned more than 10000 results");
    assert_int_equal(pg.calls, 2);
    stop(th);

    assert_int_equal(nreq, 2);
    assert_range(0, 0, 4);
    assert_range(1, 5, 9);
    /* The filter is sent as given: address and topics (null kept). */
    assert_string_equal(json_string_value(json_object_get(requests[0], "address")), CONTRACT);
    assert_true(json_equal(json_object_get(requests[0], "topics"), topics));
    json_decref(topics);
    rpc_client_destroy(rpc);
}

static void test_pager_page_boundary(void **state)
{
    (void)state;
    /* [3, 12] in pages of 5: [3,7] [8,12], then done without a call; the
     * last page ends exactly on the span's last block. */
    const answer s[] = {{ANS_LOGS, 0}, {ANS_LOGS, 1}};
    pthread_t th;
    char url[64], err[128];
    start(s, 2, &th, url);
    rpc_client *rpc;
    assert_int_equal(rpc_client_create(&rpc, url, 5000), 0);
    eth_log_filter f;
    eth_log_filter_init(&f, CONTRACT, NULL);
    eth_log_paging po = {.range = 5, .range_min = 5, .range_max = 5};
    eth_log_pager pg;
    eth_log_pager_init(&pg, rpc, &f, 3, 12, &po);
    json_t *logs;
    int pages = 0;
    while (eth_log_pager_next(&pg, &logs, err, sizeof err) == 1) {
        pages++;
        json_decref(logs);
    }
    assert_int_equal(pages, 2);
    assert_int_equal(pg.calls, 2);
    assert_int_equal(eth_log_pager_next(&pg, &logs, err, sizeof err), 0);
    stop(th);
    assert_int_equal(nreq, 2);
    assert_range(0, 3, 7);
    assert_range(1, 8, 12);
    assert_null(json_object_get(requests[0], "topics"));

    /* An empty span makes no call; a one-block span one call. */
    eth_log_pager_init(&pg, rpc, &f, 10, 9, &po);
    assert_int_equal(eth_log_pager_next(&pg, &logs, err, sizeof err), 0);
    assert_int_equal(pg.calls, 0);
    rpc_client_destroy(rpc);
}

static void test_pager_adaptive_backward(void **state)
{
    (void)state;
    /* Backward over [0, 40], range 8 (min 2, max 16, high 3, low 1):
     *   [33,40] fails      -> range 4, retry
     *   [37,40] 5 logs     -> too many: range 2
     *   [35,36] 0 logs     -> few: range 4
     *   [31,34] 2 logs     -> keep 4
     *   [27,30] not array  -> shape error, range 2, retry
     *   [29,30] 0 logs     -> range 4 */
    const answer s[] = {{ANS_HTTP500, 0}, {ANS_LOGS, 5},      {ANS_LOGS, 0},
                        {ANS_LOGS, 2},    {ANS_NOT_ARRAY, 0}, {ANS_LOGS, 0}};
    pthread_t th;
    char url[64], err[128];
    start(s, 6, &th, url);
    rpc_client *rpc;
    assert_int_equal(rpc_client_create(&rpc, url, 5000), 0);
    eth_log_filter f;
    eth_log_filter_init(&f, CONTRACT, NULL);
    eth_log_paging po = {
        .backward = 1, .range = 8, .range_min = 2, .range_max = 16, .logs_high = 3, .logs_low = 1};
    eth_log_pager pg;
    eth_log_pager_init(&pg, rpc, &f, 0, 40, &po);
    json_t *logs;
    assert_int_equal(eth_log_pager_next(&pg, &logs, err, sizeof err), RPC_ERR_TRANSPORT);
    assert_int_equal(pg.retry, 1);
    assert_int_equal(pg.range, 4);
    assert_int_equal(eth_log_pager_next(&pg, &logs, err, sizeof err), 1);
    json_decref(logs);
    assert_int_equal(pg.range, 2);
    assert_int_equal(eth_log_pager_next(&pg, &logs, err, sizeof err), 1);
    json_decref(logs);
    assert_int_equal(pg.range, 4);
    assert_int_equal(eth_log_pager_next(&pg, &logs, err, sizeof err), 1);
    json_decref(logs);
    assert_int_equal(pg.range, 4);
    assert_int_equal(eth_log_pager_next(&pg, &logs, err, sizeof err), ETH_LOGS_ERR_SHAPE);
    assert_string_equal(err, "eth_getLogs result is not an array");
    assert_int_equal(pg.retry, 1);
    assert_int_equal(eth_log_pager_next(&pg, &logs, err, sizeof err), 1);
    json_decref(logs);
    assert_int_equal(pg.range, 4);
    assert_int_equal(pg.calls, 6);
    stop(th);
    assert_int_equal(nreq, 6);
    assert_range(0, 33, 40);
    assert_range(1, 37, 40);
    assert_range(2, 35, 36);
    assert_range(3, 31, 34);
    assert_range(4, 27, 30);
    assert_range(5, 29, 30);
    rpc_client_destroy(rpc);
}

static void test_client_pager_error_is_chain_error(void **state)
{
    (void)state;
    /* Through an eth_client: [0, 9] in pages of 5 (as `verify` pages by
     * 5000), the second page fails: ETH_ERR_CHAIN with the node's text. */
    const answer s[] = {{ANS_LOGS, 1}, {ANS_ERROR, 0}};
    pthread_t th;
    char url[64];
    start(s, 2, &th, url);
    eth_client e;
    assert_int_equal(eth_client_init(&e, url, NULL, 1337, 5000), 0);
    /* [topic0s, any id]: no logger topic (its position differs between
     * Recorded and the older events; readers check the decoded logger) */
    json_t *topics = eth_client_anomaly_topics(NULL);
    assert_int_equal(json_array_size(topics), 2);
    assert_int_equal(json_array_size(json_array_get(topics, 0)), 3);
    assert_true(json_is_null(json_array_get(topics, 1)));
    eth_log_filter f;
    eth_log_filter_init(&f, CONTRACT, topics);
    eth_log_pager pg;
    eth_client_pager(&e, &pg, &f, 0, 9, 5);
    json_t *logs;
    assert_int_equal(eth_client_pager_next(&e, &pg, &logs), 1);
    json_decref(logs);
    assert_int_equal(eth_client_pager_next(&e, &pg, &logs), ETH_ERR_CHAIN);
    assert_string_equal(e.err, "query returned more than 10000 results");
    stop(th);
    assert_range(1, 5, 9);
    json_decref(topics);
    eth_client_free(&e);
}

/* ---- fees ------------------------------------------------------------- */

#define KEY "4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d"

static void fee_client(eth_client *e, tx_key **k)
{
    assert_int_equal(tx_key_from_hex(k, KEY), 0);
    assert_int_equal(eth_client_init(e, "http://127.0.0.1:9", *k, 1337, 1000), 0);
    e->eip1559 = 1;
}

static void test_fees_saturate(void **state)
{
    (void)state;
    eth_client e;
    tx_key *k;
    uint64_t max_fee, prio;
    fee_client(&e, &k);
    e.max_fee_per_gas = UINT64_MAX; /* no ceiling: only saturation bounds it */
    e.max_priority_fee = UINT64_MAX;
    /* 2 x base fee + tip overflows: saturates, never wraps to a small number. */
    e.base_fee = UINT64_MAX / 2 + 5;
    e.priority_fee = 7;
    assert_int_equal(eth_client_fees(&e, &max_fee, &prio), 0);
    assert_true(max_fee == UINT64_MAX);
    assert_int_equal(prio, 7);
    e.base_fee = 1000;
    e.priority_fee = UINT64_MAX - 1;
    e.fee_bump_pct = ETH_CLIENT_MAX_BUMP_PCT;
    assert_int_equal(eth_client_fees(&e, &max_fee, &prio), 0);
    assert_true(max_fee == UINT64_MAX);
    assert_true(prio == UINT64_MAX);
    /* Legacy: a huge gas price with a bump saturates too. */
    e.eip1559 = 0;
    e.gas_price = UINT64_MAX - 100;
    assert_int_equal(eth_client_fees(&e, &max_fee, &prio), 0);
    assert_true(max_fee == UINT64_MAX);
    assert_int_equal(prio, 0);
    /* Ordinary numbers are unchanged: 2 x 10 gwei + 1 gwei, + 20 %. */
    e.eip1559 = 1;
    e.base_fee = 10000000000ull;
    e.priority_fee = 1000000000ull;
    e.fee_bump_pct = 20;
    assert_int_equal(eth_client_fees(&e, &max_fee, &prio), 0);
    assert_int_equal(max_fee, 25200000000ull);
    assert_int_equal(prio, 1200000000ull);
    eth_client_free(&e);
    tx_key_destroy(k);
}

static void test_bump_stops_at_ceiling(void **state)
{
    (void)state;
    eth_client e;
    tx_key *k;
    uint64_t max_fee, prio;
    fee_client(&e, &k);
    assert_true(e.max_fee_per_gas == ETH_CLIENT_DEFAULT_MAX_FEE);
    e.max_fee_per_gas = 30000000000ull; /* 30 gwei */
    e.max_priority_fee = 2000000000ull; /* 2 gwei */
    e.base_fee = 10000000000ull;
    e.priority_fee = 1000000000ull; /* max fee 21 gwei before bumps */
    int bumps = 0;
    while (eth_client_bump_fees(&e) == 1 && bumps < 1000)
        bumps++;
    /* 21 -> 25.2 -> 29.4 -> (33.6, clamped to 30): no bump beyond. */
    assert_int_equal(bumps, 3);
    assert_int_equal(e.fee_bump_pct, 60);
    assert_int_equal(eth_client_fees(&e, &max_fee, &prio), 0);
    assert_int_equal(max_fee, 30000000000ull);
    assert_int_equal(prio, 1600000000ull);
    /* A tip above its own ceiling is clamped, never above the max fee. */
    e.priority_fee = 50000000000ull;
    assert_int_equal(eth_client_fees(&e, &max_fee, &prio), 0);
    assert_int_equal(prio, 2000000000ull);
    /* With a high ceiling the bump is bounded by ETH_CLIENT_MAX_BUMP_PCT. */
    e.max_fee_per_gas = UINT64_MAX;
    e.fee_bump_pct = 0;
    bumps = 0;
    while (eth_client_bump_fees(&e) == 1 && bumps < 1000)
        bumps++;
    assert_int_equal(bumps, ETH_CLIENT_MAX_BUMP_PCT / ETH_CLIENT_BUMP_STEP_PCT);
    assert_int_equal(e.fee_bump_pct, ETH_CLIENT_MAX_BUMP_PCT);
    eth_client_free(&e);
    tx_key_destroy(k);
}

static void test_base_fee_above_ceiling_refuses(void **state)
{
    (void)state;
    eth_client e;
    tx_key *k;
    uint8_t *raw = NULL, h[32], to[20] = {1};
    size_t rawlen = 0;
    fee_client(&e, &k);
    e.max_fee_per_gas = 50000000000ull;
    e.base_fee = 50000000001ull; /* one wei above: not includable under the ceiling */
    e.priority_fee = 1;
    e.fees_at = 123.0;
    assert_int_equal(eth_client_sign(&e, to, (const uint8_t *)"x", 1, 0, 21000, &raw, &rawlen, h),
                     ETH_ERR_FEE_CEILING);
    assert_null(raw);
    assert_int_equal(e.fee_refusals, 1);
    assert_true(e.fees_at == 0); /* asks the node again before the next try */
    assert_non_null(strstr(e.err, "MAX_FEE_PER_GAS"));
    /* Legacy gas price above the ceiling: refused too. */
    e.eip1559 = 0;
    e.gas_price = UINT64_MAX;
    assert_int_equal(eth_client_sign(&e, to, NULL, 0, 0, 21000, &raw, &rawlen, h),
                     ETH_ERR_FEE_CEILING);
    assert_int_equal(e.fee_refusals, 2);
    /* At the ceiling exactly: signed, at the ceiling. */
    e.eip1559 = 1;
    e.base_fee = 50000000000ull;
    assert_int_equal(eth_client_sign(&e, to, NULL, 0, 0, 21000, &raw, &rawlen, h), 0);
    assert_non_null(raw);
    assert_true(rawlen > 0);
    free(raw);
    assert_int_equal(e.fee_refusals, 2);
    eth_client_free(&e);
    tx_key_destroy(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pager_fixed_pages_and_error),
        cmocka_unit_test(test_pager_page_boundary),
        cmocka_unit_test(test_pager_adaptive_backward),
        cmocka_unit_test(test_client_pager_error_is_chain_error),
        cmocka_unit_test(test_fees_saturate),
        cmocka_unit_test(test_bump_stops_at_ceiling),
        cmocka_unit_test(test_base_fee_above_ceiling_refuses),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    for (int i = 0; i < nreq; i++)
        json_decref(requests[i]);
    return rc;
}
