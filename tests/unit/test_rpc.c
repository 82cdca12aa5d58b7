/* Unit tests for common/eth/rpc: a tiny HTTP server on a loopback port answers
 * each request with a canned response, good or broken, and the client must
 * return the right error code (never crash, never leak) for each. */
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

#include "eth/rpc.h"

static int lfd;
static int port;
static const char *const *responses; /* one raw HTTP response per connection/request */
static int nresp;

/* Serve one response per request; keep-alive is not offered (Connection: close). */
static void *server(void *arg)
{
    (void)arg;
    for (int i = 0; i < nresp; i++) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[8192];
        ssize_t n = recv(c, buf, sizeof buf, 0); /* request (small: fits) */
        (void)n;
        const char *r = responses[i];
        if (r) {
            size_t len = strlen(r);
            while (len > 0) {
                ssize_t w = send(c, r, len, MSG_NOSIGNAL);
                if (w <= 0)
                    break;
                r += w;
                len -= (size_t)w;
            }
        }
        close(c);
    }
    return NULL;
}

static char *http(const char *status, const char *body)
{
    char *r = malloc(strlen(body) + 256);
    sprintf(r,
            "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: "
            "close\r\n\r\n%s",
            status, strlen(body), body);
    return r;
}

static void start_server(const char *const *resp, int n, pthread_t *th)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(lfd, 16), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
    port = ntohs(a.sin_port);
    responses = resp;
    nresp = n;
    assert_int_equal(pthread_create(th, NULL, server, NULL), 0);
}

static void test_responses(void **state)
{
    (void)state;
    char *big = malloc(70u * 1024 * 1024);
    memset(big, ' ', 70u * 1024 * 1024);
    memcpy(big, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"", 34);
    big[70u * 1024 * 1024 - 3] = '"';
    big[70u * 1024 * 1024 - 2] = '}';
    big[70u * 1024 * 1024 - 1] = 0;
    char *r[] = {
        http("200 OK", "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x539\"}"),
        http("200 OK", "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"a\":[1,2]}}"),
        http("200 OK", "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32000,\"message\":"
                       "\"nonce too low\"}}"),
        http("200 OK",
             "{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-32000,\"message\":\"\"}}"),
        http("200 OK", "not json at all"),
        http("200 OK", "[1,2,3]"),
        http("200 OK", "{\"jsonrpc\":\"2.0\",\"id\":7}"),
        http("500 Internal Server Error", "{}"),
        http("200 OK", "{\"result\":\"0xzz\"}"),
        http("200 OK", "{\"result\":\"0x10000000000000000\"}"),
        http("200 OK", "{\"result\": NaN}"),
        http("200 OK", "{\"result\":\"0x1\",\"result\":\"0x2\"}"),
        NULL, /* connection closed without an answer */
        http("200 OK", big),
        http("200 OK", "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}"),
    };
    int n = (int)(sizeof r / sizeof r[0]);
    pthread_t th;
    start_server((const char *const *)r, n, &th);
    char url[64], err[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    rpc_client *c;
    assert_int_equal(rpc_client_create(&c, url, 5000), 0);
    uint64_t v = 0;
    json_t *res = NULL;

    assert_int_equal(rpc_call_u64(c, "eth_chainId", NULL, &v, err, sizeof err), 0);
    assert_int_equal(v, 1337);
    assert_int_equal(rpc_call(c, "x", json_pack("[i]", 1), &res, err, sizeof err), 0);
    assert_true(json_is_object(res));
    json_decref(res);
    assert_int_equal(rpc_call(c, "x", NULL, &res, err, sizeof err), RPC_ERR_REMOTE);
    assert_string_equal(err, "nonce too low");
    assert_null(res);
    assert_int_equal(rpc_call(c, "x", NULL, &res, err, sizeof err), RPC_ERR_REMOTE);
    assert_string_equal(err, "node error -32000 without message");
    assert_int_equal(rpc_call(c, "x", NULL, &res, err, sizeof err), RPC_ERR_PARSE);
    assert_int_equal(rpc_call(c, "x", NULL, &res, err, sizeof err), RPC_ERR_PARSE);
    assert_int_equal(rpc_call(c, "x", NULL, &res, err, sizeof err), RPC_ERR_PARSE);
    assert_int_equal(rpc_call(c, "x", NULL, &res, err, sizeof err), RPC_ERR_TRANSPORT);
    assert_int_equal(rpc_call_u64(c, "x", NULL, &v, err, sizeof err), RPC_ERR_PARSE);
    assert_int_equal(rpc_call_u64(c, "x", NULL, &v, err, sizeof err), RPC_ERR_PARSE);
    assert_int_equal(rpc_call_u64(c, "x", NULL, &v, err, sizeof err), RPC_ERR_PARSE);
    assert_int_equal(rpc_call_u64(c, "x", NULL, &v, err, sizeof err), RPC_ERR_PARSE);
    assert_int_equal(rpc_call(c, "x", NULL, &res, err, sizeof err), RPC_ERR_TRANSPORT);
    assert_int_equal(rpc_call(c, "x", NULL, &res, err, sizeof err), RPC_ERR_TRANSPORT);
    assert_string_equal(err, "response too large");
    /* null result is a valid answer (e.g. no receipt yet). */
    assert_int_equal(rpc_call(c, "x", NULL, &res, err, sizeof err), 0);
    assert_true(json_is_null(res));
    json_decref(res);
    pthread_join(th, NULL);
    close(lfd);
    /* Nobody listening: transport error. */
    assert_int_equal(rpc_call(c, "x", NULL, &res, err, sizeof err), RPC_ERR_TRANSPORT);
    rpc_client_destroy(c);
    for (int i = 0; i < n; i++)
        free(r[i]);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_responses)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
