/*
 * rpc — Ethereum JSON-RPC 2.0 over HTTP(S) with libcurl.
 *
 * One CURL easy handle per client, reused for every call so the TCP
 * connection (and TLS session) stays open between calls. The response body
 * is collected into a growable buffer capped at RPC_MAX_RESPONSE, so a
 * hostile or broken node cannot make us allocate without bound, and is
 * parsed with jansson; anything that is not a JSON-RPC 2.0 response object
 * with either "result" or "error" is RPC_ERR_PARSE, never a crash.
 */
#include "eth/rpc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errbuf.h"
#include "base/hex.h"

/* eth_getLogs over a large range can be big; beyond this we refuse. */
#define RPC_MAX_RESPONSE (64u * 1024 * 1024)

struct rpc_client {
    CURL *curl;
    struct curl_slist *headers;
    char *url;
    long timeout_ms;
    unsigned long next_id;
    /* response buffer, reused between calls */
    char *buf;
    size_t len, cap;
    int overflow;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_global(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    rpc_client *c = user;
    size_t n = size * nmemb;
    if (c->len + n + 1 > RPC_MAX_RESPONSE) {
        c->overflow = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (c->len + n + 1 > c->cap) {
        size_t ncap = c->cap ? c->cap : 4096;
        while (ncap < c->len + n + 1)
            ncap *= 2;
        char *nb = realloc(c->buf, ncap);
        if (!nb)
            return 0;
        c->buf = nb;
        c->cap = ncap;
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    c->buf[c->len] = 0;
    return n;
}

int rpc_client_create(rpc_client **out, const char *url, long timeout_ms)
{
    int rc = RPC_ERR_NOMEM;
    rpc_client *c;

    *out = NULL;
    pthread_once(&curl_once, curl_global);
    c = calloc(1, sizeof(*c));
    if (!c)
        return RPC_ERR_NOMEM;
    c->url = strdup(url ? url : "");
    c->curl = curl_easy_init();
    c->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!c->url || !c->curl || !c->headers)
        goto out;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    c->next_id = 1;
    curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM */
    curl_easy_setopt(c->curl, CURLOPT_TCP_NODELAY, 1L);
    /* A JSON-RPC node never redirects; following one could leak calls elsewhere. */
    curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    *out = c;
    c = NULL;
    rc = 0;
out:
    rpc_client_destroy(c);
    return rc;
}

void rpc_client_destroy(rpc_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->headers);
    free(c->url);
    free(c->buf);
    free(c);
}

/* Failed calls by code (index -rc), process-wide: every client counts here. */
static uint64_t rpc_errors[5];

uint64_t rpc_error_count(int code)
{
    if (code >= 0 || code < RPC_ERR_NOMEM)
        return 0;
    return __atomic_load_n(&rpc_errors[-code], __ATOMIC_RELAXED);
}

int rpc_call(rpc_client *c, const char *method, json_t *params, json_t **result, char *err,
             size_t errlen)
{
    int rc = RPC_ERR_NOMEM;
    json_t *req = NULL, *resp = NULL;
    char *body = NULL;
    long status = 0;
    CURLcode cc;

    if (result)
        *result = NULL;
    if (!params)
        params = json_array();
    if (!params)
        goto out;
    /* "o" steals the params reference, even when json_pack fails. */
    req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)c->next_id++,
                    "method", method, "params", params);
    params = NULL;
    if (!req)
        goto out;
    body = json_dumps(req, JSON_COMPACT);
    if (!body)
        goto out;

    c->len = 0;
    c->overflow = 0;
    if (c->buf)
        c->buf[0] = 0;
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    cc = curl_easy_perform(c->curl);
    if (cc != CURLE_OK) {
        rc = RPC_ERR_TRANSPORT;
        errbuf_set(err, errlen, "%s", c->overflow ? "response too large" : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        char msg[48];
        snprintf(msg, sizeof(msg), "%ld", status);
        rc = RPC_ERR_TRANSPORT;
        errbuf_set(err, errlen, "HTTP status %s", msg);
        goto out;
    }

    json_error_t jerr;
    resp = json_loadb(c->buf ? c->buf : "", c->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!resp || !json_is_object(resp)) {
        rc = RPC_ERR_PARSE;
        errbuf_set(err, errlen, "invalid JSON-RPC response: %s",
                   resp ? "not an object" : jerr.text);
        goto out;
    }
    json_t *e = json_object_get(resp, "error");
    if (e && !json_is_null(e)) {
        const char *m = NULL;
        json_t *msg = json_is_object(e) ? json_object_get(e, "message") : NULL;
        if (json_is_string(msg) && json_string_length(msg) > 0)
            m = json_string_value(msg);
        rc = RPC_ERR_REMOTE;
        if (!m) {
            /* Never an empty reason: callers log it and match on it. */
            json_t *code = json_is_object(e) ? json_object_get(e, "code") : NULL;
            errbuf_set(err, errlen, "node error %" JSON_INTEGER_FORMAT " without message",
                       json_is_integer(code) ? json_integer_value(code) : (json_int_t)0);
        } else {
            errbuf_set(err, errlen, "%s", m);
        }
        goto out;
    }
    json_t *r = json_object_get(resp, "result");
    if (!r) {
        rc = RPC_ERR_PARSE;
        errbuf_set(err, errlen, "%s", "response has neither result nor error");
        goto out;
    }
    if (result)
        *result = json_incref(r);
    rc = 0;
out:
    if (rc == RPC_ERR_NOMEM)
        errbuf_set(err, errlen, "%s", "out of memory");
    if (rc < 0 && rc >= RPC_ERR_NOMEM)
        __atomic_fetch_add(&rpc_errors[-rc], 1, __ATOMIC_RELAXED);
    json_decref(params);
    json_decref(req);
    json_decref(resp);
    free(body);
    return rc;
}

int rpc_call_u64(rpc_client *c, const char *method, json_t *params, uint64_t *out, char *err,
                 size_t errlen)
{
    json_t *r = NULL;
    int rc = rpc_call(c, method, params, &r, err, errlen);
    if (rc < 0)
        return rc;
    if (!json_is_string(r) || hex_to_u64(json_string_value(r), out) < 0) {
        errbuf_set(err, errlen, "%s", "result is not a hex quantity");
        rc = RPC_ERR_PARSE;
    }
    json_decref(r);
    return rc;
}
